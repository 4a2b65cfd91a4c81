"""Attacks, round 16: controls that hold (issue 11).

Look-alike request ids, the CLI deciding on the step the decider saw, and the
same refund entered twice under different ids and reasons.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Problem
from ledgers import Loaded, ledger, load, request


def _lookalike_ids(loaded: Loaded) -> list[Problem]:
    assert loaded.book is not None
    return [w for w in loaded.book.warnings if w.code == "lookalike-id"]


# -- look-alike request ids -----------------------------------------------------------


@pytest.mark.parametrize("other", ["ADJ-2026-OO42", "adj-2026-0042", "ADJ-2O26-0042",
                                   "ADJ-2026-0O42"])
def test_a_request_id_that_reads_as_another_is_a_warning_at_the_later(other: str) -> None:
    """Hole: "ADJ-2026-OO42" (letter O) beside "ADJ-2026-0042": a decision naming one
    reads as the other's in every list. Users and customers had `lookalike-user` and
    `lookalike-customer`; request ids had nothing."""
    loaded = load(request("ADJ-2026-0042", "2026-02-02", "-20")
                  + request(other, "2026-02-03", "-20", customer="cust_123"))
    assert loaded.errors == [], loaded.errors
    found = _lookalike_ids(loaded)
    assert len(found) == 1, loaded.book.warnings if loaded.book else None
    warning = found[0]
    assert warning.source.lineno == loaded.line(f"^{other}")
    assert '"ADJ-2026-0042"' in warning.message
    assert f'"{other}"' in warning.message
    assert f":{loaded.line('^ADJ-2026-0042')}:" in warning.message


def test_request_ids_that_differ_to_the_eye_give_no_warning() -> None:
    loaded = load(request("ADJ-2026-0042", "2026-02-02", "-20")
                  + request("ADJ-2026-0043", "2026-02-03", "-20")
                  + request("ADJ-2026-0142", "2026-02-03", "-20"))
    assert _lookalike_ids(loaded) == []


# -- the CLI decides on the step the decider saw ----------------------------------------


def _cli(path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [args[0], "-f", str(path), *args[1:]])


def _booked_and_cancelled(tmp_path: Path) -> Path:
    """ADJ-1, a 50 USD refund bob read while pending, approved, booked and cancelled."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "2026-02-02", "-50")))
    shown = _cli(path, "show", "ADJ-1")
    assert "  step: pending 0/1" in shown.output, shown.output
    assert json.loads(_cli(path, "show", "ADJ-1", "--json").output)["step"] == "pending 0/1"
    approved = _cli(path, "approve", "ADJ-1", "--as", "bob", "--step", "pending 0/1")
    assert approved.exit_code == 0, approved.output
    assert "ADJ-1: approve by bob; now applied" in approved.output
    cancelled = _cli(path, "cancel", "ADJ-1", "--as", "alice", "--reason", "Wrong customer")
    assert cancelled.exit_code == 0, cancelled.output
    return path


def test_an_approve_given_the_step_shown_does_not_approve_the_reversal(
        tmp_path: Path) -> None:
    """Hole: `bean-adjust approve ADJ-1 --as bob` decided on what ADJ-1 awaited when it
    ran: a credit bob had read as pending, booked and cancelled since, had its reversal
    approved and the money moved back. Fava and the API post the step they showed
    (round 15); the CLI takes `--step` (what `show` prints) as the writer's `seen_step`
    and refuses, writing nothing."""
    path = _booked_and_cancelled(tmp_path)
    before = path.read_bytes()
    again = _cli(path, "approve", "ADJ-1", "--as", "bob", "--step", "pending 0/1")
    assert again.exit_code == 1, again.output
    assert "now reversing 0/1" in again.output
    assert "Traceback" not in again.output
    assert path.read_bytes() == before
    rejected = _cli(path, "reject", "ADJ-1", "--as", "bob", "--reason", "No",
                    "--step", "pending 0/1")
    assert rejected.exit_code == 1, rejected.output
    assert path.read_bytes() == before
    assert "  step: reversing 0/1" in _cli(path, "show", "ADJ-1").output


def test_the_cli_says_plainly_it_approved_or_rejected_a_reversal(tmp_path: Path) -> None:
    """Without --step, the output said "ADJ-1: approve by erin; now reversed": the
    reviewer was not told that the approve was of the reversal."""
    path = _booked_and_cancelled(tmp_path)
    rejected = _cli(path, "reject", "ADJ-1", "--as", "erin", "--reason", "Keep it")
    assert rejected.exit_code == 0, rejected.output
    assert "ADJ-1: rejected the reversal of ADJ-1 by erin; now applied" in rejected.output
    cancelled = _cli(path, "cancel", "ADJ-1", "--as", "alice", "--reason", "Wrong customer")
    assert cancelled.exit_code == 0, cancelled.output
    # The second reversal asked for names itself (round 21: a step shown for the first,
    # refused, does not approve the second).
    approved = _cli(path, "approve", "ADJ-1", "--as", "erin", "--step", "reversing 0/1 #2")
    assert approved.exit_code == 0, approved.output
    assert ("ADJ-1: approved the reversal of ADJ-1 (level 1 of 1) by erin; now reversed"
            in approved.output)


def test_step_names_the_step_of_ids_given_not_a_selection(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "2026-02-02", "-50")))
    before = path.read_bytes()
    result = _cli(path, "approve", "--all-pending", "--as", "bob", "--step", "pending 0/1")
    assert result.exit_code != 0
    assert "--step" in result.output
    assert "selection" in result.output
    assert path.read_bytes() == before


# -- the same refund entered twice, under other ids and reasons -------------------------


def _flags(text: str, adj_id: str) -> tuple[str, ...]:
    loaded = load(text)
    assert loaded.errors == [], loaded.errors
    assert loaded.book is not None
    return loaded.book.adjustments[adj_id].risk_flags


def test_the_same_refund_under_another_reason_is_no_duplicate_as_readme_says() -> None:
    """Left, and said (README, Risk): `duplicates` is one customer, the same amount and
    the same reason. A refund the Stripe import wrote ("Refund re_1: requested_by_customer",
    external id re_1) and the CSV import wrote again ("Damaged item", external id
    csv-7) differs in its reason, so it is not flagged; the same reason is."""
    stripe = request("ADJ-1", "2026-02-02", "-40", reason="Refund re_1 requested_by_customer",
                     extra='  external-id: "re_1"\n')
    csv = request("ADJ-2", "2026-02-03", "-40", reason="Damaged item",
                  extra='  external-id: "csv-7"\n')
    assert "duplicates" not in _flags(stripe + csv, "ADJ-2")
    same = request("ADJ-2", "2026-02-03", "-40", reason="refund RE_1 requested-by-customer",
                   extra='  external-id: "csv-7"\n')
    assert "duplicates" in _flags(stripe + same, "ADJ-2")
