"""How an entry's `at:` and recorded amounts compare with the ledger now.

`at_floor` and `at_ceiling` are the earliest and latest days a stamp can have
been written on in its writer's zone (back-dating is judged by the one, decisions
dated ahead and the locks by the other); `same_amount` compares a recorded amount
at the digits it was written with.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount_adjustments.core.days import iso_day
from beancount_adjustments.core.models import Money


def moment(at: str) -> datetime.datetime | None:
    """`at` as an aware moment (a stamp without offset taken as UTC), or None."""
    try:
        moment = datetime.datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


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
        day = iso_day(at[:10])
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


def at_ceiling(at: str) -> datetime.date | None:
    """The latest calendar day the moment `at` can have been in its writer's zone (a
    UTC stamp may be half a day behind it; see `at_floor`). None: not a moment."""
    try:
        moment = datetime.datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    offset = moment.utcoffset()
    if offset is not None and not offset and moment.date() < datetime.date.max:
        return (moment + _HALF_DAY).date()
    return moment.date()


_ONE_DAY = datetime.timedelta(days=1)


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
