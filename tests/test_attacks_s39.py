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
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import State
from beancount_adjustments.reports.risk import findings as risk_findings
from beancount_adjustments.reports.statement import statement
from ledgers import BACKDATING, BASE, event, load, request

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


# -- several currencies, several legs: what a request is judged at ------------------------


def test_a_tiny_leg_in_a_currency_priced_high_is_judged_at_its_price() -> None:
    """Held: 0.02 BTC off the receivable at 100 000 USD is 2 000 USD: manager and
    finance, and bob's 1 000 USD limit does not cover it; erin, without a limit,
    fills the manager level."""
    text = (BTC + credit("ADJ-1", "2026-03-01", "Income:Sales:Returns  0.02 BTC",
                         "Assets:Receivable:Customers  -0.02 BTC")
            + approved("ADJ-1", "2026-03-02", "bob"))
    loaded = load(text)
    adj = loaded.adj("ADJ-1")
    assert adj.chain == ("manager", "finance")
    assert adj.judged.number == Decimal("2000.0000")
    assert any(code == "over-limit" for _, code in loaded.codes), loaded.errors
    assert loaded.adj("ADJ-1").level == 0
    done = load(text.replace('by: "bob"', 'by: "erin"') + approved("ADJ-1", "2026-03-03", "carol"))
    assert done.errors == []
    assert done.balance("Assets:Receivable:Customers", "BTC") == Decimal("-0.02")


@pytest.mark.parametrize("currency", ["BTC", "USDT"])
def test_a_currency_no_price_converts_moves_nothing(currency: str) -> None:
    """Held: a credit in a currency no price converts into the thresholds' USD
    (`USDT` is not `USD`) is `missing-price` and books nothing, even under every
    threshold by its number."""
    text = (request("ADJ-1", "2026-03-01", "-0.01", currency=currency)
            + approved("ADJ-1", "2026-03-02", "erin", "carol", "dave"))
    loaded = load(text)
    assert (loaded.line("^ADJ-1"), "missing-price") in loaded.codes, loaded.errors
    assert loaded.balance("Assets:Receivable:Customers", currency) == 0


def test_legs_in_a_second_currency_that_cancel_still_count() -> None:
    """Held: 10 USD off the receivable, with 5 000 EUR on one receivable account and
    -5 000 EUR on another (nothing net in EUR, so no `mixed-currencies`), moves
    5 510 USD: the EUR legs count at the ledger's price, and without a price the
    request is `missing-price` and books nothing."""
    legs = ("Income:Sales:Returns  10.00 USD", "Assets:Receivable:Customers  -10.00 USD",
            "Assets:Receivable:Customers  5000.00 EUR",
            "Assets:Receivable:Customers:Other  -5000.00 EUR")
    text = OTHER + credit("ADJ-1", "2026-03-01", *legs)
    priced = load(EUR + text)
    assert priced.adj("ADJ-1").amount.number == Decimal("5510.0000")
    assert priced.adj("ADJ-1").chain == ("manager", "finance")
    unpriced = load(text + approved("ADJ-1", "2026-03-02", "erin", "carol"))
    assert any(code == "missing-price" for _, code in unpriced.codes), unpriced.errors
    assert unpriced.tagged("adjustment", "ADJ-1") == []


def test_the_requests_own_price_never_judges_it() -> None:
    """Held: a 2 000 EUR credit whose other leg is priced by the request itself at
    `@ 0.001 USD` is judged at the ledger's EUR price (2 200 USD), not at the 2 USD
    its own annotation says."""
    text = (EUR + credit("ADJ-1", "2026-03-01", "Income:Sales:Returns  2.00 USD",
                         "Assets:Receivable:Customers  -2000.00 EUR @ 0.001 USD"))
    loaded = load(text)
    adj = loaded.adj("ADJ-1")
    assert adj.chain == ("manager", "finance"), loaded.errors
    assert adj.judged.currency == "USD"
    assert adj.judged.number >= Decimal("2000")


# -- after a reversal --------------------------------------------------------------------

APPLIED = (request("ADJ-1", "2026-03-01", "-50.00")
           + approved("ADJ-1", "2026-03-02", "bob"))
"""ADJ-1: alice's 50 USD refund, booked on bob's approval; its reversal needs a manager."""
REVERSED = (APPLIED + event("ADJ-1", "2026-03-05", "cancel", by="carol", reason="Mistake")
            + approved("ADJ-1", "2026-03-06", "erin"))
