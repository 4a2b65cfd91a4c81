"""Reading `custom "adjustment-risk"` and `custom "adjustment-alert"` directives."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from beancount_adjustments.beans.metadata import MetaReader, money, source_of, written_meta
from beancount_adjustments.core.models import State
from beancount_adjustments.core.risk import (
    ALERT,
    DEFAULT_ALERT_STATES,
    DIMENSIONS,
    PERIODS,
    RISK,
    SPECS,
    AlertRule,
    Param,
    RiskSetting,
    check_params,
)


def _param(value: Any, default: Param) -> Param | None:
    """`value` as the type of `default`, or None when it does not fit."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        if isinstance(value, Decimal | int) and not isinstance(value, bool) \
                and value == int(value) and value >= 0:
            return int(value)
        return None
    if isinstance(default, Decimal):
        if isinstance(value, Decimal | int) and not isinstance(value, bool) and value >= 0:
            return Decimal(value)
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


NOT_SENT = ("outliers",)
"""Checks whose findings are judged afresh each day (no stable identity): reported only."""


RECIPIENT_RE = re.compile(r"\*|role:[^\s,:]+|[^\s,:*]+")


def _recipients(value: Any) -> tuple[str, ...] | None:
    """`notify: "role:finance, dave"` as its recipients, or None when it does not read so."""
    if not isinstance(value, str):
        return None
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names or not all(RECIPIENT_RE.fullmatch(n) for n in names):
        return None
    return names


def read_setting(entry: Any, reader: MetaReader) -> RiskSetting | AlertRule | None:
    """Read an `adjustment-risk` or `adjustment-alert` custom entry; problems go to `reader`."""
    source = source_of(entry)
    values = [v.value for v in entry.values or ()]
    meta = written_meta(entry.meta)
    notify: tuple[str, ...] = ()
    if "notify" in meta:
        found = _recipients(meta.pop("notify"))
        if found is None:
            reader.problem("bad-risk-setting", source,
                           f'custom "{entry.type}": `notify:` lists who is sent its findings, '
                           'comma-separated: user names, "role:NAME" or "*" (everyone holding '
                           'a role), like notify: "role:finance, dave".')
            return None
        notify = found
    if entry.type == ALERT:
        usage = (f'custom "{ALERT}" takes a dimension ({", ".join(DIMENSIONS)}) and a limit: '
                 f'custom "{ALERT}" "customer" 2000.00 USD.')
        if (len(values) != 2 or not isinstance(values[0], str)
                or values[0].strip() not in DIMENSIONS
                or not hasattr(values[1], "currency")):
            reader.problem("bad-risk-setting", source, usage)
            return None
        period = meta.get("period", "month")
        if not isinstance(period, str) or period not in PERIODS:
            reader.problem("bad-risk-setting", source,
                           f'custom "{ALERT}": `period:` is one of {", ".join(PERIODS)}, '
                           f"not {period!r}.")
            return None
        states_text = meta.get("states")
        states: tuple[str, ...] = DEFAULT_ALERT_STATES
        if states_text is not None:
            states = tuple(s.strip() for s in str(states_text).split(",") if s.strip())
            unknown = [s for s in states if s not in {st.value for st in State}]
            if unknown or not states:
                reader.problem("bad-risk-setting", source,
                               f'custom "{ALERT}": `states:` lists states among '
                               f"{', '.join(s.value for s in State)}, not {states_text!r}.")
                return None
        return AlertRule(
            date=entry.date, dimension=values[0].strip(), limit=money(values[1]),
            period=period, states=states, notify=notify, source=source)
    if len(values) != 1 or not isinstance(values[0], str) or values[0].strip() not in SPECS:
        reader.problem("bad-risk-setting", source,
                       f'custom "{RISK}" takes one check name, one of {", ".join(SPECS)}: '
                       f'custom "{RISK}" "duplicates".')
        return None
    check = values[0].strip()
    spec = SPECS[check]
    if notify and check in NOT_SENT:
        reader.problem("bad-risk-setting", source,
                       f"risk check {check}: its findings are judged afresh each day, so they "
                       "are reported by `bean-adjust risk` and never sent; remove `notify:`.")
        return None
    params: dict[str, Param] = {}
    enabled = True
    for key, value in meta.items():
        if key == "enabled":
            if not isinstance(value, bool):
                reader.problem("bad-risk-setting", source,
                               f"risk check {check}: `enabled:` is TRUE or FALSE.")
                return None
            enabled = value
            continue
        if key not in spec:
            reader.problem("bad-risk-setting", source,
                           f"risk check {check}: unknown parameter `{key}:`; it takes "
                           f"{', '.join(f'`{k}:`' for k in spec) or 'none'} and `enabled:`.")
            return None
        converted = _param(value, spec[key])
        if converted is None:
            reader.problem("bad-risk-setting", source,
                           f"risk check {check}: `{key}:` must be like {spec[key]!r}, "
                           f"not {value!r}.")
            return None
        params[key] = converted
    problem = check_params(check, {**spec, **params})
    if problem:
        reader.problem("bad-risk-setting", source, f"risk check {check}: {problem}")
        return None
    return RiskSetting(date=entry.date, check=check, params=params,
                                       enabled=enabled, notify=notify, source=source)
