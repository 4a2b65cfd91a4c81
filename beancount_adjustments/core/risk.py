"""Risk: threshold alerts and pattern checks over the book, and risk flags at arrival.

Two things live here, both pure functions over the frozen models:

* **Findings** (`findings(book, as_of)`): what `bean-adjust risk` lists.
  Each finding names its check, says in plain words what was seen, and
  lists the ids of the adjustments that triggered it.
* **Flags at arrival** (`request_flags(request, context, amount, tier)`):
  the plugin's replay calls it for every request, just before it chooses
  the approval-matrix row, with only the requests that arrived *earlier*.
  The flags it returns are added to the request's own `risk:` metadata, so
  a matrix row narrowed by `risk:` makes a flagged request take the higher
  chain. They are kept on the adjustment as `Adjustment.risk_flags`.

    2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager" "finance"
      risk: "splitting"

Threshold alerts
----------------

    2026-01-01 custom "adjustment-alert" "customer" 2000.00 USD
      period: "month"

Totals of adjustment amounts per *dimension* (`requester`, `customer`,
`category`, `type`, `approver` or `all`) per *period* (`day`, `week`,
`month`, `quarter`, `year` or `all`; default `month`, by request date)
above the limit raise an alert. Only adjustments in the limit's currency
count (no conversion is guessed). `states:` (comma-separated; default
`pending,approved,applied`) says which states count. A later alert with the
same dimension, period and currency replaces an earlier one. `notify:`
(users, `role:NAME`, `*`, comma-separated) has `bean-adjust notify` send each
alert (see `notify_alerts`); `Finding.key` keeps it one alert as it grows.

Pattern checks
--------------

Every check runs with its defaults unless the ledger says otherwise:

    2026-03-01 custom "adjustment-risk" "duplicates"
      days: 14
    2026-03-01 custom "adjustment-risk" "round-amounts"
      enabled: FALSE

A check's directive applies from its date on (the latest on or before the
day judged; findings are judged as of the `as_of` date). Parameters and
their defaults:

`splitting` (flag at arrival; `days: 7`)
    Several requests for one customer by one requester within `days` that
    each stay below the lowest approval threshold for their type but
    together reach it.
`duplicates` (flag at arrival; `days: 30`)
    Same customer, amount and reason (case and spacing ignored) within `days`.
`repeated-goodwill` (flag at arrival; `count: 3`, `days: 90`)
    At least `count` `credit:goodwill` requests for one customer within `days`.
`round-amounts` (flag at arrival; `unit: 100`, `count: 3`, `days: 30`)
    One requester filing at least `count` requests whose amount is a whole
    multiple of `unit` within `days`.
`outliers` (`measure: "count"` or `"amount"`, `who: "both"`, `"requester"` or
`"approver"`, `z: 3.5`, `min-peers: 4`, `days: 90`, 0 meaning all time)
    A requester or approver far above their peers: robust z-score
    0.6745 * (x - median) / MAD over the people active in the last `days`
    (with MAD 0, 1.2533 * the mean absolute deviation stands in). Needs at
    least `min-peers` people to compare.
`off-hours` (`hours: "08:00-18:00"`, `weekdays: "mon-fri"`, `timezone: "UTC"`)
    An approval whose `at:` timestamp falls outside working hours (a
    timestamp without offset is read in `timezone`).
`backdated-near-lock` (`days: 5`)
    An applied effect dated before the day it was applied and within `days`
    of a period lock's closing date.

Every check also takes `enabled: FALSE` to turn it off, and `notify:` as alerts
do (not `outliers`, whose findings are judged afresh each day). The flag a check
adds at arrival is its name (`risk: "duplicates"` in a matrix row).
Amounts are compared in one currency only: requests in another currency
than the one being summed never count towards it.

At arrival the *lowest approval threshold* of a request is the lowest
threshold among the rows in force for its type, customer tier and category
that name at least one role and are not narrowed by `risk:`, in the
request's currency. Arrival flags look at every earlier request with an
amount, whatever became of it later (a rejected duplicate is still a
duplicate attempt).

Cost: the replay keeps per-customer and per-requester date lists, so each
request costs a few dictionary look-ups and binary searches, never a scan
of the whole ledger.
"""

from __future__ import annotations

import bisect
import datetime
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Frozen,
    Money,
    Request,
    Source,
    State,
)

