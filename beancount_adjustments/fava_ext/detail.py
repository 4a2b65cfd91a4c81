"""The detail page's model: the request, its customer and references, the audit
timeline in the replay's order, and the levels still to give."""

from __future__ import annotations

import bisect
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from beancount.core import compare, data

from beancount_adjustments.beans.effects import TAG_APPLIED, TAG_REVERSAL, own_effect
from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    BOOKED_STATES,
    Action,
    Adjustment,
    Approval,
    CustomerRecord,
    Posting,
    Problem,
    State,
)
from beancount_adjustments.core.references import Reference, credit_taken
from beancount_adjustments.fava_ext.actions import ActionHint, eligible_approvers
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.labels import CustomerLabel, customer_label, fmt_number
from beancount_adjustments.fava_ext.queue_rows import QueueRow, queue_row
from beancount_adjustments.reports import queries
from beancount_adjustments.reports.evidence import (
    automatic_steps,
    event_action,
    reversal_events,
)


@dataclass(frozen=True)
class TimelineItem:
    date: datetime.date
    at: str
    what: str
    by: str
    outcome: str          # "accepted", "refused", "stale", "info"
    reason: str = ""
    comment: str = ""
    note: str = ""
    digest: str = ""      # "matches", "differs", "absent", ""
    where: str = ""


@dataclass(frozen=True)
class Requirement:
    level: int
    role: str
    status: str           # "done", "next", "waiting"
    by: str = ""
    date: datetime.date | None = None
    eligible: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefView:
    kind: str
    ref: Reference
    credited: Decimal | None = None


@dataclass(frozen=True)
class DetailView:
    adj: Adjustment
    row: QueueRow
    postings: tuple[Posting, ...]
    customer: CustomerRecord | None
    balance: list[str]
    earlier: list[QueueRow]
    later_count: int
    references: list[RefView]
    ticket: str | None
    ticket_url: str | None
    document: str | None
    document_path: str | None
    document_exists: bool
    timeline: list[TimelineItem]
    requirements: list[Requirement]
    reversal_requirements: list[Requirement]
    still_requires: str
    policy: str
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    actions: tuple[ActionHint, ...]
    notes: str | None = None
    approval_required: bool = False
    customer_label: CustomerLabel | None = None
    booked_hash: str | None = None
    """Fava's entry hash of the booked transaction (its context page), if booked."""
    reversal_hash: str | None = None
    rejection: TimelineItem | None = None
    """The accepted rejection (of the request, or of its reversal), for the header."""


def ticket_link(template: str | None, ticket: str | None) -> str | None:
    """The ticket's URL from the configured template, or None.

    Only http(s) templates are honoured and the ticket is URL-quoted, so a
    ledger string can never smuggle a `javascript:` link into the page.
    """
    if not template or not ticket:
        return None
    if not template.lower().startswith(("https://", "http://")):
        return None
    return template.replace("{ticket}", quote(ticket, safe=""))


def _digest_status(recorded: str | None, adj: Adjustment) -> str:
    bound = digests.bound_to(recorded, adj.request, adj.digest)
    if bound is None:
        return "absent"
    return "matches" if bound else "differs"


