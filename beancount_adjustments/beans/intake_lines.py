"""Reading the lines the intake commands work from: `adjustment-template`,
`adjustment-schedule` and `adjustment-rule` directives.

The plugin reads every line with `read_template`, `read_schedule` and
`read_rule` (so `bean-check` reports a bad one at its file:line, codes
`bad-template`, `bad-schedule`, `bad-rule`); `intake` and the CLI take what
`parse_templates`, `parse_schedules` and `parse_rules` return, the same
readers' values and problems. A bad line never stops a run: one that names
nothing is skipped, one that names a template, schedule or rule holds that
name (none of its lines is used until it is fixed: a broken later line must
not leave an earlier one running).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypedDict

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.beans.metadata import MetaReader, custom_lines, source_of
from beancount_adjustments.beans.rules import CATEGORY_RE, TYPE_RE
from beancount_adjustments.core.amounts import AmountError, read_param
from beancount_adjustments.core.intake_lines import (
    DEFAULT_CATEGORIES,
    DEFAULT_TYPES,
    RULE_KINDS,
    UNITS,
    Held,
    LateFeeRule,
    LoyaltyRule,
    ParamValue,
    Rule,
    RuleKind,
    Schedule,
    SlaCreditRule,
    Template,
    Templates,
)
from beancount_adjustments.core.models import Money, Problem, Source

__all__ = ["RULE", "SCHEDULE", "TEMPLATE", "param_value", "params_of", "parse_rules",
           "parse_schedules", "parse_templates", "read_rule", "read_schedule",
           "read_template"]

TEMPLATE = "adjustment-template"
SCHEDULE = "adjustment-schedule"
RULE = "adjustment-rule"

SKIPPED = "; this line is skipped"
HELD = "; it is not used until this line is fixed"

TEMPLATE_FIELDS = ("type", "category", "calculator", "offset-account", "receivable-account",
                   "reason", "payee", "narration", "description")
"""Template keys that are not calculator parameters (with `amount`), in the order
their problems are reported."""
SCHEDULE_FIELDS = frozenset({"customers", "tier", "every", "interval", "start", "end",
                             "requested-by"})
MOST = 36600
"""The largest count of days or months a rule takes (a century of days: a larger
one is a typo, and would run past the calendar)."""


# -- calculator parameters ------------------------------------------------------------

def param_value(value: Any) -> ParamValue | None:
    """A metadata value as a calculator parameter (None: not a usable type)."""
    if isinstance(value, Amount) and isinstance(value.number, Decimal):
        return Money(number=value.number, currency=value.currency)
    if isinstance(value, str | Decimal | datetime.date | bool):
        return value
    return None


def params_of(meta: Mapping[str, Any],
              fields: Collection[str]) -> tuple[dict[str, ParamValue], str | None]:
    """The calculator parameters of a directive's metadata (every key but `fields`,
    `filename` and `lineno`), and what is wrong with the first unusable one."""
    params: dict[str, ParamValue] = {}
    for key, raw in meta.items():
        if key in fields or key in ("filename", "lineno"):
            continue
        value = param_value(raw)
        if value is None:
            return params, f"`{key}:` has a value of an unusable type ({raw!r})"
        if isinstance(value, str):
            # A text that reads as a number or an amount must read as every typed
            # amount does (`amounts.read_param`): "1,5" is no 15, a digit of another
            # script no 0-9. It stays text: the calculator reads it the same way.
            try:
                read_param(value)
            except AmountError as exc:
                return params, f"`{key}:` {exc}"
        params[key] = value
    return params, None


# -- templates ------------------------------------------------------------------------

def read_template(reader: MetaReader, entry: data.Custom) -> Template | Held | None:
    """`custom "adjustment-template" NAME` and its keys; Held (a named line that does
    not read) or None (one that names nothing), and a problem."""
    source = source_of(entry)
    values = [v.value for v in entry.values or ()]
    if len(values) != 1 or not isinstance(values[0], str) or not values[0].strip():
        reader.problem("bad-template", source,
                       f'custom "{TEMPLATE}" takes one name: custom "{TEMPLATE}" '
                       f'"late-fee"{SKIPPED}')
        return None
    name = values[0].strip()
    why = _template_problem(entry.meta or {})
    if isinstance(why, str):
        reader.problem("bad-template", source, f"template {name}: {why}{HELD}")
        return Held(name=name)
    texts, params = why
    return Template(
        name=name, date=entry.date, type=texts["type"], reason=texts["reason"],
        calculator=texts.get("calculator", "fixed"), source=source,
        category=texts.get("category"), offset_account=texts.get("offset-account"),
        receivable_account=texts.get("receivable-account"), payee=texts.get("payee"),
        narration=texts.get("narration"), description=texts.get("description"),
        params=params)


def _template_problem(meta: Mapping[str, Any]
                      ) -> str | tuple[dict[str, str], dict[str, ParamValue]]:
    """What is wrong with a template's keys, or its texts and parameters."""
    texts: dict[str, str] = {}
    for key in TEMPLATE_FIELDS:
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            return f"`{key}:` must be a non-empty string, not {value!r}"
        texts[key] = value.strip()
    adj_type = texts.get("type")
    if adj_type is None or not TYPE_RE.match(adj_type):
        return ("`type:` must be credit:, debit: or billing: and a subtype "
                f"(for example \"debit:fee\"), not {adj_type!r}")
    category = texts.get("category")
    if category is not None and not CATEGORY_RE.match(category):
        return f"`category:` must read group:name, not {category!r}"
    if "reason" not in texts:
        return "`reason:` is required (it becomes the request's reason)"
    params, unusable = params_of(meta, TEMPLATE_FIELDS)
    if unusable is not None:
        return unusable
    if "amount" in params and not isinstance(params["amount"], Money):
        return "`amount:` must be an amount such as 15.00 USD"
    if "calculator" not in texts and "amount" not in params:
        return "give a fixed `amount:` or a `calculator:`"
    return texts, params


