"""What the API returns and raises: `Adjustment` (one adjustment, frozen, with
`as_json`) and `ApiError` (a code from `STATUS` and a sentence)."""

from __future__ import annotations

import builtins
import datetime
from dataclasses import dataclass, field
from typing import Any

from beancount_adjustments.core import amounts
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.lifecycle import step_shown
from beancount_adjustments.core.models import Adjustment as Tracked
from beancount_adjustments.core.models import Money
from beancount_adjustments.reports.queries import eligible_approvers, requirements
from beancount_adjustments.writer import written_today

STATUS = {"invalid": 400, "forbidden": 403, "not-found": 404, "conflict": 409,
          "changed": 409, "refused": 422, "no-plugin": 422}
"""The HTTP status each error code is answered with (the Fava endpoints)."""


class ApiError(AdjustmentsError):
    """Why a call did nothing: `code` (see `STATUS`) and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Adjustment:
    """One adjustment as the API returns it."""

    id: str
    state: str
    type: str
    customer: str
    amount: Money | None
    """What it moves (null while the request is invalid)."""
    requires: str
    """In words, what it still needs (`queries.requirements`)."""
    next_role: str | None
    """The role that approves next (None when no approval is due)."""
    chain: tuple[str, ...]
    digest: str
    """Pass back as `seen_digest` to decide on exactly this content."""
    step: str = ""
    """The step it awaits ("pending 0/1", `lifecycle.step_shown`): pass back as
    `seen_step` to decide on exactly this step (an approve meant for the credit is
    refused once the credit was booked and cancelled, instead of approving its
    reversal)."""
    category: str | None = None
    reason: str = ""
    requested_by: str = ""
    external_id: str | None = None
    approval_required: bool = False
    notes: str | None = None
    problems: tuple[str, ...] = ()
    rule: str = ""
    """The approval row that set the chain, in words ("" when none chose it)."""
    separate_apply: bool = False
    """Approval does not book it: an apply does (the type's policy)."""
    eligible: tuple[str, ...] = ()
    """Who may give the next approval now (`permissions.denial`, written on the day
    the writer's stamp would count as: `writer.written_today`); `list` leaves it
    empty (it would ask the rule for every user and item)."""
    on_statement: bool = True
    """False: the customer's statement shows it as an "Account adjustment" only."""
    aging_from: datetime.date | None = None
    """The day its amount starts aging on the statement (None: the day it is booked)."""
    date: datetime.date | None = None
    """The request's date (the day it was filed)."""
    effective: datetime.date | None = None
    """The day it books on once applied (`effective:`; None: the day it is applied)."""
    invoice: str | None = None
    order: str | None = None
    ticket: str | None = None
    document: str | None = None
    existing: bool = field(default=False, compare=False)
    """True when `create` found it already filed under its `external_id` (nothing written)."""

    @classmethod
    def of(cls, adj: Tracked, *, existing: bool = False, book: Book | None = None) -> Adjustment:
        r = adj.request
        eligible = (tuple(eligible_approvers(book, adj, max(r.date, datetime.date.today()),
                                             written=written_today()))
                    if book is not None else ())
        return cls(id=adj.id, state=str(adj.state), type=r.type, customer=r.customer,
                   amount=adj.amount, requires=requirements(adj), next_role=adj.next_role,
                   chain=tuple(adj.chain), digest=adj.digest, step=step_shown(adj),
                   category=r.category,
                   reason=r.reason, requested_by=r.requested_by, external_id=r.external_id,
                   approval_required=r.approval_required, notes=r.notes,
                   problems=tuple(p.message for p in adj.problems),
                   rule=adj.rule.describe() if adj.rule is not None else "",
                   separate_apply=adj.separate_apply, eligible=eligible,
                   on_statement=r.on_statement, aging_from=r.aging_from, date=r.date,
                   effective=r.effective, invoice=r.invoice, order=r.order, ticket=r.ticket,
                   document=r.document, existing=existing)

    def as_json(self) -> dict[str, Any]:
        amount = (None if self.amount is None else
                  {"number": amounts.number_text(self.amount.number),
                   "currency": self.amount.currency})
        return {"id": self.id, "state": self.state, "type": self.type,
                "category": self.category, "customer": self.customer, "amount": amount,
                "reason": self.reason, "requested_by": self.requested_by,
                "requires": self.requires, "next_role": self.next_role,
                "chain": builtins.list(self.chain), "digest": self.digest, "step": self.step,
                "external_id": self.external_id, "approval_required": self.approval_required,
                "notes": self.notes, "problems": builtins.list(self.problems),
                "rule": self.rule, "separate_apply": self.separate_apply,
                "eligible": builtins.list(self.eligible), "on_statement": self.on_statement,
                "aging_from": self.aging_from.isoformat() if self.aging_from else None,
                "date": self.date.isoformat() if self.date else None,
                "effective": self.effective.isoformat() if self.effective else None,
                "invoice": self.invoice, "order": self.order, "ticket": self.ticket,
                "document": self.document}


