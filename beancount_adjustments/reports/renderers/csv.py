"""Report rows as CSV: a header row, cells made safe for spreadsheets (`csv_cells`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from beancount_adjustments.reports.csv_cells import csv_cell
from beancount_adjustments.reports.tables import Row


def as_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(getattr(row, c)) for c in columns])
    return buffer.getvalue()
