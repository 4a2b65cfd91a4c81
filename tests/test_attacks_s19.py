"""Attacks, round 19: the newest controls (offsets, effective dates, forged
effects, steps, seals, policies changed while a request waits, segregation).

A policy tightened while a request waits binds the decisions written after it:
"written" is the decision's `at:`, as for the locks, not the date its author
chose within `backdate-days`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from signing import seal

from beancount_adjustments.beans.seal_directive import render_seal
from beancount_adjustments.core import seals
from ledgers import balance, code_set, codes, event, ledger, load, load_file, request

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


PRICED = ('2026-01-01 commodity EUR\n2026-01-01 price EUR 1.10 USD\n'
          + request("ADJ-1", "2026-02-02", "-900", currency="EUR"))
"""A hand-written 900 EUR credit (990 USD at the sealed price: a manager's) waiting."""


def _sealed(tmp_path: Path, version: int = seals.VERSION) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(PRICED))
    if version == seals.VERSION:
        seal(path, "2026-02-28")
        return path
    book = load_file(path).book
    assert book is not None
    items = seals.sealed_items(book.facts, version, book.settings)
    hashes = [it.hash for it in items if it.date <= datetime.date(2026, 2, 28)]
    path.write_text(path.read_text() + "\n" + render_seal(seals.SealPlan(
        date=datetime.date(2026, 2, 28), hash=seals.chain("", hashes, version, "carol"),
        count=len(hashes), span=len(hashes), fingerprints="", by="carol")))
    return path


def test_a_price_edited_on_a_sealed_day_breaks_the_seal(tmp_path: Path) -> None:
    """Hole: seals did not cover prices. Editing the sealed EUR price to 0.01 USD made
    the sealed pending 900 EUR credit worth 9 USD: approved automatically and booked,
    the seal intact."""
    path = _sealed(tmp_path)
    assert load_file(path).errors == []
    path.write_text(path.read_text().replace("price EUR 1.10 USD", "price EUR 0.01 USD"))
    loaded = load_file(path)
    assert codes(loaded.errors) == [(loaded.line("price EUR 0.01"), "seal-broken")]
    assert "price of EUR on 2026-01-01" in loaded.errors[0].message


def test_a_price_added_on_a_sealed_day_breaks_the_seal(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    path.write_text(path.read_text() + "\n2026-02-01 price EUR 0.01 USD\n")
    assert code_set(load_file(path).errors) == {"seal-broken"}


def test_a_price_after_the_seal_is_free(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    path.write_text(path.read_text() + "\n2026-03-01 price EUR 1.20 USD\n")
    assert load_file(path).errors == []


def test_a_version_3_seal_still_verifies_without_the_prices(tmp_path: Path) -> None:
    path = _sealed(tmp_path, version=3)
    assert load_file(path).errors == []
    path.write_text(path.read_text().replace("price EUR 1.10 USD", "price EUR 1.11 USD"))
    assert load_file(path).errors == []  # what version 3 did not cover
