"""Who may decide what: users and roles, customers and tiers and the approval
matrix, all effective-dated (per-type settings: `type_policies`).

Pure functions over the models; conversions between currencies go through
a `Rates` callable so that nothing here knows Beancount's price map.
"""

from __future__ import annotations

import bisect
import datetime
import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import TypeVar

from beancount_adjustments.core import lookalike
from beancount_adjustments.core.models import (
    KNOWN_CATEGORIES,
    KNOWN_TYPES,
    ApprovalRow,
    CustomerRecord,
    Declaration,
    Money,
    UserGrant,
)

Rates = Callable[[str, str, datetime.date], Decimal | None]
"""rate(base, quote, date): how many `quote` one `base` is worth on `date`, or None."""


def convert(amount: Money, currency: str, date: datetime.date, rates: Rates) -> Decimal | None:
    """`amount` expressed in `currency` at `date`; None when no price says how."""
    if amount.currency == currency:
        return amount.number
    rate = rates(amount.currency, currency, date)
    return None if rate is None else amount.number * rate


def within_limit(limit: Money | None, amount: Money | None, requested_on: datetime.date,
                 rates: Rates) -> bool | None:
    """Whether an approver's `limit` covers `amount`; None when no price converts
    the amount into the limit's currency (never guessed: treat None as no).

    The amount is converted at the request date, as it is for the thresholds:
    what a request is worth does not drift with the day someone approves it.
    """
    if limit is None or amount is None:
        return True
    value = convert(amount, limit.currency, requested_on, rates)
    return None if value is None else value <= limit.number


_BUILT_IN = {"type": frozenset(KNOWN_TYPES), "category": frozenset(KNOWN_CATEGORIES)}


def is_known(declarations: Iterable[Declaration], name: str, kind: str,
             date: datetime.date) -> bool:
    """Whether `name` is a type (or category) a request may use on `date`: one of
    DESIGN.md's, or declared by the site on or before that date."""
    if name in _BUILT_IN[kind]:
        return True
    return any(d.kind == kind and d.name == name and d.date <= date for d in declarations)


def known_names(declarations: Iterable[Declaration], kind: str,
                date: datetime.date) -> list[str]:
    """Every type (or category) a request may use on `date`, built-in ones first."""
    built_in = list(KNOWN_TYPES if kind == "type" else KNOWN_CATEGORIES)
    declared = sorted({d.name for d in declarations if d.kind == kind and d.date <= date})
    return built_in + [name for name in declared if name not in built_in]


class MissingPrice(Exception):
    """Raised inside the policy only, and turned into a problem by the caller."""

    def __init__(self, base: str, quote: str, date: datetime.date) -> None:
        super().__init__(f"no price converts {base} to {quote} on or before {date}")
        self.base, self.quote, self.date = base, quote, date


T = TypeVar("T")


def _latest_group(records: Sequence[T], dates: Sequence[datetime.date],
                  date: datetime.date) -> list[T]:
    """The records carrying the latest date on or before `date` (all of that day)."""
    end = bisect.bisect_right(dates, date)
    if end == 0:
        return []
    last = dates[end - 1]
    start = bisect.bisect_left(dates, last, 0, end)
    return list(records[start:end])


