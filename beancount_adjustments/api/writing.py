"""Filing and deciding through the one writer: `create` (with `dry_run` and
`external_id` retries) and `approve`, `reject`, `apply`, `cancel`."""

from __future__ import annotations

import builtins
import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount.core import data

from beancount_adjustments import writer
from beancount_adjustments.api.arguments import (
    date_of,
    full_type,
    ledger_currency,
    money_of,
    text_of,
)
from beancount_adjustments.api.results import Adjustment, ApiError
from beancount_adjustments.beans.loading import Snapshot
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import CustomerError, customer_id
from beancount_adjustments.core.facts import filed_requests
from beancount_adjustments.core.models import Action, Money, Request
from beancount_adjustments.intake import postings
from beancount_adjustments.writer import retries


class _Found(Exception):
    """Raised from inside the writer's load: the request is already filed."""

    def __init__(self, adjustment: Adjustment) -> None:
        super().__init__(adjustment.id)
        self.adjustment = adjustment


def _refused(exc: writer.WriteRefused) -> ApiError:
    changed = any(r.code == "changed" for r in exc.refusals)
    return ApiError("changed" if changed else "refused", "; ".join(str(r) for r in exc.refusals))


def create(ledger: str | Path, *, customer: str, type: str,
           amount: str | Decimal | int | float | Money, reason: str,
           category: str | None = None, invoice: str | None = None, order: str | None = None,
           ticket: str | None = None, document: str | None = None,
           effective: datetime.date | str | None = None, approval_required: bool = False,
           notes: str | None = None, external_id: str | None = None, as_user: str,
           currency: str | None = None, offset_account: str | None = None,
           receivable_account: str | None = None, id: str | None = None,
           narration: str | None = None, date: datetime.date | str | None = None,
           decimal_comma: bool = False, target: str | Path | None = None,
           loaded: Snapshot | None = None, dry_run: bool = False, on_statement: bool = True,
           aging_from: datetime.date | str | None = None) -> Adjustment:
    """File one adjustment request, as `bean-adjust create` does (see the module's rules).

    `loaded`: a load of the ledger the caller already holds (Fava's), judged
    against instead of parsing while its files are unchanged (`writer`).
    `dry_run`: judge it exactly as filing would and write nothing; the result is
    what filing now would give (its id is the one it would get, not reserved).
    `on_statement=False` and `aging_from` say what the customer's statement shows
    (`on-statement: FALSE`, `aging-from:`)."""
    user = text_of("as_user", as_user, required=True) or ""
    who = text_of("customer", customer, required=True) or ""
    why = text_of("reason", reason, required=True) or ""
    given_type = text_of("type", type, required=True) or ""
    texts = {name: text_of(name, value) for name, value in (
        ("category", category), ("invoice", invoice), ("order", order), ("ticket", ticket),
        ("document", document), ("notes", notes), ("external_id", external_id),
        ("currency", currency), ("offset_account", offset_account),
        ("receivable_account", receivable_account), ("id", id), ("narration", narration))}
    for flag, value in (("approval_required", approval_required),
                        ("on_statement", on_statement)):
        if not isinstance(value, bool):
            raise ApiError("invalid", f"{flag} must be true or false")
    on = date_of("effective", effective)
    ages = date_of("aging_from", aging_from)
    day = date_of("date", date)
    money = money_of(amount, texts["currency"], decimal_comma=decimal_comma)
    ext = texts["external_id"]
    chosen: dict[str, Any] = {}

    def request(entries: builtins.list[data.Directive], book: Book) -> builtins.list[
            writer.NewRequest]:
        filed = _filed_under(book, ext, user) if ext else None
        if texts["id"] and texts["id"] in book.adjustments and filed is None:
            raise ApiError("conflict", f"the id {texts['id']} is already taken")
        try:
            # A name picks its customer; a customer named nowhere is the writer's refusal.
            customer_given = customer_id(book.directory, who) or who
        except CustomerError as exc:
            raise ApiError("invalid", str(exc)) from None
        full, cat = full_type(given_type, texts["category"], book,
                               day or datetime.date.today())
        priced = money if money.currency else money_of(money.number, ledger_currency(book))
        try:
            legs = postings.request_postings(
                entries, book, adj_type=full, customer=customer_given, money=priced,
                offset_account=texts["offset_account"],
                receivable_account=texts["receivable_account"])
        except postings.PostingError as exc:
            raise ApiError("invalid", f"{exc.what}: {exc.message}") from None
        chosen["type"] = full
        meta = writer.request_meta(
            invoice=texts["invoice"], order=texts["order"], ticket=texts["ticket"],
            document=texts["document"], effective=on, approval_required=approval_required,
            notes=texts["notes"], external_id=ext, on_statement=on_statement,
            aging_from=ages)
        new = writer.NewRequest(
            type=full, customer=customer_given, requested_by=user, reason=why, postings=legs,
            category=cat, id=texts["id"], narration=texts["narration"], date=day, meta=meta,
            entered_by=user)
        if filed is not None:
            raise _Found(_retried(book, filed, new))
        return [new]

    try:
        result = writer.write_requests(Path(ledger), request,
                                       target=Path(target) if target else None, loaded=loaded,
                                       dry_run=dry_run)
    except _Found as found:
        return found.adjustment
    except writer.WriteRefused as exc:
        raise _refused(exc) from None
    adj = result.book.get(result.ids[0]) if result.book is not None and result.ids else None
    if adj is None:  # the writer judged and wrote it: its book holds it
        raise ApiError("refused", "the request was not written")
    return Adjustment.of(adj, book=result.book)


