"""The findings `bean-adjust risk` lists, built over the book as of a date.

Threshold alerts total amounts per dimension and period; the arrival checks
are replayed over the book with `core.risk.Arrivals` (overlapping hits merged
into one finding); `outliers`, `off-hours` and `backdated-near-lock` are
judged here only. A `Finding` keeps its `key` as it grows, so notify sends
it once. The checks and their settings are described in docs/risk.md.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from beancount_adjustments.core.models import Action, Adjustment, Money, Request, State
from beancount_adjustments.core.moments import read_moment
from beancount_adjustments.core.policy import convert
from beancount_adjustments.core.risk import (
    AlertRule,
    Arrivals,
    Hit,
    RiskConfig,
    days_before,
    parse_hours,
    parse_weekdays,
)

if TYPE_CHECKING:
    from beancount_adjustments.core.book import Book
    from beancount_adjustments.core.policy import Matrix, Rates


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """Something a check saw, in plain words, with the adjustments behind it."""

    check: str
    message: str
    ids: tuple[str, ...]
    subject: str = ""
    date: datetime.date | None = None
    notify: tuple[str, ...] = ()
    """Who its directive says is sent it (`notify:`); empty: reported only."""
    token: str = ""
    """What keeps it the same finding as it grows (a threshold alert's period); see `key`."""

    @property
    def key(self) -> str:
        """Stable while the finding grows (more ids, a larger total): notices are sent once."""
        return ":".join((self.check, self.subject, self.token or self.ids[0]))

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "message": self.message,
                "ids": list(self.ids), "date": self.date.isoformat() if self.date else None,
                "key": self.key, "notify": list(self.notify)}



class Judged(Protocol):
    """What the checks over many adjustments read: an `Adjustment`, or the replay's
    record of one (`records.Tracked`), which the book holds without making models."""

    @property
    def request(self) -> Request: ...
    @property
    def amount(self) -> Money | None: ...
    @property
    def state(self) -> State: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def approvers(self) -> tuple[str, ...]: ...


def findings(book: Book, as_of: datetime.date | None = None, *,
             among: Collection[str] | None = None) -> list[Finding]:
    """Every alert and pattern the book shows as of `as_of` (default: its last date).

    With `among` (adjustment ids), only the findings naming one of them: the
    checks that judge one adjustment at a time look at those alone.
    """
    config = RiskConfig.build(getattr(book.facts, "risk_settings", ()))
    if as_of is None:
        dated = [a for a in book.adjustments.values() if a.amount is not None]
        dates = [a.request.date for a in dated]
        dates += [r.event.date for a in dated for r in a.history]
        as_of = max(dates, default=datetime.date.today())
    # The checks over many adjustments read the replay's records: no models made.
    judged = sorted(
        (a for a in book.records() if a.amount is not None and a.request.date <= as_of),
        key=lambda a: (a.request.date, a.request.source.filename, a.request.source.lineno))
    adjustments = [book.adjustments[a.request.id] for a in judged
                   if among is None or a.request.id in among]
    many: list[Finding] = []
    many += threshold_alerts(judged, config.alert_rules(), book.rules.rates)
    many += arrival_patterns(judged, config, book.matrix, book.rules.rates)
    many += outliers(judged, config, as_of)
    out = many if among is None else [f for f in many if any(i in among for i in f.ids)]
    out += off_hours(adjustments, config, as_of)
    out += backdated_near_lock(adjustments, book, config, as_of)
    return out


def _period_key(date: datetime.date, period: str) -> str:
    if period == "day":
        return date.isoformat()
    if period == "week":
        year, week, _ = date.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{date.year}-{date.month:02d}"
    if period == "quarter":
        return f"{date.year}-Q{(date.month - 1) // 3 + 1}"
    if period == "year":
        return str(date.year)
    return "all time"


