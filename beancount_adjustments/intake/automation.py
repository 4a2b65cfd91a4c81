"""Rule-based automation: the requests the ledger's `adjustment-rule`s call for.

`beans.intake_lines.parse_rules` reads the rules; `occurrences` works out each
kind's (late fees on unpaid invoices, service credits for tickets past their SLA
from a CSV feed, loyalty credits for a tier), each keyed by a deterministic
`external-id` so a rerun writes nothing new. The keys of every kind are in
docs/automation.md.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from beancount_adjustments.core.accounts import is_under, receivable_totals
from beancount_adjustments.core.amounts import AmountError, parse_number
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.days import iso_day
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.facts import filed_requests
from beancount_adjustments.core.intake_lines import (
    LateFeeRule,
    LoyaltyRule,
    Rule,
    SlaCreditRule,
)
from beancount_adjustments.core.models import Money, State
from beancount_adjustments.core.moments import read_moment
from beancount_adjustments.intake.schedules import add_months, filing_day
from beancount_adjustments.writer import NewRequest


class FeedError(AdjustmentsError):
    """A rule's feed cannot be read; the message names the file and line."""

    code = "bad-feed"


@dataclass(frozen=True)
class Occurrence:
    """One request a rule calls for."""

    rule: str
    external_id: str
    request: NewRequest


@dataclass
class Invoice:
    id: str
    date: datetime.date
    due: datetime.date | None
    customer: str | None
    account: str | None
    amount: Money | None
    payments: list[tuple[datetime.date, Decimal]] = field(default_factory=list)


def read_invoices(entries: Iterable[Any], receivable: str) -> dict[str, Invoice]:
    """Invoices (`invoice-id:`) with their `due:` date and payments (`invoice:`)."""
    invoices: dict[str, Invoice] = {}
    payments: list[tuple[str, datetime.date, Decimal]] = []
    for entry in entries:
        meta = getattr(entry, "meta", None) or {}
        postings = getattr(entry, "postings", None)
        if postings is None or "adjustment-type" in meta or "adjustment-id" in meta:
            continue
        if isinstance(meta.get("invoice-id"), str):
            totals = {p.units.currency: Decimal(0) for p in postings
                      if is_under(p.account, receivable) and p.units is not None}
            account = None
            for posting in postings:
                if is_under(posting.account, receivable) and posting.units is not None:
                    totals[posting.units.currency] += posting.units.number
                    account = account or posting.account
            amount = (Money(number=n, currency=c) for c, n in totals.items()) if \
                len(totals) == 1 else iter(())
            due = meta.get("due")
            invoices[meta["invoice-id"]] = Invoice(
                id=meta["invoice-id"], date=entry.date,
                due=due if isinstance(due, datetime.date) else None,
                customer=meta.get("customer") if isinstance(meta.get("customer"), str) else None,
                account=account, amount=next(amount, None))
        elif isinstance(meta.get("invoice"), str):
            moved = sum((p.units.number for p in postings
                         if is_under(p.account, receivable) and p.units is not None),
                        Decimal(0))
            payments.append((meta["invoice"], entry.date, moved))
    for invoice_id, date, moved in payments:
        if invoice_id in invoices:
            invoices[invoice_id].payments.append((date, moved))
    return invoices


def outstanding(invoice: Invoice, book: Book, on: datetime.date) -> Decimal | None:
    """What the invoice still owes at the end of `on` (payments and adjustments counted)."""
    if invoice.amount is None:
        return None
    left = invoice.amount.number + sum(
        (moved for date, moved in invoice.payments if date <= on), Decimal(0))
    for adj in book.adjustments.values():
        if (adj.request.invoice != invoice.id or adj.effective_date is None
                or adj.effective_date > on or adj.state not in (State.APPLIED, State.REVERSED)):
            continue
        if adj.reversed_on is not None and adj.reversed_on <= on:
            continue
        totals = receivable_totals(adj.request.postings, book.settings.receivable)
        left += totals.get(invoice.amount.currency, Decimal(0))
    return left


def _request(rule: Rule, *, customer: str, date: datetime.date, number: Decimal,
             currency: str, customer_account: str, reason: str, external_id: str,
             user: str, meta: dict[str, str]) -> NewRequest:
    sign = Decimal(-1) if rule.type.startswith("credit:") else Decimal(1)
    return NewRequest(
        type=rule.type, customer=customer, requested_by=user, reason=rule.reason or reason,
        postings=((customer_account, sign * number, currency),
                  (rule.account, -sign * number, currency)),
        category=rule.category, date=date, meta={"external-id": external_id, **meta},
        entered_by=user)


def late_fees(rule: LateFeeRule, book: Book, entries: Sequence[Any], through: datetime.date,
              user: str) -> list[Occurrence]:
    out: list[Occurrence] = []
    for invoice in read_invoices(entries, book.settings.receivable).values():
        if invoice.due is None or invoice.amount is None or invoice.account is None:
            continue
        when = invoice.due + datetime.timedelta(days=rule.days)
        if when > through or when < rule.date:
            continue
        left = outstanding(invoice, book, when)
        if left is None or left <= 0:
            continue
        if rule.amount is not None:
            number, currency = rule.amount.number, rule.amount.currency
        else:
            assert rule.percent is not None  # the reader asks for one of them
            number = (invoice.amount.number * rule.percent / 100).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            currency = invoice.amount.currency
        customer = invoice.customer or ""
        external = f"{rule.name}:{invoice.id}"
        out.append(Occurrence(rule.name, external, _request(
            rule, customer=customer, date=when, number=number, currency=currency,
            customer_account=rule.receivable or invoice.account,
            reason=f"Late fee: invoice {invoice.id} unpaid {rule.days} days after its due "
                   f"date {invoice.due}",
            external_id=external, user=user, meta={"invoice": invoice.id})))
    return out



