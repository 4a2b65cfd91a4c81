"""Amounts typed by people are read one strict way (CLI, CSV import, Fava)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from beancount_adjustments.core.amounts import AmountError, parse_money, parse_number
from beancount_adjustments.core.models import Money


@pytest.mark.parametrize(("text", "number"), [
    ("1234.56", "1234.56"), ("1,234.56", "1234.56"), ("40", "40"), ("40.5", "40.5"),
    ("-12.00", "-12.00"), ("1,234,567.00", "1234567.00"), ("1,234,567", "1234567"),
    (" 0.10 ", "0.10"),
])
def test_plain_and_grouped_numbers(text: str, number: str):
    assert parse_number(text) == Decimal(number)
    assert str(parse_number(text)) == number.lstrip("+")


@pytest.mark.parametrize("text", [
    "40,00", "1.000,00", "1,23", "1,2345", "1,234", "12a", "", "1.2.3", "1,,234.00",
    "1e5", "NaN", "Infinity", "0x10", "1_000",
])
def test_ambiguous_or_malformed_numbers_are_refused(text: str):
    with pytest.raises(AmountError):
        parse_number(text)


def test_the_messages_say_what_to_write():
    with pytest.raises(AmountError, match=r"decimal comma; write 40\.00"):
        parse_number("40,00")
    with pytest.raises(AmountError, match=r"decimal comma; write 1000\.00"):
        parse_number("1.000,00")
    with pytest.raises(AmountError, match="ambiguous"):
        parse_number("1,234")


@pytest.mark.parametrize(("text", "number"), [
    ("40,00", "40.00"), ("1.000,00", "1000.00"), ("1.234", "1234"), ("1234,5", "1234.5"),
])
def test_decimal_comma_when_asked(text: str, number: str):
    assert parse_number(text, decimal_comma=True) == Decimal(number)


def test_decimal_comma_refuses_a_decimal_point():
    with pytest.raises(AmountError):
        parse_number("1,234.56", decimal_comma=True)


def test_more_decimals_than_the_currency_has_are_refused_not_rounded():
    with pytest.raises(AmountError, match="3 decimals; USD amounts have 2"):
        parse_money("40.001 USD")
    # three decimals ending in zeros could be a dot grouping thousands (40100):
    # refused too (test_attacks_s38)
    with pytest.raises(AmountError, match="ambiguous"):
        parse_money("40.100 USD")
    assert parse_money("40.10 USD") == Money(Decimal("40.10"), "USD")
    with pytest.raises(AmountError, match="JPY amounts have 0"):
        parse_money("100.5 JPY")
    assert parse_money("1.250 KWD").number == Decimal("1.250")


def test_huge_amounts_are_refused():
    with pytest.raises(AmountError, match="digits"):
        parse_money("1" * 60 + " USD")


def test_money_needs_a_currency():
    assert parse_money("40.00", currency="EUR") == Money(Decimal("40.00"), "EUR")
    with pytest.raises(AmountError, match="needs a currency"):
        parse_money("40.00")
    with pytest.raises(AmountError, match="not a currency"):
        parse_money("40.00 usd")
