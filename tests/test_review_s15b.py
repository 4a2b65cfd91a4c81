"""Review s15b (round 64): the plain-posting rules of rounds 58-63 and the import re-plan.

Alice (an accountant with commit rights and no approval role) tried to move a
customer's debt out unseen past `adjustment-receivable` and `adjustment-reserved`:
a "payment" in a lot bought at cost (`1 JUNK {5000.00 USD}`), a conversion `@@`
into a payment account, a `pad` dated the day before a rule whose `balance` comes
after it (so it wipes what the postings after the rule added), a hand-written `P`
transaction, zero and elided legs, a payment account opened under a
`payment-accounts:` pattern, and the same pad under `check --since`; as an auditor,
a rule removed in the change that adds a plain credit it refuses (a note then;
a finding, `unruled-posting`, since the session's next commit), and an import
planned before another run recorded some of its rows (planned again, each row
written once).
"Hole:" tests failed on the code at the start of the round; "Held:" ones held.
"""

from __future__ import annotations

from pathlib import Path

from repos import BOOK, Repo, assert_finding, assert_intact, check

from beancount_adjustments.intake.csv_import import import_csv
from beancount_adjustments.intake.templates import LedgerContext
from ledgers import balance, ledger, load

ACCOUNTS = """
2026-01-01 open Expenses:Misc
2026-01-01 open Assets:Bank:Checking USD
2026-01-01 open Assets:Brokerage
2026-01-01 open Equity:Opening-Balances
2026-01-01 commodity JUNK
"""
RULE = ACCOUNTS + """
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
  payment-accounts: "Assets:Bank, Assets:Bank:*, Assets:Brokerage, Liabilities:Tax"
"""
LATE_RULE = ACCOUNTS + '2026-06-01 custom "adjustment-receivable" "invoices-and-payments"\n'
"""The receivable rule from 2026-06-01, with no `payment-accounts:`."""

INVOICE = """
2026-07-01 * "cust_1" "Invoice"
  invoice-id: "INV-1"
  Assets:Receivable:Customers   5000.00 USD
  Income:Sales                 -5000.00 USD
"""


def _codes(text: str) -> list[str | None]:
    return [code for _, code in load(text).codes]


def test_hole_a_payment_in_a_lot_at_cost_is_no_payment() -> None:
    """Hole: cust_1's 5,000 USD "paid" with 1 JUNK held at a cost of 5,000 USD in a
    payment account passed; sold at nothing later, it is a credit no approval saw."""
    loaded = load(RULE + """
2026-12-04 * "cust_1" "Paid in junk"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Brokerage                 1 JUNK {5000.00 USD}
""")
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert loaded.codes[0][0] == loaded.line('"Paid in junk"')
    message = str(loaded.errors[0].message)
    assert "but for Assets:Brokerage, a holding at cost" in message, message
    assert "\n" not in message


def test_holds_an_invoice_selling_a_lot_is_an_invoice() -> None:
    """Held: an invoice raising cust_1 for a lot sold to them is still an invoice."""
    assert _codes(RULE + """
2026-11-01 * "Bought"
  Assets:Brokerage                 1 JUNK {5000.00 USD}
  Equity:Opening-Balances      -5000.00 USD

2026-12-04 * "cust_1" "Sold on account"
  invoice-id: "INV-2"
  Assets:Receivable:Customers    5000.00 USD
  Assets:Brokerage                -1 JUNK {5000.00 USD}
""") == []


def test_holds_a_conversion_into_a_bank_bound_to_its_currency() -> None:
    """Held (Beancount's own check, the README's advice): `1 JUNK @@ 5000.00 USD` into
    a bank account opened for USD only fails `bean-check`."""
    loaded = load(RULE + """
2026-12-04 * "cust_1" "Paid in junk"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank:Checking             1 JUNK @@ 5000.00 USD
""")
    assert loaded.errors, loaded.codes
    assert "JUNK" in str(loaded.errors[0].message), loaded.errors


def test_holds_a_euro_payment_is_a_payment() -> None:
    """Held: a payment in another currency at a price is a payment."""
    assert _codes(RULE + """
2026-01-01 open Assets:Bank:Euro EUR
2026-12-04 * "cust_1" "Paid in EUR"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank:Euro              4600.00 EUR @@ 5000.00 USD
""") == []


