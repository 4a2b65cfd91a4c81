"""The lines the intake commands work from, as values: templates
(`adjustment-template`), schedules (`adjustment-schedule`) and automation rules
(`adjustment-rule`). `beans.intake_lines` reads them from the ledger; a name with
a bad line is held (`Templates.held`): none of its lines is used.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import ClassVar, Literal

from beancount_adjustments.core.models import Money, Source

ParamValue = str | Decimal | Money | datetime.date | bool
"""A template parameter: metadata keeps its Beancount type, `--param` gives a string."""

Unit = Literal["day", "week", "month", "quarter", "year"]
UNITS: tuple[Unit, ...] = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """A bad line that names a template, schedule or rule: that name is not used."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """One `adjustment-template` line: a recipe for requests, in force from `date`."""

    name: str
    date: datetime.date
    type: str
    reason: str
    calculator: str
    source: Source
    category: str | None = None
    offset_account: str | None = None
    receivable_account: str | None = None
    payee: str | None = None
    narration: str | None = None
    description: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Templates:
    """Every good template line, effective-dated by name (each name's lines in date
    order), and the names a bad line holds."""

    lines: Mapping[str, tuple[Template, ...]] = field(default_factory=dict)
    held: frozenset[str] = frozenset()

    def on(self, name: str, date: datetime.date) -> Template | None:
        """The template `name` as it reads on `date` (its latest line on or before)."""
        found = [t for t in self.lines.get(name, ()) if t.date <= date]
        return found[-1] if found else None

    def names(self) -> list[str]:
        return sorted(self.lines)

    def latest(self) -> list[Template]:
        return [self.lines[name][-1] for name in self.names()]


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """One `adjustment-schedule` line: a template applied to customers on a calendar."""

    name: str
    template: str
    date: datetime.date
    every: Unit
    start: datetime.date
    source: Source
    interval: int = 1
    end: datetime.date | None = None
    customers: tuple[str, ...] = ()
    tier: str | None = None
    requested_by: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)


RuleKind = Literal["late-fee", "sla-credit", "loyalty"]
RULE_KINDS: tuple[RuleKind, ...] = ("late-fee", "sla-credit", "loyalty")
DEFAULT_TYPES: Mapping[RuleKind, str] = {
    "late-fee": "debit:fee", "sla-credit": "credit:account", "loyalty": "credit:account"}
DEFAULT_CATEGORIES: Mapping[RuleKind, str | None] = {
    "late-fee": None, "sla-credit": "customer-service:service-recovery",
    "loyalty": "customer-service:loyalty"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """What every `adjustment-rule` line holds; its kind's class holds the rest.

    `type` and `category` are the line's or the kind's default; `reason` is None
    when the kind's own sentence is used.
    """

    kind: ClassVar[RuleKind]
    name: str
    date: datetime.date
    source: Source
    account: str
    """The other side of the customer's account (the fee's income, the credit's cost)."""
    type: str
    category: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LateFeeRule(Rule):
    """A fee on invoices still owing `days` after their due date: `amount`, or
    `percent` of the invoice when there is no amount."""

    kind: ClassVar[RuleKind] = "late-fee"
    days: int = 30
    amount: Money | None = None
    percent: Decimal | None = None
    receivable: str | None = None
    """The customer's account; default: the invoice's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaCreditRule(Rule):
    """A credit for each ticket of the `tickets` feed that breached its SLA."""

    kind: ClassVar[RuleKind] = "sla-credit"
    tickets: str
    amount: Money
    receivable: str

    @property
    def feed(self) -> Path:
        """The tickets' CSV file: relative to the file holding the rule."""
        return Path(self.source.filename).parent / self.tickets


@dataclass(frozen=True, slots=True, kw_only=True)
class LoyaltyRule(Rule):
    """A credit every `months` months for each customer holding `tier`."""

    kind: ClassVar[RuleKind] = "loyalty"
    tier: str
    months: int
    amount: Money
    receivable: str
