"""Judging a decision on an adjustment: approve, reject, apply, cancel and reversals.

An event that does not fit (wrong state, wrong person, stale content,
back-dated, closed period) is refused: recorded in the history, reported
at its line, and it changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime

from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.lifecycle import TRANSITIONS, reversal_number
from beancount_adjustments.core.models import Action, Approval, Event, Record, State
from beancount_adjustments.core.permissions import (
    Denial,
    denial,
    limit_judged,
    separate_apply,
    signatures_required,
)
from beancount_adjustments.core.policy import MissingPrice, chain_text
from beancount_adjustments.core.records import Tracked, move
from beancount_adjustments.core.references import credit_taken
from beancount_adjustments.core.replay_state import ReplayState
from beancount_adjustments.core.signatures import (
    OLD_SIGNATURE,
    UNSIGNED_EFFECTIVE,
    judge_signature,
)
from beancount_adjustments.core.written import same_amount

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_APPROVE = Action.APPROVE
_CANCEL = Action.CANCEL
_REJECT = Action.REJECT
_APPLIED = State.APPLIED
_INVALID = State.INVALID
_REVERSING = State.REVERSING

_NONE: tuple[()] = ()


class EventJudging(ReplayState):
    def handle(self, event: Event) -> None:
        adj = self.progress.get(event.adjustment_id)
        if adj is None and event.adjustment_id in self.requested_on:
            self.fail("event-before-request",
                      f"{event.adjustment_id} {event.action} by {event.by} on {event.date}: "
                      "it is dated before the request "
                      f"({self.requested_on[event.adjustment_id]}).", event.source,
                      adjustment_id=event.adjustment_id)
            return
        if adj is None:
            self.fail("unknown-id",
                      f"{event.adjustment_id} {event.action}: no request has this id; check "
                      "the spelling or add the request.", event.source,
                      adjustment_id=event.adjustment_id)
            return
        if adj.state is _INVALID:
            adj.history += (Record(event, False, False,
                                 "the request is invalid; fix the request first"),)
            return
        if event.date < adj.request.date:
            self.refuse(adj, event, "event-before-request",
                        f"it is dated before the request ({adj.request.date}).")
            return
        dated = self.dating(event, self.dating_settings(adj.request.type, adj.settings,
                                                        self.decided_on(event)))
        if dated is not None:
            self.refuse(adj, event, *dated)
            return
        if event.action is _APPROVE:
            self.approve(adj, event)
            return
        refused = self.denial(adj, event)
        if refused is not None:
            self.refuse(adj, event, *refused)
            return
        ignored = self.unbooked_effective(adj, event)
        if ignored is not None:
            self.refuse(adj, event, "effective-ignored", ignored)
            return
        if event.action is _REJECT:
            self.reject(adj, event)
        elif event.action is _CANCEL:
            self.cancel(adj, event)
        else:
            self.apply_event(adj, event)

    def denial(self, adj: Tracked, event: Event, stale: bool = False) -> Denial | None:
        return denial(self.rules, adj.situation(stale), event.action, event.by, event.date,
                      written=self.decided_on(event))

    def staleness(self, adj: Tracked, event: Event) -> str | None:
        """Why an approval was given to something else than what is judged now."""
        reversing = adj.state is _REVERSING
        written = event.digest
        if (written is not None and written != adj.digest
                and not digests.matches(written, adj.request, adj.digest)):
            return (f"the request changed after it was given (digest {event.digest} "
                    f"approved, now {adj.digest})")
        chain = adj.reversal_chain if reversing else adj.chain
        if event.chain is not None and event.chain != chain:
            return (f"it was given to the chain \"{chain_text(event.chain)}\", and the "
                    f"chain in force is now \"{chain_text(chain)}\"")
        if event.judged is not None and not same_amount(event.judged, adj.judged):
            now = adj.judged if adj.judged is not None else "no conversion"
            return (f"it was given at {event.judged}, and the prices now in the ledger "
                    f"make it {now}")
        if event.limit_judged is not None:
            against = limit_judged(self.rules, adj, event.by, event.date)
            if not same_amount(event.limit_judged, against):
                return (f"{event.by}'s limit was checked with the amount at "
                        f"{event.limit_judged}, and the prices now in the ledger make it "
                        f"{against if against is not None else 'no conversion'}")
        return None

    def approve(self, adj: Tracked, event: Event) -> None:
        # A stale approval is judged as given: when the levels before it were filled.
        fits = (adj.state, _APPROVE) in TRANSITIONS
        stale = self.staleness(adj, event) if fits else None
        refused = self.denial(adj, event, stale is not None)
        if refused is not None:
            self.refuse(adj, event, *refused)
            return
        reversing = adj.state is _REVERSING
        written = self.decided_on(event)
        signed = judge_signature(
            self.keyring, event, lambda: event.digest or adj.digest,
            signatures_required(self.rules, adj, event.date, written),
            reversal=reversal_number(adj.history) if reversing else 0)
        if signed.refusal is not None:
            self.refuse(adj, event, *signed.refusal)
            return
        if signed.uncovered_effective and event.effective is not None:
            self.warn(UNSIGNED_EFFECTIVE,
                      f"{event.adjustment_id} approve by {event.by} on {event.date}: its "
                      "signature was made before signatures covered `effective:`, so "
                      f"nothing shows that `effective: {event.effective}` is {event.by}'s; "
                      "compare it with the commit that wrote the approval "
                      "(`bean-adjust check --since`).", event.source, event.adjustment_id)
        elif signed.old:
            # Present or deleted, what it does not cover is nobody's: it counts as a
            # decision of the past; `check --since` fails a new one (`old_signatures`).
            self.warn(OLD_SIGNATURE,
                      f"{event.adjustment_id} approve by {event.by} on {event.date}: its "
                      "signature was made before signatures covered `at:`, `chain:`, "
                      "`judged:` and `limit-judged:`, so nothing shows those lines (or their "
                      f"absence) are {event.by}'s; it counts as a decision of the past, and "
                      "a new one must be signed again (`bean-adjust approve --sign`).",
                      event.source, event.adjustment_id)
        chain = adj.reversal_chain if reversing else adj.chain
        filled = (adj.reversal_approvals if reversing
                  else adj.approvals + adj.stale if stale else adj.approvals)
        level = len(filled)
        approval = Approval(event.by, chain[level], level + 1, event.date, event.at)
        completes = level + 1 == len(chain)
        if stale is not None:
            # It booked the adjustment if it completed the chain it was given to.
            given_to = event.chain if event.chain is not None else chain
            books = reversing or not separate_apply(self.rules, adj, event.date, written)
            self.stale_approval(adj, event, approval, stale,
                                books and (completes or level + 1 == len(given_to)))
            return
        ignored = self.unbooked_effective(adj, event, level + 1, len(chain))
        if ignored is not None:
            self.refuse(adj, event, "effective-ignored", ignored)
            return
        if reversing:
            if completes and not self.reverse(adj, event):
                return
            adj.history += (Record(event, True),)
            adj.reversal_approvals += (approval,)
            return
        adj.history += (Record(event, True),)
        adj.approvals += (approval,)
        if completes:
            move(adj, _APPROVE)
            adj.decided_on = event.date
            if not separate_apply(self.rules, adj, event.date, written):
                self.apply(adj, event.date, event.effective, event)
            elif not adj.settings.separate_apply:
                # Left for an apply by a policy tightened since the request: the book
                # says so (the tools offer the apply), and a hold binds that apply.
                binding = self.rules.binding(adj.request.type, event.date, written)
                adj.settings = dataclasses.replace(
                    adj.settings, separate_apply=True,
                    hold_until_billed=adj.settings.hold_until_billed
                    or any(now.hold_until_billed for now in binding))

    def unbooked_effective(self, adj: Tracked, event: Event, level: int = 0,
                           levels: int = 0) -> str | None:
        """Why the event's `effective:` would date nothing (it books nothing, or books
        a reversal, which is dated at its last approval), or None. An `approve` is
        given the `level` it fills of `levels`. Only the approval that books the
        request, or its apply, is dated by `effective:`: silently dropped, the date
        would read in the ledger as set."""
        effective = event.effective
        if effective is None:
            return None
        action, state = event.action, adj.state
        if action is _REJECT:
            why = "a reject books nothing"
        elif state is _REVERSING or (action is _CANCEL and state is _APPLIED):
            why = ("a reversal is booked on the day of its last approval (of the cancel, "
                   "when it needs none), never on an `effective:` date")
        elif action is _CANCEL:
            why = "withdrawing a request that moved nothing books nothing"
        elif action is not _APPROVE:
            return None
        elif level < levels:
            why = (f"this approval fills level {level} of {levels} and books nothing; "
                   "the last approval books the request")
        elif separate_apply(self.rules, adj, event.date, self.decided_on(event)):
            why = ("its type's policy leaves it for a separate `apply`, which books it: "
                   "give the date there")
        else:
            return None
        return (f"`effective: {effective}` dates nothing here, since {why}; drop it (while "
                "the event carries it, the event has no effect).")

    def stale_approval(self, adj: Tracked, event: Event, approval: Approval, why: str,
                       would_book: bool) -> None:
        """A stale approval counts for nothing; if it is the one that booked the
        adjustment (or its reversal), that is an error, not a warning."""
        what = "reversal" if adj.state is _REVERSING else "adjustment"
        message = (f"{event.adjustment_id}: the approval by {event.by} on {event.date} is "
                   f"stale: {why}; it does not count until it is approved again.")
        if would_book:
            self.fail("stale-approval",
                      f"{message} It is the approval that booked the {what}, so the {what} "
                      "is no longer booked: nothing an approval was judged on may change "
                      "afterwards. Restore what was approved, or cancel and file a new "
                      "request.", event.source, adj)
        else:
            self.warn("stale-approval", message, event.source, event.adjustment_id)
        if adj.state is not _REVERSING:
            adj.stale += (approval,)
        adj.history += (Record(event, False, True, f"stale: {why}"),)

    def reject(self, adj: Tracked, event: Event) -> None:
        adj.history += (Record(event, True),)
        if adj.state is _REVERSING:
            # The reversal is refused: the adjustment stays applied.
            move(adj, _REJECT)
            adj.reversal_chain, adj.reversal_approvals, adj.cancelled_by = _NONE, _NONE, None
            return
        move(adj, _REJECT)
        adj.decided_on = event.date

    def apply_event(self, adj: Tracked, event: Event) -> None:
        if event.digest is not None and not digests.matches(event.digest, adj.request,
                                                            adj.digest):
            self.refuse(adj, event, "changed-after-approval",
                        f"the request changed after it was approved (digest {event.digest} "
                        f"at the apply, now {adj.digest}); an approved request is applied "
                        "only as approved. Restore it, or withdraw it and file a new request.")
            return
        self.apply(adj, event.date, event.effective, event)

    def cancel(self, adj: Tracked, event: Event) -> None:
        if adj.state is not _APPLIED:
            move(adj, _CANCEL)
            adj.decided_on = adj.decided_on or event.date
            adj.history += (Record(event, True),)
            return
        # Cancelling an applied adjustment asks for its reversal, which moves money
        # too: it needs the chain a request of its type and amount needs now. Its
        # amount is worth what it was judged at (converted at the request date, which
        # `judged:` binds, as approvers' limits are): a price appended on the day of
        # the cancel must not make a large reversal need nobody.
        # Rows in force on the cancel's date and on the day it was written (`at:`), the
        # longer chain of the two: a row added by the day it was written binds a cancel
        # dated earlier within `backdate-days`, and one removed since frees none.
        try:
            chain = max((self.reversal_chain(adj, day)
                         for day in dict.fromkeys((self.decided_on(event), event.date))),
                        key=len)
        except MissingPrice as missing:
            self.refuse(adj, event, "missing-price",
                        f"{missing}, so the approvals its reversal needs cannot be "
                        "worked out; add a price directive.")
            return
        if not chain:
            if self.reverse(adj, event):
                adj.cancelled_by = event.by
                adj.history += (Record(event, True),)
            return
        move(adj, _CANCEL)
        adj.cancelled_by = event.by
        adj.reversal_chain = chain
        adj.reversal_approvals = _NONE
        adj.history += (Record(event, True),)

    def reversal_chain(self, adj: Tracked, day: datetime.date) -> tuple[str, ...]:
        """The chain the rows in force on `day` give the reversal of `adj`."""
        request = adj.request
        if adj.amount is None:
            return _NONE
        rows = self.matrix.candidates(request.type, request.category, adj.tier,
                                      tuple(adj.risk_flags), day)
        rule = self.matrix.choose_from(rows, adj.amount, request.date, self.rates)
        return rule.roles if rule else _NONE

    def reverse(self, adj: Tracked, event: Event) -> bool:
        """Book the reversal, dated at `event`, or at the effect's own date when that is
        later (`effective:` ahead): nothing is undone before it was done, else the books
        (and a statement cut between) would show the reversal of a credit not yet
        booked. False when a closed period forbids it."""
        day = max(event.date, adj.effective_date or event.date)
        lock = self.closing_lock(day, self.decided_on(event))
        if lock is not None:
            self.refuse(adj, event, "closed-period",
                        f"the reversal would be dated {day}, inside the period closed "
                        f"through {lock.through} (locked on {lock.date}).")
            return False
        request = adj.request
        if adj.state is _APPLIED:  # a reversal that needs no approval
            move(adj, _CANCEL)
        move(adj, _APPROVE)
        adj.reversed_on = day
        adj.reversed_by = event
        if request.invoice in self.credited:
            self.credited[request.invoice] -= credit_taken(request.postings, adj.amount,
                                                           self.settings.receivable)
        return True
