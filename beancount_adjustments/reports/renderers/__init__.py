"""Renderers: report rows as text, one module per format (as beanquery's `render/`).

`render` picks the format; `report_text` is what `bean-adjust report` prints.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import fields

from beancount_adjustments.core.book import Book
from beancount_adjustments.reports.renderers.csv import as_csv
from beancount_adjustments.reports.renderers.html import as_html
from beancount_adjustments.reports.renderers.json import as_json
from beancount_adjustments.reports.renderers.table import as_table
from beancount_adjustments.reports.scope import Scope
from beancount_adjustments.reports.tables import MODELS, Row, build

FORMATS = ("table", "csv", "json", "html")


def columns_of(rows: Sequence[Row], model: type[Row] | None = None) -> list[str]:
    source = model or (type(rows[0]) if rows else None)
    return [f.name for f in fields(source)] if source is not None else []


def render(rows: Sequence[Row], fmt: str, *, title: str = "Report", subtitle: str = "",
           model: type[Row] | None = None) -> str:
    """Rows as text in `fmt` (one of `FORMATS`); `model` names the columns of no rows."""
    columns = columns_of(rows, model)
    if fmt == "table":
        return as_table(rows, columns)
    if fmt == "csv":
        return as_csv(rows, columns)
    if fmt == "json":
        return as_json(rows, columns)
    if fmt == "html":
        return as_html(rows, columns, title, subtitle)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def report_text(report: str, book: Book, scope: Scope, fmt: str,
                today: datetime.date | None = None) -> str:
    """Build and render a report in one call (what `bean-adjust report` prints)."""
    rows = build(report, book, scope, today)
    return render(rows, fmt, title=f"Adjustments: {report}", subtitle=scope.describe(),
                  model=MODELS[report])
