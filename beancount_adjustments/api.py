"""A small public Python API: file, decide on and read adjustments from code.

    from beancount_adjustments import api

    adj = api.create("main.beancount", customer="cust_123", type="credit:refund",
                     amount="50.00 USD", reason="Product return - damaged item",
                     order="order_456", approval_required=True,
                     notes="Customer reported damaged packaging on arrival",
                     external_id="crm-8812", as_user="alice")
    adj.id, adj.state, adj.requires, adj.next_role
    api.approve("main.beancount", adj.id, as_user="bob", seen_digest=adj.digest)
    api.get("main.beancount", adj.id)
    api.list("main.beancount", state="pending", customer="cust_123")

Every change goes through the one writer (`writer.write_requests`,
`writer.write_decisions`): judged as the plugin will judge it, under the
lock, appended atomically, or refused with nothing written. `as_user` is
the acting identity: written as `requested-by:` and `entered-by:` on a
request, as `by:` on a decision.

The rules:

- **Postings** are derived as `bean-adjust create` derives them
  (`postings.request_postings`): the offset account given, else the kind's
  default; the customer's receivable account given, else the one the ledger
  makes unambiguous.
- **Amounts are strict.** A string is read by `amounts.parse_money`
  (`"50.00 USD"`, `"1,234.56 USD"`; `"40,00"` is refused as ambiguous unless
  `decimal_comma=True`; more decimals than the currency has are refused,
  never rounded). A `Decimal` or an `int` is taken as it is. A `float` is
  read as the text Python prints for it (`str(50.0)` is `"50.0"`), then
  strictly: `50.0` is 50.0, while `0.1 + 0.2` (`"0.30000000000000004"`) is
  refused for its decimals; pass a `Decimal` or a string to be exact. A
  `bool` is refused. Without a currency in the amount or `currency=`, the
  currency is that of the ledger's approval matrix when all its rows share
  one; else the call is refused.
- **Types** are `kind:subtype` (`credit:refund`). A bare kind is accepted
  only with a category naming a known subtype of it and no group
  (`type="credit", category="refund"` is read as type `credit:refund`, with
  no category); anything else is refused with the list of types.
- **`external_id` makes a call safe to retry.** If a request with that
  `external-id` is already in the ledger, `create` writes nothing and returns
  that adjustment (`existing=True`), whatever the other arguments say. The
  lookup runs under the writer's lock, so two concurrent retries file once.
- **Bad input raises `ApiError(code, message)`**, never another exception:
  `invalid` (bad argument), `not-found` (no such adjustment), `conflict`
  (the id given is taken), `changed` (`seen_digest` no longer matches),
  `refused` (the writer refused: the plugin would reject it), `forbidden`
  (used by the HTTP layer: no identity), `no-plugin`. `ApiError.status` is
  the HTTP status the Fava endpoints answer with.
- **`approval_required` and `notes`** are written on the request
  (`approval-required: TRUE`, `notes: "..."`) and shown by `show`, `export`
  and the Fava detail page.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount.core import data

from beancount_adjustments import writer
from beancount_adjustments.beans import loading
from beancount_adjustments.beans.loading import Snapshot
from beancount_adjustments.core import amounts
from beancount_adjustments.core.book import Book, CustomerError, customer_id
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Action, Money, State
from beancount_adjustments.core.models import Adjustment as Tracked
from beancount_adjustments.core.policy import known_names
from beancount_adjustments.intake import postings
from beancount_adjustments.plugin import book_of, price_rates
from beancount_adjustments.reports.queries import Filters, eligible_approvers, requirements, select

__all__ = ["STATUS", "Adjustment", "ApiError", "apply", "approve", "cancel", "create",
           "create_fields", "filters_of", "find", "get", "list", "reject"]

STATUS = {"invalid": 400, "forbidden": 403, "not-found": 404, "conflict": 409,
          "changed": 409, "refused": 422, "no-plugin": 422}
"""The HTTP status each error code is answered with (the Fava endpoints)."""

KINDS = ("credit", "debit", "billing")


class ApiError(AdjustmentsError):
    """Why a call did nothing: `code` (see `STATUS`) and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Adjustment:
    """One adjustment as the API returns it."""

    id: str
    state: str
    type: str
    customer: str
    amount: Money | None
    """What it moves (null while the request is invalid)."""
    requires: str
    """In words, what it still needs (`queries.requirements`)."""
    next_role: str | None
    """The role that approves next (None when no approval is due)."""
    chain: tuple[str, ...]
    digest: str
    """Pass back as `seen_digest` to decide on exactly this content."""
    category: str | None = None
    reason: str = ""
    requested_by: str = ""
    external_id: str | None = None
    approval_required: bool = False
    notes: str | None = None
    problems: tuple[str, ...] = ()
    rule: str = ""
    """The approval row that set the chain, in words ("" when none chose it)."""
    separate_apply: bool = False
    """Approval does not book it: an apply does (the type's policy)."""
    eligible: tuple[str, ...] = ()
    """Who may give the next approval today (`permissions.denial`); `list` leaves
    it empty (it would ask the rule for every user and item)."""
    on_statement: bool = True
    """False: the customer's statement shows it as an "Account adjustment" only."""
    aging_from: datetime.date | None = None
    """The day its amount starts aging on the statement (None: the day it is booked)."""
    existing: bool = field(default=False, compare=False)
    """True when `create` found it already filed under its `external_id` (nothing written)."""

    @classmethod
    def of(cls, adj: Tracked, *, existing: bool = False, book: Book | None = None) -> Adjustment:
        r = adj.request
        eligible = (tuple(eligible_approvers(book, adj, max(r.date, datetime.date.today())))
                    if book is not None else ())
        return cls(id=adj.id, state=str(adj.state), type=r.type, customer=r.customer,
                   amount=adj.amount, requires=requirements(adj), next_role=adj.next_role,
                   chain=tuple(adj.chain), digest=adj.digest, category=r.category,
                   reason=r.reason, requested_by=r.requested_by, external_id=r.external_id,
                   approval_required=r.approval_required, notes=r.notes,
                   problems=tuple(p.message for p in adj.problems),
                   rule=adj.rule.describe() if adj.rule is not None else "",
                   separate_apply=adj.separate_apply, eligible=eligible,
                   on_statement=r.on_statement, aging_from=r.aging_from, existing=existing)

    def as_json(self) -> dict[str, Any]:
        amount = (None if self.amount is None else
                  {"number": amounts.number_text(self.amount.number),
                   "currency": self.amount.currency})
        return {"id": self.id, "state": self.state, "type": self.type,
                "category": self.category, "customer": self.customer, "amount": amount,
                "reason": self.reason, "requested_by": self.requested_by,
                "requires": self.requires, "next_role": self.next_role,
                "chain": builtins.list(self.chain), "digest": self.digest,
                "external_id": self.external_id, "approval_required": self.approval_required,
                "notes": self.notes, "problems": builtins.list(self.problems),
                "rule": self.rule, "separate_apply": self.separate_apply,
                "eligible": builtins.list(self.eligible), "on_statement": self.on_statement,
                "aging_from": self.aging_from.isoformat() if self.aging_from else None}