@dataclass
class Directory:
    """Users and customers, effective-dated.

    Lookups are cached per (user or customer, date): the replay asks about
    the same few users and customers tens of thousands of times, and the
    directory does not change once built.
    """

    grants: dict[str, list[UserGrant]] = field(default_factory=dict)
    customers: dict[str, list[CustomerRecord]] = field(default_factory=dict)
    _roles: dict[tuple[str, datetime.date], tuple[str, ...]] = field(
        default_factory=dict, repr=False)
    _grants_on: dict[tuple[str, datetime.date], tuple[UserGrant, ...]] = field(
        default_factory=dict, repr=False)
    _limits: dict[tuple[str, str, datetime.date], tuple[bool, Money | None]] = field(
        default_factory=dict, repr=False)
    _customer_dates: dict[str, list[datetime.date]] = field(default_factory=dict, repr=False)
    _alike: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)
    _sharing: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, grants: Iterable[UserGrant], customers: Iterable[CustomerRecord],
              named: Iterable[CustomerRecord] = (),
              default_tier: str = "standard") -> Directory:
        """`named`: the customers the ledger's transactions name (default tier), known
        from their first naming; a declaration takes over from its own date. A
        declaration without a tier keeps the one before it (else `default_tier`)."""
        directory = cls()
        for grant in sorted(grants, key=lambda g: g.date):
            directory.grants.setdefault(grant.user, []).append(grant)
        for record in sorted(customers, key=lambda c: c.date):
            directory.customers.setdefault(record.customer, []).append(record)
        for record in named:
            declared = directory.customers.setdefault(record.customer, [])
            if not declared or record.date < declared[0].date:
                declared.insert(0, record)
        for records in directory.customers.values():
            tier = default_tier
            for i, record in enumerate(records):
                if record.tier is None:
                    records[i] = replace(record, tier=tier)
                else:
                    tier = record.tier
        return directory

    def _grants(self, user: str, date: datetime.date) -> tuple[UserGrant, ...]:
        key = (user, date)
        found = self._grants_on.get(key)
        if found is None:
            grants = self.grants.get(user)
            found = self._grants_on[key] = tuple(
                _latest_group(grants, [g.date for g in grants], date) if grants else ())
        return found

    def is_user(self, user: str, date: datetime.date) -> bool:
        found = self._grants_on.get((user, date))
        return bool(found if found is not None else self._grants(user, date))

    def roles_on(self, user: str, date: datetime.date) -> tuple[str, ...]:
        key = (user, date)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = tuple(dict.fromkeys(
                r for g in self._grants(user, date) for r in g.roles))
        return found

    def limit_for(self, user: str, role: str, date: datetime.date) -> tuple[bool, Money | None]:
        """(holds the role, its limit or None for unlimited)."""
        key = (user, role, date)
        found = self._limits.get(key)
        if found is None:
            found = self._limits[key] = self._limit_for(user, role, date)
        return found

    def _limit_for(self, user: str, role: str, date: datetime.date) -> tuple[bool, Money | None]:
        limits = [g.limit for g in self._grants(user, date) if role in g.roles]
        if not limits:
            return False, None
        if any(limit is None for limit in limits):
            return True, None
        return True, max((lim for lim in limits if lim is not None), key=lambda m: m.number)

    def same_person(self, user: str, other: str, date: datetime.date) -> str | None:
        """Why `user` and `other`, two names, are one person as far as the ledger can
        tell on `date` (the names read as one another, case and look-alike letters
        aside, or their user lines share an `email:` or `git:` address), or None.
        Segregation of duties counts people, not names: "bob" and "Bob" (a
        `lookalike-user` warning) pass for each other on every page, and an alias
        declared with bob's e-mail is bob."""
        # Asked for every approval against the requester and each earlier approver:
        # the answers that do not depend on the day are worked out once.
        alike = self._alike.get((user, other))
        if alike is None:
            alike = self._alike[(user, other)] = lookalike.reads_as(user, other)
        if alike:
            return f'"{user}" reads as "{other}"'
        sharing = self._sharing
        if sharing is None:
            sharing = self._sharing = self._sharing_an_address()
        if user not in sharing or other not in sharing:
            return None
        mine = self._addresses(user, date)
        if mine:
            shared = sorted(mine.keys() & self._addresses(other, date).keys())
            if shared:
                return f'"{user}" and "{other}" share the address {mine[shared[0]]}'
        return None

    def _sharing_an_address(self) -> frozenset[str]:
        """The users some line of whom gives an address a line of another user gives."""
        names: dict[str, set[str]] = {}
        for user, grants in self.grants.items():
            for grant in grants:
                for address in (grant.email, grant.git):
                    if address and address.strip():
                        names.setdefault(address.strip().casefold(), set()).add(user)
        return frozenset(user for users in names.values() if len(users) > 1 for user in users)

    def _addresses(self, user: str, date: datetime.date) -> dict[str, str]:
        """The e-mail addresses of `user`'s lines on `date`, case aside, as written."""
        return {address.strip().casefold(): address.strip()
                for grant in self._grants(user, date)
                for address in (grant.email, grant.git) if address and address.strip()}

    def customer_on(self, customer: str, date: datetime.date) -> CustomerRecord | None:
        # Not cached per (customer, date) like users: there are as many
        # customers as requests, and a cache would outweigh a binary search.
        records = self.customers.get(customer)
        if not records:
            return None
        if len(records) == 1:  # most customers are declared once
            return records[0] if records[0].date <= date else None
        dates = self._customer_dates.get(customer)
        if dates is None:
            dates = self._customer_dates[customer] = [r.date for r in records]
        end = bisect.bisect_right(dates, date)
        return records[end - 1] if end else None

    def contact_rival(self, record: CustomerRecord) -> CustomerRecord | None:
        """An earlier declaration of `record`'s customer on its own day with another
        `contact:` (both give one), or None. Of two such, the one in force is the later
        in the order of the files (an include moved decides it), so neither is to be
        trusted. (A line without `contact:` beside one with it sends nowhere else.)"""
        if record.contact is None:
            return None
        same = [r for r in self.customers.get(record.customer, ()) if r.date == record.date]
        earlier = same[:same.index(record)] if record in same else []
        return next((r for r in earlier if r.contact not in (None, record.contact)), None)

    def find(self, text: str, date: datetime.date | None = None) -> list[str]:
        """The ids of the customers `text` picks: its id, else every customer whose
        name (in its latest record, or on `date`) is `text`, case aside."""
        text = text.strip()
        if self.customers.get(text):
            return [text]
        wanted = text.casefold()
        return sorted(customer for customer, name in self.names(date).items()
                      if name is not None and name.casefold() == wanted)

    def names(self, date: datetime.date | None = None) -> dict[str, str | None]:
        """Each customer's name on `date` (None: the latest record's)."""
        out: dict[str, str | None] = {}
        for customer, records in self.customers.items():
            record = (records[-1] if date is None
                      else self.customer_on(customer, date)) if records else None
            if record is not None:
                out[customer] = record.name
        return out

    def nearest(self, text: str, n: int = 3) -> list[str]:
        """The known customers nearest to `text` by id or name, as `id (name)`."""
        names = self.names()
        keys: dict[str, str] = {}
        for customer, name in names.items():
            keys.setdefault(customer.casefold(), customer)
            if name:
                keys.setdefault(name.casefold(), customer)
        close = difflib.get_close_matches(text.strip().casefold(), list(keys), n=n * 2,
                                          cutoff=0.6)
        found = list(dict.fromkeys(keys[key] for key in close))[:n]
        return [f"{c} ({names[c]})" if names.get(c) else c for c in found]

    def users_with_role(self, role: str, date: datetime.date) -> list[str]:
        return sorted(u for u in self.grants if role in self.roles_on(u, date))


