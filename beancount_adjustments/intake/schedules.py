"""Adjustment schedules: a template applied to customers on a calendar.

`beans.intake_lines.parse_schedules` reads the `adjustment-schedule` lines (the
latest of each name), `occurrences` gives the dates one falls on (months clamped
to their end, always counted from the start), `due` what is not yet in the
ledger, by the deterministic external id `schedule:NAME:CUSTOMER:DATE`. The keys
are in docs/templates.md.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from beancount_adjustments.core.intake_lines import Schedule
from beancount_adjustments.core.permissions import Rules
from beancount_adjustments.core.policy import Directory

__all__ = [
    "Occurrence",
    "Schedule",
    "add_months",
    "due",
    "external_id",
    "filing_day",
    "occurrences",
]


@dataclass(frozen=True)
class Occurrence:
    """One request a schedule asks for."""

    schedule: Schedule
    customer: str
    date: datetime.date

    @property
    def external_id(self) -> str:
        return external_id(self.schedule.name, self.customer, self.date)


def external_id(name: str, customer: str, date: datetime.date) -> str:
    """The idempotence key of one occurrence for one customer."""
    return f"schedule:{name}:{customer}:{date.isoformat()}"


def add_months(start: datetime.date, months: int) -> datetime.date:
    """`start` moved by `months`, its day clamped to the month's length."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return datetime.date(year, month + 1, day)


def _nth(schedule: Schedule, n: int) -> datetime.date:
    step = n * schedule.interval
    if schedule.every == "day":
        return schedule.start + datetime.timedelta(days=step)
    if schedule.every == "week":
        return schedule.start + datetime.timedelta(weeks=step)
    months = {"month": 1, "quarter": 3, "year": 12}[schedule.every]
    # Always from the start, never from the previous date: a clamped
    # February 28 must not pull every later month to the 28th.
    return add_months(schedule.start, step * months)


def occurrences(schedule: Schedule, through: datetime.date) -> list[datetime.date]:
    """Every date the schedule falls on, from its start through `through` (and its end)."""
    last = through if schedule.end is None else min(through, schedule.end)
    dates: list[datetime.date] = []
    n = 0
    while (day := _nth(schedule, n)) <= last:
        dates.append(day)
        n += 1
    return dates


def customers_on(schedule: Schedule, directory: Directory,
                 date: datetime.date) -> list[str]:
    """The schedule's customers on `date`: its list, or the customers of its tier then."""
    if schedule.tier is None:
        return list(schedule.customers)
    found = []
    for customer in sorted(directory.customers):
        record = directory.customer_on(customer, date)
        if record is not None and record.tier == schedule.tier:
            found.append(customer)
    return found


def due(schedules: Iterable[Schedule], through: datetime.date, directory: Directory,
        existing: set[str]) -> list[Occurrence]:
    """Occurrences through `through` whose external id is not in `existing`,
    in date, schedule and customer order (so ids are assigned the same way on
    every machine)."""
    found = [Occurrence(schedule, customer, day)
             for schedule in schedules
             for day in occurrences(schedule, through)
             for customer in customers_on(schedule, directory, day)]
    found = [o for o in found if o.external_id not in existing]
    found.sort(key=lambda o: (o.date, o.schedule.name, o.customer))
    return found


def filing_day(rules: Rules, adj_type: str, due_on: datetime.date,
               today: datetime.date) -> datetime.date:
    """The day a tool dates the request it files for `due_on` (a schedule's
    occurrence, a rule's): that day, unless it lies further back than the type's
    policy lets a request be dated before it is written (`backdate-days`, default
    0), then `today`. Refused as back-dated, an occurrence run late would stop
    every later run, since each retries it."""
    allowed = rules.settings_on(adj_type, due_on).backdate_days
    return due_on if (today - due_on).days <= allowed else today
