"""The report tables: summary, trends, impact and effects rows of a book, and every
report by name (`build`; compliance and audit rows are the auditor's, in `evidence`).

Each report is a pure function of a replayed `Book` and a `Scope` returning frozen
rows. They are the one home of what a report counts: `bean-adjust report` renders
them (`renderers`), Fava's reports page groups and charts them
(`fava_ext.report_data`) and its CSV downloads are the very bytes the CLI's
`--format csv` prints. What each column means is in docs/reports.md.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from beancount_adjustments.core.accounts import is_under, receivable_totals
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Adjustment, State
from beancount_adjustments.reports.evidence import (
    AuditRow,
    ComplianceRow,
    audit,
    compliance,
    days_to_decision,
)
from beancount_adjustments.reports.scope import Scope, selected

REPORTS = ("summary", "trends", "impact", "effects", "compliance", "audit")


def _net(book: Book, adj: Adjustment) -> dict[str, Decimal]:
    """What the request moves on the customers' balances, per currency."""
    return {c: n for c, n in receivable_totals(adj.request.postings,
                                               book.settings.receivable).items() if n}


def _month(date: datetime.date) -> str:
    return f"{date.year:04d}-{date.month:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryRow:
    dimension: str
    key: str
    currency: str
    count: int
    amount: Decimal
    net: Decimal
    """What the requests would move on the customers' balances, whatever became of them."""
    booked: Decimal
    """What those of them on the books now (`in_force`) move there: the part of `net`
    the balances hold, so a reversed or rejected request does not read as money moved."""


def summary(book: Book, scope: Scope) -> list[SummaryRow]:
    """Counts and amounts by type, category, state and month."""
    dimensions: tuple[tuple[str, Callable[[Adjustment], str]], ...] = (
        ("type", lambda a: a.request.type),
        ("category", lambda a: a.request.category or "(none)"),
        ("state", lambda a: str(a.state)),
        ("month", lambda a: _month(a.request.date)),
    )
    rows: list[SummaryRow] = []
    chosen = selected(book, scope)
    for dimension, key_of in dimensions:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        nets: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        booked: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for adj in chosen:
            currency = adj.amount.currency if adj.amount is not None else ""
            key = (key_of(adj), currency)
            counts[key] += 1
            if adj.amount is not None:
                amounts[key] += adj.amount.number
                net = _net(book, adj).get(currency, Decimal(0))
                nets[key] += net
                if adj.in_force:
                    booked[key] += net
        rows += [SummaryRow(dimension=dimension, key=key, currency=currency,
                            count=counts[(key, currency)], amount=amounts[(key, currency)],
                            net=nets[(key, currency)], booked=booked[(key, currency)])
                 for key, currency in sorted(counts)]
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendRow:
    month: str
    kind: str
    currency: str
    requested: int
    requested_amount: Decimal
    applied: int
    applied_amount: Decimal
    decided: int
    """Of `requested`, those decided: approved (whatever became of them since),
    rejected or withdrawn. Still open or invalid ones are not."""
    approved: int
    """Of `decided`, those approved (`was_approved`): a reversal undoes the booking, and
    a withdrawal before the apply the approval's effect, never the approval."""
    decision_days: int
    """Days from request to decision, summed over `decided` (each the compliance
    report's `days_to_decision`): the average is `decision_days / decided`."""


APPROVED_STATES = frozenset({State.APPROVED, State.APPLIED, State.REVERSING, State.REVERSED})
"""States an approval got an adjustment into: a reversal asked (`reversing`) or booked
undoes the booking, never the approval it had."""
REFUSED_STATES = frozenset({State.REJECTED, State.WITHDRAWN})


def was_approved(adj: Adjustment) -> bool:
    """Whether an approval (or the policy's automatic one) got `adj` to `approved`: it
    is in one of `APPROVED_STATES`, or was withdrawn with its chain filled (an approved
    request cancelled before its separate apply: a pending one withdrawn has a level
    left, and filling the last one approves it)."""
    return adj.state in APPROVED_STATES or (
        adj.state is State.WITHDRAWN and len(adj.approvals) == len(adj.chain))


def trends(book: Book, scope: Scope) -> list[TrendRow]:
    """Per month and kind: requested and (now) applied counts and amounts, and the
    decisions about them; applied now is `in_force` (a reversal awaiting approval has
    not undone the booking)."""
    table: dict[tuple[str, str, str], list[Any]] = {}
    for adj in selected(book, scope):
        currency = adj.amount.currency if adj.amount is not None else ""
        key = (_month(adj.request.date), str(adj.request.kind), currency)
        cell = table.setdefault(key, [0, Decimal(0), 0, Decimal(0), 0, 0, 0])
        number = adj.amount.number if adj.amount is not None else Decimal(0)
        cell[0] += 1
        cell[1] += number
        if adj.in_force:
            cell[2] += 1
            cell[3] += number
        days = days_to_decision(adj)
        if days is not None and adj.state in APPROVED_STATES | REFUSED_STATES:
            cell[4] += 1
            cell[5] += was_approved(adj)
            cell[6] += days
    return [TrendRow(month=m, kind=k, currency=c, requested=v[0], requested_amount=v[1],
                     applied=v[2], applied_amount=v[3], decided=v[4], approved=v[5],
                     decision_days=v[6])
            for (m, k, c), v in sorted(table.items())]


# -- what was booked when: impact and effects ---------------------------------------


