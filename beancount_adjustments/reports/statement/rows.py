"""A customer's statement as rows: `statement` builds them, aged by `BUCKETS`.

The rows come from the loaded entries (what the plugin booked) and the
book; nothing re-parses the ledger. A posting is the customer's when it is
on the receivable accounts and its transaction names the customer
(`customer:`), or its account is the customer's own (`customer-account`).
Per currency: the opening balance, every movement of the period with the
running balance, the closing balance, and the closing balance aged.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from beancount_adjustments.beans.effects import TAG_REVERSAL, own_effect
from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Adjustment, Kind, Request
from beancount_adjustments.core.references import credit_left, credit_taken, reference_terms

__all__ = ["BUCKETS", "Aged", "Line", "PeriodError", "Section", "Statement", "statement",
           "statement_period", "statement_text"]

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
"""Days since an item's aging date; `current`: it has not started aging."""
OFF_STATEMENT = "Account adjustment"
"""What the customer reads for an adjustment written with `on-statement: FALSE`."""
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Line:
    """One movement on the customer's account in the period."""

    date: datetime.date
    kind: str
    """invoice, order, charge, payment, adjustment, reversal, or account-adjustment."""
    reference: str
    description: str
    """What the customer reads: never an adjustment's internal reason or notes."""
    amount: Decimal
    """Positive: the customer owes more."""
    balance: Decimal
    """The running balance after it."""
    aging_from: datetime.date
    credit_left: Decimal | None = None
    """For an invoice: what may still be credited against it at the statement's end."""


@dataclass(frozen=True)
class Aged:
    bucket: str
    amount: Decimal


@dataclass(frozen=True)
class Section:
    """The statement in one currency."""

    currency: str
    opening: Decimal
    lines: tuple[Line, ...]
    closing: Decimal
    aging: tuple[Aged, ...]
    """The closing balance by age (`BUCKETS`); it sums to `closing`."""


@dataclass(frozen=True)
class Statement:
    customer: str
    name: str | None
    contact: str | None
    start: datetime.date
    end: datetime.date
    sections: tuple[Section, ...]


@dataclass
class _Item:
    """A movement, before it is placed on the statement."""

    date: datetime.date
    kind: str
    reference: str
    description: str
    amount: Decimal
    aging_from: datetime.date
    adjustment: str | None = None
    shown: bool = True
    applies_to: str | None = None
    """The invoice a payment or credit pays first (aging)."""
    credits: str | None = None
    """For an invoice: its id when it is the invoice the replay holds credits to, whose
    credit left the line shows."""


def statement_text(book: Book, request: Request) -> str:
    """What a statement calls an adjustment: its type's `statement-text:`, else a
    phrase made from the type ("Goodwill credit", "Fee charge", "Invoice correction",
    "Tax adjustment")."""
    configured = book.policies.settings(request.type, request.date).statement_text
    if configured:
        return configured
    kind, _, subtype = request.type.partition(":")
    words = subtype.replace("-", " ")
    words = words[:1].upper() + words[1:]
    if kind == Kind.BILLING:
        return words if words.endswith("correction") else f"{words} adjustment"
    return f"{words} {'credit' if kind == Kind.CREDIT else 'charge'}"


class PeriodError(AdjustmentsError):
    """A statement period that cannot be shown; the message says why."""

    code = "bad-period"


