"""The lifecycle: which action moves which state where.

    pending --approve (last level)--> approved --apply--> applied --cancel--> reversing
       |  \\--reject--> rejected                  |
       \\--cancel--> withdrawn      approved --cancel--> withdrawn

    reversing --approve (last level)--> reversed
    reversing --reject--> applied (the reversal is refused)

Approving short of the last level leaves a request (or a reversal) where it
is with one more level filled. Whether approval applies at once is the
type's policy; a reversal whose amount needs no chain is booked at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from beancount_adjustments.core.models import Action, Record, State

TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.PENDING, Action.APPROVE): State.APPROVED,
    (State.PENDING, Action.REJECT): State.REJECTED,
    (State.PENDING, Action.CANCEL): State.WITHDRAWN,
    (State.APPROVED, Action.APPLY): State.APPLIED,
    (State.APPROVED, Action.CANCEL): State.WITHDRAWN,
    (State.APPLIED, Action.CANCEL): State.REVERSING,
    (State.REVERSING, Action.APPROVE): State.REVERSED,
    (State.REVERSING, Action.REJECT): State.APPLIED,
}


def allowed(state: State, action: Action) -> bool:
    return (state, action) in TRANSITIONS


def refusal(state: State, action: Action, separate_apply: bool) -> str:
    """Why `action` does not fit `state`, in words a user can act on."""
    if action is Action.APPLY and state is State.PENDING:
        return "it cannot be applied before its approvals are complete"
    if action is Action.APPLY and state is State.APPLIED:
        return ("it is already applied" if separate_apply else
                "its type applies on approval, so it is already applied; no apply is needed")
    if action is Action.APPROVE and state is State.APPROVED:
        return "it is already fully approved"
    if action is Action.APPROVE and state is State.APPLIED:
        return "it is already approved and applied"
    if action is Action.CANCEL and state is State.REVERSING:
        return "its reversal already awaits approval; it cannot be cancelled twice"
    if action is Action.APPLY and state is State.REVERSING:
        return "it is applied, and its reversal awaits approval"
    if action is Action.CANCEL and state in (State.REVERSED, State.WITHDRAWN):
        return f"it is already {state}; it cannot be cancelled twice"
    return f"it is {state}, and a {state} adjustment cannot be {_past(action)}"


def _past(action: Action) -> str:
    return {Action.APPROVE: "approved", Action.REJECT: "rejected",
            Action.APPLY: "applied", Action.CANCEL: "cancelled"}[action]


class Awaiting(Protocol):
    """What `step_shown` reads: an `Adjustment`, or the replay's record of one."""

    @property
    def state(self) -> State: ...
    @property
    def deciding_chain(self) -> tuple[str, ...]: ...
    @property
    def deciding_approvers(self) -> tuple[str, ...]: ...
    @property
    def history(self) -> tuple[Record, ...]: ...


def reversal_number(history: Sequence[Record]) -> int:
    """Which reversal an adjustment awaiting one awaits: one per cancel accepted so far
    (a cancel that withdraws ends the lifecycle, so every accepted cancel before an
    approval asked for a reversal)."""
    return sum(1 for line in history if line.accepted and line.event.action is Action.CANCEL)


def step_shown(adj: Awaiting) -> str:
    """The step an adjustment awaits, as a page shows it ("pending 1/2": its state
    and the levels of the chain being filled). A page posts it back with each
    decision, as it does the digest: the request is the same after it was approved,
    applied and cancelled, and an Approve clicked on the credit must not approve
    its reversal. `reversing` is the one state a lifecycle comes back to (a reversal
    refused, then asked for again): from the second on, the step names which
    ("reversing 0/1 #2"), so that an Approve shown for a refused reversal does not
    approve the next one, asked for by someone else, for another reason."""
    step = f"{adj.state} {len(adj.deciding_approvers)}/{len(adj.deciding_chain)}"
    if adj.state is State.REVERSING:
        number = reversal_number(adj.history)
        if number > 1:
            return f"{step} #{number}"
    return step
