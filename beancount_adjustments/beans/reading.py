"""The plugin's first stage: the entries that concern adjustments, sorted into facts,
and the plain postings (no request's) judged by the reserved accounts and the
receivable rule (`unrequested_postings`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeGuard

from beancount.core import data

from beancount_adjustments.beans.balancing import Balancing
from beancount_adjustments.beans.directives import EVENT, Reader
from beancount_adjustments.beans.effects import OWN_TAGS, TAG_APPLIED, TAG_REVERSAL
from beancount_adjustments.beans.intake_lines import (
    RULE,
    SCHEDULE,
    TEMPLATE,
    read_rule,
    read_schedule,
    read_template,
)
from beancount_adjustments.beans.key_directive import read_key
from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.beans.notify_lines import (
    CHANNEL,
    CUSTOMER_NOTICE,
    read_channel,
    read_customer_notice,
)
from beancount_adjustments.beans.references import References
from beancount_adjustments.beans.risk_settings import read_setting
from beancount_adjustments.beans.rules import (
    APPROVAL,
    CATEGORY_DECLARATION,
    CUSTOMER,
    LOCK,
    POLICY,
    RESERVED,
    TYPE_DECLARATION,
    USER,
)
from beancount_adjustments.beans.seal_directive import read_seal
from beancount_adjustments.core.facts import Facts, Settings
from beancount_adjustments.core.models import CustomerRecord, Request, Source
from beancount_adjustments.core.receivable_rule import (
    RECEIVABLE_RULE,
    Leg,
    ReceivableMoves,
)
from beancount_adjustments.core.reserved import Reserved, ReservedPattern, unrequested
from beancount_adjustments.core.risk import ALERT, RISK
from beancount_adjustments.core.seals import SEAL
from beancount_adjustments.core.signatures import KEY

LeftOver = Callable[[Sequence[Any]], str | None]
"""What a transaction's postings leave over beyond Beancount's default tolerance
(`Facts.left_over`)."""


class Read(NamedTuple):
    """What `read` found, and where in the entries (for placing the effects)."""

    facts: Facts
    requests: list[tuple[int, data.Transaction, Request | None]]
    """The request transactions with their positions, and what was read of them."""
    event_at: dict[int, int]
    """`id()` of each event model read -> the position of its entry."""
    price_entries: list[data.Price]


class Names:
    """The customers the ledger names (not the requests: a request naming a customer
    nobody else names is the error `unknown-customer`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.found: dict[str, CustomerRecord] = {}
        self.prefix = settings.receivable + ":"

    def see(self, entry: data.Transaction) -> None:
        customer = entry.meta["customer"]
        if not isinstance(customer, str) or not customer.strip():
            return
        customer = customer.strip()
        if customer in self.found:
            return
        root, prefix = self.settings.receivable, self.prefix
        if any(p.account == root or p.account.startswith(prefix) for p in entry.postings):
            self.add(customer, entry)

    def see_accounts(self, entries: list[data.Directive]) -> None:
        pattern = self.settings.account_pattern()
        for entry in entries:
            if isinstance(entry, data.Open) and pattern is not None:
                match = pattern.match(entry.account)
                if match and match.group(1) not in self.found:
                    self.add(match.group(1), entry)

    def add(self, customer: str, entry: data.Directive) -> None:
        self.found[customer] = CustomerRecord(
            date=entry.date, customer=customer, tier=self.settings.default_tier,
            source=source_of(entry))


def read(entries: list[data.Directive], settings: Settings,
         progress: Progress | None = None,
         balance_roots: Sequence[str] = ("Assets", "Liabilities"),
         balancing: Balancing | None = None) -> Read:
    """Sort out the entries that concern adjustments into facts. `balance_roots`: the
    ledger's asset and liability roots (its `name_assets` and `name_liabilities`);
    `balancing`: its tolerance options."""
    reader = Reader()
    if balancing is not None:
        reader.balancing = balancing
    invoices = References("invoice-id", settings.receivable)
    orders = References("order-id", settings.receivable)
    facts = Facts(invoices=invoices, orders=orders)
    names = Names(settings)
    requests: list[tuple[int, data.Transaction, Request | None]] = []
    event_at: dict[int, int] = {}
    price_entries: list[data.Price] = []
    rule_names: dict[str, Source] = {}
    customs: dict[str, tuple[Callable[[data.Custom], Any], list[Any]]] = {
        USER: (reader.user, facts.grants), CUSTOMER: (reader.customer, facts.customers),
        APPROVAL: (reader.approval_row, facts.rows), POLICY: (reader.type_policy, facts.policies),
        LOCK: (reader.lock, facts.locks),
        RESERVED: (lambda e: reader.reserved(e, settings.receivable), facts.reserved),
        RECEIVABLE_RULE: (reader.receivable_rule, facts.receivable_rules),
        RISK: (lambda e: read_setting(e, reader), facts.risk_settings),
        ALERT: (lambda e: read_setting(e, reader), facts.risk_settings),
        SEAL: (lambda e: read_seal(reader, e), facts.seals),
        KEY: (lambda e: read_key(reader, e), facts.keys),
        TYPE_DECLARATION: (reader.declaration, facts.declarations),
        CATEGORY_DECLARATION: (reader.declaration, facts.declarations),
        # Checked only: `notify` and `intake` read them again with the same readers.
        CUSTOMER_NOTICE: (lambda e: read_customer_notice(reader, e), []),
        CHANNEL: (lambda e: read_channel(reader, e), []),
        TEMPLATE: (lambda e: read_template(reader, e), []),
        SCHEDULE: (lambda e: read_schedule(reader, e), []),
        RULE: (lambda e: read_rule(reader, e, rule_names), []),
    }
    # What `adjustment-reserved` and `adjustment-receivable` judge once every rule is
    # read: a rule dated on a transaction's day may sort after it.
    plain: list[data.Transaction | data.Pad] = []
    # Exact type checks first (one `is` per entry), isinstance for subclasses.
    transaction, custom, price, pad = data.Transaction, data.Custom, data.Price, data.Pad
    balance, balances, open_, opened = data.Balance, [], data.Open, []
    directives: list[Any] = entries  # type(entry) below is what tells them apart
    events, read_event, timeline = facts.events, reader.event, facts.timeline
    for index, entry in enumerate(directives):
        if progress is not None:
            progress.entry = entry
        kind = type(entry)
        if kind is not transaction and kind is not custom and kind is not price:
            if kind is pad:
                # Beancount books a pad after the plugins run: its line is the posting.
                plain.append(entry)
                continue
            if kind is balance:
                balances.append(entry)
                continue
            if kind is open_:
                opened.append(entry.account)
                continue
            if isinstance(entry, transaction):
                kind = transaction
            elif isinstance(entry, custom):
                kind = custom
            elif isinstance(entry, price):
                kind = price
            else:
                continue
        if kind is transaction:
            meta = entry.meta
            if "adjustment-type" in meta:
                request = reader.request(entry)
                requests.append((index, entry, request))
                if request is not None:
                    facts.requests.append(request)
                    timeline.append(request)
                continue
            if forgery(entry):
                forged(reader, entry)
            else:
                plain.append(entry)
            if "customer" in meta:
                names.see(entry)
            if "invoice-id" in meta:
                invoices.add(entry, reader)
            elif "order-id" in meta:
                orders.add(entry, reader)
        elif kind is custom:
            # Events are most custom entries, and their positions place the effects.
            if entry.type == EVENT:
                event = read_event(entry)
                if event is not None:
                    events.append(event)
                    timeline.append(event)
                    event_at[id(event)] = index
                continue
            handler = customs.get(entry.type)
            if handler is not None:
                model = handler[0](entry)
                if model is not None:
                    handler[1].append(model)
        else:
            price_entries.append(entry)
    facts.opened = tuple(opened)
    if settings.customer_account is not None:
        names.see_accounts(entries)
    facts.left_over = reader.balancing.left_over
    if facts.reserved or facts.receivable_rules:
        facts.balance_roots = tuple(balance_roots)
        moves = (ReceivableMoves(facts.receivable_rules, settings, facts.balance_roots)
                 if facts.receivable_rules else None)
        unrequested_postings(reader, plain, facts.reserved, moves, padded(plain, balances),
                             left_over=facts.left_over)
    facts.named = list(names.found.values())
    facts.problems.extend(reader.problems)
    facts.prices = prices = not_implied_by(price_entries, requests)
    return Read(facts, requests, event_at, prices)


def forgery(entry: data.Transaction) -> bool:
    """Whether a transaction that is no request carries the marks of what the plugin
    books (`forged`)."""
    return bool(entry.tags and not entry.tags.isdisjoint(OWN_TAGS)) or (
        "adjustment-state" in entry.meta)


def plain(entry: data.Directive) -> TypeGuard[data.Transaction | data.Pad]:
    """Whether `read` judges `entry` as a plain posting (`adjustment-reserved`): a pad,
    or a transaction that is neither a request nor a forgery."""
    if isinstance(entry, data.Pad):
        return True
    return (isinstance(entry, data.Transaction) and "adjustment-type" not in entry.meta
            and not forgery(entry))


def forged(reader: Reader, entry: data.Transaction) -> None:
    """A transaction written with the marks of what the plugin books (its own tags,
    `OWN_TAGS`, or an `adjustment-state:`) that is no request: an adjustment's
    effect no approval made, which queries, statements and reports would count
    as one."""
    reader.problem("forged-effect", source_of(entry),
                   "this transaction carries the marks of what the plugin books "
                   f"(#{TAG_APPLIED}, #{TAG_REVERSAL} or another #adjustment-... tag of "
                   "its own, or `adjustment-state:`), but only the plugin writes those, "
                   "from a request; file a request instead, or remove the marks.")


def unrequested_postings(reader: Reader, entries: list[data.Transaction | data.Pad],
                         patterns: list[ReservedPattern],
                         moves: ReceivableMoves | None = None,
                         pad_dates: dict[int, datetime.date] | None = None, *,
                         left_over: LeftOver | None = None) -> None:
    """`unrequested-posting` at each of `entries` (no request's, nor forged) posting to
    an account a pattern reserves on its date, or (`moves`) moving the receivable from
    the rule's date as no invoice, payment or move within a customer's account does:
    money moved without a request. One error an entry, the reserved account's first.
    A pad is judged on the date of `pad_dates` (`padded`); `left_over`: `receivable_refusal`'s."""
    reserved = Reserved(patterns)
    pad_dates = pad_dates or {}
    for entry in entries:
        what, accounts = posted(entry)
        date = pad_dates.get(id(entry), entry.date)
        found = reserved.first(accounts, date)
        if found is not None:
            reader.problem("unrequested-posting", source_of(entry), unrequested(what, *found))
            continue
        if moves is None or date < moves.date:
            continue
        why = receivable_refusal(moves, entry, accounts, date, left_over)
        if why is not None:
            reader.problem("unrequested-posting", source_of(entry), why)


def receivable_refusal(moves: ReceivableMoves, entry: data.Transaction | data.Pad,
                       accounts: Sequence[str], date: datetime.date,
                       left_over: LeftOver | None = None) -> str | None:
    """Why the plain `entry` (posting to `accounts`) may not move the receivable, judged
    as of `date`, or None: it moves none, or it may. `left_over`: what its postings leave
    over beyond Beancount's default tolerance under the ledger's options
    (`Facts.left_over`)."""
    # Most transactions move no receivable account: one cached look each.
    if not any(map(moves.moves, accounts)):
        return None
    if isinstance(entry, data.Pad):
        return moves.pad_refusal(next(a for a in accounts if moves.moves(a)))
    meta = entry.meta
    held = [p.account for p in entry.postings if p.cost is not None and p.units
            and p.units.number and not moves.moves(p.account)]
    return moves.refusal(_postings(entry), "invoice-id" in meta or "order-id" in meta, date,
                         list(dict.fromkeys(held)),
                         None if left_over is None else left_over(entry.postings))


def padded(entries: Sequence[data.Directive], balances: Sequence[data.Directive] = ()
           ) -> dict[int, datetime.date]:
    """`id()` of each pad of `entries` whose amount a later `balance` fixes -> that
    date (the latest, over its currencies). Beancount books what a pad moves at its
    line but works it out at the first `balance` of its account after it in each
    currency: a pad dated the day before a rule, balanced after it, moves what the
    postings after the rule added (an invoice of August wiped by a pad of May)."""
    pads = [entry for entry in entries if isinstance(entry, data.Pad)]
    if not pads:
        return {}
    found: dict[int, datetime.date] = {}
    active: dict[str, tuple[data.Pad, set[str]]] = {}
    # One pass in date order, as Beancount's (a balance sorts before a pad of its day,
    # which it does not use): a pad pads until its account's next pad.
    ordered: list[data.Pad | data.Balance] = [*pads]
    ordered += (b for b in [*entries, *balances] if isinstance(b, data.Balance))
    ordered.sort(key=lambda e: (e.date, not isinstance(e, data.Balance)))
    for one in ordered:
        if isinstance(one, data.Pad):
            active[one.account] = (one, set())
            continue
        pad_seen = active.get(one.account)
        if pad_seen is None or one.amount.currency in pad_seen[1]:
            continue
        pad_seen[1].add(one.amount.currency)
        if one.date > pad_seen[0].date:
            found[id(pad_seen[0])] = one.date
    # Entries the loader booked hold the pads' `P` transactions too, at the pads' lines.
    at = {_line(pad): found[id(pad)] for pad in pads if id(pad) in found}
    for entry in entries:
        if isinstance(entry, data.Transaction) and entry.flag == "P" and _line(entry) in at:
            found[id(entry)] = at[_line(entry)]
    return found


def _line(entry: data.Directive) -> tuple[object, object]:
    return entry.meta.get("filename"), entry.meta.get("lineno")


def posted(entry: data.Transaction | data.Pad) -> tuple[str, list[str]]:
    """What a plain posting is ("transaction", "pad") and the accounts it posts to."""
    if isinstance(entry, data.Pad):
        return "pad", [entry.account, entry.source_account]
    return "transaction", [posting.account for posting in entry.postings]


def _postings(entry: Any) -> list[Leg]:
    """A transaction's postings as the judgement reads them (a leg Beancount could not
    book, with no number, moves nothing)."""
    try:
        return [(p.account, p.units.number, p.units.currency) for p in entry.postings]
    except AttributeError:  # a leg with no units at all: rare, read leg by leg
        return [(p.account, getattr(p.units, "number", None), getattr(p.units, "currency", ""))
                for p in entry.postings]


IMPLICIT = "__implicit_prices__"
"""The metadata key Beancount's `implicit_prices` plugin marks the prices it makes with."""


def not_implied_by(price_entries: list[data.Price],
                   requests: list[tuple[int, data.Transaction, Request | None]]
                   ) -> list[data.Price]:
    """The prices without those `implicit_prices` made of a request's own price or cost
    annotations: they are the request's own word, and would judge it (a 1,000,000 EUR
    leg `@ 0.000001 USD` worth a dollar)."""
    if not any(IMPLICIT in entry.meta for entry in price_entries):
        return price_entries
    own = {(entry.meta.get("filename"), entry.meta.get("lineno")) for _, entry, _ in requests}
    return [entry for entry in price_entries if IMPLICIT not in entry.meta
            or (entry.meta.get("filename"), entry.meta.get("lineno")) not in own]


class Progress:
    """Where the pass is: what an internal failure is reported at."""

    __slots__ = ("entry", "replay")

    def __init__(self) -> None:
        self.entry: Any = None
        self.replay: Any = None
