"""A site check (the plugin's `checks` setting): credits of 500 or more need a ticket.

    plugin "beancount_adjustments" "{'checks': ['plugins.require_ticket.check']}"

A check is any function `(request, amount) -> message(s) or None`; each message
is an error at the request, and the request books nothing until it is fixed.
Written only against the public models, as a site would write its own.
"""

from __future__ import annotations

from decimal import Decimal

from beancount_adjustments.core.models import Kind, Money, Request

THRESHOLD = Decimal(500)


def check(request: Request, amount: Money) -> str | None:
    if request.kind is Kind.CREDIT and amount.number >= THRESHOLD and not request.ticket:
        return (f"credits of {THRESHOLD} {amount.currency} or more need the support ticket "
                "they answer; add `ticket:`")
    return None
