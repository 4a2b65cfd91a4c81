"""The report tables: summary, trends, impact, compliance and audit rows of a book.

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
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import Any

from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Event,
    Request,
    State,
    is_under,
    receivable_totals,
)
from beancount_adjustments.core.replay import ledger_order
from beancount_adjustments.reports.queries import age_days, is_overdue, rule_text

REPORTS = ("summary", "trends", "impact", "compliance", "audit")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which adjustments a report looks at. Every field is optional."""

    start: datetime.date | None = None
    """First day of the period (inclusive)."""
    end: datetime.date | None = None
    """Last day of the period (inclusive)."""
    type: str | None = None
    """A type or pattern (`credit:*`)."""
    customer: str | None = None
    state: State | None = None

    def in_period(self, date: datetime.date | None) -> bool:
        if date is None:
            return False
        return ((self.start is None or date >= self.start)
                and (self.end is None or date <= self.end))

    def matches(self, adj: Adjustment) -> bool:
        """The filters other than the period."""
        request = adj.request
        return ((self.type is None or fnmatchcase(request.type, self.type))
                and (self.customer is None or request.customer == self.customer)
                and (self.state is None or adj.state is self.state))

    def describe(self) -> str:
        parts = [f"from {self.start or 'the beginning'} to {self.end or 'the end'}"]
        parts += [f"{name} {value}" for name, value in (
            ("type", self.type), ("customer", self.customer), ("state", self.state)) if value]
        return ", ".join(parts)


def as_of_day(scope: Scope, today: datetime.date | None = None) -> datetime.date:
    """The day a report counts ages to: today, or the scope's end when earlier."""
    day = today or datetime.date.today()
    return min(day, scope.end) if scope.end is not None else day


def _selected(book: Book, scope: Scope) -> list[Adjustment]:
    """Adjustments requested in the period that pass the filters, in request order."""
    found = [a for a in book.adjustments.values()
             if scope.in_period(a.request.date) and scope.matches(a)]
    return sorted(found, key=lambda a: (a.request.date, a.request.source.filename,
                                        a.request.source.lineno))


def _with_evidence(book: Book, scope: Scope) -> list[Adjustment]:
    """Adjustments the period holds anything of (their request, a decision about them,
    or an effect or reversal they booked) that pass the filters, in request order: a
    refund filed on 31 March and booked on 3 April moved money in April."""
    def touched(adj: Adjustment) -> bool:
        return (any(scope.in_period(day) for day in (
                    adj.request.date, adj.applied_on, adj.effective_date, adj.reversed_on))
                or any(scope.in_period(record.event.date) for record in adj.history))

    found = [a for a in book.adjustments.values() if scope.matches(a) and touched(a)]
    return sorted(found, key=lambda a: (a.request.date, a.request.source.filename,
                                        a.request.source.lineno))


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


