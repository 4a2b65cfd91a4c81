"""Questions the tools ask of a book: which adjustments, who may act, what is left.

The CLI's `list`, `queue` and `show` and the Fava extension answer from
these helpers, so a queue reads the same everywhere::

    from beancount_adjustments.reports.queries import Filters, select, eligible_approvers
    pending = select(book, Filters(states=OPEN_STATES, awaiting="bob"), today)

- `select(book, filters, today)`: the adjustments matching every filter
  given (state, type and category patterns, customer, requester, age,
  awaiting a user), oldest first.
- `eligible_approvers(book, adj, date, written=...)`: the users who may fill
  the next approval level on `date` (of the request, or of its reversal while
  it is `reversing`), as `permissions.denial` (the replay's own rule) says.
- `may(book, adj, user, action, date)`: whether `permissions.denial` lets
  `user` take `action` now; `signed=False` (the default) for a tool that
  does not sign, so types whose policy requires signatures are not offered.
- `requirements(adj)`: in words, what the adjustment still needs.
- `rule_text(adj, book)`: the rule that set its chain, in words;
  `automatic_text(adj, book, on)` why the policy needs no approver for it.
- `requester_text(request)`: its requester, and who entered it for them.
- `customer_text(book, customer, date)`: "Name (id)", or the id without a name.
- `row(adj, book, today, written=...)`: a JSON-ready summary of one adjustment.

Asked about now, `eligible_approvers`, `may`, `row` and `Filters` (`awaiting`) take
`written=writer.written_today()`, the day a decision written now counts as
written on (after noon on a UTC machine, tomorrow), read once per command or
page: no tool then names someone the writer refuses.

All pure reads over the replayed book; nothing here touches a file.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import customer_id
from beancount_adjustments.core.models import Action, Adjustment, Money, Request, State
from beancount_adjustments.core.permissions import Denial, denial
from beancount_adjustments.core.policy import Matrix, MissingPrice, Rates, convert


def same_currency_only(base: str, quote: str, date: datetime.date) -> Decimal | None:
    """Rates when none are known: amounts compare only within one currency."""
    return None


@dataclass(frozen=True)
class Filters:
    """What `select` keeps; a filter left None keeps everything."""

    states: Collection[State] | None = None
    type: str | None = None
    """An fnmatch pattern over the type (`credit:*`)."""
    category: str | None = None
    """An fnmatch pattern over the category (`operational:*`)."""
    customer: str | None = None
    requester: str | None = None
    older_than: int | None = None
    """Days since the request's date, strictly more than this."""
    awaiting: str | None = None
    """A user who may give the next approval now (of a request or a reversal)."""
    signed: bool = False
    """Whether `awaiting`'s approval would be signed (types requiring signatures)."""
    written: datetime.date | None = None
    """The day `awaiting`'s approval would count as written on (`writer.written_today`),
    when later than the day it is dated: the writer judges it on both."""
    below: Money | None = None
    """Only amounts strictly below this: in its currency, converted at the request's
    date (`policy.convert`, as limits and thresholds are), or left out when no price
    converts them."""


def waiting_since(adj: Adjustment) -> datetime.date:
    """The day the work on it began: the request's date, or for a reversal
    awaiting approval the day it was asked for (the cancel that asked)."""
    if adj.state is State.REVERSING:
        for record in reversed(adj.history):
            if record.accepted and record.event.action is Action.CANCEL:
                return record.event.date
    return adj.request.date


def age_days(adj: Adjustment, today: datetime.date) -> int:
    return (today - waiting_since(adj)).days


def is_overdue(adj: Adjustment, today: datetime.date) -> bool:
    """Pending (or its reversal awaiting approval) longer than its type's `sla-days`."""
    return (adj.state in (State.PENDING, State.REVERSING) and adj.sla_days is not None
            and age_days(adj, today) > adj.sla_days)


