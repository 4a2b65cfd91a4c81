"""Report computations for the Fava pages: summary, trends, impact, compliance.

Pure functions over the Book. Every report takes an optional range of
request dates (Fava's time filter) and returns plain dataclasses plus a
`table()` of rows for the CSV export. `to_csv` writes them with the one CSV
rule (`csv_cells`): text a spreadsheet would read as a formula is quoted,
computed numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup

from beancount_adjustments import reports
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import namesakes
from beancount_adjustments.core.models import Adjustment, Posting, State
from beancount_adjustments.fava_ext.index import DateRange
from beancount_adjustments.fava_ext.labels import fmt_number, label_of
from beancount_adjustments.fava_ext.queue import QueueView
from beancount_adjustments.reports import charts
from beancount_adjustments.reports.csv_cells import csv_cell

Cell = str | int | Decimal | datetime.date | None
Table = tuple[list[str], list[list[Cell]]]

REPORTS = ("summary", "trends", "impact", "compliance")


def to_csv(table: Table) -> str:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return out.getvalue()


def month(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def in_range(adjustments: Iterable[Adjustment], date_range: DateRange | None) -> list[Adjustment]:
    return [a for a in adjustments if date_range is None or a.request.date in date_range]


def _months(first: datetime.date, last: datetime.date) -> list[str]:
    out: list[str] = []
    year, mon = first.year, first.month
    while (year, mon) <= (last.year, last.month):
        out.append(f"{year:04d}-{mon:02d}")
        mon += 1
        if mon == 13:
            year, mon = year + 1, 1
    return out


# -- summary -------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    key: str
    count: int
    amounts: dict[str, Decimal]

    def amount_text(self) -> str:
        return ", ".join(f"{fmt_number(n)} {c}" for c, n in sorted(self.amounts.items()))


@dataclass(frozen=True)
class Summary:
    count: int
    currencies: list[str]
    dimensions: dict[str, list[GroupRow]]

    def table(self) -> Table:
        rows: list[list[Cell]] = []
        for dimension, groups in self.dimensions.items():
            for group in groups:
                currencies = sorted(group.amounts) or [""]
                for currency in currencies:
                    rows.append([dimension, group.key, group.count, currency,
                                 group.amounts.get(currency, Decimal(0))])
        return ["dimension", "key", "count", "currency", "amount"], rows


def summary(book: Book, date_range: DateRange | None = None) -> Summary:
    items = in_range(book.adjustments.values(), date_range)
    keys: dict[str, Callable[[Adjustment], str]] = {
        "type": lambda a: a.request.type,
        "category": lambda a: a.request.category or "(none)",
        "state": lambda a: str(a.state),
        "period": lambda a: month(a.request.date),
    }
    dimensions: dict[str, list[GroupRow]] = {}
    currencies: set[str] = set()
    for name, key in keys.items():
        counts: Counter[str] = Counter()
        amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for adj in items:
            group = key(adj)
            counts[group] += 1
            if adj.amount is not None:
                amounts[group][adj.amount.currency] += adj.amount.number
                currencies.add(adj.amount.currency)
        ordered = sorted(counts) if name == "period" else sorted(
            counts, key=lambda g: (-counts[g], g))
        dimensions[name] = [GroupRow(g, counts[g], dict(amounts[g])) for g in ordered]
    return Summary(count=len(items), currencies=sorted(currencies), dimensions=dimensions)


# -- trends --------------------------------------------------------------------


@dataclass(frozen=True)
class Trends:
    months: list[str]
    by_kind: dict[str, list[int]]
    requested: dict[str, list[Decimal]]
    applied: dict[str, list[Decimal]]
    decided: list[int]
    days_to_decision: list[Decimal | None]
    approval_rate: list[Decimal | None]

    def table(self) -> Table:
        currencies = sorted(set(self.requested) | set(self.applied))
        kinds = sorted(self.by_kind)
        header = ["month", *(f"requests {k}" for k in kinds),
                  *(f"requested {c}" for c in currencies),
                  *(f"applied {c}" for c in currencies), "decided",
                  "avg days to decision", "approval rate %"]
        rows: list[list[Cell]] = []
        zeros = [Decimal(0)] * len(self.months)  # built once: a list per row was quadratic
        requested = [self.requested.get(c, zeros) for c in currencies]
        applied = [self.applied.get(c, zeros) for c in currencies]
        for i, name in enumerate(self.months):
            rows.append([
                name, *(self.by_kind[k][i] for k in kinds),
                *(column[i] for column in requested), *(column[i] for column in applied),
                self.decided[i], self.days_to_decision[i], self.approval_rate[i]])
        return header, rows


def _decision_action(adj: Adjustment) -> bool | None:
    """True approved, False rejected/withdrawn, None still open or invalid. A reversal
    asked (`reversing`) or booked undoes the booking, never the approval it had."""
    if adj.state in (State.APPROVED, State.APPLIED, State.REVERSING, State.REVERSED):
        return True
    if adj.state in (State.REJECTED, State.WITHDRAWN):
        return False
    return None


def trends(book: Book, date_range: DateRange | None = None) -> Trends:
    items = in_range(book.adjustments.values(), date_range)
    if not items:
        return Trends([], {}, {}, {}, [], [], [])
    first = min(a.request.date for a in items)
    last = max(a.request.date for a in items)
    months = _months(first, last)
    slot = {m: i for i, m in enumerate(months)}
    n = len(months)
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    requested: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * n)
    applied: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * n)
    decided = [0] * n
    days = [0] * n
    approved = [0] * n
    for adj in items:
        i = slot[month(adj.request.date)]
        by_kind[adj.request.kind.value][i] += 1
        if adj.amount is not None:
            requested[adj.amount.currency][i] += adj.amount.number
            if adj.in_force:  # what `reports.trends` counts as applied now
                applied[adj.amount.currency][i] += adj.amount.number
        outcome = _decision_action(adj)
        if outcome is not None and adj.decided_on is not None:
            decided[i] += 1
            days[i] += (adj.decided_on - adj.request.date).days
            approved[i] += 1 if outcome else 0
    return Trends(
        months=months, by_kind=dict(by_kind), requested=dict(requested),
        applied=dict(applied), decided=decided,
        days_to_decision=[(Decimal(days[i]) / decided[i]).quantize(Decimal("0.1"))
                          if decided[i] else None for i in range(n)],
        approval_rate=[(Decimal(100 * approved[i]) / decided[i]).quantize(Decimal("0.1"))
                       if decided[i] else None for i in range(n)])


# -- impact --------------------------------------------------------------------


@dataclass
class ImpactRow:
    period: str
    type: str
    currency: str
    applied: int = 0
    reversed: int = 0
    revenue: Decimal = Decimal(0)
    receivables: Decimal = Decimal(0)
    expenses: Decimal = Decimal(0)


@dataclass(frozen=True)
class Impact:
    rows: list[ImpactRow]
    totals: dict[str, ImpactRow]
    by_month: dict[str, dict[str, ImpactRow]] = field(default_factory=dict)

    def table(self) -> Table:
        header = ["period", "type", "currency", "applied", "reversed", "revenue change",
                  "receivables change", "expenses change"]
        return header, [[r.period, r.type, r.currency, r.applied, r.reversed, r.revenue,
                         r.receivables, r.expenses] for r in self.rows]


def _effects(postings: Sequence[Posting], receivable: str, sign: int) -> dict[
        str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for p in postings:
        number = p.number * sign
        if p.account == receivable or p.account.startswith(receivable + ":"):
            out[p.currency]["receivables"] += number
        elif p.account.startswith("Income"):
            out[p.currency]["revenue"] -= number
        elif p.account.startswith("Expenses"):
            out[p.currency]["expenses"] += number
    return out


def impact(book: Book, date_range: DateRange | None = None) -> Impact:
    """Net effect of applied adjustments (and their reversals) by the date they were booked."""
    receivable = book.settings.receivable
    rows: dict[tuple[str, str, str], ImpactRow] = {}
    totals: dict[str, ImpactRow] = {}
    by_month: dict[str, dict[str, ImpactRow]] = defaultdict(dict)

    def book_effect(adj: Adjustment, day: datetime.date, sign: int) -> None:
        if date_range is not None and day not in date_range:
            return
        period = month(day)
        for currency, parts in _effects(adj.request.postings, receivable, sign).items():
            targets = (
                rows.setdefault((period, adj.request.type, currency),
                                ImpactRow(period, adj.request.type, currency)),
                totals.setdefault(currency, ImpactRow("total", "all", currency)),
                by_month[currency].setdefault(period, ImpactRow(period, "all", currency)))
            for row in targets:
                if sign > 0:
                    row.applied += 1
                else:
                    row.reversed += 1
                row.revenue += parts.get("revenue", Decimal(0))
                row.receivables += parts.get("receivables", Decimal(0))
                row.expenses += parts.get("expenses", Decimal(0))

    for adj in book.adjustments.values():
        if adj.applied_on is None:
            continue
        book_effect(adj, adj.effective_date or adj.applied_on, 1)
        if adj.reversed_on is not None:
            book_effect(adj, adj.reversed_on, -1)
    ordered = [rows[k] for k in sorted(rows)]
    return Impact(rows=ordered, totals=dict(sorted(totals.items())),
                  by_month={c: dict(sorted(m.items())) for c, m in by_month.items()})


# -- compliance ---------------------------------------------------------------


@dataclass(frozen=True)
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

    def table(self) -> Table:
        columns = reports.columns_of(self.rows, reports.ComplianceRow)
        return columns, [[getattr(r, c) for c in columns] for r in self.rows]


def compliance(book: Book, date_range: DateRange | None = None,
               today: datetime.date | None = None) -> Compliance:
    """Evidence for every adjustment requested in the range, exceptions first,
    judged as `bean-adjust report compliance` judges it: open requests are
    measured against their SLA on `today` (default: the clock's), or on the
    range's last day when that is earlier, so an item's age is the queue's."""
    scope = reports.Scope() if date_range is None else reports.Scope(
        start=date_range.begin, end=date_range.end - datetime.timedelta(days=1))
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
    header = ["id", "date", "age days", "amount", "currency", "type", "category", "customer",
              "customer name", "tier", "requested by", "state", "level", "needed", "next role",
              "risk", "sla days", "overdue", "narration"]
    return header, [[r.id, r.date.isoformat(), r.age_days, r.number, r.currency, r.type,
                     r.category, r.customer, r.customer_name, r.tier, r.requester,
                     r.state, r.level,
                     r.needed, r.next_role, ",".join(r.risk), r.sla_days,
                     "yes" if r.overdue else "no", r.narration] for r in view.rows]
