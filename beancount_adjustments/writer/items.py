"""Turning a `Decision` or a `NewRequest` into the text of one entry.

Before rendering, what the book cannot see is refused: an empty identity,
an unknown id, an id already taken, an account not open on the date,
postings that do not balance, control characters, numbers no one meant.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount_adjustments.beans import render
from beancount_adjustments.beans.metadata import written_text_problem
from beancount_adjustments.core.days import iso_day
from beancount_adjustments.core.lifecycle import reversal_number, step_shown
from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Money,
    Request,
    State,
    kind_of,
)
from beancount_adjustments.core.permissions import limit_judged
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.core.signatures import Recorded, sign_event, signed_action
from beancount_adjustments.writer.ids import Ids
from beancount_adjustments.writer.ledger import Item, Ledger
from beancount_adjustments.writer.results import Decision, NewRequest
from beancount_adjustments.writer.retries import differences

CORE_REQUEST_KEYS = frozenset({"adjustment-type", "category", "customer", "reason",
                               "requested-by", "adjustment-id", "entered-by", "at", "chain",
                               "judged"})
DATE_META_KEYS = frozenset({"effective", "aging-from"})
BOOL_META_KEYS = frozenset({"approval-required", "on-statement"})
"""Keys written as Beancount booleans (`TRUE`/`FALSE`) from the texts "TRUE"/"FALSE"."""

MAX_WHOLE_DIGITS = 15
"""Digits before the decimal point a posting may have (as `amounts.MAX_DIGITS`)."""


def decision_item(led: Ledger, index: int, decision: Decision, *,
                  after: int | None = None) -> Item:
    """The event `decision` writes, judged on `led.book`; `after`: the index of the
    decision of the same write it follows, whose outcome that book holds."""
    key = decision.adjustment_id.strip() or "(no id)"
    item = Item(index, key, "", step=decision.seen_step)
    by = decision.by.strip()
    adj = led.book.get(decision.adjustment_id)
    action = Action(decision.action)
    control = next(filter(None, (
        written_text_problem("the id", decision.adjustment_id),
        written_text_problem("by", decision.by),
        written_text_problem("the reason", decision.reason, one_line=False),
        written_text_problem("the comment", decision.comment, one_line=False),
        written_text_problem("the customer reason", decision.customer_reason,
                             one_line=False))),
        None)
    if control is not None:
        item.refusal = control
    elif _clean(decision.customer_reason) and action not in (Action.REJECT, Action.CANCEL):
        item.refusal = (f"a customer reason goes with a reject or a cancel (what the customer "
                        f"is told), not with an {action}")
    elif not by:
        item.refusal = "every decision needs an identity (who decides); none was given"
    elif adj is None:
        item.refusal = (f"no request has the id {decision.adjustment_id!r}; check the "
                        "spelling")
    elif action in (Action.REJECT, Action.CANCEL) and not (decision.reason or "").strip():
        item.refusal = f"a {action} needs a reason saying why"
    elif decision.seen_digest is not None and decision.seen_digest != adj.digest:
        item.refusal = (f"{adj.id} changed since it was shown to you (digest "
                        f"{decision.seen_digest} shown, now {adj.digest}); reload and decide "
                        "again on what it holds now")
        item.code = "changed"
    elif decision.seen_step is not None and decision.seen_step != step_shown(adj):
        item.refusal = (f"{adj.id} moved on since it was shown to you (it awaited "
                        f"{decision.seen_step}, now {step_shown(adj)}); reload and decide "
                        "again on what it awaits now") if after is None else (
            f"{adj.id} awaits {step_shown(adj)} after decision {after + 1} of the batch, "
            f"not {decision.seen_step}, the step decision {index + 1} names; decide it "
            "again on what it awaits then")
        item.code = "changed"
    if item.refusal is not None:
        return item
    assert adj is not None
    date = decision.date or led.today
    approving = action is Action.APPROVE
    # What the event records of when it is written and what its approver is shown:
    # written as these lines and signed as them, one value for both.
    recorded = Recorded(
        at=led.stamp, chain=adj.deciding_chain if approving else None,
        judged=judged_value(adj) if approving else None,
        limit_judged=limit_value(led, adj, by, date) if approving else None)
    signature = None
    if decision.sign_with is not None:
        try:
            reversal = reversal_number(adj.history) if adj.state is State.REVERSING else 0
            signature = sign_event(decision.sign_with, adj.id, signed_action(
                str(action), reversal=reversal), by, date, adj.digest, decision.effective,
                recorded=recorded)
        except (OSError, ValueError, TypeError) as exc:
            item.refusal = f"cannot sign with {decision.sign_with}: {exc}"
            return item
    item.text = render.render_event(
        date=date, adjustment_id=adj.id, action=str(action),
        meta=[("by", by), ("reason", _clean(decision.reason)),
              ("comment", _clean(decision.comment)),
              ("customer-reason", _clean(decision.customer_reason)),
              ("effective", decision.effective),
              ("at", recorded.at), ("digest", adj.digest),
              ("chain", None if recorded.chain is None else chain_text(recorded.chain)),
              ("judged", recorded.judged), ("limit-judged", recorded.limit_judged),
              ("signature", signature)])
    return item


def unwritten_before(adj_id: str, index: int, earlier: int, step: str | None) -> str:
    """Why the decision at `index` is refused when the one of the write it follows
    (at `earlier`) is not written: it named the step that one would leave."""
    return (f"{adj_id}: decision {earlier + 1} of the batch, which decision {index + 1} "
            f"follows, is not written, so {adj_id} would not await {step}, the step "
            f"decision {index + 1} names")


def judged_value(adj: Adjustment) -> Money | None:
    """`adj.judged` as written: to the precision of the amount, at least cents (the
    replay compares it at the digits written, `core.written.same_amount`)."""
    judged = adj.judged
    if judged is None:
        return None
    return judged_text(judged, adj.amount)


def limit_value(led: Ledger, adj: Adjustment, by: str, date: datetime.date) -> Money | None:
    """The amount `by`'s limit is checked at (`permissions.limit_judged`), as written."""
    value = limit_judged(led.book.rules, adj, by, date)
    return None if value is None else judged_text(value, adj.amount)


