"""Amount calculators: how a template turns its parameters into postings.

A calculator takes a `CalcInput` and returns `Postings`; the built-ins (`fixed`,
`percent-of-invoice`, `price-correction`) are registered by name (`register`),
others are loaded by dotted name from beside the ledger (`get`). How to write
one, and what each built-in computes: docs/templates.md.
"""

from __future__ import annotations

import datetime
import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from beancount_adjustments.core import amounts
from beancount_adjustments.core.amounts import AmountError
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.intake_lines import ParamValue
from beancount_adjustments.core.models import Kind, Money
from beancount_adjustments.core.references import Reference

__all__ = [
    "CalcInput",
    "Calculator",
    "CalculatorError",
    "ParamValue",
    "Postings",
    "get",
    "names",
    "register",
    "round_money",
]

Postings = list[tuple[str, Decimal, str]]


class CalculatorError(AdjustmentsError):
    """Bad input for a calculator; the message tells the user what to change."""

    code = "bad-calculator-input"


@dataclass(frozen=True)
class CalcInput:
    """Everything a calculator may use to work out a request's postings."""

    template: str
    type: str
    customer: str
    date: datetime.date
    receivable_account: str
    offset_account: str | None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    invoice: Reference | None = None
    order: Reference | None = None
    book: Book | None = None

    @property
    def kind(self) -> Kind:
        return Kind(self.type.split(":", 1)[0])

    @property
    def direction(self) -> int:
        """Sign of the receivable posting: -1 lowers what the customer owes, +1 raises it."""
        if self.kind is Kind.CREDIT:
            return -1
        if self.kind is Kind.DEBIT:
            return 1
        wanted = self.text("direction", "lower")
        if wanted not in ("lower", "raise"):
            raise CalculatorError(
                f'`direction:` is "lower" or "raise" (what the adjustment does to what the '
                f"customer owes), not {wanted!r}.")
        return -1 if wanted == "lower" else 1

    @property
    def precision(self) -> int:
        value = self.params.get("precision")
        if value is None:
            return 2
        number = self.decimal("precision")
        if number != number.to_integral_value() or not 0 <= number <= 8:
            raise CalculatorError(f"`precision:` must be a whole number of decimal places, "
                                  f"not {value!r}.")
        return int(number)

    # -- typed access to parameters ------------------------------------------

    def text(self, key: str, default: str | None = None) -> str:
        value = self.params.get(key)
        if value is None:
            if default is None:
                raise CalculatorError(self._missing(key, "a text"))
            return default
        if isinstance(value, Money):
            return f"{value.number} {value.currency}"
        return str(value).strip()

    def decimal(self, key: str, default: Decimal | None = None) -> Decimal:
        value = self.params.get(key)
        if value is None:
            if default is None:
                raise CalculatorError(self._missing(key, "a number"))
            return default
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            # Read as every amount is (`amounts.parse_number`): no exponent, no NaN,
            # the digits 0-9 only, no comma read two ways.
            try:
                return amounts.parse_number(value)
            except AmountError as exc:
                raise CalculatorError(f"`{key}` must be a number: {exc}.") from None
        raise CalculatorError(f"`{key}` must be a number, not {value!r}.")

    def money(self, key: str, currency_key: str = "currency") -> Money:
        """An amount: `15.00 USD`, or a number with the `currency` parameter
        (or, failing that, the invoice's currency)."""
        value = self.params.get(key)
        if value is None:
            raise CalculatorError(self._missing(key, "an amount such as 15.00 USD"))
        if isinstance(value, Money):
            return value
        if isinstance(value, str) and len(value.split()) == 2:
            try:
                return amounts.parse_money(value)
            except AmountError as exc:
                raise CalculatorError(f"`{key}` must be an amount such as 15.00 USD: "
                                      f"{exc}.") from None
        return Money(number=self.decimal(key), currency=self.currency(currency_key))

    def currency(self, key: str = "currency") -> str:
        if key in self.params:
            return self.text(key)
        if self.invoice is not None and self.invoice.amount is not None:
            return self.invoice.amount.currency
        raise CalculatorError(self._missing(key, "a currency such as USD"))

    def offset(self) -> str:
        if not self.offset_account:
            raise CalculatorError("needs `offset-account:`, the account on the other side "
                                  "of the customer's account.")
        return self.offset_account

    def _missing(self, key: str, what: str) -> str:
        return (f"needs `{key}` ({what}): set `{key}:` on the template or pass "
                f"--param {key}=...")


