"""The Fava reports page's view of the report tables: `reports.tables` rows (summary,
trends, effects) and `reports.compliance`, for the period of Fava's time filter
(`scope_of`), grouped, ordered and charted for display. Nothing here counts: every
figure on the page is a sum of rows `bean-adjust report` prints for the same
period, and the page's CSV downloads are that command's `--format csv` bytes
(`downloads.export`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup

from beancount_adjustments import reports
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import namesakes
from beancount_adjustments.fava_ext.index import DateRange
from beancount_adjustments.fava_ext.labels import fmt_number, label_of
from beancount_adjustments.fava_ext.queue import QueueView
from beancount_adjustments.reports import charts
from beancount_adjustments.reports.series import TrendSeries, trend_series
from beancount_adjustments.reports.tables import EffectRow, SummaryRow

Cell = str | int | Decimal | datetime.date | None
Table = tuple[list[str], list[list[Cell]]]

REPORTS = ("summary", "trends", "impact", "effects", "compliance")
"""The reports the page downloads as CSV (each `bean-adjust report NAME --format csv`)."""


def scope_of(date_range: DateRange | None) -> reports.Scope:
    """Fava's time filter (half-open) as a report's period (inclusive)."""
    if date_range is None:
        return reports.Scope()
    return reports.Scope(start=date_range.begin,
                         end=date_range.end - datetime.timedelta(days=1))


# -- summary -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One key of a summary dimension, its rows (one per currency) added up."""

    key: str
    count: int
    amounts: dict[str, Decimal]

    def amount_text(self) -> str:
        return ", ".join(f"{fmt_number(n)} {c}" for c, n in sorted(self.amounts.items()))


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    currencies: list[str]
    dimensions: dict[str, list[GroupRow]]
    """By `SummaryRow.dimension` (type, category, state, month): months in order, the
    others most requested first."""


def summary_view(rows: Iterable[SummaryRow]) -> Summary:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    amounts: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        counts[row.dimension][row.key] += row.count
        if row.currency:  # an invalid request has no amount
            amounts[row.dimension][row.key][row.currency] = row.amount
    dimensions: dict[str, list[GroupRow]] = {}
    for dimension in ("type", "category", "state", "month"):
        by_key = counts.get(dimension, {})
        ordered = sorted(by_key) if dimension == "month" else sorted(
            by_key, key=lambda k: (-by_key[k], k))
        dimensions[dimension] = [GroupRow(k, by_key[k], dict(amounts[dimension][k]))
                                 for k in ordered]
    return Summary(count=sum(g.count for g in dimensions["state"]),
                   currencies=sorted({c for d in amounts.values() for a in d.values() for c in a}),
                   dimensions=dimensions)


def summary(book: Book, date_range: DateRange | None = None) -> Summary:
    return summary_view(reports.summary(book, scope_of(date_range)))


# -- trends --------------------------------------------------------------------


Trends = TrendSeries
"""The trends rows as the charts' series (`reports.series`)."""


def trends(book: Book, date_range: DateRange | None = None) -> Trends:
    return trend_series(reports.trends(book, scope_of(date_range)))


# -- impact --------------------------------------------------------------------


def added(rows: Sequence[EffectRow], month: str, type_: str, currency: str) -> EffectRow:
    """`rows` added up into one, named `month` and `type_`."""
    def total(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), Decimal(0))

    return EffectRow(month=month, type=type_, currency=currency,
                     applied_count=sum(r.applied_count for r in rows),
                     reversed_count=sum(r.reversed_count for r in rows),
                     revenue=total("revenue"), receivables=total("receivables"),
                     expenses=total("expenses"), other=total("other"))


@dataclass(frozen=True, slots=True)
class Impact:
    """The effects rows (per month booked, type and currency), added up per currency
    (`totals`) and per currency and month (`by_month`, the charts)."""

    rows: list[EffectRow]
    totals: dict[str, EffectRow]
    by_month: dict[str, dict[str, EffectRow]] = field(default_factory=dict)