def threshold_alerts(adjustments: Sequence[Judged], rules: Sequence[AlertRule],
                     rates: Rates) -> list[Finding]:
    """Totals over the limit per rule, subject and period. An adjustment in another
    currency than the limit counts converted at its request date by the ledger's
    prices, as the thresholds convert it (credits filed in euros must not keep a
    month of credits under a USD alert); one no price converts is not counted."""
    out: list[Finding] = []
    for rule in rules:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        last: dict[tuple[str, str], datetime.date] = {}
        for adj in adjustments:
            amount = adj.amount
            if (amount is None or not rule.counts(adj.state)
                    or adj.request.date < rule.date):
                continue
            number = convert(amount, rule.limit.currency, adj.request.date, rates)
            if number is None:
                continue
            period = _period_key(adj.request.date, rule.period)
            for subject in _subjects(adj, rule.dimension):
                key = (subject, period)
                totals[key] += number
                ids[key].append(adj.request.id)
                last[key] = adj.request.date
        for (subject, period), total in sorted(totals.items()):
            if total > rule.limit.number:
                who = "all adjustments" if rule.dimension == "all" else \
                    f"{rule.dimension} {subject}"
                out.append(Finding(
                    check=f"alert:{rule.dimension}", subject=subject,
                    ids=tuple(ids[(subject, period)]), date=last[(subject, period)],
                    notify=rule.notify, token=f"{rule.limit.currency}/{period}",
                    message=(f"{who}: {total} {rule.limit.currency} in {period}, above the "
                             f"alert limit of {rule.limit} per {rule.period} "
                             f"({len(ids[(subject, period)])} adjustments).")))
    return out


def _subjects(adj: Judged, dimension: str) -> list[str]:
    request = adj.request
    if dimension == "requester":  # who entered it for another is a requester too
        return list(request.requesters)
    if dimension == "customer":
        return [request.customer]
    if dimension == "category":
        return [request.category or "(no category)"]
    if dimension == "type":
        return [request.type]
    if dimension == "approver":
        return list(dict.fromkeys(adj.approvers))
    return ["all"]


def arrival_patterns(adjustments: Sequence[Judged], config: RiskConfig,
                     matrix: Matrix | None, rates: Rates | None = None) -> list[Finding]:
    """The arrival checks replayed over the book, overlapping hits merged into one finding."""
    context = Arrivals(config, matrix, rates)
    merged: list[Hit] = []
    for adj in adjustments:
        hits: list[Hit] = []
        context.judge(adj.request, adj.amount, adj.tier, hits)
        for hit in hits:
            for index, earlier in enumerate(merged):
                if (earlier.check == hit.check and earlier.subject == hit.subject
                        and set(earlier.ids) & set(hit.ids)):
                    merged[index] = replace(
                        hit, ids=tuple(dict.fromkeys((*earlier.ids, *hit.ids))))
                    break
            else:
                merged.append(hit)
    dates = {a.request.id: a.request.date for a in adjustments}
    out = []
    for hit in merged:
        # The first id stays first as later hits merge in: the finding keeps its key.
        when = max(dates[i] for i in hit.ids)
        out.append(Finding(check=hit.check, subject=hit.subject, message=hit.message,
                           ids=hit.ids, date=when, notify=config.notify(hit.check, when)))
    return out


def robust_z(values: Mapping[str, Decimal]) -> dict[str, float]:
    """Robust z-score of each value: 0.6745 * (x - median) / MAD (MAD 0: 1.2533 * mean AD)."""
    numbers = [float(v) for v in values.values()]
    if not numbers:
        return {}
    median = statistics.median(numbers)
    deviations = [abs(x - median) for x in numbers]
    mad = statistics.median(deviations)
    if mad > 0:
        return {k: 0.6745 * (float(v) - median) / mad for k, v in values.items()}
    mean_ad = statistics.fmean(deviations)
    if mean_ad == 0:
        return dict.fromkeys(values, 0.0)
    return {k: (float(v) - median) / (1.253314 * mean_ad) for k, v in values.items()}


