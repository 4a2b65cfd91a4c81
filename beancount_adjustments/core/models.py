"""Immutable domain models: what the ledger says, and the book replayed from it.

Nothing here knows Beancount or Fava. `directives` turns entries into these
models; `book` replays them. Models built from already-typed ledger data use
`maker`/`build` on the hot path (the checks in `directives` are the
validation); everything else validates normally. `Request`, `Event`,
`Money`, `Source` and `Posting` are named tuples: small immutable values a
large ledger holds hundreds of thousands of, where a model instance would
cost twice the memory and time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)


F = TypeVar("F", bound=Frozen)
_DEFAULTS: dict[type[Frozen], dict[str, Any]] = {}
_MAKERS: dict[tuple[type[Frozen], tuple[str, ...]], Callable[..., Any]] = {}
_HOLDERS: dict[type[Frozen], type] = {}


def _defaults(cls: type[Frozen]) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {
            name: field.default for name, field in cls.model_fields.items()
            if not field.is_required()}
    return found


def maker(cls: type[F], *names: str) -> Callable[..., F]:
    """A constructor of trusted `cls` instances taking `names` positionally.

    The replay builds hundreds of thousands of models per load of a large
    ledger, and the plugin must stay a few percent of Beancount's own load
    time and memory. `model_construct` costs several times more than this.
    Values come from Beancount's typed entries after the checks in
    `directives`; nothing is validated.

    Two things make the instances small and quick to make:

    - Models are frozen, so instances built from the same names share one
      fields-set: a set per instance would outweigh the instance itself.
    - The field values are first set as attributes of a plain per-model
      "holder" object, whose `__dict__` CPython then keeps as a key-sharing
      dict (one key table per class, only values per instance: about a third
      of an ordinary dict), and that dict becomes the model's `__dict__`.
      Straight-line attribute stores (generated once per model and names,
      as `dataclasses` does) are also faster than building a dict.

    The `__dict__` holds the defaults first (in field order), then the
    given names in call order: the order `build` has always produced.
    """
    key = (cls, names)
    found: Callable[..., F] | None = _MAKERS.get(key)
    if found is not None:
        return found
    defaults = _defaults(cls)
    unknown = [name for name in names if name not in cls.model_fields]
    if unknown or len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}: bad field names {names}")
    holder = _HOLDERS.get(cls)
    if holder is None:
        holder = _HOLDERS[cls] = type(f"_{cls.__name__}Values", (), {})
    order = [*defaults, *(name for name in names if name not in defaults)]
    namespace: dict[str, Any] = {
        "_cls": cls, "_holder": holder, "_new": object.__new__,
        "_set": object.__setattr__, "_fields_set": set(names),
        **{f"_default_{name}": value for name, value in defaults.items()}}
    lines = [f"def make({', '.join(names)}):", "    _h = _holder()"]
    lines += [f"    _h.{name} = {name if name in names else '_default_' + name}"
              for name in order]
    # Locals start with "_": pydantic field names never do.
    lines += ["    _obj = _new(_cls)",
              "    _set(_obj, '__dict__', _h.__dict__)",
              "    _set(_obj, '__pydantic_fields_set__', _fields_set)",
              "    _set(_obj, '__pydantic_extra__', None)",
              "    _set(_obj, '__pydantic_private__', None)",
              "    return _obj"]
    exec("\n".join(lines), namespace)  # the names are the model's own fields
    make: Callable[..., F] = namespace["make"]
    _MAKERS[key] = make
    return make


def build(cls: type[F], **values: Any) -> F:
    """Construct a model from trusted, already-typed values, without validation.

    See `maker`: hot paths keep a maker and call it positionally.
    """
    make = _MAKERS.get((cls, tuple(values)))
    if make is None:
        make = maker(cls, *values)
    return make(*values.values())  # type: ignore[no-any-return]


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


_KINDS = {kind.value: kind for kind in Kind}
_TYPE_KINDS: dict[str, Kind] = {}


class Source(NamedTuple):
    """Where a directive is written: what errors point at."""

    filename: str
    lineno: int


class Money(NamedTuple):
    """An amount: a number in a currency. A named tuple: every request has one."""

    number: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.number:,.2f} {self.currency}"


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

    @property
    def requesters(self) -> tuple[str, ...]:
        """Everyone who counts as the request's requester: they never approve it."""
        if self.entered_by is None or self.entered_by == self.requested_by:
            return (self.requested_by,)
        return (self.requested_by, self.entered_by)

    @property
    def kind(self) -> Kind:
        kind = _TYPE_KINDS.get(self.type)
        if kind is None:
            kind = _KINDS[self.type.partition(":")[0]]
            if len(_TYPE_KINDS) < 1024:
                _TYPE_KINDS[self.type] = kind
        return kind


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


