"""The book: every adjustment's state, replayed from the ledger's facts.

`replay(facts, rates)` is the one function that turns requests and events
into states, approvals, effects and problems. It is pure: same facts, same
book. The plugin calls it once per load; everything else reads its result.

Replay walks one timeline, day by day: on each day the requests dated that
day arrive first (and one below every threshold is approved, and applied,
at once), then the day's events in ledger order. An event that does not fit
(wrong state, wrong person, stale content, closed period) is recorded in the
request's history as refused, reported as a problem at its line, and
changes nothing.

The replay keeps each adjustment as a small mutable `Tracked` record and
the book hands out the frozen `Adjustment` model of one the first time a
tool reads it (`Book.adjustments` is a lazy mapping). A load of a large
ledger thus pays only for the judging, not for models nobody looks at: the
plugin has to stay a few percent of Beancount's own load time and memory.
The request digest and, unless an approval row depends on them, the
arrival risk flags are computed on first read too.
"""

from __future__ import annotations

import bisect
import datetime
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from beancount_adjustments.digest import request_digest
from beancount_adjustments.directives import receivable_totals, reference_terms
from beancount_adjustments.lifecycle import TRANSITIONS, refusal
from beancount_adjustments.models import (
    Action,
    Adjustment,
    Approval,
    ApprovalRow,
    CustomerRecord,
    Event,
    Frozen,
    Kind,
    Money,
    PeriodLock,
    Problem,
    Record,
    Reference,
    Request,
    Source,
    State,
    TypePolicy,
    UserGrant,
    build,
    maker,
)
from beancount_adjustments.policy import (
    Directory,
    Matrix,
    MissingPrice,
    Rates,
    TypePolicies,
    TypeSettings,
    convert,
    within_limit,
)
from beancount_adjustments.risk import (
    ARRIVAL_CHECKS,
    AlertRule,
    Arrivals,
    RiskConfig,
    RiskSetting,
    request_flags,
)
from beancount_adjustments.seals import Seal
from beancount_adjustments.signatures import KeyRing, PublicKey, signature_refusal

# Made when an adjustment is first read: see `models.maker`.
_record = maker(Record, "event", "accepted", "stale", "note")
_approval = maker(Approval, "by", "role", "level", "date", "at")
_adjustment = maker(
    Adjustment, "request", "digest", "state", "amount", "tier", "chain", "rule",
    "separate_apply", "sla_days", "approvals", "history", "decided_on", "applied_on",
    "effective_date", "reversed_on", "applied_source", "reversed_source", "problems",
    "risk_flags")


class Settings(Frozen):
    receivable: str = "Assets:Receivable"
    id_prefix: str = "ADJ"
    checks: tuple[str, ...] = ()


@dataclass
class Facts:
    """What the ledger says, read but not yet judged."""

    requests: list[Request] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    grants: list[UserGrant] = field(default_factory=list)
    customers: list[CustomerRecord] = field(default_factory=list)
    rows: list[ApprovalRow] = field(default_factory=list)
    policies: list[TypePolicy] = field(default_factory=list)
    locks: list[PeriodLock] = field(default_factory=list)
    invoices: Mapping[str, Reference] = field(default_factory=dict)
    orders: Mapping[str, Reference] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    risk_settings: list[RiskSetting | AlertRule] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    keys: list[PublicKey] = field(default_factory=list)


class Given(NamedTuple):
    """An approval as the replay records it (`Approval` once read)."""

    by: str
    role: str
    level: int
    date: datetime.date
    at: str | None


class Line(NamedTuple):
    """An event as the replay judged it (`Record` once read).

    A history holds the event itself for the usual accepted, current one:
    no tuple per event for what most events are.
    """

    event: Event
    accepted: bool
    stale: bool
    note: str


_NONE: tuple[()] = ()
_tuple_new = tuple.__new__  # a named tuple without the Python-level __new__


def with_flags(request: Request, flags: tuple[str, ...]) -> tuple[str, ...]:
    """The request's own `risk:` flags, then `flags` it lacks, each once."""
    if not flags and not request.risk:
        return _NONE
    return tuple(dict.fromkeys((*request.risk, *flags)))


