"""The book: every adjustment's state, replayed from the ledger's facts.

`replay(facts, rates)` is the one function that turns requests and events
into states, approvals, effects and problems. It is pure: same facts, same
book. The plugin calls it once per load; everything else reads its result.

Replay walks one timeline in ledger order: by date, then on one day by
file and line, with the entries that carry `at:` in the order of their
`at:`. A request below every threshold is approved, and applied, as it
arrives. An event that does not fit (wrong state, wrong person, stale
content, back-dated, closed period) is recorded in the request's history as
refused, reported as a problem at its line, and changes nothing. Who may
take which action is `permissions.denial`, which the tools ask too.

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
import copy
import dataclasses
import datetime
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import Any, NamedTuple

from pydantic import Field

from beancount_adjustments.core import digest as digests
from beancount_adjustments.core import lookalike
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.lifecycle import TRANSITIONS
from beancount_adjustments.core.models import (
    KNOWN_CATEGORIES,
    KNOWN_TYPES,
    Action,
    Adjustment,
    Approval,
    ApprovalRow,
    CustomerRecord,
    Declaration,
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
    is_under,
    maker,
    receivable_totals,
    reference_terms,
)
from beancount_adjustments.core.permissions import (
    Denial,
    Rules,
    Situation,
    denial,
    held_until_billed,
)
from beancount_adjustments.core.policy import (
    Directory,
    Matrix,
    MissingPrice,
    Rates,
    TypePolicies,
    TypeSettings,
    chain_text,
    convert,
    is_known,
)
from beancount_adjustments.core.risk import (
    ARRIVAL_CHECKS,
    AlertRule,
    Arrivals,
    RiskConfig,
    RiskSetting,
    request_flags,
)
from beancount_adjustments.core.seals import Seal
from beancount_adjustments.core.signatures import KeyRing, PublicKey, signature_refusal

# Made when an adjustment is first read: see `models.maker`.
_record = maker(Record, "event", "accepted", "stale", "note")
_approval = maker(Approval, "by", "role", "level", "date", "at")
_adjustment = maker(
    Adjustment, "request", "digest", "state", "amount", "tier", "chain", "rule",
    "separate_apply", "sla_days", "approvals", "history", "decided_on", "applied_on",
    "effective_date", "reversed_on", "applied_source", "reversed_source",
    "reversal_chain", "reversal_approvals", "cancelled_by", "problems",
    "risk_flags", "signatures_required", "judged", "hold_until_billed")


class Settings(Frozen):
    receivable: str = "Assets:Receivable"
    id_prefix: str = "ADJ"
    checks: tuple[str, ...] = ()
    default_tier: str = "standard"
    """The tier of a customer the ledger names but no declaration gives a tier."""
    customer_account: str | None = None
    """A receivable sub-account per customer, like "Assets:Receivable:{customer}":
    an opened account of that shape names its customer."""

    def account_pattern(self) -> re.Pattern[str] | None:
        """`customer_account` as a pattern whose group is the customer id."""
        shape = self.customer_account
        if shape is None:
            return None
        before, _, after = shape.partition("{customer}")
        return re.compile(f"^{re.escape(before)}([^:]+){re.escape(after)}$")

    def account_owner(self, account: str) -> str | None:
        """The customer whose own account `account` is (`customer_account`), or None."""
        pattern = self.account_pattern()
        match = pattern.match(account) if pattern is not None else None
        return match.group(1) if match else None
    default_sla_days: int | None = Field(default=None, ge=1)
    """`sla-days` of every type whose policy sets none (None: such types never escalate)."""


Check = Callable[[Request, Money], Iterable[str] | str | None]
"""A site's own check (the `checks` setting): messages saying what is wrong, or none."""


@dataclass
class Facts:
    """What the ledger says, read but not yet judged."""

    requests: list[Request] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    grants: list[UserGrant] = field(default_factory=list)
    customers: list[CustomerRecord] = field(default_factory=list)
    named: list[CustomerRecord] = field(default_factory=list)
    """Customers the ledger names (`customer:` on a transaction moving the receivable
    accounts, or an account of the `customer-account` shape), first naming each."""
    rows: list[ApprovalRow] = field(default_factory=list)
    policies: list[TypePolicy] = field(default_factory=list)
    locks: list[PeriodLock] = field(default_factory=list)
    invoices: Mapping[str, Reference] = field(default_factory=dict)
    orders: Mapping[str, Reference] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    risk_settings: list[RiskSetting | AlertRule] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    keys: list[PublicKey] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    files: tuple[str, ...] = ()
    """The ledger's files in the order they are loaded: same-day order is file order."""
    timeline: list[Request | Event] = field(default_factory=list)
    """The requests and events in the order read, when read from loaded entries
    (Beancount's order); empty when the facts were put together otherwise."""


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
_ZERO = Decimal(0)
_KNOWN_TYPES = frozenset(KNOWN_TYPES)
_KNOWN_CATEGORIES = frozenset(KNOWN_CATEGORIES)
_UNSEEN = object()
# Python 3.11 looks up `State.X` through EnumType.__getattr__ (about 0.15 µs,
# against 0.02 µs for a module name); the replay's per-event and per-request
# paths compare with these.
_APPLY = Action.APPLY
_APPROVE = Action.APPROVE
_CANCEL = Action.CANCEL
_REJECT = Action.REJECT
_BILLING = Kind.BILLING
_CREDIT = Kind.CREDIT
_DEBIT = Kind.DEBIT
_APPLIED = State.APPLIED
_INVALID = State.INVALID
_PENDING = State.PENDING
_REVERSED = State.REVERSED
_REVERSING = State.REVERSING