def _specificity(row: ApprovalRow) -> tuple[int, int, int, Decimal]:
    narrowing = sum(1 for v in (row.customer_tier, row.category, row.risk) if v)
    exact = 0 if any(c in row.pattern for c in "*?[") else 1
    return (narrowing, exact, len(row.pattern), row.threshold.number)


@dataclass
class Matrix:
    """The approval matrix over time: the rows in force on each date."""

    versions: list[tuple[datetime.date, tuple[ApprovalRow, ...]]] = field(default_factory=list)
    dates: list[datetime.date] = field(default_factory=list)
    _candidates: dict[tuple[object, ...], tuple[ApprovalRow, ...]] = field(
        default_factory=dict, repr=False)

    @classmethod
    def build(cls, rows: Iterable[ApprovalRow]) -> Matrix:
        in_force: dict[object, ApprovalRow] = {}
        versions: list[tuple[datetime.date, tuple[ApprovalRow, ...]]] = []
        for row in sorted(rows, key=lambda r: r.date):
            in_force[row.key] = row
            snapshot = tuple(in_force.values())
            if versions and versions[-1][0] == row.date:
                versions[-1] = (row.date, snapshot)
            else:
                versions.append((row.date, snapshot))
        return cls(versions, [d for d, _ in versions])

    def rows_on(self, date: datetime.date) -> tuple[ApprovalRow, ...]:
        index = bisect.bisect_right(self.dates, date)
        return self.versions[index - 1][1] if index else ()

    def choose(self, *, adj_type: str, category: str | None, tier: str | None,
               risk: Sequence[str], amount: Money, date: datetime.date,
               rates: Rates) -> ApprovalRow | None:
        """The most specific matching row, or None (automatic approval).

        Raises MissingPrice when a threshold in another currency cannot be
        compared: the caller reports it, it never guesses.
        """
        return self.choose_from(self.candidates(adj_type, category, tier, tuple(risk), date),
                                amount, date, rates)

    @staticmethod
    def choose_from(rows: Sequence[ApprovalRow], amount: Money, date: datetime.date,
                    rates: Rates) -> ApprovalRow | None:
        """`choose` among `rows`, the `candidates` a caller has already looked up."""
        for row in rows:
            threshold = row.threshold
            value = (amount.number if threshold.currency == amount.currency
                     else convert(amount, threshold.currency, date, rates))
            if value is None:
                raise MissingPrice(amount.currency, row.threshold.currency, date)
            if value >= row.threshold.number:
                return row
        return None

    def candidates(self, adj_type: str, category: str | None, tier: str | None,
                   risk: tuple[str, ...], date: datetime.date) -> tuple[ApprovalRow, ...]:
        """Rows that fit a request's shape, most specific first (amount aside).

        Requests share few shapes, so this is cached: `choose` then only
        compares thresholds.
        """
        index = bisect.bisect_right(self.dates, date)
        key = (adj_type, category, tier, risk, index)
        found = self._candidates.get(key)
        if found is None:
            rows = [row for row in (self.versions[index - 1][1] if index else ())
                    if fnmatchcase(adj_type, row.pattern)
                    and (row.customer_tier is None or row.customer_tier == tier)
                    and (row.category is None
                         or (category is not None and fnmatchcase(category, row.category)))
                    and (row.risk is None or row.risk in risk)]
            found = self._candidates[key] = tuple(
                sorted(rows, key=_specificity, reverse=True))
        return found

    def lowest_thresholds(self, adj_type: str, category: str | None, tier: str | None,
                          date: datetime.date) -> dict[str, Decimal]:
        """The lowest threshold from which a request of this shape (no risk flags)
        needs a role, in each currency its rows are written in: what `splitting`
        weighs requests against. A row `choose_from` never reaches (one before it,
        in its currency, from a threshold no higher: `credit:goodwill` from 0.00 USD
        with no roles hides `credit:*` from 25.00 USD) sets no threshold."""
        lowest: dict[str, Decimal] = {}
        reached: dict[str, Decimal] = {}
        for row in self.candidates(adj_type, category, tier, (), date):
            currency, number = row.threshold.currency, row.threshold.number
            if currency in reached and number >= reached[currency]:
                continue
            reached[currency] = number
            if row.roles:
                lowest[currency] = number  # the thresholds reached only fall
        return lowest


AUTOMATIC = "automatic"
"""How a recorded `chain:` spells a chain with no roles."""


def chain_text(roles: Sequence[str]) -> str:
    """A chain as `chain:` records it: "manager > finance", or "automatic"."""
    return " > ".join(roles) or AUTOMATIC


def parse_chain(text: str) -> tuple[str, ...]:
    found = _CHAINS.get(text)
    if found is None:
        found = () if text.strip() == AUTOMATIC else tuple(
            role.strip() for role in text.split(">") if role.strip())
        if len(_CHAINS) < 1024:  # a ledger has a handful of chains
            _CHAINS[text] = found
    return found


_CHAINS: dict[str, tuple[str, ...]] = {}
"""The chains read so far: every event shares its chain's one tuple (at 30k
transactions, 1.9 MiB less peak memory and 40 ms less of a 0.7 s pass, measured
with benchmarks/plugin_load.py's ledger)."""
