"""Going on from a finished replay with entries added after everything it judged.

The writer judges a candidate change this way: a full replay of the ledger
with the change would judge the old entries as the book did, so only the
new ones are judged, on copies of the records they name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from operator import attrgetter

from beancount_adjustments.core.book import Adjustments, Book
from beancount_adjustments.core.facts import Facts, read_in_order
from beancount_adjustments.core.models import Event, Request
from beancount_adjustments.core.replay import Replay


def resume(ended: Replay, facts: Facts, requests: Sequence[Request],
           events: Sequence[Event]) -> tuple[Replay, list[Request | Event]] | str:
    """A replay going on from where `ended` ended, and the new items
    in the order a full replay of `facts` would judge them; or why a full
    replay could judge anything otherwise than by going on (see `continued`).

    `ended` and its records stay as they are (readers of its book run
    meanwhile): the new one copies the records of the adjustments the new
    items name, and every container the judging adds to.
    """
    old = ended.facts
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
        # the old ones must come first, and as `ended` judged them.
        judged = ended.order(list(tail), read=True)
        ordered = ended.order([*tail, *new], read=False)
        if any(a is not b for a, b in zip(ordered, judged, strict=False)):
            return (f"on {last} a new entry comes before one the book judged already "
                    "(by file and line, or by `at:`)")
        new = ordered[len(tail):]
    else:
        new = ended.order(new, read=False)
    named = {p.adjustment_id for p in ended.problems if p.code == "unknown-id"}
    for request in requests:
        if request.id in named:
            # That event would now come before its request: judged otherwise.
            return f"an event before {request.id} names its id (unknown-id)"
    return ended.resumed(facts, requests, new), new


def _named(item: Request | Event) -> str:
    if type(item) is Event:
        return f"{item.adjustment_id} {item.action}"
    return f"request {item.id}"  # type: ignore[union-attr]


_JUDGED_ALIKE = tuple(f.name for f in dataclasses.fields(Facts)
                      if f.name not in ("requests", "events", "timeline", "problems"))


def _only_added(old: Facts, facts: Facts, requests: Sequence[Request],
                events: Sequence[Event]) -> str:
    """Why `facts` are not `old` with `requests` and `events` added ("" when they are)."""
    if not read_in_order(old):
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
    if not isinstance(ended, Replay) or not isinstance(adjustments, Adjustments):
        return "the book was not made by this code's replay"
    # The records copied must carry their risk flags, as a full replay's have.
    adjustments.settle()
    resumed = resume(ended, facts, requests, events)
    if isinstance(resumed, str):
        return resumed
    going, new = resumed
    going.walk(new)
    return going.book()
