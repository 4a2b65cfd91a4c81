"""Who may do what to an adjustment, now: the one answer.

The replay judges every event with `denial`; the CLI's selection
(`--all-pending`, `--awaiting`), Fava's buttons and "awaiting me", and
notifications ask the same function about the book, so a page never offers
what the writer will refuse. Pure: the directory, the prices and the
adjustment's situation in, a refusal (code and message) or None out.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from beancount_adjustments.core.lifecycle import TRANSITIONS, refusal
from beancount_adjustments.core.models import Action, Money, Request, State
from beancount_adjustments.core.policy import (
    Directory,
    Matrix,
    Rates,
    convert,
    within_limit,
)
from beancount_adjustments.core.references import Reference
from beancount_adjustments.core.type_policies import TypePolicies, TypeSettings

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_APPLY = Action.APPLY
_APPROVE = Action.APPROVE
_REJECT = Action.REJECT
_PENDING = State.PENDING
_REVERSING = State.REVERSING


class Denial(NamedTuple):
    code: str
    message: str


class Situation(Protocol):
    """What the rule reads of an adjustment: the book's `Adjustment`, or the
    replay's record of one while it judges (no copy made per event)."""

    @property
    def request(self) -> Request: ...
    @property
    def state(self) -> State: ...
    @property
    def deciding_chain(self) -> tuple[str, ...]:
        """The chain being filled: the request's, or the reversal's while reversing."""
    @property
    def deciding_approvers(self) -> tuple[str, ...]:
        """Who holds the levels of that chain so far, in order."""
    @property
    def amount(self) -> Money | None: ...
    @property
    def cancelled_by(self) -> str | None: ...
    @property
    def separate_apply(self) -> bool: ...
    @property
    def signatures_required(self) -> bool: ...
    @property
    def hold_until_billed(self) -> bool: ...
    @property
    def decided_on(self) -> datetime.date | None: ...


Bills = Mapping[str, Sequence[tuple[datetime.date, str]]]
"""Per customer, (date, id) of their invoices in date order."""


def bills_by_customer(invoices: Mapping[str, Reference]) -> Bills:
    """The invoices that bill a customer, by customer. A bill raises what the
    customer owes: an `invoice-id:` on a transaction that does not is no bill (it
    releases no hold)."""
    found: dict[str, list[tuple[datetime.date, str]]] = {}
    for ref in invoices.values():
        if ref.customer is not None and ref.amount is not None and ref.amount.number > 0:
            found.setdefault(ref.customer, []).append((ref.date, ref.id))
    for dates in found.values():
        dates.sort()
    return found