def judged_text(judged: Money, amount: Money | None) -> Money:
    exponent = -2
    if amount is not None:
        own = amount.number.as_tuple().exponent
        if isinstance(own, int):
            exponent = min(exponent, own)
    try:
        return Money(judged.number.quantize(Decimal(1).scaleb(exponent)), judged.currency)
    except ArithmeticError:
        return judged


def _clean(text: str | None) -> str | None:
    return text.strip() if text is not None and text.strip() else None


def request_item(led: Ledger, index: int, new: NewRequest, ids: Ids,
                  external: dict[str, Request | str]) -> Item:
    date = new.date or led.today
    adj_id = new.id.strip() if new.id is not None else ids.next(date.year)
    item = Item(index, adj_id or "(no id)", "")
    item.refusal = _request_refusal(led, new, adj_id, date, allocated=ids.allocated,
                                   external=external)
    ids.add(adj_id)
    if item.refusal is not None:
        return item
    ext = (new.meta.get("external-id") or "").strip()
    if ext:
        # Later requests of the same batch meet this one under its id.
        external[ext] = adj_id
    meta: list[tuple[str, render.MetaValue | None]] = [
        ("adjustment-type", new.type.strip()), ("category", _clean(new.category)),
        ("customer", new.customer.strip()), ("reason", new.reason.strip()),
        ("requested-by", new.requested_by.strip()), ("entered-by", _clean(new.entered_by))]
    for key, value in new.meta.items():
        meta.append((key, _meta_value(key, value)))
    meta.append(("at", led.stamp))

    # The payee is who the journal and the exports name: the customer's declared
    # name on the request's date, its id where it has none.
    record = led.book.directory.customer_on(new.customer.strip(), date)
    payee = new.payee or (record.name if record is not None and record.name
                          else new.customer.strip())

    def rerender(more: list[tuple[str, render.MetaValue | None]]) -> str:
        return render.render_request(
            date=date, adjustment_id=adj_id, payee=payee,
            narration=new.narration or new.reason.strip(), meta=[*meta, *more],
            postings=new.postings)

    item.text = rerender([])
    item.rerender = rerender
    return item


def request_meta(*, invoice: str | None = None, order: str | None = None,
                 ticket: str | None = None, document: str | None = None,
                 effective: datetime.date | None = None, approval_required: bool = False,
                 notes: str | None = None, external_id: str | None = None,
                 on_statement: bool = True,
                 aging_from: datetime.date | None = None) -> dict[str, str]:
    """`NewRequest.meta` for the optional fields of a request, in the order they
    are written; empty ones left out (`approval-required: TRUE` and `on-statement:
    FALSE` only when asked)."""
    values = (("invoice", invoice), ("order", order), ("ticket", ticket),
              ("document", document), ("effective", effective.isoformat() if effective else None),
              ("external-id", external_id),
              ("approval-required", "TRUE" if approval_required else None), ("notes", notes),
              ("on-statement", None if on_statement else "FALSE"),
              ("aging-from", aging_from.isoformat() if aging_from else None))
    return {key: value for key, value in values if value is not None and value.strip()}