class UserGrant(Frozen):
    """One `adjustment-user` line: roles a user holds from its date on."""

    date: datetime.date
    user: str
    roles: tuple[str, ...]
    limit: Money | None = None
    email: str | None = None
    git: str | None = None
    """The e-mail their git commits carry (`git-identity` checks)."""
    source: Source


class CustomerRecord(Frozen):
    date: datetime.date
    customer: str
    tier: str | None
    """None as read from a declaration that gives no tier: the directory keeps the
    tier the customer had (else the default tier)."""
    name: str | None = None
    contact: str | None = None
    source: Source


class ApprovalRow(Frozen):
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


class TypePolicy(Frozen):
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
    hold_until_billed: bool | None = None
    statement_text: str | None = None
    manual_chain: tuple[str, ...] | None = None
    """`manual-chain:`: the roles a request asking for review (`approval-required:
    TRUE`) needs where the matrix would approve it automatically."""
    source: Source


class Declaration(Frozen):
    """A site's own adjustment type or category (`adjustment-type`, `adjustment-category`)."""

    date: datetime.date
    kind: str
    """"type" or "category"."""
    name: str
    source: Source


class PeriodLock(Frozen):
    date: datetime.date
    through: datetime.date
    by: str | None = None
    source: Source


class Reference(Frozen):
    """An invoice or order: a transaction carrying `invoice-id:` or `order-id:`."""

    id: str
    date: datetime.date
    customer: str | None
    amount: Money | None
    narration: str
    source: Source


class Problem(Frozen):
    """One thing wrong in the ledger, tied to the entry that holds it."""

    code: str
    message: str
    source: Source
    adjustment_id: str | None = None


class Approval(Frozen):
    by: str
    role: str
    level: int
    date: datetime.date
    at: str | None = None


class Record(Frozen):
    """One event as the replay judged it: the audit timeline's line."""

    event: Event
    accepted: bool
    stale: bool = False
    note: str = ""


class Adjustment(Frozen):
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
    def deciding_chain(self) -> tuple[str, ...]:
        """The chain now being filled: the reversal's while reversing."""
        return self.reversal_chain if self.state is State.REVERSING else self.chain

    @property
    def deciding_approvals(self) -> tuple[Approval, ...]:
        return self.reversal_approvals if self.state is State.REVERSING else self.approvals

    @property
    def deciding_approvers(self) -> tuple[str, ...]:
        return tuple(a.by for a in self.deciding_approvals)


class Terms(NamedTuple):
    """What the checks need of an invoice or order: whose it is, and its amount."""

    customer: str | None
    currency: str | None
    """None: the reference moves no single currency on the receivable."""
    number: Decimal | None


class ReferenceIndex(Mapping[str, Reference]):
    """Invoices (or orders) by id that can tell a reference's terms without
    building the whole `Reference` (the Beancount adapter's index does)."""

    def terms(self, ref_id: str) -> Terms | None:
        return _terms(self.get(ref_id))


def _terms(ref: Reference | None) -> Terms | None:
    if ref is None:
        return None
    amount = ref.amount
    return Terms(ref.customer, amount.currency if amount else None,
                 amount.number if amount else None)


def reference_terms(refs: Mapping[str, Reference], ref_id: str) -> Terms | None:
    """The terms of `ref_id` in `refs`, or None if there is no such reference."""
    if isinstance(refs, ReferenceIndex):
        return refs.terms(ref_id)
    return _terms(refs.get(ref_id))


def is_under(account: str, root: str) -> bool:
    return account == root or account.startswith(root + ":")


_ZERO = Decimal(0)


def receivable_totals(postings: Sequence[Posting], receivable: str) -> dict[str, Decimal]:
    # `is_under` inlined with the prefix made once: this runs on every request.
    prefix = receivable + ":"
    totals: dict[str, Decimal] = {}
    for account, number, currency in postings:
        if account == receivable or account.startswith(prefix):
            totals[currency] = totals.get(currency, _ZERO) + number
    return totals


def kind_of(adj_type: str) -> Kind:
    return Kind(adj_type.split(":", 1)[0])
