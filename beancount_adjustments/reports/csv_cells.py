"""CSV cells that no spreadsheet runs as a formula: one rule for every CSV the
product writes (`bean-adjust report`, `bean-adjust export`, Fava's exports).

Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
leading `'`, whatever follows: ledger text such as `-1+1` or a narration
`=HYPERLINK(...)` is shown, never evaluated. Numbers the product computed
itself (`int`, `Decimal`) are written as plain numbers (`-50.00`): their
type, not their look, is what makes them safe, so a reason that reads
`-50` is still quoted. `cell_text` is the plain text of a value, which the
table and HTML reports print as it is.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_text(value: object, *, yes: str = "yes", no: str = "no") -> str:
    """One value as text: amounts in plain notation, booleans as `yes`/`no` (or
    what the caller names), dates ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_cell(value: object, *, yes: str = "yes", no: str = "no") -> str:
    """`cell_text` as a CSV cell: what the product computed (numbers, dates,
    booleans) as it is, any other value as neutralised text."""
    text = cell_text(value, yes=yes, no=no)
    if value is None or isinstance(value, int | Decimal | datetime.date):  # bool is an int
        return text
    return neutralise(text)