def move(adj: Tracked, action: Action) -> None:
    """Take `action` on `adj`: its next state is the lifecycle's, never set by hand."""
    adj.state = TRANSITIONS[(adj.state, action)]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _moment(at: str) -> datetime.datetime | None:
    """`at` as an aware moment (a stamp without offset taken as UTC), or None."""
    try:
        moment = datetime.datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


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

    __slots__ = ("_digest", "amount", "applied_by", "applied_on", "approvals", "cancelled_by",
                 "chain", "decided_on", "effective_date", "history", "judged", "lowers",
                 "problems", "request", "reversal_approvals", "reversal_chain",
                 "reversed_by", "reversed_on", "risk_flags", "rule", "settings", "stale",
                 "state", "tier")

    def __init__(self, request: Request, settings: TypeSettings) -> None:
        self.request = request
        self.settings = settings
        self.state = _INVALID
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
        self.judged: Money | None = None
        self.reversal_chain: tuple[str, ...] = _NONE
        self.reversal_approvals: tuple[Given, ...] = _NONE
        self.cancelled_by: str | None = None

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
            found = self._digest = digests.request_digest(self.request)
        return found

    # What `permissions.denial` reads (`permissions.Situation`).

    @property
    def deciding_chain(self) -> tuple[str, ...]:
        return self.reversal_chain if self.state is _REVERSING else self.chain

    @property
    def deciding_approvers(self) -> tuple[str, ...]:
        approvals = self.reversal_approvals if self.state is _REVERSING else self.approvals
        return tuple([a.by for a in approvals]) if approvals else _NONE

    @property
    def separate_apply(self) -> bool:
        return self.settings.separate_apply

    @property
    def signatures_required(self) -> bool:
        return self.settings.signatures_required

    @property
    def hold_until_billed(self) -> bool:
        return self.settings.hold_until_billed

    def situation(self, stale: bool = False) -> Situation:
        """What `permissions.denial` judges: this record, or for an approval given to
        other content, the record as it was when the levels approved before it
        (stale or not) had been filled."""
        if not stale or not self.stale or self.state is _REVERSING:
            return self
        given = sorted(self.approvals + self.stale, key=attrgetter("level"))
        return _AsGiven(self, tuple(a.by for a in given))

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple([a.by for a in self.approvals])

    def copy(self) -> Tracked:
        """A record to go on judging with, the original left as it is (its values
        are immutable: a shallow copy is a separate record)."""
        return copy.copy(self)

    def freeze(self) -> Adjustment:
        settings = self.settings
        return _adjustment(
            self.request, self.digest, self.state, self.amount, self.tier, self.chain,
            self.rule, settings.separate_apply, settings.sla_days,
            tuple(_approval(*a) for a in self.approvals),
            tuple(_record(line, True, False, "") if type(line) is Event else _record(*line)
                  for line in self.history), self.decided_on,
            self.applied_on, self.effective_date, self.reversed_on, self.applied_source,
            self.reversed_source, self.reversal_chain,
            tuple(_approval(*a) for a in self.reversal_approvals), self.cancelled_by,
            self.problems, self.risk_flags, settings.signatures_required, self.judged,
            settings.hold_until_billed)


@dataclass(frozen=True, slots=True)
class _AsGiven:
    """A record seen with its stale approvals filling their levels (`Tracked.situation`)."""

    tracked: Tracked
    deciding_approvers: tuple[str, ...]

    @property
    def request(self) -> Request:
        return self.tracked.request

    @property
    def state(self) -> State:
        return self.tracked.state

    @property
    def deciding_chain(self) -> tuple[str, ...]:
        return self.tracked.chain

    @property
    def amount(self) -> Money | None:
        return self.tracked.amount

    @property
    def cancelled_by(self) -> str | None:
        return self.tracked.cancelled_by

    @property
    def separate_apply(self) -> bool:
        return self.tracked.settings.separate_apply

    @property
    def signatures_required(self) -> bool:
        return self.tracked.settings.signatures_required

    @property
    def hold_until_billed(self) -> bool:
        return self.tracked.settings.hold_until_billed

    @property
    def decided_on(self) -> datetime.date | None:
        return self.tracked.decided_on


class _Flags:
    """Arrival risk flags computed on first read, for when no approval row uses them."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.pending: list[Tracked] = []

    def settle(self) -> None:
        arrivals, pending = self.arrivals, self.pending
        self.pending = []
        for tracked in pending:
            try:
                flags = request_flags(tracked.request, arrivals, tracked.amount, tracked.tier)
            except Exception:  # a tool reading the book must not crash on a risk check
                flags = (RISK_CHECK_FAILED,)
            if flags:
                tracked.risk_flags = with_flags(tracked.request, flags)


RISK_CHECK_FAILED = "risk-check-failed"
"""The flag of a request whose arrival checks could not be worked out when read."""

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
                self._settle()
                found = self._frozen.setdefault(adjustment_id, tracked.freeze())
        return found

    def settle(self) -> None:
        """Work out the deferred risk flags now (reading any adjustment does)."""
        with _FREEZING:
            self._settle()

    def _settle(self) -> None:
        if self._flags is not None:
            self._flags.settle()
            self._flags = None

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
    rules: Rules
    """Who holds what and the prices: what `permissions.denial` reads."""
    checks: tuple[tuple[str, Any], ...] = ()
    """The site's checks the replay ran (the writer re-judges with the same)."""
    ended: Any = Field(default=None, repr=False)
    """The replay as it ended (`_Replay`): what `continued` goes on from."""

    def get(self, adjustment_id: str) -> Adjustment | None:
        return self.adjustments.get(adjustment_id)

    def known(self, name: str, kind: str, date: datetime.date) -> bool:
        """Whether requests may use type (or category) `name` on `date` (`policy.is_known`)."""
        return is_known(self.facts.declarations, name, kind, date)

    def in_state(self, *states: State) -> list[Adjustment]:
        return [a for a in self.adjustments.values() if a.state in states]

    def tracked(self) -> Mapping[str, Tracked]:
        """The replay's records (what the plugin reads without making models)."""
        adjustments = self.adjustments
        if not isinstance(adjustments, Adjustments):
            raise TypeError("this book was not made by `replay`; it has no records")
        return adjustments.tracked


_HALF_DAY = datetime.timedelta(hours=12)


def at_floor(at: str) -> datetime.date | None:
    """The earliest calendar day the moment `at` can have been in its writer's zone.

    A stamp with an offset other than UTC names its own day; a UTC stamp
    (what tools wrote before they wrote the local offset) may be half a day
    ahead of the writer's day. None: not an ISO 8601 moment.
    """
    if len(at) >= 20 and at[10] == "T" and at[13] == ":":
        # What tools write (YYYY-MM-DDTHH:MM:SS and Z or an offset): the day
        # is its first ten characters; only a UTC stamp needs its hour.
        suffix = at[19:].lstrip(".0123456789")
        day = _day(at[:10])
        if day is not None and suffix in ("Z", "+00:00"):
            return day - _ONE_DAY if at[11:13] < "12" and day > datetime.date.min else day
        if day is not None and len(suffix) == 6 and suffix[0] in "+-":
            return day
    try:
        moment = datetime.datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    offset = moment.utcoffset()
    if offset is not None and not offset and moment.date() > datetime.date.min:
        return (moment - _HALF_DAY).date()
    return moment.date()


