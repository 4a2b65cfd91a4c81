"""Customer notices, through real receivers on 127.0.0.1 (aiosmtpd and an HTTP
webhook, apprise really sending): opted in per type, templates from the ledger,
each sent once, never the internal reason or notes; a bad template or channel line
is reported at its line while the rest still sends; the ledger-wide default SLA."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from receivers import Hooks, Mailbox

from beancount_adjustments import notify
from beancount_adjustments.beans.notify_lines import parse_channels, parse_customer_notices
from beancount_adjustments.cli import main
from beancount_adjustments.notify import customers as notify_customers
from beancount_adjustments.reports.queries import is_overdue
from ledgers import event, ledger, line_in, load, request, with_settings

SECRETS = ("INTERNAL-REASON", "INTERNAL-NOTES", "INTERNAL-REJECT", "INTERNAL-CANCEL",
           "INTERNAL-COMMENT")




def customers(mail_port: int, hook_port: int) -> str:
    return f"""
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  name: "Fourfifty Ltd"
  contact: "billing@cust456.example"
2026-01-01 custom "adjustment-customer" "cust_123" "vip"
  name: "Acme Corp"
2026-01-01 custom "adjustment-channel" "customer:*" "mailto://127.0.0.1:{mail_port}?from={{env:NOTIFY_FROM}}&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-channel" "customer:cust_123" "json://127.0.0.1:{hook_port}/acme"
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hook_port}/bob"
2026-01-01 custom "adjustment-policy" "credit:*"
  sla-days: 3
2026-01-01 custom "adjustment-customer-notice" "credit:*" "*"
2026-01-01 custom "adjustment-customer-notice" "credit:refund" "rejected"
  title: "About your refund request {{id}}"
  body: "Dear {{name}}, we cannot refund {{amount}} as asked on {{date}}: {{reason}}."
