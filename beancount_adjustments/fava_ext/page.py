"""The model of the page the template renders: what every view shows (who acts,
whether writes are possible) and the model of the view asked for."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from markupsafe import Markup

from beancount_adjustments.core.models import Problem
from beancount_adjustments.fava_ext import report_data
from beancount_adjustments.fava_ext.config import Config
from beancount_adjustments.fava_ext.detail import DetailView
from beancount_adjustments.fava_ext.identity import Identity
from beancount_adjustments.fava_ext.index import BookIndex, DateRange
from beancount_adjustments.fava_ext.new_request import NewRequestForm
from beancount_adjustments.fava_ext.queue import QueueView
from beancount_adjustments.fava_ext.statement_page import StatementPage


@dataclass(frozen=True)
class ReportsPage:
    summary: report_data.Summary
    trends: report_data.Trends
    impact: report_data.Impact
    compliance: report_data.Compliance
    charts: dict[str, Markup]
    compliance_shown: int


@dataclass(frozen=True)
class Page:
    """Everything the template renders for one request."""

    view: str
    identity: Identity
    read_only: str
    """Why nothing can be written from this page ("" when writes are possible)."""
    fava_editing: str
    """What the page says about Fava's own editor ("" when there is nothing to say)."""
    users: list[str]
    config: Config
    today: datetime.date
    date_range: DateRange | None
    problems: int
    open_count: int
    ledger_warnings: tuple[Problem, ...] = ()
    """The book's warnings about no one adjustment (a rule that can never apply)."""
    queue: QueueView | None = None
    detail: DetailView | None = None
    reports: ReportsPage | None = None
    statement: StatementPage | None = None
    new: NewRequestForm | None = None
    missing_id: str = ""
    notes: list[str] = field(default_factory=list)


def reports_page(index: BookIndex, date_range: DateRange | None,
                 today: datetime.date) -> ReportsPage:
    """The reports of the book, memoised per load, period and day."""
    key = ("reports", date_range, today)
    found = index.memo.get(key)
    if isinstance(found, ReportsPage):
        return found
    book = index.book
    summary = report_data.summary(book, date_range)
    trends = report_data.trends(book, date_range)
    impact = report_data.impact(book, date_range)
    compliance = report_data.compliance(book, date_range, today)
    built = report_data.report_charts(summary, trends, impact)
    page = index.memo[key] = ReportsPage(summary=summary, trends=trends, impact=impact,
                                         compliance=compliance, charts=built,
                                         compliance_shown=min(len(compliance.rows), 200))
    return page
