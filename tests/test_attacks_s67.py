"""Round 67: the plain-posting rules under a seal.

Rounds 58 and 59 added `custom "adjustment-reserved"` and `custom
"adjustment-receivable"` (with its `payment-accounts:`), which decide whether a
plain transaction may move money at all. Seals of version 4 covered every other
rule directive but not these: alice, who can edit the file, deleted a sealed
reserved line (or narrowed the payment accounts) and then booked a plain 5,000
USD "goodwill" credit on a sealed day, `bean-check` clean and every seal intact.
Where git history is not at hand (or was rewritten), the seal is the evidence.
Seals of version 5 cover both directives; a version 4 seal still verifies as
what it covered. "Hole:" tests failed on the code they were written against.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from signing import seal

from beancount_adjustments.beans.seal_directive import render_seal
from beancount_adjustments.core import seals
from ledgers import ledger, load_file

RULES = """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
  payment-accounts: "Assets:Bank"
"""

PAYOUT = """
2026-02-10 * "cust_123" "Goodwill"
  Assets:Bank                   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
"""
"""5,000 USD paid out of the bank as a credit, with no request."""

FAKE_PAYMENT = """
2026-02-10 * "cust_123" "Payment"
  Assets:Receivable:Customers   -5000.00 USD
  Liabilities:Tax                5000.00 USD
"""
"""The customer's account lowered by 5,000 USD against the tax liability: no payment
went through the bank."""


def _sealed(tmp_path: Path, version: int = seals.VERSION) -> Path:
    """The rules, sealed through 2026-02-28 by carol (with `version`'s hashes)."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES))
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


def _edited(path: Path, old: str, new: str, added: str = "") -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new) + added)
    return path.read_text()


def _only_broken(path: Path) -> str:
    """The one error at the load, which must be the broken seal: without it the plain
    posting would pass unseen."""
    loaded = load_file(path)
    assert [code for _, code in loaded.codes] == ["seal-broken"], loaded.errors
    return str(loaded.errors[0].message)


def test_holds_the_sealed_rules_load_clean(tmp_path: Path) -> None:
    assert load_file(_sealed(tmp_path)).errors == []


def test_hole_a_sealed_reserved_line_deleted_then_a_plain_credit(tmp_path: Path) -> None:
    """Hole: deleting the sealed `adjustment-reserved` line and adding a plain 5,000 USD
    payout to the reserved account on a sealed day loaded with no error."""
    path = _sealed(tmp_path)
    _edited(path, '2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"\n', "",
            added=PAYOUT)
    assert "a sealed entry was deleted" in _only_broken(path)


def test_hole_a_sealed_reserved_pattern_narrowed(tmp_path: Path) -> None:
    """Hole: narrowing the sealed pattern to an account nobody uses (so the plain
    credit escapes it) left the seal intact."""
    path = _sealed(tmp_path)
    _edited(path, '"Expenses:Adjustments:*"', '"Expenses:Adjustments:Unused"', added=PAYOUT)
    message = _only_broken(path)
    assert message.startswith("sealed entry changed: accounts reserved "
                              "(Expenses:Adjustments:Unused) on 2026-01-01"), message


def test_hole_sealed_payment_accounts_widened(tmp_path: Path) -> None:
    """Hole: adding `Liabilities:*` to the sealed rule's `payment-accounts:` made a fake
    "payment" against the tax liability (a credit with no request) pass, the seal
    intact."""
    path = _sealed(tmp_path)
    _edited(path, 'payment-accounts: "Assets:Bank"',
            'payment-accounts: "Assets:Bank, Liabilities:*"', added=FAKE_PAYMENT)
    message = _only_broken(path)
    assert message.startswith("sealed entry changed: the receivable rule on 2026-01-01"), message


def test_hole_sealed_payment_accounts_removed(tmp_path: Path) -> None:
    """Hole: removing `payment-accounts:` (then any asset or liability account takes
    payments) did the same."""
    path = _sealed(tmp_path)
    _edited(path, '  payment-accounts: "Assets:Bank"\n', "", added=FAKE_PAYMENT)
    assert "the receivable rule on 2026-01-01" in _only_broken(path)


def test_hole_a_sealed_receivable_rule_deleted(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    _edited(path, '2026-01-01 custom "adjustment-receivable" "invoices-and-payments"\n'
            '  payment-accounts: "Assets:Bank"\n', "", added=FAKE_PAYMENT)
    assert "1 sealed entry was deleted after accounts reserved" in _only_broken(path)


def test_holds_a_rule_added_after_the_seal_is_free(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    path.write_text(path.read_text()
                    + '\n2026-03-01 custom "adjustment-reserved" "Income:Adjustments:*"\n')
    assert load_file(path).errors == []


def test_holds_a_version_4_seal_verifies_as_what_it_covered(tmp_path: Path) -> None:
    """A seal written before version 5 still verifies: it never covered these lines,
    so editing them does not break it (README says what each version covers)."""
    path = _sealed(tmp_path, version=4)
    assert load_file(path).errors == []
    _edited(path, '"Expenses:Adjustments:*"', '"Expenses:Adjustments:Unused"')
    assert load_file(path).errors == []
