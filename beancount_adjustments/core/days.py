"""Days typed by people: one strict reading for the CLI, the API, Fava, the CSV and
Stripe imports and metadata written as text.

Only `YYYY-MM-DD` in the digits 0-9 is a day. `datetime.date.fromisoformat` (since
Python 3.11) also reads `20260203` and ISO week dates: `2026-W05-2` is 2026-01-27, a
day nobody reading the text would have taken it for; `strptime("%Y-%m-%d")` reads
`2026-2-3`. A text that can be read two ways is refused rather than guessed.
"""

from __future__ import annotations

import datetime
import re

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def iso_day(text: str) -> datetime.date | None:
    """The day `text` names (spaces around it aside), or None when it is not a
    `YYYY-MM-DD` day of the calendar (`2026-02-30` is none)."""
    text = text.strip()
    if not _DAY.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def day_problem(text: str) -> str:
    """Why `text` is not a day, in words for the person who typed it."""
    return f"{text.strip()!r} is not a date: write it as YYYY-MM-DD (2026-02-03)"
