"""Risk settings and the flags a request gets on arrival.

`adjustment-risk` and `adjustment-alert` lines become `RiskSetting` and
`AlertRule` (read in `beans.risk_settings`, validated by `check_params`);
`RiskConfig` answers which parameters are in force on a date. `Arrivals` is
the replay's memory of earlier requests: `request_flags` judges each request
as it arrives, and the flags it returns join the request's own `risk:` so a
matrix row narrowed by `risk:` can match them. Each check costs a few
dictionary look-ups and binary searches, never a scan of the ledger. The
findings `bean-adjust risk` lists are built over the book in `reports.risk`;
the checks and their settings are described in docs/risk.md.
"""

from __future__ import annotations

import bisect
import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beancount_adjustments.core.models import Money, Request, Source, State
from beancount_adjustments.core.policy import convert

if TYPE_CHECKING:
    from beancount_adjustments.core.policy import Matrix, Rates

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


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSetting:
    """One `adjustment-risk` line: a check's parameters from its date on."""

    date: datetime.date
    check: str
    params: Mapping[str, Param]
    enabled: bool = True
    notify: tuple[str, ...] = ()
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRule:
    """One `adjustment-alert` line: a limit on totals per dimension and period."""

    date: datetime.date
    dimension: str
    limit: Money
    period: str = "month"
    states: tuple[str, ...] = DEFAULT_ALERT_STATES
    notify: tuple[str, ...] = ()
    """Who is sent the alert (`notify:`): users, `role:NAME`, `*` (everyone with a role)."""
    source: Source

    def counts(self, state: State) -> bool:
        """Whether an adjustment in `state` counts towards the limit: a state `states:`
        lists, and `reversing` wherever `applied` is listed, since a reversal awaiting
        approval has not undone the booking (cancels nobody approves must not keep
        booked credits under the limit)."""
        listed = self.states
        return state.value in listed or (state is State.REVERSING and "applied" in listed)



def check_params(check: str, params: Mapping[str, Param]) -> str | None:
    if check == "off-hours":
        if parse_hours(str(params["hours"])) is None:
            return '`hours:` reads like "08:00-18:00".'
        if parse_weekdays(str(params["weekdays"])) is None:
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


def parse_hours(text: str) -> tuple[datetime.time, datetime.time] | None:
    match = re.fullmatch(r"\s*(\d\d?):(\d\d)\s*-\s*(\d\d?):(\d\d)\s*", text)
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    end = datetime.time(23, 59, 59, 999999) if h2 == 24 else datetime.time(h2, m2)
    return datetime.time(h1, m1), end


def parse_weekdays(text: str) -> frozenset[int] | None:
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


@dataclass
class _Window:
    """Dates (sorted, as requests arrive in date order) with ids and running sums."""

    dates: list[datetime.date] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    sums: list[Decimal] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
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


_WORDS = re.compile(r"[^\W_]+")


