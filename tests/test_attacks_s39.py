"""Round 39 of attacks: several currencies, several legs, and what follows a reversal.

alice (an agent who files requests) wants a large move to look small or to book
twice: legs in two currencies, legs that cancel on the receivable accounts, a
tiny leg in a currency priced high, a currency no price converts, credits
against an invoice in another currency or against one that bills several, and
every path back into an adjustment once its reversal was asked for, approved
or refused. A test whose docstring says "Hole:" failed on the code it was
written against (the fix is named in the commit that added it); the others
held and add coverage no earlier round had.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount_adjustments.core.models import State
from beancount_adjustments.reports.statement import statement
from ledgers import event, load, request

OTHER = "2026-01-01 open Assets:Receivable:Customers:Other\n"
"""A second account under the receivable root, for legs that cancel there."""

EUR = "2026-01-01 price EUR 1.10 USD\n"
BTC = "2026-01-01 price BTC 100000.00 USD\n"


def invoice(invoice_id: str, date: str, *legs: str, customer: str = "cust_456") -> str:
    """An invoice of `customer` whose receivable legs are `legs` (`"100.00 USD"`)."""
    lines = [f'{date} * "{customer}" "Invoice"', f'  invoice-id: "{invoice_id}"',
             f'  customer: "{customer}"']
    for leg in legs:
        number, currency = leg.split()
        lines.append(f"  Assets:Receivable:Customers  {number} {currency}")
        lines.append(f"  Income:Sales  {-Decimal(number)} {currency}")
    return "\n".join(lines) + "\n"


def credit(adj_id: str, date: str, *legs: str, invoice_id: str | None = None,
           by: str = "alice") -> str:
    """A refund of cust_456 with the postings `legs` (`"Income:Sales:Returns 10.00 USD"`)."""
    lines = [f'{date} ! "cust_456" "Refund" ^{adj_id}', '  adjustment-type: "credit:refund"',
             '  customer: "cust_456"', '  reason: "Refund"', f'  requested-by: "{by}"']
    if invoice_id is not None:
        lines.append(f'  invoice: "{invoice_id}"')
    lines += [f"  {leg}" for leg in legs]
    return "\n".join(lines) + "\n"


def approved(adj_id: str, date: str, *users: str) -> str:
    return "".join(event(adj_id, date, "approve", by=user) for user in users)


# -- invoices across currencies ---------------------------------------------------------


def test_a_credit_against_an_invoice_billing_two_currencies_is_capped() -> None:
    """Hole: an invoice that bills 100 USD and 10 EUR has no single amount, so the
    replay skipped both the currency check and the `exceeds-invoice` cap: a 5 000
    USD refund against it (manager and finance approving a refund "of the
    invoice") booked in full. A credit against an invoice that moves no single
    currency on the receivable cannot be capped by it: `invoice-currency`, and
    nothing is booked."""
    text = (invoice("INV-9", "2026-02-01", "100.00 USD", "10.00 EUR")
            + request("ADJ-1", "2026-03-01", "-5000.00", extra='invoice: "INV-9"')
            + approved("ADJ-1", "2026-03-02", "erin", "carol"))
    loaded = load(text)
    line = loaded.line("^ADJ-1")
    assert (line, "invoice-currency") in loaded.codes, loaded.errors
    assert loaded.adj("ADJ-1").applied_on is None
    assert loaded.tagged("adjustment", "ADJ-1") == []


def test_a_credit_against_an_invoice_that_bills_nothing_is_capped() -> None:
    """Hole: a transaction carrying `invoice-id:` that moves nothing on the receivable
    (a cash sale written with an invoice number) has no amount either, and a credit
    against it was capped by nothing: 5 000 USD "refunded" against a bill of 0."""
    text = ('2026-02-01 * "cust_456" "Cash sale"\n  invoice-id: "INV-8"\n'
            '  customer: "cust_456"\n  Assets:Bank  100.00 USD\n  Income:Sales  -100.00 USD\n'
            + request("ADJ-1", "2026-03-01", "-5000.00", extra='invoice: "INV-8"')
            + approved("ADJ-1", "2026-03-02", "erin", "carol"))
    loaded = load(text)
    assert (loaded.line("^ADJ-1"), "invoice-currency") in loaded.codes, loaded.errors
    assert loaded.tagged("adjustment", "ADJ-1") == []


def test_a_credit_in_another_currency_than_the_invoice_is_refused() -> None:
    """Held: a 90 EUR credit against a 100 USD invoice is `invoice-currency`."""
    text = (EUR + invoice("INV-1", "2026-02-01", "100.00 USD")
            + request("ADJ-1", "2026-03-01", "-90.00", currency="EUR",
                      extra='invoice: "INV-1"')
            + approved("ADJ-1", "2026-03-02", "erin"))
    loaded = load(text)
    assert (loaded.line("^ADJ-1"), "invoice-currency") in loaded.codes, loaded.errors
    assert loaded.tagged("adjustment", "ADJ-1") == []


def test_a_credit_priced_in_another_currency_counts_at_what_it_moves() -> None:
    """Held: a refund taking 10 USD off the receivable whose other leg is 1 000 EUR
    priced `@@ 10.00 USD` by the request itself moves 1 100 USD at the ledger's
    price: against a 100 USD invoice that is more than the invoice."""
    text = (EUR + invoice("INV-1", "2026-02-01", "100.00 USD")
            + credit("ADJ-1", "2026-03-01", "Income:Sales:Returns  1000.00 EUR @@ 10.00 USD",
                     "Assets:Receivable:Customers  -10.00 USD", invoice_id="INV-1")
            + approved("ADJ-1", "2026-03-02", "erin", "carol"))
    loaded = load(text)
    adj = loaded.adj("ADJ-1")
    assert adj.amount.number == Decimal("1100.0000")
    assert adj.chain == ("manager", "finance")
    assert any(code == "exceeds-invoice" for _, code in loaded.codes), loaded.errors
    assert loaded.tagged("adjustment", "ADJ-1") == []


def test_the_statement_leaves_to_credit_what_the_replay_allows() -> None:
    """Hole: the replay counts a credit against its invoice at what it moves (legs
    that cancel on the receivable accounts count), the statement's "credit left"
    at what it nets: after a 100 USD refund whose receivable legs net 10, the
    statement told the customer 90 USD was left to credit on a 100 USD invoice,
    and the replay refuses any credit at all. Both now ask one function."""
    text = (OTHER + invoice("INV-1", "2026-02-01", "100.00 USD")
            + credit("ADJ-1", "2026-03-01", "Assets:Receivable:Customers  -100.00 USD",
                     "Assets:Receivable:Customers:Other  90.00 USD",
                     "Income:Sales:Returns  10.00 USD", invoice_id="INV-1")
            + approved("ADJ-1", "2026-03-02", "erin"))
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.adj("ADJ-1").state == State.APPLIED
    st = statement(loaded.entries, loaded.book, "cust_456", datetime.date(2026, 1, 1),
                   datetime.date(2026, 3, 31))
    [line] = [ln for s in st.sections for ln in s.lines if ln.reference == "INV-1"]
    assert line.credit_left == 0
    more = load(text + request("ADJ-2", "2026-03-03", "-1.00", extra='invoice: "INV-1"'))
    assert any(code == "exceeds-invoice" for _, code in more.codes), more.errors
