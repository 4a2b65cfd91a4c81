"""A deterministic demo ledger: a small subscription business with adjustments.

`generate_ledger()` returns the Beancount text of about `transactions`
transactions for an imaginary SaaS company, "Brightwave Analytics":

- options, the plugin line, commodities (USD, EUR), monthly EUR prices and an
  `open` for every account used;
- users (agents, managers, finance, a CFO, one user holding two roles on one
  line, one joining later), customers at tiers `standard`, `vip` and
  `enterprise` (some billed in EUR, one upgraded mid-year), the approval
  matrix, per-type policies and a period lock;
- monthly subscription invoices (`invoice-id:`), payments, one-off orders
  (`order-id:`), operating expenses and sales-tax remittances, with monthly
  balance assertions on the bank account;
- about one transaction in five is an adjustment request, of every type and
  category, followed by its decisions (`custom "adjustment"` events): about
  2.5 events per request, ending in every state (pending with or without
  partial approvals, approved but not yet applied, applied, rejected,
  withdrawn, reversed, and reversing: cancelled once applied, the reversal
  awaiting its approval chain, often with a level filled); some reversals are
  refused (rejected while reversing, so applied again). Each decision carries
  `by:`, `at:` (local time with the org's offset, on the event's own date) and
  `digest:` (the versioned content hash of the request it decides on) as the
  tools write them; approvals also carry `chain:` (the chain they fill: the
  reversal's for a reversal) and, for EUR customers, `judged:` (the amount in
  USD at the request date's price, exactly). About one request in four is
  entered by an agent (`entered-by:`) on behalf of another requester.

Every decision is valid under the ledger's own rules (README.md, "Ledger
syntax"; DESIGN.md, "Lifecycle" and "Integrity"): the generator carries a
small copy of the approval matrix and of the users' roles and limits, so
approvers hold the required role on the event's date, their limit covers the
amount at the request date, levels are approved in order by different people
who are never a requester (nor, for a reversal, its canceller), a reversal's
chain is the one in force on the cancel's date, and credits against an invoice
never exceed what is left of it. Nothing reads the clock or the environment:
the same arguments always give the same text. The period runs `months` months
from `start`, the last month only through its 23rd day (the defaults end on
2026-11-23).

Regenerate the committed demo with::

    python -m beancount_adjustments.demo -o ledgers/demo.beancount
"""

from __future__ import annotations

import argparse
import datetime
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path

from beancount_adjustments.core.digest import request_digest
from beancount_adjustments.core.models import KNOWN_CATEGORIES, Posting, Request, Source
from beancount_adjustments.core.policy import chain_text

__all__ = ["generate_ledger", "write_ledger"]

DEFAULT_START = datetime.date(2026, 1, 1)

RECEIVABLE = "Assets:Receivable:Customers"
BANK = "Assets:Bank:Checking"
TAX = "Liabilities:Tax:Sales"

ACCOUNTS: tuple[tuple[str, str], ...] = (
    (BANK, "USD,EUR"),
    (RECEIVABLE, "USD,EUR"),
    ("Assets:Clearing:Chargebacks", "USD,EUR"),
    (TAX, "USD"),
    ("Equity:Opening-Balances", "USD,EUR"),
    ("Income:Subscriptions", "USD,EUR"),
    ("Income:Sales", "USD,EUR"),
    ("Income:Sales:Returns", "USD,EUR"),
    ("Income:Sales:Discounts", "USD,EUR"),
    ("Income:Fees", "USD,EUR"),
    ("Income:Adjustments:Corrections", "USD,EUR"),
    ("Income:Adjustments:BalanceCorrections", "USD,EUR"),
    ("Expenses:Adjustments:AccountCredit", "USD,EUR"),
    ("Expenses:Adjustments:Goodwill", "USD,EUR"),
    ("Expenses:Adjustments:Promotional", "USD,EUR"),
    # The offsets `bean-adjust create` uses when no --offset-account is given.
    ("Expenses:Adjustments:Credits", "USD,EUR"),
    ("Income:Adjustments:Debits", "USD,EUR"),
    ("Income:Adjustments:Billing", "USD,EUR"),
    ("Expenses:Hosting", "USD"),
    ("Expenses:Payroll", "USD"),
    ("Expenses:Rent", "USD"),
    ("Expenses:Software", "USD"),
    ("Expenses:Marketing", "USD"),
    ("Expenses:Travel", "USD"),
    ("Expenses:Bank:Fees", "USD"),
)

# The other leg of each request type (the receivable leg is RECEIVABLE).
COUNTER_ACCOUNT: dict[str, str] = {
    "credit:account": "Expenses:Adjustments:AccountCredit",
    "credit:promotional": "Expenses:Adjustments:Promotional",
    "credit:goodwill": "Expenses:Adjustments:Goodwill",
    "credit:refund": "Income:Sales:Returns",
    "debit:correction": "Income:Adjustments:Corrections",
    "debit:fee": "Income:Fees",
    "debit:balance-correction": "Income:Adjustments:BalanceCorrections",
    "debit:chargeback": "Assets:Clearing:Chargebacks",
    "billing:invoice-correction": "Income:Subscriptions",
    "billing:tax": TAX,
    "billing:discount": "Income:Sales:Discounts",
    "billing:price-correction": "Income:Subscriptions",
}
TYPES: tuple[str, ...] = tuple(COUNTER_ACCOUNT)
TYPE_WEIGHTS: tuple[int, ...] = (12, 4, 12, 12, 7, 8, 5, 5, 9, 5, 8, 10)