"""ADJ-1 reversed: carol asked for it, erin approved it."""
REFUSED = (APPLIED + event("ADJ-1", "2026-03-05", "cancel", by="carol", reason="Mistake")
           + event("ADJ-1", "2026-03-06", "reject", by="erin", reason="It stands"))
"""ADJ-1's reversal refused: it stays applied."""

AFTER_REVERSED = [
    event("ADJ-1", "2026-03-07", "approve", by="dave"),
    event("ADJ-1", "2026-03-07", "approve", by="erin"),
    event("ADJ-1", "2026-03-07", "apply", by="bob"),
    event("ADJ-1", "2026-03-07", "cancel", by="alice", reason="Again"),
    event("ADJ-1", "2026-03-07", "reject", by="bob", reason="Undo the reversal"),
]


@pytest.mark.parametrize("decision", AFTER_REVERSED,
                         ids=["approve", "approve-again", "apply", "cancel", "reject"])
def test_a_reversed_adjustment_takes_no_decision(decision: str) -> None:
    """Held: once reversed, no approve, apply, cancel or reject moves it: each is an
    error at its line, one booked entry and one reversal stay, and the balance is
    back where it was."""
    loaded = load(REVERSED + decision)
    assert [line for line, _ in loaded.codes] == [loaded.line(decision.splitlines()[0])]
    assert loaded.adj("ADJ-1").state == State.REVERSED
    assert len(loaded.tagged("adjustment", "ADJ-1")) == 1
    assert len(loaded.tagged("adjustment-reversal", "ADJ-1")) == 1
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_a_refused_reversal_leaves_one_booking_and_a_second_needs_the_chain_again() -> None:
    """Held: a reversal refused leaves ADJ-1 applied (no reversal entry); apply and
    approve are refused there; a second cancel asks for a new reversal, which the
    approval given to the first cannot fill (its step was another), and neither the
    new canceller nor the requester approves it."""
    refused = load(REFUSED + event("ADJ-1", "2026-03-07", "apply", by="bob")
                   + event("ADJ-1", "2026-03-07", "approve", by="dave"))
    assert refused.adj("ADJ-1").state == State.APPLIED
    assert len(refused.codes) == 2, refused.errors
    assert refused.tagged("adjustment-reversal", "ADJ-1") == []
    assert len(refused.tagged("adjustment", "ADJ-1")) == 1
    again = REFUSED + event("ADJ-1", "2026-03-08", "cancel", by="bob", reason="Really")
    for by in ("bob", "alice"):
        loaded = load(again + approved("ADJ-1", "2026-03-09", by))
        assert loaded.adj("ADJ-1").state == State.REVERSING, by
        assert loaded.tagged("adjustment-reversal", "ADJ-1") == []
    done = load(again + approved("ADJ-1", "2026-03-09", "erin"))
    assert done.errors == []
    assert done.adj("ADJ-1").state == State.REVERSED
    assert len(done.tagged("adjustment-reversal", "ADJ-1")) == 1
    assert done.balance("Assets:Receivable:Customers") == 0


def test_a_second_request_under_a_reversed_id_books_nothing() -> None:
    """Held: filing ADJ-1 again once it was reversed is `duplicate-id`; its lookalike
    `ADJ-1_` is a request of its own (warned `lookalike-id`), and the decisions
    naming ADJ-1 stay ADJ-1's."""
    text = REVERSED + request("ADJ-1", "2026-03-07", "-50.00") + approved("ADJ-1", "2026-03-08",
                                                                          "bob")
    loaded = load(text)
    assert (loaded.line("^ADJ-1", 1), "duplicate-id") in loaded.codes, loaded.errors
    assert loaded.balance("Assets:Receivable:Customers") == 0
    assert len(loaded.tagged("adjustment", "ADJ-1")) == 1


def test_the_reversal_of_a_credit_frees_its_invoice_only_once_booked() -> None:
    """Held: a 100 USD credit against a 100 USD invoice, cancelled: while its reversal
    awaits approval (or once refused) nothing more is credited against the invoice;
    once booked, a second credit of 100 fits, and the statement says so too."""
    base = (invoice("INV-1", "2026-02-01", "100.00 USD")
            + request("ADJ-1", "2026-03-01", "-100.00", extra='invoice: "INV-1"')
            + approved("ADJ-1", "2026-03-02", "bob")
            + event("ADJ-1", "2026-03-05", "cancel", by="carol", reason="Mistake"))
    second = (request("ADJ-2", "2026-03-08", "-100.00", extra='invoice: "INV-1"')
              + approved("ADJ-2", "2026-03-09", "bob"))
    for waiting in ("", event("ADJ-1", "2026-03-06", "reject", by="erin", reason="No")):
        loaded = load(base + waiting + second)
        assert any(code == "exceeds-invoice" for _, code in loaded.codes), loaded.errors
        assert loaded.tagged("adjustment", "ADJ-2") == []
    booked = load(base + approved("ADJ-1", "2026-03-06", "erin") + second)
    assert booked.errors == []
    assert booked.adj("ADJ-2").state == State.APPLIED
    st = statement(booked.entries, booked.book, "cust_456", datetime.date(2026, 1, 1),
                   datetime.date(2026, 3, 31))
    [line] = [ln for s in st.sections for ln in s.lines if ln.reference == "INV-1"]
    assert line.credit_left == 0


