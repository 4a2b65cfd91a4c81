"""View models for the reviewer's workspace, built from the Book.

Nothing here knows Fava or Flask: every function takes the replayed `Book`
(and plain values: today's date, the acting user, the request's query
arguments as a mapping) and returns frozen dataclasses the templates render
and the JSON endpoints serialise. The extension class is a thin adapter
over these functions.
"""

from __future__ import annotations

import bisect
import datetime
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from beancount.core import compare, data

from beancount_adjustments.beans.effects import TAG_APPLIED, TAG_REVERSAL
from beancount_adjustments.core import policy
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.lifecycle import allowed
from beancount_adjustments.core.models import (
    BOOKED_STATES,
    OPEN_STATES,
    Action,
    Adjustment,
    Approval,
    CustomerRecord,
    Money,
    Posting,
    Problem,
    Reference,
    State,
)
from beancount_adjustments.core.permissions import Denial
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.reports import queries
from beancount_adjustments.reports.queries import age_days, is_overdue, same_currency_only

SORT_KEYS = ("age", "amount", "id", "customer", "type", "requester", "date", "level")
PER_PAGE = 50


def fmt_number(number: Decimal) -> str:
    return f"{number:,.2f}"


def fmt_money(money: Money | None) -> str:
    return "" if money is None else f"{fmt_number(money.number)} {money.currency}"


@dataclass(frozen=True)
class CustomerLabel:
    """A customer as the pages show it: the declared name, the id on hover
    (the `customer` macro of adj_macros.html renders it)."""

    id: str
    name: str = ""

    @property
    def text(self) -> str:
        """Plain text (CLI, CSV): "Name (id)", or the id alone."""
        return f"{self.name} ({self.id})" if self.name else self.id


def customer_label(index: BookIndex, customer: str, on: datetime.date) -> CustomerLabel:
    """`customer`'s declared name on `on` (else its latest one, else none)."""
    return label_of(index.book, customer, on)


def label_of(book: Book, customer: str, on: datetime.date) -> CustomerLabel:
    return CustomerLabel(customer, queries.customer_name(book, customer, on))


@dataclass(frozen=True)
class DateRange:
    """A half-open range of request dates: begin <= date < end."""

    begin: datetime.date
    end: datetime.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, datetime.date) and self.begin <= day < self.end

    def describe(self) -> str:
        last = self.end - datetime.timedelta(days=1)
        return f"{self.begin.isoformat()} to {last.isoformat()}"


# -- the book's index, built once per load -----------------------------------


@dataclass
class BookIndex:
    """What the pages look up often, computed once per load of the ledger."""

    book: Book
    by_customer: dict[str, list[Adjustment]]
    open_items: list[Adjustment]
    by_invoice: dict[str, list[Adjustment]]
    customer_balances: Mapping[str, Mapping[str, Decimal]]
    rates: Rates = same_currency_only
    """The ledger's prices, as the plugin judged with them (limits in another
    currency than an amount are converted, never guessed)."""
    _holders: dict[tuple[str, datetime.date], list[str]] = field(default_factory=dict)
    _roles: dict[tuple[str, datetime.date], tuple[str, ...]] = field(default_factory=dict)
    _approver_roles: dict[datetime.date, frozenset[str]] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict)
    """Per-load results (queue rows per user and day, reports per period)."""
    refusals: dict[tuple[str, str, Action, datetime.date], Denial | None] = field(
        default_factory=dict)
    """Per-load answers of `permissions.denial` (adjustment, user, action, day)."""

    @classmethod
    def build(cls, book: Book,
              customer_balances: Mapping[str, Mapping[str, Decimal]] | None = None,
              rates: Rates = same_currency_only) -> BookIndex:
        by_customer: dict[str, list[Adjustment]] = {}
        open_items: list[Adjustment] = []
        by_invoice: dict[str, list[Adjustment]] = {}
        for adj in book.adjustments.values():
            by_customer.setdefault(adj.request.customer, []).append(adj)
            if adj.request.invoice:
                by_invoice.setdefault(adj.request.invoice, []).append(adj)
            if adj.state in OPEN_STATES:
                open_items.append(adj)
        for items in by_customer.values():
            items.sort(key=lambda a: (a.request.date, a.id))
        open_items.sort(key=lambda a: (a.request.date, a.id))
        return cls(book=book, by_customer=by_customer, open_items=open_items,
                   by_invoice=by_invoice, customer_balances=customer_balances or {},
                   rates=rates)

    def holders(self, role: str, on: datetime.date) -> list[str]:
        key = (role, on)
        found = self._holders.get(key)
        if found is None:
            found = self._holders[key] = self.book.directory.users_with_role(role, on)
        return found

    def roles(self, user: str, on: datetime.date) -> tuple[str, ...]:
        key = (user, on)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = self.book.directory.roles_on(user, on)
        return found

    def approver_roles(self, on: datetime.date) -> frozenset[str]:
        found = self._approver_roles.get(on)
        if found is None:
            found = self._approver_roles[on] = frozenset(
                r for row in self.book.matrix.rows_on(on) for r in row.roles)
        return found

    def users(self, on: datetime.date) -> list[str]:
        directory = self.book.directory
        return sorted(u for u in directory.grants if directory.is_user(u, on))