# Every category; TYPE_CATEGORIES spreads them over the types (each one is used).
CATEGORIES: tuple[str, ...] = KNOWN_CATEGORIES
TYPE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "credit:account": ("customer-service:complaint-resolution", "operational:billing-error",
                       "financial:payment-correction", "financial:reconciliation",
                       "operational:data-migration"),
    "credit:promotional": ("customer-service:loyalty", "operational:process-improvement"),
    "credit:goodwill": ("customer-service:goodwill", "customer-service:service-recovery",
                        "customer-service:loyalty"),
    "credit:refund": ("customer-service:complaint-resolution", "operational:billing-error",
                      "financial:payment-correction"),
    "debit:correction": ("operational:billing-error", "operational:system-correction",
                         "financial:currency-correction"),
    "debit:fee": ("financial:payment-correction", "operational:process-improvement"),
    "debit:balance-correction": ("financial:reconciliation", "operational:data-migration",
                                 "operational:system-correction"),
    "debit:chargeback": ("financial:payment-correction", "financial:reconciliation"),
    "billing:invoice-correction": ("operational:billing-error", "operational:system-correction",
                                   "financial:currency-correction"),
    "billing:tax": ("financial:tax-adjustment",),
    "billing:discount": ("customer-service:loyalty", "customer-service:goodwill"),
    "billing:price-correction": ("operational:billing-error", "operational:data-migration"),
}
REASONS: dict[str, tuple[str, ...]] = {
    "credit:account": ("Duplicate charge on the card", "Overpayment carried to account",
                       "Unused seats credited back", "Account credit after plan downgrade"),
    "credit:promotional": ("Spring promotion credit", "Referral bonus",
                           "Annual plan launch offer", "Webinar attendee credit"),
    "credit:goodwill": ("Goodwill credit for the outage", "Apology for slow support response",
                        "Goodwill for onboarding delays", "Service disruption on dashboard"),
    "credit:refund": ("Refund of unused add-on", "Product return - damaged item",
                      "Refund for cancelled order", "Refund of duplicate order"),
    "debit:correction": ("Usage under-billed last cycle", "Missed overage charge",
                         "Seat count corrected upward"),
    "debit:fee": ("Late payment fee", "Returned payment fee", "Expedited setup fee"),
    "debit:balance-correction": ("Balance migrated from the old system",
                                 "Reconciliation difference with the bank",
                                 "Opening balance correction"),
    "debit:chargeback": ("Card chargeback from the issuer", "Disputed payment reversed by bank"),
    "billing:invoice-correction": ("Wrong plan on the invoice", "Invoice line entered twice",
                                   "Proration computed on the wrong date"),
    "billing:tax": ("Sales tax rate corrected", "Customer tax exemption certificate received"),
    "billing:discount": ("Negotiated volume discount", "Nonprofit discount not applied"),
    "billing:price-correction": ("Price list update not applied", "Legacy price honoured",
                                 "Contract price differs from list price"),
}
REJECT_REASONS: tuple[str, ...] = (
    "Not covered by the service agreement", "Customer already compensated",
    "Insufficient evidence in the ticket", "Amount does not match the usage records",
    "Duplicate of an earlier request",
)
WITHDRAW_REASONS: tuple[str, ...] = (
    "Customer paid the difference instead", "Raised against the wrong customer",
    "Handled through a replacement order", "Superseded by a corrected request",
)
REVERSE_REASONS: tuple[str, ...] = (
    "Applied to the wrong invoice", "Customer chargeback settled in our favour",
    "Duplicate of an applied adjustment", "Amount entered in the wrong currency",
)
REFUSE_REASONS: tuple[str, ...] = (
    "The original adjustment was correct", "Customer confirmed the credit is due",
    "Reverse the invoice instead", "No evidence the adjustment was wrong",
)
COMMENTS: tuple[str, ...] = (
    "Checked against the ticket history", "Matches the usage report",
    "OK per account manager", "Verified with the payment processor",
)

# -- the organisation ---------------------------------------------------------


@dataclass(frozen=True)
class _Grant:
    user: str
    month: int  # months after the start at which this line takes effect
    roles: tuple[str, ...]
    limit: int | None = None  # cents USD
    email: str = ""


GRANTS: tuple[_Grant, ...] = (
    _Grant("alice", 0, ("agent",), email="alice@brightwave.example"),
    _Grant("frank", 0, ("agent",), email="frank@brightwave.example"),
    _Grant("bob", 0, ("manager",), 100_000, "bob@brightwave.example"),
    _Grant("grace", 0, ("manager",), email="grace@brightwave.example"),
    _Grant("erin", 0, ("manager", "finance"), email="erin@brightwave.example"),
    _Grant("carol", 0, ("finance",), email="carol@brightwave.example"),
    _Grant("heidi", 2, ("finance",), email="heidi@brightwave.example"),
    _Grant("dave", 0, ("cfo",), email="dave@brightwave.example"),
)
AGENTS: tuple[str, ...] = ("alice", "frank")


@dataclass(frozen=True)
class _Row:
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


MATRIX: tuple[_Row, ...] = (
    _Row("credit:*", 2_500, ("manager",)),
    _Row("credit:*", 100_000, ("manager", "finance")),
    _Row("credit:*", 1_000_000, ("manager", "finance", "cfo")),
    _Row("credit:goodwill", 0, ("manager",), tier="vip"),
    _Row("credit:promotional", 0, ()),
    _Row("credit:refund", 0, ("manager", "finance"), risk="high"),
    _Row("credit:*", 0, ("manager", "finance"), category="financial:*"),
    _Row("credit:*", 1_000_000, ("manager", "finance", "cfo"), category="financial:*"),
    _Row("debit:*", 0, ("manager", "finance"), category="financial:*"),
    _Row("debit:*", 5_000, ("manager",)),
    _Row("debit:*", 50_000, ("manager", "finance")),
    _Row("debit:*", 250_000, ("manager", "finance", "cfo")),
    _Row("billing:*", 0, ("finance",)),
    _Row("billing:*", 10_000, ("manager", "finance")),
    _Row("billing:*", 250_000, ("manager", "finance", "cfo")),
)
THRESHOLDS: tuple[int, ...] = tuple(sorted({row.threshold for row in MATRIX if row.threshold}))
SEPARATE_APPLY = "billing:"

# Intended end states. "refused": cancelled once applied, and the reversal
# rejected while it awaited approval (so it ends applied again).
STATES: tuple[str, ...] = ("applied", "pending", "approved", "rejected", "withdrawn", "reversed",
                           "reversing", "refused")
