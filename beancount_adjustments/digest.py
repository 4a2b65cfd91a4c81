"""The content hash an approval binds to.

A digest covers what a reviewer decides on: the id, type, customer, reason
and postings. Posting order and number formatting do not matter (`50.00`
and `50` are the same amount); anything else that changes does. Tools write
it as `digest:` on every event; an approval whose digest no longer matches
the request counts for nothing.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from beancount_adjustments.models import Request

DIGEST_LENGTH = 32


def _number(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def request_digest(request: Request) -> str:
    postings = sorted(f"{p.account}\x1f{_number(p.number)}\x1f{p.currency}"
                      for p in request.postings)
    canonical = "\x1e".join([
        request.id, request.type, request.customer, request.reason, *postings])
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]