def reason_words(reason: str) -> str:
    """What `duplicates` compares of a reason: its words, ignoring case, spacing and
    punctuation, so "late  delivery!" files the same reason as "Late delivery"."""
    return " ".join(_WORDS.findall(reason.casefold()))


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
    rates: Rates | None = None
    """Prices, to weigh a request against thresholds written in another currency."""
    _split: dict[tuple[str, str, str], _Window] = field(default_factory=dict)
    _dupes: dict[tuple[str, str, Decimal, str], list[tuple[datetime.date, str]]] = field(
        default_factory=dict)
    _goodwill: dict[str, list[tuple[datetime.date, str]]] = field(default_factory=dict)
    _rounds: dict[tuple[str, str], list[tuple[datetime.date, str]]] = field(
        default_factory=dict)
    _lowest: dict[tuple[int, str, str | None, str | None], dict[str, Decimal]] = field(
        default_factory=dict)
    _day: datetime.date | None = None
    _params: tuple[dict[str, Param] | None, ...] = ()
    _starts: tuple[datetime.date, ...] = ()

    def copy(self) -> Arrivals:
        """What this remembers, as a new context to judge more requests with (the
        writer continuing a finished replay): this one is left as it is."""
        return Arrivals(
            self.config, self.matrix, self.rates,
            {key: _Window(list(w.dates), list(w.ids), list(w.sums))
             for key, w in self._split.items()},
            {key: list(seen) for key, seen in self._dupes.items()},
            {key: list(seen) for key, seen in self._goodwill.items()},
            {key: list(seen) for key, seen in self._rounds.items()},
            dict(self._lowest), self._day, self._params, self._starts)

    def _thresholds(self, request: Request, tier: str | None, amount: Money,
                    ) -> list[tuple[str, Decimal, Decimal]]:
        """(currency, lowest threshold, the amount in that currency) for each currency
        the rows covering `request` are written in and a price converts the amount
        into: 20 EUR credits split under a 25 USD threshold are weighed in USD."""
        if self.matrix is None:
            return []
        rows = self.matrix.rows_on(request.date)
        key = (id(rows), request.type, request.category, tier)
        lowest = self._lowest.get(key)
        if lowest is None:
            lowest = self._lowest[key] = self.matrix.lowest_thresholds(
                request.type, request.category, tier, request.date)
        out = []
        for currency, threshold in lowest.items():
            if currency == amount.currency:
                value: Decimal | None = amount.number
            else:
                value = (None if self.rates is None
                         else convert(amount, currency, request.date, self.rates))
            if value is not None:
                out.append((currency, threshold, value))
        return out

    def _settle(self, date: datetime.date) -> None:
        """Parameters and window starts for `date` (computed once per day)."""
        self._day = date
        self._params = tuple(self.config.params(check, date) for check in ARRIVAL_CHECKS)
        self._starts = tuple(
            days_before(date, int(p["days"])) if p is not None else date
            for p in self._params)

    def _splitting(self, request: Request, amount: Money, tier: str | None,  # noqa: PLR0917
                   split: dict[str, Param], split_from: datetime.date,
                   hits: list[Hit] | None) -> bool:
        """Whether `request`, under the lowest threshold, crosses it together with the
        same requester's earlier requests for the customer (in each currency a
        threshold is written in), then remember it. Each of its requesters counts
        (`Request.requesters`: who entered it for another too), so naming someone
        else as `requested-by` on each part does not hide a split."""
        found = False
        for currency, threshold, number in self._thresholds(request, tier, amount):
            if number >= threshold:
                continue
            for person in request.requesters:
                key = (request.customer, person, currency)
                window = self._split.get(key)
                if window is None:
                    window = self._split[key] = _Window()
                start = bisect.bisect_left(window.dates, split_from)
                sums = window.sums
                total = number + (sums[-1] - (sums[start - 1] if start else _ZERO)
                                  if start < len(sums) else _ZERO)
                if start < len(sums) and total >= threshold and not found:
                    found = True
                    if hits is not None:
                        ids = (*window.ids[start:], request.id)
                        hits.append(Hit(
                            check="splitting", ids=ids,
                            subject=f"{person} / {request.customer}",
                            message=(f"{person} filed {len(ids)} requests for "
                                     f"{request.customer} within {split['days']} days, each "
                                     f"below the approval threshold of {threshold} "
                                     f"{currency}, together {total} {currency}: possibly "
                                     "split to avoid approval.")))
                window.dates.append(request.date)
                window.ids.append(request.id)
                sums.append((sums[-1] if sums else _ZERO) + number)
        return found

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

        if split is not None and self._splitting(request, amount, tier, split, split_from,
                                                 hits):
            flags.append("splitting")

        if dupes is not None:
            reason = reason_words(request.reason)
            seen = self._dupes.setdefault((request.customer, currency, number, reason), [])
            start = bisect.bisect_left(seen, (dupes_from,))
            if start < len(seen):
                flags.append("duplicates")
                if hits is not None:
                    ids = (*(i for _d, i in seen[start:]), rid)
                    hits.append(Hit(
                        check="duplicates", ids=ids, subject=request.customer,
                        message=(f"{len(ids)} requests for {request.customer} of {number} "
                                 f"{currency} with the same reason \"{request.reason}\" (up to "
                                 "case and punctuation) within "
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
            for person in request.requesters:  # as for splitting: whoever entered it too
                seen = self._rounds.setdefault((person, currency), [])
                start = bisect.bisect_left(seen, (rounds_from,))
                count = len(seen) - start + 1
                if count >= int(rounds["count"]) and "round-amounts" not in flags:
                    flags.append("round-amounts")
                    if hits is not None:
                        hits.append(Hit(
                            check="round-amounts", ids=(*(i for _d, i in seen[start:]), rid),
                            subject=person,
                            message=(f"{person} filed {count} requests in whole multiples "
                                     f"of {rounds['unit']} {currency} within "
                                     f"{rounds['days']} days: round amounts are often "
                                     "estimates rather than computed figures.")))
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
