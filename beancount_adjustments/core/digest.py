"""The content hash an approval binds to.

A digest covers every input the policy and the effects read of a request:
id, type, category, customer, reason, requested-by, entered-by, request
date, effective, invoice, order, document, the request's own risk flags,
its postings, `approval-required`, `on-statement` and `aging-from`, and
(version 3) the prices and costs written on the postings, which the applied
entry books with them. Posting
and flag order and trailing zeros do not matter (`50.00` and `50` are the
same amount); any other change, however many digits it is in, does.

Digests carry their version (`v2-...`), so that ledgers written now keep
loading after a future change adds a field: each version is computed its own
way. An unversioned digest is version 1 (id, type, customer, reason and
postings), what tools wrote before versions existed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from beancount_adjustments.core.models import Annotation, Money, Request

DIGEST_LENGTH = 32
"""Hex digits of the hash itself (the version prefix aside)."""
VERSION = "v2"
ANNOTATED = "v3"
"""The version of a request whose postings carry prices or costs: v2 and those."""


def exact_number(number: Decimal) -> str:
    """`number` as plain text with no trailing zeros, every digit kept.

    `Decimal.normalize` rounds to the context's 28 digits, which would let two
    different amounts share a digest.
    """
    # `str` is several times faster than `format(number, "f")` and the same
    # text unless it writes an exponent (very large or small numbers).
    text = str(number)
    if "E" in text or "e" in text:
        text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0", "") else text


def _postings(postings: Iterable[tuple[str, Decimal, str]]) -> list[str]:
    return sorted(f"{account}\x1f{exact_number(number)}\x1f{currency}"
                  for account, number, currency in postings)


def _hash(parts: Iterable[str]) -> str:
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:DIGEST_LENGTH]


def request_digest(request: Request) -> str:
    """The current version's digest of `request`, as tools write it."""
    parts = _v2_parts(request)
    if not request.annotations:
        return f"{VERSION}-{_hash(parts)}"
    # Prices and costs on the postings are booked with them: version 3 binds them
    # (a request without any keeps its version 2 digest).
    parts += sorted(_annotation(a) for a in request.annotations)
    return f"{ANNOTATED}-{_hash(parts)}"


def _v2_parts(request: Request) -> list[str]:
    effective = request.effective
    parts = [request.id, request.type, request.customer, request.reason,
             request.requested_by, request.date.isoformat(), request.category or "",
             request.entered_by or "", effective.isoformat() if effective else "",
             request.invoice or "", request.order or "", request.document or "",
             ",".join(sorted(request.risk)) if request.risk else "",
             *_postings(request.postings)]
    if request.approval_required:  # after the postings: no earlier digest changes
        parts.append("approval-required")
    # What the customer is shown of it is approved too (added only when set, likewise).
    if not request.on_statement:
        parts.append("off-statement")
    if request.aging_from is not None:
        parts.append(f"aging-from:{request.aging_from.isoformat()}")
    return parts


def _money(money: Money | None) -> str:
    return "" if money is None else f"{exact_number(money.number)} {money.currency}"


def _annotation(a: Annotation) -> str:
    return "\x1f".join([a.account, exact_number(a.number), a.currency, "@", _money(a.price),
                        "{}", _money(a.cost), a.cost_date.isoformat() if a.cost_date else "",
                        a.cost_label or ""])


def legacy_digest(request: Request) -> str:
    """Version 1: id, type, customer, reason and postings, unprefixed."""
    return _hash([request.id, request.type, request.customer, request.reason,
                  *_postings(request.postings)])


def matches(written: str, request: Request, current: str | None = None) -> bool:
    """Whether a `digest:` as written is the digest of `request` in its own version.

    `current` is `request_digest(request)` when the caller has it already. A
    version this code does not know never matches.
    """
    if written.startswith((f"{VERSION}-", f"{ANNOTATED}-")):
        if written == (current if current is not None else request_digest(request)):
            return True
        # Written before version 3, by a tool that bound no prices or costs.
        return (bool(request.annotations) and written.startswith(f"{VERSION}-")
                and written == f"{VERSION}-{_hash(_v2_parts(request))}")
    if "-" not in written:
        return written == legacy_digest(request)
    return False


def bound_to(written: str | None, request: Request, current: str) -> bool | None:
    """Whether a decision's `digest:` binds it to `request` as it stands now (`matches`:
    in the digest's own version); None when it carries no digest. What the reports,
    `show` and Fava's detail page say of an event's digest."""
    return None if written is None else matches(written, request, current)
