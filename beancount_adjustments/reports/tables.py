"""The report tables: summary, trends and impact rows of a book, and every report
by name (`build`; compliance and audit rows are the auditor's, in `evidence`).

Each report is a pure function of a replayed `Book` and a `Scope` returning frozen
rows; the CLI, the exports and Fava's reports page all use these rows (the
renderers turn them into text). What each column means is in docs/reports.md.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Adjustment,
    State,
    is_under,
    receivable_totals,
)
from beancount_adjustments.reports.evidence import AuditRow, ComplianceRow, audit, compliance
from beancount_adjustments.reports.scope import Scope, selected

REPORTS = ("summary", "trends", "impact", "compliance", "audit")


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


def trends(book: Book, scope: Scope) -> list[TrendRow]:
    """Per month and kind: requested and (now) applied counts and amounts; applied
    now is `in_force` (a reversal awaiting approval has not undone the booking)."""
    table: dict[tuple[str, str, str], list[Any]] = {}
    for adj in selected(book, scope):
        currency = adj.amount.currency if adj.amount is not None else ""
        key = (_month(adj.request.date), str(adj.request.kind), currency)
        cell = table.setdefault(key, [0, Decimal(0), 0, Decimal(0)])
        number = adj.amount.number if adj.amount is not None else Decimal(0)
        cell[0] += 1
        cell[1] += number
        if adj.in_force:
            cell[2] += 1
            cell[3] += number
    return [TrendRow(month=m, kind=k, currency=c, requested=v[0], requested_amount=v[1],
                     applied=v[2], applied_amount=v[3])
            for (m, k, c), v in sorted(table.items())]


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
    """Net effect of applied and reversed adjustments per account, by effect date."""
    applied: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    reversed_: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    touched: dict[tuple[str, str], set[str]] = defaultdict(set)
    for adj in book.adjustments.values():
        if not scope.matches(adj) or adj.effective_date is None or adj.applied_on is None:
            continue
        booked = scope.in_period(adj.effective_date)
        undone = adj.state is State.REVERSED and scope.in_period(adj.reversed_on)
        for posting in adj.request.postings:
            key = (posting.account, posting.currency)
            if booked:
                applied[key] += posting.number
                touched[key].add(adj.id)
            if undone:
                reversed_[key] -= posting.number
                touched[key].add(adj.id)
    root = book.settings.receivable

    def group(account: str) -> str:
        if is_under(account, root):
            return "receivable"
        return "income" if is_under(account, "Income") else "other"

    order = {"receivable": 0, "income": 1, "other": 2}
    rows = [ImpactRow(group=group(account), account=account, currency=currency,
                      applied=applied[(account, currency)],
                      reversed=reversed_[(account, currency)],
                      net=applied[(account, currency)] + reversed_[(account, currency)],
                      adjustments=len(touched[(account, currency)]))
            for account, currency in touched]
    return sorted(rows, key=lambda r: (order[r.group], r.account, r.currency))


def build(report: str, book: Book, scope: Scope,
          today: datetime.date | None = None) -> list[Row]:
    """The rows of the named report (one of `REPORTS`); `today` is the day
    compliance counts ages to (default: the clock's)."""
    builders: dict[str, Callable[[Book, Scope], Sequence[Row]]] = {
        "summary": summary, "trends": trends, "impact": impact,
        "compliance": lambda b, s: compliance(b, s, today), "audit": audit}
    if report not in builders:
        raise ValueError(f"unknown report {report!r}; choose one of {', '.join(REPORTS)}")
    return list(builders[report](book, scope))


Row = SummaryRow | TrendRow | ImpactRow | ComplianceRow | AuditRow
"""A row of one of the reports."""

MODELS: dict[str, type[Row]] = {
    "summary": SummaryRow, "trends": TrendRow, "impact": ImpactRow,
    "compliance": ComplianceRow, "audit": AuditRow}
