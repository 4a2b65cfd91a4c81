"""The book: what the replay ended with, and its lazy mapping of adjustments.

`Book.adjustments` makes each `Adjustment` model when a tool first reads it
(and the deferred arrival risk flags with the first), so that the plugin
stays a few percent of Beancount's own load time and memory.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from beancount_adjustments.core.facts import Facts, Settings
from beancount_adjustments.core.models import Adjustment, PeriodLock, Problem, State
from beancount_adjustments.core.permissions import Rules
from beancount_adjustments.core.policy import Directory, Matrix, is_known
from beancount_adjustments.core.records import Tracked, with_flags
from beancount_adjustments.core.references import Reference
from beancount_adjustments.core.risk import Arrivals, request_flags
from beancount_adjustments.core.type_policies import TypePolicies

__all__ = ["RISK_CHECK_FAILED", "Adjustments", "Book", "DeferredFlags"]


class DeferredFlags:
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

    def __init__(self, tracked: dict[str, Tracked], flags: DeferredFlags | None = None) -> None:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Book:
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
    ended: Any = field(default=None, repr=False)
    """The replay as it ended (`replay.Replay`): what `continued` goes on from."""

    def get(self, adjustment_id: str) -> Adjustment | None:
        return self.adjustments.get(adjustment_id)

    def warnings_of(self, adjustment_id: str) -> tuple[Problem, ...]:
        """The warnings about one adjustment, in the order the replay met them."""
        return tuple(w for w in self.warnings if w.adjustment_id == adjustment_id)

    def known(self, name: str, kind: str, date: datetime.date) -> bool:
        """Whether requests may use type (or category) `name` on `date` (`policy.is_known`)."""
        return is_known(self.facts.declarations, name, kind, date)

    def in_state(self, *states: State) -> list[Adjustment]:
        """The adjustments in one of `states`; only those are made into models."""
        return [self.adjustments[r.request.id] for r in self.records() if r.state in states]

    def records(self) -> Iterable[Tracked | Adjustment]:
        """Each adjustment as the replay's record (request, state, amount, tier,
        approvers), read without making its model; a book not made by `replay`
        gives its models."""
        adjustments = self.adjustments
        if isinstance(adjustments, Adjustments):
            return adjustments.tracked.values()
        return adjustments.values()

    def tracked(self) -> Mapping[str, Tracked]:
        """The replay's records (what the plugin reads without making models)."""
        adjustments = self.adjustments
        if not isinstance(adjustments, Adjustments):
            raise TypeError("this book was not made by `replay`; it has no records")
        return adjustments.tracked