def _meta_value(key: str, value: str) -> render.MetaValue | None:
    value = value.strip()
    if not value:
        return None
    if key in BOOL_META_KEYS and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    if key in DATE_META_KEYS:
        # Not a strict day: written as text, and the reader says why it is no date.
        return iso_day(value) or value
    return value


def _request_refusal(led: Ledger, new: NewRequest, adj_id: str, date: datetime.date, *,
                     allocated: set[str], external: dict[str, Request | str]) -> str | None:
    book = led.book
    control = _request_control_problem(new, adj_id)
    if control is not None:
        return control
    for name, value in (("requested-by", new.requested_by), ("type", new.type),
                        ("customer", new.customer), ("reason", new.reason)):
        if not value.strip():
            return ("a request needs an identity (requested-by); none was given"
                    if name == "requested-by" else f"a request needs a {name}")
    if not render.LINK_RE.match(adj_id):
        return f"{adj_id!r} cannot be an id: use letters, digits and - _ . / only"
    if adj_id in book.adjustments or adj_id in allocated:
        return f"the id {adj_id} is already taken; choose another or let the tool assign one"
    for key in new.meta:
        if not render.META_KEY_RE.match(key):
            return f"{key!r} is not a metadata key (lowercase letter, then letters, digits, -)"
        if key in CORE_REQUEST_KEYS:
            return f"`{key}` is set by its own field, not through meta"
    ext = (new.meta.get("external-id") or "").strip()
    if ext and ext in external:
        # Said with what this one asks for otherwise (`retries.differences`), so a
        # changed amount under a reused id reads as another request, not a duplicate.
        # `external`: the ledger's request under each id (`facts.filed_requests`), or
        # the id of one earlier in this batch.
        filed = external[ext]
        found = differences(filed, new) if isinstance(filed, Request) else []
        asks = f" and this one asks for {'; '.join(found)}" if found else ""
        held = filed.id if isinstance(filed, Request) else filed
        return (f"external-id {ext!r} is already recorded as {held}{asks}; "
                "not importing twice")
    if not new.postings:
        return "a request needs postings"
    opened, closed = led.accounts
    totals: dict[str, Decimal] = {}
    for account, number, currency in new.postings:
        number_problem = _number_problem(account, number, currency)
        if number_problem is not None:
            return number_problem
        if account not in opened:
            return (f"account {account} is not opened in the ledger; add `open` for it or "
                    "choose another account")
        if opened[account] > date:
            return f"account {account} opens on {opened[account]}, after the request ({date})"
        if account in closed and closed[account] <= date:
            return f"account {account} is closed since {closed[account]}"
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(number)
    unbalanced = {c: n for c, n in totals.items() if n != 0}
    if unbalanced:
        off = ", ".join(f"{n} {c}" for c, n in sorted(unbalanced.items()))
        return f"the postings do not balance (they leave {off})"
    try:
        kind_of(new.type.strip())
    except ValueError:
        return (f"adjustment type {new.type!r} must start with credit:, debit: or billing: "
                "(for example credit:refund)")
    return None


def _request_control_problem(new: NewRequest, adj_id: str) -> str | None:
    one_line = [("the id", adj_id), ("requested-by", new.requested_by), ("the type", new.type),
                ("the customer", new.customer), ("the category", new.category),
                ("the payee", new.payee), ("entered-by", new.entered_by)]
    one_line += [(f"`{key}`", value) for key, value in new.meta.items()]
    one_line += [(f"posting {account!r}", f"{account} {currency}")
                 for account, _, currency in new.postings]
    for what, text in one_line:
        problem = written_text_problem(what, text)
        if problem is not None:
            return problem
    for what, text in (("the reason", new.reason), ("the narration", new.narration)):
        problem = written_text_problem(what, text, one_line=False)
        if problem is not None:
            return problem
    return None


def _number_problem(account: str, number: Decimal, currency: str) -> str | None:
    """A posting number Beancount could not hold as written (or no one meant)."""
    try:
        number = Decimal(number)
    except (ArithmeticError, TypeError, ValueError):
        return f"the amount of {account} ({number!r}) is not a number"
    if not number.is_finite():
        return f"the amount of {account} ({number}) is not a finite number"
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if number != 0 and len(digits) + exponent > MAX_WHOLE_DIGITS:
        return (f"the amount of {account} ({number} {currency}) has more than "
                f"{MAX_WHOLE_DIGITS} digits before the decimal point; that is not an "
                "adjustment amount")
    return None