def test_hole_a_pad_before_the_receivable_rule_balanced_after_it() -> None:
    """Hole: a pad of the receivable dated 2026-05-31, the day before the rule, with a
    `balance` of 0 on 2026-08-01 wiped the 5,000 USD invoiced on 2026-07-01 into
    `Expenses:Misc`, `bean-check` clean."""
    text = LATE_RULE + """
2026-05-31 pad Assets:Receivable:Customers Expenses:Misc
""" + INVOICE + """
2026-08-01 balance Assets:Receivable:Customers 0.00 USD
"""
    loaded = load(text)
    assert balance(loaded.entries, "Expenses:Misc") == 5000  # what the pad moved
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert loaded.codes[0][0] == loaded.line("2026-05-31 pad")


def test_hole_a_pad_before_a_reserved_pattern_balanced_after_it() -> None:
    """Hole: the same for a reserved account: the bank padded from
    `Expenses:Adjustments:Credits` on the day before the pattern, balanced after it."""
    loaded = load(ACCOUNTS + """
2026-01-01 open Expenses:Adjustments:Credits
2026-06-01 custom "adjustment-reserved" "Expenses:Adjustments:Credits"
2026-05-31 pad Assets:Bank:Checking Expenses:Adjustments:Credits
2026-08-01 balance Assets:Bank:Checking 5000.00 USD
""")
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert "Expenses:Adjustments:Credits" in str(loaded.errors[0].message)


def test_holds_an_opening_pad_balanced_before_the_rule_is_history() -> None:
    """Held (control of the fix): an opening pad whose balance comes before the rule is
    history, whatever balances follow it after the rule (they use no pad)."""
    assert _codes(LATE_RULE + """
2026-01-02 pad Assets:Receivable:Customers Equity:Opening-Balances
2026-01-03 balance Assets:Receivable:Customers 700.00 USD
""" + INVOICE + """
2026-08-01 balance Assets:Receivable:Customers 5700.00 USD
""") == []


def test_hole_a_pad_balanced_on_its_own_day_is_judged_at_its_next_balance() -> None:
    """Hole: a balance on the pad's own day sorts before it and uses no pad; the pad
    moves what its next balance, after the rule, needs, and passed."""
    loaded = load(LATE_RULE + """
2026-05-31 balance Assets:Receivable:Customers 0.00 USD
2026-05-31 pad Assets:Receivable:Customers Expenses:Misc
""" + INVOICE + """
2026-08-01 balance Assets:Receivable:Customers 0.00 USD
""")
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_holds_a_hand_written_padding_transaction_is_judged() -> None:
    """Held: a transaction flagged `P` by hand is a plain transaction like any."""
    assert _codes(RULE + """
2026-12-04 P "cust_1" "Padding"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Misc                  5000.00 USD
""") == ["unrequested-posting"]


def test_holds_zero_and_elided_legs_change_nothing() -> None:
    """Held: a 0 USD expense leg leaves a bank payment a payment; an elided expense leg
    taking the rest makes it none."""
    assert _codes(RULE + """
2026-12-04 * "cust_1" "Paid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank:Checking           5000.00 USD
  Expenses:Misc                     0.00 USD
""") == []
    assert _codes(RULE + """
2026-12-04 * "cust_1" "Paid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank:Checking              1.00 USD
  Expenses:Misc
""") == ["unrequested-posting"]


SINCE = BOOK.replace(
    "2026-01-01 open Liabilities:Tax\n",
    "2026-01-01 open Liabilities:Tax\n2026-01-01 open Expenses:Misc\n") + (
    '\n2026-12-04 custom "adjustment-receivable" "invoices-and-payments"\n')


def test_holds_a_back_dated_pad_balanced_after_the_rule_is_one_error(tmp_path: Path) -> None:
    """Held: under `check --since`, a pad added dated before the rule with its balance
    after it is one error at the pad (`backdated-posting` before this round; the
    plugin's `unrequested-posting` now, and no second finding)."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(SINCE)
    repo.commit(SINCE + """
2026-12-03 pad Assets:Receivable:Customers Expenses:Misc
2026-12-06 balance Assets:Receivable:Customers 0.00 USD
""")
    result = check(repo, rev)
    at = [line for line in result.output.splitlines() if repo.at("2026-12-03 pad") in line]
    assert len(at) == 1, result.output
    assert "[unrequested-posting]" in at[0] or "[backdated-posting]" in at[0], at


def test_holds_a_pad_rev_held_balanced_before_the_rule(tmp_path: Path) -> None:
    """Held: a pad and balance REV held, both before the rule, stay history."""
    text = SINCE + """
