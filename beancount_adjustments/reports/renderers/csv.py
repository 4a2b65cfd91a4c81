"""Report rows as CSV: the one writer (`csv_cells.csv_text`), a header row of the
column names, cells made safe for spreadsheets."""

from __future__ import annotations

from collections.abc import Sequence

from beancount_adjustments.reports.csv_cells import csv_text
from beancount_adjustments.reports.tables import Row


def as_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    return csv_text(columns, ([getattr(row, c) for c in columns] for row in rows))
