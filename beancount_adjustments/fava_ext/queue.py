"""The queue page's model: filters from the query string, sorting, and the
matched rows paged as a whole (JSON) and per section (the page)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import CustomerError, customer_id
from beancount_adjustments.fava_ext.index import BookIndex, DateRange
from beancount_adjustments.fava_ext.labels import CustomerLabel
from beancount_adjustments.fava_ext.queue_rows import (
    SECTION,
    SECTIONS,
    QueueRow,
    Section,
    queue_row,
)

SORT_KEYS = ("age", "amount", "id", "customer", "type", "requester", "date", "level")
PER_PAGE = 50


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



def by_customer_id(book: Book, filters: QueueFilters) -> QueueFilters:
    """The `customer=` filter as an id when it is a customer's name (a name
    several customers share stays as typed, and matches nothing)."""
    try:
        picked = customer_id(book.directory, filters.customer) if filters.customer else None
    except CustomerError:
        picked = None
    if picked is None or picked == filters.customer:
        return filters
    return QueueFilters(**{**filters.__dict__, "customer": picked})


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
    if f.requester and f.requester not in row.requesters:  # as queries.matches
        return False
    if f.risk and f.risk not in row.risk:
        return False
    if f.overdue and not row.overdue:
        return False
    if f.mine and not row.mine:
        return False
    if f.q:
        hay = " ".join((row.id, row.narration, row.customer, row.customer_name,
                        row.type, row.category, row.requester)).lower()
        if f.q not in hay:
            return False
    return True


def queue_view(index: BookIndex, filters: QueueFilters, *, today: datetime.date,
               written: datetime.date, user: str | None,
               date_range: DateRange | None = None) -> QueueView:
    """Everything awaiting a decision or an action, filtered, sorted and paged; what
    `user` may do judged as written on `written` (`actions.refusal`)."""
    items = index.open_items
    # By the written day too: at noon UTC it becomes tomorrow, and "awaiting me"
    # with it, on the same load and day.
    key = ("queue-rows", today, written, user)
    cached = index.memo.get(key)
    if not isinstance(cached, list):
        if len(index.memo) > 256:
            index.memo.clear()
        cached = index.memo[key] = [
            queue_row(index, a, today=today, written=written, user=user) for a in items]
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
        choices["requester"].update(row.requesters)
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
                                                today=today, written=written, user=user,
                                                detailed=True)
        return [detailed_rows[r.id] for r in shown]

    def section(key: str, found: list[QueueRow]) -> QueueSection:
        count = max(1, math.ceil(len(found) / per))
        shown = min(filters.section_page(key), count)
        return QueueSection(SECTION[key], detailed(found[(shown - 1) * per:shown * per]),
                            len(found), sum(1 for r in found if r.mine), count, shown)

    sections = tuple(section(key, found) for key, found in by_section.items())
    return QueueView(
        rows=detailed(matched[(page - 1) * per:page * per]), filters=filters, total_open=len(rows),
        matched=len(matched), overdue=sum(1 for r in rows if r.overdue),
        mine=sum(1 for r in rows if r.mine), outside_range=len(items) - len(rows), page=page,
        pages=pages, choices={k: sorted(v) for k, v in choices.items()},
        date_range=date_range, today=today, sections=sections,
        names={r.customer: r.customer_name for r in rows if r.customer_name})

