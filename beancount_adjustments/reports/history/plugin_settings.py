"""The plugin's own settings (the plugin line's dict) and Beancount's options changed
since REV: a `rule-changed` note for each, at its line. They hold from the start and
judge every request and plain posting (the receivable root, the site's checks, the
default tier; the tolerance a transaction balances within, the root names), so the
reviewer of the change reads them as any rule changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from beancount.parser.options import OPTIONS_DEFAULTS

from beancount_adjustments.core.facts import Settings
from beancount_adjustments.reports.history.findings import Finding

_PLUGIN_LINE = re.compile(r'^plugin\s+"beancount_adjustments')

UNJUDGED_OPTIONS = frozenset({
    "commodities", "dcontext", "filename", "include", "input_hash", "plugin", "title",
    "render_commas", "display_precision", "long_string_maxlines"})
"""Options the load works out itself (the files, the commodities), the plugin lines
(their settings are noted apart), and those that only change how amounts are shown."""


def settings_changed(old: Settings, new: Settings, ledger: str | None, *,
                     rev: str = "REV") -> list[Finding]:
    """One `rule-changed` note per setting that differs between REV's plugin line and
    the ledger's (`ledger`: the top file, where the note goes)."""
    filename, lineno = ledger or "<ledger>", plugin_line(ledger)
    notes = []
    for field in dataclasses.fields(Settings):
        then, now = getattr(old, field.name), getattr(new, field.name)
        if then == now:
            continue
        key = field.name.replace("_", "-")
        notes.append(Finding(
            "rule-changed", f"the plugin's setting {key} is {_said(now)} since {rev} "
            f"(before: {_said(then)}): it judges every request and plain posting from "
            "the start", filename, lineno, note=True))
    return notes


def _said(value: object) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def plugin_line(ledger: str | None) -> int:
    """The line of the top file that enables the plugin (Beancount reads plugin lines
    there only), or 0 when it cannot be read."""
    lines = _lines(ledger)
    return next((n for n, line in enumerate(lines, 1) if _PLUGIN_LINE.match(line)), 0)


def options_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                    ledger: str | None, *, rev: str = "REV") -> list[Finding]:
    """One `rule-changed` note per Beancount option (those a ledger writes, not
    `UNJUDGED_OPTIONS`; the options map holds the plugin's book too) whose value
    differs between REV's load and the ledger's, at its `option` line in the top file
    (Beancount reads options there only)."""
    if old is None or new is None:
        return []
    lines = _lines(ledger)
    notes = []
    for key in sorted(OPTIONS_DEFAULTS):
        then, now = old.get(key), new.get(key)
        if key in UNJUDGED_OPTIONS or then == now:
            continue
        written = re.compile(rf'^option\s+"{re.escape(key)}"')
        lineno = next((n for n, line in enumerate(lines, 1) if written.match(line)), 0)
        notes.append(Finding(
            "rule-changed", f"the ledger's option {key} is {_option(now)} since {rev} "
            f"(before: {_option(then)}): Beancount books every transaction by it",
            ledger or "<ledger>", lineno, note=True))
    return notes


def _option(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}:{v}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None else str(getattr(value, "value", value))


def _lines(ledger: str | None) -> list[str]:
    if ledger is None:
        return []
    try:
        return Path(ledger).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return []
