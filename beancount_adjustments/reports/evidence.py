"""The auditor's reports: compliance (the evidence of every adjustment a period
holds anything of) and audit (every arrival and decision, in replay order), and
the policy's own steps (`automatic_steps`) that the audit, the event export and
Fava's timeline tell alike."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from operator import attrgetter

from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Event,
    Request,
    Source,
    State,
)
from beancount_adjustments.core.replay import ledger_order
from beancount_adjustments.reports.queries import (
    age_days,
    automatic_text,
    is_overdue,
    requester_text,
    rule_text,
)
from beancount_adjustments.reports.scope import Scope, as_of_day, with_evidence


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


def days_to_decision(adj: Adjustment) -> int | None:
    """Days from the request to its decision (approved, rejected or withdrawn), or None
    while undecided: compliance's column, and what the trends report sums."""
    return (adj.decided_on - adj.request.date).days if adj.decided_on else None


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
    """Evidence for every adjustment the period holds anything of (`with_evidence`),
    exceptions first.

    Open requests are measured against their SLA on `today` (default: the
    clock's), or on the last day of the scope when that is earlier: the age
    the queue shows, never one in the future.
    """
    chosen = with_evidence(book, scope)
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
            state=str(adj.state), requester=requester_text(request),
            approvers="; ".join(
                [f"{a.by} ({a.role}, {a.date})" for a in adj.approvals]
                + [f"{a.by} ({a.role}, reversal, {a.date})" for a in adj.reversal_approvals]),
            sod="ok" if sod_ok else "violated", evidence=evidence, signed=signed,
            unstamped=unstamped,
            documentation=documentation, days_to_decision=days_to_decision(adj),
            policy=rule_text(adj, book),
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


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomaticStep:
    """A decision the policy took with no event of its own: a request approved as
    it arrived, or a reversal booked as its cancel was accepted. It follows the
    request or the cancel (`follows`) and is dated and sourced as that is."""

    follows: Request | Event
    adjustment_id: str
    date: datetime.date
    action: str
    effective: datetime.date | None
    why: str
    source: Source

    @property
    def where(self) -> str:
        return f"{self.source.filename}:{self.source.lineno}"


def automatic_steps(book: Book, adj: Adjustment) -> list[AutomaticStep]:
    """The policy's own steps on `adj`, in the order they happened: "approved
    automatically" after a valid request that needs no approver, "reversed
    automatically" after the accepted cancel that booked its reversal at once
    (the type and amount need no approver for it), each with the policy as why."""
    request = adj.request
    steps: list[AutomaticStep] = []
    if adj.state is not State.INVALID and not adj.chain:
        steps.append(AutomaticStep(
            follows=request, adjustment_id=request.id, date=request.date,
            action="approved automatically", effective=request.effective,
            why=rule_text(adj, book), source=request.source))
    for record in adj.history:
        event = record.event
        if (record.accepted and event.action is Action.CANCEL
                and adj.reversed_on is not None and event.source == adj.reversed_source):
            steps.append(AutomaticStep(
                follows=event, adjustment_id=request.id, date=event.date,
                action="reversed automatically", effective=None,
                why=automatic_text(adj, book, event.date), source=event.source))
    return steps


def reversal_events(adj: Adjustment) -> frozenset[Source]:
    """Where the events that concern a reversal of `adj` are written: each accepted
    cancel of it once booked (which asks for its reversal) and every event from there
    to the reject that refuses it, or on. The audit report, the event export and Fava's
    timeline mark them, so an approval of a reversal never reads as a second approval
    of the request, nor its refusal as a rejection of what stays booked."""
    applied = adj.applied_source
    if applied is None:
        return frozenset()
    booked = applied == adj.request.source
    within = False
    out: set[Source] = set()
    for record in adj.history:
        event = record.event
        if within:
            out.add(event.source)
        if not record.accepted:
            continue
        if event.source == applied:
            booked = True
        elif event.action is Action.CANCEL and booked:
            within = True
            out.add(event.source)
        elif event.action is Action.REJECT and within:
            within = False
    return frozenset(out)


def event_action(event: Event, reversals: frozenset[Source]) -> str:
    """The event's action as the evidence tells it: `approve (reversal)` for one that
    decides a reversal (`reversal_events`), the action alone otherwise."""
    return str(event.action) + (" (reversal)" if event.source in reversals else "")


def audit(book: Book, scope: Scope) -> list[AuditRow]:
    """Every request's arrival and every event about it, in replay order; each of
    the policy's own steps (`automatic_steps`) follows what it followed, so money
    moved, or moved back, without an approver still has its decision on record."""
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
                date=request.date, at="", adjustment_id=request.id, who=requester_text(request),
                action=f"request {request.type}", why=request.reason, accepted=arrived,
                note=note, source=f"{request.source.filename}:{request.source.lineno}")
        reversals = reversal_events(adj)
        for record in adj.history:
            event = record.event
            if not scope.in_period(event.date):
                continue
            what = event_action(event, reversals)
            if event.effective is not None:
                what += f" (effective {event.effective})"
            why = "; ".join(x for x in (event.reason, event.comment) if x)
            items.append(event)
            rows[id(event)] = AuditRow(
                date=event.date, at=event.at or "", adjustment_id=event.adjustment_id,
                who=event.by, action=what, why=why, accepted=record.accepted,
                note=record.note, source=f"{event.source.filename}:{event.source.lineno}")
        for step in automatic_steps(book, adj):
            effective = f" (effective {step.effective})" if step.effective else ""
            automatic[id(step.follows)] = AuditRow(
                date=step.date, at="", adjustment_id=step.adjustment_id, who="",
                action=step.action + effective, why=step.why, accepted=True, note="",
                source=step.where)
    out: list[AuditRow] = []
    for item in in_replay_order(book, items):
        out.append(rows[id(item)])
        if id(item) in automatic:
            out.append(automatic[id(item)])
    return out


def in_replay_order(book: Book, items: list[Request | Event]) -> list[Request | Event]:
    """`items` (requests and events of `book`) in the order the replay judged them:
    by date, then on one day as `ledger_order` takes them (the top-level file first,
    then the included ones as loaded; `at:` where several carry it)."""
    items.sort(key=attrgetter("date"))
    return ledger_order(items, book.facts.files)
