"""The read-only JSON endpoints: adjustments by `bean-adjust list`'s filters, the
queue as the page filters it, and one adjustment's detail."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from beancount.core import data
from flask import Response, jsonify
from werkzeug.datastructures import MultiDict

from beancount_adjustments import api
from beancount_adjustments.core.book import Book
from beancount_adjustments.fava_ext.detail import Requirement, detail_view
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.queue import QueueView
from beancount_adjustments.fava_ext.queue_rows import QueueRow
from beancount_adjustments.fava_ext.responses import NO_PLUGIN, json_response, refusal

FILTERS = {"state", "type", "category", "customer", "requester", "older_than", "awaiting",
           "below", "time"}


def adjustments(book: Book | None, entries: Sequence[data.Directive],
                args: MultiDict[str, str], today: datetime.date) -> Response:
    """The adjustments matching `bean-adjust list`'s filters, as a JSON list:
    `state` (repeatable), `type`, `category`, `customer`, `requester`,
    `older_than`, `awaiting`, `below` (`50 USD`)."""
    unknown = sorted(set(args) - FILTERS)
    if unknown:
        return refusal(400, "invalid", f"unknown filter(s) "
                       f"{', '.join(unknown)}; the filters are "
                       f"{', '.join(sorted(FILTERS - {'time'}))}")
    older = args.get("older_than")
    # ASCII digits only: `str.isdigit` also takes "²", which `int` then refuses.
    if older is not None and not (older.isascii() and older.isdigit()):
        return refusal(400, "invalid", "older_than is a number of days")
    if book is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    try:
        filters = api.filters_of(
            state=args.getlist("state") or None, type=args.get("type"),
            category=args.get("category"), customer=args.get("customer"),
            requester=args.get("requester"),
            older_than=int(older) if older is not None else None,
            awaiting=args.get("awaiting"), below=args.get("below"))
    except api.ApiError as exc:
        return refusal(exc.status, exc.code, exc.message)
    return jsonify([a.as_json() for a in api.find(entries, book, filters, today)])


def queue(view: QueueView | None) -> Response:
    if view is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    return json_response(
        200, ok=True, total_open=view.total_open, matched=view.matched,
        overdue=view.overdue, mine=view.mine, page=view.page, pages=view.pages,
        rows=[row_json(r) for r in view.rows],
        sections=[{"key": s.key, "title": s.section.title,
                   "action": str(s.section.action), "matched": s.matched,
                   "mine": s.mine, "pages": s.pages, "page": s.page,
                   "ids": [r.id for r in s.rows]} for s in view.sections])


def adjustment(index: BookIndex | None, adj_id: str, *, today: datetime.date,
               written: datetime.date, user: str | None, ticket_url: str | None) -> Response:
    if index is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    detail = detail_view(index, adj_id, today=today, written=written, user=user,
                         ticket_url=ticket_url)
    if detail is None:
        return refusal(404, "not-found", f"no adjustment {adj_id!r}")
    return json_response(
        200, ok=True, adjustment=row_json(detail.row),
        still_requires=detail.still_requires, policy=detail.policy,
        requirements=[_requirement_json(r) for r in detail.requirements],
        reversal_requirements=[_requirement_json(r) for r in detail.reversal_requirements],
        timeline=[{"date": t.date.isoformat(), "at": t.at, "what": t.what,
                   "by": t.by, "outcome": t.outcome, "reason": t.reason,
                   "comment": t.comment, "note": t.note, "digest": t.digest}
                  for t in detail.timeline],
        problems=[p.message for p in detail.problems],
        notes=detail.notes, approval_required=detail.approval_required)


def _requirement_json(r: Requirement) -> dict[str, Any]:
    return {"level": r.level, "role": r.role, "status": r.status, "by": r.by,
            "eligible": list(r.eligible)}


def row_json(row: QueueRow) -> dict[str, Any]:
    return {
        "id": row.id, "digest": row.digest, "step": row.step, "date": row.date.isoformat(),
        "age_days": row.age_days,
        "amount": str(row.number), "currency": row.currency, "type": row.type,
        "category": row.category, "customer": row.customer, "tier": row.tier,
        "requested_by": row.requested_by,
        "entered_by": row.entered_by,
        "state": row.state, "level": row.level,
        "needed": row.needed, "next_role": row.next_role, "reversal": row.reversal,
        "section": row.section,
        "risk": list(row.risk),
        "sla_days": row.sla_days, "overdue": row.overdue, "mine": row.mine,
        "eligible": list(row.eligible),
        "actions": [{"action": a.action, "label": a.label, "allowed": a.allowed,
                     "why_not": a.why_not, "rule": a.rule or None} for a in row.actions],
    }
