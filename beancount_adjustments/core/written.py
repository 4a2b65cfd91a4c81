"""How an entry's `at:` and recorded amounts compare with the ledger now.

`at_floor` and `at_ceiling` are the earliest and latest days a stamp can have
been written on in its writer's zone (back-dating is judged by the one, decisions
dated ahead and the locks by the other); `same_amount` compares a recorded amount
at the digits it was written with.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount_adjustments.core.models import Money
from beancount_adjustments.core.moments import read_moment


def moment(at: str) -> datetime.datetime | None:
    """`at` as an aware moment (`moments.read_moment`: a stamp without offset is
    UTC), or None."""
    return read_moment(at)


_HALF_DAY = datetime.timedelta(hours=12)


def at_floor(at: str) -> datetime.date | None:
    """The earliest calendar day the moment `at` can have been in its writer's zone.

    A stamp with an offset other than UTC names its own day; a UTC stamp (what
    tools wrote before they wrote the local offset, and one without offset, which
    is UTC: `read_moment`) may be half a day ahead of the writer's day. None: not
    an ISO 8601 moment.
    """
    when = read_moment(at)
    if when is None:
        return None
    if not when.utcoffset():
        return (when - _HALF_DAY).date()  # on the calendar: `read_moment` keeps a day off its ends
    return when.date()


def at_ceiling(at: str) -> datetime.date | None:
    """The latest calendar day the moment `at` can have been in its writer's zone (a
    UTC stamp may be half a day behind it; see `at_floor`). None: not a moment."""
    when = read_moment(at)
    return None if when is None else ceiling_day(when)


def ceiling_day(when: datetime.datetime) -> datetime.date:
    """`at_ceiling` of an aware moment, as its stamp would read."""
    if not when.utcoffset():
        return (when + _HALF_DAY).date()
    return when.date()


def names_its_day(at: str) -> bool:
    """Whether the stamp `at` ends in an offset other than UTC's, so that its own day is
    its writer's day (a UTC stamp, or one without offset, may be half a day off it):
    told from its last characters, for the replay's fast paths."""
    tail = at.strip()[-6:]
    return (len(tail) == 6 and tail[0] in "+-" and tail[3] == ":"
            and tail[1:3] + tail[4:] != "0000")


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
