"""Writing a demo request and its decisions: approvals in order, rejections,
withdrawals, applies and reversals, each valid under the ledger's rules on
its own date."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from decimal import Decimal

from beancount_adjustments.core.digest import request_digest
from beancount_adjustments.core.models import Posting, Request, Source
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.demo.catalogue import (
    COMMENTS,
    COUNTER_ACCOUNT,
    REASONS,
    RECEIVABLE,
    REFUSE_REASONS,
    REJECT_REASONS,
    REVERSE_REASONS,
    WITHDRAW_REASONS,
)
from beancount_adjustments.demo.entries import Ledger, money, posting, stamp
from beancount_adjustments.demo.org import SEPARATE_APPLY, Customer, Org
from beancount_adjustments.demo.requests import Made, Plan


def emit(rng: random.Random, ledger: Ledger, org: Org, *, customer: Customer, plan: Plan,
          made: Made, rid: str, end: datetime.date) -> None:
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
    lines += [posting(account, cents, cur) for account, cents in postings]
    ledger.add(day, "".join(lines), txn=True)
    # Every decision carries the digest of what it decided on, as the tools write
    # it: the request as written, every key the digest covers given (no request
    # here has `effective:` or `document:`).
    digest = request_digest(Request(
        id=rid, date=day, type=adj_type, category=plan.category, customer=customer.cid,
        requested_by=made.requester, reason=reason, payee=customer.name, narration=reason,
        postings=tuple(Posting(account, Decimal(money(cents)), cur)
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
        value = Decimal(money(abs(made.cents))) * org.rate(day)
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
                   f'  by: "{by}"\n{extra}  at: "{stamp(when, clock)}"\n'
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


def _reverse(rng: random.Random, org: Org, *, made: Made, plan: Plan, customer: Customer,
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

