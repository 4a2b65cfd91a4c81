"""When something was written: the one reader of ISO 8601 moments.

`at:` stamps, ticket feeds' `opened`/`resolved` and the history's reading of
`at:` all mean a moment, and all read it here, so no two places take one text
for two moments, or one for a moment and another for none. What tools write
(`2026-11-21T10:00:00+01:00`) and what feeds commonly hold are moments:

    YYYY-MM-DDTHH:MM[:SS[.fraction]][Z | ±HH:MM]

in the digits 0-9, `T` and `Z` in capitals; a fraction of up to nine digits
(nanoseconds, as Go and most databases write) is kept to the microsecond.
A stamp without offset is UTC: it names no zone, and UTC is the one every
reader can agree on (the half day of zones a UTC stamp allows then applies to it
too, see `core.written`). Nothing else is: not a day alone, a space for `T`, the
basic (`20261121T1000`) or week (`2026-W47-6`) forms, a comma, an offset without
its colon or with seconds, digits of other scripts, all of which
`datetime.fromisoformat` takes. Nor is a moment within a day of the calendar's ends
(1 January of the year 1, 31 December 9999), in its own zone or in UTC: every reader
may show a moment in another zone (the risk report's working hours, a feed's UTC,
the half day of zones), and such a one would fall off the calendar there.
"""

from __future__ import annotations

import datetime
import re

_MOMENT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?", re.ASCII)
_TIME_IN_RANGE = re.compile(
    r"T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?", re.ASCII)
"""What `read_moment` takes after the day, with its ranges: hours 00-23, minutes and
seconds 00-59, offsets up to 23:59."""
_FIRST, _LAST = datetime.date(1, 1, 2), datetime.date(9999, 12, 30)
"""The days a moment may have, in its zone and in UTC: a day inside the calendar's
ends, so that shown in any zone (offsets stay under a day) it is still on it."""
_EDGE_YEARS = ("0001-", "9999-")


def on_day(text: str, iso: str) -> bool:
    """Whether `text` is a moment `read_moment` reads whose own day is `iso` (a valid
    day's isoformat), told without building it: the replay asks it of every event,
    several times (`read_moment` costs ten times more)."""
    text = text.strip()
    if iso.startswith(_EDGE_YEARS):
        # The calendar's ends: whether it is on the calendar in UTC too.
        when = read_moment(text)
        return when is not None and when.date().isoformat() == iso
    return text.startswith(iso) and _TIME_IN_RANGE.fullmatch(text, len(iso)) is not None


def read_moment(text: str) -> datetime.datetime | None:
    """`text` (surrounding blanks aside) as an aware moment, or None: not a moment
    of the form above, or no such day, time or offset."""
    found = _MOMENT.fullmatch(text.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    zone = datetime.UTC
    if offset is not None and offset != "Z":
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return None
        delta = datetime.timedelta(hours=hours, minutes=minutes)
        zone = datetime.timezone(-delta if offset[0] == "-" else delta)
    try:
        when = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute),
            int(second or 0), int((fraction or "0").ljust(6, "0")[:6]), tzinfo=zone)
    except ValueError:
        return None
    if _FIRST < when.date() < _LAST:
        return when  # a day and more from both ends: in UTC too
    offset_of = when.utcoffset() or datetime.timedelta()
    try:
        in_utc = (when.replace(tzinfo=None) - offset_of).date()
    except OverflowError:
        return None
    return when if _FIRST <= when.date() <= _LAST and _FIRST <= in_utc <= _LAST else None
