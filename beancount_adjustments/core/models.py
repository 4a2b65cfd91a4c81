"""Immutable domain models: what the ledger says, and the book replayed from it.

Nothing here knows Beancount or Fava: `beans` reads entries into these
values (its checks are the validation) and the replay judges them. Values
the ledger holds one of per request or event are named tuples; the others
are frozen dataclasses.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from beancount_adjustments.core.figures import figure


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    APPLIED = "applied"
    REVERSING = "reversing"
    """Applied, and its cancellation (the reversal) awaits approval."""
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REVERSED = "reversed"
    INVALID = "invalid"


OPEN_STATES = frozenset({State.PENDING, State.APPROVED, State.REVERSING})
"""States in which a request still awaits a decision or an action."""

BOOKED_STATES = frozenset({State.APPLIED, State.REVERSING})
"""States in which the adjustment's effect is on the books (and not reversed)."""


KNOWN_TYPES = (
    # DESIGN.md's types and categories; a site declares more (`Declaration`).
    "credit:account", "credit:promotional", "credit:goodwill", "credit:refund",
    "debit:correction", "debit:fee", "debit:balance-correction", "debit:chargeback",
    "billing:invoice-correction", "billing:tax", "billing:discount", "billing:price-correction",
)
KNOWN_CATEGORIES = (
    "customer-service:goodwill", "customer-service:service-recovery",
    "customer-service:loyalty", "customer-service:complaint-resolution",
    "operational:billing-error", "operational:system-correction",
    "operational:data-migration", "operational:process-improvement",
    "financial:payment-correction", "financial:tax-adjustment",
    "financial:currency-correction", "financial:reconciliation",
)


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    APPLY = "apply"
    CANCEL = "cancel"