def timeline(book: Book, adj: Adjustment) -> list[TimelineItem]:
    """Every event the ledger holds for the request, with its outcome, in the
    replay's order (date, then file and line, `at:` where stamped): the
    history is already in that order, and the booked and reversing entries
    follow the event that made them, and the policy's own steps
    (`evidence.automatic_steps`, as the audit report tells them) what they follow;
    a decision on a reversal says so (`evidence.event_action`), as there too."""
    request = adj.request
    automatic = {id(step.follows): TimelineItem(
        date=step.date, at="", what=step.action, by="policy", outcome="info", note=step.why,
        where=step.where) for step in automatic_steps(book, adj)}
    items = [TimelineItem(
        date=request.date, at="", what="requested", by=queries.requester_text(request),
        outcome="info", reason=request.reason,
        where=f"{request.source.filename}:{request.source.lineno}")]
    if id(request) in automatic:
        items.append(automatic[id(request)])
    booked = undone = None
    if adj.applied_on is not None:
        effective = adj.effective_date or adj.applied_on
        booked = TimelineItem(date=adj.applied_on, at="", what="applied", by="",
                              outcome="info", note=f"booked on {effective.isoformat()}")
    if adj.reversed_on is not None:
        undone = TimelineItem(date=adj.reversed_on, at="", what="reversed", by="",
                              outcome="info", note="reversing entry booked")
    if booked is not None and adj.applied_source == request.source:
        items.append(booked)
        booked = None
    reversals = reversal_events(adj)
    for record in adj.history:
        event = record.event
        outcome = "stale" if record.stale and not record.accepted else (
            "accepted" if record.accepted else "refused")
        items.append(TimelineItem(
            date=event.date, at=event.at or "", what=event_action(event, reversals),
            by=event.by,
            outcome=outcome, reason=event.reason or "", comment=event.comment or "",
            note=record.note, digest=_digest_status(event.digest, adj),
            where=f"{event.source.filename}:{event.source.lineno}"))
        if not record.accepted:
            continue
        if id(event) in automatic:
            items.append(automatic[id(event)])
        if booked is not None and event.source == adj.applied_source:
            items.append(booked)
            booked = None
        if undone is not None and event.source == adj.reversed_source:
            items.append(undone)
            undone = None
    # A book made without sources for its effects still shows them, last.
    items += [item for item in (booked, undone) if item is not None]
    return items


def rejection(adj: Adjustment) -> TimelineItem | None:
    """The rejection that stands: of the request (state rejected) or of its
    reversal (refused, so applied again)."""
    if adj.state not in (State.REJECTED, State.APPLIED):
        return None
    for record in reversed(adj.history):
        event = record.event
        if record.accepted and event.action is Action.CANCEL:
            return None
        if record.accepted and event.action is Action.REJECT:
            what = "rejected" if adj.state is State.REJECTED else "reversal refused"
            return TimelineItem(date=event.date, at=event.at or "", what=what, by=event.by,
                                outcome="accepted", reason=event.reason or "",
                                comment=event.comment or "")
    return None


def journal_hashes(entries: Sequence[data.Directive],
                   adj: Adjustment) -> tuple[str | None, str | None]:
    """Fava's hashes of the booked and the reversing transaction of `adj`.

    The entries are sorted by date and each generated one is dated where the
    book says, so only that day is searched (a detail page must not walk a
    large ledger).
    """
    def find(day: datetime.date | None, tag: str) -> str | None:
        # The plugin's own entry (`effects.own_effect`), never a transaction written
        # with its tag and link (a forgery): else nothing is linked.
        if day is None:
            return None
        at = bisect.bisect_left(entries, day, key=lambda e: e.date)
        while at < len(entries) and entries[at].date == day:
            entry = entries[at]
            if isinstance(entry, data.Transaction) and own_effect(entry, adj) == tag:
                return str(compare.hash_entry(entry))
            at += 1
        return None

    return find(adj.effective_date, TAG_APPLIED), find(adj.reversed_on, TAG_REVERSAL)


def requirements(index: BookIndex, adj: Adjustment, on: datetime.date, *,
                 written: datetime.date) -> list[Requirement]:
    return _levels(index, adj, on, adj.chain, adj.approvals, written=written,
                   open_now=adj.state is State.PENDING)


def reversal_requirements(index: BookIndex, adj: Adjustment, on: datetime.date, *,
                          written: datetime.date) -> list[Requirement]:
    """The levels of the reversal's chain (asked for by cancelling it once applied)."""
    return _levels(index, adj, on, adj.reversal_chain, adj.reversal_approvals,
                   written=written, open_now=adj.state is State.REVERSING)


