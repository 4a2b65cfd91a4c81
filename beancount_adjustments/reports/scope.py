"""What a report looks at: the `Scope` (period and filters) and the adjustments it
selects, shared by the report tables (`tables`) and the auditor's (`evidence`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from fnmatch import fnmatchcase

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Adjustment, State


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which adjustments a report looks at. Every field is optional."""

    start: datetime.date | None = None
    """First day of the period (inclusive)."""
    end: datetime.date | None = None
    """Last day of the period (inclusive)."""
    type: str | None = None
    """A type or pattern (`credit:*`)."""
    customer: str | None = None
    state: State | None = None

    def in_period(self, date: datetime.date | None) -> bool:
        if date is None:
            return False
        return ((self.start is None or date >= self.start)
                and (self.end is None or date <= self.end))

    def matches(self, adj: Adjustment) -> bool:
        """The filters other than the period."""
        request = adj.request
        return ((self.type is None or fnmatchcase(request.type, self.type))
                and (self.customer is None or request.customer == self.customer)
                and (self.state is None or adj.state is self.state))

    def describe(self) -> str:
        parts = [f"from {self.start or 'the beginning'} to {self.end or 'the end'}"]
        parts += [f"{name} {value}" for name, value in (
            ("type", self.type), ("customer", self.customer), ("state", self.state)) if value]
        return ", ".join(parts)


def as_of_day(scope: Scope, today: datetime.date | None = None) -> datetime.date:
    """The day a report counts ages to: today, or the scope's end when earlier."""
    day = today or datetime.date.today()
    return min(day, scope.end) if scope.end is not None else day


def selected(book: Book, scope: Scope) -> list[Adjustment]:
    """Adjustments requested in the period that pass the filters, in request order."""
    found = [a for a in book.adjustments.values()
             if scope.in_period(a.request.date) and scope.matches(a)]
    return sorted(found, key=lambda a: (a.request.date, a.request.source.filename,
                                        a.request.source.lineno))


def with_evidence(book: Book, scope: Scope) -> list[Adjustment]:
    """Adjustments the period holds anything of (their request, a decision about them,
    or an effect or reversal they booked) that pass the filters, in request order: a
    refund filed on 31 March and booked on 3 April moved money in April."""
    def touched(adj: Adjustment) -> bool:
        return (any(scope.in_period(day) for day in (
                    adj.request.date, adj.applied_on, adj.effective_date, adj.reversed_on))
                or any(scope.in_period(record.event.date) for record in adj.history))

    found = [a for a in book.adjustments.values() if scope.matches(a) and touched(a)]
    return sorted(found, key=lambda a: (a.request.date, a.request.source.filename,
                                        a.request.source.lineno))