def outliers(adjustments: Sequence[Judged], config: RiskConfig,
             as_of: datetime.date) -> list[Finding]:
    params = config.params("outliers", as_of)
    if params is None:
        return []
    days = int(params["days"])
    start = days_before(as_of, days) if days else datetime.date.min
    recent = [a for a in adjustments if start < a.request.date <= as_of
              and a.state is not State.INVALID]
    if not recent:
        return []
    currencies = [a.amount.currency for a in recent if a.amount is not None]
    currency = max(set(currencies), key=currencies.count)
    by_amount = params["measure"] == "amount"
    who = str(params["who"])
    out: list[Finding] = []
    for role in ("requester", "approver"):
        if who not in (role, "both"):
            continue
        values: dict[str, Decimal] = defaultdict(Decimal)
        ids: dict[str, list[str]] = defaultdict(list)
        for adj in recent:
            people = (list(adj.request.requesters) if role == "requester"
                      else list(adj.approvers))
            for person in people:
                if by_amount:
                    if adj.amount is None or adj.amount.currency != currency:
                        continue
                    values[person] += adj.amount.number
                else:
                    values[person] += 1
                ids[person].append(adj.request.id)
        if len(values) < int(params["min-peers"]):
            continue
        median = statistics.median(float(v) for v in values.values())
        for person, z in sorted(robust_z(values).items()):
            if z > float(params["z"]):
                what = (f"{values[person]} {currency}" if by_amount
                        else f"{values[person]} adjustments")
                span = f"in the last {days} days" if days else "in all"
                verb = "requested" if role == "requester" else "approved"
                out.append(Finding(
                    check="outliers", subject=person, ids=tuple(ids[person]), date=as_of,
                    message=(f"{person} {verb} {what} {span}, far above their "
                             f"{len(values) - 1} peers (median {median:g}; robust z-score "
                             f"{z:.1f} > {params['z']}).")))
    return out


def _timestamp(text: str, zone: ZoneInfo) -> datetime.datetime | None:
    """`text` in `zone` (None: not a moment). Read as the plugin reads `at:`
    (`read_moment`): a stamp without offset is UTC, not `zone`'s local time."""
    moment = read_moment(text)
    return None if moment is None else moment.astimezone(zone)


class _Hours(NamedTuple):
    """An `off-hours` setting parsed (None: a value `check_params` refuses)."""

    hours: tuple[datetime.time, datetime.time] | None
    weekdays: frozenset[int] | None
    zone: ZoneInfo


def off_hours(adjustments: Sequence[Adjustment], config: RiskConfig,
              as_of: datetime.date) -> list[Finding]:
    out: list[Finding] = []
    # Each approval reads the setting in force on its day: parsed once per setting.
    parsed: dict[tuple[str, str, str], _Hours] = {}
    for adj in adjustments:
        for record in adj.history:
            event = record.event
            if (not record.accepted or event.action is not Action.APPROVE or not event.at
                    or event.date > as_of):
                continue
            params = config.params("off-hours", event.date)
            if params is None:
                continue
            key = (str(params["hours"]), str(params["weekdays"]), str(params["timezone"]))
            found = parsed.get(key)
            if found is None:
                found = parsed[key] = _Hours(parse_hours(key[0]), parse_weekdays(key[1]),
                                             ZoneInfo(key[2]))
            hours, weekdays, zone = found
            moment = _timestamp(event.at, zone)
            if moment is None or hours is None or weekdays is None:
                continue
            inside = moment.weekday() in weekdays and hours[0] <= moment.time() <= hours[1]
            if not inside:
                out.append(Finding(
                    check="off-hours", subject=event.by, ids=(adj.id,), date=event.date,
                    notify=config.notify("off-hours", event.date),
                    token=f"{adj.id}@{event.at}",
                    message=(f"{event.by} approved {adj.id} at {moment:%a %Y-%m-%d %H:%M} "
                             f"{params['timezone']}, outside working hours "
                             f"({params['hours']}, {params['weekdays']}).")))
    return out


def backdated_near_lock(adjustments: Sequence[Adjustment], book: Book, config: RiskConfig,
                        as_of: datetime.date) -> list[Finding]:
    out: list[Finding] = []
    locks = sorted(book.locks, key=lambda lock: lock.through)
    if not locks:
        return out
    for adj in adjustments:
        when, applied = adj.effective_date, adj.applied_on
        if when is None or applied is None or when >= applied or applied > as_of:
            continue
        params = config.params("backdated-near-lock", applied)
        if params is None:
            continue
        days = int(params["days"])
        near = min(locks, key=lambda lock: abs((when - lock.through).days))
        gap = (when - near.through).days
        if abs(gap) <= days:
            side = "after" if gap > 0 else "on or before"
            out.append(Finding(
                check="backdated-near-lock", subject=adj.id, ids=(adj.id,), date=applied,
                notify=config.notify("backdated-near-lock", applied),
                message=(f"{adj.id} was applied on {applied} but back-dated to {when}, "
                         f"{abs(gap)} day(s) {side} the period lock through {near.through} "
                         f"(locked on {near.date}).")))
    return out


def summarize(found: Sequence[Finding]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for finding in found:
        counts[finding.check] += 1
    return dict(counts)
