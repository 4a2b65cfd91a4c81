"""Notifications against real receivers on 127.0.0.1: an SMTP server (aiosmtpd)
and an HTTP webhook receiver; exact messages, no resends, retries of failures,
stable notice ids, a crash between send and record, secrets judged by apprise."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from receivers import Hooks, free_port

from beancount_adjustments import notify
from beancount_adjustments.cli import main
from beancount_adjustments.notify import channels as notify_channels
from beancount_adjustments.notify import delivery as notify_delivery
from beancount_adjustments.notify import secrets as notify_secrets
from ledgers import event, ledger, load, request


def channels(mail_port: int, hook_port: int, erin_port: int) -> str:
    return f"""
2026-01-01 custom "adjustment-channel" "alice" "mailto://127.0.0.1:{mail_port}?from={{env:NOTIFY_FROM}}&to=alice@example.com&mode=insecure"
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hook_port}/bob"
2026-01-01 custom "adjustment-channel" "erin" "json://127.0.0.1:{erin_port}/erin"
"""


def run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["notify", "-f", str(path), "--today", "2026-03-03",
               "--ledger-variable", "NOTIFY_FROM", *args],
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
    bob_id = notify.notice_id("A-1:approval-needed-1:bob")
    assert bob["message"] == (
        "A-1 awaits your approval as manager (level 1 of 1).\n"
        "Approve with: bean-adjust approve A-1 --as <you>\n\n" + DETAILS
        + f"\n\nNotice id: {bob_id}")
    ((_p, headers),) = hooks.headers
    assert (headers["X-Notice-Id"], headers["Idempotency-Key"]) == (bob_id, bob_id)
    state = json.loads((tmp_path / ".bean-adjust-notify.json").read_text())
    assert set(state["sent"]) == {"A-1:approval-needed-1:bob"}
    assert state["sending"] == {}  # erin's failure is a failure, not "may have been sent"
    assert "may have been sent" not in first.output

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

    # bob approves: alice hears by e-mail, once (no crash, so no repeat)
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
        "on 2026-03-03 (effective 2026-03-03).\n\n" + DETAILS
        + f"\n\nNotice id: {notify.notice_id('A-1:approved-1:alice')}").strip()
    assert mail["notice_id"] == notify.notice_id("A-1:approved-1:alice")
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
    result = CliRunner().invoke(main, ["notify", "-f", str(path), "--today", "2026-03-03",
                                       "--ledger-variable", "NOTIFY_FROM"],
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
    # (customers hear from notify_customers, where their type opts in: test_notify_customers)
    assert sorted(found) == [
        "A-1:approved-1:alice", "A-1:approved-2:alice",
        "A-1:reversal-needed-2026-03-09-1:erin",  # bob's limit is below 2000.00 USD
        "A-1:reversal-needed-2026-03-09-1:role:manager"]
    loaded = load(loaded.text + event("A-1", "2026-03-10", "approve", "erin")
                  + event("A-1", "2026-03-10", "approve", "carol"), base=False)
    assert loaded.book is not None
    found = {n.key: n for n in notify.notices(loaded.book, datetime.date(2026, 3, 10))}
    assert sorted(found) == [
        "A-1:approved-1:alice", "A-1:approved-2:alice", "A-1:reversed:alice",
        "A-1:reversed:dave"]  # dave asked for the reversal carol's approval booked
    assert found["A-1:reversed:alice"].body.startswith(
        "dave cancelled A-1 and its effect was reversed. Reason: Wrong customer")
    # a channel for every customer with a contact reaches cust_456 with {email} filled in
    route = notify_channels.routes("customer:cust_456", [notify.Channel(
        target="customer:*", url="mailto://smtp.example.com?to={email}")],
        loaded.book, datetime.date(2026, 3, 10))[0]
    assert notify_channels.expand(route, {}) == "mailto://smtp.example.com?to=billing@cust456.example"


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



def test_since_a_revision_that_holds_no_book_is_refused_in_one_line(tmp_path, hooks):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                            "PATH": "/usr/bin:/bin"})

    (tmp_path / "other.txt").write_text("nothing\n")
    git("init", "-q")
    git("add", "other.txt")
    git("commit", "-q", "-m", "first")
    path = tmp_path / "main.beancount"
    path.write_text(ledger(channels(free_port(), hooks.port, hooks.port)))
    for rev, why in (("HEAD", "main.beancount did not exist at HEAD"),
                     ("no-such-rev", "'no-such-rev' is not a commit")):
        result = run(path, "--since", rev, "--state-file", str(tmp_path / "none.json"))
        assert result.exit_code == 1
        assert why in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert hooks.received == []

# -- at least once, honestly: a stable id and a "sending" mark before each send ---------


def test_a_crash_between_send_and_record_is_reported_and_resent_with_the_same_id(
        tmp_path, hooks, monkeypatch):
    path = tmp_path / "main.beancount"
    state_path = tmp_path / ".bean-adjust-notify.json"
    path.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00", reason="Damaged item")))
    key = "A-1:approval-needed-1:bob"
    marks_seen: list[dict[str, Any]] = []

    def power_cut(self: notify.SentState, *args: Any) -> None:
        # called after the send succeeded, before "sent" is written: the mark is on disk
        marks_seen.append(json.loads(state_path.read_text())["sending"])
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(notify.SentState, "record", power_cut)
        crashed = run(path)
    assert isinstance(crashed.exception, RuntimeError)
    assert len(hooks.to("/bob")) == 1  # it did arrive
    (marks,) = marks_seen
    assert list(marks) == [key]
    (mark,) = marks[key].values()
    assert mark["id"] == notify.notice_id(key)
    assert mark["channel"] == f"json://127.0.0.1:{hooks.port}/bob"

    # the next run says so, in the output and in --json, and resends it with the same id
    plan = run(path, "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    (unsettled,) = json.loads(plan.stdout)["may_have_been_sent"]
    assert unsettled["key"] == key
    assert unsettled["resend"] is True
    assert unsettled["notice_id"] == notify.notice_id(key)
    again = run(path)
    assert again.exit_code == 0, again.output
    assert f"{key} via json://127.0.0.1:{hooks.port}/bob may have been sent" in again.output
    assert "resent with the same id" in again.output
    first, second = hooks.headers
    assert first[1]["X-Notice-Id"] == second[1]["X-Notice-Id"] == notify.notice_id(key)
    assert first[1]["Idempotency-Key"] == second[1]["Idempotency-Key"]
    assert hooks.to("/bob")[0] == hooks.to("/bob")[1]
    state = json.loads(state_path.read_text())
    assert state["sending"] == {}
    assert set(state["sent"]) == {key}
    quiet = run(path, "--json")
    assert quiet.exit_code == 0
    body = json.loads(quiet.stdout)
    assert (body["sent"], body["may_have_been_sent"]) == ([], [])
    assert len(hooks.to("/bob")) == 2


def test_a_delivery_no_longer_due_is_reported_once_not_resent(tmp_path, hooks, monkeypatch):
    path = tmp_path / "main.beancount"
    text = ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00", reason="Damaged item"))
    path.write_text(text)
    with monkeypatch.context() as patch:
        patch.setattr(notify.SentState, "record", lambda *a: (_ for _ in ()).throw(
            RuntimeError("power cut")))
        assert isinstance(run(path).exception, RuntimeError)
    # bob's channel is removed before the next run: nothing resends it, and it is said
    path.write_text(text.replace('"bob" "json://', '"erin" "json://'))
    result = run(path, "--json")
    (unsettled,) = json.loads(result.stdout)["may_have_been_sent"]
    assert (unsettled["key"], unsettled["resend"]) == ("A-1:approval-needed-1:bob", False)
    assert json.loads((tmp_path / ".bean-adjust-notify.json").read_text())["sending"] == {}
    assert json.loads(run(path, "--json").stdout)["may_have_been_sent"] == []


def test_notice_ids_are_stable_and_distinct():
    text = request("A-1", "2026-03-02", "-50.00") + event("A-1", "2026-03-03", "approve", "bob")
    one, two = load(text), load(text)
    assert one.book is not None
    assert two.book is not None
    day = datetime.date(2026, 3, 3)
    ids = [n.id for n in notify.notices(one.book, day)]
    assert ids == [n.id for n in notify.notices(two.book, day)]
    assert len(set(ids)) == len(ids)
    assert notify.notice_id("A-1:approved-1:alice") == "n-" + __import__(
        "hashlib").sha256(b"A-1:approved-1:alice").hexdigest()[:24]
    assert notify_delivery.stamped("json://h.example/x?a=1", "n-1") == \
        "json://h.example/x?a=1&+X-Notice-Id=n-1&+Idempotency-Key=n-1"
    assert notify_delivery.stamped("mailto://h.example?to=a@b.c", "n-1") == \
        "mailto://h.example?to=a@b.c&+X-Notice-Id=n-1"
    assert notify_delivery.stamped("slack://T/B/C", "n-1") == "slack://T/B/C"  # its body says it


def test_state_write_is_atomic_and_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    import os
    import stat

    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    state = notify.SentState(tmp_path / "s.json")
    state.mark_sending("K", "r1", "now", "json://x")
    state.write()
    assert synced == ["file", "dir"]
    assert json.loads((tmp_path / "s.json").read_text())["sending"]["K"]["r1"]["id"] == \
        notify.notice_id("K")
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


# -- secrets: whatever apprise treats as private must come from {env:...} -------------------

SECRETS = [
    ("slack://T1/B2/C3", "slack://{env:SLACK_A}/{env:SLACK_B}/{env:SLACK_C}",
     ["Token A (`token_a`)", "Token B (`token_b`)", "Token C (`token_c`)"]),
    ("slack://xoxb-1234-abcd/#general", "slack://{env:SLACK_BOT_TOKEN}/#general",
     ["OAuth Access Token (`access_token`)"]),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV", "discord://{env:D_ID}/{env:D_TOKEN}",
     ["Webhook ID (`webhook_id`)", "Webhook Token (`webhook_token`)"]),
    ("tgram://123456789:abcdefg_hijklmnop/12315544", "tgram://{env:TG_BOT_TOKEN}/12315544",
     ["Bot Token (`bot_token`)"]),
    # Teams workflows (Power Automate), which apprise 2.3 has instead
    ("workflows://prod.logic.azure.com/wf123/sig456",
     "workflows://prod.logic.azure.com/{env:WF_ID}/{env:WF_SIG}",
     ["Workflow ID (`workflow`)", "Signature (`signature`)"]),
    ("json://hooks.example/x?access_token=s3cr3t", "json://hooks.example/x?access_token={env:TOK}",
     ["`access_token=`"]),
    ("json://hooks.example/x?+Authorization=Bearer%20s3cr3t",
     "json://hooks.example/x?+Authorization=Bearer%20{env:TOK}", ["`+Authorization=`"]),
    ("mailtos://bob:hunter2@smtp.example.com", "mailtos://bob:{env:SMTP_PASSWORD}@smtp.example.com",
     ["password"]),
]


@pytest.mark.parametrize(("literal", "from_env", "parts"), SECRETS,
                         ids=[s[0].split(":", 1)[0] + str(i) for i, s in enumerate(SECRETS)])
def test_private_parts_of_a_channel_url_must_come_from_the_environment(
        tmp_path, literal, from_env, parts):
    path = tmp_path / "main.beancount"
    directive = f'2026-01-01 custom "adjustment-channel" "bob" "{literal}"'
    path.write_text(ledger(directive + "\n" + request("A-1", "2026-03-02", "-50.00")))
    lineno = path.read_text().splitlines().index(directive) + 1
    refused = run(path, "--dry-run")
    assert refused.exit_code == 1, refused.output
    assert f"main.beancount:{lineno}: channel for bob refused: a literal" in refused.output
    for part in parts:
        assert part in refused.output
    assert "write {env:NAME} in place of each" in refused.output
    assert "would send A-1:approval-needed-1:bob" not in refused.output
    for secret in ("B2", "hunter2", "s3cr3t", "JHMHI8qBe7", "abcdefg_hij", "sig456"):
        if secret in literal:
            assert secret not in refused.output.replace(literal, "")  # only the template line
    assert notify.literal_secret(literal) is not None

    # A URL built around secrets is the deployment's to declare (a ledger line placing
    # them would choose where they go): in the notify config.
    config = tmp_path / "notify.toml"
    config.write_text(f'[channels]\nbob = "{from_env}"\n')
    path.write_text(ledger(request("A-1", "2026-03-02", "-50.00")))
    accepted = run(path, "--dry-run", "--config", str(config))
    assert accepted.exit_code == 0, accepted.output
    assert f"would send A-1:approval-needed-1:bob to bob via {from_env}" in accepted.output
    assert notify.literal_secret(from_env) is None


def test_private_parts_helper_is_silent_and_names_each_part():
    assert notify_secrets.private_parts("{env:FINANCE_SLACK_URL}") == []
    assert notify_secrets.private_parts("slack://{env:A}/B2/{env:C}") == ["Token B (`token_b`)"]
    assert notify_secrets.private_parts("tgram://{env:TG_ID}:{env:TG_KEY}/12315544") == []
    assert notify_secrets.private_parts(
        "mailto://127.0.0.1:25?from={env:F}&to={email}&mode=insecure") == []


def test_a_scheme_apprise_cannot_send_to_is_refused_even_with_env_secrets(tmp_path):
    # apprise 2.3 has no msteams:// plugin any more: nothing could ever be sent.
    path = tmp_path / "main.beancount"
    for url in ("msteams://T1/B2/C3", "msteams://{env:TEAMS_A}/{env:TEAMS_B}/{env:TEAMS_C}"):
        directive = f'2026-01-01 custom "adjustment-channel" "bob" "{url}"'
        path.write_text(ledger(directive + "\n" + request("A-1", "2026-03-02", "-50.00")))
        lineno = path.read_text().splitlines().index(directive) + 1
        refused = run(path, "--dry-run")
        assert refused.exit_code == 1, refused.output
        assert f"main.beancount:{lineno}: channel for bob refused: apprise" in refused.output
        assert "no plugin for `msteams://`" in refused.output
        assert "B2" not in refused.output.replace(url, "")
