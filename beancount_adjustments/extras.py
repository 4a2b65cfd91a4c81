"""What a request carries beside what the replay judges: `notes:` and `approval-required:`.

    2026-11-20 ! "cust_123" "Product return - damaged item" ^ADJ-2026-0042
      ...
      approval-required: TRUE
      notes: "Customer reported damaged packaging on arrival"

`notes:` is free text for reviewers; `approval-required: TRUE` records that
the requester asked for a review. Neither is part of the book (the replay
does not read them), so the tools that show them (`bean-adjust show` and
`export`, the Fava detail page, `api`) read them here, from the request
transactions of the loaded entries, matched to adjustments by file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from beancount.core import data

from beancount_adjustments.book import Book

__all__ = ["NONE", "Extras", "extras_of", "request_extras"]


@dataclass(frozen=True)
class Extras:
    notes: str | None = None
    approval_required: bool = False


NONE = Extras()


def extras_of(meta: Mapping[str, Any]) -> Extras:
    """The extras one request's metadata holds."""
    notes = meta.get("notes")
    required = meta.get("approval-required")
    return Extras(notes=notes.strip() or None if isinstance(notes, str) else None,
                  approval_required=required is True
                  or (isinstance(required, str) and required.strip().upper() == "TRUE"))


def request_extras(entries: Iterable[data.Directive], book: Book) -> dict[str, Extras]:
    """Adjustment id -> its extras, for the requests that have any."""
    found: dict[tuple[str, int], Extras] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        meta = entry.meta
        if "adjustment-type" not in meta or ("notes" not in meta
                                             and "approval-required" not in meta):
            continue
        extras = extras_of(meta)
        if extras != NONE:
            found[(str(meta.get("filename")), int(meta.get("lineno") or 0))] = extras
    if not found:
        return {}
    out: dict[str, Extras] = {}
    for adj_id, adj in book.adjustments.items():
        source = adj.request.source
        given = found.get((source.filename, source.lineno))
        if given is not None:
            out[adj_id] = given
    return out
