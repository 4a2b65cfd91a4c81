"""A finding (one rewrite of the past, at the line that shows it) and how it prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from beancount_adjustments.beans.metadata import CONTROL_ONE_LINE


class Finding(NamedTuple):
    """One rewrite of the past, at the line that shows it."""

    code: str
    message: str
    filename: str
    lineno: int
    at_rev: bool = False
    """The line is in the ledger as it was at REV (the current ledger has none)."""
    adjustment_id: str | None = None
    warning: bool = False
    """Listed for an auditor to look at, and no failure (a new signing key)."""
    note: bool = False
    """Listed for the reviewer of the change to read, and no failure (a rule changed
    forward, `rule-changed`): legitimate, but it judges what comes after it."""

    @property
    def kind(self) -> str:
        """"finding" (it fails the check), "warning" or "note" (they do not)."""
        return "note" if self.note else "warning" if self.warning else "finding"


def format_finding(finding: Finding, rev: str, rev_name: Callable[[str], str]) -> str:
    """`file:line: message [code]`, one line: a line of REV's ledger is marked `(at REV)`,
    a warning `warning:`, a note `note:`. A message quotes the ledger (a customer's
    `name:`, a user's roles), which may hold a line break or another control: it is
    written escaped ("\\n"), or "Acme\\nsince HEAD: the past is intact" would print a
    summary line of its own."""
    kind = finding.kind
    message = finding.message if kind == "finding" else f"{kind}: {finding.message}"
    if finding.at_rev:
        line = (f"{rev_name(finding.filename)}:{finding.lineno}: (at {rev}) "
                f"{message} [{finding.code}]")
    else:
        line = f"{finding.filename}:{finding.lineno}: {message} [{finding.code}]"
    return CONTROL_ONE_LINE.sub(lambda found: found.group().encode("unicode_escape").decode(),
                                line)


def finding_json(finding: Finding, rev_name: Callable[[str], str]) -> dict[str, Any]:
    return {"code": finding.code, "message": finding.message,
            "file": rev_name(finding.filename) if finding.at_rev else finding.filename,
            "line": finding.lineno, "at_rev": finding.at_rev,
            "adjustment_id": finding.adjustment_id, "warning": finding.warning,
            "kind": finding.kind}
