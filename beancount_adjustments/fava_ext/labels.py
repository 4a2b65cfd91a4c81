"""How the pages write amounts and customers (the CSV exports write them alike)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.figures import figure
from beancount_adjustments.core.models import Money
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.reports import queries


def fmt_number(number: Decimal) -> str:
    return figure(number)


def fmt_money(money: Money | None) -> str:
    return "" if money is None else f"{fmt_number(money.number)} {money.currency}"


@dataclass(frozen=True)
class CustomerLabel:
    """A customer as the pages show it: the declared name, the id on hover
    (the `customer` macro of adj_macros.html renders it)."""

    id: str
    name: str = ""
    shared: bool = False
    """Another customer's name reads the same (`customers.namesakes`): the id is shown
    beside the name, not only on hover."""

    @property
    def text(self) -> str:
        """Plain text (CLI, CSV): "Name (id)", or the id alone."""
        return f"{self.name} ({self.id})" if self.name else self.id


def customer_label(index: BookIndex, customer: str, on: datetime.date) -> CustomerLabel:
    """`customer`'s declared name on `on` (else its latest one, else none)."""
    return label_of(index.book, customer, on, shared=customer in index.namesakes)


def label_of(book: Book, customer: str, on: datetime.date, *,
             shared: bool = False) -> CustomerLabel:
    return CustomerLabel(customer, queries.customer_name(book, customer, on), shared)