# -- who may do what ----------------------------------------------------------


def within_limit(index: BookIndex, user: str, role: str, adj: Adjustment,
                 on: datetime.date) -> bool | None:
    """True/False when the limit can be judged, None when no price converts
    the amount to the limit's currency at the request date (never guessed:
    treat None as no)."""
    holds, limit = index.book.directory.limit_for(user, role, on)
    if not holds:
        return False
    return policy.within_limit(limit, adj.amount, adj.request.date, index.rates)


def refusal(index: BookIndex, adj: Adjustment, user: str, action: Action,
            on: datetime.date) -> Denial | None:
    """Why `user` may not take `action` now: `permissions.denial`, the replay's
    own rule (unsigned: Fava cannot sign, so types requiring signatures are
    not offered here)."""
    key = (adj.id, user, action, on)
    if key in index.refusals:
        return index.refusals[key]
    found = queries.refusal_of(index.book, adj, user, action, on, signed=False)
    if len(index.refusals) > 100_000:
        index.refusals.clear()
    index.refusals[key] = found
    return found


def eligible_approvers(index: BookIndex, adj: Adjustment, on: datetime.date) -> list[str]:
    """Who may give the next approval on `on` (of the request, or of its reversal)."""
    return queries.eligible_approvers(index.book, adj, on, signed=False)


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


_SHORT = {
    "self-approval": "you requested it (segregation of duties)",
    "same-approver": "you already approved an earlier level",
    "over-limit": "above your approval limit",
    "missing-price": "no price converts the amount to your limit's currency",
    "unsigned-approval": "this type needs a signed approval (bean-adjust approve --sign)",
    "unknown-user": "you are not a user on this day",
}


def _why_not(found: Denial | None, adj: Adjustment, action: Action) -> str:
    """The button's tooltip: a short form of the rule's own refusal."""
    if found is None:
        return ""
    if found.code == "self-approval" and adj.state is State.REVERSING:
        return "you requested it or asked for its reversal (segregation of duties)"
    if found.code == "self-rejection":
        return "withdraw your own request with cancel"
    if found.code == "missing-role" and action is Action.APPROVE:
        return f"level {len(adj.deciding_approvals) + 1} needs a {adj.next_role}"
    if found.code == "missing-role" and action is Action.REJECT:
        return f"needs one of {', '.join(adj.deciding_chain)}"
    if found.code == "missing-role" and action is Action.CANCEL:
        return "needs the requester or an approver role"
    if found.code == "missing-role" and action is Action.APPLY:
        return "needs a user with a role"
    return _SHORT.get(found.code, found.message)


