"""Alerts delivered: threshold alerts and arrival findings whose directive names
recipients (`notify:`) are sent, through real receivers on 127.0.0.1, once each even
as they grow; `risk` says who is sent them and Fava's queue lists the open ones."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fava_env import BASE, HEADER_CONFIG, Env, ledger_text
from receivers import Hooks, Mailbox

from beancount_adjustments import notify
from beancount_adjustments.cli import main
from beancount_adjustments.notify import alerts as notify_alerts
from beancount_adjustments.reports import risk
from ledgers import code_set, event, ledger, line_in, load, request


def alerting(mail_port: int, hook_port: int) -> str:
    return f"""
2026-01-01 custom "adjustment-user" "dave" "cfo"
  email: "dave@example.com"
2026-01-01 custom "adjustment-channel" "carol" "json://127.0.0.1:{hook_port}/carol"
2026-01-01 custom "adjustment-channel" "role:finance" "json://127.0.0.1:{hook_port}/finance"
2026-01-01 custom "adjustment-channel" "*" "mailto://127.0.0.1:{mail_port}?from={{env:NOTIFY_FROM}}&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-alert" "customer" 100.00 USD
  period: "month"
  notify: "role:finance"
2026-01-01 custom "adjustment-risk" "duplicates"
  notify: "dave"
"""


def run(path: Path, today: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["notify", "-f", str(path), "--today", today,
                                    "--ledger-variable", "NOTIFY_FROM", *args],
                              env={"NOTIFY_FROM": "adjust@example.com"})


def alerts(hooks: Hooks, box: Mailbox) -> list[tuple[str, str]]:
    return ([(p, b["title"]) for p, b in hooks.received if b["title"].startswith("[alert]")]
            + [("mail:" + m["to"][0], m["subject"]) for m in box.messages
               if m["subject"].startswith("[alert]")])


def test_alerts_are_sent_to_their_recipients_once_each(tmp_path, smtp, hooks):
    box, mail_port = smtp
    path = tmp_path / "main.beancount"
    text = ledger(alerting(mail_port, hooks.port)
                  + request("A-1", "2026-03-02", "-80.00", reason="Broken <b>lid</b>")
                  + request("A-2", "2026-03-03", "-80.00", reason="Broken <b>lid</b>"))
    path.write_text(text)
    first = run(path, "2026-03-03")
    assert first.exit_code == 0, first.output
    assert sorted(alerts(hooks, box)) == [
        ("/carol", "[alert] alert:customer: cust_456"),
        ("/finance", "[alert] alert:customer: cust_456"),
        ("mail:dave@example.com", "[alert] duplicates: cust_456")]
    (finance,) = [b for p, b in hooks.received if p == "/finance"]
    key = "alert:alert:customer:cust_456:USD/2026-03:role:finance"
    assert finance["message"] == (
        "customer cust_456: 160.00 USD in 2026-03, above the alert limit of 100.00 USD per "
        "month (2 adjustments).\n\nAdjustments: A-1, A-2\n"
        "See them with: bean-adjust risk --check alert:customer"
        f"\n\nNotice id: {notify.notice_id(key)}")
    ((_p, headers),) = [h for h in hooks.headers if h[0] == "/finance"]
    assert headers["Idempotency-Key"] == notify.notice_id(key)
    assert run(path, "2026-03-03").output.endswith("sent 0, failed 0\n")

    # a third request makes both findings larger: they are the same findings, not resent
    path.write_text(text + request("A-3", "2026-03-04", "-80.00", reason="Broken <b>lid</b>"))
    again = run(path, "2026-03-05")
    assert again.exit_code == 0, again.output
    assert len(alerts(hooks, box)) == 3
    # ...but the next month's total over the limit is a new alert
    path.write_text(text + request("A-4", "2026-04-02", "-120.00", reason="Other"))
    april = run(path, "2026-04-02")
    assert april.exit_code == 0, april.output
    assert sorted(alerts(hooks, box))[:2] == [
        ("/carol", "[alert] alert:customer: cust_456"),
        ("/carol", "[alert] alert:customer: cust_456")]
    assert len(alerts(hooks, box)) == 5


def test_risk_says_who_is_sent_each_finding(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(alerting(1, 1) + request("A-1", "2026-03-02", "-80.00")
                           + request("A-2", "2026-03-03", "-80.00")))
    result = CliRunner().invoke(main, ["risk", "-f", str(path), "--as-of", "2026-03-03"])
    assert result.exit_code == 0, result.output
    assert ("[alert:customer] customer cust_456: 160.00 USD in 2026-03, above the alert limit "
            "of 100.00 USD per month (2 adjustments).\n    ids: A-1, A-2\n"
            "    sent by notify to: role:finance\n") in result.output
    body = json.loads(CliRunner().invoke(main, ["risk", "-f", str(path), "--as-of",
                                                "2026-03-03", "--json"]).stdout)
    found = {f["check"]: f for f in body}
    assert found["duplicates"]["notify"] == ["dave"]
    assert found["alert:customer"]["key"] == "alert:customer:cust_456:USD/2026-03"


def test_recipients_expand_roles_and_star():
    loaded = load(request("A-1", "2026-03-02", "-80.00"))
    assert loaded.book is not None
    day = datetime.date(2026, 3, 2)
    assert notify_alerts.recipients(loaded.book, ("role:manager", "dave", "bob"), day) == [
        "bob", "erin", "role:manager", "dave"]
    assert notify_alerts.recipients(loaded.book, ("*",), day) == [
        "alice", "bob", "carol", "dave", "erin", "frank"]


@pytest.mark.parametrize(("directive", "message"), [
    ('custom "adjustment-alert" "customer" 100.00 USD\n  notify: "role:finance dave"',
     "`notify:` lists who is sent its findings"),
    ('custom "adjustment-risk" "duplicates"\n  notify: 3',
     "`notify:` lists who is sent its findings"),
    ('custom "adjustment-risk" "outliers"\n  notify: "dave"',
     "risk check outliers: its findings are judged afresh each day"),
])
def test_a_bad_notify_is_an_error_at_its_directive(directive, message):
    loaded = load(f"2026-01-01 {directive}\n")
    (error,) = [e for e in loaded.errors if message in e.message]
    assert error.source["lineno"] == line_in(loaded.text, directive.splitlines()[0])
    assert "bad-risk-setting" in code_set(loaded.errors)


def test_fava_queue_lists_open_alerts_escaped(tmp_path):
    today = datetime.date.today()
    start = (today - datetime.timedelta(days=400)).isoformat()
    extra = f"""
{start} custom "adjustment-risk" "duplicates"
  notify: "role:finance"
