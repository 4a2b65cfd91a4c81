"""The entries under construction: dates, amounts and postings as the ledger
writes them, the references credits draw on, and the collector that sorts
the entries into ledger order."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def posting(account: str, cents: int, currency: str) -> str:
    amount = f"{money(cents)} {currency}"
    return f"  {account:<44}{amount:>16}\n"


def _nth_sunday(year: int, month: int, nth: int) -> datetime.date:
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def _offset(day: datetime.date) -> str:
    """The demo org's UTC offset on `day` (US Eastern, worked out without tzdata).

    Daylight time runs from the second Sunday of March to the first Sunday of
    November; it changes at 2am, and every decision is stamped after 8am.
    """
    summer = _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    return "-04:00" if summer else "-05:00"


def stamp(day: datetime.date, seconds: int) -> str:
    """`at:` as the tools write it: local time on `day` itself, with the org's offset.

    `seconds` (after local midnight) stays below a day, so the moment falls on
    the event's own date: no event is back-dated (policy `backdate-days` 0).
    """
    if not 0 <= seconds < 86_400:
        raise ValueError(f"clock {seconds} is not within a day")
    hours, rest = divmod(seconds, 3600)
    return f"{day.isoformat()}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{_offset(day)}"


@dataclass
class Ref:
    """An invoice or order: what is left to credit against it."""

    rid: str
    customer: str
    day: datetime.date
    amount: int
    currency: str
    tax: int
    left: int


@dataclass
class Ledger:
    """Entries collected as (date, clock, sequence, text) and written sorted."""

    entries: list[tuple[datetime.date, int, int, str]] = field(default_factory=list)
    bank: dict[tuple[datetime.date, str], int] = field(default_factory=dict)
    seq: int = 0
    transactions: int = 0

    def add(self, day: datetime.date, text: str, *, txn: bool = False, clock: int = -1) -> None:
        """Add an entry; within a day, events (with a `clock`) follow in time order."""
        self.seq += 1
        self.entries.append((day, clock, self.seq, text))
        if txn:
            self.transactions += 1

    def bank_move(self, day: datetime.date, cents: int, currency: str) -> None:
        key = (day, currency)
        self.bank[key] = self.bank.get(key, 0) + cents