STATE_WEIGHTS: tuple[int, ...] = (40, 8, 8, 10, 8, 20, 4, 2)
NEEDS_CHAIN = frozenset({"pending", "approved", "rejected", "withdrawn"})
# States that need the reversal to have a chain (a chain-free reversal is booked at the cancel).
REVERSAL_WAITS = frozenset({"reversing", "refused"})
ENTERED_SHARE = 0.25  # requests an agent enters on behalf of someone else
# Who asks an agent to file a request for them: an account manager, or the other agent.
ON_BEHALF_OF: tuple[str, ...] = ("grace", "bob", "alice", "frank")

_NAME_A = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Falcon", "Granite", "Harbor", "Iris",
           "Juniper", "Kite", "Lumen", "Maple", "Nova", "Orbit", "Pioneer", "Quartz",
           "Riverside", "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith")
_NAME_B = ("Analytics", "Bakery", "Clinic", "Design", "Logistics", "Media", "Outfitters",
           "Partners", "Robotics", "Software", "Studios", "Systems", "Travel", "Foods")
_NAME_C = ("Corp", "Inc", "LLC", "Ltd", "GmbH", "Co")
_VENDORS: tuple[tuple[str, str, int, int], ...] = (
    ("Expenses:Hosting", "Cloudhost", 40_000, 300_000),
    ("Expenses:Software", "Toolsuite", 2_000, 40_000),
    ("Expenses:Marketing", "Adnet", 10_000, 250_000),
    ("Expenses:Travel", "Skyways", 15_000, 120_000),
    ("Expenses:Bank:Fees", "First Harbor Bank", 500, 5_000),
)

# -- helpers -----------------------------------------------------------------


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _posting(account: str, cents: int, currency: str) -> str:
    amount = f"{_money(cents)} {currency}"
    return f"  {account:<44}{amount:>16}\n"


def _nth_sunday(year: int, month: int, nth: int) -> datetime.date:
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def _offset(day: datetime.date) -> str:
    """The demo org's UTC offset on `day` (US Eastern, worked out without tzdata).

    Daylight time runs from the second Sunday of March to the first Sunday of
    November; it changes at 2am, and every decision is stamped after 8am.
    """
    summer = _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    return "-04:00" if summer else "-05:00"


def _stamp(day: datetime.date, seconds: int) -> str:
    """`at:` as the tools write it: local time on `day` itself, with the org's offset.

    `seconds` (after local midnight) stays below a day, so the moment falls on
    the event's own date: no event is back-dated (policy `backdate-days` 0).
    """
    if not 0 <= seconds < 86_400:
        raise ValueError(f"clock {seconds} is not within a day")
    hours, rest = divmod(seconds, 3600)
    return f"{day.isoformat()}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{_offset(day)}"


@dataclass
class _Customer:
    cid: str
    name: str
    tier: str
    currency: str
    tax_rate: int  # basis points
    billing_day: int
    monthly: int  # cents
    contact: str
    upgrade_month: int | None = None


@dataclass
class _Ref:
    """An invoice or order: what is left to credit against it."""

    rid: str
    customer: str
    day: datetime.date
    amount: int
    currency: str
    tax: int
    left: int


@dataclass
class _Ledger:
    """Entries collected as (date, clock, sequence, text) and written sorted."""

    entries: list[tuple[datetime.date, int, int, str]] = field(default_factory=list)
    bank: dict[tuple[datetime.date, str], int] = field(default_factory=dict)
    seq: int = 0
    transactions: int = 0

    def add(self, day: datetime.date, text: str, *, txn: bool = False, clock: int = -1) -> None:
        """Add an entry; within a day, events (with a `clock`) follow in time order."""
        self.seq += 1
        self.entries.append((day, clock, self.seq, text))
        if txn:
            self.transactions += 1

    def bank_move(self, day: datetime.date, cents: int, currency: str) -> None:
        key = (day, currency)
        self.bank[key] = self.bank.get(key, 0) + cents