@dataclass(frozen=True, slots=True)
class Booking:
    """An entry the plugin booked for an adjustment: its effect, or its reversal."""

    date: datetime.date
    """The entry's date: the effect date, or the day the reversal was booked."""
    adjustment: Adjustment
    reversal: bool

    def postings(self) -> list[tuple[str, str, Decimal]]:
        """(account, currency, number) as booked: a reversal books each negated."""
        sign = -1 if self.reversal else 1
        return [(p.account, p.currency, sign * p.number) for p in self.adjustment.request.postings]


def bookings(book: Book, scope: Scope) -> list[Booking]:
    """The entries booked in the period, by date: an applied adjustment's effect on its
    effect date (whenever it was requested or approved), a reversal on its day. A
    `reversing` adjustment's reversal awaits approval: its effect is booked, nothing
    is reversed yet. The one answer `impact` and `effects` (and so Fava) sum."""
    out: list[Booking] = []
    for adj in book.adjustments.values():
        if not scope.matches(adj) or adj.applied_on is None or adj.effective_date is None:
            continue
        if scope.in_period(adj.effective_date):
            out.append(Booking(adj.effective_date, adj, reversal=False))
        if adj.state is State.REVERSED and scope.in_period(adj.reversed_on):
            assert adj.reversed_on is not None
            out.append(Booking(adj.reversed_on, adj, reversal=True))
    return sorted(out, key=lambda b: (b.date, b.reversal, b.adjustment.id))


GROUPS = ("receivable", "income", "expenses", "other")


def account_group(book: Book, account: str) -> str:
    """Which of `GROUPS` an account is in: under the plugin's receivable root, under
    `Income`, under `Expenses`, or another (a clearing account, a tax liability)."""
    if is_under(account, book.settings.receivable):
        return "receivable"
    return next((g for g, root in (("income", "Income"), ("expenses", "Expenses"))
                 if is_under(account, root)), "other")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRow:
    group: str
    account: str
    currency: str
    applied: Decimal
    reversed: Decimal
    net: Decimal
    adjustments: int


def impact(book: Book, scope: Scope) -> list[ImpactRow]:
    """Net effect of the entries booked in the period (`bookings`) per account."""
    applied: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    reversed_: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    touched: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entry in bookings(book, scope):
        for account, currency, number in entry.postings():
            (reversed_ if entry.reversal else applied)[(account, currency)] += number
            touched[(account, currency)].add(entry.adjustment.id)
    rows = [ImpactRow(group=account_group(book, account), account=account, currency=currency,
                      applied=applied[(account, currency)],
                      reversed=reversed_[(account, currency)],
                      net=applied[(account, currency)] + reversed_[(account, currency)],
                      adjustments=len(touched[(account, currency)]))
            for account, currency in touched]
    return sorted(rows, key=lambda r: (GROUPS.index(r.group), r.account, r.currency))


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectRow:
    month: str
    """The month the entries are dated in (`bookings`)."""
    type: str
    currency: str
    applied_count: int
    """Effects booked (entries, not amounts)."""
    reversed_count: int
    """Reversals booked."""
    revenue: Decimal
    """Change of the `income` accounts, sign flipped: a credit note is less revenue."""
    receivables: Decimal
    expenses: Decimal
    other: Decimal
    """Every other account; with it each row balances: receivables + expenses + other
    = revenue."""


def effects(book: Book, scope: Scope) -> list[EffectRow]:
    """Net effect of the entries booked in the period (`bookings`) per month, type and
    currency, on revenue, receivables, expenses and the rest (`account_group`)."""
    table: dict[tuple[str, str, str], list[Any]] = {}
    for entry in bookings(book, scope):
        seen: set[str] = set()
        for account, currency, number in entry.postings():
            key = (_month(entry.date), entry.adjustment.request.type, currency)
            cell = table.setdefault(key, [0, 0] + [Decimal(0)] * len(GROUPS))
            if currency not in seen:  # an entry counts once per currency it books in
                seen.add(currency)
                cell[1 if entry.reversal else 0] += 1
            group = account_group(book, account)
            cell[2 + GROUPS.index(group)] += -number if group == "income" else number
    return [EffectRow(month=m, type=t, currency=c, applied_count=v[0], reversed_count=v[1],
                      receivables=v[2], revenue=v[3], expenses=v[4], other=v[5])
            for (m, t, c), v in sorted(table.items())]

def build(report: str, book: Book, scope: Scope,
          today: datetime.date | None = None) -> list[Row]:
    """The rows of the named report (one of `REPORTS`); `today` is the day
    compliance counts ages to (default: the clock's)."""
    builders: dict[str, Callable[[Book, Scope], Sequence[Row]]] = {
        "summary": summary, "trends": trends, "impact": impact, "effects": effects,
        "compliance": lambda b, s: compliance(b, s, today), "audit": audit}
    if report not in builders:
        raise ValueError(f"unknown report {report!r}; choose one of {', '.join(REPORTS)}")
    return list(builders[report](book, scope))


Row = SummaryRow | TrendRow | ImpactRow | EffectRow | ComplianceRow | AuditRow
"""A row of one of the reports."""

MODELS: dict[str, type[Row]] = {
    "summary": SummaryRow, "trends": TrendRow, "impact": ImpactRow, "effects": EffectRow,
    "compliance": ComplianceRow, "audit": AuditRow}
