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
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from beancount_adjustments.digest import request_digest
from beancount_adjustments.directives import receivable_totals
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
)
from beancount_adjustments.risk import AlertRule, Arrivals, RiskConfig, RiskSetting, request_flags
from beancount_adjustments.seals import Seal
from beancount_adjustments.signatures import KeyRing, PublicKey, signature_refusal

# The replay makes one of these per request or event: see `models.maker`.
_record = maker(Record, "event", "accepted", "stale", "note")
_approval = maker(Approval, "by", "role", "level", "date", "at")
_money = maker(Money, "number", "currency")
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


@dataclass
class _Progress:
    """A request's state while the replay walks the timeline."""

    request: Request
    digest: str
    state: State
    amount: Money | None
    tier: str | None
    chain: tuple[str, ...]
    rule: ApprovalRow | None
    settings: TypeSettings
    approvals: list[Approval] = field(default_factory=list)
    stale: list[Approval] = field(default_factory=list)
    history: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    decided_on: datetime.date | None = None
    applied_on: datetime.date | None = None
    effective_date: datetime.date | None = None
    reversed_on: datetime.date | None = None
    applied_source: Source | None = None
    reversed_source: Source | None = None
    risk_flags: tuple[str, ...] = ()

    def freeze(self) -> Adjustment:
        settings = self.settings
        return _adjustment(
            self.request, self.digest, self.state, self.amount, self.tier, self.chain,
            self.rule, settings.separate_apply, settings.sla_days, tuple(self.approvals),
            tuple(self.history), self.decided_on, self.applied_on, self.effective_date,
            self.reversed_on, self.applied_source, self.reversed_source,
            tuple(self.problems) if self.problems else (), self.risk_flags)


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
        self.progress: dict[str, _Progress] = {}
        self.credited: dict[str, Decimal] = {}
        self.requested_on: dict[str, datetime.date] = {}
        for request in facts.requests:
            first = self.requested_on.get(request.id)
            self.requested_on[request.id] = request.date if first is None else min(
                first, request.date)
        self._settings_cache: dict[tuple[str, datetime.date], TypeSettings] = {}
        self.arrivals = Arrivals(RiskConfig.build(facts.risk_settings), self.matrix)
        self.keyring = KeyRing.build(facts.keys)
        self._actions = {Action.APPROVE: self.approve, Action.REJECT: self.reject,
                         Action.APPLY: self.apply_event, Action.CANCEL: self.cancel}

    # -- reporting -----------------------------------------------------------

    def fail(self, code: str, message: str, source: Source, adj: _Progress | None = None,
             adjustment_id: str | None = None) -> None:
        problem = build(Problem,
            code=code, message=message, source=source,
            adjustment_id=adj.request.id if adj else adjustment_id)
        self.problems.append(problem)
        if adj is not None:
            adj.problems.append(problem)

    def refuse(self, adj: _Progress, event: Event, code: str, message: str) -> None:
        self.fail(code, f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                  f"{message}", event.source, adj)
        adj.history.append(_record(event, False, False, message))

    # -- the timeline --------------------------------------------------------

    def run(self) -> Book:
        timeline: list[tuple[datetime.date, int, int, Request | Event]] = [
            (r.date, 0, i, r) for i, r in enumerate(self.facts.requests)]
        timeline += [(e.date, 1, i, e) for i, e in enumerate(self.facts.events)]
        # (date, kind, index) is unique, so the tuples sort without a key and
        # the items themselves are never compared.
        timeline.sort()
        arrive, handle = self.arrive, self.handle
        for _, kind, _, item in timeline:
            if kind:
                handle(item)  # type: ignore[arg-type]
            else:
                arrive(item)  # type: ignore[arg-type]
        return build(Book,
            adjustments={k: p.freeze() for k, p in self.progress.items()},
            problems=tuple(self.problems), warnings=tuple(self.warnings),
            directory=self.directory, matrix=self.matrix, policies=self.policies,
            locks=tuple(self.locks), invoices=self.facts.invoices, orders=self.facts.orders,
            settings=self.settings, facts=self.facts)

    def type_settings(self, adj_type: str, date: datetime.date) -> TypeSettings:
        key = (adj_type, date)
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
        adj = _Progress(request=request, digest=request_digest(request), state=State.INVALID,
                        amount=None, tier=None, chain=(), rule=None, settings=settings)
        self.progress[request.id] = adj
        if not self.validate(adj):
            return
        if adj.chain:
            adj.state = State.PENDING
            return
        adj.state = State.APPROVED
        adj.decided_on = request.date
        if not settings.separate_apply:
            self.apply(adj, request.date, None, request.source, None)

    def validate(self, adj: _Progress) -> bool:
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
        adj.amount = amount if amount.number > 0 else _money(-amount.number, amount.currency)
        if not self.check_references(adj, amount):
            ok = False
        if not self.check_document(adj):
            ok = False
        try:
            adj.risk_flags = tuple(dict.fromkeys((*request.risk, *request_flags(
                request, self.arrivals, adj.amount, adj.tier))))
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

    def amount_of(self, adj: _Progress) -> Money | None:
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
        return _money(number, currency)

    def check_references(self, adj: _Progress, amount: Money) -> bool:
        request = adj.request
        rid, source = request.id, request.source
        ok = True
        if request.kind is Kind.BILLING and request.invoice is None:
            self.fail("missing-invoice",
                      f"{rid}: a billing adjustment corrects an invoice; add `invoice:` "
                      "naming it.", source, adj)
            ok = False
        for key, refs, marker in (("invoice", self.facts.invoices, "invoice-id"),
                                  ("order", self.facts.orders, "order-id")):
            ref_id = getattr(request, key)
            if ref_id is None:
                continue
            ref = refs.get(ref_id)
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
            elif (key == "invoice" and amount.number < 0 and ref.amount is not None
                  and ref.amount.currency != amount.currency):
                self.fail("invoice-currency",
                          f"{rid}: invoice \"{ref_id}\" is in {ref.amount.currency}; a credit "
                          f"against it must be too, not {amount.currency}.", source, adj)
                ok = False
        return ok

    def check_document(self, adj: _Progress) -> bool:
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
            adj.history.append(_record(
                event, False, False, "the request is invalid; fix the request first"))
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

    def approve(self, adj: _Progress, event: Event) -> None:
        request = adj.request
        if event.by == request.requested_by:
            self.refuse(adj, event, "self-approval",
                        "the requester cannot approve their own request (segregation of "
                        "duties); another user holding the role must approve.")
            return
        stale = event.digest is not None and event.digest != adj.digest
        # A stale approval was given to the content as it was, when the levels
        # approved before it (stale or not) had been filled.
        level = len(adj.approvals) + len(adj.stale) if stale else len(adj.approvals)
        if level >= len(adj.chain):
            self.refuse(adj, event, "invalid-transition", "every level was already approved.")
            return
        role = adj.chain[level]
        earlier = next((a for a in (adj.approvals + adj.stale if stale else adj.approvals)
                        if a.by == event.by), None)
        if earlier is not None:
            self.refuse(adj, event, "same-approver",
                        f"{event.by} already approved level {earlier.level} as {earlier.role};"
                        f" level {level + 1} ({role}) needs a different person.")
            return
        holds, limit = self.directory.limit_for(event.by, role, event.date)
        if not holds:
            held = ", ".join(self.directory.roles_on(event.by, event.date)) or "no role"
            self.refuse(adj, event, "missing-role",
                        f"level {level + 1} of {len(adj.chain)} needs a {role}; {event.by} "
                        f"holds {held} on {event.date}.")
            return
        if limit is not None and adj.amount is not None:
            value = convert(adj.amount, limit.currency, event.date, self.rates)
            if value is None:
                self.refuse(adj, event, "missing-price",
                            f"no price converts {adj.amount.currency} to {limit.currency} on "
                            f"or before {event.date} to check {event.by}'s limit.")
                return
            if value > limit.number:
                self.refuse(adj, event, "over-limit",
                            f"{adj.amount} is above {event.by}'s approval limit of {limit} as "
                            f"{role}; someone with a higher limit must approve.")
                return
        signed = signature_refusal(self.keyring, event, event.digest or adj.digest,
                                   adj.settings.signatures_required)
        if signed is not None:
            self.refuse(adj, event, *signed)
            return
        completes = level + 1 == len(adj.chain)
        applies = completes and not adj.settings.separate_apply
        approval = _approval(event.by, role, level + 1, event.date, event.at)
        if stale and not applies:
            message = (f"{event.adjustment_id}: the approval by {event.by} on {event.date} "
                       "is stale: the request changed after it was given (digest "
                       f"{event.digest} approved, now {adj.digest}); it does not count "
                       "until the request is approved again.")
            self.warnings.append(build(Problem, code="stale-approval", message=message,
                                       source=event.source, adjustment_id=event.adjustment_id))
            adj.stale.append(approval)
            adj.history.append(_record(
                event, False, True, "stale: the request changed after this approval"))
            return
        if stale:
            # This approval applied the request, so the content changed after it
            # was applied: report it, and keep the booked history as it was.
            self.changed_after_apply(adj, event)
            adj.approvals[:] = sorted(adj.approvals + adj.stale, key=lambda a: a.level)
        adj.approvals.append(approval)
        adj.history.append(_record(
            event, True, event.digest not in (None, adj.digest), ""))
        if completes:
            adj.state = State.APPROVED
            adj.decided_on = event.date
            if applies:
                self.apply(adj, event.date, event.effective, event.source, event)

    def changed_after_apply(self, adj: _Progress, event: Event) -> None:
        self.fail("changed-after-apply",
                  f"{adj.request.id}: the request changed after it was applied (digest "
                  f"{event.digest} at the {event.action} on {event.date}, now {adj.digest}). "
                  "An applied adjustment is never edited: restore its content, cancel it and "
                  "file a new request.", adj.request.source, adj)

    def reject(self, adj: _Progress, event: Event) -> None:
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
        adj.history.append(_record(event, True, False, ""))

    def apply_event(self, adj: _Progress, event: Event) -> None:
        if not self.directory.roles_on(event.by, event.date):
            self.refuse(adj, event, "missing-role",
                        f"applying needs a user with a role; {event.by} holds none on "
                        f"{event.date}.")
            return
        if event.digest is not None and event.digest != adj.digest:
            self.changed_after_apply(adj, event)
        self.apply(adj, event.date, event.effective, event.source, event)

    def cancel(self, adj: _Progress, event: Event) -> None:
        request = adj.request
        held = set(self.directory.roles_on(event.by, event.date))
        approver_roles = {r for row in self.matrix.rows_on(event.date) for r in row.roles}
        if event.by != request.requested_by and not held & approver_roles:
            self.refuse(adj, event, "missing-role",
                        "cancelling needs the requester or a user holding an approver role "
                        f"({', '.join(sorted(approver_roles)) or 'none declared'}); "
                        f"{event.by} holds {', '.join(sorted(held)) or 'no role'}.")
            return
        if adj.state is State.APPLIED:
            adj.state = State.REVERSED
            adj.reversed_on = event.date
            adj.reversed_source = event.source
            if (request.invoice in self.credited and adj.amount is not None
                    and self._lowers_receivable(adj)):
                self.credited[request.invoice] -= adj.amount.number
        else:
            adj.state = State.WITHDRAWN
            adj.decided_on = adj.decided_on or event.date
        adj.history.append(_record(event, True, False, ""))

    def apply(self, adj: _Progress, date: datetime.date, effective: datetime.date | None,
              source: Source, event: Event | None) -> None:
        """Book the request's effect on `date` (or its effective date), if allowed."""
        request = adj.request
        when = effective or request.effective or date

        def refuse(code: str, message: str) -> None:
            if event is None:
                self.fail(code, f"{request.id}: {message}", source, adj)
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
        invoice = self.facts.invoices.get(request.invoice) if request.invoice else None
        lowers = adj.amount is not None and self._lowers_receivable(adj)
        if invoice is not None and invoice.amount is not None and lowers and adj.amount:
            already = self.credited.get(invoice.id, Decimal(0))
            if already + adj.amount.number > invoice.amount.number:
                left = invoice.amount.number - already
                refuse("exceeds-invoice",
                       f"credits against invoice {invoice.id} would reach "
                       f"{already + adj.amount.number} {invoice.amount.currency}, more than "
                       f"the invoice's {invoice.amount}; at most {left} "
                       f"{invoice.amount.currency} is left to credit.")
                return
            self.credited[invoice.id] = already + adj.amount.number
        adj.state = State.APPLIED
        adj.applied_on = date
        adj.effective_date = when
        adj.applied_source = source
        if event is not None and event.action is Action.APPLY:
            adj.history.append(_record(event, True, False, ""))

    def _lowers_receivable(self, adj: _Progress) -> bool:
        totals = receivable_totals(adj.request.postings, self.settings.receivable)
        return sum(totals.values(), Decimal(0)) < 0


def replay(facts: Facts, rates: Rates, settings: Settings | None = None) -> Book:
    """Judge every request and event; return the book."""
    return _Replay(facts, rates, settings or Settings()).run()


def no_rates(base: str, quote: str, date: datetime.date) -> Decimal | None:
    """Rates for a ledger without prices: only same-currency comparisons work."""
    return None


def sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.source.filename, p.source.lineno))