class Kind(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    BILLING = "billing"


class Source(NamedTuple):
    """Where a directive is written: what errors point at."""

    filename: str
    lineno: int


class Money(NamedTuple):
    """An amount: a number in a currency. A named tuple: every request has one."""

    number: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{figure(self.number)} {self.currency}"


class Posting(NamedTuple):
    account: str
    number: Decimal
    currency: str


class Annotation(NamedTuple):
    """A request posting's price (`@`) or cost (`{}`): the applied entry books them too."""

    account: str
    number: Decimal
    currency: str
    price: Money | None
    cost: Money | None
    cost_date: datetime.date | None
    cost_label: str | None


class Request(NamedTuple):
    """An adjustment request as written: the transaction with `adjustment-type`.

    A named tuple, like `Event`: there is one per request in the ledger.
    """

    id: str
    date: datetime.date
    type: str
    category: str | None
    customer: str
    requested_by: str
    reason: str
    payee: str | None
    narration: str
    postings: tuple[Posting, ...]
    source: Source
    invoice: str | None = None
    order: str | None = None
    ticket: str | None = None
    document: str | None = None
    effective: datetime.date | None = None
    risk: tuple[str, ...] = ()
    external_id: str | None = None
    entered_by: str | None = None
    """Who wrote the request (the acting identity of the tool); a requester too."""
    at: str | None = None
    """When a tool wrote it (ISO 8601 with offset)."""
    judged: Money | None = None
    """The converted amount it was judged at when written, if a price converted it."""
    chain: tuple[str, ...] | None = None
    """The approval chain in force when the request was written (None: not recorded)."""
    notes: str | None = None
    """Free text for reviewers (`notes:`), shown by the tools, never judged."""
    approval_required: bool = False
    """`approval-required: TRUE`: a reviewer must approve even below every threshold."""
    on_statement: bool = True
    """`on-statement: FALSE`: the customer's statement shows it only as an account
    adjustment without detail (it still moves the books)."""
    aging_from: datetime.date | None = None
    """`aging-from:`: the day its amount starts aging on the statement."""
    annotations: tuple[Annotation, ...] = ()
    """The prices and costs written on its postings (most requests have none)."""
    customer_reason: str | None = None
    """What the customer's notices tell them of it (`customer-reason:`): judged by
    nothing, but part of what `check --since` holds a decided request to."""

    @property
    def requesters(self) -> tuple[str, ...]:
        """Everyone who counts as the request's requester: they never approve it."""
        if self.entered_by is None or self.entered_by == self.requested_by:
            return (self.requested_by,)
        return (self.requested_by, self.entered_by)

    @property
    def entrant(self) -> str | None:
        """Who entered it for its requester, when that is someone else (None: the
        requester wrote it): what every tool names beside the requester."""
        return self.requesters[1] if len(self.requesters) > 1 else None

    @property
    def kind(self) -> Kind:
        return kind_of(self.type)


class Event(NamedTuple):
    """A `custom "adjustment" ID ACTION` directive.

    A named tuple, like `Source`: a ledger holds tens of thousands of events.
    """

    adjustment_id: str
    action: Action
    date: datetime.date
    by: str
    reason: str | None
    comment: str | None
    at: str | None
    digest: str | None
    effective: datetime.date | None
    signature: str | None
    source: Source
    judged: Money | None = None
    """The converted amount the decider was shown, when a price converted it."""
    chain: tuple[str, ...] | None = None
    """The approval chain in force as the decider saw it (None: not recorded)."""
    limit_judged: Money | None = None
    """The amount in the approver's limit currency that their limit was checked at,
    when that currency is another than the amount's (`limit-judged:`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserGrant:
    """One `adjustment-user` line: roles a user holds from its date on."""

    date: datetime.date
    user: str
    roles: tuple[str, ...]
    limit: Money | None = None
    email: str | None = None
    git: str | None = None
    """The e-mail their git commits carry (`git-identity` checks)."""
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRecord:
    date: datetime.date
    customer: str
    tier: str | None
    """None as read from a declaration that gives no tier: the directory keeps the
    tier the customer had (else the default tier)."""
    name: str | None = None
    contact: str | None = None
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRow:
    """One row of the approval matrix."""

    date: datetime.date
    pattern: str
    threshold: Money
    roles: tuple[str, ...]
    customer_tier: str | None = None
    category: str | None = None
    risk: str | None = None
    source: Source

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None, str]:
        """Rows sharing a key replace one another over time."""
        return (self.pattern, self.customer_tier, self.category, self.risk,
                self.threshold.currency + str(self.threshold.number.normalize()))

    def describe(self) -> str:
        narrow = [f"{k}={v}" for k, v in (("customer-tier", self.customer_tier),
                                           ("category", self.category),
                                           ("risk", self.risk)) if v]
        chain = " > ".join(self.roles) or "automatic"
        extra = f" [{', '.join(narrow)}]" if narrow else ""
        return f"{self.pattern}{extra} from {self.threshold}: {chain}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TypePolicy:
    """One `adjustment-policy` directive: per-type settings."""

    date: datetime.date
    pattern: str
    separate_apply: bool | None = None
    document_above: Money | None = None
    sla_days: int | None = None
    signatures_required: bool | None = None
    backdate_days: int | None = None
    require_at: bool | None = None
    git_identity: bool | None = None
    git_signed: bool | None = None
    """`git-identity: "signed"`: only a good signature counts, not the author e-mail
    (set with `git_identity`, so the same directive decides both)."""
    hold_until_billed: bool | None = None
    statement_text: str | None = None
    manual_chain: tuple[str, ...] | None = None
    """`manual-chain:`: the roles a request asking for review (`approval-required:
    TRUE`) needs where the matrix would approve it automatically."""
    offset_accounts: tuple[str, ...] | None = None
    """`offset-accounts:`: the patterns a leg outside the receivable may match."""
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """A site's own adjustment type or category (`adjustment-type`, `adjustment-category`)."""

    date: datetime.date
    kind: str
    """"type" or "category"."""
    name: str
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodLock:
    date: datetime.date
    through: datetime.date
    by: str | None = None
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong in the ledger, tied to the entry that holds it."""

    code: str
    message: str
    source: Source
    adjustment_id: str | None = None


class Approval(NamedTuple):
    """One level of a chain filled: who approved, as which role, when."""

    by: str
    role: str
    level: int
    date: datetime.date
    at: str | None = None


class Record(NamedTuple):
    """One event as the replay judged it: the audit timeline's line."""

    event: Event
    accepted: bool
    stale: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Adjustment:
    """A request and everything the ledger says happened to it."""

    request: Request
    digest: str
    state: State
    amount: Money | None
    tier: str | None
    chain: tuple[str, ...]
    rule: ApprovalRow | None
    separate_apply: bool
    sla_days: int | None
    approvals: tuple[Approval, ...]
    history: tuple[Record, ...]
    decided_on: datetime.date | None = None
    applied_on: datetime.date | None = None
    effective_date: datetime.date | None = None
    reversed_on: datetime.date | None = None
    applied_source: Source | None = None
    reversed_source: Source | None = None
    reversal_chain: tuple[str, ...] = ()
    """The chain the reversal needs (state `reversing`, or once reversed)."""
    reversal_approvals: tuple[Approval, ...] = ()
    cancelled_by: str | None = None
    """Who asked for the reversal of an applied adjustment."""
    problems: tuple[Problem, ...] = ()
    risk_flags: tuple[str, ...] = ()
    """The request's `risk:` flags and those `risk.request_flags` raised at arrival."""
    signatures_required: bool = False
    judged: Money | None = None
    """The amount converted into the thresholds' currency, when a price converted it."""
    hold_until_billed: bool = False
    """Its type applies only once the customer is billed after its approval."""

    @property
    def id(self) -> str:
        return self.request.id

    @property
    def level(self) -> int:
        """Approval levels filled so far."""
        return len(self.approvals)

    @property
    def next_role(self) -> str | None:
        if self.state is State.PENDING and self.level < len(self.chain):
            return self.chain[self.level]
        if (self.state is State.REVERSING
                and len(self.reversal_approvals) < len(self.reversal_chain)):
            return self.reversal_chain[len(self.reversal_approvals)]
        return None

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(a.by for a in self.approvals)

    @property
    def in_force(self) -> bool:
        """Booked and not reversed: applied, or its reversal still awaiting approval."""
        return self.applied_on is not None and self.state is not State.REVERSED

    @property
    def deciding_chain(self) -> tuple[str, ...]:
        """The chain now being filled: the reversal's while reversing."""
        return self.reversal_chain if self.state is State.REVERSING else self.chain

    @property
    def deciding_approvals(self) -> tuple[Approval, ...]:
        return self.reversal_approvals if self.state is State.REVERSING else self.approvals

    @property
    def deciding_approvers(self) -> tuple[str, ...]:
        return tuple(a.by for a in self.deciding_approvals)


_KINDS = {kind.value: kind for kind in Kind}


def kind_of(adj_type: str) -> Kind:
    """The kind a type belongs to (its part before the colon; the reader checked it)."""
    return _KINDS[adj_type.partition(":")[0]]
