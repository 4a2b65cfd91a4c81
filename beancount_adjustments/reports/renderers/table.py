"""Report rows as aligned plain text (numbers right-aligned)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from beancount_adjustments.reports.csv_cells import cell_text
from beancount_adjustments.reports.tables import Row


def as_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    cells = [[cell_text(getattr(row, c)).replace("\n", " ") for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    numeric = [bool(rows) and all(isinstance(getattr(r, c), Decimal | int)
                                  and not isinstance(getattr(r, c), bool) for r in rows)
               for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(values) for values in cells]
    if not rows:
        out.append("(no rows)")
    return "\n".join(out) + "\n"
