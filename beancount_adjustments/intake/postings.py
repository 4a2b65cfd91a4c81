"""The postings of a new request: the one derivation `bean-adjust create`, `api.create`
and Fava's form use.

The amount moves between the customer's receivable account (given, else the one
open under the `receivable` root, or among several the one named after the
customer) and the offset account (given, else `DEFAULT_OFFSET` for the kind),
signed by the kind: a credit lowers what the customer owes, a debit raises it, a
billing adjustment by its own sign (README, "Requests and decisions").
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from beancount.core import data

from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Kind, Money, kind_of

__all__ = ["DEFAULT_OFFSET", "PostingError", "customer_move", "default_receivable",
           "request_postings"]

DEFAULT_OFFSET = {
    Kind.CREDIT: "Expenses:Adjustments:Credits",
    Kind.DEBIT: "Income:Adjustments:Debits",
    Kind.BILLING: "Income:Adjustments:Billing",
}

Postings = tuple[tuple[str, Decimal, str], ...]


class PostingError(AdjustmentsError, ValueError):
    """Why the postings cannot be derived, in words; `what` names the input at fault."""

    code = "bad-postings"

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message)
        self.what = what


def customer_move(adj_type: str, money: Money) -> Decimal:
    """What the customer's balance moves by (negative: they owe less)."""
    try:
        kind = kind_of(adj_type)
    except ValueError:
        raise PostingError("type", f"the type must start with credit:, debit: or billing:, "
                           f"not {adj_type!r}") from None
    if money.number == 0:
        raise PostingError("amount", "the amount is zero")
    if kind is not Kind.BILLING and money.number < 0:
        raise PostingError("amount", f"a {kind} amount is positive; its direction comes "
                           "from the type")
    return -money.number if kind is Kind.CREDIT else money.number


def default_receivable(entries: Sequence[data.Directive], book: Book, customer: str) -> str:
    """The customer's receivable account when the ledger makes it unambiguous."""
    root = book.settings.receivable
    opened = sorted({e.account for e in entries
                     if isinstance(e, data.Open) and is_under(e.account, root)})
    if len(opened) == 1:
        return opened[0]
    named = [a for a in opened if a.split(":")[-1].lower() == customer.lower()]
    if len(named) == 1:
        return named[0]
    choices = ", ".join(opened) or f"none is opened under {root}"
    raise PostingError("receivable-account",
                       f"which receivable account? name it ({choices})")


def request_postings(entries: Sequence[data.Directive], book: Book, *, adj_type: str,
                     customer: str, money: Money, offset_account: str | None = None,
                     receivable_account: str | None = None) -> Postings:
    """The two postings of a request: offset first, then the customer's account."""
    owed = customer_move(adj_type, money)
    offset = offset_account or DEFAULT_OFFSET[kind_of(adj_type)]
    receivable = receivable_account or default_receivable(entries, book, customer)
    return ((offset, -owed, money.currency), (receivable, owed, money.currency))