def matches(book: Book, adj: Adjustment, filters: Filters, today: datetime.date,
            rates: Rates = same_currency_only) -> bool:
    request = adj.request
    if filters.states is not None and adj.state not in filters.states:
        return False
    if filters.type is not None and not fnmatchcase(request.type, filters.type):
        return False
    if filters.category is not None and not (
            request.category is not None and fnmatchcase(request.category, filters.category)):
        return False
    if filters.customer is not None and request.customer != filters.customer:
        return False
    if filters.requester is not None and filters.requester not in request.requesters:
        return False
    if filters.older_than is not None and age_days(adj, today) <= filters.older_than:
        return False
    if filters.below is not None:
        if adj.amount is None:
            return False
        # At the request's date, as the chain, the approver's limit and the
        # `judged:` an approval records convert it: at today's price a request
        # judged 900 USD passed `--below "500 USD"` once its currency had halved.
        value = convert(adj.amount, filters.below.currency, request.date, rates)
        if value is None or value >= filters.below.number:
            return False
    return filters.awaiting is None or may(book, adj, filters.awaiting, Action.APPROVE, today,
                                           signed=filters.signed, written=filters.written)


def select(book: Book, filters: Filters, today: datetime.date,
           rates: Rates = same_currency_only) -> list[Adjustment]:
    """The adjustments matching `filters`, oldest request first. `filters.customer`
    is an id or a name (`CustomerError` when it could name several, `customer_id`)."""
    if filters.customer is not None:
        picked = customer_id(book.directory, filters.customer)
        if picked is not None:
            filters = replace(filters, customer=picked)
    found = [a for a in book.adjustments.values() if matches(book, a, filters, today, rates)]
    return sorted(found, key=lambda a: (a.request.date, a.id))


def refusal_of(book: Book, adj: Adjustment, user: str, action: Action,
               date: datetime.date, *, signed: bool = False,
               written: datetime.date | None = None) -> Denial | None:
    """Why `user` may not take `action` on `adj` on `date` (written on `written`,
    when a tool dates it earlier): the replay's rule."""
    return denial(book.rules, adj, action, user, date, signed=signed, written=written)


def may(book: Book, adj: Adjustment, user: str, action: Action, date: datetime.date, *,
        signed: bool = False, written: datetime.date | None = None) -> bool:
    return refusal_of(book, adj, user, action, date, signed=signed, written=written) is None


def eligible_approvers(book: Book, adj: Adjustment, date: datetime.date,
                       rates: Rates | None = None, *, written: datetime.date | None,
                       signed: bool = False) -> list[str]:
    """Users who may fill the next approval level of `adj` on `date`, sorted:
    those `permissions.denial` lets approve (the request's level, or the
    reversal's while it is `reversing`), written on `written` (`writer.written_today`
    when asked about now; None for `date` judged alone). No default, so that no
    caller asks about now on the day alone by leaving it out.

    The book's own rules carry the ledger's prices the plugin judged with
    (a limit in another currency counts only where a price converts it);
    `rates` is accepted for older callers and not used.
    """
    role = adj.next_role
    if role is None:
        return []
    return sorted(user for user in book.directory.users_with_role(role, date)
                  if may(book, adj, user, Action.APPROVE, date, signed=signed,
                         written=written))


def requirements(adj: Adjustment) -> str:
    """What `adj` still needs, in one sentence."""
    state = adj.state
    if state is State.PENDING:
        total = len(adj.chain)
        left = adj.chain[adj.level:]
        then = f", then {' > '.join(left[1:])}" if len(left) > 1 else ""
        return (f"approval {adj.level + 1} of {total}: a {left[0]}{then} "
                "(each by a different person, not the requester)")
    if state is State.REVERSING:
        chain, done = adj.reversal_chain, len(adj.reversal_approvals)
        if done >= len(chain):
            return "its reversal awaits booking"
        left = chain[done:]
        then = f", then {' > '.join(left[1:])}" if len(left) > 1 else ""
        return (f"reversal awaits approval by {left[0]}{then} (level {done + 1} of "
                f"{len(chain)}; not the canceller or the requester)")
    if state is State.APPROVED:
        return "approved; an apply books it" if adj.separate_apply else "approved"
    if state is State.INVALID:
        return "nothing can happen until the request is fixed: " + "; ".join(
            p.message for p in adj.problems) if adj.problems else "the request is invalid"
    return f"nothing: it is {state}"


def rule_text(adj: Adjustment, book: Book) -> str:
    """The rule that set the chain, in words: the matrix row, why a request
    the matrix would approve automatically needs approval after all, or why
    it needs no approver (`automatic_text`)."""
    rule = adj.rule
    asked = adj.request.approval_required and adj.chain
    if asked and (rule is None or not rule.roles):
        return ("approval asked by the requester: the policy's manual chain "
                + " > ".join(adj.chain))
    if asked and rule is not None and _below(adj.judged or adj.amount, rule.threshold):
        return f"approval asked by the requester: the first level of {rule.describe()}"
    if rule is not None:
        return rule.describe()
    return automatic_text(adj, book, adj.request.date)


