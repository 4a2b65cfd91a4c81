"""What the replay keeps as it walks, and the judging both requests and events use.

Reporting problems, dating entries by their `at:`, the settings in force
for a type, the period locks and booking an effect. `replay_requests` and
`replay_events` judge on top of this; `replay.Replay` puts them together.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from operator import attrgetter

from beancount_adjustments.core.book import DeferredFlags
from beancount_adjustments.core.facts import Check, Facts, Settings, filed_requests
from beancount_adjustments.core.models import (
    KNOWN_CATEGORIES,
    KNOWN_TYPES,
    Action,
    Declaration,
    Event,
    Money,
    PeriodLock,
    Problem,
    Record,
    Request,
    Source,
)
from beancount_adjustments.core.moments import on_day
from beancount_adjustments.core.offsets import refused as offsets_refused
from beancount_adjustments.core.permissions import Rules, held_until_billed
from beancount_adjustments.core.policy import (
    Directory,
    Matrix,
    Rates,
    is_known,
)
from beancount_adjustments.core.records import Tracked, move
from beancount_adjustments.core.references import credit_left, credit_taken, reference_terms
from beancount_adjustments.core.risk import ARRIVAL_CHECKS, Arrivals, RiskConfig
from beancount_adjustments.core.signatures import KeyRing
from beancount_adjustments.core.type_policies import TypePolicies, TypeSettings
from beancount_adjustments.core.written import at_ceiling, at_floor, names_its_day

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_APPLY = Action.APPLY

_KNOWN_TYPES = frozenset(KNOWN_TYPES)
_NOTHING = Decimal(0)
_KNOWN_CATEGORIES = frozenset(KNOWN_CATEGORIES)


def first_dates(requests: Iterable[Request]) -> dict[str, datetime.date]:
    """The earliest request date of each id."""
    first: dict[str, datetime.date] = {}
    for request in requests:
        found = first.get(request.id)
        first[request.id] = request.date if found is None else min(found, request.date)
    return first


class ReplayState:
    """Each decision's handler but approve's (`Replay.actions`)."""

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
        self.requested_on = first_dates(facts.requests)
        self.filed = filed_requests(facts.requests)
        """The request each external id names, as every tool answers a retry."""
        self.arrivals = Arrivals(RiskConfig.build(facts.risk_settings), self.matrix, rates)
        # Arrival flags decide a chain only through rows narrowed by one of their
        # names; without such a row they are worked out when the book is read.
        flag_rows = any(row.risk in ARRIVAL_CHECKS for row in facts.rows)
        self.deferred = None if flag_rows else DeferredFlags(self.arrivals)
        self.keyring = KeyRing.build(facts.keys)
        self.declared: dict[str, list[Declaration]] = {}
        for declaration in sorted(facts.declarations, key=attrgetter("date")):
            self.declared.setdefault(declaration.name, []).append(declaration)
        self.rules = Rules(self.directory, rates, self.matrix, facts.invoices, self.policies,
                           self.settings.default_sla_days)
        self._isos: dict[datetime.date, str] = {}
        self._decided: tuple[Request | Event | None, datetime.date | None] = (None, None)
        """The last `decided_on` answer: asked again and again for one event (at 30k
        transactions 49,698 calls, 18,622 of them answered from here)."""
        self.current: Request | Event | None = None
        """What the replay is judging: where an internal failure is reported."""

    # -- reporting -----------------------------------------------------------

    def fail(self, code: str, message: str, source: Source, adj: Tracked | None = None,
             adjustment_id: str | None = None) -> None:
        problem = Problem(
            code=code, message=message, source=source,
            adjustment_id=adj.request.id if adj else adjustment_id)
        self.problems.append(problem)
        if adj is not None:
            adj.problems += (problem,)

    def warn(self, code: str, message: str, source: Source,
             adjustment_id: str | None = None) -> None:
        self.warnings.append(Problem(
                                   code=code, message=message, source=source,
                                   adjustment_id=adjustment_id))

    def refuse(self, adj: Tracked, event: Event, code: str, message: str) -> None:
        self.fail(code, f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                  f"{message}", event.source, adj)
        adj.history += (Record(event, False, False, message),)

    # -- types, settings and dates -------------------------------------------

    def known(self, name: str, kind: str, date: datetime.date) -> bool:
        if name in (_KNOWN_TYPES if kind == "type" else _KNOWN_CATEGORIES):
            return True
        return is_known(self.declared.get(name, ()), name, kind, date)

    def dating_settings(self, adj_type: str, requested: TypeSettings,
                        date: datetime.date) -> TypeSettings:
        """What an event written on `date` (`decided_on`: its `at:` day, else its
        date) is dated by: the request date's settings, made stricter by the policy
        in force on that day (`require-at`, a smaller `backdate-days`): a policy
        tightened while a request waits binds the decisions written after it, and
        one loosened later loosens none."""
        now = self.rules.settings_on(adj_type, date)
        if now is requested or (now.backdate_days >= requested.backdate_days
                                and (requested.require_at or not now.require_at)):
            return requested
        return dataclasses.replace(requested, require_at=requested.require_at or now.require_at,
                                   backdate_days=min(requested.backdate_days,
                                                     now.backdate_days))

    def written_on(self, at: str) -> datetime.date | None:
        # Not cached: every stamp is its own.
        return at_floor(at)

    def dating(self, item: Request | Event, settings: TypeSettings) -> tuple[str, str] | None:
        """(code, message) when `item` is dated earlier than it was written allows, or
        after the day it was written."""
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
        if (at_ceiling(at) or written) < item.date:
            # Judged on its date, a decision dated ahead would count under roles and
            # limits its author does not hold yet, and outside the locks of today; a
            # request, under the rows and policies dated for that day (booking later
            # is what `effective:` says).
            if type(item) is Event:
                return ("dated-ahead",
                        f"it is dated {item.date} but was written at {at}; a decision is "
                        "dated the day it is taken. Date it when it is written.")
            return ("dated-ahead",
                    f"it is dated {item.date} but was written at {at}; a request is dated "
                    "the day it is written. Date it when it is written, with `effective:` "
                    "for the day it should be booked.")
        allowed = settings.backdate_days
        if (written - item.date).days > allowed:
            return ("backdated",
                    f"it is dated {item.date} but was written at {at}; entries may be dated "
                    f"at most {allowed} day{'s' if allowed != 1 else ''} before they are "
                    "written (policy `backdate-days:`). Date it when it is written.")
        return None

    def decided_on(self, item: Request | Event) -> datetime.date:
        """The day a decision was really taken, for the locks: its date, or later per
        its `at:`. Of the days a UTC stamp can name, the latest (`at_ceiling`): a
        decision dated the day before a lock and written on the lock's day at
        10:00 UTC is judged under the lock, not before it, and so is one dated the
        day before and stamped 13:00 UTC that day (already the lock's day at UTC+12
        and east of it): a stamp's own day is the answer only when it names its own
        zone."""
        last, day = self._decided
        if last is item and day is not None:
            return day
        at = item.at
        if at is None or (self.written_that_day(at, item.date) and names_its_day(at)):
            day = item.date
        else:
            written = at_ceiling(at)
            day = item.date if written is None or written < item.date else written
        self._decided = (item, day)
        return day

    def written_that_day(self, at: str, date: datetime.date) -> bool:
        """Whether `at` is a moment (`read_moment`) stamped `date`: the usual case, told
        without working out the days it can name. Not just its first characters:
        `2026-03-06Tjunk` is no stamp of any day (`bad-metadata`)."""
        iso = self._isos.get(date)
        if iso is None:
            iso = self._isos[date] = date.isoformat()
        return on_day(at, iso)

    def closing_lock(self, when: datetime.date, decided: datetime.date) -> PeriodLock | None:
        """The lock in force on `decided` that closes `when`, if any."""
        for lock in self.locks:
            if lock.date > decided:
                break
            if when <= lock.through:
                return lock
        return None


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

        decided = self.decided_on(event if event is not None else request)
        # A request applied on arrival is judged by its own date's policy.
        held = held_until_billed(self.rules, adj, date, effective,
                                 decided if event is not None else None)
        if held is not None:
            refuse(*held)
            return
        if event is not None:
            # A policy restricting offsets since the request binds the decision that
            # books it: in force on its date or on the day it was written.
            for binding in self.rules.binding(request.type, date, decided):
                now = binding.offset_accounts
                offsets = (None if now is adj.settings.offset_accounts
                           else offsets_refused(request, self.settings, now))
                if offsets is not None:
                    refuse("offset-not-allowed", offsets)
                    return
        own = request.effective
        if (effective is not None and own is not None and effective != own
                and self.closing_lock(own, decided) is None):
            # The digest binds the request's own date: whoever applies books what was
            # approved, and moves it only out of a period closed since.
            refuse("effective-differs",
                   f"it would be booked on {effective}, and the request was approved to be "
                   f"booked on its own `effective: {own}`; drop the event's `effective:`, or "
                   "withdraw the request and file one with the date wanted.")
            return
        if effective is not None and own is None and effective < request.date:
            # Approved to be booked when applied: not back to before it was asked for.
            refuse("effective-differs",
                   f"it would be booked on {effective}, before the request was filed "
                   f"({request.date}), and it was approved to be booked when applied; date "
                   "it on or after the request, or withdraw it and file one with its own "
                   "`effective:` for the approvers to see.")
            return
        lock = self.closing_lock(when, decided)
        if lock is not None:
            refuse("closed-period",
                   f"its effect would be dated {when}, inside the period closed through "
                   f"{lock.through} (locked on {lock.date}); date it after "
                   f"{lock.through} with `effective:`.")
            return
        invoice_id = request.invoice
        taken = (credit_taken(request.postings, adj.amount, self.settings.receivable)
                 if invoice_id is not None else _NOTHING)
        terms = (reference_terms(self.facts.invoices, invoice_id)
                 if taken and invoice_id is not None else None)
        if terms is not None and invoice_id is not None:
            already = self.credited.get(invoice_id, _NOTHING)
            left = credit_left(terms, already)
            if taken > left:
                if terms.currency is None or terms.number is None:
                    # Refused on arrival already (`invoice-currency`); kept so that the
                    # booking itself never reads an invoice without an amount as room.
                    refuse("invoice-currency",
                           f"invoice {invoice_id} bills no single currency on "
                           f"{self.settings.receivable}, so no credit can be held to it.")
                    return
                whole = Money(terms.number, terms.currency)
                refuse("exceeds-invoice",
                       f"credits against invoice {invoice_id} would reach "
                       f"{already + taken} {terms.currency}, more than "
                       f"the invoice's {whole}; at most {left} "
                       f"{terms.currency} is left to credit.")
                return
            self.credited[invoice_id] = already + taken
        move(adj, _APPLY)
        adj.applied_on = date
        adj.effective_date = when
        adj.applied_by = event
        if event is not None and event.action is _APPLY:
            adj.history += (Record(event, True),)