if TYPE_CHECKING:
    from beancount_adjustments.core.book import Book
    from beancount_adjustments.core.policy import Matrix

RISK = "adjustment-risk"
ALERT = "adjustment-alert"

Param = int | Decimal | str | bool

SPECS: dict[str, dict[str, Param]] = {
    "splitting": {"days": 7},
    "duplicates": {"days": 30},
    "repeated-goodwill": {"count": 3, "days": 90},
    "round-amounts": {"unit": 100, "count": 3, "days": 30},
    "outliers": {"measure": "count", "who": "both", "z": Decimal("3.5"), "min-peers": 4,
                 "days": 90},
    "off-hours": {"hours": "08:00-18:00", "weekdays": "mon-fri", "timezone": "UTC"},
    "backdated-near-lock": {"days": 5},
}
"""Every check and its parameters with their defaults (the type of a default is the
type the parameter must have)."""

ARRIVAL_CHECKS = ("splitting", "duplicates", "repeated-goodwill", "round-amounts")
DIMENSIONS = ("requester", "customer", "category", "type", "approver", "all")
PERIODS = ("day", "week", "month", "quarter", "year", "all")
DEFAULT_ALERT_STATES = ("pending", "approved", "applied")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RiskSetting(Frozen):
    """One `adjustment-risk` line: a check's parameters from its date on."""

    date: datetime.date
    check: str
    params: Mapping[str, Param]
    enabled: bool = True
    notify: tuple[str, ...] = ()
    source: Source


class AlertRule(Frozen):
    """One `adjustment-alert` line: a limit on totals per dimension and period."""

    date: datetime.date
    dimension: str
    limit: Money
    period: str = "month"
    states: tuple[str, ...] = DEFAULT_ALERT_STATES
    notify: tuple[str, ...] = ()
    """Who is sent the alert (`notify:`): users, `role:NAME`, `*` (everyone with a role)."""
    source: Source


class Finding(Frozen):
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


# -- reading the directives ---------------------------------------------------------


