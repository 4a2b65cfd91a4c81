"""One home per report (issue 13): `reports.tables` counts, the CLI renders its rows,
Fava's reports page groups and charts the same rows and its CSV downloads are the
CLI's `--format csv` bytes. Where the two copies disagreed, the tests below say which
reading stands: what a booking and a reversal are, which date each counts on, which
group each account is in, and one line ending for every CSV.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments import reports
from beancount_adjustments.cli import main
from beancount_adjustments.fava_ext import report_data
from beancount_adjustments.fava_ext.index import DateRange
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.reports.statement import render, statement
from ledgers import DEMO, event, load, load_file, request

Q1 = DateRange(datetime.date(2026, 1, 1), datetime.date(2026, 4, 1))
SCOPE = reports.Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 31))


@pytest.fixture(scope="module")
def demo() -> Any:
    book = load_file(DEMO).book
    assert book is not None
    return book


@pytest.fixture(scope="module")
def fava_client() -> Any:
    from fava.application import create_app

    app = create_app([str(DEMO)], load=True)
    app.testing = True
    return app.test_client()


def _base(client: Any) -> str:
    slug = re.search(r"/([^/]+)/", client.get("/").headers.get("Location", ""))
    assert slug
    return f"/{slug.group(1)}/extension/AdjustmentsExtension/"


# -- the CLI and Fava agree on the demo ledger ------------------------------------------


def test_favas_range_is_the_clis_period() -> None:
    assert report_data.scope_of(Q1) == SCOPE
    assert report_data.scope_of(None) == reports.Scope()


def test_favas_summary_is_the_sum_of_the_clis_rows(demo: Any) -> None:
    rows = reports.summary(demo, SCOPE)
    page = report_data.summary(demo, Q1)
    assert set(page.dimensions) == {r.dimension for r in rows} == {
        "type", "category", "state", "month"}
    for dimension, groups in page.dimensions.items():
        mine = [r for r in rows if r.dimension == dimension]
        assert {g.key: g.count for g in groups} == {
            k: sum(r.count for r in mine if r.key == k) for k in {r.key for r in mine}}
        assert {g.key: g.amounts for g in groups} == {
            k: {r.currency: r.amount for r in mine if r.key == k and r.currency}
            for k in {r.key for r in mine}}
    assert page.count == sum(r.count for r in rows if r.dimension == "state") == 163


def test_favas_trends_are_the_sum_of_the_clis_rows(demo: Any) -> None:
    rows = reports.trends(demo, SCOPE)
    page = report_data.trends(demo, Q1)
    assert page.months == ["2026-01", "2026-02", "2026-03"]
    for i, month in enumerate(page.months):
        mine = [r for r in rows if r.month == month]
        for kind, counts in page.by_kind.items():
            assert counts[i] == sum(r.requested for r in mine if r.kind == kind)
        for currency, column in page.requested.items():
            assert column[i] == sum(r.requested_amount for r in mine if r.currency == currency)
            assert page.applied[currency][i] == sum(
                r.applied_amount for r in mine if r.currency == currency)
        decided = sum(r.decided for r in mine)
        assert page.decided[i] == decided > 0
        assert page.approval_rate[i] == (
            Decimal(100 * sum(r.approved for r in mine)) / decided).quantize(Decimal("0.1"))
        assert page.days_to_decision[i] == (
            Decimal(sum(r.decision_days for r in mine)) / decided).quantize(Decimal("0.1"))


def test_favas_impact_is_the_sum_of_the_clis_rows(demo: Any) -> None:
    rows = reports.effects(demo, SCOPE)
    page = report_data.impact(demo, Q1)
    fields = ("applied_count", "reversed_count", "revenue", "receivables", "expenses", "other")
    for currency, total in page.totals.items():
        mine = [r for r in rows if r.currency == currency]
        assert [getattr(total, f) for f in fields] == [
            sum(getattr(r, f) for r in mine) for f in fields]
        for month, row in page.by_month[currency].items():
            assert row.receivables == sum(r.receivables for r in mine if r.month == month)
            assert row.revenue == sum(r.revenue for r in mine if r.month == month)
    # ... and the per-account report is the same bookings summed another way.
    by_group: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in reports.impact(demo, SCOPE):
        by_group[(r.group, r.currency)] += r.net
    for currency, total in page.totals.items():
        assert total.receivables == by_group[("receivable", currency)]
        assert total.revenue == -by_group[("income", currency)]
        assert total.expenses == by_group[("expenses", currency)]
        assert total.other == by_group[("other", currency)]
    assert set(page.totals) == {"EUR", "USD"}


@pytest.mark.parametrize("name", ["summary", "trends", "impact", "effects", "compliance"])
def test_each_fava_download_is_the_clis_csv_byte_for_byte(fava_client: Any, name: str) -> None:
    download = fava_client.get(_base(fava_client) + f"export?report={name}&time=2026-Q1")
    assert download.status_code == 200
    cli = CliRunner().invoke(main, ["report", name, "-f", str(DEMO), "--from", "2026-01-01",
                                    "--to", "2026-03-31", "--format", "csv"])
    assert cli.exit_code == 0, cli.output
    assert download.get_data() == cli.stdout_bytes
    assert cli.stdout_bytes.count(b"\r\n") == cli.stdout_bytes.count(b"\n") > 2


# -- where the two copies disagreed -----------------------------------------------------


def test_trend_rows_carry_the_decisions() -> None:
    """Fava's page counted decisions, days to decision and the approval rate; the CLI's
    rows had none. A reversal asked (`reversing`) or booked undoes the booking, not the
    approval: both are approved decisions; a rejection and a withdrawal are decisions
    not approved; a pending request is none."""
    body = (request("ADJ-1", "2026-03-02", "-400.00")
            + event("ADJ-1", "2026-03-04", "approve", "bob")
            + event("ADJ-1", "2026-03-06", "cancel", "carol", reason="Asked back")
            + request("ADJ-2", "2026-03-02", "-300.00")
            + event("ADJ-2", "2026-03-05", "reject", "bob", reason="No")
            + request("ADJ-3", "2026-03-03", "-200.00")
            + event("ADJ-3", "2026-03-04", "cancel", "alice", reason="Filed twice")
            + request("ADJ-4", "2026-03-03", "-100.00"))
    book = load(body).book
    assert {a.id: str(a.state) for a in book.adjustments.values()} == {
        "ADJ-1": "reversing", "ADJ-2": "rejected", "ADJ-3": "withdrawn", "ADJ-4": "pending"}
    (row,) = reports.trends(book, reports.Scope())
    assert (row.requested, row.applied, row.decided, row.approved, row.decision_days) == (
        4, 1, 3, 1, 2 + 3 + 1)
    text = reports.report_text("trends", book, reports.Scope(), "table")
    assert "decided  approved  decision_days" in text


def _booked_story() -> str:
    """ADJ-1 filed on 20 February, approved on 5 March effective 28 February; ADJ-2
    booked in March, its reversal asked and waiting; ADJ-3 booked in March and
    reversed on 2 April."""
    return (request("ADJ-1", "2026-02-20", "-100.00")
            + event("ADJ-1", "2026-03-05", "approve", "bob", effective="2026-02-28")
            + request("ADJ-2", "2026-03-02", "-200.00")
            + event("ADJ-2", "2026-03-02", "approve", "bob")
            + event("ADJ-2", "2026-03-03", "cancel", "carol", reason="Asked back")
            + request("ADJ-3", "2026-03-02", "-300.00")
            + event("ADJ-3", "2026-03-02", "approve", "bob")
            + event("ADJ-3", "2026-03-20", "cancel", "carol", reason="Asked back")
            + event("ADJ-3", "2026-04-02", "approve", "erin"))


def _month(month: int) -> reports.Scope:
    first = datetime.date(2026, month, 1)
    return reports.Scope(start=first, end=datetime.date(2026, month + 1, 1)
                         - datetime.timedelta(days=1))


def test_a_booking_counts_on_its_effect_date_and_a_reversal_on_the_day_it_is_booked() -> None:
    """What moved money when, the one answer of `bookings`: an effect on its effect date
    (not the approval's), a reversal on the day it was booked, and a reversal still
    awaiting approval is no reversal (the money is still out)."""
    book = load(_booked_story()).book
    assert [(b.date, b.adjustment.id, b.reversal) for b in reports.bookings(
        book, reports.Scope())] == [
        (datetime.date(2026, 2, 28), "ADJ-1", False),
        (datetime.date(2026, 3, 2), "ADJ-2", False),
        (datetime.date(2026, 3, 2), "ADJ-3", False),
        (datetime.date(2026, 4, 2), "ADJ-3", True)]
    receivable = "Assets:Receivable:Customers"

    def on_receivable(month: int) -> tuple[Decimal, Decimal]:
        (row,) = [r for r in reports.impact(book, _month(month)) if r.account == receivable]
        return row.applied, row.reversed

    assert on_receivable(2) == (Decimal("-100.00"), 0)
    assert on_receivable(3) == (Decimal("-500.00"), 0)
    assert on_receivable(4) == (0, Decimal("300.00"))
    effects = reports.effects(book, reports.Scope())
    assert [(r.month, r.applied_count, r.reversed_count, r.receivables) for r in effects] == [
        ("2026-02", 1, 0, Decimal("-100.00")), ("2026-03", 2, 0, Decimal("-500.00")),
        ("2026-04", 0, 1, Decimal("300.00"))]
    page = report_data.impact(book, DateRange(datetime.date(2026, 3, 1),
                                              datetime.date(2026, 4, 1)))
    assert (page.totals["USD"].applied_count, page.totals["USD"].reversed_count) == (2, 0)


TAXED = """
2026-02-02 ! "cust_456" "Goodwill, with its tax" ^ADJ-9
  adjustment-type: "credit:goodwill"
  customer: "cust_456"
  reason: "Late delivery"
  requested-by: "alice"
  Expenses:Goodwill             20.00 USD
  Liabilities:Tax                4.00 USD
  Assets:Receivable:Customers  -24.00 USD
"""


def test_every_account_is_in_one_group_and_an_effects_row_balances() -> None:
    """Fava's impact counted Income, Expenses and the receivable and dropped every other
    account (a tax liability, a clearing account), so its columns did not add up; the
    CLI's impact called an Expenses account `other`. One grouping now (`account_group`):
    receivable, income, expenses, other; and receivables + expenses + other = revenue."""
    book = load(TAXED).book
    assert book.get("ADJ-9").state.value == "applied"
    groups = {r.account: r.group for r in reports.impact(book, reports.Scope())}
    assert groups == {"Assets:Receivable:Customers": "receivable",
                      "Expenses:Goodwill": "expenses", "Liabilities:Tax": "other"}
    (row,) = reports.effects(book, reports.Scope())
    assert (row.receivables, row.revenue, row.expenses, row.other) == (
        Decimal("-24.00"), 0, Decimal("20.00"), Decimal("4.00"))
    assert row.receivables + row.expenses + row.other == row.revenue


def test_every_csv_the_product_writes_ends_its_lines_with_crlf(demo: Any) -> None:
    """The reports and the export wrote LF, Fava's downloads CRLF: one writer now,
    `csv_cells.csv_text`, with RFC 4180's CRLF (the `csv` module's default)."""
    texts = [reports.report_text("summary", demo, SCOPE, "csv"),
             exporting.export(demo, "csv", "adjustments"),
             exporting.export(demo, "csv", "events")]
    loaded = load_file(DEMO)
    texts.append(render(statement(loaded.entries, demo, "cust_1003", datetime.date(2026, 11, 1),
                                  datetime.date(2026, 11, 30)), "csv"))
    for text in texts:
        assert text.count("\n") > 2
        assert text.count("\r\n") == text.count("\n")
