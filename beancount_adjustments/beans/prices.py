"""The ledger's price directives as the rates the policy converts amounts with."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from beancount.core import data, prices


def price_rates(price_entries: list[data.Price]) -> PriceRates:
    """Rates from the ledger's price directives; the map is built on first use."""
    return PriceRates(price_entries)


class PriceRates:
    """`policy.Rates` over price directives (an object, so the book pickles with it)."""

    def __init__(self, price_entries: list[data.Price]) -> None:
        self.price_entries = price_entries
        self._map: Any = None

    def __call__(self, base: str, quote: str, date: datetime.date) -> Decimal | None:
        if self._map is None:
            self._map = prices.build_price_map(self.price_entries)  # type: ignore[no-untyped-call]
        _, value = prices.get_price(self._map, (base, quote), date)  # type: ignore[no-untyped-call]
        return value if isinstance(value, Decimal) else None
