"""What one write knows: the ledger as loaded under the lock, and the items to write."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from beancount.core import data

from beancount_adjustments.beans import render
from beancount_adjustments.beans.loading import DiskState
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Event, Request
from beancount_adjustments.core.seals import Seal
from beancount_adjustments.core.written import ceiling_day


@dataclass
class Item:
    """One entry to write, as rendered, and what became of it."""

    index: int
    key: str
    text: str
    refusal: str | None = None
    code: str = "refused"
    rule: str = ""
    """The plugin's code of the rule that refused it (`self-approval`), "" for the
    writer's own refusals: a client tells rules apart without reading messages."""
    request: Request | None = None
    event: Event | None = None
    seal: Seal | None = None
    first_line: int = 0
    last_line: int = 0
    rerender: Callable[[list[tuple[str, render.MetaValue | None]]], str] | None = None
    """For a request: its text again with more metadata (what it was judged at)."""
    step: str | None = None
    """For a decision: the step it names (`Decision.seen_step`), judged at."""
    follows: Item | None = None
    """For a decision: the one of the same write on the same adjustment just before it,
    whose outcome it was rendered after (`batch.decision_items`)."""


def stamp_of(now: datetime.datetime) -> str:
    """The `at:` the writer records for `now`: local time with its offset."""
    return now.astimezone().isoformat(timespec="seconds")


def clock() -> datetime.datetime:
    """The writer's clock: the moment a write without `now=` is stamped at."""
    return datetime.datetime.now(datetime.UTC)


def written_today() -> datetime.date:
    """The day the plugin takes a decision the writer stamps now to be written on
    (`at_ceiling` of its `at:`, as the replay's `decided_on` does): today where the
    machine's zone has an offset; in UTC, whose stamps may be half a day behind their
    writer's day, tomorrow from noon on. What every tool that says whether a user may
    act now passes as `written=` (`permissions.denial`), so that none offers what the
    writer refuses."""
    # From the moment itself, not its text: the pages ask it for every row they show.
    return ceiling_day(clock().astimezone())


@dataclass
class Ledger:
    """The ledger as loaded under the lock."""

    path: Path
    target: Path
    existing: bytes
    """The target's bytes as read under the lock (UTF-8; appended to as they are)."""
    entries: list[data.Directive]
    book: Book
    now: datetime.datetime
    options: dict[str, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)
    """What the load reported (Beancount's own errors among them)."""
    full_load: str = ""
    """Why the ledger was parsed ("" when the caller's snapshot was used)."""
    full_replay: str = ""
    """Why the last candidate was judged by a full replay ("" when it went on)."""
    files: DiskState | None = None
    """The ledger's files as hashed under the lock, when the snapshot was used."""

    @property
    def today(self) -> datetime.date:
        return self.now.astimezone().date()

    @property
    def stamp(self) -> str:
        """The moment of writing, in local time with its offset (what `at:` records)."""
        return stamp_of(self.now)

    @cached_property
    def by_type(self) -> dict[type, list[Any]]:
        """The entries grouped by their directive type, in ledger order: one
        pass for every index below (two `isinstance` scans cost 0.1 s of a
        decision at 100k transactions, this one 0.02 s)."""
        groups: dict[type, list[Any]] = defaultdict(list)
        for entry in self.entries:
            groups[type(entry)].append(entry)
        return groups

    @property
    def structure(self) -> list[data.Directive]:
        """The entries Beancount's validations of a new transaction read besides it:
        every open, close and commodity directive."""
        by_type = self.by_type
        return [*by_type[data.Open], *by_type[data.Close], *by_type[data.Commodity]]

    @property
    def balances(self) -> list[data.Balance]:
        return self.by_type[data.Balance]

    @cached_property
    def accounts(self) -> tuple[dict[str, datetime.date], dict[str, datetime.date]]:
        """(opened, closed): each account's `open` and `close` date (the last
        directive of each wins), indexed once per load."""
        by_type = self.by_type
        opened = {entry.account: entry.date for entry in by_type[data.Open]}
        closed = {entry.account: entry.date for entry in by_type[data.Close]}
        return opened, closed

    def used_ids(self) -> set[str]:
        """Every id in use: the book's adjustments and requests, and every
        transaction link (a fresh set, for the caller to add to)."""
        used = set(self.book.adjustments) | {r.id for r in self.book.facts.requests}
        used |= {link for e in self.by_type[data.Transaction] for link in (e.links or ())}
        return used