2026-11-02 pad Assets:Receivable:Customers Expenses:Misc
2026-11-03 balance Assets:Receivable:Customers 0.00 USD
"""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(text)
    repo.commit(text + "\n; a comment\n")
    assert_intact(check(repo, rev))


def test_holds_a_pattern_names_a_payment_account_opened_later() -> None:
    """Held (the README's limit): `Assets:Bank:*` names an `Assets:Bank:Alice-Private`
    opened the day before; a payment into it is a payment (name accounts exactly)."""
    assert _codes(RULE + """
2026-12-03 open Assets:Bank:Alice-Private
2026-12-04 * "cust_1" "Paid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank:Alice-Private      5000.00 USD
""") == []


MOVE = """
2026-11-30 * "cust_456" "Moved"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Misc                  5000.00 USD
"""


def test_hole_a_rule_removed_with_a_plain_credit_is_a_finding(tmp_path: Path) -> None:
    """Hole (changed by the session after this round, which had left it a note): the
    rule's line removed and a plain credit it would refuse added in one change was the
    removal's note only, "the past is intact". A rule REV held still judges the plain
    postings written since (`unruled-posting`)."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(SINCE)
    removed = SINCE.replace('2026-12-04 custom "adjustment-receivable" '
                            '"invoices-and-payments"\n', "")
    assert removed != SINCE
    repo.commit(removed + MOVE)
    result = check(repo, rev)
    found = assert_finding(result, "unruled-posting", repo.at('"Moved"'))
    assert "moves Assets:Receivable:Customers, the customer's account" in found, found
    assert "held and removed or loosened since" in found, found
    assert "[rule-changed]" in result.output, result.output


def test_hole_a_reserved_pattern_removed_with_a_plain_posting_is_a_finding(
        tmp_path: Path) -> None:
    """Hole: the same with a reserved pattern: removed, and a plain credit to the account
    it reserved added in the same change, dated after the pattern's date."""
    reserved = BOOK.replace(
        "2026-01-01 open Liabilities:Tax\n",
        "2026-01-01 open Liabilities:Tax\n2026-01-01 open Expenses:Adjustments:Credits\n")
    line = '2026-06-01 custom "adjustment-reserved" "Expenses:Adjustments:*"\n'
    repo = Repo(tmp_path / "books")
    rev = repo.commit(reserved + line)
    repo.commit(reserved + """
2026-12-05 * "cust_456" "Goodwill"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
""")
    found = assert_finding(check(repo, rev), "unruled-posting", repo.at('"Goodwill"'))
    assert "posts to Expenses:Adjustments:Credits" in found, found


def test_holds_postings_rev_held_or_honest_after_a_removal(tmp_path: Path) -> None:
    """Held: after the rule's removal, a plain move REV already held is history, and a
    bank payment written since is what the rule allowed: no finding."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(SINCE + MOVE)
    removed = SINCE.replace('2026-12-04 custom "adjustment-receivable" '
                            '"invoices-and-payments"\n', "")
    repo.commit(removed + MOVE + MOVE.replace('"Moved"', '"Paid"').replace(
        "Expenses:Misc ", "Assets:Bank   ").replace("2026-11-30", "2026-12-06"))
    result = check(repo, rev)
    assert "[unruled-posting]" not in result.output, result.output
    assert result.exit_code == 0, result.output


IMPORTED = """type,customer,amount,currency,reason,external-id,offset-account
credit:refund,cust_123,10.00,USD,Damaged,crm-1,Income:Sales:Returns
credit:refund,cust_456,12.00,USD,Late,crm-2,Income:Sales:Returns
"""


def test_holds_a_replanned_import_writes_its_new_row_once(tmp_path: Path) -> None:
    """Held: a run planned before another run recorded two of its rows plans again,
    skips those two and writes its third row once, nothing twice."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(""))
    rows, more = tmp_path / "rows.csv", tmp_path / "more.csv"
    rows.write_text(IMPORTED)
    more.write_text(IMPORTED + "credit:refund,cust_123,14.00,USD,Missing,crm-3,"
                    "Income:Sales:Returns\n")
    stale = LedgerContext.load(main_file)
    assert import_csv(main_file, rows, user="alice").errors == []
    late = import_csv(main_file, more, user="alice", ctx=stale)
    assert late.errors == [], late.errors
    assert late.result is not None
    assert len(late.plan.skipped) == 2, late.plan.skipped
    text = main_file.read_text()
    assert [text.count(f'"crm-{n}"') for n in (1, 2, 3)] == [1, 1, 1], text
    assert load(text, base=False).errors == []