"""


def run(path: Path, today: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["notify", "-f", str(path), "--today", today,
                                    "--ledger-variable", "NOTIFY_FROM", *args],
                              env={"NOTIFY_FROM": "adjust@example.com"})


def texts(box: Mailbox, hooks: Hooks) -> list[str]:
    return ([m["subject"] + "\n" + m["body"] for m in box.messages]
            + [b["title"] + "\n" + b["message"] for _p, b in hooks.received])


def test_customers_hear_received_rejected_applied_reversed_once(tmp_path, smtp, hooks):
    box, mail_port = smtp
    path = tmp_path / "main.beancount"
    text = ledger(customers(mail_port, hooks.port)
                  + request("A-1", "2026-03-02", "-50.00", reason="INTERNAL-REASON",
                            extra='notes: "INTERNAL-NOTES"')
                  + request("A-2", "2026-03-02", "-200.00", type="credit:account",
                            customer="cust_123", reason="INTERNAL-REASON",
                            extra='customer-reason: "Credit for the outage of 1 March"'))
    path.write_text(text)

    first = run(path, "2026-03-02")
    assert first.exit_code == 0, first.output
    (mail,) = box.messages
    assert mail["to"] == ["billing@cust456.example"]
    assert mail["subject"] == "We received your adjustment request A-1"
    nid = notify.notice_id("A-1:customer-received:customer:cust_456")
    assert mail["notice_id"] == nid
    assert mail["body"].replace("\r\n", "\n").strip() == (
        "Dear Fourfifty Ltd,\n\nwe received your request A-1 of 2026-03-02 for an adjustment "
        "of 50.00 USD to your account. We expect to decide on it by 2026-03-05."
        f"\n\nNotice id: {nid}")
    acme = hooks.to("/acme")
    assert [b["title"] for b in acme] == ["We received your adjustment request A-2"]
    assert "decide on it by 2026-03-05" in acme[0]["message"]
    assert len(hooks.to("/bob")) == 2  # the staff notices go as before

    assert run(path, "2026-03-02").output.endswith("sent 0, failed 0\n")

    # bob rejects A-1 (internal reason, customer-facing reason) and approves A-2; carol
    # cancels A-2 and erin approves the reversal
    text += (event("A-1", "2026-03-03", "reject", "bob", reason="INTERNAL-REJECT",
                   comment="INTERNAL-COMMENT", customer_reason="the item was not returned")
             + event("A-2", "2026-03-03", "approve", "bob")
             + event("A-2", "2026-03-04", "cancel", "carol", reason="INTERNAL-CANCEL")
             + event("A-2", "2026-03-04", "approve", "erin"))
    path.write_text(text)
    second = run(path, "2026-03-04")
    assert second.exit_code == 0, second.output
    rejected = box.messages[1]
    assert rejected["subject"] == "About your refund request A-1"
    assert rejected["body"].replace("\r\n", "\n").startswith(
        "Dear Fourfifty Ltd, we cannot refund 50.00 USD as asked on 2026-03-02: the item was "
        "not returned.\n\nNotice id: ")
    assert [b["title"] for b in hooks.to("/acme")] == [
        "We received your adjustment request A-2", "Adjustment A-2 applied to your account",
        "Adjustment A-2 reversed"]
    applied, reversed_ = hooks.to("/acme")[1:]
    assert applied["message"].startswith(
        "Dear Acme Corp,\n\nan adjustment of 200.00 USD (credit) was applied to your account, "
        "effective 2026-03-03.")
    # no customer-reason on the cancel: the request's own customer-facing one
    assert reversed_["message"].startswith(
        "Dear Acme Corp,\n\nthe adjustment of 200.00 USD applied to your account on 2026-03-03 "
        "was reversed on 2026-03-04: Credit for the outage of 1 March.")

    third = run(path, "2026-03-10")
    assert third.exit_code == 0
    assert "sent 0, failed 0" in third.output
    assert len(box.messages) == 2
    assert len(hooks.to("/acme")) == 3
    customer_texts = [m["subject"] + m["body"] for m in box.messages] + [
        b["title"] + b["message"] for b in hooks.to("/acme")]
    for secret in SECRETS:
        assert not any(secret in t for t in customer_texts), secret
    # ...while the staff notices do carry the internal reason (they are for staff)
    assert any("INTERNAL-REASON" in b["message"] for b in hooks.to("/bob"))


def test_customer_text_never_holds_the_internal_reason_or_notes_whatever_the_template():
    every = " ".join("{" + p + "}" for p in notify_customers.COMMON)
    loaded = load(f"""
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "x@cust.example"
2026-01-01 custom "adjustment-customer-notice" "*" "*"
  title: "{every}"
  body: "{every}"
""" + request("A-1", "2026-03-02", "-50.00", reason="INTERNAL-REASON",
              extra='notes: "INTERNAL-NOTES"')
        + event("A-1", "2026-03-03", "reject", "bob", reason="INTERNAL-REJECT",
                comment="INTERNAL-COMMENT")
        + request("A-2", "2026-03-02", "-60.00", reason="INTERNAL-REASON",
                  extra='notes: "INTERNAL-NOTES"')
        + event("A-2", "2026-03-03", "approve", "bob", comment="INTERNAL-COMMENT")
        + event("A-2", "2026-03-04", "cancel", "carol", reason="INTERNAL-CANCEL")
        + event("A-2", "2026-03-04", "approve", "erin"))
    assert loaded.book is not None
    assert not loaded.errors, loaded.errors
    setup, problems = parse_customer_notices(loaded.entries)
    assert problems == []
    found = notify_customers.customer_notices(loaded.book, datetime.date(2026, 3, 9), setup)
    assert sorted(n.kind for n in found) == [
        "customer-applied", "customer-received", "customer-received", "customer-rejected",
        "customer-reversed"]
    for notice in found:
        for secret in SECRETS:
            assert secret not in notice.subject + notice.body, (notice.key, secret)
    rejected = next(n for n in found if n.kind == "customer-rejected")
    assert notify_customers.NO_REASON in rejected.body


def test_types_not_opted_in_send_customers_nothing():
    loaded = load("""
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "x@cust.example"
2026-01-01 custom "adjustment-customer-notice" "credit:*" "applied"
2026-02-01 custom "adjustment-customer-notice" "credit:goodwill" "applied"
  enabled: FALSE
