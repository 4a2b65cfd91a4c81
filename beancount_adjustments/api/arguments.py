"""Checking what a caller passes: text, dates, states, amounts read strictly
(`core.amounts`) and types, each refused with an `ApiError(\"invalid\", ...)`."""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Iterable
from decimal import Decimal

from beancount_adjustments.api.results import ApiError
from beancount_adjustments.beans.metadata import control_problem, date_value
from beancount_adjustments.core import amounts
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Money, State
from beancount_adjustments.core.policy import known_names

KINDS = ("credit", "debit", "billing")


def states_of(state: str | Iterable[str] | None) -> set[State] | None:
    if state is None:
        return None
    names = [state] if isinstance(state, str) else builtins.list(state)
    out: set[State] = set()
    for name in names:
        try:
            out.add(State(str(name).strip()))
        except ValueError:
            raise ApiError("invalid", f"unknown state {name!r}; one of "
                           f"{', '.join(s.value for s in State)}") from None
    return out


# -- amounts and types -------------------------------------------------------------


def money_of(amount: object, currency: str | None, what: str = "amount", *,
           decimal_comma: bool = False) -> Money:
    """`amount` read strictly (see the module's rules); the currency may stay "" (unknown)."""
    if isinstance(amount, Money):
        number, given = amount.number, amount.currency
    elif isinstance(amount, bool) or amount is None:
        raise ApiError("invalid", f"{what} must be a number or a text like \"50.00 USD\", "
                       f"not {amount!r}")
    elif isinstance(amount, str):
        text = amount.strip()
        parts = text.split()
        if len(parts) == 2 and parts[0][:1].isalpha():  # USD 50.00
            text = f"{parts[1]} {parts[0]}"
        try:
            if len(text.split()) >= 2 or currency:
                money = amounts.parse_money(text, currency=currency, decimal_comma=decimal_comma)
                if currency and money.currency != currency:
                    raise ApiError("invalid", f"{what} is in {money.currency} but currency "
                                   f"says {currency}")
                return money
            number, given = amounts.parse_number(text, decimal_comma=decimal_comma), ""
        except amounts.AmountError as exc:
            raise ApiError("invalid", f"{what}: {exc}") from None
    elif isinstance(amount, float):
        return money_of(str(amount), currency, what)
    elif isinstance(amount, int | Decimal):
        number, given = Decimal(amount), currency or ""
        try:
            amounts.check_digits(number)
        except amounts.AmountError as exc:
            raise ApiError("invalid", f"{what}: {exc}") from None
    else:
        raise ApiError("invalid", f"{what} must be a number or a text like \"50.00 USD\", "
                       f"not a {type(amount).__name__}")
    if given:
        try:
            checked = amounts.parse_money(amounts.number_text(number), currency=given)
        except amounts.AmountError as exc:
            raise ApiError("invalid", f"{what}: {exc}") from None
        return Money(number, checked.currency)
    return Money(number, "")


def ledger_currency(book: Book) -> str:
    currencies = {row.threshold.currency for row in book.facts.rows}
    if len(currencies) == 1:
        return currencies.pop()
    raise ApiError("invalid", "the amount needs a currency (\"50.00 USD\" or currency=): the "
                   "ledger's approval matrix does not name one currency to default to")


def full_type(kind_or_type: str, category: str | None, book: Book,
               date: datetime.date) -> tuple[str, str | None]:
    """(type, category): a full type as given, or the one unambiguous reading of a bare kind."""
    given = kind_or_type.strip()
    types = known_names(book.facts.declarations, "type", date)
    if ":" in given:
        return given, category
    if given in KINDS and category and ":" not in category:
        candidate = f"{given}:{category.strip()}"
        if book.known(candidate, "type", date):
            return candidate, None
    of_kind = [t for t in types if t.startswith(given + ":")] if given in KINDS else types
    raise ApiError("invalid", f"type {given!r} is not a full type (kind:subtype); one of "
                   f"{', '.join(of_kind)}")


def text_of(name: str, value: object, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ApiError("invalid", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError("invalid", f"{name} must be text, not {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise ApiError("invalid", f"{name} is required")
    problem = control_problem(name, text, one_line=name not in ("reason", "notes"))
    if problem is None and name == "notes" and "\n" in text:
        problem = "notes hold a line break; write them on one line"
    if problem is not None:
        raise ApiError("invalid", problem)
    return text or None


def date_of(name: str, value: object) -> datetime.date | None:
    if value is None or value == "":
        return None
    found = date_value(value)
    if found is not None:
        return found
    raise ApiError("invalid", f"{name} must be a date (YYYY-MM-DD), not {value!r}")