def parse_templates(entries: Iterable[data.Directive]) -> tuple[Templates, list[Problem]]:
    """The templates of the entries (but those a bad line holds), and a problem at
    each bad line."""
    reader = MetaReader()
    lines: dict[str, list[Template]] = {}
    held: set[str] = set()
    for entry in custom_lines(entries, TEMPLATE):
        found = read_template(reader, entry)
        if isinstance(found, Held):
            held.add(found.name)
        elif found is not None:
            lines.setdefault(found.name, []).append(found)
    dated = {name: tuple(sorted(found, key=lambda t: t.date))
             for name, found in lines.items() if name not in held}
    return Templates(dated, frozenset(held)), reader.problems


# -- schedules ------------------------------------------------------------------------

def read_schedule(reader: MetaReader, entry: data.Custom) -> Schedule | Held | None:
    """`custom "adjustment-schedule" NAME TEMPLATE` and its keys; Held or None, and a
    problem."""
    source = source_of(entry)
    values = [v.value for v in entry.values or ()]
    if len(values) != 2 or not all(isinstance(v, str) and v.strip() for v in values):
        reader.problem("bad-schedule", source,
                       f'custom "{SCHEDULE}" takes a name and a template: custom '
                       f'"{SCHEDULE}" "monthly-loyalty" "loyalty-credit"{SKIPPED}')
        return None
    name, template = (str(v).strip() for v in values)
    found = _schedule(name, template, entry.date, source, entry.meta or {})
    if isinstance(found, str):
        reader.problem("bad-schedule", source, f"schedule {name}: {found}{HELD}")
        return Held(name=name)
    return found