def _levels(index: BookIndex, adj: Adjustment, on: datetime.date, chain: tuple[str, ...],
            approvals: tuple[Approval, ...], *, written: datetime.date,
            open_now: bool) -> list[Requirement]:
    out: list[Requirement] = []
    for level, role in enumerate(chain, start=1):
        done = next((a for a in approvals if a.level == level), None)
        if done is not None:
            out.append(Requirement(level, role, "done", done.by, done.date))
        elif open_now and level == len(approvals) + 1:
            out.append(Requirement(level, role, "next",
                                   eligible=tuple(eligible_approvers(index, adj, on,
                                                                     written=written))))
        else:
            out.append(Requirement(level, role, "waiting" if open_now else "not given"))
    return out


def _balance(index: BookIndex, customer: str) -> list[str]:
    totals = index.balance(customer)
    return [f"{fmt_number(n)} {c}" for c, n in sorted(totals.items())]


def credited_against(index: BookIndex, invoice: str) -> Decimal:
    """What applied (not reversed) credits have taken off `invoice` so far."""
    total = Decimal(0)
    receivable = index.book.settings.receivable
    for adj in index.invoice_items(invoice):
        if adj.state in BOOKED_STATES:
            total += credit_taken(adj.request.postings, adj.amount, receivable)
    return total


def detail_view(index: BookIndex, adj_id: str, *, today: datetime.date,
                written: datetime.date, user: str | None,
                ticket_url: str | None = None,
                earlier_limit: int = 25,
                entries: Sequence[data.Directive] = ()) -> DetailView | None:
    """The detail page's model (what `user` may do judged as written on `written`,
    `actions.refusal`); `entries` (the loaded ledger's, sorted) give the links to
    the booked and reversing transactions."""
    adj = index.book.get(adj_id)
    if adj is None:
        return None
    request = adj.request
    row = queue_row(index, adj, today=today, written=written, user=user, detailed=True)
    history = [a for a in index.customer_items(request.customer) if a.id != adj.id]
    earlier_all = [a for a in history if (a.request.date, a.id) <= (request.date, adj.id)]
    earlier = [queue_row(index, a, today=today, written=written, user=user)
               for a in reversed(earlier_all[-earlier_limit:])]
    refs: list[RefView] = []
    if request.invoice:
        ref = index.book.invoices.get(request.invoice)
        if ref is not None:
            refs.append(RefView("invoice", ref, credited_against(index, ref.id)))
    if request.order:
        ref = index.book.orders.get(request.order)
        if ref is not None:
            refs.append(RefView("order", ref))
    document_path: str | None = None
    exists = False
    if request.document:
        base = os.path.dirname(request.source.filename)
        document_path = os.path.normpath(os.path.join(base, request.document))
        exists = os.path.isfile(document_path)
    policy = (queries.rule_text(adj, index.book) if adj.state is not State.INVALID
              else "the request is invalid; no rule was chosen")
    booked, reversal = journal_hashes(entries, adj) if entries else (None, None)
    return DetailView(
        adj=adj, row=row, postings=request.postings,
        customer=index.book.directory.customer_on(request.customer, today),
        balance=_balance(index, request.customer), earlier=earlier,
        later_count=len(history) - len(earlier_all), references=refs,
        ticket=request.ticket, ticket_url=ticket_link(ticket_url, request.ticket),
        document=request.document, document_path=document_path, document_exists=exists,
        timeline=timeline(index.book, adj),
        requirements=requirements(index, adj, today, written=written),
        reversal_requirements=reversal_requirements(index, adj, today, written=written),
        still_requires=queries.requirements(adj), policy=policy,
        problems=adj.problems, warnings=index.book.warnings_of(adj.id), actions=row.actions,
        notes=request.notes, approval_required=request.approval_required,
        customer_label=customer_label(index, request.customer, today),
        booked_hash=booked, reversal_hash=reversal, rejection=rejection(adj))
