"""The staff notices the book calls for: each one a stable key, so a notice is sent once.

`notices(book, today, written=...)` derives them all from the replayed book (no state,
no I/O; `written` is the day an approval written now counts as written on, as the
writer judges it);
customer notices and alerts (`customers`, `alerts`) are further `Notice`s. The kinds,
recipients and keys are listed in docs/notify.md.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Action, Adjustment, State
from beancount_adjustments.core.permissions import own_duty, signatures_required
from beancount_adjustments.reports.queries import (
    age_days,
    eligible_approvers,
    is_overdue,
    waiting_since,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One message to one recipient about one adjustment."""

    key: str
    kind: str
    recipient: str
    adjustment_id: str
    date: datetime.date
    subject: str
    body: str

    @property
    def id(self) -> str:
        """The notice's stable id (see `notice_id`)."""
        return notice_id(self.key)


def notice_id(key: str) -> str:
    """A stable id for the notice with this key: the same notice always gets the same id.

    The key names what the notice is about (adjustment id, kind with its level or
    date, recipient), so the id is the same on every run, on a resend after a crash
    and through each of the recipient's channels; receivers drop repeats by it.
    """
    return "n-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _describe(adj: Adjustment) -> str:
    request = adj.request
    amount = f" {adj.amount}" if adj.amount else ""
    return f"{request.type}{amount} for {request.customer}"


def _details(adj: Adjustment) -> str:
    request = adj.request
    lines = [f"Adjustment {adj.id}: {_describe(adj)}",
             f"Requested by {request.requested_by} on {request.date}: {request.reason}"]
    if request.category:
        lines.append(f"Category: {request.category}")
    if adj.risk_flags:
        lines.append(f"Risk flags: {', '.join(adj.risk_flags)}")
    return "\n".join(lines)


def ladder(book: Book, role: str, date: datetime.date) -> tuple[str, ...]:
    """The longest approval chain in force holding `role` (the roles above it follow it)."""
    chains = [row.roles for row in book.matrix.rows_on(date) if role in row.roles]
    return max(chains, key=len, default=(role,))


def _accepted(adj: Adjustment, action: Action) -> list[Any]:
    return [r.event for r in adj.history if r.accepted and r.event.action is action]


def day_tag(day: datetime.date, earlier: list[datetime.date]) -> str:
    """`day` as a key's part, for a moment that can recur (a reversal asked, refused):
    the first on a day is the day, a later one on the same day adds its rank (`.2`),
    so it is a new notice and the first keeps the key it was sent under."""
    rank = earlier.count(day) + 1
    return day.isoformat() + (f".{rank}" if rank > 1 else "")


def notices(book: Book, today: datetime.date, *,
            written: datetime.date | None = None) -> list[Notice]:
    """Every notice the book calls for on `today`, in a stable order. `written`: the
    day an approval written now counts as written on (`writer.written_today`, what
    `bean-adjust notify` passes): who is told to approve, and whether to sign, is
    what the writer will judge then (None: `today` alone)."""
    out: list[Notice] = []
    for adj in book.adjustments.values():
        if adj.state is State.INVALID:
            continue
        out.extend(_for_adjustment(book, adj, today, written))
    out.sort(key=lambda n: (n.date, n.adjustment_id, n.key))
    return out


def escalations(book: Book, adj: Adjustment, role: str, today: datetime.date,
                notice: Callable[..., Notice], *, waited: str, kind: str) -> Iterator[Notice]:
    """Past its SLA (`queries.is_overdue`: the request, or its reversal, from the day
    its wait began), one notice per SLA period to the role that many steps up."""
    sla = adj.sla_days
    if not sla or not is_overdue(adj, today):
        return
    age = age_days(adj, today)
    periods = (age - 1) // sla
    steps = ladder(book, role, today)
    index = steps.index(role) if role in steps else 0
    up = steps[min(index + periods, len(steps) - 1)]
    due = waiting_since(adj) + datetime.timedelta(days=periods * sla + 1)
    body = (f"{adj.id} {waited} {age} days for a {role} (its type's SLA is {sla} days); "
            f"escalated to {up}.")
    # Not to a party of it (who filed or entered it, who asked for its reversal): the
    # rule keeps them from deciding it, so a chase would go to the one it guards
    # against (`permissions.own_duty`, as the approval notices ask `denial`).
    users = [u for u in book.directory.users_with_role(up, today)
             if own_duty(book.directory, adj, u, today) is None]
    for user in [*users, f"role:{up}"]:
        yield notice(f"{kind}-{periods}", user, due, f"overdue {age} days: {_describe(adj)}",
                     body, name="escalation")


