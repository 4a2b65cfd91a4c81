"""Notifications against real receivers on 127.0.0.1: an SMTP server (aiosmtpd)
and an HTTP webhook receiver; exact messages, no resends, retries of failures."""

from __future__ import annotations

import datetime
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from conftest import event, ledger, load, request

from beancount_adjustments import notify
from beancount_adjustments.cli import main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        self.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from,
                              "subject": str(message["subject"]),
                              "body": body.get_content() if body else ""})
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Hooks:
    def __init__(self, port: int | None = None) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                hooks.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == path]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    try:
        yield server
    finally:
        server.close()


def channels(mail_port: int, hook_port: int, erin_port: int) -> str:
    return f"""
2026-01-01 custom "adjustment-channel" "alice" "mailto://127.0.0.1:{mail_port}?from={{env:NOTIFY_FROM}}&to=alice@example.com&mode=insecure"
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hook_port}/bob"
2026-01-01 custom "adjustment-channel" "erin" "json://127.0.0.1:{erin_port}/erin"
"""


def run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["notify", "-f", str(path), "--today", "2026-03-03", *args],
        env={"NOTIFY_FROM": "adjust@example.com"})


DETAILS = ("Adjustment A-1: credit:refund 50.00 USD for cust_456\n"
           "Requested by alice on 2026-03-02: Damaged item")


def test_notify_sends_once_and_retries_a_failing_channel(tmp_path, smtp, hooks):
    box, mail_port = smtp
    erin_port = free_port()  # nothing listens there yet: erin's channel fails
    path = tmp_path / "main.beancount"
    text = ledger(channels(mail_port, hooks.port, erin_port)
                  + request("A-1", "2026-03-02", "-50.00", reason="Damaged item"))
    path.write_text(text)

    first = run(path)
    assert first.exit_code == 1, first.output
    assert "sent A-1:approval-needed-1:bob via json://127.0.0.1" in first.output
    assert "A-1:approval-needed-1:erin" in first.output
    assert "Connection" in first.output or "connect" in first.output.lower()
    (bob,) = hooks.to("/bob")
    assert bob["title"] == "[A-1] approval needed: credit:refund 50.00 USD for cust_456"
    assert bob["message"] == (
        "A-1 awaits your approval as manager (level 1 of 1).\n"
        "Approve with: bean-adjust approve A-1 --as <you>\n\n" + DETAILS)
    state = json.loads((tmp_path / ".bean-adjust-notify.json").read_text())
    assert set(state["sent"]) == {"A-1:approval-needed-1:bob"}

    # erin's receiver comes up: the next run retries erin only, and bob gets nothing twice
    erin = Hooks(erin_port)
    try:
        second = run(path)
        assert second.exit_code == 0, second.output
        assert [b["title"] for b in erin.to("/erin")] == [bob["title"]]
        assert len(hooks.to("/bob")) == 1
        third = run(path)
        assert third.exit_code == 0, third.output
        assert "sent 0, failed 0" in third.output
        assert len(erin.to("/erin")) == 1
    finally:
        erin.close()

    # bob approves: alice hears by e-mail, exactly once
    path.write_text(text + "\n" + event("A-1", "2026-03-03", "approve", "bob",
                                        at="2026-03-03T10:00:00Z"))
    fourth = run(path)
    assert fourth.exit_code == 0, fourth.output
    assert [m["subject"] for m in box.messages] == ["[A-1] approved and applied"]
    (mail,) = box.messages
    assert mail["to"] == ["alice@example.com"]
    assert mail["from"] == "adjust@example.com"
    assert mail["body"].replace("\r\n", "\n").strip() == (
        "bob approved A-1 as manager (level 1 of 1). It is fully approved and was applied "
        "on 2026-03-03 (effective 2026-03-03).\n\n" + DETAILS).strip()
    assert run(path).exit_code == 0
    assert len(box.messages) == 1
    assert len(hooks.to("/bob")) == 1


