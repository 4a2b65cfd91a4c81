"""What a ledger had decided: its snapshot, which adjustments count as decided, and
the content of its events and booked entries as the comparisons match them (by
content, never by line).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from beancount.core import data

from beancount_adjustments.beans.effects import TAG_APPLIED, TAG_REVERSAL
from beancount_adjustments.beans.metadata import written_meta
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Adjustment,
    Event,
    Request,
    Source,
    State,
)
from beancount_adjustments.reports.history.includes import Sited


@dataclass(frozen=True)
class Snapshot:
    """A loaded ledger: its book and the entries the plugin returned."""

    book: Book
    entries: Sequence[data.Directive]
    options: Mapping[str, Any] | None = None
    """Beancount's options map of the load (None: not kept)."""
    outside: tuple[Sited, ...] = ()
    """REV's only: the files its load read from outside the tree written for it (an
    absolute include, or one climbing out with `..`), as they are now, not as REV
    held them; each at the include line of REV's that reads it."""
    unread: tuple[Sited, ...] = ()
    """REV's only: the loader's own errors (an include its tree cannot give, a plugin
    that failed): what REV held there is missing from this view; each at the
    include line it is about, else at REV's ledger."""


BOOKED_TAGS = (TAG_APPLIED, TAG_REVERSAL)


UNDECIDED = frozenset({State.PENDING, State.INVALID})


T = TypeVar("T")

NOWHERE = Source("", 0)
"""Where a request is written, left out when comparing what it says."""


def decided(adj: Adjustment) -> bool:
    """Whether REV had decided anything about it: a state past pending, or approvals."""
    return adj.state not in UNDECIDED or bool(adj.approvals) or bool(
        getattr(adj, "reversal_approvals", ()))


def event_content(event: Event) -> tuple[Any, ...]:
    """Everything an event says, without where it is written."""
    return tuple(getattr(event, name) for name in event._fields if name != "source")


def unmatched(items: Sequence[T], against: Sequence[T],
              content: Callable[[T], Hashable]) -> list[T]:
    """The items of `items` that `against` does not hold (by `content`), in order; of
    items with the same content, the first ones are the ones `against` holds."""
    left = Counter(content(x) for x in against)
    out = []
    for item in items:
        key = content(item)
        if left[key] > 0:
            left[key] -= 1
        else:
            out.append(item)
    return out


def hashable(value: Any) -> Any:
    """`value`, or its `repr` if it cannot be counted as it is (a list in metadata)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def meta_content(meta: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """The metadata written in the ledger (`written_meta`), in a fixed order."""
    return tuple(sorted(((k, hashable(v)) for k, v in written_meta(meta).items()),
                        key=lambda item: str(item[0])))


def request_content(request: Request) -> Request:
    """What a request says, without where it is written."""
    return request._replace(source=NOWHERE)


def new_events(old: Sequence[Event], new: Sequence[Event]) -> list[Event]:
    """The events of `new` that `old` did not hold (by content), in `new`'s order."""
    return unmatched(new, old, event_content)


def new_requests(old: Sequence[Request], new: Sequence[Request]) -> list[Request]:
    """The requests of `new` that `old` did not hold with the same content (where
    they are written aside), in `new`'s order: filed or edited since."""
    return unmatched(new, old, request_content)


def describe_event(event: Event) -> str:
    return f"the {event.action} of {event.adjustment_id} by {event.by} on {event.date}"


class Booked(NamedTuple):
    """An entry the plugin generated for an adjustment, as the comparison sees it."""

    tag: str
    date: datetime.date
    postings: tuple[tuple[str, Decimal, str], ...]

    def __str__(self) -> str:
        legs = ", ".join(f"{account} {number} {currency}"
                         for account, number, currency in self.postings)
        return f"#{self.tag} on {self.date} ({legs})"


def booked_entries(entries: Iterable[data.Directive]) -> dict[str, Counter[Booked]]:
    """Per adjustment id, the entries generated for it (tagged adjustment / adjustment-reversal)."""
    found: dict[str, Counter[Booked]] = defaultdict(Counter)
    for entry in entries:
        if not isinstance(entry, data.Transaction) or not entry.tags:
            continue
        tags = [tag for tag in BOOKED_TAGS if tag in entry.tags]
        if not tags:
            continue
        postings = tuple(sorted(
            (p.account, p.units.number, p.units.currency) for p in entry.postings
            if p.units is not None and p.units.number is not None))
        item = Booked(tags[0], entry.date, postings)
        for link in entry.links or ():
            found[link][item] += 1
    return found


def last_decision(book: Book) -> datetime.date | None:
    """The latest date of any request or event in the book (None: it holds neither)."""
    dates = [r.date for r in book.facts.requests] + [e.date for e in book.facts.events]
    return max(dates) if dates else None
