"""What the replay judges: the facts read from the ledger and the plugin's settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from beancount_adjustments.core.models import (
    ApprovalRow,
    CustomerRecord,
    Declaration,
    Event,
    Money,
    PeriodLock,
    Problem,
    Request,
    TypePolicy,
    UserGrant,
)
from beancount_adjustments.core.receivable_rule import ReceivableRule
from beancount_adjustments.core.references import Reference
from beancount_adjustments.core.reserved import ReservedPattern
from beancount_adjustments.core.risk import AlertRule, RiskSetting
from beancount_adjustments.core.seals import PriceDirective, Seal
from beancount_adjustments.core.signatures import PublicKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The plugin's settings (`plugin "beancount_adjustments" "{...}"`), checked when read."""

    receivable: str = "Assets:Receivable"
    id_prefix: str = "ADJ"
    checks: tuple[str, ...] = ()
    default_tier: str = "standard"
    """The tier of a customer the ledger names but no declaration gives a tier."""
    customer_account: str | None = None
    """A receivable sub-account per customer, like "Assets:Receivable:{customer}":
    an opened account of that shape, or under one, names its customer."""
    default_sla_days: int | None = None
    """`sla-days` of every type whose policy sets none (None: such types never escalate)."""

    def account_pattern(self) -> re.Pattern[str] | None:
        """`customer_account` as a pattern whose group is the customer id: the
        account itself and the accounts under it (`...:Acme:Disputes` is Acme's too)."""
        shape = self.customer_account
        if shape is None:
            return None
        before, _, after = shape.partition("{customer}")
        return re.compile(f"^{re.escape(before)}([^:]+){re.escape(after)}(?::.*)?$")

    def account_owner(self, account: str) -> str | None:
        """The customer whose own account `account` is, or is under
        (`customer_account`), or None."""
        pattern = self.account_pattern()
        match = pattern.match(account) if pattern is not None else None
        return match.group(1) if match else None


Check = Callable[[Request, Money], Iterable[str] | str | None]
"""A site's own check (the `checks` setting): messages saying what is wrong, or none."""


@dataclass
class Facts:
    """What the ledger says, read but not yet judged."""

    requests: list[Request] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    grants: list[UserGrant] = field(default_factory=list)
    customers: list[CustomerRecord] = field(default_factory=list)
    named: list[CustomerRecord] = field(default_factory=list)
    """Customers the ledger names (`customer:` on a transaction moving the receivable
    accounts, or an account of the `customer-account` shape), first naming each."""
    rows: list[ApprovalRow] = field(default_factory=list)
    policies: list[TypePolicy] = field(default_factory=list)
    locks: list[PeriodLock] = field(default_factory=list)
    reserved: list[ReservedPattern] = field(default_factory=list)
    """The accounts only adjustments post to (`adjustment-reserved`)."""
    receivable_rules: list[ReceivableRule] = field(default_factory=list)
    """From when only invoices, payments and adjustments move the receivable
    (`adjustment-receivable`)."""
    opened: tuple[str, ...] | None = None
    """The accounts the ledger opens (None: not known, facts put together otherwise):
    a reserved pattern matching none of them reserves nothing."""
    balance_roots: tuple[str, ...] = ("Assets", "Liabilities")
    """The ledger's asset and liability roots (its `name_assets`, `name_liabilities`):
    where a payment's other side goes (`receivable_rules`)."""
    left_over: Callable[[Sequence[object]], str | None] | None = None
    """`beans.balancing`'s judge of a transaction's postings: what they leave over
    beyond Beancount's default tolerance while the ledger's tolerance options balance
    them, or None. The receivable rule refuses a transaction it finds something in;
    None here: no judge (the tools' own reads)."""
    invoices: Mapping[str, Reference] = field(default_factory=dict)
    orders: Mapping[str, Reference] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    risk_settings: list[RiskSetting | AlertRule] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    keys: list[PublicKey] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    prices: Sequence[PriceDirective] = ()
    """The price directives the rates come from (the same list: nothing copied), which
    seals cover."""
    files: tuple[str, ...] = ()
    """The ledger's files in the order they are loaded: same-day order is file order."""
    timeline: list[Request | Event] = field(default_factory=list)
    """The requests and events in the order read, when read from loaded entries
    (Beancount's order); empty when the facts were put together otherwise."""


def filed_requests(requests: Iterable[Request]) -> dict[str, Request]:
    """The request each external id names: the first in ledger order carrying it,
    whatever its state (an invalid or rejected request still holds its id, so a
    retry is not filed twice). The one answer the API, the writer, the CSV import and
    the automation give; a second request under the id is written by hand only, since
    every tool refuses it, and names nothing."""
    out: dict[str, Request] = {}
    for request in requests:
        if request.external_id:
            out.setdefault(request.external_id, request)
    return out


def read_in_order(facts: Facts) -> bool:
    """Whether `facts.timeline` holds every request and event, in Beancount's order."""
    return len(facts.timeline) == len(facts.requests) + len(facts.events)
