"""Round 63: a plain move of the customer's account back-dated before the receivable rule.

Round 61 made `check --since` judge a plain posting new since REV as made now
against the reserved patterns; round 59's receivable rule (`custom
"adjustment-receivable"`: the customer's account moves only by invoices, payments and
adjustments) was not among the rules it asked. So alice, after the team turned the
rule on, added a 5,000 USD credit against `Expenses:Misc` dated the day before the
rule's line, or a "payment" onto an account the latest line's `payment-accounts:`
does not name: bean-check and `check --since` clean. And she opened
`Assets:Bank:Alice-Private` under `payment-accounts: "Assets:Bank:*"`, an account a
"payment" may now go to, and `check --since` said nothing of it (now a note). "Hole:"
tests failed on the code they were written against; "Held:" ones held.
"""

from __future__ import annotations

from pathlib import Path

from repos import BOOK, Repo, assert_finding, assert_intact, check, findings

RULED = BOOK.replace(
    "2026-01-01 open Liabilities:Tax\n",
    "2026-01-01 open Liabilities:Tax\n2026-01-01 open Expenses:Misc\n"
    "2026-01-01 open Liabilities:Whatever\n") + (
    '\n2026-12-04 custom "adjustment-receivable" "invoices-and-payments"\n'
    '  payment-accounts: "Assets:Bank"\n')
"""REV: ADJ-1 decided (last decision 2026-03-02); from 2026-12-04 only invoices,
payments into the bank and adjustments move the receivable."""


def _move(other: str, date: str = "2026-11-30", meta: str = "") -> str:
    return f"""
{date} * "cust_456" "Moved"{meta}
  Assets:Receivable:Customers   -5000.00 USD
  {other}                        5000.00 USD
"""


def _rev(tmp_path: Path, text: str = RULED) -> tuple[Repo, str]:
    repo = Repo(tmp_path / "books")
    return repo, repo.commit(text)


def test_hole_a_credit_against_an_expense_back_dated_before_the_rule(tmp_path: Path) -> None:
    """Hole: a plain 5,000 USD credit against `Expenses:Misc`, added after the rule and
    dated before it, passed `check --since`."""
    repo, rev = _rev(tmp_path)
    repo.commit(RULED + _move("Expenses:Misc"))
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at('"Moved"'))
    assert "moves Assets:Receivable:Customers, the customer's account" in found, found
    assert 'since 2026-12-04 (custom "adjustment-receivable"' in found, found
    assert "dated 2026-11-30, before that" in found, found


def test_hole_a_payment_onto_an_unnamed_account_back_dated(tmp_path: Path) -> None:
    """Hole: the same as a "payment" onto `Liabilities:Whatever`, which the rule's
    `payment-accounts:` does not name."""
    repo, rev = _rev(tmp_path)
    repo.commit(RULED + _move("Liabilities:Whatever"))
    assert_finding(check(repo, rev), "backdated-posting", repo.at('"Moved"'))


def test_holds_a_late_bank_payment_or_invoice_is_honest(tmp_path: Path) -> None:
    """Held: a payment into the bank, or an invoice with its id, entered late and dated
    before the rule, is no finding: both are what the rule lets move the account."""
    repo, rev = _rev(tmp_path)
    invoice = """
2026-11-29 * "cust_456" "Invoice" #late
  invoice-id: "INV-77"
  customer: "cust_456"
  Assets:Receivable:Customers    120.00 USD
  Income:Sales                  -120.00 USD
"""
    repo.commit(RULED + _move("Assets:Bank") + invoice)
    assert_intact(check(repo, rev))


def test_holds_a_move_rev_held_is_history(tmp_path: Path) -> None:
    """Held: a plain move REV already held, dated before the rule, is history."""
    repo, rev = _rev(tmp_path, RULED + _move("Expenses:Misc"))
    repo.commit(RULED + _move("Expenses:Misc") + "\n; a comment appended\n")
    assert_intact(check(repo, rev))


def test_holds_one_dated_after_the_rule_is_the_plugins_error_only(tmp_path: Path) -> None:
    """Held: dated after the rule, the plugin refuses it itself (`unrequested-posting`),
    and `check --since` adds no second finding."""
    repo, rev = _rev(tmp_path)
    repo.commit(RULED + _move("Expenses:Misc", "2026-12-05"))
    result = check(repo, rev)
    assert "[unrequested-posting]" in result.output, result.output
    assert "[backdated-posting]" not in result.output, result.output


PAYING = RULED.replace('  payment-accounts: "Assets:Bank"\n',
                       '  payment-accounts: "Assets:Bank, Assets:Bank:*"\n')


def test_hole_an_account_opened_under_a_payment_pattern_is_a_note(tmp_path: Path) -> None:
    """Hole (review 64 left it to README): alice opens `Assets:Bank:Alice-Private`, which
    `payment-accounts: "Assets:Bank:*"` lets take payments, so a "payment" into it moves
    the customer's account with no request; `check --since` said nothing of the open."""
    repo, rev = _rev(tmp_path, PAYING)
    repo.commit(PAYING + "\n2026-12-05 open Assets:Bank:Alice-Private\n")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    line = repo.line("2026-12-05 open Assets:Bank:Alice-Private")
    notes = [n for n in findings(result, "rule-changed") if f"main.beancount:{line}: " in n]
    assert len(notes) == 1, result.output
    assert "Assets:Bank:Alice-Private" in notes[0], notes
    assert "takes payments" in notes[0], notes
    assert '"Assets:Bank, Assets:Bank:*"' in notes[0], notes


def test_holds_an_account_outside_the_payment_patterns_is_no_note(tmp_path: Path) -> None:
    """Held: an account opened since REV that no payment pattern names is no note."""
    repo, rev = _rev(tmp_path, PAYING)
    repo.commit(PAYING + "\n2026-12-05 open Expenses:Travel\n")
    result = check(repo, rev)
    assert_intact(result)
    assert findings(result, "rule-changed") == [], result.output