class Tracked:
    """An adjustment's state while the replay walks the timeline, and after.

    What the plugin needs from the book (state, dates, approvers, the
    events behind the effects) is read straight from here; `freeze` makes
    the `Adjustment` model the tools read.
    """

    __slots__ = ("_digest", "amount", "applied_by", "applied_on", "approvals", "chain",
                 "decided_on", "effective_date", "history", "lowers", "problems", "request",
                 "reversed_by", "reversed_on", "risk_flags", "rule", "settings", "stale",
                 "state", "tier")

    def __init__(self, request: Request, settings: TypeSettings) -> None:
        self.request = request
        self.settings = settings
        self.state = State.INVALID
        self._digest: str | None = None
        self.amount: Money | None = None
        self.lowers = False
        """The request lowers what the customer owes (a credit, or a billing one that does)."""
        self.tier: str | None = None
        self.chain: tuple[str, ...] = _NONE
        self.rule: ApprovalRow | None = None
        self.approvals: tuple[Given, ...] = _NONE
        self.stale: tuple[Given, ...] = _NONE
        self.history: tuple[Line | Event, ...] = _NONE
        self.problems: tuple[Problem, ...] = _NONE
        self.decided_on: datetime.date | None = None
        self.applied_on: datetime.date | None = None
        self.effective_date: datetime.date | None = None
        self.reversed_on: datetime.date | None = None
        self.applied_by: Event | None = None
        """The event that applied it (None: applied on arrival, or not applied)."""
        self.reversed_by: Event | None = None
        self.risk_flags = with_flags(request, _NONE)

    @property
    def applied_source(self) -> Source | None:
        """Where the effect comes from: the applying event, else the request."""
        if self.applied_on is None:
            return None
        return self.applied_by.source if self.applied_by is not None else self.request.source

    @property
    def reversed_source(self) -> Source | None:
        return self.reversed_by.source if self.reversed_by is not None else None

    @property
    def digest(self) -> str:
        found = self._digest
        if found is None:
            found = self._digest = request_digest(self.request)
        return found

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple([a.by for a in self.approvals])

    def freeze(self) -> Adjustment:
        settings = self.settings
        return _adjustment(
            self.request, self.digest, self.state, self.amount, self.tier, self.chain,
            self.rule, settings.separate_apply, settings.sla_days,
            tuple(_approval(*a) for a in self.approvals),
            tuple(_record(line, True, False, "") if type(line) is Event else _record(*line)
                  for line in self.history), self.decided_on,
            self.applied_on, self.effective_date, self.reversed_on, self.applied_source,
            self.reversed_source, self.problems, self.risk_flags)


class _Flags:
    """Arrival risk flags computed on first read, for when no approval row uses them."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.pending: list[Tracked] = []

    def settle(self) -> None:
        arrivals, pending = self.arrivals, self.pending
        self.pending = []
        for tracked in pending:
            flags = request_flags(tracked.request, arrivals, tracked.amount, tracked.tier)
            if flags:
                tracked.risk_flags = with_flags(tracked.request, flags)


_FREEZING = threading.Lock()


class Adjustments(Mapping[str, Adjustment]):
    """The book's adjustments by id; each becomes a model when first read."""

    __slots__ = ("_flags", "_frozen", "tracked")

    def __init__(self, tracked: dict[str, Tracked], flags: _Flags | None = None) -> None:
        self.tracked = tracked
        self._frozen: dict[str, Adjustment] = {}
        self._flags = flags

    def __getitem__(self, adjustment_id: str) -> Adjustment:
        found = self._frozen.get(adjustment_id)
        if found is None:
            tracked = self.tracked[adjustment_id]
            with _FREEZING:
                if self._flags is not None:
                    self._flags.settle()
                    self._flags = None
                found = self._frozen.setdefault(adjustment_id, tracked.freeze())
        return found

    def __contains__(self, adjustment_id: object) -> bool:
        return adjustment_id in self.tracked

    def __iter__(self) -> Iterator[str]:
        return iter(self.tracked)

    def __len__(self) -> int:
        return len(self.tracked)

    def __repr__(self) -> str:
        return f"<{len(self.tracked)} adjustments>"


