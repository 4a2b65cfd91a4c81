"""Reading adjustments: `get`, `list`, and `filters_of`/`find` (what Fava's
list endpoint calls on the book it already has)."""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Iterable
from pathlib import Path

from beancount.core import data

from beancount_adjustments.api.arguments import money_of, states_of, text_of
from beancount_adjustments.api.results import Adjustment, ApiError
from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import CustomerError
from beancount_adjustments.core.models import Money
from beancount_adjustments.plugin import book_of
from beancount_adjustments.reports.queries import Filters, select
from beancount_adjustments.writer import written_today


def load_book(ledger: str | Path) -> tuple[builtins.list[data.Directive], Book]:
    path = Path(ledger)
    if not path.is_file():
        raise ApiError("invalid", f"{path} does not exist")
    entries, _errors, options = loading.load_file(str(path))
    book = book_of(options)
    if book is None:
        raise ApiError("no-plugin", f'{path} does not enable the plugin; add plugin '
                       '"beancount_adjustments"')
    return entries, book


def get(ledger: str | Path, adjustment_id: str) -> Adjustment:
    """One adjustment; `ApiError("not-found")` if the ledger has none with that id."""
    _entries, book = load_book(ledger)
    adj = book.get(adjustment_id)
    if adj is None:
        raise ApiError("not-found", f"no adjustment {adjustment_id!r}")
    return Adjustment.of(adj, book=book)


def list(ledger: str | Path, *, state: str | Iterable[str] | None = None,
         type: str | None = None, category: str | None = None,
         customer: str | None = None, requester: str | None = None,
         older_than: int | None = None, awaiting: str | None = None,
         below: str | Money | None = None,
         today: datetime.date | None = None) -> builtins.list[Adjustment]:
    """The adjustments matching every filter given, oldest first: `bean-adjust list`'s
    filters (`queries.Filters`). `state` is one state or several; `type` and
    `category` are patterns (`credit:*`); `below` an amount (`"50 USD"`)."""
    filters = filters_of(state=state, type=type, category=category, customer=customer,
                         requester=requester, older_than=older_than, awaiting=awaiting,
                         below=below)
    entries, book = load_book(ledger)
    return find(entries, book, filters, today)


def filters_of(*, state: str | Iterable[str] | None = None, type: str | None = None,
               category: str | None = None, customer: str | None = None,
               requester: str | None = None, older_than: int | None = None,
               awaiting: str | None = None, below: str | Money | None = None) -> Filters:
    """`queries.Filters` from `list`'s arguments, checked (`ApiError("invalid")`)."""
    if older_than is not None and (isinstance(older_than, bool) or not isinstance(
            older_than, int) or older_than < 0):
        raise ApiError("invalid", "older_than is a number of days, 0 or more")
    limit = money_of(below, None, "below") if below is not None else None
    if limit is not None and not limit.currency:
        raise ApiError("invalid", "below needs a currency, like \"50 USD\"")
    for name, value in (("type", type), ("category", category), ("customer", customer),
                        ("requester", requester), ("awaiting", awaiting)):
        text_of(name, value)
    return Filters(states=states_of(state), type=type, category=category, customer=customer,
                   requester=requester, older_than=older_than, awaiting=awaiting,
                   written=written_today(), below=limit)


def find(entries: Iterable[data.Directive], book: Book, filters: Filters,
         today: datetime.date | None = None) -> builtins.list[Adjustment]:
    """`list` over a ledger already loaded (its entries and the plugin's book)."""
    try:
        found = select(book, filters, today or datetime.date.today(), book.rules.rates)
    except CustomerError as exc:
        raise ApiError("invalid", str(exc)) from None
    return [Adjustment.of(a) for a in found]


