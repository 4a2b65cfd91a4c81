"""The "New request" form's choices, from the Book (no Fava, no Flask).

The form only offers; `POST create` (the one writer) judges what is sent,
and `GET preview` shows that judgement before it is sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.policy import known_names
from beancount_adjustments.core.references import Reference

MAX_REFERENCES = 2000
"""Invoices and orders offered as suggestions (the newest); any id may be typed."""


@dataclass(frozen=True)
class CustomerChoice:
    id: str
    name: str
    tier: str

    @property
    def label(self) -> str:
        """What the picker shows and accepts: the name with the id, or the id."""
        return f"{self.name} ({self.id})" if self.name else self.id


@dataclass(frozen=True)
class ReferenceChoice:
    id: str
    customer: str
    text: str


@dataclass(frozen=True)
class NewRequestForm:
    customers: list[CustomerChoice]
    types: list[str]
    categories: list[str]
    currencies: list[str]
    currency: str
    """The one preselected (the approval matrix's, when it names one)."""
    invoices: list[ReferenceChoice]
    orders: list[ReferenceChoice]

    @property
    def type_groups(self) -> list[tuple[str, list[str]]]:
        return _groups(self.types)

    @property
    def category_groups(self) -> list[tuple[str, list[str]]]:
        return _groups(self.categories)


def _groups(names: list[str]) -> list[tuple[str, list[str]]]:
    """`kind:name` names under their kind, in the order given."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(name.partition(":")[0], []).append(name)
    return list(out.items())


def _references(found: Mapping[str, Reference]) -> list[ReferenceChoice]:
    refs = list(found.values())
    refs.sort(key=lambda r: (r.date, r.id), reverse=True)
    return [ReferenceChoice(r.id, r.customer or "",
                            f"{r.date} {r.narration}".strip()
                            + (f" · {r.amount}" if r.amount else ""))
            for r in refs[:MAX_REFERENCES]]


def new_request_form(book: Book, today: datetime.date) -> NewRequestForm:
    """What the form offers on `today`: the customers the directory knows then (the
    replay's own list), the types and categories a request may use (`known_names`),
    and the currencies of the approval rows in force."""
    directory = book.directory
    customers = []
    for customer in directory.customers:
        record = directory.customer_on(customer, today)
        if record is not None:
            customers.append(CustomerChoice(customer, record.name or "", record.tier or ""))
    customers.sort(key=lambda c: ((c.name or c.id).lower(), c.id))
    currencies = sorted({row.threshold.currency for row in book.matrix.rows_on(today)})
    default = (currencies[0] if len(currencies) == 1 else
               "USD" if "USD" in currencies else currencies[0] if currencies else "")
    return NewRequestForm(
        customers=customers,
        types=known_names(book.facts.declarations, "type", today),
        categories=known_names(book.facts.declarations, "category", today),
        currencies=currencies, currency=default,
        invoices=_references(book.facts.invoices),
        orders=_references(book.facts.orders))