_DAYS: dict[str, datetime.date | None] = {}
_ONE_DAY = datetime.timedelta(days=1)


def _day(text: str) -> datetime.date | None:
    found = _DAYS.get(text, _UNSEEN)
    if found is _UNSEEN:
        try:
            found = datetime.date.fromisoformat(text)
        except ValueError:
            found = None
        if len(_DAYS) < 100_000:
            _DAYS[text] = found
    return found  # type: ignore[return-value]


def same_amount(recorded: Money, current: Money | None) -> bool:
    """Whether `current` is `recorded` to the digits `recorded` was written with."""
    if current is None or current.currency != recorded.currency:
        return False
    exponent = recorded.number.as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    try:
        return current.number.quantize(Decimal(1).scaleb(exponent)) == recorded.number
    except ArithmeticError:
        return False


class _Replay:
    def __init__(self, facts: Facts, rates: Rates, settings: Settings,
                 checks: Sequence[tuple[str, Check]]) -> None:
        self.facts = facts
        self.rates = rates
        self.settings = settings
        self.checks = checks
        self.directory = Directory.build(facts.grants, facts.customers, facts.named,
                                         settings.default_tier)
        self.matrix = Matrix.build(facts.rows)
        self.policies = TypePolicies.build(facts.policies)
        self.locks = sorted(facts.locks, key=lambda lock: lock.date)
        self.problems: list[Problem] = list(facts.problems)
        self.warnings: list[Problem] = []
        self.progress: dict[str, Tracked] = {}
        self.credited: dict[str, Decimal] = {}
        self.requested_on = _first_dates(facts.requests)
        # Settings change only on the dates of policy directives: cached per type
        # and number of policies in force, not per day.
        self._settings_cache: dict[tuple[str, int], TypeSettings] = {}
        self._policy_dates = [policy.date for policy in self.policies.policies]
        self.arrivals = Arrivals(RiskConfig.build(facts.risk_settings), self.matrix)
        # Arrival flags decide a chain only through rows narrowed by one of their
        # names; without such a row they are worked out when the book is read.
        flag_rows = any(row.risk in ARRIVAL_CHECKS for row in facts.rows)
        self.deferred = None if flag_rows else _Flags(self.arrivals)
        self.keyring = KeyRing.build(facts.keys)
        self.declared: dict[str, list[Declaration]] = {}
        for declaration in sorted(facts.declarations, key=attrgetter("date")):
            self.declared.setdefault(declaration.name, []).append(declaration)
        self._actions = self.actions()
        self.rules = Rules(self.directory, rates, self.matrix, facts.invoices)
        self._isos: dict[datetime.date, str] = {}
        self.current: Request | Event | None = None
        """What the replay is judging: where an internal failure is reported."""
        self.check_rows()
        self.check_user_names()

    def actions(self) -> dict[Action, Callable[[Tracked, Event], None]]:
        return {Action.APPROVE: self.approve, Action.REJECT: self.reject,
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

    def warn(self, code: str, message: str, source: Source,
             adjustment_id: str | None = None) -> None:
        self.warnings.append(build(Problem, code=code, message=message, source=source,
                                   adjustment_id=adjustment_id))

    def refuse(self, adj: Tracked, event: Event, code: str, message: str) -> None:
        self.fail(code, f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                  f"{message}", event.source, adj)
        adj.history += (Line(event, False, False, message),)

    # -- the policy's own sanity ---------------------------------------------

    def known(self, name: str, kind: str, date: datetime.date) -> bool:
        if name in (_KNOWN_TYPES if kind == "type" else _KNOWN_CATEGORIES):
            return True
        return is_known(self.declared.get(name, ()), name, kind, date)

    def check_rows(self) -> None:
        """Warn at rows that can never apply: a pattern no type matches, roles nobody holds."""
        types = {*KNOWN_TYPES, *(d.name for ds in self.declared.values() for d in ds
                                 if d.kind == "type")}
        for row in self.facts.rows:
            if not any(fnmatchcase(adj_type, row.pattern) for adj_type in types):
                self.warn("unknown-pattern",
                          f'approval row "{row.pattern}" matches no known adjustment type '
                          f"({', '.join(KNOWN_TYPES[:3])}, ...); check the spelling, or "
                          'declare the type with custom "adjustment-type".', row.source)
            unheld = [role for role in row.roles
                      if not self.directory.users_with_role(role, row.date)]
            if unheld:
                self.warn("unheld-role",
                          f'approval row "{row.pattern}" from {row.threshold}: nobody holds '
                          f"{', '.join(unheld)} on {row.date}, so requests it covers cannot "
                          "be approved; check the spelling or declare a user with the role.",
                          row.source)
        for policy in self.facts.policies:
            unheld = [role for role in policy.manual_chain or ()
                      if not self.directory.users_with_role(role, policy.date)]
            if unheld:
                self.warn("unheld-role",
                          f'policy "{policy.pattern}" `manual-chain:`: nobody holds '
                          f"{', '.join(unheld)} on {policy.date}, so requests asking for "
                          "review cannot be approved; check the spelling or declare a user "
                          "with the role.", policy.source)

    def check_user_names(self) -> None:
        """Warn at a user line whose name reads as another user's (a Cyrillic o in "bob")."""
        first: dict[str, UserGrant] = {}
        for grant in sorted(self.facts.grants, key=lambda g: (g.date, g.source)):
            seen = first.setdefault(lookalike.skeleton(grant.user), grant)
            if seen.user != grant.user:
                self.warn("lookalike-user",
                          f'user "{grant.user}" reads as the user "{seen.user}" declared at '
                          f"{seen.source.filename}:{seen.source.lineno}: a decision by one "
                          "would pass for the other's on every page; give them names that "
                          "differ to the eye.", grant.source)

    # -- the timeline --------------------------------------------------------

    def timeline(self) -> list[Request | Event]:
        """Requests and events in ledger order (see the module docstring)."""
        facts = self.facts
        items: list[Request | Event]
        if _read_in_order(facts):
            # Read in Beancount's order (date, then line): only days whose entries
            # come from several files need sorting by file.
            return self.order(list(facts.timeline), read=True)
        items = [*facts.requests, *facts.events]
        items.sort(key=attrgetter("date"))
        return self.order(items, read=False)

    def order(self, items: list[Request | Event], read: bool) -> list[Request | Event]:
        """`items` (sorted by date) in ledger order, day by day: by file and line
        (`read`: in Beancount's order already, so only days from several files),
        then by `at:` where several carry it."""
        rank = {name: index for index, name in enumerate(self.facts.files)}

        def key(item: Request | Event) -> tuple[int, int]:
            source = item.source
            found = rank.get(source.filename)
            if found is None:
                found = rank[source.filename] = len(rank)
            return (found, source.lineno)

        start, count = 0, len(items)
        while start < count:
            day = items[start].date
            filename = items[start].source.filename
            files = 1
            end = start + 1
            while end < count and items[end].date == day:
                if files == 1 and items[end].source.filename != filename:
                    files = 2
                end += 1
            if end - start > 1:
                if files > 1 or not read:
                    items[start:end] = sorted(items[start:end], key=key)
                # Where several entries of one day carry `at:`, they take its order.
                self._order_by_at(items, start, end)
            start = end
        return items

    def _order_by_at(self, items: list[Request | Event], start: int, end: int) -> None:
        stamped = [i for i in range(start, end) if items[i].at is not None]
        if len(stamped) < 2:
            return
        stamps = [str(items[i].at) for i in stamped]
        if all(a <= b for a, b in itertools.pairwise(stamps)):
            return
        moments = [_moment(stamp) for stamp in stamps]
        if any(moment is None for moment in moments):
            return
        order = sorted(range(len(stamped)), key=lambda k: moments[k])  # type: ignore[arg-type,return-value]
        chosen = [items[stamped[k]] for k in order]
        for position, item in zip(stamped, chosen, strict=True):
            items[position] = item

    def run(self) -> Book:
        self.walk(self.timeline())
        return self.book()

    def walk(self, items: Iterable[Request | Event]) -> None:
        arrive, handle, event_type = self.arrive, self.handle, Event
        for item in items:
            self.current = item
            if type(item) is event_type:
                handle(item)
            else:
                arrive(item)  # type: ignore[arg-type]
        self.current = None
        # Every request has arrived: no event can come before its request any more.
        self.requested_on = {}

    def book(self) -> Book:
        return build(Book,
            adjustments=Adjustments(self.progress, self.deferred),
            problems=tuple(self.problems), warnings=tuple(self.warnings),
            directory=self.directory, matrix=self.matrix, policies=self.policies,
            locks=tuple(self.locks), invoices=self.facts.invoices, orders=self.facts.orders,
            settings=self.settings, facts=self.facts, rules=self.rules,
            checks=tuple(self.checks), ended=self)

    def resume(self, facts: Facts, requests: Sequence[Request], events: Sequence[Event],
               ) -> tuple[_Replay, list[Request | Event]] | str:
        """A replay going on from where this finished one ended, and the new items
        in the order a full replay of `facts` would judge them; or why a full
        replay could judge anything otherwise than by going on (see `continued`).

        This replay and its records stay as they are (readers of its book run
        meanwhile): the new one copies the records of the adjustments the new
        items name, and every container the judging adds to.
        """
        old = self.facts
        why = _only_added(old, facts, requests, events)
        if why:
            return why
        new: list[Request | Event] = [*requests, *events]
        new.sort(key=attrgetter("date"))
        files = set(old.files)
        for item in new:
            if item.source.filename not in files:
                return f"{_named(item)} is in {item.source.filename}, not a file of the ledger"
        timeline = old.timeline
        last = timeline[-1].date if timeline else None
        if new and last is not None and new[0].date < last:
            return (f"{_named(new[0])} is dated {new[0].date}, before the last entry the "
                    f"book judged ({last})")
        start = len(timeline)
        while start and timeline[start - 1].date == last:
            start -= 1
        tail = list(timeline[start:])
        if new and new[0].date == last:
            # The last day's entries, old and new, as a full replay orders them:
            # the old ones must come first, and as this replay judged them.
            judged = self.order(list(tail), read=True)
            ordered = self.order([*tail, *new], read=False)
            if any(a is not b for a, b in zip(ordered, judged, strict=False)):
                return (f"on {last} a new entry comes before one the book judged already "
                        "(by file and line, or by `at:`)")
            new = ordered[len(tail):]
        else:
            new = self.order(new, read=False)
        named = {p.adjustment_id for p in self.problems if p.code == "unknown-id"}
        for request in requests:
            if request.id in named:
                # That event would now come before its request: judged otherwise.
                return f"an event before {request.id} names its id (unknown-id)"
        return self.resumed(facts, requests, new), new

    def resumed(self, facts: Facts, requests: Sequence[Request],
                new: Sequence[Request | Event]) -> _Replay:
        """This replay's state, copied where judging `new` changes it."""
        going = copy.copy(self)
        going.facts = facts
        going.problems = list(self.problems)
        going.warnings = list(self.warnings)
        going.credited = dict(self.credited)
        going.progress = dict(self.progress)
        for adj_id in {item.id if type(item) is Request else item.adjustment_id  # type: ignore[union-attr]
                       for item in new}:
            record = going.progress.get(adj_id)
            if record is not None:
                going.progress[adj_id] = record.copy()
        going.requested_on = _first_dates(requests)
        going._settings_cache = dict(self._settings_cache)
        going._isos = {}
        # New requests are remembered for the arrival checks of those after them.
        going.arrivals = self.arrivals.copy() if requests else self.arrivals
        going.deferred = None if self.deferred is None else _Flags(going.arrivals)
        going._actions = going.actions()
        going.current = None
        return going

    def type_settings(self, adj_type: str, date: datetime.date) -> TypeSettings:
        key = (adj_type, bisect.bisect_right(self._policy_dates, date))
        found = self._settings_cache.get(key)
        if found is None:
            found = self.policies.settings(adj_type, date)
            if found.sla_days is None and self.settings.default_sla_days is not None:
                # Here, so that every reader of `Adjustment.sla_days` (is_overdue) agrees.
                found = dataclasses.replace(found, sla_days=self.settings.default_sla_days)
            self._settings_cache[key] = found
        return found

    def written_on(self, at: str) -> datetime.date | None:
        # Not cached: every stamp is its own (`at_floor` caches the days).
        return at_floor(at)

    def dating(self, item: Request | Event, settings: TypeSettings) -> tuple[str, str] | None:
        """(code, message) when `item` is dated earlier than it was written allows."""
        at = item.at
        if at is None:
            if settings.require_at and type(item) is Event:
                return ("missing-at", "this type's policy requires `at:` (when the decision "
                        "was written) on every event (`require-at: TRUE`); tools write it.")
            return None
        if self.written_that_day(at, item.date):
            return None
        written = self.written_on(at)
        if written is None:
            return ("bad-metadata", f"`at: {at!r}` is not an ISO 8601 moment "
                    "(2026-11-21T10:00:00+01:00).")
        allowed = settings.backdate_days
        if (written - item.date).days > allowed:
            return ("backdated",
                    f"it is dated {item.date} but was written at {at}; entries may be dated "
                    f"at most {allowed} day{'s' if allowed != 1 else ''} before they are "
                    "written (policy `backdate-days:`). Date it when it is written.")
        return None

    def decided_on(self, item: Request | Event) -> datetime.date:
        """The day a decision was really taken: its date, or later per its `at:`."""
        at = item.at
        if at is None or self.written_that_day(at, item.date):
            return item.date
        written = self.written_on(at)
        return item.date if written is None or written < item.date else written

    def written_that_day(self, at: str, date: datetime.date) -> bool:
        """Whether `at` is a tool's stamp (YYYY-MM-DDTHH:MM...) of `date` or earlier:
        the usual case, told without working out the moment."""
        iso = self._isos.get(date)
        if iso is None:
            iso = self._isos[date] = date.isoformat()
        day = at[:10]
        return len(at) >= 20 and at[10] == "T" and day <= iso and _day(day) is not None

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
        adj.state = _PENDING
        if adj.chain:
            return
        # No chain: approved by the policy itself, the moment it arrives.
        move(adj, _APPROVE)
        adj.decided_on = request.date
        if not settings.separate_apply:
            self.apply(adj, request.date, None, None)

    def validate(self, adj: Tracked) -> bool:
        """Check a request on arrival; fill amount, tier and chain. False: invalid."""
        request = adj.request
        source, rid = request.source, request.id
        ok = True
        for key, name in (("requested-by", request.requested_by),
                          ("entered-by", request.entered_by)):
            if name is not None and not self.directory.is_user(name, request.date):
                self.fail("unknown-user",
                          f"{rid}: {key} \"{name}\" is not a user on {request.date}; "
                          "declare them with custom \"adjustment-user\".", source, adj)
                ok = False
        if not self.known(request.type, "type", request.date):
            self.fail("unknown-type",
                      f"{rid}: adjustment type \"{request.type}\" is not one of the known "
                      "types; check the spelling, or declare it with custom "
                      f"\"adjustment-type\" \"{request.type}\".", source, adj)
            ok = False
        if request.category is not None and not self.known(request.category, "category",
                                                           request.date):
            self.fail("unknown-category",
                      f"{rid}: category \"{request.category}\" is not one of the known "
                      "categories; check the spelling, or declare it with custom "
                      f"\"adjustment-category\" \"{request.category}\".", source, adj)
            ok = False
        dated = self.dating(request, adj.settings)
        if dated is not None:
            self.fail(dated[0], f"{rid}: {dated[1]}", source, adj)
            ok = False
        customer = self.directory.customer_on(request.customer, request.date)
        if customer is None:
            self.fail("unknown-customer", unknown_customer(self.directory, request), source,
                      adj)
            ok = False
        else:
            adj.tier = customer.tier
        amount = self.amount_of(adj)
        if amount is None:
            return False
        adj.lowers = amount.number < 0
        moved = self.moved(adj, amount.currency)
        if moved is None:
            return False
        adj.amount = moved
        if not self.check_references(adj, amount):
            ok = False
        if not self.check_document(adj):
            ok = False
        if not self.run_checks(adj):
            ok = False
        try:
            if self.deferred is None:
                adj.risk_flags = with_flags(request, request_flags(
                    request, self.arrivals, adj.amount, adj.tier))
            else:
                self.deferred.pending.append(adj)
            rows = self.matrix.candidates(request.type, request.category, adj.tier,
                                          tuple(adj.risk_flags), request.date)
            if not rows:
                self.fail("no-policy",
                          f"{rid}: no approval row covers {request.type} requests"
                          f"{' of this shape' if self.matrix.rows_on(request.date) else ''} "
                          f"on {request.date}, and nothing is approved by the absence of a "
                          "policy; add one, for example custom \"adjustment-approval\" "
                          f"\"{request.type.partition(':')[0]}:*\" 0.00 "
                          f"{adj.amount.currency} \"manager\" (a row with no roles "
                          "pre-approves).", source, adj)
                return False
            rule = self.matrix.choose_from(rows, adj.amount, request.date, self.rates)
        except MissingPrice as missing:
            self.fail("missing-price",
                      f"{rid}: {missing}; add a price directive so the amount can be "
                      "compared with the approval thresholds (a missing price is never "
                      "guessed).", source, adj)
            return False
        adj.rule = rule
        adj.chain = rule.roles if rule else ()
        if request.approval_required and not adj.chain and adj.settings.manual_chain:
            # Below every threshold, yet the requester asked for a review: the
            # policy's own chain for that.
            adj.chain = adj.settings.manual_chain
        elif request.approval_required and not adj.chain:
            # No manual chain: the first level of the lowest row that names a role.
            staffed = [row for row in rows if row.roles]
            if not staffed:
                self.fail("no-reviewer",
                          f"{rid}: `approval-required: TRUE`, but no approval row for "
                          f"{request.type} names a role to review it; add one.", source, adj)
                return False
            lowest = min(staffed, key=lambda row: row.threshold.number)
            adj.rule, adj.chain = lowest, lowest.roles[:1]
        adj.judged = self.judged(adj.amount, rows, request.date)
        return self.check_judgement(adj) and ok

    def moved(self, adj: Tracked, currency: str) -> Money | None:
        """What the request moves in `currency`: the sum of its positive legs, or
        of its negative ones where that is more (a leg priced in another currency).

        Legs that cancel out on the receivable accounts do not make a large
        posting look small; the direction is the net move on the customer.
        Legs in another currency count too, converted at the request date (their
        price annotations are the request's own word, so not used): a pair of
        them moves money however small the receivable move. No price: a
        problem, and None (never guessed).
        """
        request = adj.request
        up = down = _ZERO
        others: dict[str, tuple[Decimal, Decimal]] = {}
        for posting in request.postings:
            number = posting.number
            if posting.currency != currency:
                other_up, other_down = others.get(posting.currency, (_ZERO, _ZERO))
                others[posting.currency] = ((other_up + number, other_down) if number > 0
                                            else (other_up, other_down - number))
            elif number > 0:
                up += number
            else:
                down -= number
        for other, (other_up, other_down) in others.items():
            rate = self.rates(other, currency, request.date) if other_up or other_down else _ZERO
            if rate is None:
                self.fail("missing-price",
                          f"{request.id}: it moves {other} besides {currency}, and no price "
                          f"converts {other} to {currency} on or before {request.date}; add a "
                          "price directive so what it moves can be judged (a missing price "
                          "is never guessed).", request.source, adj)
                return None
            up += other_up * rate
            down += other_down * rate
        return Money(max(up, down), currency)

    def judged(self, amount: Money, rows: Sequence[ApprovalRow],
               date: datetime.date) -> Money | None:
        """`amount` in the thresholds' currency, when a price converts it."""
        for row in rows:
            currency = row.threshold.currency
            if currency != amount.currency:
                value = convert(amount, currency, date, self.rates)
                return None if value is None else Money(value, currency)
        return None

    def check_judgement(self, adj: Tracked) -> bool:
        """A request written with the chain and converted amount it was judged at
        is judged the same way now, or not at all (a price or row added later)."""
        request = adj.request
        rid, source = request.id, request.source
        if request.judged is not None and not same_amount(request.judged, adj.judged):
            now = adj.judged if adj.judged is not None else "nothing"
            self.fail("stale-price",
                      f"{rid}: it was judged at {request.judged} when written; the prices "
                      f"now in the ledger make it {now} on {request.date}. A price added or "
                      "changed afterwards must not change what a request needs: restore the "
                      "price, or withdraw it and file a new request.", source, adj)
            return False
        if request.chain is not None and request.chain != adj.chain:
            self.fail("stale-chain",
                      f"{rid}: it was written when its approval chain was "
                      f"\"{chain_text(request.chain)}\"; the rows now in force give "
                      f"\"{chain_text(adj.chain)}\" (a row, tier or risk setting changed "
                      "for its date). Nothing it was judged on may change afterwards: "
                      "restore the policy, or withdraw it and file a new request.",
                      source, adj)
            return False
        return True

    def run_checks(self, adj: Tracked) -> bool:
        """The site's own checks (`checks` setting); a check that fails closes the request."""
        request, amount = adj.request, adj.amount
        if not self.checks or amount is None:
            return True
        ok = True
        for name, check in self.checks:
            try:
                said = check(request, amount)
                messages = [said] if isinstance(said, str) else list(said or ())
            except Exception as exc:  # a site's check must not stop the pass
                self.fail("check-error",
                          f"{request.id}: check {name} failed ({type(exc).__name__}: {exc}); "
                          "the request is not judged until it runs.", request.source, adj)
                ok = False
                continue
            for message in messages:
                self.fail("check-failed", f"{request.id}: {message} (check {name})",
                          request.source, adj)
                ok = False
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
        if self.settings.customer_account is not None:
            # Another customer's own account would be moved under this customer's
            # tier and chain, and show on the other's statement.
            owners = {self.settings.account_owner(account) for account, _, _ in request.postings
                      if is_under(account, root)} - {None, request.customer}
            if owners:
                self.fail("customer-account",
                          f"{rid}: the postings move the own account of "
                          f"{', '.join(sorted(o for o in owners if o))}, and the request is "
                          f"for {request.customer}; a request moves only its own customer's "
                          "account (file one for each customer).", source, adj)
                return None
        if len(totals) > 1:
            self.fail("mixed-currencies",
                      f"{rid}: the postings move {', '.join(sorted(totals))} on {root}; "
                      "split it into one request per currency.", source, adj)
            return None
        currency, number = next(iter(totals.items()))
        kind = request.kind
        if kind is _CREDIT and number > 0:
            self.fail("wrong-direction",
                      f"{rid}: a credit must lower what the customer owes, but it adds "
                      f"{number} {currency} to {root}; flip the signs or make it a debit.",
                      source, adj)
            return None
        if kind is _DEBIT and number < 0:
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
        if request.kind is _BILLING and request.invoice is None:
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
        root = os.path.dirname(self.facts.files[0]) if self.facts.files else base
        if not _inside(os.path.realpath(path), os.path.realpath(root)):
            # Whether a file exists outside the ledger's folder is none of the
            # ledger's business (and must not be probed through it).
            self.fail("document-outside",
                      f"{rid}: document \"{request.document}\" is outside the ledger's folder "
                      f"({root}); keep supporting documents in it.", source, adj)
            return False
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
        if adj.state is _INVALID:
            adj.history += (Line(event, False, False,
                                 "the request is invalid; fix the request first"),)
            return
        if event.date < adj.request.date:
            self.refuse(adj, event, "event-before-request",
                        f"it is dated before the request ({adj.request.date}).")
            return
        dated = self.dating(event, adj.settings)
        if dated is not None:
            self.refuse(adj, event, *dated)
            return
        if event.action is _APPROVE:
            self.approve(adj, event)
            return
        refused = self.denial(adj, event)
        if refused is not None:
            self.refuse(adj, event, *refused)
            return
        self._actions[event.action](adj, event)

    def denial(self, adj: Tracked, event: Event, stale: bool = False) -> Denial | None:
        return denial(self.rules, adj.situation(stale), event.action, event.by, event.date)

    def staleness(self, adj: Tracked, event: Event) -> str | None:
        """Why an approval was given to something else than what is judged now."""
        reversing = adj.state is _REVERSING
        written = event.digest
        if (written is not None and written != adj.digest
                and not digests.matches(written, adj.request, adj.digest)):
            return (f"the request changed after it was given (digest {event.digest} "
                    f"approved, now {adj.digest})")
        chain = adj.reversal_chain if reversing else adj.chain
        if event.chain is not None and event.chain != chain:
            return (f"it was given to the chain \"{chain_text(event.chain)}\", and the "
                    f"chain in force is now \"{chain_text(chain)}\"")
        if event.judged is not None and not same_amount(event.judged, adj.judged):
            now = adj.judged if adj.judged is not None else "no conversion"
            return (f"it was given at {event.judged}, and the prices now in the ledger "
                    f"make it {now}")
        return None

    def approve(self, adj: Tracked, event: Event) -> None:
        # A stale approval is judged as given: when the levels before it were filled.
        fits = (adj.state, _APPROVE) in TRANSITIONS
        stale = self.staleness(adj, event) if fits else None
        refused = self.denial(adj, event, stale is not None)
        if refused is not None:
            self.refuse(adj, event, *refused)
            return
        signed = signature_refusal(self.keyring, event, lambda: event.digest or adj.digest,
                                   adj.settings.signatures_required)
        if signed is not None:
            self.refuse(adj, event, *signed)
            return
        reversing = adj.state is _REVERSING
        chain = adj.reversal_chain if reversing else adj.chain
        filled = (adj.reversal_approvals if reversing
                  else adj.approvals + adj.stale if stale else adj.approvals)
        level = len(filled)
        approval = Given(event.by, chain[level], level + 1, event.date, event.at)
        completes = level + 1 == len(chain)
        if stale is not None:
            # It booked the adjustment if it completed the chain it was given to.
            given_to = event.chain if event.chain is not None else chain
            books = reversing or not adj.settings.separate_apply
            self.stale_approval(adj, event, approval, stale,
                                books and (completes or level + 1 == len(given_to)))
            return
        if reversing:
            if completes and not self.reverse(adj, event):
                return
            adj.history += (event,)
            adj.reversal_approvals += (approval,)
            return
        adj.history += (event,)
        adj.approvals += (approval,)
        if completes:
            move(adj, _APPROVE)
            adj.decided_on = event.date
            if not adj.settings.separate_apply:
                self.apply(adj, event.date, event.effective, event)

    def stale_approval(self, adj: Tracked, event: Event, approval: Given, why: str,
                       would_book: bool) -> None:
        """A stale approval counts for nothing; if it is the one that booked the
        adjustment (or its reversal), that is an error, not a warning."""
        what = "reversal" if adj.state is State.REVERSING else "adjustment"
        message = (f"{event.adjustment_id}: the approval by {event.by} on {event.date} is "
                   f"stale: {why}; it does not count until it is approved again.")
        if would_book:
            self.fail("stale-approval",
                      f"{message} It is the approval that booked the {what}, so the {what} "
                      "is no longer booked: nothing an approval was judged on may change "
                      "afterwards. Restore what was approved, or cancel and file a new "
                      "request.", event.source, adj)
        else:
            self.warn("stale-approval", message, event.source, event.adjustment_id)
        if adj.state is not State.REVERSING:
            adj.stale += (approval,)
        adj.history += (Line(event, False, True, f"stale: {why}"),)

    def reject(self, adj: Tracked, event: Event) -> None:
        adj.history += (event,)
        if adj.state is _REVERSING:
            # The reversal is refused: the adjustment stays applied.
            move(adj, _REJECT)
            adj.reversal_chain, adj.reversal_approvals, adj.cancelled_by = _NONE, _NONE, None
            return
        move(adj, _REJECT)
        adj.decided_on = event.date

    def apply_event(self, adj: Tracked, event: Event) -> None:
        if event.digest is not None and not digests.matches(event.digest, adj.request,
                                                            adj.digest):
            self.refuse(adj, event, "changed-after-approval",
                        f"the request changed after it was approved (digest {event.digest} "
                        f"at the apply, now {adj.digest}); an approved request is applied "
                        "only as approved. Restore it, or withdraw it and file a new request.")
            return
        self.apply(adj, event.date, event.effective, event)

    def cancel(self, adj: Tracked, event: Event) -> None:
        if adj.state is not State.APPLIED:
            move(adj, _CANCEL)
            adj.decided_on = adj.decided_on or event.date
            adj.history += (event,)
            return
        # Cancelling an applied adjustment asks for its reversal, which moves money
        # too: it needs the chain a request of its type and amount needs now.
        request = adj.request
        if adj.amount is None:
            chain: tuple[str, ...] = _NONE
        else:
            try:
                rule = self.matrix.choose(
                    adj_type=request.type, category=request.category, tier=adj.tier,
                    risk=adj.risk_flags, amount=adj.amount, date=event.date, rates=self.rates)
            except MissingPrice as missing:
                self.refuse(adj, event, "missing-price",
                            f"{missing}, so the approvals its reversal needs cannot be "
                            "worked out; add a price directive.")
                return
            chain = rule.roles if rule else _NONE
        if not chain:
            if self.reverse(adj, event):
                adj.cancelled_by = event.by
                adj.history += (event,)
            return
        move(adj, _CANCEL)
        adj.cancelled_by = event.by
        adj.reversal_chain = chain
        adj.reversal_approvals = _NONE
        adj.history += (event,)

    def closing_lock(self, when: datetime.date, decided: datetime.date) -> PeriodLock | None:
        """The lock in force on `decided` that closes `when`, if any."""
        for lock in self.locks:
            if lock.date > decided:
                break
            if when <= lock.through:
                return lock
        return None

    def reverse(self, adj: Tracked, event: Event) -> bool:
        """Book the reversal, dated at `event`; False when a closed period forbids it."""
        lock = self.closing_lock(event.date, self.decided_on(event))
        if lock is not None:
            self.refuse(adj, event, "closed-period",
                        f"the reversal would be dated {event.date}, inside the period closed "
                        f"through {lock.through} (locked on {lock.date}).")
            return False
        request = adj.request
        if adj.state is _APPLIED:  # a reversal that needs no approval
            move(adj, _CANCEL)
        move(adj, _APPROVE)
        adj.reversed_on = event.date
        adj.reversed_by = event
        if request.invoice in self.credited and adj.amount is not None and adj.lowers:
            self.credited[request.invoice] -= adj.amount.number
        return True

    def apply(self, adj: Tracked, date: datetime.date, effective: datetime.date | None,
              event: Event | None) -> None:
        """Book the request's effect on `date` (or its effective date), if allowed.

        `event` is the approve or apply that does it; None when the request is
        applied on arrival. Locks count as of the moment it was decided (`at:`).
        """
        request = adj.request
        when = effective or request.effective or date

        def refuse(code: str, message: str) -> None:
            if event is None:
                self.fail(code, f"{request.id}: {message}", request.source, adj)
            else:
                self.refuse(adj, event, code, message)

        held = held_until_billed(self.rules, adj, date, effective)
        if held is not None:
            refuse(*held)
            return
        lock = self.closing_lock(when, self.decided_on(event if event is not None else request))
        if lock is not None:
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
        move(adj, _APPLY)
        adj.applied_on = date
        adj.effective_date = when
        adj.applied_by = event
        if event is not None and event.action is _APPLY:
            adj.history += (event,)


def unknown_customer(directory: Directory, request: Request) -> str:
    """Why `request.customer` is not a customer on the request's date, and what to do."""
    rid, name, date = request.id, request.customer, request.date
    known = directory.find(name)
    if known and name not in known:
        return (f"{rid}: `customer:` is the customer's id, and \"{name}\" is the name of "
                f"{' or '.join(known)}; write the id.")
    if known:
        return (f"{rid}: customer \"{name}\" is known only from a later date than "
                f"{date}; date the request later, or declare the customer earlier.")
    near = directory.nearest(name)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return (f"{rid}: customer \"{name}\" is named nowhere in the ledger on {date}: no "
            "transaction on the receivable accounts carries it as `customer:`, and no "
            f"custom \"adjustment-customer\" declares it.{hint} A new customer needs "
            f"custom \"adjustment-customer\" \"{name}\" \"<tier>\", or an invoice naming it.")


class CustomerError(AdjustmentsError, ValueError):
    """Why a customer given by id or name picks no single customer."""

    code = "ambiguous-customer"


def customer_id(directory: Directory, text: str) -> str | None:
    """The id of the customer `text` names by id or name; None when it names none.
    Raises `CustomerError` when it is the name of several."""
    found = directory.find(text)
    if len(found) > 1:
        raise CustomerError(f"customer {text!r} is ambiguous: it is the name of "
                            f"{', '.join(found)}; give the id")
    return found[0] if found else None


def pick_customer(directory: Directory, text: str) -> str:
    """The id of the customer `text` names (its id, or its name, case aside).

    Raises `CustomerError` when it names none (the nearest known are suggested)
    or several (their ids are listed: give one).
    """
    found = customer_id(directory, text)
    if found is not None:
        return found
    near = directory.nearest(text)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise CustomerError(f"customer {text!r} is not known: the ledger names no customer with "
                        f"that id or name{hint}")


def _first_dates(requests: Iterable[Request]) -> dict[str, datetime.date]:
    """The earliest request date of each id."""
    first: dict[str, datetime.date] = {}
    for request in requests:
        found = first.get(request.id)
        first[request.id] = request.date if found is None else min(found, request.date)
    return first


def _read_in_order(facts: Facts) -> bool:
    """Whether `facts.timeline` holds every request and event, in Beancount's order."""
    return len(facts.timeline) == len(facts.requests) + len(facts.events)


def _named(item: Request | Event) -> str:
    if type(item) is Event:
        return f"{item.adjustment_id} {item.action}"
    return f"request {item.id}"  # type: ignore[union-attr]


_JUDGED_ALIKE = tuple(f.name for f in dataclasses.fields(Facts)
                      if f.name not in ("requests", "events", "timeline", "problems"))


def _only_added(old: Facts, facts: Facts, requests: Sequence[Request],
                events: Sequence[Event]) -> str:
    """Why `facts` are not `old` with `requests` and `events` added ("" when they are)."""
    if not _read_in_order(old):
        return "the book's entries were not read in the ledger's order"
    for name in _JUDGED_ALIKE:
        if getattr(facts, name) is not getattr(old, name):
            return f"the {name.replace('_', ' ')} differ from the book's"
    if (len(facts.requests) != len(old.requests) + len(requests)
            or len(facts.events) != len(old.events) + len(events)):
        return "the requests and events are not the book's with the new ones added"
    if facts.problems != old.problems:
        # A seal a new entry breaks, say: it is reported before the replay.
        return "the new entries bring problems of their own before they are judged"
    return ""


def continued(book: Book, facts: Facts, requests: Sequence[Request],
              events: Sequence[Event]) -> Book | str:
    """The book `replay(facts, ...)` gives, judging only the new items.

    `facts` are `book.facts` with `requests` and `events` added (nothing else:
    no row, lock, policy, seal or price). When every new item comes after
    every item the book judged (dated on or after its last one, and on that
    day after it by file and line and `at:`), a full replay would judge the
    old items as the book did, so the replay goes on from the book's end,
    with copies of the records the new items name. Otherwise (or for a new
    request whose id an earlier event named) the reason is returned, and the
    caller replays in full.
    """
    ended = book.ended
    adjustments = book.adjustments
    if not isinstance(ended, _Replay) or not isinstance(adjustments, Adjustments):
        return "the book was not made by this code's replay"
    # The records copied must carry their risk flags, as a full replay's have.
    adjustments.settle()
    resumed = ended.resume(facts, requests, events)
    if isinstance(resumed, str):
        return resumed
    going, new = resumed
    going.walk(new)
    return going.book()


def replay(facts: Facts, rates: Rates, settings: Settings | None = None,
           checks: Sequence[tuple[str, Check]] = (), progress: Any = None) -> Book:
    """Judge every request and event; return the book.

    `checks` are the site's own checks by name (see `Check`), run on every request.
    `progress.replay` is set to the replay, whose `current` item tells a caller
    where an internal failure happened.
    """
    judging = _Replay(facts, rates, settings or Settings(), checks)
    if progress is not None:
        progress.replay = judging
    return judging.run()