def automatic_text(adj: Adjustment, book: Book, on: datetime.date) -> str:
    """Why the policy needs no approver for `adj` (its arrival, or its reversal
    asked on `on`), as the replay chose: the row with no roles its amount falls
    in, the row of its shape whose first threshold its amount is below, or that
    no row matches it."""
    request = adj.request
    rows = book.matrix.candidates(request.type, request.category, adj.tier,
                                  tuple(adj.risk_flags), on)
    if not rows or adj.amount is None:
        return "automatic (no matching row)"
    try:
        chosen = Matrix.choose_from(rows, adj.amount, request.date, book.rules.rates)
    except MissingPrice:
        chosen = None
    if chosen is not None:
        return chosen.describe()
    # Below every row that fits: name the most specific one's first level.
    shape = rows[0]
    first = min((r for r in rows if r.key[:4] == shape.key[:4]
                 and r.threshold.currency == shape.threshold.currency),
                key=lambda r: r.threshold.number)
    amount = adj.judged or adj.amount
    return f"automatic: {amount} is below the first threshold of {first.describe()}"


def _below(amount: Money | None, threshold: Money) -> bool:
    """Below the row's threshold: the row was not chosen by the amount."""
    return (amount is not None and amount.currency == threshold.currency
            and amount.number < threshold.number)


def requester_text(request: Request) -> str:
    """Who filed `request`: its requester, and who entered it for them when that is
    someone else (`entered-by:`, as a CSV row's `requested-by`, a schedule's or an
    agent's filing on behalf writes it): both count as its requesters."""
    entered = request.entrant
    return request.requested_by + (f" (entered by {entered})" if entered else "")


def customer_name(book: Book, customer: str, on: datetime.date) -> str:
    """`customer`'s declared name on `on` (else its latest one), or ""."""
    directory = book.directory
    record = directory.customer_on(customer, on)
    if record is None:
        records = directory.customers.get(customer)
        record = records[-1] if records else None
    return (record.name or "") if record is not None else ""


def customer_text(book: Book, customer: str, on: datetime.date) -> str:
    """"Name (id)" for a customer with a declared name, else the id."""
    name = customer_name(book, customer, on)
    return f"{name} ({customer})" if name else customer


def approval_text(adj: Adjustment) -> str:
    """`approved automatically` or the chain of roles it needs."""
    if not adj.chain:
        return "approved automatically"
    return " > ".join(adj.chain)


def _money(money: Money | None) -> dict[str, str] | None:
    if money is None:
        return None
    return {"number": str(money.number), "currency": money.currency}


def row(adj: Adjustment, book: Book, today: datetime.date,
        rates: Rates = same_currency_only, *,
        written: datetime.date | None) -> dict[str, Any]:
    """One adjustment as plain JSON-ready data (`eligible` written on `written`, as
    `eligible_approvers`)."""
    request = adj.request
    return {
        "id": adj.id,
        "date": request.date.isoformat(),
        "state": str(adj.state),
        "type": request.type,
        "category": request.category,
        "customer": request.customer,
        "requested_by": request.requested_by,
        "entered_by": request.entrant,
        "reason": request.reason,
        "amount": _money(adj.amount),
        "chain": list(adj.chain),
        "approvals": [{"by": a.by, "role": a.role, "level": a.level,
                       "date": a.date.isoformat()} for a in adj.approvals],
        "next_role": adj.next_role,
        "reversal_chain": list(adj.reversal_chain),
        "reversal_approvals": [{"by": a.by, "role": a.role, "level": a.level,
                                "date": a.date.isoformat()} for a in adj.reversal_approvals],
        "cancelled_by": adj.cancelled_by,
        "eligible": eligible_approvers(book, adj, today, written=written),
        "requires": requirements(adj),
        "age_days": age_days(adj, today),
        "overdue": is_overdue(adj, today),
        "invoice": request.invoice,
        "order": request.order,
        "digest": adj.digest,
        "file": request.source.filename,
        "line": request.source.lineno,
    }


def counts_by_state(adjustments: Iterable[Adjustment]) -> dict[str, int]:
    counts = {str(state): 0 for state in State}
    for adj in adjustments:
        counts[str(adj.state)] += 1
    return counts
