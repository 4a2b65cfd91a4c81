"""The fields of a JSON body (Fava's `POST create`) as `create`'s keyword
arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beancount_adjustments.api.results import ApiError

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
        out[name] = value
    for name in ("customer", "type", "amount", "reason"):
        if out.get(name) in (None, ""):
            raise ApiError("invalid", f"{name} is required")
    for flag in FLAGS:
        if flag in out and not isinstance(out[flag], bool):
            raise ApiError("invalid", f"{flag} must be true or false")
    return out
