"""Export adjustments and their events for other systems (schema version 1).

`adjustment_records` and `event_records` are the rows (`ADJUSTMENT_FIELDS`,
`EVENT_FIELDS`), `export` writes them as JSON lines or CSV. The schema is stable:
fields keep their names and meaning, new ones are added at the end only. What
each field holds is docs/export.md (a test keeps the two in step).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from beancount_adjustments.core.accounts import receivable_totals
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Event, Money, Request
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.reports.csv_cells import csv_text
from beancount_adjustments.reports.evidence import (
    automatic_steps,
    in_replay_order,
    reversal_events,
)

ADJUSTMENT_FIELDS = (
    "record", "id", "date", "type", "kind", "category", "customer", "requested_by", "reason",
    "amount", "currency", "net", "state", "chain", "approvers", "decided_on", "applied_on",
    "effective_date", "reversed_on", "invoice", "order", "ticket", "document", "external_id",
    "digest", "problems", "source", "approval_required", "notes", "cancelled_by",
    "reversal_chain", "reversal_approvers", "entered_by")
EVENT_FIELDS = (
    "record", "adjustment_id", "date", "action", "by", "reason", "comment", "at", "digest",
    "effective", "signed", "accepted", "stale", "note", "source", "reversal", "judged",
    "chain", "limit_judged")
RECORDS = ("all", "adjustments", "events")


def _json_value(value: object) -> str:
    """Dates as ISO text and amounts as decimal strings (never floats)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not part of the export schema")


def _money_text(money: Money | None) -> str | None:
    """An amount as the ledger writes it (`1080.00 USD`), its number as written."""
    return None if money is None else f"{format(money.number, 'f')} {money.currency}"


def adjustment_records(book: Book) -> list[dict[str, Any]]:
    out = []
    adjustments = sorted(book.adjustments.values(),
                         key=lambda a: (a.request.date, a.request.source.filename,
                                        a.request.source.lineno))
    for adj in adjustments:
        r = adj.request
        currency = adj.amount.currency if adj.amount is not None else None
        net = receivable_totals(r.postings, book.settings.receivable).get(currency or "")
        record = {
            "record": "adjustment", "id": r.id, "date": r.date, "type": r.type,
            "kind": str(r.kind), "category": r.category, "customer": r.customer,
            "requested_by": r.requested_by, "reason": r.reason,
            "amount": adj.amount.number if adj.amount is not None else None,
            "currency": currency, "net": net if adj.amount is not None else None,
            "state": str(adj.state), "chain": ";".join(adj.chain),
            "approvers": ";".join(adj.approvers), "decided_on": adj.decided_on,
            "applied_on": adj.applied_on, "effective_date": adj.effective_date,
            "reversed_on": adj.reversed_on, "invoice": r.invoice, "order": r.order,
            "ticket": r.ticket, "document": r.document, "external_id": r.external_id,
            "digest": adj.digest, "problems": ";".join(p.code for p in adj.problems),
            "source": f"{r.source.filename}:{r.source.lineno}"}
        record["approval_required"] = r.approval_required
        record["notes"] = r.notes
        # A reversal moves money too: who asked for it and who approved it.
        record["cancelled_by"] = adj.cancelled_by
        record["reversal_chain"] = ";".join(adj.reversal_chain)
        record["reversal_approvers"] = ";".join(a.by for a in adj.reversal_approvals)
        # Who wrote it, when not the requester (a bulk import or a schedule on
        # their behalf): a requester too.
        record["entered_by"] = r.entrant
        out.append({k: record[k] for k in ADJUSTMENT_FIELDS})
    return out


def event_records(book: Book) -> list[dict[str, Any]]:
    """Every event of every adjustment, in replay order (`evidence.in_replay_order`);
    each of the policy's own steps (`evidence.automatic_steps`: approved or reversed
    automatically) follows the request or cancel it followed, with no `by` and the
    policy as `reason`, as the audit report tells it."""
    records: dict[int, dict[str, Any]] = {}
    steps: dict[int, dict[str, Any]] = {}
    items: list[Request | Event] = []
    for adj in book.adjustments.values():
        reversals = reversal_events(adj)
        for rec in adj.history:
            e = rec.event
            record = {
                "record": "event", "adjustment_id": e.adjustment_id, "date": e.date,
                "action": str(e.action), "by": e.by, "reason": e.reason,
                "comment": e.comment, "at": e.at, "digest": e.digest, "effective": e.effective,
                "signed": bool(getattr(e, "signature", None)), "accepted": rec.accepted,
                "stale": rec.stale, "note": rec.note,
                "source": f"{e.source.filename}:{e.source.lineno}",
                # What the decider was shown, as written: what makes it stale.
                "reversal": e.source in reversals, "judged": _money_text(e.judged),
                "chain": chain_text(e.chain) if e.chain is not None else None,
                "limit_judged": _money_text(e.limit_judged)}
            items.append(e)
            records[id(e)] = {k: record[k] for k in EVENT_FIELDS}
        for step in automatic_steps(book, adj):
            if isinstance(step.follows, Request):
                items.append(step.follows)
            steps[id(step.follows)] = {
                "record": "event", "adjustment_id": step.adjustment_id, "date": step.date,
                "action": step.action, "by": "", "reason": step.why, "comment": None,
                "at": None, "digest": None, "effective": step.effective, "signed": False,
                "accepted": True, "stale": False, "note": "", "source": step.where,
                "reversal": step.action == "reversed automatically", "judged": None,
                "chain": None, "limit_judged": None}
    out: list[dict[str, Any]] = []
    for item in in_replay_order(book, items):
        if id(item) in records:
            out.append(records[id(item)])
        if id(item) in steps:
            out.append(steps[id(item)])
    return out


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False, default=_json_value) + "\n"
                   for r in records)


def to_csv(records: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> str:
    return csv_text(fields, ([record.get(field) for field in fields] for record in records),
                    yes="true", no="false")


def export(book: Book, fmt: str, records: str = "all") -> str:
    """The export text (`fmt` is csv or jsonl; `records` one of `RECORDS`)."""
    if records not in RECORDS:
        raise ValueError(f"records must be one of {', '.join(RECORDS)}")
    if fmt == "jsonl":
        out: list[dict[str, Any]] = []
        if records in ("all", "adjustments"):
            out += adjustment_records(book)
        if records in ("all", "events"):
            out += event_records(book)
        return to_jsonl(out)
    if fmt == "csv":
        if records == "events":
            return to_csv(event_records(book), EVENT_FIELDS)
        if records == "all":
            raise ValueError("csv holds one kind of record per file: pass --records "
                             "adjustments or --records events")
        return to_csv(adjustment_records(book), ADJUSTMENT_FIELDS)
    raise ValueError(f"unknown export format {fmt!r}; choose csv or jsonl")
