"""Adjustment schedules: a template applied to customers on a calendar.

`read_schedules` reads the `adjustment-schedule` lines (the latest of each name),
`occurrences` the dates one falls on (months clamped to their end, always counted
from the start), `due` what is not yet in the ledger, by the deterministic
external id `schedule:NAME:CUSTOMER:DATE`. The keys are in docs/templates.md.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from beancount.core import data

from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.core.models import Problem, Source
from beancount_adjustments.core.policy import Directory
from beancount_adjustments.intake.calculators import ParamValue, params_of

__all__ = [
    "SCHEDULE",
    "Occurrence",
    "Schedule",
    "add_months",
    "due",
    "external_id",
    "occurrences",
    "read_schedules",
]

SCHEDULE = "adjustment-schedule"

Unit = Literal["day", "week", "month", "quarter", "year"]
UNITS: tuple[Unit, ...] = ("day", "week", "month", "quarter", "year")

FIELDS = frozenset({"customers", "tier", "every", "interval", "start", "end",
                    "requested-by"})


@dataclass(frozen=True)
class Schedule:
    name: str
    template: str
    date: datetime.date
    every: Unit
    start: datetime.date
    source: Source
    interval: int = 1
    end: datetime.date | None = None
    customers: tuple[str, ...] = ()
    tier: str | None = None
    requested_by: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)


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


def read_schedules(entries: Iterable[data.Directive]) -> tuple[list[Schedule], list[Problem]]:
    """The schedules in force (the latest line of each name), and what is wrong."""
    latest: dict[str, Schedule] = {}
    problems: list[Problem] = []
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == SCHEDULE:
            schedule = _read(entry, problems)
            if schedule is not None and (schedule.name not in latest
                                         or latest[schedule.name].date <= schedule.date):
                latest[schedule.name] = schedule
    return [latest[name] for name in sorted(latest)], problems


def _read(entry: data.Custom, problems: list[Problem]) -> Schedule | None:
    source = source_of(entry)

    def problem(message: str) -> None:
        problems.append(Problem(code="bad-schedule", message=message, source=source))

    values = [v.value for v in entry.values or ()]
    if (len(values) != 2 or not all(isinstance(v, str) and v.strip() for v in values)):
        problem(f'custom "{SCHEDULE}" takes a name and a template: '
                f'custom "{SCHEDULE}" "monthly-loyalty" "loyalty-credit".')
        return None
    name, template = (str(v).strip() for v in values)
    meta = entry.meta
    what = f"schedule {name}"
    every = meta.get("every")
    if every not in UNITS:
        problem(f"{what}: `every:` is one of {', '.join(UNITS)}, not {every!r}.")
        return None
    interval = meta.get("interval", Decimal(1))
    if (not isinstance(interval, Decimal) or interval != interval.to_integral_value()
            or interval < 1):
        problem(f"{what}: `interval:` must be a whole number of at least 1, not {interval!r}.")
        return None
    dates: dict[str, datetime.date | None] = {}
    for key in ("start", "end"):
        value = meta.get(key)
        if value is not None and not isinstance(value, datetime.date):
            problem(f"{what}: `{key}:` must be a date (2026-02-01), not {value!r}.")
            return None
        dates[key] = value
    start = dates["start"] or entry.date
    end = dates["end"]
    if end is not None and end < start:
        problem(f"{what}: `end:` {end} is before `start:` {start}.")
        return None
    customers_text, tier = meta.get("customers"), meta.get("tier")
    if (customers_text is None) == (tier is None):
        problem(f"{what}: give either `customers:` (\"cust_001,cust_002\") or `tier:`, "
                "not both or neither.")
        return None
    customers: tuple[str, ...] = ()
    if customers_text is not None:
        if not isinstance(customers_text, str):
            problem(f"{what}: `customers:` is a comma-separated string.")
            return None
        customers = tuple(dict.fromkeys(c.strip() for c in customers_text.split(",")
                                        if c.strip()))
        if not customers:
            problem(f"{what}: `customers:` names no customer.")
            return None
    if tier is not None and (not isinstance(tier, str) or not tier.strip()):
        problem(f"{what}: `tier:` must be a non-empty string.")
        return None
    requested_by = meta.get("requested-by")
    if requested_by is not None and (not isinstance(requested_by, str)
                                     or not requested_by.strip()):
        problem(f"{what}: `requested-by:` must be a user name.")
        return None
    params, unusable = params_of(meta, FIELDS)
    if unusable is not None:
        problem(f"{what}: {unusable}")
        return None
    return Schedule(name=name, template=template, date=entry.date, every=every,
                    interval=int(interval), start=start, end=end, customers=customers,
                    tier=tier.strip() if isinstance(tier, str) else None,
                    requested_by=requested_by.strip() if requested_by else None,
                    source=source, params=params)
