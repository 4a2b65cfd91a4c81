"""Fava's statement page: the customer picked by id or name, and the period.

The rows are `statement.statement`, the same the CLI renders; the page shows
them with the HTML renderer's body (`render_html(standalone=False)`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from beancount.core import data
from markupsafe import Markup

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import CustomerError, pick_customer
from beancount_adjustments.core.days import day_problem, iso_day
from beancount_adjustments.reports.statement import (
    PeriodError,
    Statement,
    render_html,
    statement,
    statement_period,
)


@dataclass(frozen=True)
class StatementPage:
    asked: str
    """The customer as typed (an id or a name)."""
    start: datetime.date
    end: datetime.date
    customers: tuple[tuple[str, str], ...]
    """(id, name or id) of every known customer, for the picker."""
    statement: Statement | None = None
    error: str = ""

    @property
    def body(self) -> Markup:
        # render_html escapes every text it writes.
        return Markup(render_html(self.statement, standalone=False)) if self.statement else Markup()


def _day(text: str | None, default: datetime.date) -> tuple[datetime.date, str]:
    if not text:
        return default, ""
    day = iso_day(text)
    return (day, "") if day is not None else (default, day_problem(text))


def statement_page(book: Book, entries: Sequence[data.Directive], args: Mapping[str, str],
                   today: datetime.date) -> StatementPage:
    end, bad_end = _day(args.get("to"), today)
    start, bad_start = _day(args.get("from"), end.replace(day=1))
    asked = args.get("customer", "").strip()
    customers = tuple(sorted((c, name or c) for c, name in book.directory.names().items()))
    error = bad_start or bad_end
    if not error:
        try:
            start, end = statement_period(start, end, today)
        except PeriodError as exc:
            error = str(exc)
    page = StatementPage(asked, start, end, customers, error=error)
    if error or not asked:
        return page
    try:
        customer = pick_customer(book.directory, asked)
    except CustomerError as exc:
        return StatementPage(asked, start, end, customers, error=str(exc))
    return StatementPage(asked, start, end, customers,
                         statement(entries, book, customer, start, end))