""" + request("A-1", "2026-03-02", "-10.00")  # below every threshold: applied on arrival
        + request("A-2", "2026-03-02", "-10.00", type="credit:goodwill",
                  account="Expenses:Goodwill")
        + request("A-3", "2026-03-02", "10.00", type="debit:fee", account="Income:Fees"))
    assert loaded.book is not None
    setup, _ = parse_customer_notices(loaded.entries)
    found = notify_customers.customer_notices(loaded.book, datetime.date(2026, 3, 2), setup)
    # only credit:refund's "applied": no "received" (not opted in, and it never waited),
    # goodwill opted out, debits never opted in
    assert [n.key for n in found] == ["A-1:customer-applied:customer:cust_456"]
    # a line applies from its date on: nothing dated before it is sent
    late = load(loaded.text.replace('2026-01-01 custom "adjustment-customer-notice"',
                                    '2026-03-03 custom "adjustment-customer-notice"'),
                base=False)
    assert late.book is not None
    setup, _ = parse_customer_notices(late.entries)
    assert notify_customers.customer_notices(late.book, datetime.date(2026, 3, 9), setup) == []


def test_a_bad_template_is_reported_at_its_line_and_holds_only_its_notices(
        tmp_path, smtp, hooks):
    box, mail_port = smtp
    path = tmp_path / "main.beancount"
    good = customers(mail_port, hooks.port)
    bad = good.replace("we cannot refund {amount}", "we cannot refund {amount:>10} {nmae}")
    text = ledger(bad + request("A-1", "2026-03-02", "-50.00")
                  + event("A-1", "2026-03-03", "reject", "bob", reason="No"))
    path.write_text(text)
    result = run(path, "2026-03-03")
    assert result.exit_code == 1
    lineno = line_in(text, '"adjustment-customer-notice" "credit:refund"')
    assert (f"bean-adjust: error: {path}:{lineno}: customer notice template for "
            "credit:refund (rejected): `body:` unknown placeholder {amount:>10}; placeholders "
            "are plain names, one of {amount} {customer} {date} {decided} {id} {invoice} "
            "{kind} {name} {order} {reason} {type}; these notices are held until it is fixed"
            ) in result.output
    # the rest still sends: the customer's "received" and bob's approval request
    assert [m["subject"] for m in box.messages] == ["We received your adjustment request A-1"]
    assert "A-1:customer-rejected:customer:cust_456" not in json.loads(
        (tmp_path / ".bean-adjust-notify.json").read_text())["sent"]

    path.write_text(ledger(good + request("A-1", "2026-03-02", "-50.00")
                           + event("A-1", "2026-03-03", "reject", "bob", reason="No")))
    fixed = run(path, "2026-03-03")
    assert fixed.exit_code == 0, fixed.output
    assert [m["subject"] for m in box.messages] == [
        "We received your adjustment request A-1", "About your refund request A-1"]


@pytest.mark.parametrize(("line", "message"), [
    ('custom "adjustment-customer-notice" "credit:*"',
     'custom "adjustment-customer-notice" takes a type pattern and the notices it sends'),
    ('custom "adjustment-customer-notice" "credit:*" "approved"', "unknown notice 'approved'"),
    ('custom "adjustment-customer-notice" "credit:*" "received"\n  tilte: "x"',
     "unknown key `tilte:` (it takes `title:`, `body:` and `enabled:`)"),
    ('custom "adjustment-customer-notice" "credit:*" "received" "applied"\n  body: "{applied}"',
     "unknown placeholder {applied} in a received notice"),
    ('custom "adjustment-customer-notice" "credit:*" "received"\n  body: "a } b"',
     "Single '}' encountered in format string (write {{ and }} for a literal brace)"),
    ('custom "adjustment-customer-notice" "credit:*" "received"\n  body: "{id.__class__}"',
     "unknown placeholder {id.__class__}"),
])
def test_customer_notice_lines_that_do_not_read_say_where_and_why(line, message):
    text = f"2026-01-01 {line}\n"
    loaded = load(text)
    _setup, problems = parse_customer_notices(loaded.entries)
    (problem,) = problems
    assert problem.source == ("<string>", line_in(loaded.text, line.splitlines()[0]))
    assert problem.code == "bad-customer-notice"
    assert message in problem.message


def test_one_bad_channel_line_does_not_stop_the_run(tmp_path, hooks):
    path = tmp_path / "main.beancount"
    text = ledger(f"""