def statement_period(start: datetime.date | None, end: datetime.date | None,
                     today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The period a statement covers: to `end` (default today) from `start` (default
    the first of `end`'s month). Refused (`PeriodError`): a period that starts after
    it ends, or ends after today (its balances would be aged to a day that has not
    come: last month's invoices in the 90+ bucket). The CLI and Fava's page ask it."""
    last = end if end is not None else today
    first = start if start is not None else last.replace(day=1)
    if first > last:
        raise PeriodError(f"the period starts {first}, after it ends {last}")
    if last > today:
        raise PeriodError(f"the period ends {last}, after today ({today}); a statement "
                          "shows what is owed on a day that has come: end it today or earlier")
    return first, last


def statement(entries: Iterable[data.Directive], book: Book, customer: str,
              start: datetime.date, end: datetime.date) -> Statement:
    """The statement of `customer` (an id) from `start` through `end`."""
    record = book.directory.customer_on(customer, end)
    items = _items(entries, book, customer, end)
    credited = _credited(book, customer, end)

    def credit_left_of(invoice_id: str) -> Decimal:
        # The replay's own rule: what `exceeds-invoice` would still let through.
        return credit_left(reference_terms(book.invoices, invoice_id),
                           credited.get(invoice_id, _ZERO))

    sections = []
    for currency in sorted(items):
        sections.append(_section(currency, items[currency], start, end, credit_left_of))
    return Statement(customer, record.name if record else None,
                     record.contact if record else None, start, end, tuple(sections))


def _items(entries: Iterable[data.Directive], book: Book, customer: str,
           end: datetime.date) -> dict[str, list[_Item]]:
    root = book.settings.receivable
    settings = book.settings
    own = settings.customer_account is not None
    out: dict[str, list[_Item]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > end:
            continue
        named = entry.meta.get("customer") == customer
        totals: dict[str, Decimal] = {}
        for posting in entry.postings:
            units = posting.units
            if units is None or not isinstance(units.number, Decimal):
                continue
            if not is_under(posting.account, root):
                continue
            # A customer's own account is theirs alone, whoever the transaction names
            # (the replay's `customer-account` rule): else one customer's statement
            # would show another's invoice and a balance its own account does not hold.
            owner = settings.account_owner(posting.account) if own else None
            if owner == customer if owner is not None else named:
                totals[units.currency] = totals.get(units.currency, _ZERO) + units.number
        for currency, amount in totals.items():
            if amount:
                out.setdefault(currency, []).append(_item(entry, book, amount))
    return out


def _item(entry: data.Transaction, book: Book, amount: Decimal) -> _Item:
    meta = entry.meta
    adj_id = meta.get("adjustment-id")
    adj = book.get(adj_id) if isinstance(adj_id, str) else None
    # Only the plugin's own entry reads as the adjustment: a transaction written with
    # its tag and metadata (`forged-effect`) shows as what it moves, a charge or payment.
    own = own_effect(entry, adj) if adj is not None else None
    if adj is not None and own is not None:
        return _adjustment_item(entry, book, adj, amount, reversal=own == TAG_REVERSAL)
    aging = meta.get("aging-from")
    aging_from = aging if isinstance(aging, datetime.date) else entry.date
    narration = entry.narration or ""
    for key, kind in (("invoice-id", "invoice"), ("order-id", "order")):
        ref = meta.get(key)
        if isinstance(ref, str):
            ref = ref.strip()
            return _Item(entry.date, kind, ref, narration, amount, aging_from,
                         credits=ref if kind == "invoice" and _indexed(book, ref, entry)
                         else None)
    paid = meta.get("invoice")
    paid = paid.strip() if isinstance(paid, str) else None
    if amount < 0:
        return _Item(entry.date, "payment", paid or "", "Payment received", amount, aging_from,
                     applies_to=paid)
    return _Item(entry.date, "charge", paid or "", narration, amount, aging_from)


def _indexed(book: Book, invoice_id: str, entry: data.Transaction) -> bool:
    """Whether `entry` is the invoice the book knows by `invoice_id`: of two under one
    id (`duplicate-reference`) the replay holds credits to the first, which may be
    another customer's, so the second shows no credit left (nor the other's figure)."""
    found = book.invoices.get(invoice_id)
    return found is not None and found.source == source_of(entry)


def _adjustment_item(entry: data.Transaction, book: Book, adj: Adjustment, amount: Decimal,
                     *, reversal: bool) -> _Item:
    request = adj.request
    text = statement_text(book, request)
    if request.invoice:
        text = f"{text} (invoice {request.invoice})"
    if reversal:
        text = f"Reversal: {text}"
    aging_from = entry.date if reversal else (request.aging_from or entry.date)
    return _Item(entry.date, "reversal" if reversal else "adjustment", request.id, text,
                 amount, aging_from, adjustment=request.id, shown=request.on_statement,
                 applies_to=request.invoice if amount < 0 else None)


def _credited(book: Book, customer: str, end: datetime.date) -> dict[str, Decimal]:
    """Per invoice, what booked credits against it have taken off by `end` (what the
    replay's `exceeds-invoice` rule counts)."""
    out: dict[str, Decimal] = {}
    root = book.settings.receivable
    for adj in book.adjustments.values():
        request = adj.request
        if (request.customer != customer or request.invoice is None
                or adj.effective_date is None or adj.effective_date > end
                or (adj.reversed_on is not None and adj.reversed_on <= end)):
            continue
        taken = credit_taken(request.postings, adj.amount, root)
        if taken:
            out[request.invoice] = out.get(request.invoice, _ZERO) + taken
    return out


def _section(currency: str, items: list[_Item], start: datetime.date, end: datetime.date,
             credit_left_of: Callable[[str], Decimal]) -> Section:
    before = [it for it in items if it.date < start]
    during = [it for it in items if it.date >= start]
    opening = sum((it.amount for it in before), _ZERO)
    # An adjustment kept off the statement shows as one line without detail; applied
    # and reversed within the period it nets to nothing and shows not at all.
    hidden: dict[str, Decimal] = {}
    for it in during:
        if not it.shown and it.adjustment is not None:
            hidden[it.adjustment] = hidden.get(it.adjustment, _ZERO) + it.amount
    lines: list[Line] = []
    balance = opening
    for it in during:
        if not it.shown and it.adjustment is not None and not hidden[it.adjustment]:
            continue
        balance += it.amount
        shown = it.shown or it.adjustment is None
        lines.append(Line(
            it.date, it.kind if shown else "account-adjustment",
            it.reference if shown else "", it.description if shown else OFF_STATEMENT,
            it.amount, balance, it.aging_from,
            credit_left_of(it.credits) if it.credits is not None else None))
    return Section(currency, opening, tuple(lines), balance, _aging(items, end))


@dataclass
class _Open:
    aging_from: datetime.date
    reference: str
    left: Decimal


def _aging(items: Sequence[_Item], end: datetime.date) -> tuple[Aged, ...]:
    """The balance at `end` by age: payments and credits settle the invoice they name
    first, then the oldest open charges; what stays open ages from its aging date."""
    charges = sorted((_Open(it.aging_from, it.reference, it.amount)
                      for it in items if it.amount > 0), key=lambda o: o.aging_from)
    credits = [(it.applies_to, -it.amount) for it in items if it.amount < 0]
    remaining: list[Decimal] = []
    for applies_to, amount in credits:
        targets = [c for c in charges if applies_to and c.reference == applies_to]
        remaining.append(_settle(targets, amount))
    unapplied = sum((_settle(charges, amount) for amount in remaining), _ZERO)
    buckets = dict.fromkeys(BUCKETS, _ZERO)
    buckets["current"] -= unapplied
    for charge in charges:
        if charge.left:
            buckets[_bucket((end - charge.aging_from).days)] += charge.left
    return tuple(Aged(name, value) for name, value in buckets.items())


def _settle(charges: Sequence[_Open], amount: Decimal) -> Decimal:
    """Take `amount` off `charges` in order; what is left of it."""
    for charge in charges:
        if not amount:
            break
        taken = min(amount, charge.left)
        charge.left -= taken
        amount -= taken
    return amount


def _bucket(days: int) -> str:
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"
