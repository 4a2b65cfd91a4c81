"""Amounts typed by people: one strict reading for the CLI, CSV import and Fava.

`1,234.56` and `1234.56` are read; `40,00`, `1.000,00`, `1,23` and anything
else a person could have meant two ways are refused with a message, unless
the caller says the text uses a decimal comma. More decimals than the
currency is usually written with are refused rather than rounded, so what
is written is what was typed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Money

CURRENCY_RE = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")
MAX_DIGITS = 15
"""Digits before the decimal point: a larger amount is a typo, not a credit."""
MAX_DECIMALS = 12
"""Digits after it: no currency or rate is written with more, and with the 15 before
it an amount stays within the 28 digits `Decimal` computes exactly (a posting of
`1.000000000000000000000000000000` was written with three of its zeros gone)."""

# ISO 4217 minor units that are not 2; anything else (and any commodity that
# is not a currency) takes 2, the usual precision of a ledger's amounts.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

# `re.ASCII`: `\d` alone matches every script's digits, and `Decimal` reads them all
# ("১০০" is 100), so a Bengali four (U+09EA), drawn like an 8, would be written as a 4.
_PLAIN = re.compile(r"^\d+(\.\d+)?$", re.ASCII)
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$", re.ASCII)
_PLAIN_COMMA = re.compile(r"^\d+(,\d+)?$", re.ASCII)
_GROUPED_COMMA = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$", re.ASCII)


class AmountError(AdjustmentsError, ValueError):
    """Why a text is not an amount, in words for the person who typed it."""

    code = "bad-amount"


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def _compact(text: str) -> str:
    """`text` without the blanks a number may be written with (spaces, no-break spaces)."""
    return text.strip().replace("\u00a0", "").replace(" ", "")


def parse_number(text: str, *, decimal_comma: bool = False) -> Decimal:
    """The number `text` says, read strictly (see the module docstring)."""
    raw = _compact(text)
    sign = ""
    if raw[:1] in "+-" and raw[:1]:
        sign, raw = ("-" if raw[0] == "-" else ""), raw[1:]
    if not raw:
        raise AmountError("no number given")
    other = sorted({c for c in raw if c.isdigit() and not c.isascii()})
    if other:
        raise AmountError(f"{text.strip()!r} holds digits other than 0-9 ({''.join(other)}); "
                          "write the amount with the digits 0-9")
    if decimal_comma:
        if _PLAIN_COMMA.match(raw) or _GROUPED_COMMA.match(raw):
            digits = raw.replace(".", "").replace(",", ".")
        else:
            raise AmountError(f"{text.strip()!r} is not a number written with a decimal "
                              "comma (1.234,56)")
    elif re.match(r"^\d{1,3},\d{3}$", raw):
        raise AmountError(f"{text.strip()!r} is ambiguous: {raw.replace(',', '')} with a "
                          f"thousands separator, or {raw.replace(',', '.')} with a decimal "
                          f"comma; write {raw.replace(',', '')} or {raw.replace(',', '.')}")
    elif _PLAIN.match(raw) or _GROUPED.match(raw):
        digits = raw.replace(",", "")
    elif re.match(r"^\d{1,3}(\.\d{3})*,\d+$", raw) or re.match(r"^\d+,\d{1,2}$", raw):
        raise AmountError(f"{text.strip()!r} looks like it uses a decimal comma; write "
                          f"{_with_point(raw)} (or use the decimal-comma option)")
    else:
        raise AmountError(f"{text.strip()!r} is not a number: write it like 1234.56 or "
                          "1,234.56")
    whole = digits.partition(".")[0].lstrip("0")
    if len(whole) > MAX_DIGITS:
        raise AmountError(f"{text.strip()!r} has more than {MAX_DIGITS} digits before the "
                          "decimal point; that is not an adjustment amount")
    if len(digits.partition(".")[2]) > MAX_DECIMALS:
        raise AmountError(f"{text.strip()!r} has more than {MAX_DECIMALS} digits after the "
                          "decimal point; write it with the decimals it has")
    try:
        return Decimal(sign + digits)
    except InvalidOperation:  # the patterns above only let digits through
        raise AmountError(f"{text.strip()!r} is not a number") from None


def check_digits(number: Decimal) -> None:
    """Refuse a number given as a number (a JSON body's `1e999999999`, a Python
    caller's `Decimal`) with more digits than an amount may have, judged from its
    exponent before it is written out: in full it would be a billion digits, built
    (and echoed in the refusal) for one short request."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):
        raise AmountError(f"{number} is not a number")
    if number and number.adjusted() >= MAX_DIGITS:
        raise AmountError(f"the number has {number.adjusted() + 1} digits before the decimal "
                          f"point, more than {MAX_DIGITS}; that is not an adjustment amount")
    if -exponent > MAX_DECIMALS:
        raise AmountError(f"the number has more than {MAX_DECIMALS} digits after the decimal "
                          f"point ({-exponent}); write it with the decimals it has")


def _with_point(raw: str) -> str:
    return raw.replace(".", "").replace(",", ".")


def check_precision(number: Decimal, currency: str) -> None:
    """Refuse more decimals than `currency` is written with (never rounded)."""
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    allowed = minor_units(currency)
    if places > allowed and number != number.quantize(Decimal(1).scaleb(-allowed)):
        raise AmountError(f"{number} {currency} has {places} decimals; {currency} amounts "
                          f"have {allowed}, and an amount is never rounded for you")


_NUMERIC = re.compile(r"^[+-]?[\d.,\s\u00a0]*\d[\d.,\s\u00a0]*$")
_MONEY = re.compile(r"^[+-]?[\d.,\s\u00a0]*\d[\d.,\s\u00a0]*\s+[A-Z][A-Z0-9'._-]*$")


def read_param(text: str, *, decimal_comma: bool = False) -> str | Money:
    """A calculator parameter given as text (`--param`, or a string on a template or
    schedule line): one that reads as an amount (`120.00 USD`) is that amount, one
    that reads as a number (`2.5`, `1,5`, `٢`) the number as the writer writes it,
    both read strictly as above (AmountError); any other text stays as it is (the
    calculator that wants a number refuses it, `parse_number`)."""
    text = text.strip()
    if _MONEY.match(text):
        return parse_money(text, decimal_comma=decimal_comma)
    if _NUMERIC.match(text):
        return number_text(parse_number(text, decimal_comma=decimal_comma))
    return text


def number_text(number: Decimal) -> str:
    """`number` as the writer writes it: every digit it has, no exponent."""
    return format(number, "f")


def parse_money(text: str, *, currency: str | None = None,
                decimal_comma: bool = False) -> Money:
    """`"40.00 USD"` (or `"40.00"` with `currency`) as `Money`, strictly."""
    parts = text.split()
    if len(parts) >= 2 and not re.match(r"^[\d.,+-]+$", parts[-1]):
        number_text, given = " ".join(parts[:-1]), parts[-1]
    elif currency is not None:
        number_text, given = text, currency
    else:
        raise AmountError(f"{text.strip()!r} needs a currency: write it like 40.00 USD")
    if not CURRENCY_RE.match(given):
        raise AmountError(f"{given!r} is not a currency (USD, EUR, ...)")
    number = parse_number(number_text, decimal_comma=decimal_comma)
    _check_dot_group(number_text, number, given, decimal_comma=decimal_comma)
    check_precision(number, given)
    return Money(number, given)


_DOT_GROUP = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$", re.ASCII)


def _check_dot_group(text: str, number: Decimal, currency: str, *,
                     decimal_comma: bool) -> None:
    """Refuse `1.500 USD`: three decimals, the last ones zeros, in a currency written
    with fewer are a dot grouping thousands (1500, as `1.500,00` groups them) or a
    1.50 with a zero too many. `check_precision` lets the zeros through (1.500 is
    1.50), so it was read as a thousandth of what a person writing the other way
    meant: the `1,000` that `parse_number` refuses, the other way round."""
    raw = _compact(text)
    places = minor_units(currency)
    if decimal_comma or not _DOT_GROUP.match(raw) or places >= 3:
        return
    exact = number.quantize(Decimal(1).scaleb(-places))
    if exact != number:
        return  # `check_precision` refuses it (12.345 USD)
    sign = "-" if raw.startswith("-") else ""
    whole = raw.lstrip("+-").replace(".", "")
    raise AmountError(f"{text.strip()!r} is ambiguous: {number} {currency} with a decimal "
                      f"point, or {sign}{whole} {currency} with a dot grouping thousands; "
                      f"{currency} amounts have {places} decimals: write {exact} or "
                      f"{sign}{whole}")