# -- reading ---------------------------------------------------------------------


def _load(ledger: str | Path) -> tuple[builtins.list[data.Directive], Book]:
    path = Path(ledger)
    if not path.is_file():
        raise ApiError("invalid", f"{path} does not exist")
    entries, _errors, options = loading.load_file(str(path))
    book = book_of(options)
    if book is None:
        raise ApiError("no-plugin", f'{path} does not enable the plugin; add plugin '
                       '"beancount_adjustments"')
    return entries, book


def get(ledger: str | Path, adjustment_id: str) -> Adjustment:
    """One adjustment; `ApiError("not-found")` if the ledger has none with that id."""
    _entries, book = _load(ledger)
    adj = book.get(adjustment_id)
    if adj is None:
        raise ApiError("not-found", f"no adjustment {adjustment_id!r}")
    return Adjustment.of(adj, book=book)


def list(ledger: str | Path, *, state: str | Iterable[str] | None = None,
         type: str | None = None, category: str | None = None,
         customer: str | None = None, requester: str | None = None,
         older_than: int | None = None, awaiting: str | None = None,
         below: str | Money | None = None,
         today: datetime.date | None = None) -> builtins.list[Adjustment]:
    """The adjustments matching every filter given, oldest first: `bean-adjust list`'s
    filters (`queries.Filters`). `state` is one state or several; `type` and
    `category` are patterns (`credit:*`); `below` an amount (`"50 USD"`)."""
    filters = filters_of(state=state, type=type, category=category, customer=customer,
                         requester=requester, older_than=older_than, awaiting=awaiting,
                         below=below)
    entries, book = _load(ledger)
    return find(entries, book, filters, today)