def impact_view(rows: Sequence[EffectRow]) -> Impact:
    by_currency: dict[str, list[EffectRow]] = defaultdict(list)
    by_month: dict[str, dict[str, list[EffectRow]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:  # in month order, so is each currency's `by_month`
        by_currency[r.currency].append(r)
        by_month[r.currency][r.month].append(r)
    return Impact(rows=list(rows),
                  totals={c: added(found, "total", "all", c)
                          for c, found in sorted(by_currency.items())},
                  by_month={c: {m: added(found, m, "all", c) for m, found in months.items()}
                            for c, months in sorted(by_month.items())})


def impact(book: Book, date_range: DateRange | None = None) -> Impact:
    return impact_view(reports.effects(book, scope_of(date_range)))


# -- compliance ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compliance:
    """The compliance report of `reports.compliance`, the very rows
    `bean-adjust report compliance` prints, with the page's counts."""

    rows: list[reports.ComplianceRow]
    names: dict[str, str] = field(default_factory=dict)
    """Each customer's declared name (the page shows it, with the id on hover)."""
    shared: frozenset[str] = frozenset()
    """The customers whose name reads as another's: the id is shown beside it."""

    @property
    def exceptions(self) -> int:
        return sum(1 for r in self.rows if r.exceptions)

    @property
    def sod_violations(self) -> int:
        return sum(1 for r in self.rows if r.sod != "ok")

    @property
    def weak_evidence(self) -> int:
        """Approvals counted without binding to the content (stale or no digest)."""
        return sum(1 for r in self.rows if r.evidence in ("stale", "unbound"))


def compliance(book: Book, date_range: DateRange | None = None,
               today: datetime.date | None = None) -> Compliance:
    """Evidence for every adjustment the range holds anything of, exceptions first,
    judged as `bean-adjust report compliance` judges it: open requests are
    measured against their SLA on `today` (default: the clock's), or on the
    range's last day when that is earlier, so an item's age is the queue's."""
    scope = scope_of(date_range)
    day = reports.as_of_day(scope, today)
    rows = reports.compliance(book, scope, day)
    names = {c: label.name for c in {r.customer for r in rows}
             if (label := label_of(book, c, day)).name}
    return Compliance(rows=rows, names=names, shared=namesakes(book.directory))


# -- charts ----------------------------------------------------------------------


def report_charts(summary: Summary, trends: Trends, impact: Impact) -> dict[str, Markup]:
    """The reports page's charts. Amounts are never added across currencies:
    one chart per currency (keys `amounts:USD`, `impact:EUR`, ...), each
    titled and with its y axis labelled in that currency."""
    month_axis = "Month"
    by_type = summary.dimensions.get("type", [])
    by_state = summary.dimensions.get("state", [])
    built: dict[str, Markup] = {
        **charts.trend_charts(trends.months, trends.by_kind, trends.requested, trends.applied),
        "decision": charts.line_chart(
            trends.months, {"avg days to decision": trends.days_to_decision,
                            "approval rate %": trends.approval_rate},
            title="Days to decision and approval rate",
            y_label="Days · approval rate (%)", x_label=month_axis),
        "by_type": charts.hbar_chart([(g.key, g.count) for g in by_type],
                                     title="Requests by type", unit="requests"),
        "by_state": charts.hbar_chart([(g.key, g.count) for g in by_state],
                                      title="Requests by state", unit="requests"),
    }
    for currency, by_month in sorted(impact.by_month.items()):
        rows = list(by_month.values())
        built[f"impact:{currency}"] = charts.line_chart(
            list(by_month), {"revenue": [r.revenue for r in rows],
                             "receivables": [r.receivables for r in rows],
                             "expenses": [r.expenses for r in rows]},
            title=f"Net effect of applied adjustments per month ({currency})",
            unit=currency, y_label=f"Net change ({currency})", x_label="Month booked")
    return built


def queue_table(view: QueueView) -> Table:
    """The queue as filtered, one row per item (the CSV download writes it with the
    reports' writer, `csv_cells.csv_text`)."""
    header = ["id", "date", "age days", "amount", "currency", "type", "category", "customer",
              "customer name", "tier", "requested by", "state", "level", "needed", "next role",
              "risk", "sla days", "overdue", "narration"]
    return header, [[r.id, r.date.isoformat(), r.age_days, r.number, r.currency, r.type,
                     r.category, r.customer, r.customer_name, r.tier, r.requester,
                     r.state, r.level,
                     r.needed, r.next_role, ",".join(r.risk), r.sla_days,
                     "yes" if r.overdue else "no", r.narration] for r in view.rows]