def test_dry_run_prints_and_records_nothing(tmp_path, hooks):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(channels(free_port(), hooks.port, hooks.port)
                           + request("A-1", "2026-03-02", "-50.00", reason="Damaged item")))
    result = run(path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would send A-1:approval-needed-1:bob to bob via json://127.0.0.1:{hooks.port}/bob" \
        in result.output
    assert "2 deliveries due (dry run: nothing sent)" in result.output
    assert hooks.received == []
    assert not (tmp_path / ".bean-adjust-notify.json").exists()


def test_notify_reports_in_json(tmp_path, hooks):
    path = tmp_path / "main.beancount"
    erin_port = free_port()  # nothing listens: erin's delivery fails
    path.write_text(ledger(channels(free_port(), hooks.port, erin_port)
                           + request("A-1", "2026-03-02", "-50.00", reason="Damaged item")))
    plan = run(path, "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    body = json.loads(plan.stdout)
    assert body["mode"] == "dry-run"
    assert sorted(d["key"] for d in body["planned"]) == [
        "A-1:approval-needed-1:bob", "A-1:approval-needed-1:erin"]
    assert (body["sent"], body["failed"]) == ([], [])
    assert hooks.received == []
    sent = run(path, "--json")
    assert sent.exit_code == 1
    body = json.loads(sent.stdout)
    assert body["mode"] == "send"
    assert [d["key"] for d in body["sent"]] == ["A-1:approval-needed-1:bob"]
    assert body["sent"][0]["channel"] == f"json://127.0.0.1:{hooks.port}/bob"
    (failed,) = body["failed"]
    assert failed["key"] == "A-1:approval-needed-1:erin"
    assert failed["error"]


def test_literal_password_in_the_ledger_is_refused(tmp_path, hooks):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "mailtos://bob:hunter2@smtp.example.com"
2026-01-01 custom "adjustment-channel" "erin" "json://127.0.0.1:{hooks.port}/erin"
""" + request("A-1", "2026-03-02", "-50.00", reason="Damaged item")))
    result = run(path)
    assert result.exit_code == 1
    assert "channel for bob refused: a literal password in the URL" in result.output
    assert len(hooks.to("/erin")) == 1
    assert notify.literal_secret("mailtos://{env:U}:{env:P}@smtp.example.com") is None
    assert notify.literal_secret("{env:SLACK_URL}") is None
    assert notify.literal_secret("json://h.example/x?token=abc") == "a literal `token=` in the URL"


def test_unset_environment_variable_fails_the_channel_and_is_retried(tmp_path, smtp):
    _box, mail_port = smtp
    path = tmp_path / "main.beancount"
    path.write_text(ledger(channels(mail_port, free_port(), free_port())
                           + request("A-1", "2026-03-02", "-50.00", reason="Damaged item")
                           + event("A-1", "2026-03-03", "approve", "bob")))
    result = CliRunner().invoke(main, ["notify", "-f", str(path), "--today", "2026-03-03"],
                                env={"NOTIFY_FROM": None})
    assert result.exit_code == 1
    assert "environment variable NOTIFY_FROM is not set (will retry)" in result.output
    assert not (tmp_path / ".bean-adjust-notify.json").exists()  # nothing was delivered
    assert run(path).exit_code == 0
    state = json.loads((tmp_path / ".bean-adjust-notify.json").read_text())
    assert "A-1:approved-1:alice" in state["sent"]


def test_escalation_climbs_one_role_per_sla_period():
    loaded = load("""
2026-01-01 custom "adjustment-policy" "credit:*"
  sla-days: 2
""" + request("A-1", "2026-03-01", "-50.00"))
    assert loaded.book is not None

    def keys(day: str) -> list[str]:
        return sorted(n.key for n in notify.notices(loaded.book, datetime.date.fromisoformat(day))
                      if n.kind == "escalation")

    assert keys("2026-03-03") == []
    assert keys("2026-03-04") == ["A-1:escalation-1:carol", "A-1:escalation-1:role:finance"]
    assert keys("2026-03-06") == ["A-1:escalation-2:dave", "A-1:escalation-2:role:cfo"]
    assert keys("2026-03-30") == ["A-1:escalation-14:dave", "A-1:escalation-14:role:cfo"]


def test_status_completion_and_customer_notices():
    loaded = load("""
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "billing@cust456.example"
""" + request("A-1", "2026-03-01", "-2000.00") + event("A-1", "2026-03-02", "approve", "bob")
        .replace('"bob"', '"erin"') + event("A-1", "2026-03-03", "approve", "carol")
        + event("A-1", "2026-03-09", "cancel", "dave", reason="Wrong customer"))
    assert loaded.book is not None
    # The cancel asks for the reversal (manager > finance): until it is approved
    # the managers hear of it, and nobody hears "reversed".
    found = {n.key: n for n in notify.notices(loaded.book, datetime.date(2026, 3, 9))}
    assert sorted(found) == [
        "A-1:approved-1:alice", "A-1:approved-2:alice", "A-1:customer-applied:customer:cust_456",
        "A-1:reversal-needed-2026-03-09-1:erin",  # bob's limit is below 2000.00 USD
        "A-1:reversal-needed-2026-03-09-1:role:manager"]
    loaded = load(loaded.text + event("A-1", "2026-03-10", "approve", "erin")
                  + event("A-1", "2026-03-10", "approve", "carol"), base=False)
    assert loaded.book is not None
    found = {n.key: n for n in notify.notices(loaded.book, datetime.date(2026, 3, 10))}
    assert sorted(found) == [
        "A-1:approved-1:alice", "A-1:approved-2:alice", "A-1:customer-applied:customer:cust_456",
        "A-1:customer-reversed:customer:cust_456", "A-1:reversed:alice"]
    assert found["A-1:reversed:alice"].body.startswith(
        "dave cancelled A-1 and its effect was reversed. Reason: Wrong customer")
    # a channel for every customer with a contact reaches cust_456 with {email} filled in
    route = notify.routes("customer:cust_456", [notify.Channel(
        target="customer:*", url="mailto://smtp.example.com?to={email}")],
        loaded.book, datetime.date(2026, 3, 10))[0]
    assert notify.expand(route, {}) == "mailto://smtp.example.com?to=billing@cust456.example"


def test_since_revision_sends_only_what_changed(tmp_path, hooks):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                            "GIT_COMMITTER_DATE": "2026-03-03T12:00:00Z",
                            "PATH": "/usr/bin:/bin"})

    path = tmp_path / "main.beancount"
    text = ledger(channels(free_port(), hooks.port, hooks.port)
                  + request("A-1", "2026-03-02", "-50.00", reason="Damaged item"))
    path.write_text(text)
    git("init", "-q")
    git("add", "main.beancount")
    git("commit", "-q", "-m", "first")
    path.write_text(text + request("A-2", "2026-03-03", "-60.00", reason="Late"))
    result = run(path, "--since", "HEAD", "--state-file", str(tmp_path / "none.json"))
    assert result.exit_code == 0, result.output
    titles = sorted(body["title"] for _p, body in hooks.received)
    assert titles == ["[A-2] approval needed: credit:refund 60.00 USD for cust_456"] * 2