def _schedule(name: str, template: str, date: datetime.date, source: Source,
              meta: Mapping[str, Any]) -> Schedule | str:
    """The schedule a line's keys describe, or what is wrong with them."""
    every = meta.get("every")
    if every not in UNITS:
        return f"`every:` is one of {', '.join(UNITS)}, not {every!r}"
    interval = meta.get("interval", Decimal(1))
    if (not isinstance(interval, Decimal) or interval != interval.to_integral_value()
            or interval < 1):
        return f"`interval:` must be a whole number of at least 1, not {interval!r}"
    dates: dict[str, datetime.date | None] = {}
    for key in ("start", "end"):
        value = meta.get(key)
        if value is not None and not isinstance(value, datetime.date):
            return f"`{key}:` must be a date (2026-02-01), not {value!r}"
        dates[key] = value
    start, end = dates["start"] or date, dates["end"]
    if end is not None and end < start:
        return f"`end:` {end} is before `start:` {start}"
    customers_text, tier = meta.get("customers"), meta.get("tier")
    if (customers_text is None) == (tier is None):
        return ("give either `customers:` (\"cust_001,cust_002\") or `tier:`, not both "
                "or neither")
    customers: tuple[str, ...] = ()
    if customers_text is not None:
        if not isinstance(customers_text, str):
            return "`customers:` is a comma-separated string"
        customers = tuple(dict.fromkeys(c.strip() for c in customers_text.split(",")
                                        if c.strip()))
        if not customers:
            return "`customers:` names no customer"
    if tier is not None and (not isinstance(tier, str) or not tier.strip()):
        return "`tier:` must be a non-empty string"
    requested_by = meta.get("requested-by")
    if requested_by is not None and (not isinstance(requested_by, str)
                                     or not requested_by.strip()):
        return "`requested-by:` must be a user name"
    params, unusable = params_of(meta, SCHEDULE_FIELDS)
    if unusable is not None:
        return unusable
    return Schedule(name=name, template=template, date=date, every=every,
                    interval=int(interval), start=start, end=end, customers=customers,
                    tier=tier.strip() if isinstance(tier, str) else None,
                    requested_by=requested_by.strip() if requested_by else None,
                    source=source, params=params)


def parse_schedules(entries: Iterable[data.Directive]
                    ) -> tuple[list[Schedule], list[Problem]]:
    """The schedules in force (the latest line of each name, by name; none for a
    name a bad line holds), and a problem at each bad line."""
    reader = MetaReader()
    latest: dict[str, Schedule] = {}
    held: set[str] = set()
    for entry in custom_lines(entries, SCHEDULE):
        found = read_schedule(reader, entry)
        if isinstance(found, Held):
            held.add(found.name)
        elif found is not None and (found.name not in latest
                                    or latest[found.name].date <= found.date):
            latest[found.name] = found
    return [latest[name] for name in sorted(latest) if name not in held], reader.problems


# -- automation rules -------------------------------------------------------------------

class _Unusable(Exception):
    """Why a rule line cannot be used; `read_rule` reports it, it goes no further."""


def read_rule(reader: MetaReader, entry: data.Custom,
              seen: dict[str, Source]) -> Rule | Held | None:
    """`custom "adjustment-rule" NAME KIND` and its kind's keys; Held or None, and a
    problem. `seen`: where each rule name read so far is (a second one is held)."""
    source = source_of(entry)
    values = [v.value for v in entry.values or ()]
    if (len(values) != 2 or not all(isinstance(v, str) for v in values)
            or not values[0].strip() or values[1] not in RULE_KINDS):
        reader.problem("bad-rule", source,
                       f'custom "{RULE}" takes a rule name and a kind '
                       f'({", ".join(RULE_KINDS)}): custom "{RULE}" "late-fee" '
                       f'"late-fee"{SKIPPED}')
        return None
    name, kind = values
    first = seen.setdefault(name, source)
    if first != source:
        reader.problem("bad-rule", source,
                       f"rule {name}: a rule of this name is already declared at "
                       f"{first.filename}:{first.lineno} (their external ids would collide); "
                       "neither is used until one is renamed")
        return Held(name=name)
    try:
        return _rule(name, kind, entry.date, source, entry.meta or {})
    except _Unusable as exc:
        reader.problem("bad-rule", source, f"{exc}{HELD}")
        return Held(name=name)


