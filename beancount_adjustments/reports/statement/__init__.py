"""A customer's statement: one set of rows (`rows`) and its renderers (`render`).

The names below are the package's public API.
"""

from beancount_adjustments.reports.statement.render import (
    FORMATS,
    figure,
    render,
    render_csv,
    render_html,
    render_table,
)
from beancount_adjustments.reports.statement.rows import (
    BUCKETS,
    Aged,
    Line,
    PeriodError,
    Section,
    Statement,
    statement,
    statement_period,
    statement_text,
)

__all__ = [
    "BUCKETS",
    "FORMATS",
    "Aged",
    "Line",
    "PeriodError",
    "Section",
    "Statement",
    "figure",
    "render",
    "render_csv",
    "render_html",
    "render_table",
    "statement",
    "statement_period",
    "statement_text",
]