def check_params(check: str, params: Mapping[str, Param]) -> str | None:
    if check == "off-hours":
        if _hours(str(params["hours"])) is None:
            return '`hours:` reads like "08:00-18:00".'
        if _weekdays(str(params["weekdays"])) is None:
            return '`weekdays:` reads like "mon-fri" or "mon,tue,sat".'
        try:
            ZoneInfo(str(params["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            return f"unknown `timezone:` {params['timezone']!r} (use e.g. \"Europe/Berlin\")."
    if check == "outliers":
        if params["measure"] not in ("count", "amount"):
            return '`measure:` is "count" or "amount".'
        if params["who"] not in ("requester", "approver", "both"):
            return '`who:` is "requester", "approver" or "both".'
    if check == "round-amounts" and int(params["unit"]) <= 0:
        return "`unit:` must be above 0."
    return None


def _hours(text: str) -> tuple[datetime.time, datetime.time] | None:
    match = re.fullmatch(r"\s*(\d\d?):(\d\d)\s*-\s*(\d\d?):(\d\d)\s*", text)
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    end = datetime.time(23, 59, 59, 999999) if h2 == 24 else datetime.time(h2, m2)
    return datetime.time(h1, m1), end


def _weekdays(text: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in WEEKDAYS or last not in WEEKDAYS:
                return None
            i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
            days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(j + 1)])
        elif part in WEEKDAYS:
            days.add(WEEKDAYS.index(part))
        else:
            return None
    return frozenset(days) if days else None


@dataclass
class RiskConfig:
    """The checks' parameters over time and the alert rules."""

    settings: dict[str, list[RiskSetting]] = field(default_factory=dict)
    alerts: list[AlertRule] = field(default_factory=list)

    @classmethod
    def build(cls, items: Iterable[RiskSetting | AlertRule]) -> RiskConfig:
        config = cls()
        for item in sorted(items, key=lambda i: i.date):
            if isinstance(item, AlertRule):
                config.alerts.append(item)
            else:
                config.settings.setdefault(item.check, []).append(item)
        return config

    def params(self, check: str, date: datetime.date) -> dict[str, Param] | None:
        """The check's parameters in force on `date`, or None if it is turned off."""
        settings = self.settings.get(check)
        if not settings:
            return dict(SPECS[check])
        index = bisect.bisect_right([s.date for s in settings], date)
        if index == 0:
            return dict(SPECS[check])
        setting = settings[index - 1]
        if not setting.enabled:
            return None
        return {**SPECS[check], **setting.params}

    def notify(self, check: str, date: datetime.date) -> tuple[str, ...]:
        """Who the check's directive in force on `date` says is sent its findings."""
        settings = self.settings.get(check, [])
        index = bisect.bisect_right([s.date for s in settings], date)
        return settings[index - 1].notify if index else ()

    def alert_rules(self) -> list[AlertRule]:
        latest: dict[tuple[str, str, str], AlertRule] = {}
        for rule in self.alerts:
            latest[(rule.dimension, rule.period, rule.limit.currency)] = rule
        return list(latest.values())


# -- flags at arrival ---------------------------------------------------------------


def lowest_threshold(matrix: Matrix, request: Request, tier: str | None, currency: str,
                     date: datetime.date) -> Decimal | None:
    """The lowest threshold, in `currency`, from which a request like this needs a role."""
    lowest: Decimal | None = None
    for row in matrix.rows_on(date):
        if (not row.roles or row.risk is not None or row.threshold.currency != currency
                or not fnmatchcase(request.type, row.pattern)):
            continue
        if row.customer_tier is not None and row.customer_tier != tier:
            continue
        if row.category is not None and not (
                request.category is not None and fnmatchcase(request.category, row.category)):
            continue
        if lowest is None or row.threshold.number < lowest:
            lowest = row.threshold.number
    return lowest


@dataclass
class _Window:
    """Dates (sorted, as requests arrive in date order) with ids and running sums."""

    dates: list[datetime.date] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    sums: list[Decimal] = field(default_factory=list)


class Hit(Frozen):
    """One arrival check that fired: its name, the ids involved, and why."""

    check: str
    ids: tuple[str, ...]
    subject: str
    message: str


_ZERO = Decimal(0)
_NO_FLAGS: tuple[str, ...] = ()


def days_before(date: datetime.date, days: int) -> datetime.date:
    """`days` before `date`, or the first day there is when that is before it (a
    window of `days: 99999999` reaches back to the beginning of time)."""
    try:
        return date - datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.min


def _whole_multiple(number: Decimal, unit: int) -> bool:
    """Whether `number` is a whole multiple of `unit`, also where the quotient has
    more digits than the decimal context holds (`1E+40 % 7`)."""
    try:
        return not number % unit
    except ArithmeticError:
        return not Fraction(number) % unit


@dataclass
class Arrivals:
    """What `request_flags` remembers about earlier requests (the replay's context).

    Requests arrive in date order, so every window is a sorted list and its
    start a binary search; the splitting window keeps running sums.
    """

    config: RiskConfig
    matrix: Matrix | None = None
    _split: dict[tuple[str, str, str], _Window] = field(default_factory=dict)
    _dupes: dict[tuple[str, str, Decimal, str], list[tuple[datetime.date, str]]] = field(
        default_factory=dict)
    _goodwill: dict[str, list[tuple[datetime.date, str]]] = field(default_factory=dict)
    _rounds: dict[tuple[str, str], list[tuple[datetime.date, str]]] = field(
        default_factory=dict)
    _lowest: dict[tuple[int, str, str | None, str | None, str], Decimal | None] = field(
        default_factory=dict)
    _day: datetime.date | None = None
    _params: tuple[dict[str, Param] | None, ...] = ()
    _starts: tuple[datetime.date, ...] = ()

    def copy(self) -> Arrivals:
        """What this remembers, as a new context to judge more requests with (the
        writer continuing a finished replay): this one is left as it is."""
        return Arrivals(
            self.config, self.matrix,
            {key: _Window(list(w.dates), list(w.ids), list(w.sums))
             for key, w in self._split.items()},
            {key: list(seen) for key, seen in self._dupes.items()},
            {key: list(seen) for key, seen in self._goodwill.items()},
            {key: list(seen) for key, seen in self._rounds.items()},
            dict(self._lowest), self._day, self._params, self._starts)

    def _threshold(self, request: Request, tier: str | None, currency: str) -> Decimal | None:
        if self.matrix is None:
            return None
        rows = self.matrix.rows_on(request.date)
        key = (id(rows), request.type, request.category, tier, currency)
        try:
            return self._lowest[key]
        except KeyError:
            found = self._lowest[key] = lowest_threshold(self.matrix, request, tier, currency,
                                                         request.date)
            return found

    def _settle(self, date: datetime.date) -> None:
        """Parameters and window starts for `date` (computed once per day)."""
        self._day = date
        self._params = tuple(self.config.params(check, date) for check in ARRIVAL_CHECKS)
        self._starts = tuple(
            days_before(date, int(p["days"])) if p is not None else date
            for p in self._params)

    def judge(self, request: Request, amount: Money | None, tier: str | None,
              hits: list[Hit] | None = None) -> tuple[str, ...]:
        """The arrival checks that fire for `request` (their names), then remember it.

        With `hits`, each check that fires also appends a `Hit` explaining it.
        """
        if amount is None:
            return _NO_FLAGS
        date, rid, number, currency = request.date, request.id, amount.number, amount.currency
        if date != self._day:
            self._settle(date)
        split, dupes, goodwill, rounds = self._params
        split_from, dupes_from, goodwill_from, rounds_from = self._starts
        flags: list[str] = []

        if split is not None:
            threshold = self._threshold(request, tier, currency)
            if threshold is not None and number < threshold:
                key = (request.customer, request.requested_by, currency)
                window = self._split.get(key)
                if window is None:
                    window = self._split[key] = _Window()
                start = bisect.bisect_left(window.dates, split_from)
                sums = window.sums
                total = number + (sums[-1] - (sums[start - 1] if start else _ZERO)
                                  if start < len(sums) else _ZERO)
                if start < len(sums) and total >= threshold:
                    flags.append("splitting")
                    if hits is not None:
                        ids = (*window.ids[start:], rid)
                        hits.append(Hit(
                            check="splitting", ids=ids,
                            subject=f"{request.requested_by} / {request.customer}",
                            message=(f"{request.requested_by} filed {len(ids)} requests for "
                                     f"{request.customer} within {split['days']} days, each "
                                     f"below the approval threshold of {threshold} {currency},"
                                     f" together {total} {currency}: possibly split to avoid "
                                     "approval.")))
                window.dates.append(date)
                window.ids.append(rid)
                sums.append((sums[-1] if sums else _ZERO) + number)

        if dupes is not None:
            reason = " ".join(request.reason.casefold().split())
            seen = self._dupes.setdefault((request.customer, currency, number, reason), [])
            start = bisect.bisect_left(seen, (dupes_from,))
            if start < len(seen):
                flags.append("duplicates")
                if hits is not None:
                    ids = (*(i for _d, i in seen[start:]), rid)
                    hits.append(Hit(
                        check="duplicates", ids=ids, subject=request.customer,
                        message=(f"{len(ids)} requests for {request.customer} of {number} "
                                 f"{currency} with the same reason \"{request.reason}\" within "
                                 f"{dupes['days']} days: possibly a duplicate.")))
            seen.append((date, rid))

        if goodwill is not None and request.type == "credit:goodwill":
            seen = self._goodwill.setdefault(request.customer, [])
            start = bisect.bisect_left(seen, (goodwill_from,))
            count = len(seen) - start + 1
            if count >= int(goodwill["count"]):
                flags.append("repeated-goodwill")
                if hits is not None:
                    hits.append(Hit(
                        check="repeated-goodwill", ids=(*(i for _d, i in seen[start:]), rid),
                        subject=request.customer,
                        message=(f"{count} goodwill credits for {request.customer} within "
                                 f"{goodwill['days']} days (alert from "
                                 f"{goodwill['count']}).")))
            seen.append((date, rid))

        if rounds is not None and number and _whole_multiple(number, int(rounds["unit"])):
            seen = self._rounds.setdefault((request.requested_by, currency), [])
            start = bisect.bisect_left(seen, (rounds_from,))
            count = len(seen) - start + 1
            if count >= int(rounds["count"]):
                flags.append("round-amounts")
                if hits is not None:
                    hits.append(Hit(
                        check="round-amounts", ids=(*(i for _d, i in seen[start:]), rid),
                        subject=request.requested_by,
                        message=(f"{request.requested_by} filed {count} requests in whole "
                                 f"multiples of {rounds['unit']} {currency} within "
                                 f"{rounds['days']} days: round amounts are often estimates "
                                 "rather than computed figures.")))
            seen.append((date, rid))
        return tuple(flags) if flags else _NO_FLAGS


def request_flags(request: Request, context: Arrivals, amount: Money | None,
                  tier: str | None) -> tuple[str, ...]:
    """Risk flags for `request` judged against the earlier requests in `context`.

    The replay calls this once per request in arrival order; the request is
    remembered in `context` for the requests after it. `amount` is the
    request's (absolute) amount on the receivable, `tier` its customer's tier.
    """
    return context.judge(request, amount, tier)


# -- findings over the book ---------------------------------------------------------


def findings(book: Book, as_of: datetime.date | None = None) -> list[Finding]:
    """Every alert and pattern the book shows as of `as_of` (default: its last date)."""
    config = RiskConfig.build(getattr(book.facts, "risk_settings", ()))
    adjustments = sorted(
        (a for a in book.adjustments.values() if a.amount is not None),
        key=lambda a: (a.request.date, a.request.source.filename, a.request.source.lineno))
    if as_of is None:
        dates = [a.request.date for a in adjustments]
        dates += [r.event.date for a in adjustments for r in a.history]
        as_of = max(dates, default=datetime.date.today())
    adjustments = [a for a in adjustments if a.request.date <= as_of]
    out: list[Finding] = []
    out += threshold_alerts(adjustments, config.alert_rules())
    out += arrival_patterns(adjustments, config, book.matrix)
    out += outliers(adjustments, config, as_of)
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


def threshold_alerts(adjustments: Sequence[Adjustment],
                     rules: Sequence[AlertRule]) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        last: dict[tuple[str, str], datetime.date] = {}
        for adj in adjustments:
            amount = adj.amount
            if (amount is None or amount.currency != rule.limit.currency
                    or adj.state.value not in rule.states or adj.request.date < rule.date):
                continue
            period = _period_key(adj.request.date, rule.period)
            for subject in _subjects(adj, rule.dimension):
                key = (subject, period)
                totals[key] += amount.number
                ids[key].append(adj.id)
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


def _subjects(adj: Adjustment, dimension: str) -> list[str]:
    request = adj.request
    if dimension == "requester":
        return [request.requested_by]
    if dimension == "customer":
        return [request.customer]
    if dimension == "category":
        return [request.category or "(no category)"]
    if dimension == "type":
        return [request.type]
    if dimension == "approver":
        return list(dict.fromkeys(adj.approvers))
    return ["all"]


def arrival_patterns(adjustments: Sequence[Adjustment], config: RiskConfig,
                     matrix: Matrix | None) -> list[Finding]:
    """The arrival checks replayed over the book, overlapping hits merged into one finding."""
    context = Arrivals(config, matrix)
    merged: list[Hit] = []
    for adj in adjustments:
        hits: list[Hit] = []
        context.judge(adj.request, adj.amount, adj.tier, hits)
        for hit in hits:
            for index, earlier in enumerate(merged):
                if (earlier.check == hit.check and earlier.subject == hit.subject
                        and set(earlier.ids) & set(hit.ids)):
                    merged[index] = hit.model_copy(
                        update={"ids": tuple(dict.fromkeys((*earlier.ids, *hit.ids)))})
                    break
            else:
                merged.append(hit)
    dates = {a.id: a.request.date for a in adjustments}
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


def outliers(adjustments: Sequence[Adjustment], config: RiskConfig,
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
            people = [adj.request.requested_by] if role == "requester" else list(adj.approvers)
            for person in people:
                if by_amount:
                    if adj.amount is None or adj.amount.currency != currency:
                        continue
                    values[person] += adj.amount.number
                else:
                    values[person] += 1
                ids[person].append(adj.id)
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
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def off_hours(adjustments: Sequence[Adjustment], config: RiskConfig,
              as_of: datetime.date) -> list[Finding]:
    out: list[Finding] = []
    for adj in adjustments:
        for record in adj.history:
            event = record.event
            if (not record.accepted or event.action is not Action.APPROVE or not event.at
                    or event.date > as_of):
                continue
            params = config.params("off-hours", event.date)
            if params is None:
                continue
            hours = _hours(str(params["hours"]))
            weekdays = _weekdays(str(params["weekdays"]))
            zone = ZoneInfo(str(params["timezone"]))
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