class _Keys:
    """A rule line's keys, read strictly: each raises _Unusable saying what is wrong."""

    def __init__(self, name: str, kind: RuleKind, meta: Mapping[str, Any]) -> None:
        self.name, self.kind, self.meta = name, kind, meta

    def text(self, key: str) -> str | None:
        value = self.meta.get(key)
        if value is not None and not isinstance(value, str):
            raise _Unusable(f"rule {self.name}: `{key}:` must be a string")
        return value

    def required(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise _Unusable(f"rule {self.name} ({self.kind}) needs `{key}:`")
        return value

    def count(self, key: str, default: int | None = None) -> int:
        value = self.meta.get(key, default)
        if value is None:
            raise _Unusable(f"rule {self.name} ({self.kind}) needs `{key}:`")
        if (not isinstance(value, Decimal | int) or isinstance(value, bool)
                or value != int(value) or not 0 < value <= MOST):
            raise _Unusable(f"rule {self.name}: `{key}:` must be a whole number from 1 to "
                            f"{MOST}, not {value!r}")
        return int(value)

    def amount(self) -> Money | None:
        value = self.meta.get("amount")
        if value is None:
            return None
        number, currency = getattr(value, "number", None), getattr(value, "currency", None)
        if not isinstance(number, Decimal) or not isinstance(currency, str) or number <= 0:
            raise _Unusable(f"rule {self.name}: `amount:` must be a positive amount such as "
                            "25.00 USD")
        return Money(number=number, currency=currency)

    def needed_amount(self) -> Money:
        found = self.amount()
        if found is None:
            raise _Unusable(f"rule {self.name} ({self.kind}) needs `amount:`")
        return found


class _Said(TypedDict):
    """What every rule holds (`Rule`'s fields)."""

    name: str
    date: datetime.date
    source: Source
    type: str
    category: str | None
    reason: str | None


def _rule(name: str, kind: RuleKind, date: datetime.date, source: Source,
          meta: Mapping[str, Any]) -> Rule:
    """The rule a line's keys describe; raises _Unusable saying what is wrong."""
    keys = _Keys(name, kind, meta)

    def said() -> _Said:
        category = keys.text("category")
        return {"name": name, "date": date, "source": source,
                "type": keys.text("type") or DEFAULT_TYPES[kind],
                "category": DEFAULT_CATEGORIES[kind] if category is None else category,
                "reason": keys.text("reason") or None}

    # The kind's own keys first, in the order the kind needs them.
    if kind == "late-fee":
        days, account, fixed = keys.count("days", 30), keys.required("account"), keys.amount()
        percent = meta.get("percent")
        if fixed is None and not isinstance(percent, Decimal):
            raise _Unusable(f"rule {name} needs `amount:` or `percent:`")
        return LateFeeRule(days=days, account=account, amount=fixed,
                           percent=None if fixed is not None else percent,
                           receivable=keys.text("receivable") or None, **said())
    if kind == "sla-credit":
        return SlaCreditRule(tickets=keys.required("tickets"), amount=keys.needed_amount(),
                             account=keys.required("account"),
                             receivable=keys.required("receivable"), **said())
    return LoyaltyRule(tier=keys.required("tier"), months=keys.count("months"),
                       amount=keys.needed_amount(), account=keys.required("account"),
                       receivable=keys.required("receivable"), **said())


def parse_rules(entries: Iterable[data.Directive]) -> tuple[list[Rule], list[Problem]]:
    """The rules of the entries in ledger order (but those a bad line holds), and a
    problem at each bad line."""
    reader = MetaReader()
    seen: dict[str, Source] = {}
    found = [read_rule(reader, entry, seen) for entry in custom_lines(entries, RULE)]
    held = {f.name for f in found if isinstance(f, Held)}
    return ([f for f in found if isinstance(f, Rule) and f.name not in held],
            reader.problems)
