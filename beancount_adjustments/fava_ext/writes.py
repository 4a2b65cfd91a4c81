"""The endpoints that write, or judge a write as a dry run: `decide`, `create` and
`preview`. Each reads and checks the HTTP body here; the extension does the
write itself (under its lock, then its reload) through the callable it passes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from flask import Request, Response

from beancount_adjustments import api, writer
from beancount_adjustments.api import bodies
from beancount_adjustments.beans.metadata import length_problem
from beancount_adjustments.core.days import iso_day
from beancount_adjustments.core.models import Action
from beancount_adjustments.fava_ext.identity import Identity
from beancount_adjustments.fava_ext.responses import json_response, refusal

MAX_DECISIONS = 5000

FileRequest = Callable[[Mapping[str, Any], str], api.Adjustment]
"""`api.create` of these fields as this user, written (and reloaded) or a dry run."""


def decide(request: Request, read_only: str, identity: Callable[[], Identity],
           write: Callable[[list[writer.Decision]], writer.WriteResult]) -> Response:
    """Approve, reject, apply or cancel one or many adjustments in one write.

    Each decision carries the digest of the request as the page showed it, and
    the step it awaited (`lifecycle.step_shown`); the writer refuses (409, code
    "changed") an item whose request now holds something else, whatever file it
    is in, or that moved on to another step (an Approve on a credit since
    cancelled would approve its reversal). Writes by others to other items
    never make a page stale. A body deciding one adjustment twice is the
    writer's to refuse whole (`writer.batch`), as for every tool.
    """
    if read_only:
        return refusal(403, "forbidden", read_only)
    if not request.is_json:
        return refusal(415, "invalid", "send the decisions as application/json")
    try:
        body = bodies.read_json(request.get_data(as_text=True))
    except api.ApiError as exc:
        return refusal(400, exc.code, exc.message)
    if not isinstance(body, dict):
        return refusal(400, "invalid", "the body must be a JSON object")
    acting = identity()
    if acting.user is None:
        return refusal(403, "forbidden", "no acting user: nothing is written without an "
                       "identity (read-only)" + (f"; {acting.note}" if acting.note else ""))
    decisions, error = parse_decisions(body.get("decisions"), acting.user)
    if error:
        return refusal(400, "invalid", error)
    try:
        result = write(decisions)
    except writer.WriteRefused as refused:
        items = [refusal_json(r) for r in refused.refusals]
        changed = any(r.code == "changed" for r in refused.refusals)
        return refusal(409 if changed else 422, "changed" if changed else "refused",
                       "; ".join(r.message for r in refused.refusals), stale=changed,
                       written=0, ids=[], refused=items)
    refusals = [refusal_json(r) for r in result.refused]
    changed = any(r.code == "changed" for r in result.refused)
    if not result.written:
        return refusal(409 if changed else 422, "changed" if changed else "refused",
                       "; ".join(r.message for r in result.refused) or "nothing was written",
                       written=0, ids=[], refused=refusals, stale=changed,
                       sha256=result.sha256, by=acting.user)
    return json_response(200, ok=True, written=result.written, ids=list(result.ids),
                         refused=refusals, stale=changed, sha256=result.sha256,
                         by=acting.user)


def create(request: Request, read_only: str, identity: Callable[[], Identity],
           file: FileRequest) -> Response:
    """File one request from a JSON body (`api.create_fields`), as `api.create`.

    Identity and refusals as `decide`; `external_id` makes a retry safe: 201
    with the new adjustment, 200 with the one already filed under that id.
    """
    if read_only:
        return refusal(403, "forbidden", read_only)
    if not request.is_json:
        return refusal(415, "invalid", "send the request as application/json")
    try:
        body = bodies.read_json(request.get_data(as_text=True))
    except api.ApiError as exc:
        return refusal(exc.status, exc.code, exc.message)
    if not isinstance(body, dict):
        return refusal(400, "invalid", "the body must be a JSON object")
    acting = identity()
    if acting.user is None:
        return refusal(403, "forbidden", "no acting user: nothing is written without an "
                       "identity" + (f"; {acting.note}" if acting.note else ""))
    try:
        adj = file(body, acting.user)
    except api.ApiError as exc:
        return refusal(exc.status, exc.code, exc.message)
    return json_response(200 if adj.existing else 201, **adj.as_json(), existing=adj.existing)


def preview(request: Request, identity: Callable[[], Identity],
            dry_run: FileRequest) -> Response:
    """What `create` with these fields (as query arguments) would file, and what it
    would then need, written nowhere: the writer judges it exactly as it will
    on submit."""
    acting = identity()
    if acting.user is None:
        return refusal(403, "forbidden", "no acting user: the preview judges the request "
                       "as filed by you" + (f"; {acting.note}" if acting.note else ""))
    body: dict[str, object] = {}
    for key, value in request.args.items():
        if key == "time":  # Fava's filter, carried on every link
            continue
        if bodies.ALIASES.get(key, key) in bodies.FLAGS:
            flag = value.strip().lower()
            if flag not in ("", "0", "1", "true", "false", "on", "off"):
                name = bodies.ALIASES.get(key, key)
                return refusal(400, "invalid", f"{name} must be true or false")
            body[key] = flag in ("1", "true", "on")
        elif value.strip():
            body[key] = value
    try:
        adj = dry_run(body, acting.user)
    except api.ApiError as exc:
        return refusal(exc.status, exc.code, exc.message)
    shown = {**adj.as_json(), "chain": [{"level": level, "role": role}
                                        for level, role in enumerate(adj.chain, start=1)]}
    return json_response(200, **shown, existing=adj.existing, automatic=not adj.chain,
                         applies="by a separate apply" if adj.separate_apply else "on approval")


def parse_decisions(raw: object, user: str) -> tuple[list[writer.Decision], str]:
    """The body's decisions as the writer takes them, or none and what is wrong."""
    if not isinstance(raw, list) or not raw:
        return [], "decisions must be a non-empty list"
    if len(raw) > MAX_DECISIONS:
        return [], f"at most {MAX_DECISIONS} decisions at once"
    out: list[writer.Decision] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            return [], f"decision {i + 1} is not an object"
        adj_id, action, digest = item.get("id"), item.get("action"), item.get("digest")
        if not isinstance(adj_id, str) or not adj_id.strip():
            return [], f"decision {i + 1} has no id"
        if action not in {a.value for a in Action}:
            return [], f"decision {i + 1}: action must be one of approve, reject, " \
                       "apply, cancel"
        if not isinstance(digest, str) or not digest.strip():
            return [], (f"decision {i + 1}: digest (of the request as the page showed "
                        "it) is required")
        step = item.get("step")
        if step is not None and not isinstance(step, str):
            return [], f"decision {i + 1}: step must be text"
        texts: dict[str, str | None] = {}
        for key in ("reason", "comment", "customer_reason"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                return [], f"decision {i + 1}: {key} must be text"
            problem = length_problem(key, value)
            if problem is not None:
                return [], f"decision {i + 1}: {problem}"
            texts[key] = value.strip() if isinstance(value, str) else None
        effective: datetime.date | None = None
        if item.get("effective"):
            effective = iso_day(str(item["effective"]))
            if effective is None:
                return [], f"decision {i + 1}: effective must be a date (YYYY-MM-DD)"
        out.append(writer.Decision(adjustment_id=adj_id.strip(), action=Action(action),
                                   by=user, reason=texts["reason"] or None,
                                   comment=texts["comment"] or None,
                                   customer_reason=texts["customer_reason"] or None,
                                   effective=effective, seen_digest=digest.strip(),
                                   seen_step=step.strip() if step else None))
    return out, ""


def refusal_json(refusal: writer.Refusal) -> dict[str, Any]:
    return {"id": refusal.key, "message": refusal.message, "code": refusal.code,
            "rule": refusal.rule or None, "status": 409 if refusal.code == "changed" else 422}
