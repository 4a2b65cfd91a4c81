"""Ledgers that several test modules share, written on `ledgers.py`'s preambles
(or, for Beancount's example, generated): each says what it holds."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from ledgers import BACKDATING, TOOLS_BASE, block, event, request, with_settings

# -- one adjustment in every state (on `BASE`) -------------------------------------------

INVOICE_1 = block("""
    2026-02-01 * "cust_456" "Invoice"
      invoice-id: "INV-1"
      customer: "cust_456"
      Assets:Receivable:Customers  1000.00 USD
      Income:Sales
""")

EVERY_STATE = (
    INVOICE_1
    # pending: waiting for a manager
    + request("ADJ-PEND", "2026-03-01", "-50.00")
    # approved, waiting for a separate apply
    + request("ADJ-APPR", "2026-03-01", "-60.00", type="billing:discount",
              extra='invoice: "INV-1"')
    + event("ADJ-APPR", "2026-03-02", "approve", "bob")
    # applied (two levels), with a category
    + request("ADJ-APPL", "2026-03-01", "-1500.00", type="credit:goodwill",
              account="Expenses:Goodwill",
              extra='category: "customer-service:goodwill"')
    + event("ADJ-APPL", "2026-03-02", "approve", "erin")
    + event("ADJ-APPL", "2026-03-04", "approve", "carol")
    # rejected
    + request("ADJ-REJ", "2026-03-01", "-70.00")
    + event("ADJ-REJ", "2026-03-02", "reject", "bob", reason="No proof")
    # withdrawn
    + request("ADJ-WDR", "2026-03-01", "-80.00")
    + event("ADJ-WDR", "2026-03-02", "cancel", "alice", reason="Duplicate")
    # invalid: a credit raising the balance
    + request("ADJ-INV", "2026-03-01", "90.00")
    # reversed
    + request("ADJ-REV", "2026-03-01", "-40.00")
    + event("ADJ-REV", "2026-03-02", "approve", "bob")
    + event("ADJ-REV", "2026-03-10", "cancel", "carol", reason="Shipped instead")
    + event("ADJ-REV", "2026-03-10", "approve", "erin")
    # reversing: applied, its reversal awaits a manager
    + request("ADJ-RVG", "2026-03-01", "-30.00")
    + event("ADJ-RVG", "2026-03-02", "approve", "bob")
    + event("ADJ-RVG", "2026-03-11", "cancel", "carol", reason="Wrong customer")
    # automatic
    + request("ADJ-AUTO", "2026-03-03", "-5.00")
)


# -- invoices and holds (on `BASE`) ------------------------------------------------------

INVOICE = """
2026-02-01 * "Acme Corp" "Subscription February"
  invoice-id: "INV-{n}"
  customer: "{customer}"
  Assets:Receivable:Customers  {amount} USD
  Income:Sales
"""


def invoice(n: int, customer: str, amount: str = "100.00", date: str = "2026-02-01") -> str:
    """Invoice INV-`n` billing `customer` `amount` USD on `date`."""
    return INVOICE.format(n=n, customer=customer, amount=amount).replace("2026-02-01", date)


# Goodwill credits held until the customer's next invoice; cust_456 billed INV-1 on 2026-02-01.
HOLD_UNTIL_BILLED = BACKDATING + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  hold-until-billed: TRUE
""" + invoice(1, "cust_456", date="2026-02-01")


# -- customers with their own receivable (a whole preamble) ------------------------------

# `customer-account: Assets:Receivable:{customer}`; Acme (vip) and Ghost (known by its
# account, the default tier) each have theirs.
OWN_ACCOUNTS = with_settings("{'customer-account': 'Assets:Receivable:{customer}'}") + block("""
    2026-01-01 open Assets:Receivable:Acme
    2026-01-01 open Assets:Receivable:Ghost
    2026-01-01 custom "adjustment-customer" "Acme" "vip"
""")


# -- a three-level chain for debits (on `BASE`) ------------------------------------------

# gina is a manager; a debit from 10000 USD needs a manager, finance and the cfo.
DEBIT_ROWS = block("""
    2026-01-01 custom "adjustment-user" "gina" "manager"
    2026-01-01 custom "adjustment-approval" "debit:*" 10000.00 USD "manager" "finance" "cfo"
""")


# -- the tools' ledgers (whole files) ----------------------------------------------------

# The API's: debits pre-approved, and order order_456 of cust_123 (80 USD).
API_LEDGER = TOOLS_BASE + """
2024-01-01 custom "adjustment-approval" "debit:*"     0.00 USD

2024-02-01 * "Order" ^order_456
  order-id: "order_456"
  customer: "cust_123"
  Assets:Receivable:Customers    80.00 USD
  Income:Sales:Returns          -80.00 USD
"""


# The writer's safety tests': the receivable and the bank take only USD, a user who is gone
# (removed on 2024-02-01) and a pending refund, ADJ-2024-0001.
WRITER_LEDGER = """\
option "operating_currency" "USD"
plugin "beancount_adjustments"

2024-01-01 open Assets:Receivable:Customers USD
2024-01-01 open Assets:Bank USD
2024-01-01 open Income:Sales:Returns
2024-01-01 open Expenses:Adjustments:Credits
2024-01-01 open Income:Adjustments:Debits
2024-01-01 open Income:Adjustments:Billing

2024-01-01 custom "adjustment-user" "alice" "agent"
2024-01-01 custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
2024-01-01 custom "adjustment-user" "carol" "finance"
2024-01-01 custom "adjustment-user" "gone" "agent"
2024-02-01 custom "adjustment-user" "gone"
2024-01-01 custom "adjustment-customer" "cust_123" "standard"

2024-01-01 custom "adjustment-approval" "credit:*"    25.00 USD "manager"
2024-01-01 custom "adjustment-approval" "credit:*"  1000.00 USD "manager" "finance"

2024-03-05 ! "cust_123" "Damaged item" ^ADJ-2024-0001
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD
"""


# -- Beancount's example ledger ----------------------------------------------------------


def bean_example(path: Path) -> None:
    """Write Beancount's example ledger (`bean-example`, seed 7, 2025) to `path`:
    deterministic, and with no adjustments."""
    script = Path(sys.executable).parent / "bean-example"
    args = ["--seed", "7", "--date-begin", "2025-01-01", "--date-end", "2026-01-01",
            "--date-birth", "1980-05-12", "-o", str(path)]
    if script.exists():
        subprocess.run([str(script), *args], check=True, capture_output=True)
        return
    from beancount.scripts import example  # the module behind the CLI
    random.seed(7)
    with path.open("w") as out:
        example.write_example_file(
            example.parse_date_liberally("1980-05-12"), example.parse_date_liberally("2025-01-01"),
            example.parse_date_liberally("2026-01-01"), True, file=out)