def _for_adjustment(book: Book, adj: Adjustment, today: datetime.date,
                    written: datetime.date | None) -> Iterator[Notice]:
    request = adj.request
    rid, requester = adj.id, request.requested_by

    def notice(kind: str, recipient: str, date: datetime.date, subject: str,
               body: str, *, name: str | None = None) -> Notice:
        return Notice(key=f"{rid}:{kind}:{recipient}", kind=name or (kind.rsplit("-", 1)[0]
                      if kind[-1:].isdigit() else kind), recipient=recipient,
                      adjustment_id=rid, date=date, subject=f"[{rid}] {subject}",
                      body=f"{body}\n\n{_details(adj)}")

    total = len(adj.chain)
    applied_by_approval = adj.applied_on is not None and not _accepted(adj, Action.APPLY)
    for approval in adj.approvals:
        final = approval.level == total
        done = ""
        if final:
            done = " It is fully approved"
            done += (f" and was applied on {adj.applied_on} (effective {adj.effective_date})."
                     if applied_by_approval else ".")
        yield notice(f"approved-{approval.level}", requester, approval.date,
                     ("approved and applied" if applied_by_approval else "approved")
                     if final else f"approved at level {approval.level} of {total}",
                     f"{approval.by} approved {rid} as {approval.role} (level {approval.level} "
                     f"of {total}).{done}")

    role = adj.next_role
    # Those told are who may approve with the CLI, which signs (`--sign`) where the
    # type's policy requires it: on the day or on the day it counts as written.
    sign = (" --sign <your key>" if signatures_required(book.rules, adj, today, written)
            else "")
    if role is not None and adj.state is State.REVERSING:
        # A reversal moves money too: its approvers hear of it as of a request.
        level = len(adj.reversal_approvals) + 1
        needed = len(adj.reversal_chain)
        cancels = _accepted(adj, Action.CANCEL)
        asked = cancels[-1].date if cancels else request.date
        tag = day_tag(asked, [e.date for e in cancels[:-1]])
        since = adj.reversal_approvals[-1].date if adj.reversal_approvals else asked
        body = (f"{adj.cancelled_by or 'someone'} asked to reverse {rid}, which is applied; "
                f"the reversal awaits your approval as {role} (level {level} of {needed}).\n"
                f"Approve with: bean-adjust approve {rid} --as <you>{sign}")
        kind = f"reversal-needed-{tag}-{level}"
        for user in eligible_approvers(book, adj, today, signed=True, written=written):
            yield notice(kind, user, since, f"reversal approval needed: {_describe(adj)}", body,
                         name="reversal-needed")
        yield notice(kind, f"role:{role}", since,
                     f"reversal approval needed ({role}): {_describe(adj)}", body,
                     name="reversal-needed")
        yield from escalations(book, adj, role, today, notice, waited="its reversal has waited",
                               kind=f"escalation-reversal-{tag}")
    elif role is not None:
        level = adj.level + 1
        since = adj.approvals[-1].date if adj.approvals else request.date
        body = (f"{rid} awaits your approval as {role} (level {level} of {total}).\n"
                f"Approve with: bean-adjust approve {rid} --as <you>{sign}")
        for user in eligible_approvers(book, adj, today, signed=True, written=written):
            yield notice(f"approval-needed-{level}", user, since,
                         f"approval needed: {_describe(adj)}", body)
        yield notice(f"approval-needed-{level}", f"role:{role}", since,
                     f"approval needed ({role}): {_describe(adj)}", body)
        yield from escalations(book, adj, role, today, notice, waited="has waited",
                               kind="escalation")

    accepted = [r.event for r in adj.history if r.accepted]
    last_actor = accepted[-1].by if accepted else None
    asked_by: str | None = None  # who asked for the reversal being decided
    refusals: list[datetime.date] = []
    for event in accepted:
        if event.action is Action.CANCEL:
            asked_by = event.by
            continue
        reason = f" Reason: {event.reason}" if event.reason else ""
        if event.action is Action.REJECT and asked_by is not None:
            # A refused reversal: told to the requester and to who asked for it, as a
            # requester hears of their own request; never to the one who refused.
            tag = day_tag(event.date, refusals)
            refusals.append(event.date)
            for user in _parties(requester, asked_by, event.by):
                yield notice(f"reversal-refused-{tag}", user, event.date, "reversal refused",
                             f"{event.by} refused the reversal of {rid}; it stays applied."
                             f"{reason}", name="reversal-refused")
            asked_by = None
            continue
        if event.by == requester or event.action not in (Action.REJECT, Action.APPLY):
            continue
        kind = "rejected" if event.action is Action.REJECT else "applied"
        yield notice(kind, requester, event.date, kind, f"{event.by} {kind} {rid}.{reason}")
    yield from _cancelled(adj, notice)

    finished = adj.state in (State.APPLIED, State.REJECTED, State.WITHDRAWN)
    if finished and adj.approvals:
        finished_on = adj.applied_on or adj.decided_on or request.date
        for user in dict.fromkeys(adj.approvers):
            if user not in (requester, last_actor):
                yield notice("completed", user, finished_on, f"completed: {adj.state}",
                             f"{rid}, which you approved, is now {adj.state}.")


