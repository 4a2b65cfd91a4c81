"""CSV cells that no spreadsheet runs as a formula: one rule for every CSV the
product writes (`bean-adjust report`, `bean-adjust export`, Fava's exports).

Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
leading `'`, whatever follows: ledger text such as `-1+1` or a narration
`=HYPERLINK(...)` is shown, never evaluated. So does each part of it that a
spreadsheet may read as a cell of its own: after a `;` (the list separator of
most of Europe, which splits `Refund;=1+1` into two cells, quotes or not, since
the product's CSV separates by commas), after a tab (which the CSV leaves
unquoted, and a spreadsheet importing with tabs as the separator splits at: Excel's
import wizard does by default) and after a line break (where such a spreadsheet
starts a row), spaces and quotes aside: `Refund;'=1+1`. Numbers the product computed
itself (`int`, `Decimal`) are written as plain numbers (`-50.00`): their
type, not their look, is what makes them safe, so a reason that reads
`-50` is still quoted. `cell_text` is the plain text of a value, which the
table and HTML reports print as it is. `csv_text` is the one CSV writer: every
cell through `csv_cell`, rows ended by CRLF (RFC 4180, the `csv` module's own
default, what spreadsheets expect), so a report, an export, a statement or a queue
downloaded from Fava is written one way.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INNER_FORMULA = re.compile(r"(?<=[;\t\n\r])(?=[ \"]*[=+\-@\t])")
"""Where a part of the text starts that a `;`- or tab-separated reading takes for a
cell (after a `;`, a tab or a line break) and that starts like a formula."""


def neutralise(text: str) -> str:
    """`text` with a `'` before it, and before each part of it a spreadsheet may read as
    a cell, that it would read as a formula (see the module's rules)."""
    inner = _INNER_FORMULA.sub("'", text)
    return "'" + inner if text.startswith(FORMULA_START) else inner


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


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], *, yes: str = "yes",
             no: str = "no") -> str:
    """A header row and `rows`, every cell a `csv_cell`, as CSV text (CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(value, yes=yes, no=no) for value in row] for row in rows)
    return buffer.getvalue()
