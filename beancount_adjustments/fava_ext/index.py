"""What every page is computed over: the book's index, built once per load, and
Fava's time filter as a range of request dates."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from beancount.core import data

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import namesakes
from beancount_adjustments.core.models import OPEN_STATES, Action, Adjustment
from beancount_adjustments.core.permissions import Denial
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.reports.queries import same_currency_only


@dataclass(frozen=True)
class DateRange:
    """A half-open range of request dates: begin <= date < end."""

    begin: datetime.date
    end: datetime.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, datetime.date) and self.begin <= day < self.end

    def describe(self) -> str:
        last = self.end - datetime.timedelta(days=1)
        return f"{self.begin.isoformat()} to {last.isoformat()}"


class _Ids(NamedTuple):
    """Adjustment ids by customer and by invoice, read from the replay's records."""

    by_customer: dict[str, list[str]]
    by_invoice: dict[str, list[str]]


@dataclass
class BookIndex:
    """What the pages look up often, computed once per load of the ledger.

    Only the open items are made into models when it is built (the queue's
    rows); what the detail page alone reads (a customer's adjustments, an
    invoice's, balances) is worked out on its first look-up.
    """

    book: Book
    open_items: list[Adjustment]
    rates: Rates = same_currency_only
    """The ledger's prices, as the plugin judged with them (limits in another
    currency than an amount are converted, never guessed)."""
    entries: Sequence[data.Directive] = field(default=(), repr=False)
    """The loaded ledger's entries: what customers' balances are summed from."""
    _holders: dict[tuple[str, datetime.date], list[str]] = field(default_factory=dict)
    _roles: dict[tuple[str, datetime.date], tuple[str, ...]] = field(default_factory=dict)
    _approver_roles: dict[datetime.date, frozenset[str]] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict)
    """Per-load results (queue rows per user and day, reports per period)."""
    refusals: dict[tuple[str, str, Action, datetime.date, datetime.date], Denial | None] = (
        field(default_factory=dict))
    """Per-load answers of `permissions.denial` (adjustment, user, action, day, written
    day)."""

    @classmethod
    def build(cls, book: Book, entries: Sequence[data.Directive] = (),
              rates: Rates = same_currency_only) -> BookIndex:
        open_items = sorted(book.in_state(*OPEN_STATES), key=lambda a: (a.request.date, a.id))
        return cls(book=book, open_items=open_items, rates=rates, entries=entries)

    def customer_items(self, customer: str) -> list[Adjustment]:
        """The customer's adjustments, by request date and id."""
        return [self.book.adjustments[i] for i in self._ids.by_customer.get(customer, ())]

    def invoice_items(self, invoice: str) -> list[Adjustment]:
        """The adjustments naming `invoice`, by request date and id."""
        return [self.book.adjustments[i] for i in self._ids.by_invoice.get(invoice, ())]

    @cached_property
    def _ids(self) -> _Ids:
        ids = _Ids({}, {})
        for request in sorted((r.request for r in self.book.records()),
                              key=lambda r: (r.date, r.id)):
            ids.by_customer.setdefault(request.customer, []).append(request.id)
            if request.invoice:
                ids.by_invoice.setdefault(request.invoice, []).append(request.id)
        return ids

    @cached_property
    def namesakes(self) -> frozenset[str]:
        """The customers whose name reads as another's (`customers.namesakes`)."""
        return namesakes(self.book.directory)

    def balance(self, customer: str) -> Mapping[str, Decimal]:
        """What the customer owes, per currency (`customer_balances`)."""
        return self._balances.get(customer, {})

    @cached_property
    def _balances(self) -> dict[str, dict[str, Decimal]]:
        return customer_balances(self.entries, self.book.settings.receivable)

    def holders(self, role: str, on: datetime.date) -> list[str]:
        key = (role, on)
        found = self._holders.get(key)
        if found is None:
            found = self._holders[key] = self.book.directory.users_with_role(role, on)
        return found

    def roles(self, user: str, on: datetime.date) -> tuple[str, ...]:
        key = (user, on)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = self.book.directory.roles_on(user, on)
        return found

    def approver_roles(self, on: datetime.date) -> frozenset[str]:
        found = self._approver_roles.get(on)
        if found is None:
            found = self._approver_roles[on] = frozenset(
                r for row in self.book.matrix.rows_on(on) for r in row.roles)
        return found

    def users(self, on: datetime.date) -> list[str]:
        directory = self.book.directory
        return sorted(u for u in directory.grants if directory.is_user(u, on))



def customer_balances(entries: Iterable[data.Directive],
                      receivable: str) -> dict[str, dict[str, Decimal]]:
    """What each customer owes: receivable postings of transactions naming them."""
    out: dict[str, dict[str, Decimal]] = {}
    prefix = receivable + ":"
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        customer = entry.meta.get("customer")
        if not isinstance(customer, str):
            continue
        for posting in entry.postings:
            units = posting.units
            if units is None or not isinstance(units.number, Decimal):
                continue
            if posting.account == receivable or posting.account.startswith(prefix):
                totals = out.setdefault(customer, {})
                totals[units.currency] = totals.get(units.currency, Decimal(0)) + units.number
    return out