@dataclass(slots=True)
class _BillIndex:
    """`bills_by_customer`, made on first use: reading every invoice costs a load
    that no `hold-until-billed` type asks for."""

    bills: Bills | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """What the rule reads besides the adjustment: who holds what, rows, prices."""

    directory: Directory
    rates: Rates
    matrix: Matrix
    invoices: Mapping[str, Reference] = field(default_factory=dict)
    policies: TypePolicies = field(default_factory=TypePolicies)
    default_sla_days: int | None = None
    """`sla-days` of every type whose policy sets none (`Settings.default_sla_days`)."""
    _roles: dict[int, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    _settings: dict[tuple[str, int], TypeSettings] = field(default_factory=dict,
                                                           compare=False, repr=False)
    _bills: _BillIndex = field(default_factory=_BillIndex, compare=False, repr=False)

    def approver_roles(self, date: datetime.date) -> frozenset[str]:
        """Every role some approval row in force on `date` names."""
        rows = self.matrix.rows_on(date)
        # By id() of a matrix version: the versions live as long as the matrix.
        found = self._roles.get(id(rows))
        if found is None:
            found = self._roles[id(rows)] = frozenset(r for row in rows for r in row.roles)
        return found

    def settings_on(self, adj_type: str, date: datetime.date) -> TypeSettings:
        """The settings of `adj_type`'s policy in force on `date`, with the plugin's
        `default-sla-days` where the policy sets no `sla-days` (cached per type and
        number of policies in force: they change only on a policy's date)."""
        key = (adj_type, self.policies.in_force(date))
        found = self._settings.get(key)
        if found is None:
            found = self.policies.settings(adj_type, date)
            if found.sla_days is None and self.default_sla_days is not None:
                # Here, so that every reader of `Adjustment.sla_days` (is_overdue) agrees.
                found = dataclasses.replace(found, sla_days=self.default_sla_days)
            self._settings[key] = found
        return found

    def binding(self, adj_type: str, date: datetime.date,
                written: datetime.date | None = None) -> tuple[TypeSettings, ...]:
        """The settings that bind a decision dated `date` and written on `written`
        (its `at:` day, when later): the policy in force on either, so that one
        tightened by the day it was written binds it, whatever earlier day within
        `backdate-days` its author dated it (as the locks count the `at:`)."""
        now = self.settings_on(adj_type, date)
        if written is None or written <= date:
            return (now,)
        return (now, self.settings_on(adj_type, written))

    def invoices_of(self, customer: str) -> Sequence[tuple[datetime.date, str]]:
        """(date, id) of the customer's bills in date order (`bills_by_customer`)."""
        if self._bills.bills is None:
            self._bills.bills = bills_by_customer(self.invoices)
        return self._bills.bills.get(customer, ())


def held_until_billed(rules: Rules, situation: Situation, date: datetime.date,
                      effective: datetime.date | None = None,
                      written: datetime.date | None = None) -> Denial | None:
    """Why applying on `date` is too early under `hold-until-billed`, or None:
    the customer must have an invoice dated after the approval, by `date` and by
    the day the effect is booked (`effective`, else the request's `effective:`):
    booked before the bill, the credit would land on the bill it was held from.
    Held when the request date's policy says so, or the one in force on `date` or on
    `written` (`Rules.binding`)."""
    request = situation.request
    if not (situation.hold_until_billed
            or any(s.hold_until_billed for s in rules.binding(request.type, date, written))):
        return None
    approved = situation.decided_on or request.date
    date = min(date, effective or request.effective or date)
    invoices = rules.invoices_of(request.customer)
    start = bisect.bisect_right(invoices, (approved, "\uffff"))
    if start < len(invoices) and invoices[start][0] <= date:
        return None
    later = (f" (the next one is {invoices[start][1]} on {invoices[start][0]})"
             if start < len(invoices) else "")
    return Denial("held-until-billed",
                  f"its type's policy holds it until the customer is billed after its "
                  f"approval (`hold-until-billed: TRUE`), and no invoice for "
                  f"{request.customer} is dated after {approved} and on or before "
                  f"{date}{later}; apply it on or after the customer's next invoice.")


def separate_apply(rules: Rules, situation: Situation, date: datetime.date,
                   written: datetime.date | None = None) -> bool:
    """Whether the last approval, on `date`, leaves the adjustment for an `apply`: the
    request date's policy says so (`apply: "separate"`, `hold-until-billed`), or the
    one in force on `date` or on the day it was `written` (a policy tightened while a
    request waits binds its approval; one loosened later frees none)."""
    return (situation.separate_apply
            or any(s.separate_apply
                   for s in rules.binding(situation.request.type, date, written)))


def signatures_required(rules: Rules, situation: Situation, date: datetime.date,
                        written: datetime.date | None = None) -> bool:
    """Whether an approval on `date` must be signed: the request date's policy says so,
    or the one in force on `date` or on the day it was `written` (signatures required
    while a request waits bind the approvals given after)."""
    return (situation.signatures_required
            or any(s.signatures_required
                   for s in rules.binding(situation.request.type, date, written)))


def limit_judged(rules: Rules, situation: Situation, by: str,
                 date: datetime.date) -> Money | None:
    """The amount `by`'s limit for the next level is checked at, when the limit is in
    another currency than the amount (None otherwise, or when no price converts it):
    what an approval records as `limit-judged:`, so that a price added later cannot
    bring an amount under the limit."""
    chain, amount = situation.deciding_chain, situation.amount
    level = len(situation.deciding_approvers)
    if amount is None or level >= len(chain):
        return None
    _holds, limit = rules.directory.limit_for(by, chain[level], date)
    if limit is None or limit.currency == amount.currency:
        return None
    value = convert(amount, limit.currency, situation.request.date, rules.rates)
    return None if value is None else Money(value, limit.currency)


def denial(rules: Rules, situation: Situation, action: Action, by: str, date: datetime.date,
           *, signed: bool = True, written: datetime.date | None = None) -> Denial | None:
    """Why `by` may not take `action` on `date`, or None when they may.

    `signed`: whether the approval would carry a signature (the replay checks
    the signature itself; a tool that cannot sign passes False, so types that
    require signatures are not offered to it).
    `written`: the day the decision is written (its `at:` day), when later than
    `date`: a decision is worth no more than it was on either day, so `by` must
    be a user holding the role and the limit on both (a role removed or a limit
    lowered by the day it was written binds it, whatever earlier day within
    `backdate-days` its author dated it; as `Rules.binding` does for policies).
    """
    found = _denial(rules, situation, action, by, date, signed=signed)
    if found is None and written is not None and written > date:
        return _denial(rules, situation, action, by, written, signed=signed)
    return found


def _denial(rules: Rules, situation: Situation, action: Action, by: str, date: datetime.date,
            *, signed: bool) -> Denial | None:
    request, directory = situation.request, rules.directory
    if not directory.is_user(by, date):
        return Denial("unknown-user", f"\"{by}\" is not a user on {date}; declare them with "
                      "custom \"adjustment-user\".")
    state = situation.state
    if (state, action) not in TRANSITIONS:
        return Denial("invalid-transition", refusal(state, action, situation.separate_apply)
                      + ".")
    if action is _APPROVE:
        return _approve(rules, situation, by, date, signed=signed)
    held = directory.roles_on(by, date)
    if action is _REJECT:
        if state is _PENDING and by in request.requesters:
            return Denial("self-rejection",
                          "a requester withdraws their own request with cancel, not reject.")
        if state is _REVERSING:
            refused = _own_reversal(directory, situation, by, date)
            if refused is not None:
                return refused
        chain = situation.deciding_chain
        if not set(held) & set(chain):
            return Denial("missing-role",
                          f"rejecting needs one of the roles in its approval chain "
                          f"({', '.join(chain) or 'none'}); {by} holds "
                          f"{', '.join(sorted(held)) or 'no role'}.")
        return None
    if action is _APPLY:
        if not held:
            return Denial("missing-role",
                          f"applying needs a user with a role; {by} holds none on {date}.")
        return held_until_billed(rules, situation, date)
    roles = rules.approver_roles(date)
    if by not in request.requesters and not set(held) & roles:
        return Denial("missing-role",
                      "cancelling needs the requester or a user holding an approver role "
                      f"({', '.join(sorted(roles)) or 'none declared'}); "
                      f"{by} holds {', '.join(sorted(held)) or 'no role'}.")
    return None


def _one_person(directory: Directory, by: str, name: str | None,
                date: datetime.date) -> str | None:
    """None when `by` is someone else than `name`; else "" (the same name) or why the
    two names are one person (`Directory.same_person`), as a message's aside."""
    if name is None:
        return None
    if by == name:
        return ""
    why = directory.same_person(by, name, date)
    return None if why is None else f" ({why})"


DUTIES = {"requester": "the requester", "entrant": "the person who entered it",
          "canceller": "the person who asked for the reversal"}
"""The duties on an adjustment that keep their holder from approving it."""


def own_duty(directory: Directory, situation: Situation, by: str,
             date: datetime.date) -> tuple[str, str] | None:
    """(the `DUTIES` key, the aside naming the alias, "" for the same name) of the
    duty `by` holds on the adjustment that keeps them from approving it, or None:
    its requester, who entered it, or (a reversal) who asked for it, counted as
    people (`Directory.same_person`). The rule and the pages' reasons ask it."""
    request = situation.request
    reversal = situation.state is _REVERSING
    for duty, name in (("requester", request.requested_by), ("entrant", request.entered_by),
                       ("canceller", situation.cancelled_by if reversal else None)):
        why = _one_person(directory, by, name, date)
        if why is not None:
            return duty, why
    return None


def _own_reversal(directory: Directory, situation: Situation, by: str,
                  date: datetime.date) -> Denial | None:
    """Why `by` may not reject the reversal being asked for: they requested (or
    entered) the adjustment, and someone else asked for its reversal. Refusing a
    reversal keeps the adjustment booked, which decides it as much as approving
    it would; withdrawing one's own ask moves nothing back, so the one who asked
    may."""
    duty = own_duty(directory, situation, by, date)
    if (duty is None or duty[0] == "canceller"
            or _one_person(directory, by, situation.cancelled_by, date) is not None):
        return None
    whose, why = DUTIES[duty[0]], duty[1]
    return Denial("self-rejection",
                  f"{whose} cannot reject its reversal{why}, asked for by "
                  f"{situation.cancelled_by}: refusing it keeps their own adjustment booked "
                  "(segregation of duties); another user holding a role of its chain "
                  "decides.")


def _approve(rules: Rules, situation: Situation, by: str, date: datetime.date, *,
             signed: bool) -> Denial | None:
    request, chain, directory = situation.request, situation.deciding_chain, rules.directory
    reversal = situation.state is _REVERSING
    duty = own_duty(directory, situation, by, date)
    if duty is not None:
        whose, why = DUTIES[duty[0]], duty[1]
        what = "it" if duty[0] == "canceller" or not reversal else "its reversal"
        return Denial("self-approval",
                      f"{whose} cannot approve {what}{why} (segregation of duties); another "
                      "user holding the role must approve.")
    approvers = situation.deciding_approvers
    level = len(approvers)
    if level >= len(chain):
        return Denial("invalid-transition", "every level was already approved.")
    role = chain[level]
    for earlier, name in enumerate(approvers, start=1):
        aside = _one_person(directory, by, name, date)
        if aside is not None:
            return Denial("same-approver",
                          f"{name} already approved level {earlier} as {chain[earlier - 1]}"
                          f"{aside}; level {level + 1} ({role}) needs a different person.")
    holds, limit = directory.limit_for(by, role, date)
    if not holds:
        held = directory.roles_on(by, date)
        return Denial("missing-role",
                      f"level {level + 1} of {len(chain)} needs a {role}; {by} holds "
                      f"{', '.join(held) or 'no role'} on {date}.")
    amount = situation.amount
    if limit is not None and amount is not None:
        covered = within_limit(limit, amount, request.date, rules.rates)
        if covered is None:
            return Denial("missing-price",
                          f"no price converts {amount.currency} to {limit.currency} on or "
                          f"before the request date {request.date} to check {by}'s limit.")
        if not covered:
            return Denial("over-limit",
                          f"{amount} is above {by}'s approval limit of {limit} as {role}; "
                          "someone with a higher limit must approve.")
    if not signed and signatures_required(rules, situation, date):
        return Denial("unsigned-approval",
                      "approvals of this type must be signed (policy `signatures: "
                      "\"required\"`); approve with the CLI's --sign KEYFILE.")
    return None
