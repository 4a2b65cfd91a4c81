"""How an amount reads to a person: one rule for staff and customers alike."""

from __future__ import annotations

from decimal import Decimal


def figure(number: Decimal) -> str:
    """Thousands grouped, two decimals, more where more were booked: rounding
    1,000.004 USD to 1,000.00 (then "above a limit of 1,000.00") or 0.0004 BTC to
    0.00 would show another number than the books hold. Zeros ending the digits
    past the cents are dropped (the same number): an amount a price converted
    carries those a division leaves ("66.67000000000000000000000000")."""
    _sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):
        return f"{number:,.2f}"
    kept = "".join(map(str, digits)).rstrip("0")
    places = max(2, -(exponent + len(digits) - len(kept))) if kept else 2
    return f"{number:,.{places}f}"
