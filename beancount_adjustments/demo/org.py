"""The demo organisation: its users and their grants, the approval matrix, its
customers, and `Org`, the generator's copy of the rules that every decision
it writes must satisfy."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase

from beancount_adjustments.demo.entries import add_months


@dataclass(frozen=True)
class Grant:
    user: str
    month: int  # months after the start at which this line takes effect
    roles: tuple[str, ...]
    limit: int | None = None  # cents USD
    email: str = ""


GRANTS: tuple[Grant, ...] = (
    Grant("alice", 0, ("agent",), email="alice@brightwave.example"),
    Grant("frank", 0, ("agent",), email="frank@brightwave.example"),
    Grant("bob", 0, ("manager",), 100_000, "bob@brightwave.example"),
    Grant("grace", 0, ("manager",), email="grace@brightwave.example"),
    Grant("erin", 0, ("manager", "finance"), email="erin@brightwave.example"),
    Grant("carol", 0, ("finance",), email="carol@brightwave.example"),
    Grant("heidi", 2, ("finance",), email="heidi@brightwave.example"),
    Grant("dave", 0, ("cfo",), email="dave@brightwave.example"),
)
AGENTS: tuple[str, ...] = ("alice", "frank")


@dataclass(frozen=True)
class Row:
    pattern: str
    threshold: int  # cents USD
    roles: tuple[str, ...]
    tier: str | None = None
    risk: str | None = None
    category: str | None = None

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        narrowing = (self.tier is not None) + (self.risk is not None) + (self.category is not None)
        exact = 0 if any(c in self.pattern for c in "*?[") else 1
        return (narrowing, exact, len(self.pattern), self.threshold)


MATRIX: tuple[Row, ...] = (
    Row("credit:*", 2_500, ("manager",)),
    Row("credit:*", 100_000, ("manager", "finance")),
    Row("credit:*", 1_000_000, ("manager", "finance", "cfo")),
    Row("credit:goodwill", 0, ("manager",), tier="vip"),
    Row("credit:promotional", 0, ()),
    Row("credit:refund", 0, ("manager", "finance"), risk="high"),
    Row("credit:*", 0, ("manager", "finance"), category="financial:*"),
    Row("credit:*", 1_000_000, ("manager", "finance", "cfo"), category="financial:*"),
    Row("debit:*", 0, ("manager", "finance"), category="financial:*"),
    Row("debit:*", 5_000, ("manager",)),
    Row("debit:*", 50_000, ("manager", "finance")),
    Row("debit:*", 250_000, ("manager", "finance", "cfo")),
    Row("billing:*", 0, ("finance",)),
    Row("billing:*", 10_000, ("manager", "finance")),
    Row("billing:*", 250_000, ("manager", "finance", "cfo")),
)
THRESHOLDS: tuple[int, ...] = tuple(sorted({row.threshold for row in MATRIX if row.threshold}))
SEPARATE_APPLY = "billing:"


@dataclass
class Customer:
    cid: str
    name: str
    tier: str
    currency: str
    tax_rate: int  # basis points
    billing_day: int
    monthly: int  # cents
    contact: str
    upgrade_month: int | None = None



class Org:
    """Roles, limits, tiers and prices on a date: the generator's copy of the rules."""

    def __init__(self, start: datetime.date, customers: Sequence[Customer],
                 prices: Sequence[tuple[datetime.date, int]]) -> None:
        self.start = start
        self.grants = [(add_months(start, g.month) if g.month else start, g) for g in GRANTS]
        self.customers = {c.cid: c for c in customers}
        self.prices = list(prices)

    def price(self, day: datetime.date) -> int:
        """EUR in USD (1/10000) on `day`: the latest price on or before it."""
        found = self.prices[0][1]
        for when, value in self.prices:
            if when > day:
                break
            found = value
        return found

    def rate(self, day: datetime.date) -> Decimal:
        """The price of `day` as the ledger writes it (and Beancount reads it)."""
        value = self.price(day)
        return Decimal(f"{value // 10_000}.{value % 10_000:04d}")

    def usd(self, cents: int, currency: str, day: datetime.date) -> int:
        return cents if currency == "USD" else cents * self.price(day) // 10_000

    def tier(self, cid: str, day: datetime.date) -> str:
        customer = self.customers[cid]
        if customer.upgrade_month is not None and day >= add_months(
                self.start, customer.upgrade_month):
            return "vip"
        return customer.tier

    def approvers(self, role: str, day: datetime.date, usd_cents: int,
                  exclude: Sequence[str]) -> list[str]:
        """Users holding `role` on `day` whose limit covers the amount (with a margin)."""
        found: list[str] = []
        for since, grant in self.grants:
            if since > day or role not in grant.roles or grant.user in exclude:
                continue
            if grant.limit is not None and usd_cents * 11 // 10 > grant.limit:
                continue
            found.append(grant.user)
        return found

    def fill(self, rng: random.Random, chain: Sequence[str], day: datetime.date, usd_cents: int,
             exclude: Sequence[str]) -> list[str] | None:
        """One person per level of `chain` on `day`, none in `exclude`, each a
        different person whose limit covers the amount; None when nobody can."""
        if not chain:
            return []
        people = self.approvers(chain[0], day, usd_cents, exclude)
        rng.shuffle(people)
        for person in people:
            rest = self.fill(rng, chain[1:], day, usd_cents, [*exclude, person])
            if rest is not None:
                return [person, *rest]
        return None

    def holders(self, roles: Sequence[str], day: datetime.date) -> list[str]:
        return [g.user for since, g in self.grants
                if since <= day and any(r in g.roles for r in roles)]

    @staticmethod
    def chain(adj_type: str, usd_cents: int, tier: str, risk: str | None,
              category: str) -> tuple[str, ...]:
        best: Row | None = None
        for row in MATRIX:
            if not fnmatchcase(adj_type, row.pattern) or usd_cents < row.threshold:
                continue
            if row.tier is not None and row.tier != tier:
                continue
            if row.risk is not None and row.risk != risk:
                continue
            if row.category is not None and not fnmatchcase(category, row.category):
                continue
            if best is None or row.specificity > best.specificity:
                best = row
        return best.roles if best else ()