def action_hints(index: BookIndex, adj: Adjustment, user: str | None,
                 on: datetime.date) -> list[ActionHint]:
    """The quick actions that fit the state, and whether `user` may take them
    (`permissions.denial`, as the writer will judge them)."""
    hints: list[ActionHint] = []
    reversing = adj.state is State.REVERSING

    def hint(action: Action, label: str, needs_reason: bool = False,
             asks_effective: bool = False) -> None:
        if user is None:
            why_not = "read-only: no acting user"
        else:
            why_not = _why_not(refusal(index, adj, user, action, on), adj, action)
        hints.append(ActionHint(str(action), label, not why_not, why_not, needs_reason,
                                asks_effective))

    if adj.state is State.PENDING or reversing:
        hint(Action.APPROVE, "Approve reversal" if reversing else "Approve")
        hint(Action.REJECT, "Refuse reversal" if reversing else "Reject", needs_reason=True)
    if adj.state is State.APPROVED and adj.separate_apply:
        hint(Action.APPLY, "Apply", asks_effective=True)
    if adj.state in (State.PENDING, State.APPROVED, State.APPLIED):
        hint(Action.CANCEL, "Reverse" if adj.state is State.APPLIED else "Cancel",
             needs_reason=True)
    return hints


# -- the pending queue ---------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    id: str
    date: datetime.date
    age_days: int
    amount: str
    number: Decimal
    currency: str
    type: str
    kind: str
    category: str
    customer: str
    customer_name: str
    tier: str
    requested_by: str
    state: str
    level: int
    needed: int
    next_role: str
    risk: tuple[str, ...]
    sla_days: int | None
    """Its type's `sla-days` (or the plugin's `default-sla-days`); None: no SLA."""
    overdue: bool
    """`queries.is_overdue`: the one rule the CLI, reports and notify use too."""
    mine: bool
    narration: str
    problems: int
    eligible: tuple[str, ...] = ()
    actions: tuple[ActionHint, ...] = ()
    digest: str = ""
    """The request's digest as shown (detailed rows only): the page posts it back
    with each decision so the writer refuses an item that changed meanwhile."""
    section: str = ""
    """The queue section it waits in (`SECTIONS`): the step its state awaits."""

    @property
    def reversal(self) -> bool:
        """A reversal awaiting approval (state `reversing`)."""
        return self.state == State.REVERSING