def filters_of(*, state: str | Iterable[str] | None = None, type: str | None = None,
               category: str | None = None, customer: str | None = None,
               requester: str | None = None, older_than: int | None = None,
               awaiting: str | None = None, below: str | Money | None = None) -> Filters:
    """`queries.Filters` from `list`'s arguments, checked (`ApiError("invalid")`)."""
    if older_than is not None and (isinstance(older_than, bool) or not isinstance(
            older_than, int) or older_than < 0):
        raise ApiError("invalid", "older_than is a number of days, 0 or more")
    limit = _money(below, None, "below") if below is not None else None
    if limit is not None and not limit.currency:
        raise ApiError("invalid", "below needs a currency, like \"50 USD\"")
    for name, value in (("type", type), ("category", category), ("customer", customer),
                        ("requester", requester), ("awaiting", awaiting)):
        _text(name, value)
    return Filters(states=_states(state), type=type, category=category, customer=customer,
                   requester=requester, older_than=older_than, awaiting=awaiting, below=limit)


def find(entries: Iterable[data.Directive], book: Book, filters: Filters,
         today: datetime.date | None = None) -> builtins.list[Adjustment]:
    """`list` over a ledger already loaded (its entries and the plugin's book)."""
    entries = builtins.list(entries)
    rates = price_rates([e for e in entries if isinstance(e, data.Price)])
    try:
        found = select(book, filters, today or datetime.date.today(), rates)
    except CustomerError as exc:
        raise ApiError("invalid", str(exc)) from None
    return [Adjustment.of(a) for a in found]


def _states(state: str | Iterable[str] | None) -> set[State] | None:
    if state is None:
        return None
    names = [state] if isinstance(state, str) else builtins.list(state)
    out: set[State] = set()
    for name in names:
        try:
            out.add(State(str(name).strip()))
        except ValueError:
            raise ApiError("invalid", f"unknown state {name!r}; one of "
                           f"{', '.join(s.value for s in State)}") from None
    return out


# -- amounts and types -------------------------------------------------------------


def _money(amount: object, currency: str | None, what: str = "amount", *,
           decimal_comma: bool = False) -> Money:
    """`amount` read strictly (see the module's rules); the currency may stay "" (unknown)."""
    if isinstance(amount, Money):
        number, given = amount.number, amount.currency
    elif isinstance(amount, bool) or amount is None:
        raise ApiError("invalid", f"{what} must be a number or a text like \"50.00 USD\", "
                       f"not {amount!r}")
    elif isinstance(amount, str):
        text = amount.strip()
        parts = text.split()
        if len(parts) == 2 and parts[0][:1].isalpha():  # USD 50.00
            text = f"{parts[1]} {parts[0]}"
        try:
            if len(text.split()) >= 2 or currency:
                money = amounts.parse_money(text, currency=currency, decimal_comma=decimal_comma)
                if currency and money.currency != currency:
                    raise ApiError("invalid", f"{what} is in {money.currency} but currency "
                                   f"says {currency}")
                return money
            number, given = amounts.parse_number(text, decimal_comma=decimal_comma), ""
        except amounts.AmountError as exc:
            raise ApiError("invalid", f"{what}: {exc}") from None
    elif isinstance(amount, float):
        return _money(str(amount), currency, what)
    elif isinstance(amount, int):
        number, given = Decimal(amount), currency or ""
    elif isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ApiError("invalid", f"{what}: {amount} is not a number")
        number, given = amount, currency or ""
    else:
        raise ApiError("invalid", f"{what} must be a number or a text like \"50.00 USD\", "
                       f"not a {type(amount).__name__}")
    if given:
        try:
            checked = amounts.parse_money(amounts.number_text(number), currency=given)
        except amounts.AmountError as exc:
            raise ApiError("invalid", f"{what}: {exc}") from None
        return Money(number, checked.currency)
    return Money(number, "")


def _ledger_currency(book: Book) -> str:
    currencies = {row.threshold.currency for row in book.facts.rows}
    if len(currencies) == 1:
        return currencies.pop()
    raise ApiError("invalid", "the amount needs a currency (\"50.00 USD\" or currency=): the "
                   "ledger's approval matrix does not name one currency to default to")