MAX_SLA_HOURS = Decimal(24 * 366 * 10)
"""Ten years: a deadline further off is a typo, and past `datetime`'s range a crash."""


def _sla_hours(text: str, where: str) -> Decimal:
    """A ticket's `sla-hours`, read as every amount is (`amounts.parse_number`:
    the digits 0-9, no exponent, no NaN), above 0 and at most `MAX_SLA_HOURS`."""
    try:
        hours = parse_number(text)
    except AmountError as exc:
        raise FeedError(f"{where}: sla-hours {text!r} is not a number of hours ({exc})") from None
    if not 0 < hours <= MAX_SLA_HOURS:
        raise FeedError(f"{where}: sla-hours {text!r} must be above 0 and at most "
                        f"{MAX_SLA_HOURS} (ten years)")
    return hours

def _moment(text: str, where: str) -> datetime.datetime:
    """A ticket's `opened`/`resolved`, in UTC: a moment read as `at:` is
    (`read_moment`: without offset, UTC), or a day (`iso_day`) at its midnight."""
    value = read_moment(text)
    if value is None:
        day = iso_day(text.strip())
        if day is None:
            raise FeedError(f"{where}: {text!r} is not an ISO 8601 moment "
                            "(2026-03-01T09:00:00+01:00; without offset, UTC) or day")
        value = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
    return value.astimezone(datetime.UTC)


def sla_credits(rule: SlaCreditRule, book: Book, through: datetime.date,
                user: str) -> list[Occurrence]:
    feed, amount = rule.feed, rule.amount
    try:
        with open(feed, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise FeedError(f"{rule.source.filename}:{rule.source.lineno}: rule {rule.name}: "
                        f"cannot read {feed} ({exc})") from exc
    out: list[Occurrence] = []
    end_of_through = datetime.datetime.combine(through, datetime.time.max, datetime.UTC)
    for line, row in enumerate(rows, start=2):
        where = f"{feed}:{line}"
        try:
            ticket, customer = row["id"].strip(), row["customer"].strip()
            hours_text = row["sla-hours"].strip()
            opened = _moment(row["opened"], where)
            resolved_text = (row.get("resolved") or "").strip()
        except (KeyError, AttributeError) as exc:
            raise FeedError(f"{where}: a ticket needs id, customer, opened, resolved and "
                            f"sla-hours ({exc})") from exc
        hours = _sla_hours(hours_text, where)
        deadline = opened + datetime.timedelta(hours=float(hours))
        resolved = _moment(resolved_text, where) if resolved_text else None
        breached = (resolved > deadline) if resolved else end_of_through > deadline
        when = deadline.date()
        if not breached or when > through or when < rule.date:
            continue
        external = f"{rule.name}:{ticket}"
        out.append(Occurrence(rule.name, external, _request(
            rule, customer=customer, date=when, number=amount.number, currency=amount.currency,
            customer_account=rule.receivable,
            reason=f"Service credit: ticket {ticket} breached its {hours}-hour SLA",
            external_id=external, user=user, meta={"ticket": ticket})))
    return out


def loyalty_credits(rule: LoyaltyRule, book: Book, through: datetime.date,
                    user: str) -> list[Occurrence]:
    tier, months, amount = rule.tier, rule.months, rule.amount
    directory = book.directory
    out: list[Occurrence] = []
    step = 1
    while (when := add_months(rule.date, step * months)) <= through:
        before = add_months(rule.date, (step - 1) * months)
        for customer in sorted(directory.customers):
            now, then = directory.customer_on(customer, when), \
                directory.customer_on(customer, before)
            if now is None or then is None or now.tier != tier or then.tier != tier:
                continue
            external = f"{rule.name}:{customer}:{when.isoformat()}"
            out.append(Occurrence(rule.name, external, _request(
                rule, customer=customer, date=when, number=amount.number,
                currency=amount.currency, customer_account=rule.receivable,
                reason=f"Loyalty credit ({tier}, every {months} months)",
                external_id=external, user=user, meta={})))
        step += 1
    return out


def occurrences(book: Book, entries: Sequence[Any], rules: Iterable[Rule],
                through: datetime.date, user: str, *,
                today: datetime.date | None = None) -> list[Occurrence]:
    """Every request the rules call for through `through`, in date order, each
    dated as `schedules.filing_day` dates it when written on `today`."""
    today = today or datetime.date.today()
    out: list[Occurrence] = []
    for rule in rules:
        if isinstance(rule, LateFeeRule):
            out += late_fees(rule, book, entries, through, user)
        elif isinstance(rule, SlaCreditRule):
            out += sla_credits(rule, book, through, user)
        elif isinstance(rule, LoyaltyRule):
            out += loyalty_credits(rule, book, through, user)
    out = [dataclasses.replace(o, request=dataclasses.replace(
               o.request, date=filing_day(book.rules, o.request.type, o.request.date, today)))
           if o.request.date is not None else o for o in out]
    out.sort(key=lambda o: (o.request.date or through, o.external_id))
    return out


def pending(book: Book, found: Sequence[Occurrence]) -> list[Occurrence]:
    """The occurrences not in the ledger yet (by `external-id`)."""
    existing = filed_requests(book.facts.requests)
    return [o for o in found if o.external_id not in existing]
