"""What every page is computed over: the book's index, built once per load, and
Fava's time filter as a range of request dates."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from beancount.core import data

from beancount_adjustments.core.book import Book
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


@dataclass
class BookIndex:
    """What the pages look up often, computed once per load of the ledger."""

    book: Book
    by_customer: dict[str, list[Adjustment]]
    open_items: list[Adjustment]
    by_invoice: dict[str, list[Adjustment]]
    customer_balances: Mapping[str, Mapping[str, Decimal]]
    rates: Rates = same_currency_only
    """The ledger's prices, as the plugin judged with them (limits in another
    currency than an amount are converted, never guessed)."""
    _holders: dict[tuple[str, datetime.date], list[str]] = field(default_factory=dict)
    _roles: dict[tuple[str, datetime.date], tuple[str, ...]] = field(default_factory=dict)
    _approver_roles: dict[datetime.date, frozenset[str]] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict)
    """Per-load results (queue rows per user and day, reports per period)."""
    refusals: dict[tuple[str, str, Action, datetime.date], Denial | None] = field(
        default_factory=dict)
    """Per-load answers of `permissions.denial` (adjustment, user, action, day)."""

    @classmethod
    def build(cls, book: Book,
              customer_balances: Mapping[str, Mapping[str, Decimal]] | None = None,
              rates: Rates = same_currency_only) -> BookIndex:
        by_customer: dict[str, list[Adjustment]] = {}
        open_items: list[Adjustment] = []
        by_invoice: dict[str, list[Adjustment]] = {}
        for adj in book.adjustments.values():
            by_customer.setdefault(adj.request.customer, []).append(adj)
            if adj.request.invoice:
                by_invoice.setdefault(adj.request.invoice, []).append(adj)
            if adj.state in OPEN_STATES:
                open_items.append(adj)
        for items in by_customer.values():
            items.sort(key=lambda a: (a.request.date, a.id))
        open_items.sort(key=lambda a: (a.request.date, a.id))
        return cls(book=book, by_customer=by_customer, open_items=open_items,
                   by_invoice=by_invoice, customer_balances=customer_balances or {},
                   rates=rates)

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