def _filed_under(book: Book, ext: str, user: str) -> Request | None:
    """The request already filed under `ext` (None: none), if `user` filed it: a retry is
    its filer's, so another user's call is not handed someone else's request (reason,
    notes) as if it were theirs. The request is the one `facts.filed_requests` names,
    as for the writer and the import."""
    filed = filed_requests(book.facts.requests).get(ext)
    if filed is None:
        return None
    if user not in (filed.requested_by, filed.entered_by):
        raise ApiError("conflict", f"external_id {ext!r} is already used by a request "
                       "another user filed; use your own external_id")
    adj = book.get(filed.id)
    if adj is None or adj.request is not filed:
        # Its id is another request's (`duplicate-id`): what the book holds under
        # that id is not what was filed under `ext`, and is not handed back for it.
        raise ApiError("conflict", f"external_id {ext!r} is already used by the request "
                       f"at {filed.source.filename}:{filed.source.lineno}, whose id "
                       f"{filed.id} is another request's; use another external_id")
    return filed


def _retried(book: Book, filed: Request, new: writer.NewRequest) -> Adjustment:
    """The adjustment a retry of `filed` returns, when the retry asks for the same
    (`writer.retries`). Another request under a used external_id is a conflict:
    answered with the first one, its caller would take another customer's (or
    amount's, or booking date's) adjustment for the one it asked for."""
    adj = book.get(filed.id)
    assert adj is not None  # `_filed_under` found it in the book, as itself
    found = retries.differences(filed, new)
    if found:
        raise ApiError("conflict", retries.conflict_message(book, filed, found))
    return Adjustment.of(adj, existing=True, book=book)


def _decide(ledger: str | Path, adjustment_id: str, action: Action, *, as_user: str,
            reason: str | None, comment: str | None, effective: datetime.date | str | None,
            seen_digest: str | None, seen_step: str | None, date: datetime.date | str | None,
            target: str | Path | None, customer_reason: str | None = None) -> Adjustment:
    user = text_of("as_user", as_user, required=True) or ""
    adj_id = text_of("id", adjustment_id, required=True) or ""
    why = text_of("reason", reason, required=action in (Action.REJECT, Action.CANCEL))
    note = text_of("comment", comment)
    told = text_of("customer_reason", customer_reason)
    digest = text_of("seen_digest", seen_digest)
    step = text_of("seen_step", seen_step)
    on, day = date_of("effective", effective), date_of("date", date)

    def decision(entries: builtins.list[data.Directive], book: Book) -> builtins.list[
            writer.Decision]:
        if book.get(adj_id) is None:
            raise ApiError("not-found", f"no adjustment {adj_id!r}")
        return [writer.Decision(adjustment_id=adj_id, action=action, by=user, reason=why,
                                comment=note, effective=on, date=day, seen_digest=digest,
                                seen_step=step, customer_reason=told)]

    try:
        result = writer.write_decisions(Path(ledger), decision,
                                        target=Path(target) if target else None)
    except writer.WriteRefused as exc:
        raise _refused(exc) from None
    adj = result.book.get(adj_id) if result.book is not None else None
    if adj is None:
        raise ApiError("not-found", f"no adjustment {adj_id!r}")
    return Adjustment.of(adj, book=result.book)


def approve(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str | None = None,
            comment: str | None = None, seen_digest: str | None = None,
            seen_step: str | None = None, date: datetime.date | str | None = None,
            target: str | Path | None = None) -> Adjustment:
    """Approve the next level (of the request, or of its reversal while `reversing`)."""
    return _decide(ledger, adjustment_id, Action.APPROVE, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest,
                   seen_step=seen_step, date=date, target=target)


def reject(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str,
           comment: str | None = None, seen_digest: str | None = None,
           seen_step: str | None = None, date: datetime.date | str | None = None,
           target: str | Path | None = None, customer_reason: str | None = None) -> Adjustment:
    """Reject a pending request (or a pending reversal); `reason` is required (staff
    only); `customer_reason` is what the customer is told (`customer-reason:`)."""
    return _decide(ledger, adjustment_id, Action.REJECT, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest,
                   seen_step=seen_step, date=date, target=target,
                   customer_reason=customer_reason)


def apply(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str | None = None,
          comment: str | None = None, effective: datetime.date | str | None = None,
          seen_digest: str | None = None, seen_step: str | None = None,
          date: datetime.date | str | None = None,
          target: str | Path | None = None) -> Adjustment:
    """Apply an approved adjustment whose type's policy makes applying a separate step."""
    return _decide(ledger, adjustment_id, Action.APPLY, as_user=as_user, reason=reason,
                   comment=comment, effective=effective, seen_digest=seen_digest,
                   seen_step=seen_step, date=date, target=target)


def cancel(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str,
           comment: str | None = None, seen_digest: str | None = None,
           seen_step: str | None = None, date: datetime.date | str | None = None,
           target: str | Path | None = None, customer_reason: str | None = None) -> Adjustment:
    """Withdraw a request, or ask for the reversal of an applied one; `reason` is required
    (staff only); `customer_reason` is what the customer is told (`customer-reason:`)."""
    return _decide(ledger, adjustment_id, Action.CANCEL, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest,
                   seen_step=seen_step, date=date, target=target,
                   customer_reason=customer_reason)


