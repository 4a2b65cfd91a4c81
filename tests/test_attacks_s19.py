"""Attacks, round 19: the newest controls (offsets, effective dates, forged
effects, steps, seals, policies changed while a request waits, segregation).

A policy tightened while a request waits binds the decisions written after it:
"written" is the decision's `at:`, as for the locks, not the date its author
chose within `backdate-days`.
"""

from __future__ import annotations

from ledgers import BASE, balance, codes, event, ledger, load, request

WRITTEN_LATE = {"at": "2026-03-10T10:00:00+01:00"}
"""An approval dated 03-09 but written on 03-10, the day a policy tightened (the
ledger's `backdate-days: 5` allows the date)."""

ALLOW = """
2026-01-01 custom "adjustment-policy" "*"
  backdate-days: 5
"""


def _tightened(setting: str) -> str:
    return ALLOW + f"""
2026-03-10 custom "adjustment-policy" "credit:*"
  backdate-days: 5
  {setting}
""" + request("ADJ-1", "2026-03-01", "-50.00", account="Assets:Bank") + event(
        "ADJ-1", "2026-03-09", "approve", "bob", **WRITTEN_LATE)


def test_signatures_required_since_bind_an_approval_written_after_them() -> None:
    """Hole: an unsigned approval written on 03-10, when `signatures: "required"`
    came in force, dated 03-09 within `backdate-days`, was judged by the policy of
    03-09 and booked the credit."""
    loaded = load(_tightened('signatures: "required"'))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "unsigned-approval")]
    assert loaded.state("ADJ-1") == "pending"


def test_separate_apply_since_binds_an_approval_written_after_it() -> None:
    loaded = load(_tightened('apply: "separate"'))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "approved"
    assert balance(loaded.entries, "Assets:Bank") == 0


def test_an_offset_restriction_since_binds_an_approval_written_after_it() -> None:
    loaded = load(_tightened('offset-accounts: "Income:*"'))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "offset-not-allowed")]
    assert balance(loaded.entries, "Assets:Bank") == 0


def test_a_hold_since_binds_an_approval_written_after_it() -> None:
    loaded = load(_tightened("hold-until-billed: TRUE"))
    assert loaded.state("ADJ-1") == "approved"
    assert balance(loaded.entries, "Assets:Bank") == 0
