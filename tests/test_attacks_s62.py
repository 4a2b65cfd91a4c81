"""Round 62: a credit laundered through a "payment" into an account that is no cash.

Round 59's rule takes a plain transaction whose other side is any asset or
liability account for a payment or refund. So alice moved 5,000 USD off cust_1 onto
`Liabilities:Whatever` (or `Assets:Prepaid`), a "payment", and on to
`Expenses:Misc` in a second transaction that never touches the receivable: a credit
no approval saw, `bean-check` clean. The rule can now name the accounts payments
go through (`payment-accounts:`, account patterns as `offset-accounts:` reads
them; effective-dated: the latest rule line on or before the transaction that
names them); any other asset or liability leg makes the transaction no payment.
"Hole:" tests failed on the code they were written against; "Held:" ones held.
"""

from __future__ import annotations

from ledgers import load

ACCOUNTS = """
2026-01-01 open Expenses:Misc
2026-01-01 open Liabilities:Whatever
2026-01-01 open Assets:Prepaid
2026-01-01 open Assets:Clearing
"""
RULE = ACCOUNTS + """
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
  payment-accounts: "Assets:Bank, Liabilities:Tax"
"""


def _through(account: str, date: str = "2026-12-04") -> str:
    """cust_1's 5,000 USD moved to `account`, then on to an expense."""
    return f"""
{date} * "cust_1" "Payment"
  Assets:Receivable:Customers   -5000.00 USD
  {account}                       5000.00 USD

{date} * "Misc" "Spent"
  {account}                      -5000.00 USD
  Expenses:Misc                  5000.00 USD
"""


def test_hole_through_a_liability_is_no_payment() -> None:
    """Hole: the debt moved to `Liabilities:Whatever` passed as a payment."""
    loaded = load(RULE + _through("Liabilities:Whatever"))
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert loaded.codes[0][0] == loaded.line('"cust_1" "Payment"'), loaded.codes
    message = str(loaded.errors[0].message)
    assert "Liabilities:Whatever" in message, message
    assert "payment accounts Assets:Bank, Liabilities:Tax" in message, message
    assert "\n" not in message


def test_hole_through_a_prepaid_asset_is_no_payment() -> None:
    """Hole: the same through `Assets:Prepaid`, an asset but no cash."""
    loaded = load(RULE + _through("Assets:Prepaid"))
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_holds_a_bank_payment_is_a_payment() -> None:
    """Held: a payment into the bank, one of the payment accounts."""
    loaded = load(RULE + """
2026-12-04 * "cust_1" "Paid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank                    5000.00 USD
""")
    assert loaded.codes == [], loaded.codes


def test_holds_without_payment_accounts_any_asset_or_liability_pays() -> None:
    """Held (the README's limit): without `payment-accounts:` a liability leg pays."""
    loaded = load(ACCOUNTS + '2026-01-01 custom "adjustment-receivable" '
                  '"invoices-and-payments"\n' + _through("Liabilities:Whatever"))
    assert loaded.codes == [], loaded.codes


def test_hole_payment_accounts_are_effective_dated() -> None:
    """Hole: a later line adds the clearing account from 2026-06-01; a clearing payment
    before it is refused, one after it is a payment."""
    later = RULE + """
2026-06-01 custom "adjustment-receivable" "invoices-and-payments"
  payment-accounts: "Assets:Bank, Assets:Clearing"
"""
    before = load(later + _through("Assets:Clearing", "2026-05-01"))
    assert [code for _, code in before.codes] == ["unrequested-posting"], before.codes
    after = load(later + _through("Assets:Clearing", "2026-06-02"))
    assert after.codes == [], after.codes


def test_hole_a_bad_payment_accounts_line_is_an_error_and_pays_nothing() -> None:
    """Hole: a `payment-accounts:` that names no account pattern was ignored, so every
    asset or liability account took payments. Now it is an error at the line, and until
    it is fixed no account takes payments (a bank payment is refused too)."""
    for bad in ('""', '"assets:bank"', '"Assets:Bank,,"', '5'):
        loaded = load(ACCOUNTS + '2026-01-01 custom "adjustment-receivable" '
                      f'"invoices-and-payments"\n  payment-accounts: {bad}\n' + """
2026-12-04 * "cust_1" "Paid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Bank                    5000.00 USD
""")
        codes = [code for _, code in loaded.codes]
        assert codes in (["malformed-directive", "unrequested-posting"],
                         ["bad-metadata", "unrequested-posting"]), (bad, loaded.codes)
        assert "payment-accounts" in str(loaded.errors[0].message)
        assert "none (its `payment-accounts:` cannot be read)" in str(
            loaded.errors[1].message), loaded.errors[1].message
