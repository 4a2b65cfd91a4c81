"""Invoices and orders as the checks see them: a `Reference`, and the
`Terms` (whose it is, its amount) the replay reads of one."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from beancount_adjustments.core.accounts import receivable_totals
from beancount_adjustments.core.models import Money, Posting, Source

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """An invoice or order: a transaction carrying `invoice-id:` or `order-id:`."""

    id: str
    date: datetime.date
    customer: str | None
    amount: Money | None
    narration: str
    source: Source


class Terms(NamedTuple):
    """What the checks need of an invoice or order: whose it is, and its amount."""

    customer: str | None
    currency: str | None
    """None: the reference moves no single currency on the receivable."""
    number: Decimal | None


class ReferenceIndex(Mapping[str, Reference]):
    """Invoices (or orders) by id that can tell a reference's terms without
    building the whole `Reference` (the Beancount adapter's index does)."""

    def terms(self, ref_id: str) -> Terms | None:
        return _terms(self.get(ref_id))


def _terms(ref: Reference | None) -> Terms | None:
    if ref is None:
        return None
    amount = ref.amount
    return Terms(ref.customer, amount.currency if amount else None,
                 amount.number if amount else None)


def reference_terms(refs: Mapping[str, Reference], ref_id: str) -> Terms | None:
    """The terms of `ref_id` in `refs`, or None if there is no such reference."""
    if isinstance(refs, ReferenceIndex):
        return refs.terms(ref_id)
    return _terms(refs.get(ref_id))


def credit_taken(postings: Sequence[Posting], amount: Money | None,
                 receivable: str) -> Decimal:
    """What a booked adjustment takes off the invoice it names: what it moves (its
    judged `amount`, legs that cancel on the receivable accounts and legs in
    another currency counting), when it lowers what the customer owes; nothing
    when it raises it. The replay's `exceeds-invoice` cap counts this, and the
    statement's and Fava's "credit left" and "credited so far" too, so no page
    shows room to credit that the replay would refuse."""
    if amount is None:
        return _ZERO
    net = receivable_totals(postings, receivable).get(amount.currency, _ZERO)
    return amount.number if net < 0 else _ZERO


def credit_left(terms: Terms | None, credited: Decimal) -> Decimal:
    """What may still be credited against an invoice of `terms` once `credited` was.
    An invoice that bills no single currency on the receivable (several, or none)
    caps nothing it could be compared with, so nothing may be credited against it
    (`invoice-currency`)."""
    if terms is None or terms.currency is None or terms.number is None:
        return _ZERO
    return terms.number - credited