Calculator = Callable[[CalcInput], Postings]
"""A calculator: a request's postings from a template's input."""

_REGISTRY: dict[str, Calculator] = {}


def register(name: str) -> Callable[[Calculator], Calculator]:
    """Decorator: make a calculator available under a short name."""
    def decorate(function: Calculator) -> Calculator:
        _REGISTRY[name] = function
        return function
    return decorate


def names() -> list[str]:
    """Names of the registered calculators."""
    return sorted(_REGISTRY)


def get(name: str, search_paths: Iterable[Path] = ()) -> Calculator:
    """The calculator registered as `name`, or the function at dotted path `name`.

    `search_paths` (the ledger's directory, the current directory) are put on
    `sys.path` first so that a repository's `plugins/` package is importable.
    """
    found = _REGISTRY.get(name)
    if found is not None:
        return found
    if ":" in name:
        module_name, _, attr = name.partition(":")
    elif "." in name:
        module_name, _, attr = name.rpartition(".")
    else:
        raise CalculatorError(
            f"unknown calculator {name!r}; built-in: {', '.join(names())}, or a dotted "
            "name such as \"plugins.tax_inclusive:split\".")
    for path in search_paths:
        entry = str(Path(path).resolve())
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CalculatorError(
            f"calculator {name!r}: cannot import module {module_name!r} ({exc}); the ledger's "
            "directory and the current directory are searched.") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise CalculatorError(f"calculator {name!r}: module {module_name!r} has no function "
                              f"{attr!r}.")
    calculator: Calculator = function
    return calculator


def round_money(number: Decimal, places: int = 2) -> Decimal:
    """Round half-up to `places` decimals, as invoices are rounded."""
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def pair(inp: CalcInput, receivable: Decimal, currency: str) -> Postings:
    """The two postings of a simple adjustment: customer's side and offset."""
    return [(inp.receivable_account, receivable, currency), (inp.offset(), -receivable, currency)]


# -- built-ins -----------------------------------------------------------------

@register("fixed")
def fixed(inp: CalcInput) -> Postings:
    """A fixed amount, written positive; the type (or `direction:`) gives the sign."""
    amount = inp.money("amount")
    if amount.number <= 0:
        raise CalculatorError(
            f"write the amount as a positive number "
            f"({amount.number} given); the type says which way it moves the balance.")
    return pair(inp, inp.direction * round_money(amount.number, inp.precision),
                amount.currency)


@register("percent-of-invoice")
def percent_of_invoice(inp: CalcInput) -> Postings:
    """`percent` % of the referenced invoice: a discount, a late fee, a rebate."""
    invoice = inp.invoice
    if invoice is None:
        raise CalculatorError("takes a percentage of an invoice; pass --invoice INVOICE-ID.")
    if invoice.amount is None:
        raise CalculatorError(f"invoice {invoice.id!r} has no single amount on the receivable "
                              "accounts, so no percentage of it can be taken.")
    percent = inp.decimal("percent")
    if not 0 < percent <= 100:
        raise CalculatorError(f"`percent` must be above 0 and at most 100, not {percent}.")
    value = round_money(abs(invoice.amount.number) * percent / 100, inp.precision)
    if value == 0:
        raise CalculatorError(f"{percent}% of invoice {invoice.id} ({invoice.amount}) rounds "
                              "to zero.")
    return pair(inp, inp.direction * value, invoice.amount.currency)


@register("price-correction")
def price_correction(inp: CalcInput) -> Postings:
    """Quantity x (correct price - billed price): what the customer owes changes by that."""
    quantity = inp.decimal("quantity")
    billed = inp.decimal("billed-price")
    correct = inp.decimal("correct-price")
    currency = inp.currency()
    change = round_money(quantity * (correct - billed), inp.precision)
    if change == 0:
        raise CalculatorError(f"{quantity} x ({correct} - {billed}) is zero: nothing to "
                              "correct.")
    if inp.kind is not Kind.BILLING and (change > 0) != (inp.direction > 0):
        word = "lowers" if change < 0 else "raises"
        raise CalculatorError(f"the correction {word} what the customer owes ({change} "
                              f"{currency}), which a {inp.type} cannot do; use a billing: type "
                              "or swap the prices.")
    return pair(inp, change, currency)