class Book(Frozen):
    """Everything the tools read: the adjustments and what is wrong."""

    adjustments: Mapping[str, Adjustment]
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    directory: Directory
    matrix: Matrix
    policies: TypePolicies
    locks: tuple[PeriodLock, ...]
    invoices: Mapping[str, Reference]
    orders: Mapping[str, Reference]
    settings: Settings
    facts: Facts
    """What the replay judged: the writer re-judges a candidate change against it."""

    def get(self, adjustment_id: str) -> Adjustment | None:
        return self.adjustments.get(adjustment_id)

    def in_state(self, *states: State) -> list[Adjustment]:
        return [a for a in self.adjustments.values() if a.state in states]

    def tracked(self) -> Mapping[str, Tracked]:
        """The replay's records (what the plugin reads without making models)."""
        adjustments = self.adjustments
        if not isinstance(adjustments, Adjustments):
            raise TypeError("this book was not made by `replay`; it has no records")
        return adjustments.tracked


class _Replay:
    def __init__(self, facts: Facts, rates: Rates, settings: Settings) -> None:
        self.facts = facts
        self.rates = rates
        self.settings = settings
        self.directory = Directory.build(facts.grants, facts.customers)
        self.matrix = Matrix.build(facts.rows)
        self.policies = TypePolicies.build(facts.policies)
        self.locks = sorted(facts.locks, key=lambda lock: lock.date)
        self.problems: list[Problem] = list(facts.problems)
        self.warnings: list[Problem] = []
        self.progress: dict[str, Tracked] = {}
        self.credited: dict[str, Decimal] = {}
        self.requested_on: dict[str, datetime.date] = {}
        for request in facts.requests:
            first = self.requested_on.get(request.id)
            self.requested_on[request.id] = request.date if first is None else min(
                first, request.date)
        # Settings change only on the dates of policy directives: cached per type
        # and number of policies in force, not per day.
        self._settings_cache: dict[tuple[str, int], TypeSettings] = {}
        self._policy_dates = [policy.date for policy in self.policies.policies]
        # By id() of a matrix version: the versions live as long as the replay.
        self._roles_cache: dict[int, frozenset[str]] = {}
        self.arrivals = Arrivals(RiskConfig.build(facts.risk_settings), self.matrix)
        # Arrival flags decide a chain only through rows narrowed by one of their
        # names; without such a row they are worked out when the book is read.
        flag_rows = any(row.risk in ARRIVAL_CHECKS for row in facts.rows)
        self.deferred = None if flag_rows else _Flags(self.arrivals)
        self.keyring = KeyRing.build(facts.keys)
        self._actions = {Action.APPROVE: self.approve, Action.REJECT: self.reject,
                         Action.APPLY: self.apply_event, Action.CANCEL: self.cancel}

    # -- reporting -----------------------------------------------------------

    def fail(self, code: str, message: str, source: Source, adj: Tracked | None = None,
             adjustment_id: str | None = None) -> None:
        problem = build(Problem,
            code=code, message=message, source=source,
            adjustment_id=adj.request.id if adj else adjustment_id)
        self.problems.append(problem)
        if adj is not None:
            adj.problems += (problem,)

    def refuse(self, adj: Tracked, event: Event, code: str, message: str) -> None:
        self.fail(code, f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                  f"{message}", event.source, adj)
        adj.history += (Line(event, False, False, message),)

    # -- the timeline --------------------------------------------------------

    def run(self) -> Book:
        # A stable sort by date of requests-then-events puts each day's requests
        # first and keeps ledger order within each; read from a sorted ledger the
        # two lists are sorted runs already, which the sort merges in one pass.
        timeline: list[Request | Event] = [*self.facts.requests, *self.facts.events]
        timeline.sort(key=attrgetter("date"))
        arrive, handle, event_type = self.arrive, self.handle, Event
        for item in timeline:
            if type(item) is event_type:
                handle(item)
            else:
                arrive(item)  # type: ignore[arg-type]
        return build(Book,
            adjustments=Adjustments(self.progress, self.deferred),
            problems=tuple(self.problems), warnings=tuple(self.warnings),
            directory=self.directory, matrix=self.matrix, policies=self.policies,
            locks=tuple(self.locks), invoices=self.facts.invoices, orders=self.facts.orders,
            settings=self.settings, facts=self.facts)

    def approver_roles(self, date: datetime.date) -> frozenset[str]:
        """Every role some matrix row in force on `date` names."""
        rows = self.matrix.rows_on(date)
        found = self._roles_cache.get(id(rows))
        if found is None:
            found = self._roles_cache[id(rows)] = frozenset(
                r for row in rows for r in row.roles)
        return found

    def type_settings(self, adj_type: str, date: datetime.date) -> TypeSettings:
        key = (adj_type, bisect.bisect_right(self._policy_dates, date))
        found = self._settings_cache.get(key)
        if found is None:
            found = self._settings_cache[key] = self.policies.settings(adj_type, date)
        return found

    # -- requests ------------------------------------------------------------

    def arrive(self, request: Request) -> None:
        if request.id in self.progress:
            first = self.progress[request.id].request.source
            self.fail("duplicate-id",
                      f"{request.id} is already the id of the request at "
                      f"{first.filename}:{first.lineno}; give this request its own id.",
                      request.source, adjustment_id=request.id)
            return
        settings = self.type_settings(request.type, request.date)
        adj = Tracked(request, settings)
        self.progress[request.id] = adj
        if not self.validate(adj):
            return
        if adj.chain:
            adj.state = State.PENDING
            return
        adj.state = State.APPROVED
        adj.decided_on = request.date
        if not settings.separate_apply:
            self.apply(adj, request.date, None, None)

    def validate(self, adj: Tracked) -> bool:
        """Check a request on arrival; fill amount, tier and chain. False: invalid."""
        request = adj.request
        source, rid = request.source, request.id
        ok = True
        if not self.directory.is_user(request.requested_by, request.date):
            self.fail("unknown-user",
                      f"{rid}: requested-by \"{request.requested_by}\" is not a user on "
                      f"{request.date}; declare them with custom \"adjustment-user\".",
                      source, adj)
            ok = False
        customer = self.directory.customer_on(request.customer, request.date)
        if customer is None:
            self.fail("unknown-customer",
                      f"{rid}: customer \"{request.customer}\" is not declared on "
                      f"{request.date}; add custom \"adjustment-customer\" "
                      f"\"{request.customer}\" \"<tier>\".", source, adj)
            ok = False
        else:
            adj.tier = customer.tier
        amount = self.amount_of(adj)
        if amount is None:
            return False
        # A positive amount is its own absolute value: no second Money for it.
        adj.lowers = amount.number < 0
        adj.amount = Money(-amount.number, amount.currency) if adj.lowers else amount
        if not self.check_references(adj, amount):
            ok = False
        if not self.check_document(adj):
            ok = False
        try:
            if self.deferred is None:
                adj.risk_flags = with_flags(request, request_flags(
                    request, self.arrivals, adj.amount, adj.tier))
            else:
                self.deferred.pending.append(adj)
            rule = self.matrix.choose(
                adj_type=request.type, category=request.category, tier=adj.tier,
                risk=adj.risk_flags, amount=adj.amount, date=request.date, rates=self.rates)
        except MissingPrice as missing:
            self.fail("missing-price",
                      f"{rid}: {missing}; add a price directive so the amount can be "
                      "compared with the approval thresholds (a missing price is never "
                      "guessed).", source, adj)
            return False
        adj.rule = rule
        adj.chain = rule.roles if rule else ()
        return ok

    def amount_of(self, adj: Tracked) -> Money | None:
        """The signed amount the request moves on customer accounts, checked."""
        request = adj.request
        rid, source = request.id, request.source
        root = self.settings.receivable
        totals = {c: n for c, n in receivable_totals(request.postings, root).items() if n}
        if not totals:
            self.fail("no-customer-effect",
                      f"{rid}: the postings move nothing on accounts under {root}; an "
                      "adjustment must change what the customer owes.", source, adj)
            return None
        if len(totals) > 1:
            self.fail("mixed-currencies",
                      f"{rid}: the postings move {', '.join(sorted(totals))} on {root}; "
                      "split it into one request per currency.", source, adj)
            return None
        currency, number = next(iter(totals.items()))
        kind = request.kind
        if kind is Kind.CREDIT and number > 0:
            self.fail("wrong-direction",
                      f"{rid}: a credit must lower what the customer owes, but it adds "
                      f"{number} {currency} to {root}; flip the signs or make it a debit.",
                      source, adj)
            return None
        if kind is Kind.DEBIT and number < 0:
            self.fail("wrong-direction",
                      f"{rid}: a debit must raise what the customer owes, but it takes "
                      f"{-number} {currency} off {root}; flip the signs or make it a credit.",
                      source, adj)
            return None
        return Money(number, currency)

    def check_references(self, adj: Tracked, amount: Money) -> bool:
        request = adj.request
        rid, source = request.id, request.source
        ok = True
        if request.kind is Kind.BILLING and request.invoice is None:
            self.fail("missing-invoice",
                      f"{rid}: a billing adjustment corrects an invoice; add `invoice:` "
                      "naming it.", source, adj)
            ok = False
        if request.invoice is None and request.order is None:
            return ok
        for key, refs, marker, ref_id in (
                ("invoice", self.facts.invoices, "invoice-id", request.invoice),
                ("order", self.facts.orders, "order-id", request.order)):
            if ref_id is None:
                continue
            ref = reference_terms(refs, ref_id)
            if ref is None:
                self.fail(f"unknown-{key}",
                          f"{rid}: {key} \"{ref_id}\" is not in the ledger; no transaction "
                          f"carries `{marker}: \"{ref_id}\"`.", source, adj)
                ok = False
            elif ref.customer is not None and ref.customer != request.customer:
                self.fail(f"{key}-customer",
                          f"{rid}: {key} \"{ref_id}\" belongs to customer \"{ref.customer}\", "
                          f"not \"{request.customer}\".", source, adj)
                ok = False
            elif (key == "invoice" and amount.number < 0 and ref.currency is not None
                  and ref.currency != amount.currency):
                self.fail("invoice-currency",
                          f"{rid}: invoice \"{ref_id}\" is in {ref.currency}; a credit "
                          f"against it must be too, not {amount.currency}.", source, adj)
                ok = False
        return ok

    def check_document(self, adj: Tracked) -> bool:
        request = adj.request
        rid, source = request.id, request.source
        threshold = adj.settings.document_above
        if request.document is None:
            if threshold is None or adj.amount is None:
                return True
            value = convert(adj.amount, threshold.currency, request.date, self.rates)
            if value is None:
                self.fail("missing-price",
                          f"{rid}: no price converts {adj.amount.currency} to "
                          f"{threshold.currency} on or before {request.date}, so the "
                          "documentation rule cannot be checked; add a price directive.",
                          source, adj)
                return False
            if value >= threshold.number:
                self.fail("missing-document",
                          f"{rid}: {request.type} requests of {threshold} or more need "
                          "supporting documentation; add `document:` with the file's path.",
                          source, adj)
                return False
            return True
        base = os.path.dirname(source.filename)
        path = os.path.normpath(os.path.join(base, request.document))
        if not os.path.isfile(path):
            self.fail("document-not-found",
                      f"{rid}: document \"{request.document}\" does not exist (looked for "
                      f"{path}).", source, adj)
            return False
        return True

    # -- events --------------------------------------------------------------

    def handle(self, event: Event) -> None:
        adj = self.progress.get(event.adjustment_id)
        if adj is None and event.adjustment_id in self.requested_on:
            self.fail("event-before-request",
                      f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                      "it is dated before the request "
                      f"({self.requested_on[event.adjustment_id]}).", event.source,
                      adjustment_id=event.adjustment_id)
            return
        if adj is None:
            self.fail("unknown-id",
                      f"{event.adjustment_id} {event.action}: no request has this id; check "
                      "the spelling or add the request.", event.source,
                      adjustment_id=event.adjustment_id)
            return
        if adj.state is State.INVALID:
            adj.history += (Line(event, False, False,
                                 "the request is invalid; fix the request first"),)
            return
        if event.date < adj.request.date:
            self.refuse(adj, event, "event-before-request",
                        f"it is dated before the request ({adj.request.date}).")
            return
        if not self.directory.is_user(event.by, event.date):
            self.refuse(adj, event, "unknown-user",
                        f"\"{event.by}\" is not a user on {event.date}; declare them with "
                        "custom \"adjustment-user\".")
            return
        if (adj.state, event.action) not in TRANSITIONS:
            self.refuse(adj, event, "invalid-transition",
                        refusal(adj.state, event.action, adj.settings.separate_apply) + ".")
            return
        self._actions[event.action](adj, event)

    def approve(self, adj: Tracked, event: Event) -> None:
        request, by, digest = adj.request, event.by, event.digest
        if by == request.requested_by:
            self.refuse(adj, event, "self-approval",
                        "the requester cannot approve their own request (segregation of "
                        "duties); another user holding the role must approve.")
            return
        stale = digest is not None and digest != adj.digest
        # A stale approval was given to the content as it was, when the levels
        # approved before it (stale or not) had been filled.
        approvals, chain = adj.approvals, adj.chain
        level = len(approvals) + len(adj.stale) if stale else len(approvals)
        if level >= len(chain):
            self.refuse(adj, event, "invalid-transition", "every level was already approved.")
            return
        role = chain[level]
        earlier = None
        for given in (approvals + adj.stale if stale else approvals):
            if given.by == by:
                earlier = given
                break
        if earlier is not None:
            self.refuse(adj, event, "same-approver",
                        f"{event.by} already approved level {earlier.level} as {earlier.role};"
                        f" level {level + 1} ({role}) needs a different person.")
            return
        holds, limit = self.directory.limit_for(by, role, event.date)
        if not holds:
            held = ", ".join(self.directory.roles_on(event.by, event.date)) or "no role"
            self.refuse(adj, event, "missing-role",
                        f"level {level + 1} of {len(adj.chain)} needs a {role}; {event.by} "
                        f"holds {held} on {event.date}.")
            return
        if limit is not None and adj.amount is not None:
            covered = within_limit(limit, adj.amount, request.date, self.rates)
            if covered is None:
                self.refuse(adj, event, "missing-price",
                            f"no price converts {adj.amount.currency} to {limit.currency} on "
                            f"or before the request date {request.date} to check "
                            f"{event.by}'s limit.")
                return
            if not covered:
                self.refuse(adj, event, "over-limit",
                            f"{adj.amount} is above {event.by}'s approval limit of {limit} as "
                            f"{role}; someone with a higher limit must approve.")
                return
        signed = signature_refusal(self.keyring, event, lambda: event.digest or adj.digest,
                                   adj.settings.signatures_required)
        if signed is not None:
            self.refuse(adj, event, *signed)
            return
        completes = level + 1 == len(chain)
        applies = completes and not adj.settings.separate_apply
        approval = _tuple_new(Given, (by, role, level + 1, event.date, event.at))
        if stale and not applies:
            message = (f"{event.adjustment_id}: the approval by {event.by} on {event.date} "
                       "is stale: the request changed after it was given (digest "
                       f"{event.digest} approved, now {adj.digest}); it does not count "
                       "until the request is approved again.")
            self.warnings.append(build(Problem, code="stale-approval", message=message,
                                       source=event.source, adjustment_id=event.adjustment_id))
            adj.stale += (approval,)
            adj.history += (Line(
                event, False, True, "stale: the request changed after this approval"),)
            return
        if stale:
            # This approval applied the request, so the content changed after it
            # was applied: report it, and keep the booked history as it was.
            self.changed_after_apply(adj, event)
            adj.approvals = tuple(sorted(adj.approvals + adj.stale, key=lambda a: a.level))
        adj.approvals += (approval,)
        adj.history += (Line(event, True, True, "") if stale else event,)
        if completes:
            adj.state = State.APPROVED
            adj.decided_on = event.date
            if applies:
                self.apply(adj, event.date, event.effective, event)

    def changed_after_apply(self, adj: Tracked, event: Event) -> None:
        self.fail("changed-after-apply",
                  f"{adj.request.id}: the request changed after it was applied (digest "
                  f"{event.digest} at the {event.action} on {event.date}, now {adj.digest}). "
                  "An applied adjustment is never edited: restore its content, cancel it and "
                  "file a new request.", adj.request.source, adj)

    def reject(self, adj: Tracked, event: Event) -> None:
        if event.by == adj.request.requested_by:
            self.refuse(adj, event, "self-rejection",
                        "a requester withdraws their own request with cancel, not reject.")
            return
        held = set(self.directory.roles_on(event.by, event.date))
        if not held & set(adj.chain):
            self.refuse(adj, event, "missing-role",
                        f"rejecting needs one of the roles in its approval chain "
                        f"({', '.join(adj.chain)}); {event.by} holds "
                        f"{', '.join(sorted(held)) or 'no role'}.")
            return
        adj.state = State.REJECTED
        adj.decided_on = event.date
        adj.history += (event,)

    def apply_event(self, adj: Tracked, event: Event) -> None:
        if not self.directory.roles_on(event.by, event.date):
            self.refuse(adj, event, "missing-role",
                        f"applying needs a user with a role; {event.by} holds none on "
                        f"{event.date}.")
            return
        if event.digest is not None and event.digest != adj.digest:
            self.changed_after_apply(adj, event)
        self.apply(adj, event.date, event.effective, event)

    def cancel(self, adj: Tracked, event: Event) -> None:
        request = adj.request
        held = set(self.directory.roles_on(event.by, event.date))
        approver_roles = self.approver_roles(event.date)
        if event.by != request.requested_by and not held & approver_roles:
            self.refuse(adj, event, "missing-role",
                        "cancelling needs the requester or a user holding an approver role "
                        f"({', '.join(sorted(approver_roles)) or 'none declared'}); "
                        f"{event.by} holds {', '.join(sorted(held)) or 'no role'}.")
            return
        if adj.state is State.APPLIED:
            adj.state = State.REVERSED
            adj.reversed_on = event.date
            adj.reversed_by = event
            if request.invoice in self.credited and adj.amount is not None and adj.lowers:
                self.credited[request.invoice] -= adj.amount.number
        else:
            adj.state = State.WITHDRAWN
            adj.decided_on = adj.decided_on or event.date
        adj.history += (event,)

    def apply(self, adj: Tracked, date: datetime.date, effective: datetime.date | None,
              event: Event | None) -> None:
        """Book the request's effect on `date` (or its effective date), if allowed.

        `event` is the approve or apply that does it; None when the request is
        applied on arrival.
        """
        request = adj.request
        when = effective or request.effective or date

        def refuse(code: str, message: str) -> None:
            if event is None:
                self.fail(code, f"{request.id}: {message}", request.source, adj)
            else:
                self.refuse(adj, event, code, message)

        for lock in self.locks:
            if lock.date > date:
                break
            if when <= lock.through:
                refuse("closed-period",
                       f"its effect would be dated {when}, inside the period closed through "
                       f"{lock.through} (locked on {lock.date}); date it after "
                       f"{lock.through} with `effective:`.")
                return
        invoice_id = request.invoice
        terms = (reference_terms(self.facts.invoices, invoice_id)
                 if invoice_id is not None and adj.lowers else None)
        if (terms is not None and terms.currency is not None and terms.number is not None
                and invoice_id is not None and adj.amount):
            already = self.credited.get(invoice_id, Decimal(0))
            if already + adj.amount.number > terms.number:
                left = terms.number - already
                whole = Money(terms.number, terms.currency)
                refuse("exceeds-invoice",
                       f"credits against invoice {invoice_id} would reach "
                       f"{already + adj.amount.number} {terms.currency}, more than "
                       f"the invoice's {whole}; at most {left} "
                       f"{terms.currency} is left to credit.")
                return
            self.credited[invoice_id] = already + adj.amount.number
        adj.state = State.APPLIED
        adj.applied_on = date
        adj.effective_date = when
        adj.applied_by = event
        if event is not None and event.action is Action.APPLY:
            adj.history += (event,)


def replay(facts: Facts, rates: Rates, settings: Settings | None = None) -> Book:
    """Judge every request and event; return the book."""
    return _Replay(facts, rates, settings or Settings()).run()


def no_rates(base: str, quote: str, date: datetime.date) -> Decimal | None:
    """Rates for a ledger without prices: only same-currency comparisons work."""
    return None


def sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.source.filename, p.source.lineno))
