"""What a customer statement must agree with, and how its figures read back."""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount.core import data


def receivable_balance(entries: list[data.Directive], customer: str,
                       end: datetime.date) -> dict[str, Decimal]:
    """What Beancount says the customer owes: their receivable postings through `end`."""
    out: dict[str, Decimal] = {}
    for entry in entries:
        if (isinstance(entry, data.Transaction) and entry.date <= end
                and entry.meta.get("customer") == customer):
            for posting in entry.postings:
                if posting.account.startswith("Assets:Receivable"):
                    currency = posting.units.currency
                    out[currency] = out.get(currency, Decimal(0)) + posting.units.number
    return {c: n for c, n in out.items() if n}


def number(text: str) -> Decimal:
    """A figure as a statement shows it (thousands separated by commas)."""
    return Decimal(text.replace(",", ""))