2026-01-01 custom "adjustment-channel" "erin"
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00"))
    path.write_text(text)
    result = run(path, "2026-03-02")
    assert result.exit_code == 1
    lineno = line_in(text, 'custom "adjustment-channel" "erin"')
    assert (f"bean-adjust: error: {path}:{lineno}: custom \"adjustment-channel\" takes a "
            "target and an apprise URL") in result.output
    assert "Traceback" not in result.output
    assert [b["title"] for b in hooks.to("/bob")] == [
        "[A-1] approval needed: credit:refund 50.00 USD for cust_456"]



@pytest.mark.parametrize("line", [
    'custom "adjustment-channel" "erin"',
    'custom "adjustment-channel" "erin" ""',
    'custom "adjustment-channel" "erin" "json://x" "extra"',
])
def test_bean_check_reports_a_bad_channel_line_at_its_line(line):
    loaded = load(f"2026-01-01 {line}\n" + request("A-1", "2026-03-02", "-50.00"))
    lineno = line_in(loaded.text, line)
    assert loaded.codes == [(lineno, "bad-channel")]
    (error,) = loaded.errors
    assert error.message.startswith('custom "adjustment-channel" takes a target and an '
                                    "apprise URL")
    assert loaded.state("A-1") == "pending"  # the rest of the ledger is judged as ever
    # the same sentence `notify` prints, from the same reader
    channels, problems = parse_channels(loaded.entries)
    assert channels == []
    assert [(p.source.lineno, p.message) for p in problems] == [
        (lineno, error.message.removesuffix(" [bad-channel]"))]

def test_a_ledger_wide_default_sla_makes_every_type_escalate(tmp_path):
    text = with_settings("{'default-sla-days': 2}", ledger(request("A-1", "2026-03-01",
                                                                   "-50.00")))
    loaded = load(text, base=False)
    assert loaded.book is not None
    assert not loaded.errors, loaded.errors
    adj = loaded.book.adjustments["A-1"]
    assert adj.sla_days == 2
    assert not is_overdue(adj, datetime.date(2026, 3, 3))
    assert is_overdue(adj, datetime.date(2026, 3, 4))
    keys = sorted(n.key for n in notify.notices(loaded.book, datetime.date(2026, 3, 4))
                  if n.kind == "escalation")
    assert keys == ["A-1:escalation-1:carol", "A-1:escalation-1:role:finance"]
    # a type's own sla-days wins over the default
    own = load(text.replace("\n2026-03-01 !", '\n2026-01-01 custom "adjustment-policy" '
                            '"credit:refund"\n  sla-days: 9\n\n2026-03-01 !', 1), base=False)
    assert own.book is not None
    assert own.book.adjustments["A-1"].sla_days == 9
    # the CLI queue marks it overdue (`!`) as the notices escalate it: one is_overdue
    day = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    path = tmp_path / "main.beancount"
    path.write_text(text.replace("2026-03-01 !", f"{day} !"))
    queue = CliRunner().invoke(main, ["queue", "-f", str(path)])
    assert queue.exit_code == 0, queue.output
    assert "!A-1" in queue.output
    path.write_text(text.replace("2026-03-01 !", f"{day} !").replace(
        " \"{'default-sla-days': 2}\"", ""))
    assert "!A-1" not in CliRunner().invoke(main, ["queue", "-f", str(path)]).output
    bad = load(text.replace("'default-sla-days': 2", "'default-sla-days': 0"), base=False)
    assert any("default_sla_days" in e.message or "default-sla-days" in e.message
               for e in bad.errors)
