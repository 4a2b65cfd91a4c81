"""The plugin's own settings (the plugin line's dict) changed since REV: a
`rule-changed` note for each, at the plugin line. They hold from the start and judge
every request and plain posting (the receivable root, the site's checks, the
default tier), so the reviewer of the change reads them as any rule changed.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from beancount_adjustments.core.facts import Settings
from beancount_adjustments.reports.history.findings import Finding

_PLUGIN_LINE = re.compile(r'^plugin\s+"beancount_adjustments')


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
    if ledger is None:
        return 0
    try:
        lines = Path(ledger).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return 0
    return next((n for n, line in enumerate(lines, 1) if _PLUGIN_LINE.match(line)), 0)
