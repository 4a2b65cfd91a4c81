"""The replay: every request and event judged in ledger order, into a `Book`.

`replay(facts, rates)` is the one function that turns requests and events
into states, approvals, effects and problems; it is pure (same facts, same
book). `Replay` is the judging of requests and of events put together,
walking one timeline: by date, then on one day by file and line, with the
entries that carry `at:` in the order of their `at:`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from operator import attrgetter, itemgetter
from typing import Any

from beancount_adjustments.core import lookalike
from beancount_adjustments.core.book import Adjustments, Book, DeferredFlags
from beancount_adjustments.core.facts import (
    Check,
    Facts,
    Settings,
    filed_requests,
    read_in_order,
)
from beancount_adjustments.core.models import (
    KNOWN_TYPES,
    Event,
    Request,
)
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.core.replay_events import EventJudging
from beancount_adjustments.core.replay_requests import RequestJudging
from beancount_adjustments.core.replay_state import first_dates
from beancount_adjustments.core.reserved import covers
from beancount_adjustments.core.written import moment


class Replay(RequestJudging, EventJudging):
    def __init__(self, facts: Facts, rates: Rates, settings: Settings,
                 checks: Sequence[tuple[str, Check]]) -> None:
        super().__init__(facts, rates, settings, checks)
        self.check_rows()
        self.check_reserved()
        self.check_user_names()
        self.check_customer_ids()
        self.check_customer_contacts()
        self.check_request_ids()

    # -- the policy's own sanity ---------------------------------------------

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

    def check_reserved(self) -> None:
        """Warn at a reserved pattern that covers no account the ledger opens: a typo
        there reserves nothing, and the plain credits it was written to stop pass."""
        opened = self.facts.opened
        if opened is None:
            return
        for reserved in self.facts.reserved:
            if not any(covers(reserved.pattern, account) for account in opened):
                self.warn("unknown-pattern",
                          f'reserved account pattern "{reserved.pattern}" matches no account '
                          "the ledger opens, so it reserves nothing; check the spelling "
                          '(like "Expenses:Adjustments:*").', reserved.source)

    def check_user_names(self) -> None:
        """Warn at a user line whose name reads as another user's (a Cyrillic o in "bob")."""
        grants = sorted(self.facts.grants, key=lambda g: (g.date, g.source))
        for grant, seen in lookalike.lookalikes(grants, attrgetter("user")):
            self.warn("lookalike-user",
                      f'user "{grant.user}" reads as the user "{seen.user}" declared at '
                      f"{seen.source.filename}:{seen.source.lineno}: a decision by one "
                      "would pass for the other's on every page; give them names that "
                      "differ to the eye.", grant.source)

    def check_customer_ids(self) -> None:
        """Warn where a customer id that reads as another's is first known (a Cyrillic
        c in "cust_123", "cust_l23" beside "cust_123"): a credit to one would read as
        a credit to the other."""
        firsts = sorted((records[0] for records in self.directory.customers.values()
                         if records), key=lambda r: (r.date, r.source))
        for record, seen in lookalike.lookalikes(firsts, attrgetter("customer")):
            self.warn("lookalike-customer",
                      f'customer "{record.customer}"{lookalike.spelled(record.customer)} '
                      f'reads as the customer "{seen.customer}" known from {seen.source.filename}:'
                      f"{seen.source.lineno}: a credit to one would pass for one to the "
                      "other on every page; give them ids that differ to the eye.",
                      record.source)

    def check_customer_contacts(self) -> None:
        """Warn at a declaration whose customer is declared on the same day with another
        contact (`Directory.contact_rival`): notify sends that customer nothing."""
        for records in self.directory.customers.values():
            for record in records:
                rival = self.directory.contact_rival(record)
                if rival is None:
                    continue
                self.warn("conflicting-customer",
                          f'customer "{record.customer}" is declared on {record.date} with '
                          f"contact {record.contact!r} and, at {rival.source.filename}:"
                          f"{rival.source.lineno}, with {rival.contact!r}: which is in force "
                          "hangs on the order of the files, so notify sends this customer "
                          "nothing until one line is removed or dated apart.", record.source)

    def check_request_ids(self) -> None:
        """Warn at a request whose id reads as an earlier request's ("ADJ-2026-OO42"
        with letters O, or "adj-2026-0042", beside "ADJ-2026-0042"): a decision naming
        one would read as one on the other in every list."""
        requests = sorted(self.facts.requests, key=lambda r: (r.date, r.source))
        for later, seen in lookalike.lookalikes(requests, attrgetter("id")):
            self.warn("lookalike-id",
                      f'request id "{later.id}"{lookalike.spelled(later.id)} reads as the '
                      f'request id "{seen.id}" at {seen.source.filename}:'
                      f"{seen.source.lineno}: a decision naming one would pass for one on "
                      "the other in every list; give it an id that differs to the eye.",
                      later.source, later.id)

    # -- the timeline --------------------------------------------------------

    def timeline(self) -> list[Request | Event]:
        """Requests and events in ledger order (see the module docstring)."""
        facts = self.facts
        items: list[Request | Event]
        if read_in_order(facts):
            # Read in Beancount's order (date, then line): only days whose entries
            # come from several files need sorting by file.
            return ledger_order(list(facts.timeline), facts.files, read=True)
        items = [*facts.requests, *facts.events]
        items.sort(key=attrgetter("date"))
        return ledger_order(items, facts.files, read=False)

    def order(self, items: list[Request | Event], read: bool) -> list[Request | Event]:
        """`items` (sorted by date) in ledger order (`ledger_order`)."""
        return ledger_order(items, self.facts.files, read=read)

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
        return Book(
            adjustments=Adjustments(self.progress, self.deferred),
            problems=tuple(self.problems), warnings=tuple(self.warnings),
            directory=self.directory, matrix=self.matrix, policies=self.policies,
            locks=tuple(self.locks), invoices=self.facts.invoices, orders=self.facts.orders,
            settings=self.settings, facts=self.facts, rules=self.rules,
            checks=tuple(self.checks), ended=self)


    def resumed(self, facts: Facts, requests: Sequence[Request],
                new: Sequence[Request | Event]) -> Replay:
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
        going.requested_on = first_dates(requests)
        going.filed = filed_requests(facts.requests)
        going._isos = {}
        # New requests are remembered for the arrival checks of those after them.
        going.arrivals = self.arrivals.copy() if requests else self.arrivals
        going.deferred = None if self.deferred is None else DeferredFlags(going.arrivals)
        going.current = None
        return going


