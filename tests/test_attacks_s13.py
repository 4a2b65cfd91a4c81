"""Attacks, round 13: do the reports reconcile with what the ledger booked?

The reference is what Beancount booked: the entries the plugin produced with
`#adjustment` (applied) or `#adjustment-reversal`, their postings on the
receivable accounts, per customer, currency and period. Every report that
speaks of money moved (the impact report, Fava's impact, the customer
statement, the export's adjustment records) must add up to that, and every
adjustment that moved money in a period must have its evidence row in that
period's compliance report and its booking in the audit trail.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beancount_adjustments import reports
from beancount_adjustments.beans.effects import TAG_APPLIED, TAG_REVERSAL
from beancount_adjustments.cli import main
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.book import Book
from beancount_adjustments.fava_ext import report_data
from beancount_adjustments.fava_ext.index import DateRange
from beancount_adjustments.reports import Scope
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.reports.statement import statement
from ledgers import INTERNAL, NAMED, Loaded, event, load, request

Key = tuple[str, str]
"""(customer, currency)."""

CUSTOMERS = ("cust_123", "cust_456")
PERIODS = tuple(
    (datetime.date(2026, month, 1),
     datetime.date(2026 + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1))
    for month in range(1, 13))
"""The months of 2026, first and last day."""
QUARTERS = ((datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)),
            (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30)),
            (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30)),
            (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31)))


# -- what Beancount booked ----------------------------------------------------------


def booked(entries: Iterable[data.Directive], book: Book, start: datetime.date,
           end: datetime.date) -> dict[str, dict[Key, Decimal]]:
    """Per adjustment id, what its generated entries dated in [start, end] moved on the
    receivable accounts, per (customer, currency): the ledger's own answer."""
    out: dict[str, dict[Key, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entry in entries:
        if not isinstance(entry, data.Transaction) or not (
                entry.tags and {TAG_APPLIED, TAG_REVERSAL} & entry.tags):
            continue
        if not start <= entry.date <= end:
            continue
        adj_id, customer = entry.meta["adjustment-id"], entry.meta["customer"]
        for posting in entry.postings:
            if is_under(posting.account, book.settings.receivable) and posting.units:
                number = posting.units.number
                assert isinstance(number, Decimal)
                out[adj_id][(customer, posting.units.currency)] += number
    return {i: {k: n for k, n in moved.items() if n} for i, moved in out.items()
            if any(moved.values())}


def totals(by_id: dict[str, dict[Key, Decimal]], customer: str | None = None) -> dict[
        str, Decimal]:
    """Per currency, for one customer or all."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for moved in by_id.values():
        for (who, currency), number in moved.items():
            if customer is None or who == customer:
                out[currency] += number
    return {c: n for c, n in out.items() if n}


def nonzero(values: dict[str, Decimal]) -> dict[str, Decimal]:
    return {c: n for c, n in values.items() if n}


# -- what the reports say -----------------------------------------------------------


def impact_receivables(book: Book, scope: Scope) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for row in reports.impact(book, scope):
        if row.group == "receivable":
            out[row.currency] += row.net
    return nonzero(out)


def fava_receivables(book: Book, start: datetime.date, end: datetime.date) -> dict[
        str, Decimal]:
    impact = report_data.impact(book, DateRange(start, end + datetime.timedelta(days=1)))
    return nonzero({c: row.receivables for c, row in impact.totals.items()})


def statement_adjustments(loaded: Loaded, customer: str, start: datetime.date,
                          end: datetime.date) -> dict[str, Decimal]:
    assert loaded.book is not None
    out: dict[str, Decimal] = defaultdict(Decimal)
    for section in statement(loaded.entries, loaded.book, customer, start, end).sections:
        for line in section.lines:
            if line.kind in ("adjustment", "reversal", "account-adjustment"):
                out[section.currency] += line.amount
    return nonzero(out)


def export_moved(book: Book, start: datetime.date, end: datetime.date,
                 customer: str | None = None) -> dict[str, Decimal]:
    """What the export's adjustment records say moved in the period: the net on the
    effect date, its negation on the reversal date (of a reversed adjustment)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for record in exporting.adjustment_records(book):
        if customer is not None and record["customer"] != customer:
            continue
        if record["applied_on"] is None or record["net"] is None:
            continue
        if start <= record["effective_date"] <= end:
            out[record["currency"]] += record["net"]
        if (record["state"] == "reversed" and record["reversed_on"] is not None
                and start <= record["reversed_on"] <= end):
            out[record["currency"]] -= record["net"]
    return nonzero(out)


def reconcile(loaded: Loaded) -> None:
    """Every report that speaks of money moved agrees with what was booked, for
    every month and quarter of 2026, per customer and in all."""
    book = loaded.book
    assert book is not None
    for start, end in PERIODS + QUARTERS:
        moved = booked(loaded.entries, book, start, end)
        where = f"{start}..{end}"
        assert impact_receivables(book, Scope(start=start, end=end)) == totals(moved), where
        assert fava_receivables(book, start, end) == totals(moved), where
        assert export_moved(book, start, end) == totals(moved), where
        for customer in CUSTOMERS:
            mine = totals(moved, customer)
            scoped = Scope(start=start, end=end, customer=customer)
            assert impact_receivables(book, scoped) == mine, (where, customer)
            assert statement_adjustments(loaded, customer, start, end) == mine, (
                where, customer)
            assert export_moved(book, start, end, customer) == mine, (where, customer)
        listed = {row.id for row in reports.compliance(book, Scope(start=start, end=end),
                                                      today=end)}
        assert set(moved) <= listed, (where, set(moved) - listed)


# -- a hand-made ledger with every kind of movement ----------------------------------

_INVOICE = """
2026-03-01 * "cust_456" "Invoice"
  invoice-id: "INV-9"
  customer: "cust_456"
  Assets:Receivable:Customers  400.00 USD
  Income:Sales  -400.00 USD
"""

_MIXED = (
    # automatic: below every threshold of credit:*, booked on its request date
    request("ADJ-1", "2026-01-10", "-10.00")
    # one level, booked on the approval date (February)
    + request("ADJ-2", "2026-01-20", "-100.00", customer="cust_123")
    + event("ADJ-2", "2026-02-03", "approve", "bob")
    # two levels, then reversed in April with a chain of its own
    + request("ADJ-3", "2026-02-10", "-1500.00")
    + event("ADJ-3", "2026-02-11", "approve", "erin")
    + event("ADJ-3", "2026-02-12", "approve", "carol")
    + event("ADJ-3", "2026-04-01", "cancel", "alice", reason="Wrong customer")
    + event("ADJ-3", "2026-04-02", "approve", "erin")
    + event("ADJ-3", "2026-04-03", "approve", "carol")
    # a debit below the debit row: automatic, positive on the receivable
    + request("ADJ-4", "2026-03-05", "30.00", type="debit:fee", account="Income:Fees")
    # a billing adjustment with a separate apply, effective in May
    + request("ADJ-5", "2026-03-10", "-40.00", type="billing:tax", account="Liabilities:Tax",
              extra='invoice: "INV-9"')
    + event("ADJ-5", "2026-03-11", "approve", "bob")
    + event("ADJ-5", "2026-06-02", "apply", "carol", effective="2026-05-31")
    # rejected: never moves
    + request("ADJ-6", "2026-03-15", "-200.00", customer="cust_123")
    + event("ADJ-6", "2026-03-16", "reject", "bob", reason="No")
    # pending: never moves
    + request("ADJ-7", "2026-03-20", "-300.00")
    # applied, its reversal pending (reversing): stays booked
    + request("ADJ-8", "2026-04-10", "-60.00", customer="cust_123")
    + event("ADJ-8", "2026-04-11", "approve", "erin")
    + event("ADJ-8", "2026-05-01", "cancel", "alice", reason="Duplicate")
    # another currency, automatic (no threshold row in EUR converts it: a price does)
    + request("ADJ-9", "2026-05-05", "-5.00", currency="EUR", customer="cust_123")
    # a stale approval: approved for -50, the request now says -70
    + request("ADJ-10", "2026-06-10", "-70.00")
    + event("ADJ-10", "2026-06-11", "approve", "bob", digest="v2-0000")
    # applied, reversed at once (a chain-free amount)
    + request("ADJ-11", "2026-07-01", "-20.00", customer="cust_123")
    + event("ADJ-11", "2026-08-01", "cancel", "alice", reason="Goodwill withdrawn")
    # a debit with an effective date in an earlier month than its approval
    + request("ADJ-12", "2026-09-01", "80.00", type="debit:correction", account="Income:Sales")
    + event("ADJ-12", "2026-10-02", "approve", "bob", effective="2026-09-30")
    + "2026-01-01 price EUR 1.10 USD\n"
    + _INVOICE
)


def _mixed() -> Loaded:
    loaded = load(_MIXED)
    assert loaded.book is not None
    return loaded


def test_the_mixed_ledger_is_what_it_says() -> None:
    loaded = _mixed()
    states = {i: loaded.state(i) for i in sorted(loaded.book.adjustments)}  # type: ignore[union-attr]
    assert states == {
        "ADJ-1": "applied", "ADJ-2": "applied", "ADJ-3": "reversed", "ADJ-4": "applied",
        "ADJ-5": "applied", "ADJ-6": "rejected", "ADJ-7": "pending", "ADJ-8": "reversing",
        "ADJ-9": "applied", "ADJ-10": "pending", "ADJ-11": "reversed", "ADJ-12": "applied"}


def test_the_reports_reconcile_with_the_mixed_ledger() -> None:
    reconcile(_mixed())


# -- generated ledgers ---------------------------------------------------------------

_TYPES = (("credit:refund", "Income:Sales:Returns", -1),
          ("credit:goodwill", "Expenses:Goodwill", -1),
          ("credit:promotional", "Expenses:Promotions", -1), ("debit:fee", "Income:Fees", 1),
          ("debit:correction", "Income:Sales", 1), ("billing:tax", "Liabilities:Tax", -1))
_AMOUNTS = ("5.00", "20.00", "24.99", "25.00", "49.99", "60.00", "400.00", "1000.00",
            "1500.00")
_USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
_ACTIONS = ("approve", "approve", "approve", "reject", "cancel", "apply")
days = st.dates(min_value=datetime.date(2026, 1, 1), max_value=datetime.date(2026, 12, 31))


@st.composite
def request_texts(draw: st.DrawFn, adj_id: str, day: datetime.date) -> str:
    adj_type, account, sign = draw(st.sampled_from(_TYPES))
    number = Decimal(draw(st.sampled_from(_AMOUNTS))) * sign * draw(
        st.sampled_from((1, 1, 1, 1, -1)))
    extra = ""
    if adj_type.startswith("billing"):
        extra += 'invoice: "INV-9"\n'
    if draw(st.booleans()):
        extra += f"effective: {draw(days)}\n"
    return request(adj_id, str(day), str(number), type=adj_type, account=account,
                   customer=draw(st.sampled_from(CUSTOMERS)),
                   currency=draw(st.sampled_from(("USD", "USD", "EUR"))),
                   by=draw(st.sampled_from(("alice", "frank", "bob"))), extra=extra)


@st.composite
def event_texts(draw: st.DrawFn, dated: dict[str, datetime.date]) -> str:
    """A decision on one of the requests, mostly on or after its date."""
    adj_id = draw(st.sampled_from(sorted(dated)))
    day = dated[adj_id] + datetime.timedelta(days=draw(st.integers(-2, 120)))
    action = draw(st.sampled_from(_ACTIONS))
    meta: dict[str, str] = {}
    if action in ("reject", "cancel"):
        meta["reason"] = "Because"
    if action in ("approve", "apply") and draw(st.sampled_from((False, False, True))):
        meta["effective"] = str(draw(days))
    if action == "approve" and draw(st.sampled_from((False, False, False, True))):
        meta["digest"] = "v2-0000"  # given to other content: stale
    return event(adj_id, str(day), action,
                 draw(st.sampled_from(_USERS)), **meta)


@st.composite
def ledgers(draw: st.DrawFn) -> str:
    first = datetime.date(2026, 1, 1)
    dated = {f"ADJ-{n}": first + datetime.timedelta(days=draw(st.integers(0, 240)))
             for n in range(1, draw(st.integers(1, 6)) + 1)}
    parts = [draw(request_texts(i, day)) for i, day in dated.items()]
    parts += draw(st.lists(event_texts(dated), max_size=14))
    if draw(st.booleans()):
        parts.append("2026-01-01 price EUR 1.10 USD\n")
    if draw(st.sampled_from((False, False, True))):
        parts.append(f'{draw(days)} custom "adjustment-lock" {draw(days)}\n')
    return "".join(parts) + _INVOICE


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ledgers())
def test_the_reports_reconcile_with_what_was_booked(text: str) -> None:
    loaded = load(text)
    assert not [e for e in loaded.errors if INTERNAL in str(e.message)]
    reconcile(loaded)
    assert loaded.book is not None
    decided_on_the_day_booked(loaded.book)


# -- trends: what is applied now ------------------------------------------------------


def _applied_now(book: Book) -> dict[tuple[str, str], Decimal]:
    """Per (request month, currency), the amounts of the adjustments whose booking
    stands (applied, or reversing: the reversal has not been booked)."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for adj in book.adjustments.values():
        if adj.amount is not None and adj.state.value in ("applied", "reversing"):
            out[(f"{adj.request.date:%Y-%m}", adj.amount.currency)] += adj.amount.number
    return dict(out)


def test_trends_count_as_applied_what_is_booked_now_in_the_cli_and_in_fava() -> None:
    """Hole: `report trends` counted as applied only state `applied`, so a credit whose
    reversal awaits approval (still booked: money moved and not given back) was
    missing; Fava's trends counted every adjustment ever applied, reversed ones too.
    The same ledger's "applied" read 260 USD in the CLI's chart and 1840 USD in Fava's.
    Both count `Adjustment.in_force` now."""
    loaded = _mixed()
    book = loaded.book
    assert book is not None
    expected = _applied_now(book)
    assert expected[("2026-04", "USD")] == Decimal("60.00")  # ADJ-8, reversing
    assert ("2026-02", "USD") not in expected  # ADJ-3, reversed
    cli: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in reports.trends(book, Scope()):
        if row.applied:
            cli[(row.month, row.currency)] += row.applied_amount
    assert dict(cli) == expected
    fava = report_data.trends(book)
    assert {(month, currency): column[i] for currency, column in fava.applied.items()
            for i, month in enumerate(fava.months) if column[i]} == expected


# -- the audit trail: how money moved without an approver ----------------------------


def test_an_automatic_approval_is_on_the_audit_trail() -> None:
    """Hole: a request below every threshold is approved by the policy as it arrives
    and books at once; the audit trail showed its arrival and nothing else, so money
    moved with no decision on record. Its arrival is followed by a row `approved
    automatically` (no `who`, the policy as `why`); a request that needs an approver
    has none, nor has an invalid one."""
    loaded = _mixed()
    book = loaded.book
    assert book is not None
    trail = reports.audit(book, Scope())
    automatic = [(r.adjustment_id, r.date, r.who, r.accepted) for r in trail
                 if r.action.startswith("approved automatically")]
    assert automatic == [("ADJ-1", datetime.date(2026, 1, 10), "", True),
                         ("ADJ-4", datetime.date(2026, 3, 5), "", True),
                         ("ADJ-9", datetime.date(2026, 5, 5), "", True),
                         ("ADJ-11", datetime.date(2026, 7, 1), "", True)]
    arrival = next(i for i, r in enumerate(trail) if r.adjustment_id == "ADJ-1")
    assert trail[arrival].action == "request credit:refund"
    assert trail[arrival + 1].action == "approved automatically"
    assert trail[arrival + 1].why == ("automatic: 10.00 USD is below the first threshold of "
                                      "credit:* from 25.00 USD: manager")
    assert not [r for r in trail if r.adjustment_id in ("ADJ-2", "ADJ-7")
                and r.action.startswith("approved automatically")]
    decided_on_the_day_booked(book)


def decided_on_the_day_booked(book: Book) -> None:
    """Every adjustment that booked anything has, in the audit trail, an accepted
    decision of the day it was applied (an approval, an apply, or the policy's own)."""
    trail = reports.audit(book, Scope())
    for adj in book.adjustments.values():
        if adj.applied_on is None:
            continue
        decisions = {r.date for r in trail if r.adjustment_id == adj.id and r.accepted
                     and not r.action.startswith("request")}
        assert adj.applied_on in decisions, adj.id


def test_the_automatic_row_says_its_effective_date_and_its_policy() -> None:
    text = (request("ADJ-1", "2026-03-02", "-50.00", type="credit:promotional",
                    account="Expenses:Promotions", extra="effective: 2026-03-31")
            + request("ADJ-2", "2026-03-03", "-500.00"))
    loaded = load(text)
    assert loaded.book is not None
    assert loaded.errors == []
    trail = reports.audit(loaded.book, Scope())
    row = next(r for r in trail if r.action.startswith("approved automatically"))
    assert (row.adjustment_id, row.action) == (
        "ADJ-1", "approved automatically (effective 2026-03-31)")
    assert row.why.startswith("credit:promotional")
    assert row.source == trail[0].source  # the request's own line
    assert [r.adjustment_id for r in trail] == ["ADJ-1", "ADJ-1", "ADJ-2"]
    text_csv = reports.report_text("audit", loaded.book, Scope(), "csv")
    assert "approved automatically (effective 2026-03-31)" in text_csv


# -- a report filtered on a customer names the customer it reports on ----------------


def _report(path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args, "-f", str(path), "--format", "json"])


def test_a_report_filtered_by_a_customers_name_reports_that_customer(tmp_path: Path) -> None:
    """Hole: `bean-adjust report impact --customer "Acme Corp"` compared the name with
    the requests' customer ids and printed an empty report: read as "nothing booked
    for Acme Corp" while 80 USD was. `list` and `statement` take a name; the report
    takes it too, and a customer the ledger names nowhere (a typo) is refused, never
    an empty report."""
    path = tmp_path / "main.beancount"
    path.write_text(NAMED + "\n" + request("ADJ-1", "2026-02-01", "-80.00", customer="cust_1")
                    + event("ADJ-1", "2026-02-02", "approve", "bob"))
    by_name = _report(path, "impact", "--customer", "Acme Corp")
    assert by_name.exit_code == 0, by_name.output
    rows = json.loads(by_name.output)
    assert {(r["account"], r["net"]) for r in rows if r["group"] == "receivable"} == {
        ("Assets:Receivable:Customers", "-80.00")}
    assert by_name.output == _report(path, "impact", "--customer", "cust_1").output
    compliance = json.loads(_report(path, "compliance", "--customer", "acme corp").output)
    assert [r["id"] for r in compliance] == ["ADJ-1"]
    typo = _report(path, "impact", "--customer", "cust_l")
    assert typo.exit_code == 1
    assert "customer 'cust_l' is not known" in typo.output
    assert "Traceback" not in typo.output
    twins = _report(path, "audit", "--customer", "Twin Ltd")
    assert twins.exit_code == 1
    assert "ambiguous" in twins.output