""" + request("DUP-1", (today - datetime.timedelta(days=2)).isoformat(), "-70.00",
              reason="Lid <script>x</script>") + request(
        "DUP-2", (today - datetime.timedelta(days=1)).isoformat(), "-70.00",
        reason="Lid <script>x</script>")
    env = Env(tmp_path, HEADER_CONFIG, extra=extra)
    page = env.client.get(BASE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="adj-alerts"' in html
    assert "<script>x</script>" not in html
    assert "Lid &lt;script&gt;x&lt;/script&gt;" in html
    assert 'data-check="duplicates"' in html
    assert "sent to role:finance" in html
    assert "?view=detail&amp;id=DUP-1" in html or "view=detail&id=DUP-1" in html
    # decided, it is no longer open: the banner goes
    env.path.write_text(ledger_text(HEADER_CONFIG) + extra + event(
        "DUP-1", today.isoformat(), "reject", "bob", reason="dup") + event(
        "DUP-2", today.isoformat(), "approve", "bob"), encoding="utf-8")
    env.ledger.load_file()
    html = env.client.get(BASE).get_data(as_text=True)
    assert 'id="adj-alerts"' not in html


def test_open_alerts_of_the_demo_ledger():
    from beancount_adjustments.beans import loading
    from beancount_adjustments.plugin import book_of

    _e, _errors, options = loading.load_file(str(Path(__file__).parent.parent / "ledgers"
                                                 / "demo.beancount"))
    book = book_of(options)
    assert book is not None
    found = notify_alerts.open_alerts(book, datetime.date(2026, 12, 31))
    assert {f.check for f in found} == {"repeated-goodwill"}
    assert all(f in risk.findings(book, datetime.date(2026, 12, 31)) for f in found)
