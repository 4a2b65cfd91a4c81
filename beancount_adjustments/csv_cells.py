"""CSV cells that no spreadsheet runs as a formula: one rule for every CSV the
product writes (`bean-adjust report`, `bean-adjust export`, Fava's exports).

Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
leading `'`, whatever follows: ledger text such as `-1+1` or a narration
`=HYPERLINK(...)` is shown, never evaluated. Numbers the product computed
itself (`int`, `Decimal`) are written as plain numbers (`-50.00`): their
type, not their look, is what makes them safe, so a reason that reads
`-50` is still quoted.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: object, *, yes: str = "yes", no: str = "no") -> str:
    """One value as a CSV cell: numbers plain, dates ISO, None empty, booleans
    as `yes`/`no` (or what the caller names), any other value as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return neutralise(str(value))
