"""Attacks, round 18: controls that hold (issue 11).

The controls of rounds 10 to 17 attacked from the side: another account under
the receivable, another spelling, another tool.
"""

from __future__ import annotations

from ledgers import BASE, balance, codes, load, with_settings

OWN = with_settings("{'customer-account': 'Assets:Receivable:Customers:{customer}'}", BASE) + """
2026-01-01 custom "adjustment-customer" "Acme" "standard"
2026-01-01 open Assets:Receivable:Customers:Acme
2026-01-01 open Assets:Receivable:Suspense
2026-01-01 custom "adjustment-policy" "*"
  offset-accounts: "Income:*"
"""


def _parked(suspense: str = "Assets:Receivable:Suspense") -> str:
    """A 300 USD credit on Acme's own account, 290 USD of it parked on `suspense`."""
    return f"""
2026-02-02 ! "Acme" "Refund" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "Acme"
  reason: "Refund"
  requested-by: "alice"
  Assets:Receivable:Customers:Acme  -300 USD
  {suspense}  290 USD
  Income:Sales:Returns  10 USD
2026-02-03 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
"""


def test_a_receivable_account_that_is_no_customers_is_an_offset() -> None:
    """Hole: with `customer-account`, the other side of a credit parked on
    `Assets:Receivable:Suspense` (no customer's own account) passed
    `offset-accounts: "Income:*"` as if it were the customer's, and was booked."""
    loaded = load(OWN + _parked(), base=False)
    assert codes(loaded.errors) == [(loaded.line("^ADJ-1"), "offset-not-allowed")]
    assert "Assets:Receivable:Suspense" in loaded.errors[0].message
    assert balance(loaded.entries, "Assets:Receivable:Suspense") == 0
    assert loaded.state("ADJ-1") == "invalid"


def test_the_customers_own_sub_accounts_are_their_side() -> None:
    loaded = load(OWN + "2026-01-01 open Assets:Receivable:Customers:Acme:Disputes\n"
                  + _parked("Assets:Receivable:Customers:Acme:Disputes"), base=False)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
