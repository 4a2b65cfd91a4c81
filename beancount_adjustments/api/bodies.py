"""JSON bodies (Fava's `POST create` and `decide`): read strictly, and their fields
as `create`'s keyword arguments."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from beancount_adjustments.api.results import ApiError
from beancount_adjustments.beans.metadata import length_problem

FIELDS = ("customer", "type", "amount", "currency", "reason", "category", "invoice", "order",
          "ticket", "document", "effective", "approval_required", "notes", "external_id", "id",
          "on_statement", "aging_from")
FLAGS = ("approval_required", "on_statement")
ALIASES = {"customerId": "customer", "orderId": "order", "invoiceId": "invoice",
           "ticketId": "ticket", "approvalRequired": "approval_required",
           "approval-required": "approval_required", "externalId": "external_id",
           "external-id": "external_id", "onStatement": "on_statement",
           "on-statement": "on_statement", "agingFrom": "aging_from",
           "aging-from": "aging_from"}
"""Other spellings a JSON body may use (the seed's camelCase, the ledger's keys)."""
def read_json(text: str) -> object:
    """`text` as JSON, numbers with a point read exactly (`Decimal`); a key given twice
    in one object is refused (`ApiError` "invalid"), as invalid JSON and nesting
    deeper than Python's stack are.

    Python's reader keeps the last of repeated keys where other readers (a gateway, a
    ticket system's log) keep the first: `{"action": "reject", ..., "action":
    "approve"}` would be checked as one thing and written as the other."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ApiError("invalid", f"the body gives {key!r} twice in one object")
            out[key] = value
        return out

    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=pairs)
    except ValueError:
        raise ApiError("invalid", "the body is not valid JSON") from None
    except RecursionError:
        # Python's reader recurses once per level: `[[[[...` a few thousand deep
        # (a body of a few kilobytes) exhausts the stack, which is no body of ours.
        raise ApiError("invalid", "the body nests too deeply to be a request") from None


def create_fields(body: Mapping[str, object]) -> dict[str, Any]:
    """`create`'s keyword arguments from a JSON object (`FIELDS`, or an `ALIASES` spelling);
    an unknown or repeated field is refused. Read numbers with `parse_float=Decimal`."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = ALIASES.get(key, key)
        if name not in FIELDS:
            raise ApiError("invalid", f"unknown field {key!r}; the fields are "
                           f"{', '.join(FIELDS)}")
        if name in out:
            raise ApiError("invalid", f"{name} is given twice")
        problem = length_problem(name, value)
        if problem is not None:
            raise ApiError("invalid", problem)
        out[name] = value
    for name in ("customer", "type", "amount", "reason"):
        if out.get(name) in (None, ""):
            raise ApiError("invalid", f"{name} is required")
    for flag in FLAGS:
        if flag in out and not isinstance(out[flag], bool):
            raise ApiError("invalid", f"{flag} must be true or false")
    return out
