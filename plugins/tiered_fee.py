"""A tiered fee: a fee that depends on the size of an invoice.

    2026-01-01 custom "adjustment-template" "late-fee-tiered"
      type: "debit:fee"
      calculator: "plugins.tiered_fee:fee"
      tiers: "0:5.00, 100:15.00, 1000:50.00"   ; invoice amount from : fee
      offset-account: "Income:Fees"
      reason: "Late payment fee for {invoice}"

The fee is the one of the highest tier whose lower bound the invoice's
amount reaches, in the invoice's currency.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from beancount_adjustments.intake.calculators import (
    CalcInput,
    CalculatorError,
    Postings,
    round_money,
)


def fee(inp: CalcInput) -> Postings:
    invoice = inp.invoice
    if invoice is None or invoice.amount is None:
        raise CalculatorError("a tiered fee is taken on an invoice; pass --invoice INVOICE-ID.")
    tiers: list[tuple[Decimal, Decimal]] = []
    for part in inp.text("tiers").split(","):
        bound, _, value = part.partition(":")
        try:
            tiers.append((Decimal(bound.strip()), Decimal(value.strip())))
        except InvalidOperation:
            raise CalculatorError(f"`tiers` reads \"FROM:FEE, FROM:FEE\", not {part!r}.") from None
    owed = abs(invoice.amount.number)
    reached = [value for bound, value in sorted(tiers) if owed >= bound]
    if not reached:
        raise CalculatorError(f"no tier starts at or below {owed}.")
    number = round_money(reached[-1], inp.precision)
    currency = invoice.amount.currency
    return [(inp.receivable_account, inp.direction * number, currency),
            (inp.offset(), -inp.direction * number, currency)]
