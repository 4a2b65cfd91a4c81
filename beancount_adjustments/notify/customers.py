"""Customer notices: what a customer hears about their own adjustments.

Opted into per type by `custom "adjustment-customer-notice"` lines (README, "Customer
notices"), which also hold the templates. The notices join the staff ones in
`notify.plan`/`notify.run`, keyed `<id>:customer-<kind>:customer:<customer>`.

Only customer-facing text reaches a customer: the template, the figures of the
adjustment and `customer-reason:` (of the deciding event, else of the request).
The internal `reason:`, `notes:` and comments are never among the placeholders, and
an adjustment kept off the statement (`on-statement: FALSE`) is never named to them.
The lines and `customer-reason:` texts are read by `beans.notify_lines`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from decimal import Decimal

from beancount_adjustments.core.accounts import receivable_totals
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.figures import figure
from beancount_adjustments.core.models import Action, Adjustment, Source, State
from beancount_adjustments.core.notice_lines import (
    COMMON,
    KINDS,
    PLACEHOLDERS,
    CustomerNotice,
    CustomerSetup,
    template_problem,
)
from beancount_adjustments.notify.notices import Notice

__all__ = ["COMMON", "DEFAULTS", "KINDS", "PLACEHOLDERS", "CustomerNotice", "CustomerSetup",
           "customer_notices", "template_problem"]

NO_REASON = "please contact us for the details"
NO_SLA = "soon"

DEFAULTS: Mapping[str, tuple[str, str]] = {
    "received": ("We received your adjustment request {id}",
                 "Dear {name},\n\nwe received your request {id} of {date} for an adjustment "
                 "of {amount} to your account. We expect to decide on it by {expected}."),
    "applied": ("Adjustment {id} applied to your account",
                "Dear {name},\n\nan adjustment of {amount} ({kind}) was applied to your "
                "account, effective {applied}."),
    "rejected": ("Adjustment request {id} not accepted",
                 "Dear {name},\n\nyour request {id} for an adjustment of {amount} to your "
                 "account was not accepted on {decided}: {reason}."),
    "reversed": ("Adjustment {id} reversed",
                 "Dear {name},\n\nthe adjustment of {amount} applied to your account on "
                 "{applied} was reversed on {reversed}: {reason}."),
    "withdrawn": ("Adjustment request {id} withdrawn",
                  "Dear {name},\n\nyour request {id} of {date} for an adjustment of "
                  "{amount} to your account was withdrawn on {withdrawn}: {reason}."),
}
DEFAULT_RECEIVED_NO_SLA = ("Dear {name},\n\nwe received your request {id} of {date} for an "
                           "adjustment of {amount} to your account. We will let you know "
                           "what we decide.")


def _events(adj: Adjustment) -> Iterator[tuple[str, datetime.date, Source | None]]:
    """(kind, date, source of the deciding event) of each customer-facing moment."""
    request = adj.request
    if adj.chain or adj.separate_apply:
        # A request applied on arrival was never waited on: "received" would be news
        # of nothing.
        yield "received", request.date, None
    if adj.applied_on is not None:
        yield "applied", adj.applied_on, None
    accepted = [r.event for r in adj.history if r.accepted]
    if adj.state is State.REJECTED:
        rejects = [e for e in accepted if e.action is Action.REJECT]
        if rejects:
            yield "rejected", rejects[-1].date, rejects[-1].source
    if adj.state is State.REVERSED and adj.reversed_on is not None:
        cancels = [e for e in accepted if e.action is Action.CANCEL]
        yield "reversed", adj.reversed_on, cancels[-1].source if cancels else None
    if adj.state is State.WITHDRAWN and (adj.chain or adj.separate_apply):
        # Only a request the customer could have been told was received: one
        # applied on arrival is reversed, never withdrawn.
        cancels = [e for e in accepted if e.action is Action.CANCEL]
        if cancels:
            yield "withdrawn", cancels[-1].date, cancels[-1].source


def subject_line(text: str) -> str:
    """A subject as one line of the very text it shows: a line break (from a `name:`,
    a `customer-reason:`, the template) made a space, so the dry run prints what the
    mail carries; and `=?` broken by a zero-width space, since a mail client decodes an
    RFC 2047 encoded word (`=?utf-8?b?...?=`) written there into words the ledger never
    shows ("Your account is closed")."""
    return " ".join(text.splitlines()).replace("=?", "=\u200b?")


def _sends(line: CustomerNotice | None) -> bool:
    return line is not None and line.enabled and line.problem is None


def customer_notices(book: Book, today: datetime.date, setup: CustomerSetup) -> list[Notice]:
    """Every customer notice the opted-in types call for, in a stable order."""
    out: list[Notice] = []
    if not setup.notices:
        return out
    reasons = setup.reasons or {}
    for adj in book.adjustments.values():
        if adj.state is State.INVALID or adj.amount is None:
            continue
        if not adj.request.on_statement:
            # Its detail is kept off the customer's statement (one "Account adjustment"
            # line): a notice naming it, its id and kind, would tell what that withholds.
            continue
        request = adj.request
        recipient = f"customer:{request.customer}"
        record = book.directory.customer_on(request.customer, today)
        sla = adj.sla_days
        # What the customer's account moves (as their statement shows it), not what the
        # request moves in all (what was judged): legs that cancel on the receivable, or
        # move other accounts, are no credit to the customer.
        moved = sum(receivable_totals(request.postings, book.settings.receivable).values(),
                    Decimal(0))
        amount = f"{figure(abs(moved))} {adj.amount.currency}"  # every digit booked
        for kind, date, decided_by in _events(adj):
            line = setup.chosen(request.type, kind, date)
            if line is None or not _sends(line):
                continue
            if kind == "withdrawn" and not _sends(setup.chosen(request.type, "received",
                                                                request.date)):
                continue  # never told it was received: nothing to take back
            reason = (reasons.get(decided_by) if decided_by else None) or reasons.get(
                request.source) or NO_REASON
            values = {
                "id": adj.id, "amount": amount, "type": request.type,
                "kind": request.kind.value, "customer": request.customer,
                "name": record.name if record and record.name else request.customer,
                "date": request.date.isoformat(), "reason": reason,
                "invoice": request.invoice or "", "order": request.order or "",
                "expected": (request.date + datetime.timedelta(days=sla)).isoformat()
                if sla else NO_SLA,
                "applied": (adj.effective_date or adj.applied_on or date).isoformat(),
                "decided": date.isoformat(), "reversed": date.isoformat(),
                "withdrawn": date.isoformat()}
            title, body = DEFAULTS[kind]
            if kind == "received" and not sla:
                body = DEFAULT_RECEIVED_NO_SLA
            out.append(Notice(
                key=f"{adj.id}:customer-{kind}:{recipient}", kind=f"customer-{kind}",
                recipient=recipient, adjustment_id=adj.id, date=date,
                subject=subject_line((line.title or title).format_map(values)),
                body=(line.body or body).format_map(values)))
    out.sort(key=lambda n: (n.date, n.adjustment_id, n.key))
    return out
