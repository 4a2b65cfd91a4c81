"""One row of the queue, and the sections (steps awaited) rows are grouped by."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from beancount_adjustments.core.lifecycle import allowed, step_shown
from beancount_adjustments.core.models import Action, Adjustment, State
from beancount_adjustments.fava_ext.actions import (
    ActionHint,
    action_hints,
    eligible_approvers,
    is_mine,
)
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.labels import fmt_money
from beancount_adjustments.reports import queries
from beancount_adjustments.reports.queries import age_days, is_overdue


@dataclass(frozen=True)
class QueueRow:
    id: str
    date: datetime.date
    age_days: int
    amount: str
    number: Decimal
    currency: str
    type: str
    kind: str
    category: str
    customer: str
    customer_name: str
    customer_shared: bool
    """Another customer's name reads as this one's: the page shows the id beside it."""
    tier: str
    requested_by: str
    requester: str
    """`queries.requester_text`: "carol (entered by alice)" when alice entered it."""
    requesters: tuple[str, ...]
    entered_by: str | None
    """`Request.entrant`: who entered it for its requester (None: the requester)."""
    state: str
    level: int
    needed: int
    next_role: str
    risk: tuple[str, ...]
    sla_days: int | None
    """Its type's `sla-days` (or the plugin's `default-sla-days`); None: no SLA."""
    overdue: bool
    """`queries.is_overdue`: the one rule the CLI, reports and notify use too."""
    mine: bool
    narration: str
    problems: int
    eligible: tuple[str, ...] = ()
    actions: tuple[ActionHint, ...] = ()
    digest: str = ""
    """The request's digest as shown (detailed rows only): the page posts it back
    with each decision so the writer refuses an item that changed meanwhile."""
    step: str = ""
    """`lifecycle.step_shown` (detailed rows only), posted back as the digest is."""
    section: str = ""
    """The queue section it waits in (`SECTIONS`): the step its state awaits."""

    @property
    def reversal(self) -> bool:
        """A reversal awaiting approval (state `reversing`)."""
        return self.state == State.REVERSING


@dataclass(frozen=True)
class Section:
    """What a queue section is: the one step its items await, and its batch button."""

    key: str
    title: str
    action: Action
    button: str
    empty: str


SECTIONS = (
    Section("approve", "To approve", Action.APPROVE, "Approve selected",
            "Nothing awaits approval"),
    Section("apply", "To apply", Action.APPLY, "Apply selected",
            "Nothing approved awaits its apply"),
    Section("reversal", "Reversals to approve", Action.APPROVE, "Approve selected reversals",
            "No reversal awaits approval"),
)
SECTION = {s.key: s for s in SECTIONS}


def section_of(adj: Adjustment) -> str:
    """The section an open item waits in: the step the lifecycle lets its state
    take next (the transition table `permissions.denial` itself consults)."""
    if adj.state is State.REVERSING and allowed(adj.state, Action.APPROVE):
        return "reversal"
    if adj.state is State.APPROVED and adj.separate_apply and allowed(adj.state, Action.APPLY):
        return "apply"
    if adj.next_role is not None and allowed(adj.state, Action.APPROVE):
        return "approve"
    return ""


def queue_row(index: BookIndex, adj: Adjustment, *, today: datetime.date,
              written: datetime.date, user: str | None, detailed: bool = False) -> QueueRow:
    """`adj` as the queue shows it to `user` on `today`, what they may do judged as
    written on `written` (`actions.refusal`)."""
    request = adj.request
    age = age_days(adj, today)
    amount = adj.amount
    return QueueRow(
        id=adj.id, date=request.date, age_days=age, amount=fmt_money(amount),
        number=amount.number if amount else Decimal(0),
        currency=amount.currency if amount else "", type=request.type,
        kind=request.type.split(":", 1)[0], category=request.category or "",
        customer=request.customer,
        customer_name=queries.customer_name(index.book, request.customer, today),
        customer_shared=request.customer in index.namesakes,
        tier=adj.tier or "", requested_by=request.requested_by,
        requester=queries.requester_text(request), requesters=request.requesters,
        entered_by=request.entrant, state=str(adj.state),
        level=len(adj.deciding_approvals), needed=len(adj.deciding_chain),
        next_role=adj.next_role or "",
        risk=adj.risk_flags, sla_days=adj.sla_days, overdue=is_overdue(adj, today),
        mine=is_mine(index, adj, user, today, written=written), narration=request.narration,
        problems=len(adj.problems),
        eligible=(tuple(eligible_approvers(index, adj, today, written=written))
                  if detailed else ()),
        actions=(tuple(action_hints(index, adj, user, today, written=written))
                 if detailed else ()),
        digest=adj.digest if detailed else "",
        step=step_shown(adj) if detailed else "", section=section_of(adj))

