"""Whether a request asked for under a used `external-id` is that request again.

An external id makes filing idempotent: the API, Fava's `create` and the CSV import
answer a retry with what was filed and write nothing. A retry sends the same
request, so anything it asks for otherwise (another customer, amount, category, date
to book on, approval required or not, reason...) is not a retry but another request
under a reused id: answering it with the first would let its caller take the first
for what it asked, and what it asked would never be filed. This is the one answer
every tool gives (`differences`), so they refuse the same calls.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Request
from beancount_adjustments.writer.results import NewRequest


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _risk(text: str | None) -> str | None:
    flags = tuple(r.strip() for r in (text or "").split(",") if r.strip())
    return ",".join(flags) or None


# What each optional key `writer.request_meta` (or a CSV column) writes reads back as on
# the filed request, as the text the new request carries for it (None: not written).
_META: dict[str, Callable[[Request], str | None]] = {
    "invoice": lambda r: r.invoice,
    "order": lambda r: r.order,
    "ticket": lambda r: r.ticket,
    "document": lambda r: r.document,
    "effective": lambda r: _iso(r.effective),
    "risk": lambda r: ",".join(r.risk) or None,
    "approval-required": lambda r: "TRUE" if r.approval_required else None,
    "notes": lambda r: r.notes,
    "on-statement": lambda r: None if r.on_statement else "FALSE",
    "aging-from": lambda r: _iso(r.aging_from),
}


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def differences(filed: Request, new: NewRequest) -> list[str]:
    """What `new` asks for that `filed` (the request under its external id) does not
    hold, in words ("customer cust_9, not cust_123"); empty: `new` is a retry.

    The id, date, payee and narration count when `new` gives them (a retry a day
    later is still a retry); who files it is the caller's rule (the API answers a
    retry only to its filer)."""
    found: list[str] = []

    def differ(what: str, asked: object, held: object) -> None:
        if asked != held:
            found.append(f"{what} {_shown(asked)}, not {_shown(held)}")

    if new.id is not None:
        differ("id", new.id.strip(), filed.id)
    differ("customer", new.customer.strip(), filed.customer)
    differ("type", new.type.strip(), filed.type)
    differ("category", _text(new.category), filed.category)
    asked_legs = sorted((a, n, c) for a, n, c in new.postings)
    held_legs = sorted((p.account, p.number, p.currency) for p in filed.postings)
    if asked_legs != held_legs:
        found.append("postings " + ", ".join(f"{a} {n} {c}" for a, n, c in asked_legs))
    differ("reason", new.reason.strip(), filed.reason)
    if new.date is not None:
        differ("date", new.date, filed.date)
    if new.payee is not None:
        differ("payee", _text(new.payee), filed.payee)
    if new.narration is not None:
        differ("narration", _text(new.narration), filed.narration)
    for key, held in _META.items():
        asked = new.meta.get(key)
        asked = _risk(asked) if key == "risk" else _text(asked)
        if key == "approval-required" and asked is not None:
            asked = asked.upper() if asked.upper() == "TRUE" else None
        if key == "on-statement" and asked is not None:
            asked = None if asked.upper() == "TRUE" else asked.upper()
        differ(key, asked, held(filed))
    return found


def conflict_message(book: Book, filed: Request, found: list[str], *,
                     field: str = "external_id") -> str:
    """The one-line refusal of another request under `filed`'s external id, naming what
    `book` holds for it (`field`: how the caller spells the id)."""
    adj = book.get(filed.id)
    amount = adj.amount if adj is not None else "?"
    return (f"{field} {filed.external_id!r} is already used by {filed.id} "
            f"({filed.type} for {filed.customer}, {amount}) and this call asks for "
            + "; ".join(found) + f": a retry sends the same request: use another "
            f"{field} for another request")
