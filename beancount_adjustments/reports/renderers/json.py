"""Report rows as a JSON list of objects; amounts as strings, so no precision is lost."""

from __future__ import annotations

import json
from collections.abc import Sequence

from beancount_adjustments.reports.csv_cells import cell_text
from beancount_adjustments.reports.tables import Row


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    return cell_text(value)


def as_json(rows: Sequence[Row], columns: Sequence[str]) -> str:
    return json.dumps([{c: _json_value(getattr(row, c)) for c in columns} for row in rows],
                      indent=2, ensure_ascii=False) + "\n"
