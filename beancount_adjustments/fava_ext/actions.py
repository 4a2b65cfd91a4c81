"""Which quick actions a row offers a user, and why a disabled one is disabled.

Every answer is `permissions.denial`, the replay's own rule, asked unsigned
(Fava cannot sign), written on `written` (the extension reads
`writer.written_today` once per request and passes it down) and memoised per
load in the `BookIndex`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from beancount_adjustments.core.models import Action, Adjustment, State
from beancount_adjustments.core.permissions import Denial, own_duty
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.reports import queries


def refusal(index: BookIndex, adj: Adjustment, user: str, action: Action,
            on: datetime.date, *, written: datetime.date) -> Denial | None:
    """Why `user` may not take `action` on `on`, written on `written` (the day the
    writer's stamp will count as written: a UTC server's afternoon is tomorrow's for
    roles, limits, policies and locks): `permissions.denial`, the replay's own rule
    (unsigned: Fava cannot sign, so types requiring signatures are not offered
    here)."""
    key = (adj.id, user, action, on, written)
    if key in index.refusals:
        return index.refusals[key]
    found = queries.refusal_of(index.book, adj, user, action, on, signed=False,
                               written=written)
    if len(index.refusals) > 100_000:
        index.refusals.clear()
    index.refusals[key] = found
    return found


def eligible_approvers(index: BookIndex, adj: Adjustment, on: datetime.date, *,
                       written: datetime.date) -> list[str]:
    """Who may give the next approval on `on`, written on `written` (of the request,
    or of its reversal)."""
    return queries.eligible_approvers(index.book, adj, on, signed=False, written=written)


@dataclass(frozen=True)
class ActionHint:
    """One quick action as the page offers it; the server re-checks everything."""

    action: str
    label: str
    allowed: bool
    why_not: str = ""
    needs_reason: bool = False
    asks_effective: bool = False
    """The page asks for an optional `effective:` date (and a comment) first."""
    rule: str = ""
    """The code of the rule that disables it (`permissions.denial`), as the writer's
    refusal names it; "" when allowed or when nobody acts."""


_SHORT = {
    "same-approver": "you already approved an earlier level",
    "over-limit": "above your approval limit",
    "missing-price": "no price converts the amount to your limit's currency",
    "unsigned-approval": "this type needs a signed approval (bean-adjust approve --sign)",
    "unknown-user": "you are not a user on this day",
}


def _one_of(names: Sequence[str]) -> str:
    """"a manager", "a manager or finance", "a manager, finance or cfo"."""
    if len(names) <= 1:
        return f"a {''.join(names) or 'role in its chain'}"
    return f"a {', '.join(names[:-1])} or {names[-1]}"


_DUTY_SHORT = {"requester": "you requested it", "entrant": "you entered it",
               "canceller": "you asked for its reversal"}


def _self_approval(index: BookIndex, adj: Adjustment, user: str, on: datetime.date) -> str:
    """Which duty `user` holds on `adj` (`permissions.own_duty`, the rule's own answer:
    "requested it or asked for its reversal" left the canceller guessing, and an alias
    of the canceller read "you requested it")."""
    duty = own_duty(index.book.directory, adj, user, on) or ("requester", "")
    return f"{_DUTY_SHORT[duty[0]]}{duty[1]} (segregation of duties)"


def _why_not(found: Denial | None, index: BookIndex, adj: Adjustment, action: Action, *,
             user: str, on: datetime.date) -> str:
    """The button's tooltip: a short form of the rule's own refusal."""
    if found is None:
        return ""
    if found.code == "self-approval":
        return _self_approval(index, adj, user, on)
    if found.code == "self-rejection" and adj.state is State.REVERSING:
        # The request is booked and its reversal asked for: there is nothing left to
        # withdraw, and the rule refuses the requester (or who entered it) here.
        return _self_approval(index, adj, user, on)
    if found.code == "self-rejection":
        return "withdraw your own request with cancel"
    if found.code == "missing-role" and action is Action.APPROVE:
        return f"level {len(adj.deciding_approvals) + 1} needs a {adj.next_role}"
    if found.code == "missing-role" and action is Action.REJECT:
        return f"needs {_one_of(adj.deciding_chain)}"
    if found.code == "missing-role" and action is Action.CANCEL:
        return "needs the requester or an approver role"
    if found.code == "missing-role" and action is Action.APPLY:
        return "needs a user with a role"
    return _SHORT.get(found.code, found.message)


def action_hints(index: BookIndex, adj: Adjustment, user: str | None,
                 on: datetime.date, *, written: datetime.date) -> list[ActionHint]:
    """The quick actions that fit the state, and whether `user` may take them
    (`permissions.denial`, as the writer will judge them: written on `written`)."""
    hints: list[ActionHint] = []
    reversing = adj.state is State.REVERSING

    def hint(action: Action, label: str, needs_reason: bool = False,
             asks_effective: bool = False) -> None:
        found = (refusal(index, adj, user, action, on, written=written)
                 if user is not None else None)
        if user is None:
            why_not = "read-only: no acting user"
        else:
            why_not = _why_not(found, index, adj, action, user=user, on=on)
        hints.append(ActionHint(str(action), label, not why_not, why_not, needs_reason,
                                asks_effective, found.code if found is not None else ""))

    if adj.state is State.PENDING or reversing:
        hint(Action.APPROVE, "Approve reversal" if reversing else "Approve")
        hint(Action.REJECT, "Refuse reversal" if reversing else "Reject", needs_reason=True)
    if adj.state is State.APPROVED and adj.separate_apply:
        hint(Action.APPLY, "Apply", asks_effective=True)
    if adj.state in (State.PENDING, State.APPROVED, State.APPLIED):
        hint(Action.CANCEL, "Reverse" if adj.state is State.APPLIED else "Cancel",
             needs_reason=True)
    return hints



def is_mine(index: BookIndex, adj: Adjustment, user: str | None, on: datetime.date, *,
            written: datetime.date) -> bool:
    """Awaiting `user`: a level (of the request or its reversal) they may approve
    now, or an apply they may make (`permissions.denial`, written on `written`)."""
    if not user:
        return False
    if adj.state is State.APPROVED:
        return adj.separate_apply and refusal(index, adj, user, Action.APPLY, on,
                                              written=written) is None
    if adj.next_role is None:
        return False
    return refusal(index, adj, user, Action.APPROVE, on, written=written) is None
