"""Invoices and orders as the checks see them: a `Reference`, and the
`Terms` (whose it is, its amount) the replay reads of one."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from beancount_adjustments.core.models import Money, Source


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