def replay(facts: Facts, rates: Rates, settings: Settings | None = None,
           checks: Sequence[tuple[str, Check]] = (), progress: Any = None) -> Book:
    """Judge every request and event; return the book.

    `checks` are the site's own checks by name (see `Check`), run on every request.
    `progress.replay` is set to the replay, whose `current` item tells a caller
    where an internal failure happened.
    """
    judging = Replay(facts, rates, settings or Settings(), checks)
    if progress is not None:
        progress.replay = judging
    return judging.run()


def ledger_order(items: list[Request | Event], files: Sequence[str], *,
                 read: bool = False) -> list[Request | Event]:
    """`items` (sorted by date) in ledger order, in place, day by day: by file (in the
    order of `files`, the ledger's files as loaded) and line (`read`: in Beancount's
    order already, so only days from several files), then by `at:` where several
    carry it. The replay's order, and so the order the reports list decisions in."""
    rank = {name: index for index, name in enumerate(files)}

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
        several = False
        end = start + 1
        while end < count and items[end].date == day:
            if not several and items[end].source.filename != filename:
                several = True
            end += 1
        if end - start > 1:
            if several or not read:
                items[start:end] = sorted(items[start:end], key=key)
            # Where several entries of one day carry `at:`, they take its order.
            _order_by_at(items, start, end)
        start = end
    return items


def _order_by_at(items: list[Request | Event], start: int, end: int) -> None:
    stamped = [i for i in range(start, end) if items[i].at is not None]
    if len(stamped) < 2:
        return
    stamps = [str(items[i].at) for i in stamped]
    # Tools' stamps (seconds, then one offset) compare as text when they share the
    # offset; across offsets "08:00:00-05:00" (13:00 UTC) sorts before
    # "09:00:00+00:00", so those are compared as moments.
    offsets = {stamp[19:] for stamp in stamps}
    if (len(offsets) == 1 and next(iter(offsets))[:1] in ("+", "-", "Z")
            and all(a <= b for a, b in itertools.pairwise(stamps))):
        return
    # A stamp that does not read orders nothing (its entry is refused, `bad-metadata`)
    # and keeps its place: it must not put the day's other entries back in line
    # order, where a reject written first could lose to an approval on an earlier line.
    read = [(position, when) for position in stamped
            if (when := moment(str(items[position].at))) is not None]
    if len(read) < 2:
        return
    chosen = [items[position] for position, _ in sorted(read, key=itemgetter(1))]
    for (position, _), item in zip(read, chosen, strict=True):
        items[position] = item