def test_a_credit_held_at_cost_reverses_exactly() -> None:
    """Held: a credit of 0.02 BTC held at cost (`{100000.00 USD}`) is booked and
    reversed with its cost, and the ledger balances to nothing in both."""
    text = (BTC + credit("ADJ-1", "2026-03-01", "Income:Sales:Returns  2000.00 USD",
                         "Assets:Receivable:Customers  -0.02 BTC {100000.00 USD}")
            + approved("ADJ-1", "2026-03-02", "erin", "carol")
            + event("ADJ-1", "2026-03-05", "cancel", by="alice", reason="Mistake")
            + approved("ADJ-1", "2026-03-06", "bob", "dave"))
    loaded = load(text)
    assert loaded.adj("ADJ-1").chain == ("manager", "finance")
    assert loaded.adj("ADJ-1").state == State.REVERSING, loaded.errors   # bob's limit
    done = load(text + approved("ADJ-1", "2026-03-07", "erin", "carol"))
    assert done.adj("ADJ-1").state == State.REVERSED, done.errors
    assert done.balance("Assets:Receivable:Customers", "BTC") == 0
    assert done.balance("Income:Sales:Returns") == 0


@pytest.mark.parametrize("args", [["approve", "--as", "erin", "ADJ-1"],
                                  ["approve", "--as", "dave", "ADJ-1"],
                                  ["apply", "--as", "bob", "ADJ-1"],
                                  ["cancel", "--as", "alice", "--reason", "Again", "ADJ-1"],
                                  ["reject", "--as", "bob", "--reason", "Undo", "ADJ-1"],
                                  ["approve", "--as", "erin", "--all-pending"]])
def test_the_cli_writes_no_decision_on_a_reversed_adjustment(tmp_path: Path,
                                                             args: list[str]) -> None:
    """Held: on a reversed adjustment every decision the CLI is asked for is refused in
    one line, exit 1, the file untouched (`--all-pending` finds nothing to approve);
    `show --json` and `list` say reversed."""
    ledger = tmp_path / "main.beancount"
    ledger.write_text(BASE + BACKDATING + "\n" + REVERSED)
    before = ledger.read_bytes()
    result = CliRunner().invoke(main, [args[0], "-f", str(ledger), *args[1:]],
                                catch_exceptions=False)
    assert result.exit_code == (0 if "--all-pending" in args else 1), result.output
    assert "Traceback" not in result.output
    assert ledger.read_bytes() == before
    shown = CliRunner().invoke(main, ["show", "-f", str(ledger), "--json", "ADJ-1"],
                               catch_exceptions=False)
    assert json.loads(shown.output)["state"] == "reversed"
    listed = CliRunner().invoke(main, ["list", "-f", str(ledger)], catch_exceptions=False)
    [row] = [ln for ln in listed.output.splitlines() if "ADJ-1" in ln]
    assert "reversed" in row


def test_a_period_alert_counts_credits_in_another_currency_at_the_ledgers_price() -> None:
    """Hole: a customer alert of 2 000 USD a month counted only USD adjustments, so
    five 900 EUR credits (4 950 USD at the ledger's price, each approved by a
    manager) raised no alert: filing in euros made a month of credits look like
    none. Each adjustment now counts converted at its request date by the ledger's
    prices, as the thresholds convert it; one no price converts is not counted."""
    alert = '2026-01-01 custom "adjustment-alert" "customer" 2000.00 USD\n  period: "month"\n'
    text = EUR + alert + "".join(
        request(f"ADJ-{n}", f"2026-03-0{n}", "-900.00", currency="EUR") for n in range(1, 6))
    loaded = load(text)
    assert loaded.errors == []
    found = [f for f in risk_findings(loaded.book) if f.check == "alert:customer"]
    assert [f.ids for f in found] == [("ADJ-1", "ADJ-2", "ADJ-3", "ADJ-4", "ADJ-5")]
    assert "4950" in found[0].message