def summary(book: Book, scope: Scope) -> list[SummaryRow]:
    """Counts and amounts by type, category, state and month."""
    dimensions: tuple[tuple[str, Callable[[Adjustment], str]], ...] = (
        ("type", lambda a: a.request.type),
        ("category", lambda a: a.request.category or "(none)"),
        ("state", lambda a: str(a.state)),
        ("month", lambda a: _month(a.request.date)),
    )
    rows: list[SummaryRow] = []
    chosen = _selected(book, scope)
    for dimension, key_of in dimensions:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        nets: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for adj in chosen:
            currency = adj.amount.currency if adj.amount is not None else ""
            key = (key_of(adj), currency)
            counts[key] += 1
            if adj.amount is not None:
                amounts[key] += adj.amount.number
                nets[key] += _net(book, adj).get(currency, Decimal(0))
        rows += [SummaryRow(dimension=dimension, key=key, currency=currency,
                            count=counts[(key, currency)], amount=amounts[(key, currency)],
                            net=nets[(key, currency)])
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
    for adj in _selected(book, scope):
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceRow:
    id: str
    date: datetime.date
    type: str
    customer: str
    amount: str
    state: str
    requester: str
    approvers: str
    sod: str
    evidence: str
    signed: int
    unstamped: int
    """Decisions that count but carry no `at:` (written by hand): when they were
    really written is not on record."""
    documentation: str
    days_to_decision: int | None
    policy: str
    exceptions: str


def _evidence(adj: Adjustment) -> str:
    counted = [r for r in adj.history if r.accepted and r.event.action is Action.APPROVE]
    if any(r.stale for r in adj.history if r.event.action is Action.APPROVE):
        return "stale"
    if not counted:
        return "none"
    if any(r.event.digest is None for r in counted):
        return "unbound"
    # The replay's own question: a digest of an older version counts when it is
    # the request's digest in that version.
    if all(digests.bound_to(r.event.digest, adj.request, adj.digest) for r in counted):
        return "bound"
    return "stale"


def _documentation(book: Book, adj: Adjustment) -> str:
    if adj.request.document:
        return "present"
    threshold = book.policies.settings(adj.request.type, adj.request.date).document_above
    if (threshold is not None and adj.amount is not None
            and adj.amount.currency == threshold.currency
            and adj.amount.number >= threshold.number):
        return "required-missing"
    return "not-required"


def compliance(book: Book, scope: Scope, today: datetime.date | None = None) -> list[
        ComplianceRow]:
    """Evidence for every adjustment the period holds anything of (`_with_evidence`),
    exceptions first.

    Open requests are measured against their SLA on `today` (default: the
    clock's), or on the last day of the scope when that is earlier: the age
    the queue shows, never one in the future.
    """
    chosen = _with_evidence(book, scope)
    as_of = as_of_day(scope, today)
    rows: list[ComplianceRow] = []
    for adj in chosen:
        request = adj.request
        approvers = [a.by for a in adj.approvals]
        reversal = [a.by for a in adj.reversal_approvals]
        sod_ok = (not set(request.requesters) & {*approvers, *reversal}
                  and adj.cancelled_by not in reversal
                  and len(set(approvers)) == len(approvers)
                  and len(set(reversal)) == len(reversal))
        evidence = _evidence(adj)
        documentation = _documentation(book, adj)
        days = (adj.decided_on - request.date).days if adj.decided_on else None
        exceptions = [f"{p.code}: {p.message}" for p in adj.problems]
        if not sod_ok:
            exceptions.append("segregation of duties: a requester (or the canceller of a "
                              "reversal) approved, or one person approved twice")
        if evidence == "stale":
            exceptions.append("approval evidence stale: an approval was given for other "
                              "content than the request now holds")
        if documentation == "required-missing":
            exceptions.append("documentation required but missing")
        if is_overdue(adj, as_of):
            waiting = ("its reversal awaiting approval" if adj.state is State.REVERSING
                       else "pending")
            exceptions.append(f"overdue: {waiting} {age_days(adj, as_of)} days, SLA "
                              f"{adj.sla_days}")
        if adj.state is State.INVALID and not adj.problems:
            exceptions.append("invalid request")
        signed = sum(1 for r in adj.history if r.accepted and r.event.action is Action.APPROVE
                     and getattr(r.event, "signature", None))
        unstamped = sum(1 for r in adj.history if r.accepted and r.event.at is None)
        rows.append(ComplianceRow(
            id=request.id, date=request.date, type=request.type, customer=request.customer,
            amount=str(adj.amount) if adj.amount is not None else "",
            state=str(adj.state), requester=request.requested_by,
            approvers="; ".join(
                [f"{a.by} ({a.role}, {a.date})" for a in adj.approvals]
                + [f"{a.by} ({a.role}, reversal, {a.date})" for a in adj.reversal_approvals]),
            sod="ok" if sod_ok else "violated", evidence=evidence, signed=signed,
            unstamped=unstamped,
            documentation=documentation, days_to_decision=days,
            policy=rule_text(adj),
            exceptions=" | ".join(exceptions)))
    return sorted(rows, key=lambda r: (not r.exceptions, r.date, r.id))


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    date: datetime.date
    at: str
    adjustment_id: str
    who: str
    action: str
    why: str
    accepted: bool
    note: str
    source: str


def audit(book: Book, scope: Scope) -> list[AuditRow]:
    """Every request's arrival and every event about it, in replay order; a request
    the policy approved as it arrived (no chain) is followed by that approval, so
    money moved without an approver still has its decision on record."""
    rows: dict[int, AuditRow] = {}
    automatic: dict[int, AuditRow] = {}
    items: list[Request | Event] = []
    for adj in book.adjustments.values():
        if not scope.matches(adj):
            continue
        request = adj.request
        if scope.in_period(request.date):
            arrived = adj.state is not State.INVALID
            note = "" if arrived else "; ".join(p.message for p in adj.problems
                                                if p.source == request.source)
            items.append(request)
            rows[id(request)] = AuditRow(
                date=request.date, at="", adjustment_id=request.id, who=request.requested_by,
                action=f"request {request.type}", why=request.reason, accepted=arrived,
                note=note, source=f"{request.source.filename}:{request.source.lineno}")
            if arrived and not adj.chain:
                automatic[id(request)] = _approved_automatically(adj)
        for record in adj.history:
            event = record.event
            if not scope.in_period(event.date):
                continue
            what = str(event.action)
            if event.effective is not None:
                what += f" (effective {event.effective})"
            why = "; ".join(x for x in (event.reason, event.comment) if x)
            items.append(event)
            rows[id(event)] = AuditRow(
                date=event.date, at=event.at or "", adjustment_id=event.adjustment_id,
                who=event.by, action=what, why=why, accepted=record.accepted,
                note=record.note, source=f"{event.source.filename}:{event.source.lineno}")
    out: list[AuditRow] = []
    for item in in_replay_order(book, items):
        out.append(rows[id(item)])
        if id(item) in automatic:
            out.append(automatic[id(item)])
    return out


def _approved_automatically(adj: Adjustment) -> AuditRow:
    """The policy's own approval of a request that needs no approver, on its arrival."""
    r = adj.request
    effective = f" (effective {r.effective})" if r.effective is not None else ""
    return AuditRow(date=r.date, at="", adjustment_id=r.id, who="",
                    action="approved automatically" + effective, why=rule_text(adj),
                    accepted=True, note="", source=f"{r.source.filename}:{r.source.lineno}")


def in_replay_order(book: Book, items: list[Request | Event]) -> list[Request | Event]:
    """`items` (requests and events of `book`) in the order the replay judged them:
    by date, then on one day as `ledger_order` takes them (the top-level file first,
    then the included ones as loaded; `at:` where several carry it)."""
    items.sort(key=attrgetter("date"))
    return ledger_order(items, book.facts.files)


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
