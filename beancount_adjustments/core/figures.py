"""How an amount reads to a person: one rule for staff and customers alike."""

from __future__ import annotations

from decimal import Decimal


def figure(number: Decimal) -> str:
    """Thousands grouped, two decimals, more where more were booked: rounding
    1,000.004 USD to 1,000.00 (then "above a limit of 1,000.00") or 0.0004 BTC to
    0.00 would show another number than the books hold."""
    exponent = number.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{number:,.{places}f}"
