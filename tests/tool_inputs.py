"""What the tools' tests hand the writer and the API besides a ledger: the
writer's clock, a refund as a `NewRequest`, and the seed's example call."""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount_adjustments.writer import NewRequest

NOW = datetime.datetime(2024, 4, 1, 9, 30, tzinfo=datetime.UTC)
DAY = NOW.date()


def credit(amount: str, currency: str = "USD", **kw: object) -> NewRequest:
    """alice's refund of `amount` to cust_123 on `DAY` (other fields as keywords)."""
    number = Decimal(amount)
    return NewRequest(type="credit:refund", customer="cust_123", requested_by="alice",
                      reason=str(kw.pop("reason", "Refund")), date=DAY,
                      postings=(("Income:Sales:Returns", number, currency),
                                ("Assets:Receivable:Customers", -number, currency)),
                      **kw)  # type: ignore[arg-type]


# The seed's `crm.adjustments.create(...)` example, as `api.create`'s keywords.
SEED = {"customer": "cust_123", "type": "credit", "amount": 50.00,
        "reason": "Product return - damaged item", "category": "refund",
        "order": "order_456", "approval_required": True,
        "notes": "Customer reported damaged packaging on arrival"}
