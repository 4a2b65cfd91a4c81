"""The replay's working record of one adjustment (`Tracked`) and its freeze
into the `Adjustment` the tools read.

The replay moves each adjustment through its lifecycle event by event, so
its record is mutable; the book freezes one when a tool first reads it.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from operator import attrgetter

from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.lifecycle import TRANSITIONS
from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Approval,
    ApprovalRow,
    Event,
    Money,
    Problem,
    Record,
    Request,
    Source,
    State,
)
from beancount_adjustments.core.permissions import Situation
from beancount_adjustments.core.type_policies import TypeSettings

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_INVALID = State.INVALID
_REVERSING = State.REVERSING

_NONE: tuple[()] = ()


def move(adj: Tracked, action: Action) -> None:
    """Take `action` on `adj`: its next state is the lifecycle's, never set by hand."""
    adj.state = TRANSITIONS[(adj.state, action)]

def with_flags(request: Request, flags: tuple[str, ...]) -> tuple[str, ...]:
    """The request's own `risk:` flags, then `flags` it lacks, each once."""
    if not flags and not request.risk:
        return _NONE
    return tuple(dict.fromkeys((*request.risk, *flags)))


class Tracked:
    """An adjustment's state while the replay walks the timeline, and after.

    What the plugin needs from the book (state, dates, approvers, the
    events behind the effects) is read straight from here; `freeze` makes
    the `Adjustment` model the tools read.
    """

    __slots__ = ("_digest", "amount", "applied_by", "applied_on", "approvals", "cancelled_by",
                 "chain", "decided_on", "effective_date", "history", "judged", "problems",
                 "request", "reversal_approvals", "reversal_chain",
                 "reversed_by", "reversed_on", "risk_flags", "rule", "settings", "stale",
                 "state", "tier")

    def __init__(self, request: Request, settings: TypeSettings) -> None:
        self.request = request
        self.settings = settings
        self.state = _INVALID
        self._digest: str | None = None
        self.amount: Money | None = None
        self.tier: str | None = None
        self.chain: tuple[str, ...] = _NONE
        self.rule: ApprovalRow | None = None
        self.approvals: tuple[Approval, ...] = _NONE
        self.stale: tuple[Approval, ...] = _NONE
        self.history: tuple[Record, ...] = _NONE
        self.problems: tuple[Problem, ...] = _NONE
        self.decided_on: datetime.date | None = None
        self.applied_on: datetime.date | None = None
        self.effective_date: datetime.date | None = None
        self.reversed_on: datetime.date | None = None
        self.applied_by: Event | None = None
        """The event that applied it (None: applied on arrival, or not applied)."""
        self.reversed_by: Event | None = None
        self.risk_flags = with_flags(request, _NONE)
        self.judged: Money | None = None
        self.reversal_chain: tuple[str, ...] = _NONE
        self.reversal_approvals: tuple[Approval, ...] = _NONE
        self.cancelled_by: str | None = None

    @property
    def applied_source(self) -> Source | None:
        """Where the effect comes from: the applying event, else the request."""
        if self.applied_on is None:
            return None
        return self.applied_by.source if self.applied_by is not None else self.request.source

    @property
    def reversed_source(self) -> Source | None:
        return self.reversed_by.source if self.reversed_by is not None else None

    @property
    def digest(self) -> str:
        found = self._digest
        if found is None:
            found = self._digest = digests.request_digest(self.request)
        return found

    # What `permissions.denial` reads (`permissions.Situation`).

    @property
    def deciding_chain(self) -> tuple[str, ...]:
        return self.reversal_chain if self.state is _REVERSING else self.chain

    @property
    def deciding_approvers(self) -> tuple[str, ...]:
        approvals = self.reversal_approvals if self.state is _REVERSING else self.approvals
        return tuple([a.by for a in approvals]) if approvals else _NONE

    @property
    def separate_apply(self) -> bool:
        return self.settings.separate_apply

    @property
    def signatures_required(self) -> bool:
        return self.settings.signatures_required

    @property
    def hold_until_billed(self) -> bool:
        return self.settings.hold_until_billed

    def situation(self, stale: bool = False) -> Situation:
        """What `permissions.denial` judges: this record, or for an approval given to
        other content, the record as it was when the levels approved before it
        (stale or not) had been filled."""
        if not stale or not self.stale or self.state is _REVERSING:
            return self
        given = sorted(self.approvals + self.stale, key=attrgetter("level"))
        return _AsGiven(self, tuple(a.by for a in given))

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple([a.by for a in self.approvals])

    def copy(self) -> Tracked:
        """A record to go on judging with, the original left as it is (its values
        are immutable: a shallow copy is a separate record)."""
        return copy.copy(self)

    def freeze(self) -> Adjustment:
        settings = self.settings
        return Adjustment(
            request=self.request, digest=self.digest, state=self.state, amount=self.amount,
            tier=self.tier, chain=self.chain, rule=self.rule,
            separate_apply=settings.separate_apply, sla_days=settings.sla_days,
            approvals=self.approvals, history=self.history, decided_on=self.decided_on,
            applied_on=self.applied_on, effective_date=self.effective_date,
            reversed_on=self.reversed_on, applied_source=self.applied_source,
            reversed_source=self.reversed_source, reversal_chain=self.reversal_chain,
            reversal_approvals=self.reversal_approvals, cancelled_by=self.cancelled_by,
            problems=self.problems, risk_flags=self.risk_flags,
            signatures_required=settings.signatures_required, judged=self.judged,
            hold_until_billed=settings.hold_until_billed)


@dataclass(frozen=True, slots=True)
class _AsGiven:
    """A record seen with its stale approvals filling their levels (`Tracked.situation`)."""

    tracked: Tracked
    deciding_approvers: tuple[str, ...]

    @property
    def request(self) -> Request:
        return self.tracked.request

    @property
    def state(self) -> State:
        return self.tracked.state

    @property
    def deciding_chain(self) -> tuple[str, ...]:
        return self.tracked.chain

    @property
    def amount(self) -> Money | None:
        return self.tracked.amount

    @property
    def cancelled_by(self) -> str | None:
        return self.tracked.cancelled_by

    @property
    def separate_apply(self) -> bool:
        return self.tracked.settings.separate_apply

    @property
    def signatures_required(self) -> bool:
        return self.tracked.settings.signatures_required

    @property
    def hold_until_billed(self) -> bool:
        return self.tracked.settings.hold_until_billed

    @property
    def decided_on(self) -> datetime.date | None:
        return self.tracked.decided_on