@dataclass(frozen=True)
class QueueFilters:
    state: str = ""
    kind: str = ""
    type: str = ""
    category: str = ""
    customer: str = ""
    tier: str = ""
    requester: str = ""
    risk: str = ""
    q: str = ""
    overdue: bool = False
    mine: bool = False
    sort: str = "age"
    order: str = "desc"
    page: int = 1
    """The page of `QueueView.rows`, every section's items in one list (JSON)."""
    per_page: int = PER_PAGE
    page_approve: int = 1
    page_apply: int = 1
    page_reversal: int = 1
    """Each section's own page (`page_<section key>`): paging one leaves the others."""

    def section_page(self, key: str) -> int:
        page = getattr(self, f"page_{key}", 1)
        return page if isinstance(page, int) else 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        def text(key: str) -> str:
            return str(args.get(key, "") or "").strip()[:200]

        def flag(key: str) -> bool:
            return text(key).lower() in ("1", "true", "yes", "on")

        def number(key: str, default: int, low: int, high: int) -> int:
            try:
                return max(low, min(high, int(text(key) or default)))
            except ValueError:
                return default

        sort = text("sort") or "age"
        order = text("order").lower()
        return cls(
            state=text("state"), kind=text("kind"), type=text("type"),
            category=text("category"), customer=text("customer"), tier=text("tier"),
            requester=text("requester"), risk=text("risk"), q=text("q").lower(),
            overdue=flag("overdue"), mine=flag("mine"),
            sort=sort if sort in SORT_KEYS else "age",
            order=order if order in ("asc", "desc") else "desc",
            page=number("page", 1, 1, 100000), per_page=number("per_page", PER_PAGE, 1, 1000),
            **{f"page_{s.key}": number(f"page_{s.key}", 1, 1, 100000) for s in SECTIONS})

    def query(self, **changes: object) -> dict[str, str]:
        """The filters as query arguments, with `changes` applied (for links)."""
        values: dict[str, object] = {
            "state": self.state, "kind": self.kind, "type": self.type,
            "category": self.category, "customer": self.customer, "tier": self.tier,
            "requester": self.requester, "risk": self.risk, "q": self.q,
            "overdue": "1" if self.overdue else "", "mine": "1" if self.mine else "",
            "sort": self.sort if self.sort != "age" else "",
            "order": self.order if self.order != "desc" else "", "page": "",
            # A page size asked for in the URL stays for the links it renders.
            "per_page": self.per_page if self.per_page != PER_PAGE else "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None, False)}

    def pager(self, key: str, page: int) -> dict[str, str]:
        """The query of page `page` of section `key`, the other sections' pages kept
        (a filter or sort link, `query()`, starts every section on its first page)."""
        kept = {f"page_{s.key}": self.section_page(s.key) for s in SECTIONS
                if s.key != key and self.section_page(s.key) > 1}
        return self.query(**kept, **{f"page_{key}": page if page > 1 else ""})


@dataclass(frozen=True)
class Section:
    """What a queue section is: the one step its items await, and its batch button."""

    key: str
    title: str
    action: Action
    button: str
    empty: str


SECTIONS = (
    Section("approve", "To approve", Action.APPROVE, "Approve selected",
            "Nothing awaits approval"),
    Section("apply", "To apply", Action.APPLY, "Apply selected",
            "Nothing approved awaits its apply"),
    Section("reversal", "Reversals to approve", Action.APPROVE, "Approve selected reversals",
            "No reversal awaits approval"),
)
_SECTION = {s.key: s for s in SECTIONS}


def section_of(adj: Adjustment) -> str:
    """The section an open item waits in: the step the lifecycle lets its state
    take next (the transition table `permissions.denial` itself consults)."""
    if adj.state is State.REVERSING and allowed(adj.state, Action.APPROVE):
        return "reversal"
    if adj.state is State.APPROVED and adj.separate_apply and allowed(adj.state, Action.APPLY):
        return "apply"
    if adj.next_role is not None and allowed(adj.state, Action.APPROVE):
        return "approve"
    return ""


@dataclass(frozen=True)
class QueueSection:
    """One section's rows on this page, and how many the user may act on."""

    section: Section
    rows: list[QueueRow]
    matched: int
    mine: int
    """Of `matched`, the items `permissions.denial` lets the user take the step on."""
    pages: int
    page: int = 1
    """The page shown (`page_<key>`, clamped to `pages`)."""

    @property
    def key(self) -> str:
        return self.section.key


@dataclass(frozen=True)
class QueueView:
    rows: list[QueueRow]
    filters: QueueFilters
    total_open: int
    matched: int
    overdue: int
    mine: int
    outside_range: int
    page: int
    pages: int
    choices: dict[str, list[str]]
    date_range: DateRange | None
    today: datetime.date
    sections: tuple[QueueSection, ...] = ()
    """The matched items by the step they await, each paged on its own (`page_<key>`)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """The declared name of each customer among `choices` that has one."""

    def customer_label(self, customer: str) -> CustomerLabel:
        return CustomerLabel(customer, self.names.get(customer, ""))


def _is_mine(index: BookIndex, adj: Adjustment, user: str | None, on: datetime.date) -> bool:
    """Awaiting `user`: a level (of the request or its reversal) they may approve
    now, or an apply they may make (`permissions.denial`)."""
    if not user:
        return False
    if adj.state is State.APPROVED:
        return adj.separate_apply and refusal(index, adj, user, Action.APPLY, on) is None
    if adj.next_role is None:
        return False
    return refusal(index, adj, user, Action.APPROVE, on) is None


def queue_row(index: BookIndex, adj: Adjustment, *, today: datetime.date, user: str | None,
              detailed: bool = False) -> QueueRow:
    request = adj.request
    age = age_days(adj, today)
    amount = adj.amount
    return QueueRow(
        id=adj.id, date=request.date, age_days=age, amount=fmt_money(amount),
        number=amount.number if amount else Decimal(0),
        currency=amount.currency if amount else "", type=request.type,
        kind=request.type.split(":", 1)[0], category=request.category or "",
        customer=request.customer,
        customer_name=queries.customer_name(index.book, request.customer, today),
        tier=adj.tier or "", requested_by=request.requested_by, state=str(adj.state),
        level=len(adj.deciding_approvals), needed=len(adj.deciding_chain),
        next_role=adj.next_role or "",
        risk=adj.risk_flags, sla_days=adj.sla_days, overdue=is_overdue(adj, today),
        mine=_is_mine(index, adj, user, today), narration=request.narration,
        problems=len(adj.problems),
        eligible=tuple(eligible_approvers(index, adj, today)) if detailed else (),
        actions=tuple(action_hints(index, adj, user, today)) if detailed else (),
        digest=adj.digest if detailed else "", section=section_of(adj))


_SORTERS = {
    "age": lambda r: (r.age_days, r.id),
    "date": lambda r: (r.date, r.id),
    "amount": lambda r: (r.number, r.id),
    "id": lambda r: (r.id,),
    "customer": lambda r: (r.customer, r.id),
    "type": lambda r: (r.type, r.id),
    "requester": lambda r: (r.requested_by, r.id),
    "level": lambda r: (r.level, r.needed, r.id),
}


def _matches(row: QueueRow, f: QueueFilters) -> bool:
    if f.state and row.state != f.state:
        return False
    if f.kind and row.kind != f.kind:
        return False
    if f.type and row.type != f.type:
        return False
    if f.category and row.category != f.category:
        return False
    if f.customer and row.customer != f.customer:
        return False
    if f.tier and row.tier != f.tier:
        return False
    if f.requester and row.requested_by != f.requester:
        return False
    if f.risk and f.risk not in row.risk:
        return False
    if f.overdue and not row.overdue:
        return False
    if f.mine and not row.mine:
        return False
    if f.q:
        hay = " ".join((row.id, row.narration, row.customer, row.customer_name,
                        row.type, row.category, row.requested_by)).lower()
        if f.q not in hay:
            return False
    return True


def queue_view(index: BookIndex, filters: QueueFilters, *, today: datetime.date,
               user: str | None, date_range: DateRange | None = None) -> QueueView:
    """Everything awaiting a decision or an action, filtered, sorted and paged."""
    items = index.open_items
    key = ("queue-rows", today, user)
    cached = index.memo.get(key)
    if not isinstance(cached, list):
        if len(index.memo) > 256:
            index.memo.clear()
        cached = index.memo[key] = [
            queue_row(index, a, today=today, user=user) for a in items]
    all_rows: list[QueueRow] = cached
    rows = [r for r in all_rows if date_range is None or r.date in date_range]
    choices: dict[str, set[str]] = {k: set() for k in (
        "state", "kind", "type", "category", "customer", "tier", "requester", "risk")}
    for row in rows:
        choices["state"].add(row.state)
        choices["kind"].add(row.kind)
        choices["type"].add(row.type)
        if row.category:
            choices["category"].add(row.category)
        choices["customer"].add(row.customer)
        if row.tier:
            choices["tier"].add(row.tier)
        choices["requester"].add(row.requested_by)
        choices["risk"].update(row.risk)
    matched = [r for r in rows if _matches(r, filters)]
    matched.sort(key=_SORTERS[filters.sort], reverse=filters.order == "desc")
    by_section: dict[str, list[QueueRow]] = {s.key: [] for s in SECTIONS}
    for row in matched:
        if row.section in by_section:
            by_section[row.section].append(row)
    per = filters.per_page
    pages = max(1, math.ceil(len(matched) / per))
    page = min(filters.page, pages)
    detailed_rows: dict[str, QueueRow] = {}

    def detailed(shown: list[QueueRow]) -> list[QueueRow]:
        for r in shown:
            if r.id not in detailed_rows:
                detailed_rows[r.id] = queue_row(index, index.book.adjustments[r.id],
                                                today=today, user=user, detailed=True)
        return [detailed_rows[r.id] for r in shown]

    def section(key: str, found: list[QueueRow]) -> QueueSection:
        count = max(1, math.ceil(len(found) / per))
        shown = min(filters.section_page(key), count)
        return QueueSection(_SECTION[key], detailed(found[(shown - 1) * per:shown * per]),
                            len(found), sum(1 for r in found if r.mine), count, shown)

    sections = tuple(section(key, found) for key, found in by_section.items())
    return QueueView(
        rows=detailed(matched[(page - 1) * per:page * per]), filters=filters, total_open=len(rows),
        matched=len(matched), overdue=sum(1 for r in rows if r.overdue),
        mine=sum(1 for r in rows if r.mine), outside_range=len(items) - len(rows), page=page,
        pages=pages, choices={k: sorted(v) for k, v in choices.items()},
        date_range=date_range, today=today, sections=sections,
        names={r.customer: r.customer_name for r in rows if r.customer_name})


# -- the detail page -------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    date: datetime.date
    at: str
    what: str
    by: str
    outcome: str          # "accepted", "refused", "stale", "info"
    reason: str = ""
    comment: str = ""
    note: str = ""
    digest: str = ""      # "matches", "differs", "absent", ""
    where: str = ""


@dataclass(frozen=True)
class Requirement:
    level: int
    role: str
    status: str           # "done", "next", "waiting"
    by: str = ""
    date: datetime.date | None = None
    eligible: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefView:
    kind: str
    ref: Reference
    credited: Decimal | None = None


@dataclass(frozen=True)
class DetailView:
    adj: Adjustment
    row: QueueRow
    postings: tuple[Posting, ...]
    customer: CustomerRecord | None
    balance: list[str]
    earlier: list[QueueRow]
    later_count: int
    references: list[RefView]
    ticket: str | None
    ticket_url: str | None
    document: str | None
    document_path: str | None
    document_exists: bool
    timeline: list[TimelineItem]
    requirements: list[Requirement]
    reversal_requirements: list[Requirement]
    still_requires: str
    policy: str
    problems: tuple[Problem, ...]
    actions: tuple[ActionHint, ...]
    notes: str | None = None
    approval_required: bool = False
    customer_label: CustomerLabel | None = None
    booked_hash: str | None = None
    """Fava's entry hash of the booked transaction (its context page), if booked."""
    reversal_hash: str | None = None
    rejection: TimelineItem | None = None
    """The accepted rejection (of the request, or of its reversal), for the header."""


def ticket_link(template: str | None, ticket: str | None) -> str | None:
    """The ticket's URL from the configured template, or None.

    Only http(s) templates are honoured and the ticket is URL-quoted, so a
    ledger string can never smuggle a `javascript:` link into the page.
    """
    if not template or not ticket:
        return None
    if not template.lower().startswith(("https://", "http://")):
        return None
    return template.replace("{ticket}", quote(ticket, safe=""))


def _digest_status(recorded: str | None, current: str) -> str:
    if recorded is None:
        return "absent"
    return "matches" if recorded == current else "differs"


def timeline(adj: Adjustment) -> list[TimelineItem]:
    """Every event the ledger holds for the request, with its outcome, in the
    replay's order (date, then file and line, `at:` where stamped): the
    history is already in that order, and the booked and reversing entries
    follow the event that made them."""
    request = adj.request
    items = [TimelineItem(
        date=request.date, at="", what="requested", by=request.requested_by, outcome="info",
        reason=request.reason, where=f"{request.source.filename}:{request.source.lineno}")]
    if not adj.chain and adj.state is not State.INVALID:
        items.append(TimelineItem(date=request.date, at="", what="approved automatically",
                                  by="policy", outcome="info",
                                  note="below every approval threshold"))
    booked = undone = None
    if adj.applied_on is not None:
        effective = adj.effective_date or adj.applied_on
        booked = TimelineItem(date=adj.applied_on, at="", what="applied", by="",
                              outcome="info", note=f"booked on {effective.isoformat()}")
    if adj.reversed_on is not None:
        undone = TimelineItem(date=adj.reversed_on, at="", what="reversed", by="",
                              outcome="info", note="reversing entry booked")
    if booked is not None and adj.applied_source == request.source:
        items.append(booked)
        booked = None
    for record in adj.history:
        event = record.event
        outcome = "stale" if record.stale and not record.accepted else (
            "accepted" if record.accepted else "refused")
        items.append(TimelineItem(
            date=event.date, at=event.at or "", what=str(event.action), by=event.by,
            outcome=outcome, reason=event.reason or "", comment=event.comment or "",
            note=record.note, digest=_digest_status(event.digest, adj.digest),
            where=f"{event.source.filename}:{event.source.lineno}"))
        if not record.accepted:
            continue
        if booked is not None and event.source == adj.applied_source:
            items.append(booked)
            booked = None
        if undone is not None and event.source == adj.reversed_source:
            items.append(undone)
            undone = None
    # A book made without sources for its effects still shows them, last.
    items += [item for item in (booked, undone) if item is not None]
    return items


def rejection(adj: Adjustment) -> TimelineItem | None:
    """The rejection that stands: of the request (state rejected) or of its
    reversal (refused, so applied again)."""
    if adj.state not in (State.REJECTED, State.APPLIED):
        return None
    for record in reversed(adj.history):
        event = record.event
        if record.accepted and event.action is Action.CANCEL:
            return None
        if record.accepted and event.action is Action.REJECT:
            what = "rejected" if adj.state is State.REJECTED else "reversal refused"
            return TimelineItem(date=event.date, at=event.at or "", what=what, by=event.by,
                                outcome="accepted", reason=event.reason or "",
                                comment=event.comment or "")
    return None


def journal_hashes(entries: Sequence[data.Directive],
                   adj: Adjustment) -> tuple[str | None, str | None]:
    """Fava's hashes of the booked and the reversing transaction of `adj`.

    The entries are sorted by date and each generated one is dated where the
    book says, so only that day is searched (a detail page must not walk a
    large ledger).
    """
    def find(day: datetime.date | None, tag: str) -> str | None:
        if day is None:
            return None
        at = bisect.bisect_left(entries, day, key=lambda e: e.date)
        while at < len(entries) and entries[at].date == day:
            entry = entries[at]
            if (isinstance(entry, data.Transaction) and tag in (entry.tags or ())
                    and adj.id in (entry.links or ())):
                return str(compare.hash_entry(entry))
            at += 1
        return None

    booked = adj.effective_date or adj.applied_on
    return find(booked, TAG_APPLIED), find(adj.reversed_on, TAG_REVERSAL)


def requirements(index: BookIndex, adj: Adjustment, on: datetime.date) -> list[Requirement]:
    return _levels(index, adj, on, adj.chain, adj.approvals,
                   open_now=adj.state is State.PENDING)


def reversal_requirements(index: BookIndex, adj: Adjustment,
                          on: datetime.date) -> list[Requirement]:
    """The levels of the reversal's chain (asked for by cancelling it once applied)."""
    return _levels(index, adj, on, adj.reversal_chain, adj.reversal_approvals,
                   open_now=adj.state is State.REVERSING)


def _levels(index: BookIndex, adj: Adjustment, on: datetime.date, chain: tuple[str, ...],
            approvals: tuple[Approval, ...], *, open_now: bool) -> list[Requirement]:
    out: list[Requirement] = []
    for level, role in enumerate(chain, start=1):
        done = next((a for a in approvals if a.level == level), None)
        if done is not None:
            out.append(Requirement(level, role, "done", done.by, done.date))
        elif open_now and level == len(approvals) + 1:
            out.append(Requirement(level, role, "next",
                                   eligible=tuple(eligible_approvers(index, adj, on))))
        else:
            out.append(Requirement(level, role, "waiting" if open_now else "not given"))
    return out


def _balance(index: BookIndex, customer: str) -> list[str]:
    totals = index.customer_balances.get(customer, {})
    return [f"{fmt_number(n)} {c}" for c, n in sorted(totals.items())]


def credited_against(index: BookIndex, invoice: str) -> Decimal:
    """What applied (not reversed) credits have taken off `invoice` so far."""
    total = Decimal(0)
    receivable = index.book.settings.receivable
    for adj in index.by_invoice.get(invoice, []):
        if adj.state in BOOKED_STATES and adj.amount is not None:
            moved = sum((p.number for p in adj.request.postings
                         if p.account == receivable or p.account.startswith(receivable + ":")),
                        Decimal(0))
            if moved < 0:
                total += adj.amount.number
    return total


def detail_view(index: BookIndex, adj_id: str, *, today: datetime.date, user: str | None,
                ticket_url: str | None = None,
                earlier_limit: int = 25,
                entries: Sequence[data.Directive] = ()) -> DetailView | None:
    """The detail page's model; `entries` (the loaded ledger's, sorted) give the
    links to the booked and reversing transactions."""
    adj = index.book.get(adj_id)
    if adj is None:
        return None
    request = adj.request
    row = queue_row(index, adj, today=today, user=user, detailed=True)
    history = [a for a in index.by_customer.get(request.customer, []) if a.id != adj.id]
    earlier_all = [a for a in history if (a.request.date, a.id) <= (request.date, adj.id)]
    earlier = [queue_row(index, a, today=today, user=user)
               for a in reversed(earlier_all[-earlier_limit:])]
    refs: list[RefView] = []
    if request.invoice:
        ref = index.book.invoices.get(request.invoice)
        if ref is not None:
            refs.append(RefView("invoice", ref, credited_against(index, ref.id)))
    if request.order:
        ref = index.book.orders.get(request.order)
        if ref is not None:
            refs.append(RefView("order", ref))
    document_path: str | None = None
    exists = False
    if request.document:
        base = os.path.dirname(request.source.filename)
        document_path = os.path.normpath(os.path.join(base, request.document))
        exists = os.path.isfile(document_path)
    policy = queries.rule_text(adj) if adj.rule is not None or adj.chain else (
        "no approval rule matches: approved automatically" if adj.state is not State.INVALID
        else "the request is invalid; no rule was chosen")
    booked, reversal = journal_hashes(entries, adj) if entries else (None, None)
    return DetailView(
        adj=adj, row=row, postings=request.postings,
        customer=index.book.directory.customer_on(request.customer, today),
        balance=_balance(index, request.customer), earlier=earlier,
        later_count=len(history) - len(earlier_all), references=refs,
        ticket=request.ticket, ticket_url=ticket_link(ticket_url, request.ticket),
        document=request.document, document_path=document_path, document_exists=exists,
        timeline=timeline(adj), requirements=requirements(index, adj, today),
        reversal_requirements=reversal_requirements(index, adj, today),
        still_requires=queries.requirements(adj), policy=policy,
        problems=adj.problems, actions=row.actions,
        notes=request.notes, approval_required=request.approval_required,
        customer_label=customer_label(index, request.customer, today),
        booked_hash=booked, reversal_hash=reversal, rejection=rejection(adj))
