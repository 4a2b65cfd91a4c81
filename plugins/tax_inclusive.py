"""A tax-inclusive split: a gross amount becomes a net line and a tax line.

A template such as::

    2026-01-01 custom "adjustment-template" "refund-incl-vat"
      type: "credit:refund"
      calculator: "plugins.tax_inclusive:split"
      rate: 20                          ; percent, included in the gross amount
      offset-account: "Income:Sales:Returns"
      tax-account: "Liabilities:Tax"
      reason: "Refund {gross} incl. VAT"

and `bean-adjust from-template refund-incl-vat --customer cust_1 --param gross="120.00 USD"`
give a request whose customer side is the gross amount (120.00, lowering what
the customer owes for a credit) balanced by the net amount on the offset
account (100.00) and the tax on the tax account (20.00). The tax is the
gross minus the rounded net, so the lines always add up to the cent.
"""

from __future__ import annotations

from decimal import Decimal

from beancount_adjustments.intake.calculators import (
    CalcInput,
    CalculatorError,
    Postings,
    round_money,
)


def split(inp: CalcInput) -> Postings:
    gross = inp.money("gross")
    if gross.number <= 0:
        raise CalculatorError(f"`gross` must be positive, not {gross.number}; the type says "
                              "which way it moves the balance.")
    rate = inp.decimal("rate")
    if not 0 <= rate < 100:
        raise CalculatorError(f"`rate` is a percentage from 0 to below 100, not {rate}.")
    tax_account = inp.text("tax-account")
    places = inp.precision
    gross_number = round_money(gross.number, places)
    net = round_money(gross_number / (1 + rate / Decimal(100)), places)
    tax = gross_number - net
    sign = inp.direction
    postings: Postings = [
        (inp.receivable_account, sign * gross_number, gross.currency),
        (inp.offset(), -sign * net, gross.currency),
    ]
    if tax:
        postings.append((tax_account, -sign * tax, gross.currency))
    return postings
