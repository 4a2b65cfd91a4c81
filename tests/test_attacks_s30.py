"""Round 30: attacks on notifications (notify/): where a notice goes, what it says, how
often it is sent, and what a bad state file or line does to a run."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments import notify
from beancount_adjustments.cli import main
from ledgers import event, ledger, line_in, load, request


def run(path: Path, today: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["notify", "-f", str(path), "--today", today, *args])


# -- the state file --------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    "[]", '"sent"', "1", '{"sent": []}', '{"sent": {"A-1:approval-needed-1:bob": 1}}',
    '{"sent": {"A-1:approval-needed-1:bob": {"channels": 7}}}',
    '{"sending": []}', '{"sending": {"A-1:approval-needed-1:bob": "x"}}',
    '{"sending": {"A-1:approval-needed-1:bob": {"abc": 3}}}',
])
def test_a_corrupted_state_file_stops_the_run_in_one_line(tmp_path: Path, hooks: Any,
                                                          content: str) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00")))
    state = tmp_path / ".bean-adjust-notify.json"
    state.write_text(content)
    for args in ((), ("--dry-run",), ("--baseline",)):
        result = run(path, "2026-03-03", *args)
        assert result.exit_code == 1, (args, result.output, result.exception)
        assert "unreadable notify state" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert state.read_text() == content
    assert hooks.received == []


@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_full_disk_writing_the_state_is_one_line_and_nothing_is_lost(
        tmp_path: Path, hooks: Any, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """The disk fills when the "sending" mark is written (1: nothing is sent) or when
    the delivery is recorded (2: it was sent; the mark on disk makes the next run say
    it may have been sent and resend it with the same id): one line, exit 1."""
    import errno

    from beancount_adjustments.notify import state as notify_state
    path = tmp_path / "main.beancount"
    path.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00")))
    real = notify_state.atomic_write
    writes: list[int] = []

    def full(target: Path, data: bytes) -> None:
        writes.append(1)
        if len(writes) == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real(target, data)

    with monkeypatch.context() as patch:
        patch.setattr(notify_state, "atomic_write", full)
        result = run(path, "2026-03-03")
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert len(hooks.to("/bob")) == fail_at - 1
    again = run(path, "2026-03-03")
    assert again.exit_code == 0, again.output
    assert ("may have been sent" in again.output) is (fail_at == 2)
    assert len(hooks.to("/bob")) == fail_at
    ids = {h["X-Notice-Id"] for _p, h in hooks.headers}
    assert ids == {notify.notice_id("A-1:approval-needed-1:bob")}


# -- a notice never sent: two of them under one key --------------------------------------------


def test_a_second_reversal_asked_on_the_same_day_reaches_its_approvers() -> None:
    """Alice cancels an applied credit, bob refuses the reversal, alice asks again the
    same day: the second request for a reversal, and bob's second refusal, are new
    notices. Keyed by the day alone they took the first ones' keys, so a run after
    the first had sent them told nobody."""
    first = (request("A-1", "2026-03-02", "-50.00") + event("A-1", "2026-03-03", "approve", "bob")
             + event("A-1", "2026-03-04", "cancel", "alice", reason="oops"))
    refused = first + event("A-1", "2026-03-04", "reject", "bob", reason="no")
    again = refused + event("A-1", "2026-03-04", "cancel", "alice", reason="again")
    twice = again + event("A-1", "2026-03-04", "reject", "bob", reason="still no")
    day = datetime.date(2026, 3, 4)

    def keys(text: str) -> set[str]:
        return {n.key for n in notify.notices(load(text).book, day)}

    sent = keys(first) | keys(refused)
    new = keys(again) - sent
    assert {k.split(":", 2)[2] for k in new if ":reversal-needed-" in k} == {
        "bob", "erin", "role:manager"}, new
    assert any(":reversal-refused-" in k for k in keys(twice) - sent - keys(again))
    # The first of a day keeps its key (nothing sent before is sent again).
    assert "A-1:reversal-needed-2026-03-04-1:bob" in keys(first)
    assert "A-1:reversal-refused-2026-03-04:alice" in keys(refused)


# -- where a notice goes ---------------------------------------------------------------------


@pytest.mark.parametrize("contact", [
    "billing@cust456.example,mallory@evil.example",
    "billing@cust456.example mallory@evil.example",
    "billing@cust456.example;mallory@evil.example",
    "billing@cust456.example&bcc=mallory@evil.example",
    "billing@cust456.example?bcc=mallory@evil.example",
    "billing@cust456.example/mallory@evil.example",
])
def test_one_contact_is_one_address(tmp_path: Path, smtp: Any, contact: str) -> None:
    """A customer's `contact:` filled into `to={email}` of the deployment's mail channel:
    one contact must stay one recipient, never add one (another customer's, an
    outsider's) through a separator apprise splits on or a query it reads."""
    box, port = smtp
    path = tmp_path / "main.beancount"
    path.write_text(ledger(f'''
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  name: "Fourfifty Ltd"
  contact: "{contact}"
2026-01-01 custom "adjustment-channel" "customer:*" "mailto://127.0.0.1:{port}?from=adjust@example.com&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-customer-notice" "credit:refund" "rejected"
''' + request("A-1", "2026-03-02", "-50.00")
        + event("A-1", "2026-03-03", "reject", "bob", reason="internal")))
    result = run(path, "2026-03-03")
    assert box.messages == []
    assert result.exit_code == 1, result.output
    line = line_in(path.read_text(), '"cust_456" "standard"', 1)  # the second declaration
    assert (f"main.beancount:{line}: customer:cust_456's `contact:` {contact!r} is not one "
            "e-mail address") in result.output
    assert result.output.count("is not one e-mail address") == 1


# -- what a notice says ----------------------------------------------------------------------

MARKUP = '<a href="https://evil.example/approve">Approve here</a><img src=x onerror=alert(1)>'


def test_markup_in_a_reason_reaches_a_mail_as_text(tmp_path: Path) -> None:
    """A requester's reason holding HTML: the approver's e-mail (sent as HTML by
    apprise's mail plugin) shows it as text, never as a link or an image."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from receivers import free_port

    raw: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            raw.append(envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        path = tmp_path / "main.beancount"
        path.write_text(ledger(f'''
2026-01-01 custom "adjustment-channel" "bob" "mailto://127.0.0.1:{port}?from=adjust@example.com&to=bob@example.com&mode=insecure"
''' + request("A-1", "2026-03-02", "-50.00", reason=MARKUP.replace('"', "'"))))
        result = run(path, "2026-03-03")
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    (content,) = raw
    message = message_from_bytes(content, policy=policy.default)
    html = message.get_body(preferencelist=("html",))
    shown = html.get_content() if html is not None else ""
    plain = message.get_body(preferencelist=("plain",))
    text = (plain.get_content() if plain is not None else "") + shown
    assert "Approve here" in text
    assert "<a href" not in shown
    assert "<img" not in shown


def test_a_customer_declared_twice_on_one_day_with_two_contacts_is_sent_nothing(
        tmp_path: Path, smtp: Any) -> None:
    """An included file declares cust_456 again on the day of its declaration, with
    another contact: which one is in force hung on the order of the files, and the
    later silently took every notice. Now the replay warns at the second line
    (`conflicting-customer`) and notify sends that customer nothing, exit 1."""
    from ledgers import load_file
    box, port = smtp
    path = tmp_path / "main.beancount"
    (tmp_path / "more.beancount").write_text('''
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "mallory@evil.example"
''')
    path.write_text(ledger(f'''
include "more.beancount"
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "billing@cust456.example"
2026-01-01 custom "adjustment-channel" "customer:*" "mailto://127.0.0.1:{port}?from=adjust@example.com&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-customer-notice" "credit:refund" "rejected"
''' + request("A-1", "2026-03-02", "-50.00")
        + event("A-1", "2026-03-03", "reject", "bob", reason="internal")))
    loaded = load_file(path)
    assert loaded.book is not None
    [warning] = [w for w in loaded.book.warnings if w.code == "conflicting-customer"]
    assert "billing@cust456.example" in warning.message
    assert "mallory@evil.example" in warning.message
    result = run(path, "2026-03-03")
    assert box.messages == []
    assert result.exit_code == 1, result.output
    assert "customer:cust_456's `contact:` is declared twice on 2026-01-01" in result.output


def test_a_reason_cannot_ping_a_chat_or_mask_a_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """A requester's reason `@everyone approve now: [ADJ-1](https://evil.example)` in
    the approval notice to a Discord channel: apprise hands Discord the text as it is,
    and Discord pings everyone and draws the masked link. What leaves notify is text:
    no mention, no masked or angle-bracket link survives in the message."""
    import requests

    from beancount_adjustments.notify.delivery import apprise_send
    sent: list[dict[str, Any]] = []

    class Answer:
        status_code, content, text, headers = 204, b"", "", {}

        def json(self) -> dict[str, Any]:
            return {}

    def post(url: str, data: Any = None, **_kw: Any) -> Answer:
        sent.append(dict(json.loads(data)))
        return Answer()

    monkeypatch.setattr(requests, "post", post)
    reason = ("@everyone @here <@&1234> <!channel> approve now: [ADJ-1](https://evil.example) "
              "<https://evil.example|ADJ-1>")
    apprise_send("discord://123456/abcdefg", f"[A-1] approval needed {reason}",
                 f"Requested by alice: {reason}")
    (payload,) = sent
    content = json.dumps(payload, ensure_ascii=False)
    for live in ("@everyone", "@here", "<@&", "<!channel", "](https://", "<https://"):
        assert live not in content, (live, content)
    assert "everyone" in content  # the text is all there
    assert "evil.example" in content
    assert not payload.get("allowed_mentions", {}).get("parse")


@pytest.mark.parametrize(("url", "why"), [
    ("file:///var/lib/bean-adjust/out.txt", "no plugin for `file://`"),
    ("unix:///var/run/docker.sock", "no plugin for `unix://`"),
    ("json://ops:hunter2@[::1]:8080/hook", "a literal password"),
    ("json://[::1]:8080/hook?token=abc123", "a literal `token=`"),
    ("json://hooks.example.net/{env:SMTP_PASSWORD}", "whoever edits the ledger"),
])
def test_a_ledger_channel_that_writes_files_or_carries_secrets_is_refused(url: str,
                                                                         why: str) -> None:
    """Held: apprise has no plugin that writes a file or a Unix socket (refused as a
    scheme nothing could be sent through); userinfo, tokens and placed variables are
    refused whatever the host (an IPv6 literal too)."""
    from beancount_adjustments.core.notice_lines import Channel
    from beancount_adjustments.notify.secrets import channel_problem
    problem = channel_problem(Channel(target="*", url=url))
    assert problem is not None
    assert why in problem


def test_an_approval_awaiting_its_separate_apply_is_not_announced_as_applied() -> None:
    """Held: a billing adjustment (policy `apply: separate`) fully approved but not yet
    applied: the requester hears "approved", not "approved and applied", and the
    customer hears nothing of an application until the `apply` is booked."""
    from beancount_adjustments.core.models import Source
    from beancount_adjustments.core.notice_lines import CustomerNotice, CustomerSetup
    from beancount_adjustments.notify import customers as notify_customers
    invoice = ('2026-03-01 * "cust_456" "Invoice"\n  invoice-id: "INV-9"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  400.00 USD\n'
               "  Income:Sales  -400.00 USD\n")
    text = (request("B-1", "2026-03-02", "-40.00", type="billing:tax",
                    account="Liabilities:Tax", extra='invoice: "INV-9"')
            + event("B-1", "2026-03-03", "approve", "bob") + invoice)
    book = load(text).book
    assert book is not None
    assert book.adjustments["B-1"].state == "approved"
    day = datetime.date(2026, 3, 3)
    [final] = [n for n in notify.notices(book, day) if n.kind == "approved"]
    assert "applied" not in final.subject
    assert "was applied" not in final.body
    setup = CustomerSetup((CustomerNotice(date=datetime.date(2026, 1, 1), pattern="*",
                                          kinds=("received", "applied"),
                                          source=Source(filename="x", lineno=1)),))
    kinds = {n.kind for n in notify_customers.customer_notices(book, day, setup)}
    assert kinds == {"customer-received"}
    applied = load(text + event("B-1", "2026-03-04", "apply", "carol",
                                effective="2026-03-04")).book
    assert applied is not None
    later = datetime.date(2026, 3, 4)
    assert "customer-applied" in {n.kind for n in
                                  notify_customers.customer_notices(applied, later, setup)}


def test_a_second_run_while_one_holds_the_state_sends_nothing(tmp_path: Path, hooks: Any,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Held: cron and CI start notify at once; the one that finds the state's lock
    held waits, then gives up in one line (exit 1) having sent and written nothing."""
    from beancount_adjustments.notify import state as notify_state
    path = tmp_path / "main.beancount"
    path.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00")))
    state = tmp_path / ".bean-adjust-notify.json"
    monkeypatch.setattr(notify_state.locked.__wrapped__, "__defaults__", (0.3,))
    with notify.locked(state):
        result = run(path, "2026-03-03")
    assert result.exit_code == 1, result.output
    assert "another notify run holds" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert hooks.received == []
    assert not state.exists()


def test_an_alert_cannot_be_sent_to_a_customer() -> None:
    """Held: `notify: "customer:cust_123"` on an alert would send staff findings (other
    customers' ids and amounts) to a customer's contact; it is an error at the line."""
    loaded = load('2026-01-01 custom "adjustment-alert" "customer" 100.00 USD\n'
                  '  notify: "role:finance, customer:cust_123"\n')
    assert any("`notify:` lists who is sent its findings" in e.message
               for e in loaded.errors)
