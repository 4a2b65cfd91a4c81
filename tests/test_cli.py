"""`bean-adjust` core commands through click's runner, on real ledger files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from beancount import loader
from click.testing import CliRunner

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import State
from ledgers import BACKDATING, TOOLS_BASE

LEDGER = TOOLS_BASE + """
2024-01-01 custom "adjustment-user" "erin" "manager"
2024-01-01 custom "adjustment-approval" "debit:*"     0.00 USD
2024-01-01 custom "adjustment-policy" "debit:*"
  apply: "separate"

2024-03-05 ! "cust_123" "Damaged item" ^ADJ-2024-0001
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD

2024-03-06 ! "cust_123" "Big credit" ^ADJ-2024-0002
  adjustment-type: "credit:goodwill"
  category: "customer-service:goodwill"
  customer: "cust_123"
  reason: "Big credit"
  requested-by: "alice"
  Expenses:Adjustments:Credits   2000.00 USD
  Assets:Receivable:Customers   -2000.00 USD
"""


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(LEDGER)
    monkeypatch.setenv("BEAN_ADJUST_LEDGER", str(path))
    monkeypatch.delenv("BEAN_ADJUST_USER", raising=False)
    monkeypatch.delenv("BEAN_ADJUST_TARGET", raising=False)
    return path


def run(*args: str, user: str | None = None):
    env = {"BEAN_ADJUST_USER": user} if user else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def states(path: Path) -> dict[str, State]:
    _, errors, options = loading.load_file(str(path))
    assert errors == []
    book = book_of(options)
    assert book is not None
    return {k: a.state for k, a in book.adjustments.items()}


@pytest.mark.parametrize("command", ["create", "approve", "reject", "apply", "cancel",
                                     "list", "queue", "show", "check"])
def test_every_command_has_help(command: str):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "--ledger" in result.output


def test_create_prints_the_id_and_the_approvals_it_needs(ledger: Path):
    # Dated in 2024: the ledger must allow entries written that long after their date.
    ledger.write_text(ledger.read_text() + BACKDATING)
    result = run("create", "--type", "credit:refund", "--customer", "cust_123",
                 "--amount", "30.00 USD", "--reason", "Late delivery",
                 "--offset-account", "Income:Sales:Returns", "--ticket", "T-9",
                 "--date", "2024-03-10", user="alice")
    assert result.exit_code == 0, result.output
    assert f"wrote 1 request to {ledger}" in result.output
    assert "ADJ-2024-0003" in result.output
    assert "needs: manager" in result.output
    text = ledger.read_text()
    assert "^ADJ-2024-0003" in text
    assert 'ticket: "T-9"' in text
    assert states(ledger)["ADJ-2024-0003"] is State.PENDING


def test_create_below_every_threshold_is_approved_automatically(ledger: Path):
    result = run("create", "--type", "credit:goodwill", "--customer", "cust_123",
                 "--amount", "5.00 USD", "--reason", "Sorry", "--json", "--as", "alice")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["state"] == "applied"
    assert data["chain"] == []
    assert data["written"] == 1
    assert data["adjustments"] == [{"id": data["id"], "state": "applied",
                                    "requires": "nothing: it is applied"}]
    before = ledger.read_bytes()
    ghost = run("create", "--type", "credit:refund", "--customer", "ghost",
                "--amount", "30.00 USD", "--reason", "x", "--json", user="alice")
    assert ghost.exit_code == 1
    refusal = json.loads(ghost.output)
    assert refusal["written"] == 0
    assert "[unknown-customer]" in refusal["refused"][0]["reason"]
    assert ledger.read_bytes() == before


def test_create_refusals(ledger: Path):
    before = ledger.read_bytes()
    nobody = run("create", "--type", "credit:refund", "--customer", "cust_123",
                 "--amount", "30.00 USD", "--reason", "x")
    assert nobody.exit_code == 1
    assert "--as USER" in nobody.stderr
    unknown = run("create", "--type", "credit:refund", "--customer", "cust_123",
                  "--amount", "30.00 USD", "--reason", "x",
                  "--offset-account", "Income:Nowhere", user="alice")
    assert unknown.exit_code == 1
    assert "Income:Nowhere is not opened" in unknown.stderr
    ghost = run("create", "--type", "credit:refund", "--customer", "ghost",
                "--amount", "30.00 USD", "--reason", "x", user="alice")
    assert ghost.exit_code == 1
    assert "[unknown-customer]" in ghost.stderr
    assert ledger.read_bytes() == before


def test_approve_refuses_self_approval_and_writes_nothing(ledger: Path):
    before = ledger.read_bytes()
    result = run("approve", "ADJ-2024-0001", "--as", "alice")
    assert result.exit_code == 1
    assert "bean-adjust: refused:" in result.stderr
    assert "[self-approval]" in result.stderr
    assert result.stderr.count("ADJ-2024-0001") == 1  # said once, not "ID: ID approve ..."
    assert ledger.read_bytes() == before


def test_approve_batch_is_all_or_nothing_unless_skip_refused(ledger: Path):
    before = ledger.read_bytes()
    # bob may approve 0001 but 2000 USD is above his limit.
    result = run("approve", "ADJ-2024-0001", "ADJ-2024-0002", user="bob")
    assert result.exit_code == 1
    assert "[over-limit]" in result.stderr
    assert ledger.read_bytes() == before
    result = run("approve", "ADJ-2024-0001", "ADJ-2024-0002", "--skip-refused", user="bob")
    assert result.exit_code == 1
    assert "wrote 1 approval" in result.output
    assert "ADJ-2024-0001: approve by bob; now applied" in result.output
    assert states(ledger)["ADJ-2024-0001"] is State.APPLIED


def test_decisions_report_in_json(ledger: Path):
    before = ledger.read_bytes()
    refused = run("approve", "ADJ-2024-0001", "ADJ-2024-0002", "--json", user="bob")
    assert refused.exit_code == 1
    body = json.loads(refused.output)
    assert body["written"] == 0
    assert body["adjustments"] == []
    assert [r["id"] for r in body["refused"]] == ["ADJ-2024-0002"]
    assert "[over-limit]" in body["refused"][0]["reason"]
    assert ledger.read_bytes() == before
    partial = run("approve", "ADJ-2024-0001", "ADJ-2024-0002", "--skip-refused", "--json",
                  user="bob")
    assert partial.exit_code == 1
    body = json.loads(partial.output)
    assert body["file"] == str(ledger)
    assert body["written"] == 1
    assert body["adjustments"] == [{"id": "ADJ-2024-0001", "state": "applied",
                                    "requires": "nothing: it is applied"}]
    assert [r["id"] for r in body["refused"]] == ["ADJ-2024-0002"]
    assert body["sha256"] == hashlib.sha256(ledger.read_bytes()).hexdigest()
    nothing = run("approve", "--all-pending", "--below", "100 USD", "--json", user="erin")
    assert nothing.exit_code == 0
    assert json.loads(nothing.output)["written"] == 0


def test_writing_commands_parse_the_ledger_once(ledger: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    # Commands that read the ledger to build what they write do it on the
    # writer's own load, under its lock.
    parses: list[object] = []
    real = loader._load

    def counting(*args: object, **kwargs: object) -> object:
        parses.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "_load", counting)
    for args, user in ((("create", "--type", "credit:goodwill", "--customer", "cust_123",
                         "--amount", "5.00 USD", "--reason", "Sorry"), "alice"),
                       (("approve", "--all-pending", "--type", "credit:*"), "bob"),
                       (("approve", "ADJ-2024-0002"), "erin")):
        parses.clear()
        result = run(*args, user=user)
        assert result.exit_code == 0, result.output
        assert len(parses) == 1, args


def test_approve_all_pending_selects_what_the_user_may_approve(ledger: Path):
    result = run("approve", "--all-pending", "--type", "credit:*", user="bob")
    assert result.exit_code == 0, result.stderr
    assert "wrote 1 approval" in result.output  # 0002 is over bob's limit
    result = run("approve", "--all-pending", "--below", "100 USD", user="erin")
    assert result.output.strip() == "nothing to approve"
    result = run("approve", "--all-pending", user="erin")
    assert "ADJ-2024-0002: approve by erin; now pending (approval 2 of 2: a finance" \
        in result.output
    result = run("approve", "--all-pending", user="carol")
    assert "now applied" in result.output
    assert set(states(ledger).values()) == {State.APPLIED}


def test_reject_needs_a_reason_and_a_role(ledger: Path):
    missing = run("reject", "ADJ-2024-0001", user="bob")
    assert missing.exit_code == 2  # click: --reason is required
    carol = run("reject", "ADJ-2024-0001", "--reason", "No", user="carol")
    assert carol.exit_code == 1
    assert "[missing-role]" in carol.stderr
    ok = run("reject", "ADJ-2024-0001", "--reason", "No proof", user="bob")
    assert ok.exit_code == 0
    assert "wrote 1 rejection" in ok.output
    assert states(ledger)["ADJ-2024-0001"] is State.REJECTED
    assert 'reason: "No proof"' in ledger.read_text()


def test_apply_and_cancel(ledger: Path):
    created = run("create", "--type", "debit:fee", "--customer", "cust_123",
                  "--amount", "15.00 USD", "--reason", "Late fee", "--json", user="alice")
    new_id = json.loads(created.output)["id"]
    assert states(ledger)[new_id] is State.APPROVED  # no debit row; applies separately
    early = run("cancel", "ADJ-2024-0001", user="bob")
    assert early.exit_code == 2  # --reason required
    applied = run("apply", "--all-approved", user="bob")
    assert applied.exit_code == 0, applied.stderr
    assert f"{new_id}: apply by bob; now applied" in applied.output
    again = run("apply", new_id, user="bob")
    assert again.exit_code == 1
    assert "[invalid-transition]" in again.stderr
    cancelled = run("cancel", new_id, "--reason", "Waived", user="alice")
    assert cancelled.exit_code == 0, cancelled.stderr
    assert states(ledger)[new_id] is State.REVERSED
    twice = run("cancel", new_id, "--reason", "Again", user="alice")
    assert twice.exit_code == 1
    assert "cannot be cancelled twice" in twice.stderr


def test_unknown_id_is_refused(ledger: Path):
    result = run("approve", "ADJ-1999-0001", user="bob")
    assert result.exit_code == 1
    assert "no request has the id" in result.stderr


def test_list_queue_and_filters(ledger: Path):
    run("approve", "ADJ-2024-0001", user="bob")
    listed = run("list", "--json")
    assert [row["id"] for row in json.loads(listed.output)] == ["ADJ-2024-0001",
                                                                 "ADJ-2024-0002"]
    queued = json.loads(run("queue", "--json").output)
    assert [row["id"] for row in queued] == ["ADJ-2024-0002"]
    assert queued[0]["eligible"] == ["erin"]
    assert queued[0]["amount"] == {"number": "2000.00", "currency": "USD"}
    assert json.loads(run("queue", "--awaiting", "bob", "--json").output) == []
    assert len(json.loads(run("list", "--state", "applied", "--json").output)) == 1
    assert len(json.loads(run("list", "--category", "customer-service:*", "--json").output)) == 1
    assert json.loads(run("list", "--requester", "bob", "--json").output) == []
    assert len(json.loads(run("list", "--older-than", "30", "--json").output)) == 2
    text = run("queue").output
    assert "ADJ-2024-0002" in text
    assert "ADJ-2024-0001" not in text
    assert "approval 1 of 2: a manager, then finance" in text


def test_show_tells_the_whole_story(ledger: Path):
    run("approve", "ADJ-2024-0002", user="erin")
    result = run("show", "ADJ-2024-0002")
    assert result.exit_code == 0
    out = result.output
    assert "ADJ-2024-0002  credit:goodwill  pending" in out
    assert "Expenses:Adjustments:Credits" in out
    assert "approve by erin: counted; digest matches" in out
    assert "requires: approval 2 of 2: a finance" in out
    assert "may approve next (finance): carol" in out
    assert "generated entries: none" in out
    run("approve", "ADJ-2024-0002", user="carol")
    shown = json.loads(run("show", "ADJ-2024-0002", "--json").output)
    assert shown["state"] == "applied"
    assert [e["by"] for e in shown["events"]] == ["erin", "carol"]
    assert all(e["digest_matches"] for e in shown["events"])
    assert len(shown["generated"]) == 1
    assert "#adjustment" in shown["generated"][0]
    missing = run("show", "NOPE")
    assert missing.exit_code == 1


def test_show_marks_stale_approvals(ledger: Path):
    run("approve", "ADJ-2024-0002", user="erin")
    # Someone edits the amount after erin approved it.
    ledger.write_text(ledger.read_text().replace("2000.00 USD", "2500.00 USD"))
    out = run("show", "ADJ-2024-0002").output
    assert "STALE" in out
    assert "stale approvals" in out


def test_check_prints_errors_like_bean_check(ledger: Path):
    ok = run("check")
    assert ok.exit_code == 0
    assert "2 adjustments: 2 pending" in ok.output
    with ledger.open("a") as out:
        out.write('\n2024-03-07 custom "adjustment" "ADJ-2024-0001" "approve"\n  by: "alice"\n')
    line = ledger.read_text().splitlines().index(
        '2024-03-07 custom "adjustment" "ADJ-2024-0001" "approve"') + 1
    bad = run("check")
    assert bad.exit_code == 1
    assert f"{ledger}:{line}: " in bad.stderr
    assert "[self-approval]" in bad.stderr
    summary = json.loads(run("check", "--json").output)
    assert summary["adjustments"]["pending"] == 2
    assert len(summary["errors"]) == 1
