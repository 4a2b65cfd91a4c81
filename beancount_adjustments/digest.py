"""The content hash an approval binds to.

A digest covers what a reviewer decides on: the id, type, customer, reason
and postings. Posting order and number formatting do not matter (`50.00`
and `50` are the same amount); anything else that changes does. Tools write
it as `digest:` on every event; an approval whose digest no longer matches
the request counts for nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from beancount_adjustments.models import Request

DIGEST_LENGTH = 32


def _number(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def content_digest(adj_id: str, adj_type: str, customer: str, reason: str,
                   postings: Iterable[tuple[str, Decimal, str]]) -> str:
    """The digest of a request's content, given as its parts.

    `postings` are (account, number, currency) triples: a request's own
    `Posting`s, or what a tool (the demo generator) is about to write.
    """
    lines = sorted(f"{account}\x1f{_number(number)}\x1f{currency}"
                   for account, number, currency in postings)
    canonical = "\x1e".join([adj_id, adj_type, customer, reason, *lines])
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]


def request_digest(request: Request) -> str:
    return content_digest(request.id, request.type, request.customer, request.reason,
                          request.postings)