def _parties(requester: str, asked_by: str, actor: str | None) -> list[str]:
    """Who hears how a reversal was decided: the requester and who asked for it, once
    each, but the one who decided it."""
    return [user for user in dict.fromkeys((requester, asked_by)) if user != actor]


def _cancelled(adj: Adjustment, notice: Callable[..., Notice]) -> Iterator[Notice]:
    """`reversed` (once the reversal is booked, not while it awaits approval) or
    `withdrawn`: to the requester when someone else cancelled; a reversal booked by
    someone else's approval to who asked for it, as a requester hears of theirs; and
    a reversal to the approvers of what it undid."""
    cancels = _accepted(adj, Action.CANCEL)
    if not cancels or adj.state not in (State.REVERSED, State.WITHDRAWN):
        return
    event, requester, rid = cancels[-1], adj.request.requested_by, adj.id
    if adj.state is State.WITHDRAWN:
        if event.by != requester:
            yield notice("withdrawn", requester, event.date, "withdrawn",
                         f"{event.by} cancelled {rid}. Reason: {event.reason}")
        return
    when = adj.reversed_on or event.date
    booked_by = adj.reversal_approvals[-1].by if adj.reversal_approvals else event.by
    if event.by != requester:
        yield notice("reversed", requester, when, "reversed",
                     f"{event.by} cancelled {rid} and its effect was reversed. "
                     f"Reason: {event.reason}")
    if booked_by != event.by:
        yield notice("reversed", event.by, when, "reversed",
                     f"{booked_by} approved the reversal of {rid} you asked for; it is "
                     f"reversed. Reason: {event.reason}")
    # A reversal moves money back: whoever approved what it undoes hears of it, as they
    # hear of a request of theirs completed, but the parties told above and who
    # approved the reversal (they know, and one key per recipient stays one notice).
    told = {requester, event.by, *(a.by for a in adj.reversal_approvals)}
    undone_by = " and ".join(a.by for a in adj.reversal_approvals)
    how = (f"{undone_by} approved the reversal" if undone_by
           else "its reversal needed no approval")
    for user in dict.fromkeys(adj.approvers):
        if user not in told:
            yield notice("reversed", user, when, "reversed",
                         f"{rid}, which you approved, was reversed: {event.by} cancelled "
                         f"it and {how}. Reason: {event.reason}")