def _full_type(kind_or_type: str, category: str | None, book: Book,
               date: datetime.date) -> tuple[str, str | None]:
    """(type, category): a full type as given, or the one unambiguous reading of a bare kind."""
    given = kind_or_type.strip()
    types = known_names(book.facts.declarations, "type", date)
    if ":" in given:
        return given, category
    if given in KINDS and category and ":" not in category:
        candidate = f"{given}:{category.strip()}"
        if book.known(candidate, "type", date):
            return candidate, None
    of_kind = [t for t in types if t.startswith(given + ":")] if given in KINDS else types
    raise ApiError("invalid", f"type {given!r} is not a full type (kind:subtype); one of "
                   f"{', '.join(of_kind)}")


# -- writing ----------------------------------------------------------------------


class _Found(Exception):
    """Raised from inside the writer's load: the request is already filed."""

    def __init__(self, adjustment: Adjustment) -> None:
        super().__init__(adjustment.id)
        self.adjustment = adjustment


def _text(name: str, value: object, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ApiError("invalid", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError("invalid", f"{name} must be text, not {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise ApiError("invalid", f"{name} is required")
    problem = writer.control_problem(name, text, one_line=name not in ("reason", "notes"))
    if problem is None and name == "notes" and "\n" in text:
        problem = "notes hold a line break; write them on one line"
    if problem is not None:
        raise ApiError("invalid", problem)
    return text or None


def _date(name: str, value: object) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ApiError("invalid", f"{name} must be a date (YYYY-MM-DD), not {value!r}")


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
    user = _text("as_user", as_user, required=True) or ""
    who = _text("customer", customer, required=True) or ""
    why = _text("reason", reason, required=True) or ""
    given_type = _text("type", type, required=True) or ""
    texts = {name: _text(name, value) for name, value in (
        ("category", category), ("invoice", invoice), ("order", order), ("ticket", ticket),
        ("document", document), ("notes", notes), ("external_id", external_id),
        ("currency", currency), ("offset_account", offset_account),
        ("receivable_account", receivable_account), ("id", id), ("narration", narration))}
    for flag, value in (("approval_required", approval_required),
                        ("on_statement", on_statement)):
        if not isinstance(value, bool):
            raise ApiError("invalid", f"{flag} must be true or false")
    on = _date("effective", effective)
    ages = _date("aging_from", aging_from)
    day = _date("date", date)
    money = _money(amount, texts["currency"], decimal_comma=decimal_comma)
    ext = texts["external_id"]
    chosen: dict[str, Any] = {}

    def request(entries: builtins.list[data.Directive], book: Book) -> builtins.list[
            writer.NewRequest]:
        if ext:
            for filed in book.facts.requests:
                adj = book.get(filed.id) if filed.external_id == ext else None
                if adj is None:
                    continue
                if user not in (filed.requested_by, filed.entered_by):
                    # A retry is its filer's: another user's call must not be handed
                    # someone else's request (reason, notes) as if it were theirs.
                    raise ApiError("conflict", f"external_id {ext!r} is already used by a "
                                   "request another user filed; use your own external_id")
                raise _Found(Adjustment.of(adj, existing=True, book=book))
        if texts["id"] and texts["id"] in book.adjustments:
            raise ApiError("conflict", f"the id {texts['id']} is already taken")
        try:
            # A name picks its customer; a customer named nowhere is the writer's refusal.
            customer_given = customer_id(book.directory, who) or who
        except CustomerError as exc:
            raise ApiError("invalid", str(exc)) from None
        full, cat = _full_type(given_type, texts["category"], book,
                               day or datetime.date.today())
        priced = money if money.currency else _money(money.number, _ledger_currency(book))
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
        return [writer.NewRequest(
            type=full, customer=customer_given, requested_by=user, reason=why, postings=legs,
            category=cat, id=texts["id"], narration=texts["narration"], date=day, meta=meta,
            entered_by=user)]

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


def _decide(ledger: str | Path, adjustment_id: str, action: Action, *, as_user: str,
            reason: str | None, comment: str | None, effective: datetime.date | str | None,
            seen_digest: str | None, date: datetime.date | str | None,
            target: str | Path | None, customer_reason: str | None = None) -> Adjustment:
    user = _text("as_user", as_user, required=True) or ""
    adj_id = _text("id", adjustment_id, required=True) or ""
    why = _text("reason", reason, required=action in (Action.REJECT, Action.CANCEL))
    note = _text("comment", comment)
    told = _text("customer_reason", customer_reason)
    digest = _text("seen_digest", seen_digest)
    on, day = _date("effective", effective), _date("date", date)

    def decision(entries: builtins.list[data.Directive], book: Book) -> builtins.list[
            writer.Decision]:
        if book.get(adj_id) is None:
            raise ApiError("not-found", f"no adjustment {adj_id!r}")
        return [writer.Decision(adjustment_id=adj_id, action=action, by=user, reason=why,
                                comment=note, effective=on, date=day, seen_digest=digest,
                                customer_reason=told)]

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
            date: datetime.date | str | None = None,
            target: str | Path | None = None) -> Adjustment:
    """Approve the next level (of the request, or of its reversal while `reversing`)."""
    return _decide(ledger, adjustment_id, Action.APPROVE, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest, date=date,
                   target=target)


def reject(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str,
           comment: str | None = None, seen_digest: str | None = None,
           date: datetime.date | str | None = None,
           target: str | Path | None = None, customer_reason: str | None = None) -> Adjustment:
    """Reject a pending request (or a pending reversal); `reason` is required (staff
    only); `customer_reason` is what the customer is told (`customer-reason:`)."""
    return _decide(ledger, adjustment_id, Action.REJECT, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest, date=date,
                   target=target, customer_reason=customer_reason)


def apply(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str | None = None,
          comment: str | None = None, effective: datetime.date | str | None = None,
          seen_digest: str | None = None, date: datetime.date | str | None = None,
          target: str | Path | None = None) -> Adjustment:
    """Apply an approved adjustment whose type's policy makes applying a separate step."""
    return _decide(ledger, adjustment_id, Action.APPLY, as_user=as_user, reason=reason,
                   comment=comment, effective=effective, seen_digest=seen_digest, date=date,
                   target=target)


def cancel(ledger: str | Path, adjustment_id: str, *, as_user: str, reason: str,
           comment: str | None = None, seen_digest: str | None = None,
           date: datetime.date | str | None = None,
           target: str | Path | None = None, customer_reason: str | None = None) -> Adjustment:
    """Withdraw a request, or ask for the reversal of an applied one; `reason` is required
    (staff only); `customer_reason` is what the customer is told (`customer-reason:`)."""
    return _decide(ledger, adjustment_id, Action.CANCEL, as_user=as_user, reason=reason,
                   comment=comment, effective=None, seen_digest=seen_digest, date=date,
                   target=target, customer_reason=customer_reason)


# -- JSON bodies (the Fava endpoint) ---------------------------------------------------

FIELDS = ("customer", "type", "amount", "currency", "reason", "category", "invoice", "order",
          "ticket", "document", "effective", "approval_required", "notes", "external_id", "id",
          "on_statement", "aging_from")
FLAGS = ("approval_required", "on_statement")
ALIASES = {"customerId": "customer", "orderId": "order", "invoiceId": "invoice",
           "ticketId": "ticket", "approvalRequired": "approval_required",
           "approval-required": "approval_required", "externalId": "external_id",
           "external-id": "external_id", "onStatement": "on_statement",
           "on-statement": "on_statement", "agingFrom": "aging_from",
           "aging-from": "aging_from"}
"""Other spellings a JSON body may use (the seed's camelCase, the ledger's keys)."""


def create_fields(body: Mapping[str, object]) -> dict[str, Any]:
    """`create`'s keyword arguments from a JSON object (`FIELDS`, or an `ALIASES` spelling);
    an unknown or repeated field is refused. Read numbers with `parse_float=Decimal`."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = ALIASES.get(key, key)
        if name not in FIELDS:
            raise ApiError("invalid", f"unknown field {key!r}; the fields are "
                           f"{', '.join(FIELDS)}")
        if name in out:
            raise ApiError("invalid", f"{name} is given twice")
        out[name] = value
    for name in ("customer", "type", "amount", "reason"):
        if out.get(name) in (None, ""):
            raise ApiError("invalid", f"{name} is required")
    for flag in FLAGS:
        if flag in out and not isinstance(out[flag], bool):
            raise ApiError("invalid", f"{flag} must be true or false")
    return out