class _Org:
    """Roles, limits, tiers and prices on a date: the generator's copy of the rules."""

    def __init__(self, start: datetime.date, customers: Sequence[_Customer],
                 prices: Sequence[tuple[datetime.date, int]]) -> None:
        self.start = start
        self.grants = [(_add_months(start, g.month) if g.month else start, g) for g in GRANTS]
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
        if customer.upgrade_month is not None and day >= _add_months(
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
        best: _Row | None = None
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


# -- the ledger ----------------------------------------------------------------


def _header(start: datetime.date, org: _Org, customers: Sequence[_Customer],
            lock: tuple[datetime.date, datetime.date] | None,
            dated: datetime.date | None = None) -> str:
    day = start.isoformat()
    made = ("(python -m beancount_adjustments.demo -o ledgers/demo.beancount). Do not edit.\n\n"
            if dated is None else
            f"dated to {dated.isoformat()} (bean-adjust demo --dated-to {dated.isoformat()}).\n\n")
    out = [
        ";; Brightwave Analytics: demo ledger generated by beancount_adjustments.demo\n",
        ";; " + made,
        'option "title" "Brightwave Analytics (demo)"\n',
        'option "operating_currency" "USD"\n\n',
        'plugin "beancount_adjustments"\n\n',
        ";; Fava: the reviewers' workspace. demo-mode lets anyone pick who they act as\n",
        ";; (there is no login): fine on your machine, never on a shared server.\n",
        f'{day} custom "fava-extension" "beancount_adjustments.fava_ext" '
        # The bundled ledger keeps its bytes (tests compare them); the extension no
        # longer reads `sla-days` (every type's policy here sets one), so `make demo`
        # leaves it out.
        + ("\"{'demo-mode': True, 'sla-days': 3, " if dated is None else "\"{'demo-mode': True, ")
        + "'ticket-url': 'https://support.example/tickets/{ticket}'}\"\n\n",
        f'{day} commodity USD\n  name: "US Dollar"\n',
        f'{day} commodity EUR\n  name: "Euro"\n\n',
    ]
    out += [f"{day} open {account:<44} {currencies}\n" for account, currencies in ACCOUNTS]
    out.append("\n;; Users: who may request and decide.\n")
    for since, grant in org.grants:
        roles = " ".join(f'"{r}"' for r in grant.roles)
        out.append(f'{since.isoformat()} custom "adjustment-user" "{grant.user}" {roles}\n')
        if grant.limit is not None:
            out.append(f"  limit: {_money(grant.limit)} USD\n")
        out.append(f'  email: "{grant.email}"\n')
    out.append("\n;; Customers.\n")
    for customer in customers:
        out.append(f'{day} custom "adjustment-customer" "{customer.cid}" "{customer.tier}"\n'
                   f'  name: "{customer.name}"\n  contact: "{customer.contact}"\n')
    for customer in customers:
        if customer.upgrade_month is not None:
            upgraded = _add_months(start, customer.upgrade_month).isoformat()
            out.append(f'{upgraded} custom "adjustment-customer" "{customer.cid}" "vip"\n'
                       f'  name: "{customer.name}"\n  contact: "{customer.contact}"\n')
    out.append("\n;; Approval matrix: pattern, threshold, roles in order.\n")
    for row in MATRIX:
        roles = "".join(f' "{r}"' for r in row.roles)
        out.append(f'{day} custom "adjustment-approval" "{row.pattern}" '
                   f"{_money(row.threshold)} USD{roles}\n")
        if row.tier:
            out.append(f'  customer-tier: "{row.tier}"\n')
        if row.risk:
            out.append(f'  risk: "{row.risk}"\n')
        if row.category:
            out.append(f'  category: "{row.category}"\n')
    out.append("\n;; Per-type policy.\n")
    out.append(f'{day} custom "adjustment-policy" "billing:*"\n'
               '  apply: "separate"\n  sla-days: 3\n')
    out.append(f'{day} custom "adjustment-policy" "credit:*"\n  sla-days: 5\n')
    out.append(f'{day} custom "adjustment-policy" "debit:*"\n  sla-days: 7\n')
    if lock is not None:
        out.append(f'\n{lock[0].isoformat()} custom "adjustment-lock" {lock[1].isoformat()}\n'
                   '  by: "carol"\n')
    out.append("\n")
    return "".join(out)


def _make_customers(rng: random.Random, count: int, months: int) -> list[_Customer]:
    customers: list[_Customer] = []
    names: set[str] = set()
    for index in range(count):
        roll = rng.random()
        if roll < 0.5:
            tier, monthly = "standard", rng.randrange(4_900, 25_000)
        elif roll < 0.8:
            tier, monthly = "vip", rng.randrange(50_000, 250_000)
        else:
            tier, monthly = "enterprise", rng.randrange(300_000, 1_500_000)
        currency = "EUR" if rng.random() < 0.2 else "USD"
        tax = 0 if currency == "EUR" or rng.random() < 0.25 else rng.choice((600, 725, 825))
        name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(_NAME_C)}"
        if name in names:
            name = f"{name} ({index + 1})"
        names.add(name)
        slug = name.split(maxsplit=1)[0].lower()
        customers.append(_Customer(
            cid=f"cust_{1001 + index}", name=name, tier=tier, currency=currency,
            tax_rate=tax, billing_day=rng.randint(1, 28), monthly=monthly,
            contact=f"billing@{slug}{index + 1}.example"))
    # One standard customer becomes vip a third of the way through.
    standard = [c for c in customers if c.tier == "standard"]
    if standard and months >= 3:
        standard[0].upgrade_month = max(1, months // 3)
    return customers


def generate_ledger(*, transactions: int = 3000, seed: int = 7,
                    start: datetime.date = DEFAULT_START, months: int = 11,
                    today: datetime.date | None = None) -> str:
    """The Beancount text of a demo ledger of about `transactions` transactions.

    With `today`, the ledger ends on that day (its `months` months ending in
    today's month, `start` ignored) and the requests still open are dated as
    a live queue's are: most within their type's SLA, a few overdue (see
    `_recent`). The same day gives the same text.
    """
    if transactions < 10:
        raise ValueError("transactions must be at least 10")
    if months < 1:
        raise ValueError("months must be at least 1")
    rng = random.Random(seed)
    if today is None:
        end = max(start, _add_months(start, months - 1) + datetime.timedelta(days=22))
    else:
        start, end = _add_months(today.replace(day=1), 1 - months), today
    span = (end - start).days + 1
    ledger = _Ledger()

    customers = _make_customers(rng, max(3, round(transactions * 40 / 3000)), months)
    prices: list[tuple[datetime.date, int]] = []
    rate = 10_800
    for month in range(months):
        prices.append((_add_months(start, month), rate))
        rate = min(11_400, max(10_400, rate + rng.randint(-180, 180)))
    org = _Org(start, customers, prices)
    lock = None
    if months >= 3:
        lock = (_add_months(start, 2) + datetime.timedelta(days=4),
                _add_months(start, 1) - datetime.timedelta(days=1))

    for when, _ in prices:
        ledger.add(when, f"{when.isoformat()} price EUR {org.rate(when)} USD\n")
    ledger.add(start, f'{start.isoformat()} * "Opening balance"\n'
               + _posting(BANK, 5_000_000, "USD") + _posting("Equity:Opening-Balances",
                                                               -5_000_000, "USD"), txn=True)
    ledger.bank_move(start, 5_000_000, "USD")

    n_requests = max(1, round(transactions * 0.2))
    invoices, tax_by_month = _invoices_and_payments(rng, ledger, customers, start=start,
                                                    end=end, months=months)
    remittances = _remittance_days(start, end, months)
    rest = transactions - n_requests - ledger.transactions - len(remittances)
    orders = _orders(rng, ledger, customers, start=start, span=span,
                     count=max(0, rest * 3 // 5), tax_by_month=tax_by_month)
    _write_remittances(ledger, tax_by_month, remittances)
    _expenses(rng, ledger, start, span, max(0, transactions - n_requests - ledger.transactions))
    # Its own generator: the undated ledger (the bundled demo) draws exactly as before.
    recent = None if today is None else random.Random(f"{seed}:{today.isoformat()}")
    _requests(rng, ledger, org, customers=customers, invoices=invoices, orders=orders,
              start=start, end=end, count=n_requests, recent=recent)
    _balances(ledger, start, end, months)

    ledger.entries.sort(key=lambda item: item[:3])
    return (_header(start, org, customers, lock, dated=today)
            + "\n".join(item[3] for item in ledger.entries))


def _invoices_and_payments(rng: random.Random, ledger: _Ledger, customers: Sequence[_Customer],
                           *, start: datetime.date, end: datetime.date, months: int,
                           ) -> tuple[list[_Ref], dict[int, int]]:
    raw: list[tuple[datetime.date, _Customer]] = []
    for month in range(months):
        first = _add_months(start, month)
        for customer in customers:
            day = first.replace(day=customer.billing_day)
            if start <= day <= end:
                raw.append((day, customer))
    raw.sort(key=lambda item: (item[0], item[1].cid))
    invoices: list[_Ref] = []
    tax_by_month: dict[int, int] = {}
    counters: dict[int, int] = {}
    for day, customer in raw:
        counters[day.year] = counters.get(day.year, 0) + 1
        iid = f"INV-{day.year}-{counters[day.year]:04d}"
        net = customer.monthly
        if rng.random() < 0.15:  # usage overage
            net += rng.randrange(1_000, max(1_100, customer.monthly // 4))
        tax = net * customer.tax_rate // 10_000
        total = net + tax
        cur = customer.currency
        text = (f'{day.isoformat()} * "{customer.name}" "Subscription {day:%B %Y}"\n'
                f'  invoice-id: "{iid}"\n  customer: "{customer.cid}"\n'
                + _posting(RECEIVABLE, total, cur) + _posting("Income:Subscriptions", -net, cur))
        if tax:
            text += _posting(TAX, -tax, cur)
            key = day.year * 12 + day.month
            tax_by_month[key] = tax_by_month.get(key, 0) + tax
        ledger.add(day, text, txn=True)
        invoices.append(_Ref(iid, customer.cid, day, total, cur, tax, total))
        if rng.random() < 0.94:
            paid = day + datetime.timedelta(days=rng.choice((3, 7, 10, 14, 14, 21, 30, 45)))
            if paid <= end:
                ledger.add(paid, f'{paid.isoformat()} * "{customer.name}" "Payment {iid}"\n'
                           f'  customer: "{customer.cid}"\n  invoice: "{iid}"\n'
                           + _posting(BANK, total, cur) + _posting(RECEIVABLE, -total, cur),
                           txn=True)
                ledger.bank_move(paid, total, cur)
    return invoices, tax_by_month


def _remittance_days(start: datetime.date, end: datetime.date,
                     months: int) -> list[datetime.date]:
    """The 20th of every month after the first, through `end`."""
    days = [_add_months(start, month) + datetime.timedelta(days=19) for month in range(1, months)]
    return [day for day in days if day <= end]


def _write_remittances(ledger: _Ledger, tax_by_month: dict[int, int],
                       days: Sequence[datetime.date]) -> None:
    """Each month's sales tax (invoices and orders) paid on the 20th of the next."""
    for day in days:
        prev = _add_months(day.replace(day=1), -1)
        due = tax_by_month.get(prev.year * 12 + prev.month, 0)
        ledger.add(day, f'{day.isoformat()} * "State Revenue Department" '
                   f'"Sales tax {prev:%B %Y}"\n'
                   + _posting(TAX, due, "USD") + _posting(BANK, -due, "USD"), txn=True)
        ledger.bank_move(day, -due, "USD")


def _orders(rng: random.Random, ledger: _Ledger, customers: Sequence[_Customer],
            *, start: datetime.date, span: int, count: int,
            tax_by_month: dict[int, int]) -> list[_Ref]:
    raw = sorted((start + datetime.timedelta(days=rng.randrange(span)), rng.randrange(
        len(customers))) for _ in range(count))
    orders: list[_Ref] = []
    counters: dict[int, int] = {}
    for day, index in raw:
        customer = customers[index]
        counters[day.year] = counters.get(day.year, 0) + 1
        oid = f"ORD-{day.year}-{counters[day.year]:04d}"
        net = rng.randrange(2_000, 60_000 if customer.tier == "standard" else 400_000)
        tax = net * customer.tax_rate // 10_000
        total = net + tax
        cur = customer.currency
        item = rng.choice(("Onboarding package", "Extra seats", "Data import service",
                           "Training workshop", "Hardware sensor kit", "Premium support"))
        text = (f'{day.isoformat()} * "{customer.name}" "{item}"\n'
                f'  order-id: "{oid}"\n  customer: "{customer.cid}"\n'
                + _posting(RECEIVABLE, total, cur) + _posting("Income:Sales", -net, cur))
        if tax:
            text += _posting(TAX, -tax, cur)
            key = day.year * 12 + day.month
            tax_by_month[key] = tax_by_month.get(key, 0) + tax
        ledger.add(day, text, txn=True)
        orders.append(_Ref(oid, customer.cid, day, total, cur, tax, total))
    return orders


def _expenses(rng: random.Random, ledger: _Ledger, start: datetime.date, span: int,
              count: int) -> None:
    """Payroll and rent monthly, the rest card and bank spending."""
    days = sorted(start + datetime.timedelta(days=rng.randrange(span)) for _ in range(count))
    for number, day in enumerate(days):
        if number % 12 == 0:
            account, payee, cents = "Expenses:Payroll", "Payroll run", rng.randrange(
                800_000, 1_500_000)
        elif number % 12 == 6:
            account, payee, cents = "Expenses:Rent", "Harborview Offices", 450_000
        else:
            account, payee, low, high = rng.choice(_VENDORS)
            cents = rng.randrange(low, high)
        ledger.add(day, f'{day.isoformat()} * "{payee}" "{account.rsplit(":", 1)[-1]}"\n'
                   + _posting(account, cents, "USD") + _posting(BANK, -cents, "USD"), txn=True)
        ledger.bank_move(day, -cents, "USD")


def _balances(ledger: _Ledger, start: datetime.date, end: datetime.date, months: int) -> None:
    """A balance assertion per currency on the bank account at each month's start."""
    moves = sorted(ledger.bank.items())
    totals = {"USD": 0, "EUR": 0}
    index = 0
    for month in range(1, months + 1):
        day = _add_months(start, month)
        day = min(day, end)
        while index < len(moves) and moves[index][0][0] < day:
            totals[moves[index][0][1]] += moves[index][1]
            index += 1
        for currency in ("USD", "EUR"):
            ledger.add(day, f"{day.isoformat()} balance {BANK:<32} "
                       f"{_money(totals[currency])} {currency}\n")
        if day == end:
            break


# -- requests and their decisions -------------------------------------------------


@dataclass
class _Plan:
    day: datetime.date
    adj_type: str
    state: str
    category: str
    forced: bool


def _plans(rng: random.Random, start: datetime.date, span: int, count: int) -> list[_Plan]:
    """Dates, types and intended end states; the first ones cover every combination."""
    plans: list[_Plan] = []
    combos = [(t, s) for t in TYPES for s in STATES
              if not (s == "approved" and not t.startswith(SEPARATE_APPLY))
              and not (t == "credit:promotional" and s in NEEDS_CHAIN | REVERSAL_WAITS)]
    early = max(1, span * 2 // 3)
    for index, (adj_type, state) in enumerate(combos):
        if len(plans) >= count:
            break
        day = start + datetime.timedelta(days=rng.randrange(early))
        categories = TYPE_CATEGORIES[adj_type]
        plans.append(_Plan(day, adj_type, state, categories[index % len(categories)], True))
    while len(plans) < count:
        adj_type = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        state = rng.choices(STATES, STATE_WEIGHTS)[0]
        if state == "approved" and not adj_type.startswith(SEPARATE_APPLY):
            state = "applied"
        if adj_type == "credit:promotional" and state in NEEDS_CHAIN:
            state = "applied"
        if adj_type == "credit:promotional" and state in REVERSAL_WAITS:
            state = "reversed"  # below every threshold: reversed at the cancel
        day = start + datetime.timedelta(days=rng.randrange(span))
        plans.append(_Plan(day, adj_type, state, rng.choice(TYPE_CATEGORIES[adj_type]), False))
    plans.sort(key=lambda p: p.day)
    return plans


# What a live queue looks like on the day the demo is dated to: an open
# request has waited a few days, within its type's SLA (the header's
# `sla-days`), and about one in ten is overdue by up to two weeks. A
# reversal's wait starts at its cancel, a few decisions after the request.
SLA_DAYS = {"billing": 3, "credit": 5, "debit": 7}
OVERDUE_SHARE = 0.1
REVERSAL_LEAD = 3  # days from a request to the cancel of its applied effect, at least


def _recent(rng: random.Random, plans: list[_Plan], start: datetime.date,
            end: datetime.date) -> list[_Plan]:
    """`plans` with the open ones (pending, approved, reversing) dated to wait
    a realistic time on `end`, chronological again."""
    out: list[_Plan] = []
    for plan in plans:
        if plan.state in ("pending", "approved", "reversing"):
            sla = SLA_DAYS[plan.adj_type.split(":", 1)[0]]
            if rng.random() < OVERDUE_SHARE:
                wait = sla + 1 + rng.randrange(14)
            else:
                wait = rng.randrange(sla + 1)
            if plan.state == "reversing":
                wait += REVERSAL_LEAD
            day = max(start, end - datetime.timedelta(days=wait))
            out.append(_Plan(day, plan.adj_type, plan.state, plan.category, plan.forced))
        else:
            out.append(plan)
    out.sort(key=lambda p: p.day)
    return out


def _latest(refs: list[_Ref], day: datetime.date, rng: random.Random) -> _Ref | None:
    """One of the customer's last few references dated on or before `day`."""
    eligible = [r for r in refs[-6:] if r.day <= day] or [r for r in refs if r.day <= day][-6:]
    return rng.choice(eligible) if eligible else None


def _requests(rng: random.Random, ledger: _Ledger, org: _Org, *, customers: Sequence[_Customer],
              invoices: Sequence[_Ref], orders: Sequence[_Ref], start: datetime.date,
              end: datetime.date, count: int, recent: random.Random | None = None) -> None:
    span = (end - start).days + 1
    by_customer_inv: dict[str, list[_Ref]] = {}
    for ref in invoices:
        by_customer_inv.setdefault(ref.customer, []).append(ref)
    by_customer_ord: dict[str, list[_Ref]] = {}
    for ref in orders:
        by_customer_ord.setdefault(ref.customer, []).append(ref)
    # Bigger accounts ask for more adjustments.
    weights = [{"standard": 1, "vip": 4}.get(c.tier, 12) for c in customers]
    counters: dict[int, int] = {}
    inv_seen: dict[str, int] = {}  # customer -> invoices dated so far (chronological walk)
    plans = _plans(rng, start, span, count)
    if recent is not None:
        plans = _recent(recent, plans, start, end)
    for plan in plans:
        customer = rng.choices(customers, weights)[0]
        if plan.adj_type == "billing:tax" and customer.tax_rate == 0:
            taxed = [c for c in customers if c.tax_rate]
            customer = rng.choice(taxed) if taxed else customer
        inv_all = by_customer_inv.get(customer.cid, [])
        count_seen = inv_seen.get(customer.cid, 0)
        while count_seen < len(inv_all) and inv_all[count_seen].day <= plan.day:
            count_seen += 1
        inv_seen[customer.cid] = count_seen
        made = _request(rng, org, customer, plan, invoices=inv_all[:count_seen],
                        orders=by_customer_ord.get(customer.cid, []))
        if made is None:
            continue
        counters[plan.day.year] = counters.get(plan.day.year, 0) + 1
        rid = f"ADJ-{plan.day.year}-{counters[plan.day.year]:04d}"
        _emit(rng, ledger, org, customer=customer, plan=plan, made=made, rid=rid, end=end)


@dataclass
class _Made:
    cents: int  # signed receivable movement
    usd: int  # absolute, in USD cents at the request date
    chain: tuple[str, ...]
    requester: str
    invoice: _Ref | None
    order: _Ref | None
    risk: str | None
    state: str
    entered_by: str | None = None  # an agent who filed it for the requester

    @property
    def requesters(self) -> list[str]:
        return [self.requester] + ([self.entered_by] if self.entered_by else [])


SIZE_RANGE: dict[str, tuple[int, int]] = {  # USD cents, drawn log-uniformly
    "standard": (3_000, 250_000),
    "vip": (20_000, 1_500_000),
    "enterprise": (80_000, 6_000_000),
}


def _size(rng: random.Random, adj_type: str, tier: str, needs_chain: bool) -> int:
    """An absolute amount in USD cents for the type and the customer's tier."""
    if adj_type == "credit:promotional":
        return rng.randrange(500, 20_000)
    if not needs_chain and rng.random() < 0.1:
        return rng.randrange(300, 2_400)  # below every threshold: automatic
    low, high = SIZE_RANGE[tier]
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _clear_of_thresholds(usd: int, currency: str) -> bool:
    margin = 40 if currency == "EUR" else 1  # per mille
    return all(abs(usd - t) * 1000 > t * margin for t in THRESHOLDS)


def _request(rng: random.Random, org: _Org, customer: _Customer, plan: _Plan, *,
             invoices: list[_Ref], orders: list[_Ref]) -> _Made | None:
    adj_type, day, cur = plan.adj_type, plan.day, customer.currency
    kind = adj_type.split(":", 1)[0]
    tier = org.tier(customer.cid, day)
    needs_chain = plan.state in NEEDS_CHAIN
    risk = "high" if adj_type == "credit:refund" and rng.random() < 0.3 else None
    invoice: _Ref | None = None
    order: _Ref | None = None
    price = org.price(day)
    usd = _size(rng, adj_type, tier, needs_chain or plan.state in REVERSAL_WAITS)
    cents = usd if cur == "USD" else usd * 10_000 // price
    sign = -1 if kind == "credit" else 1
    if kind == "billing":
        invoice = _latest(invoices, day, rng)
        if invoice is None:
            return None
        base = invoice.tax if adj_type == "billing:tax" and invoice.tax else invoice.amount
        cents = max(100, base * rng.randrange(5, 60) // 100)
        if adj_type in ("billing:discount",) or (adj_type != "billing:discount"
                                                 and rng.random() < 0.6):
            sign = -1
    elif adj_type == "credit:refund" or (kind == "credit" and adj_type != "credit:promotional"
                                         and rng.random() < 0.5):
        if adj_type == "credit:refund" and orders and rng.random() < 0.6:
            order = _latest(orders, day, rng)
        if order is None:
            invoice = _latest(invoices, day, rng)
        if adj_type == "credit:refund" and order is None and invoice is None:
            return None
    elif kind == "debit" and rng.random() < 0.4:
        invoice = _latest(invoices, day, rng)
    if sign < 0 and kind == "credit" and adj_type != "credit:refund" and invoice is not None \
            and invoice.left < cents:
        invoice = None  # too big for the invoice: a credit on the account instead
    for ref in (invoice, order):
        if ref is not None and sign < 0:
            if ref.left < 200:
                return None
            if cents > ref.left:
                cents = ref.left * rng.randrange(30, 100) // 100
    # Keep clear of thresholds so that no rounding or price choice flips a chain.
    for _ in range(8):
        usd = org.usd(cents, cur, day)
        if _clear_of_thresholds(usd, cur):
            break
        cents = cents * 9 // 10
    usd = org.usd(cents, cur, day)
    if cents <= 0 or not _clear_of_thresholds(usd, cur):
        return None
    chain = org.chain(adj_type, usd, tier, risk, plan.category)
    state = plan.state
    if needs_chain and not chain:
        state = "applied"
    for ref in (invoice, order):
        if ref is not None and sign < 0:
            ref.left -= cents  # reserved whatever becomes of it: never over-credits
    # Who enters it is an agent; now and then on behalf of someone else, who is
    # then the requester (both count as requesters: neither may approve it).
    entered_by = rng.choice(AGENTS)
    requester = entered_by
    if rng.random() < ENTERED_SHARE:
        requester = rng.choice([u for u in ON_BEHALF_OF if u != entered_by])
    return _Made(sign * cents, usd, chain, requester, invoice, order, risk, state,
                 entered_by if requester != entered_by else None)


def _emit(rng: random.Random, ledger: _Ledger, org: _Org, *, customer: _Customer, plan: _Plan,
          made: _Made, rid: str, end: datetime.date) -> None:
    adj_type, day, cur = plan.adj_type, plan.day, customer.currency
    reason = rng.choice(REASONS[adj_type])
    lines = [f'{day.isoformat()} ! "{customer.name}" "{reason}" ^{rid}\n',
             f'  adjustment-type: "{adj_type}"\n  category: "{plan.category}"\n'
             f'  customer: "{customer.cid}"\n']
    if made.invoice is not None:
        lines.append(f'  invoice: "{made.invoice.rid}"\n')
    if made.order is not None:
        lines.append(f'  order: "{made.order.rid}"\n')
    lines.append(f'  reason: "{reason}"\n  requested-by: "{made.requester}"\n')
    if made.entered_by is not None:
        lines.append(f'  entered-by: "{made.entered_by}"\n')
    if made.risk:
        lines.append(f'  risk: "{made.risk}"\n')
    ticket = f"TCK-{rng.randrange(10_000, 99_999)}" if rng.random() < 0.3 else None
    if ticket is not None:
        lines.append(f'  ticket: "{ticket}"\n')
    postings = ((COUNTER_ACCOUNT[adj_type], -made.cents), (RECEIVABLE, made.cents))
    lines += [_posting(account, cents, cur) for account, cents in postings]
    ledger.add(day, "".join(lines), txn=True)
    # Every decision carries the digest of what it decided on, as the tools write
    # it: the request as written, every key the digest covers given (no request
    # here has `effective:` or `document:`).
    digest = request_digest(Request(
        id=rid, date=day, type=adj_type, category=plan.category, customer=customer.cid,
        requested_by=made.requester, reason=reason, payee=customer.name, narration=reason,
        postings=tuple(Posting(account, Decimal(_money(cents)), cur)
                       for account, cents in postings),
        source=Source("", 0),
        invoice=made.invoice.rid if made.invoice else None,
        order=made.order.rid if made.order else None, ticket=ticket, document=None,
        effective=None,
        risk=tuple(r.strip() for r in made.risk.split(",") if r.strip()) if made.risk else (),
        entered_by=made.entered_by))
    # What the approver is shown when a price converted the amount into the
    # thresholds' currency: the amount moved times the rate of the request date,
    # exactly (the replay compares at the digits written).
    judged = ""
    if cur != "USD":
        value = Decimal(_money(abs(made.cents))) * org.rate(day)
        judged = f"  judged: {value} USD\n"

    # The decisions, in order, on a clock that only moves forward.
    when, clock = day, rng.randrange(8 * 3600, 17 * 3600)

    def tick() -> bool:
        nonlocal when, clock
        gap = rng.choice((0, 0, 1, 1, 1, 2, 3, 5))
        if gap == 0 and clock < 20 * 3600:
            clock += rng.randrange(300, 3 * 3600)
        else:
            when += datetime.timedelta(days=max(1, gap))
            clock = rng.randrange(8 * 3600, 18 * 3600)
        return when <= end

    def event(action: str, by: str, extra: str = "") -> None:
        ledger.add(when, f'{when.isoformat()} custom "adjustment" "{rid}" "{action}"\n'
                   f'  by: "{by}"\n{extra}  at: "{_stamp(when, clock)}"\n'
                   f'  digest: "{digest}"\n', clock=clock)

    def approve(by: str, chain: tuple[str, ...]) -> None:
        comment = f'  comment: "{rng.choice(COMMENTS)}"\n' if rng.random() < 0.15 else ""
        event("approve", by, f'{comment}  chain: "{chain_text(chain)}"\n{judged}')

    state, chain, usd = made.state, made.chain, made.usd
    separate = adj_type.startswith(SEPARATE_APPLY)
    approved: list[str] = made.requesters
    # A separate-apply request may also be withdrawn once approved, before applying.
    late_withdrawal = state == "withdrawn" and separate and rng.random() < 0.3
    levels = len(chain)
    if state == "pending":  # waiting at some level, often with earlier levels approved
        levels = max(0, len(chain) - 1 - (rng.random() < 0.4) - (rng.random() < 0.2))
    elif state == "rejected" or (state == "withdrawn" and not late_withdrawal):
        levels = max(0, len(chain) - 1 - (rng.random() < 0.25))  # mostly at the last level
    for role in chain[:levels]:
        if not tick():
            return
        people = org.approvers(role, when, usd, approved)
        if not people:
            return
        person = rng.choice(people)
        approved.append(person)
        approve(person, chain)
    if state == "pending":
        return
    if state == "rejected":
        if tick():
            people = org.approvers(chain[levels], when, usd, approved)
            if people:
                event("reject", rng.choice(people),
                      f'  reason: "{rng.choice(REJECT_REASONS)}"\n')
        return
    if state == "withdrawn" and not late_withdrawal:
        if tick():
            event("cancel", made.requester, f'  reason: "{rng.choice(WITHDRAW_REASONS)}"\n')
        return
    if separate:
        if state == "approved" or not tick():
            return
        if state == "withdrawn":  # approved, then called off before applying
            people = org.holders(chain, when)
            if people:
                event("cancel", rng.choice(people), f'  reason: "{rng.choice(WITHDRAW_REASONS)}"\n')
            return
        people = org.holders(("finance",), when)
        extra = ""
        if rng.random() < 0.2:
            first = when.replace(day=1)
            extra = f"  effective: {max(first, day).isoformat()}\n"
        event("apply", rng.choice(people), extra)
    if state in ("reversed", "reversing", "refused") and tick():
        _reverse(rng, org, made=made, plan=plan, customer=customer, when=when, state=state,
                 tick=tick, event=event, approve=approve)


Approve = Callable[[str, tuple[str, ...]], None]


def _reverse(rng: random.Random, org: _Org, *, made: _Made, plan: _Plan, customer: _Customer,
             when: datetime.date, state: str, tick: Callable[[], bool],
             event: Callable[..., None], approve: Approve) -> None:
    """Cancel an applied adjustment on `when`, then take its reversal through its chain.

    The reversal needs the chain a request of its type and amount needs on the
    cancel's date (the amount converted at that date), approved in order by
    people who are neither the canceller nor a requester, one person a level,
    their limits judged at the request date. `state`: "reversed" fills every
    level (the last approval books the reversal), "reversing" stops short of
    the last, "refused" has the reversal rejected part way.
    """
    adj_type = plan.adj_type
    chain = org.chain(adj_type, org.usd(abs(made.cents), customer.currency, when),
                      org.tier(customer.cid, plan.day), made.risk, plan.category)
    # Someone who may cancel and for whom the others can still fill the chain.
    candidates = org.holders(made.chain or ("finance",), when)
    rng.shuffle(candidates)
    canceller, people = None, None
    for candidate in candidates:
        people = org.fill(rng, chain, when, made.usd, [*made.requesters, candidate])
        if people is not None:
            canceller = candidate
            break
    if canceller is None or people is None:
        return
    event("cancel", canceller, f'  reason: "{rng.choice(REVERSE_REASONS)}"\n')
    if not chain:
        return  # a chain-free reversal is booked at the cancel
    levels = len(chain)
    if state == "reversing":  # awaiting approval, often with a level filled
        levels = max(0, len(chain) - 1 - (rng.random() < 0.35))
    elif state == "refused":
        levels = rng.randrange(len(chain))
    for person in people[:levels]:
        if not tick():
            return
        approve(person, chain)
    if state == "refused" and tick():
        deciders = [p for p in org.holders(chain, when)
                    if p not in (*made.requesters, canceller, *people[:levels])]
        if deciders:
            event("reject", rng.choice(deciders),
                  f'  reason: "{rng.choice(REFUSE_REASONS)}"\n')


def write_ledger(path: str | Path, *, transactions: int = 3000, seed: int = 7,
                 start: datetime.date = DEFAULT_START, months: int = 11,
                 today: datetime.date | None = None) -> Path:
    """Write `generate_ledger(...)` to `path`; return the path."""
    target = Path(path)
    target.write_text(generate_ledger(transactions=transactions, seed=seed, start=start,
                                      months=months, today=today), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=3000,
                        help="about how many transactions (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--months", type=int, default=11, help="months covered (default 11)")
    parser.add_argument("-o", "--output", default="-", help="file to write ('-': stdout)")
    args = parser.parse_args(argv)
    text = generate_ledger(transactions=args.transactions, seed=args.seed, months=args.months)
    if args.output == "-":
        print(text, end="")
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
