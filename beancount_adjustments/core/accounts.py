"""Which accounts a posting moves: the receivable root and the accounts under it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from beancount_adjustments.core.models import Posting


def is_under(account: str, root: str) -> bool:
    return account == root or account.startswith(root + ":")


_ZERO = Decimal(0)


def receivable_totals(postings: Sequence[Posting], receivable: str) -> dict[str, Decimal]:
    """What `postings` move on the receivable accounts, per currency."""
    totals: dict[str, Decimal] = {}
    for account, number, currency in postings:
        if is_under(account, receivable):
            totals[currency] = totals.get(currency, _ZERO) + number
    return totals
