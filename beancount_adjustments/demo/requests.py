"""What each demo request is: its date, type and intended end state (`Plan`),
then its amount, reference, chain and requester (`Made`)."""

from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass

from beancount_adjustments.demo.catalogue import TYPE_CATEGORIES, TYPE_WEIGHTS, TYPES
from beancount_adjustments.demo.entries import Ref
from beancount_adjustments.demo.org import AGENTS, SEPARATE_APPLY, THRESHOLDS, Customer, Org

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


@dataclass
class Plan:
    day: datetime.date
    adj_type: str
    state: str
    category: str
    forced: bool


def plan_requests(rng: random.Random, start: datetime.date, span: int, count: int) -> list[Plan]:
    """Dates, types and intended end states; the first ones cover every combination."""
    plans: list[Plan] = []
    combos = [(t, s) for t in TYPES for s in STATES
              if not (s == "approved" and not t.startswith(SEPARATE_APPLY))
              and not (t == "credit:promotional" and s in NEEDS_CHAIN | REVERSAL_WAITS)]
    early = max(1, span * 2 // 3)
    for index, (adj_type, state) in enumerate(combos):
        if len(plans) >= count:
            break
        day = start + datetime.timedelta(days=rng.randrange(early))
        categories = TYPE_CATEGORIES[adj_type]
        plans.append(Plan(day, adj_type, state, categories[index % len(categories)], True))
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
        plans.append(Plan(day, adj_type, state, rng.choice(TYPE_CATEGORIES[adj_type]), False))
    plans.sort(key=lambda p: p.day)
    return plans


# What a live queue looks like on the day the demo is dated to: an open
# request has waited a few days, within its type's SLA (the header's
# `sla-days`), and about one in ten is overdue by up to two weeks. A
# reversal's wait starts at its cancel, a few decisions after the request.
SLA_DAYS = {"billing": 3, "credit": 5, "debit": 7}
OVERDUE_SHARE = 0.1
REVERSAL_LEAD = 3  # days from a request to the cancel of its applied effect, at least


def live_queue(rng: random.Random, plans: list[Plan], start: datetime.date,
            end: datetime.date) -> list[Plan]:
    """`plans` with the open ones (pending, approved, reversing) dated to wait
    a realistic time on `end`, chronological again."""
    out: list[Plan] = []
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
            out.append(Plan(day, plan.adj_type, plan.state, plan.category, plan.forced))
        else:
            out.append(plan)
    out.sort(key=lambda p: p.day)
    return out


def latest_ref(refs: list[Ref], day: datetime.date, rng: random.Random) -> Ref | None:
    """One of the customer's last few references dated on or before `day`."""
    eligible = [r for r in refs[-6:] if r.day <= day] or [r for r in refs if r.day <= day][-6:]
    return rng.choice(eligible) if eligible else None


@dataclass
class Made:
    cents: int  # signed receivable movement
    usd: int  # absolute, in USD cents at the request date
    chain: tuple[str, ...]
    requester: str
    invoice: Ref | None
    order: Ref | None
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


def amount_for(rng: random.Random, adj_type: str, tier: str, needs_chain: bool) -> int:
    """An absolute amount in USD cents for the type and the customer's tier."""
    if adj_type == "credit:promotional":
        return rng.randrange(500, 20_000)
    if not needs_chain and rng.random() < 0.1:
        return rng.randrange(300, 2_400)  # below every threshold: automatic
    low, high = SIZE_RANGE[tier]
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def clear_of_thresholds(usd: int, currency: str) -> bool:
    margin = 40 if currency == "EUR" else 1  # per mille
    return all(abs(usd - t) * 1000 > t * margin for t in THRESHOLDS)


def draft_request(rng: random.Random, org: Org, customer: Customer, plan: Plan, *,
             invoices: list[Ref], orders: list[Ref]) -> Made | None:
    adj_type, day, cur = plan.adj_type, plan.day, customer.currency
    kind = adj_type.split(":", 1)[0]
    tier = org.tier(customer.cid, day)
    needs_chain = plan.state in NEEDS_CHAIN
    risk = "high" if adj_type == "credit:refund" and rng.random() < 0.3 else None
    invoice: Ref | None = None
    order: Ref | None = None
    price = org.price(day)
    usd = amount_for(rng, adj_type, tier, needs_chain or plan.state in REVERSAL_WAITS)
    cents = usd if cur == "USD" else usd * 10_000 // price
    sign = -1 if kind == "credit" else 1
    if kind == "billing":
        invoice = latest_ref(invoices, day, rng)
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
            order = latest_ref(orders, day, rng)
        if order is None:
            invoice = latest_ref(invoices, day, rng)
        if adj_type == "credit:refund" and order is None and invoice is None:
            return None
    elif kind == "debit" and rng.random() < 0.4:
        invoice = latest_ref(invoices, day, rng)
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
        if clear_of_thresholds(usd, cur):
            break
        cents = cents * 9 // 10
    usd = org.usd(cents, cur, day)
    if cents <= 0 or not clear_of_thresholds(usd, cur):
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
    return Made(sign * cents, usd, chain, requester, invoice, order, risk, state,
                 entered_by if requester != entered_by else None)
