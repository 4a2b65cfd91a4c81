"""The lines `notify` sends by, as values: channels (`adjustment-channel`) and
customer-notice lines (`adjustment-customer-notice`) with the placeholders their
templates may use. `beans.notify_lines` reads them from the ledger.
"""

from __future__ import annotations

import datetime
import hashlib
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from beancount_adjustments.core.models import Source
from beancount_adjustments.core.type_policies import pattern_rank

KINDS = ("received", "applied", "rejected", "reversed", "withdrawn")
COMMON = ("id", "amount", "type", "kind", "customer", "name", "date", "reason", "invoice",
          "order")
PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "received": (*COMMON, "expected"),
    "applied": (*COMMON, "applied"),
    "rejected": (*COMMON, "decided"),
    "reversed": (*COMMON, "applied", "reversed"),
    "withdrawn": (*COMMON, "withdrawn"),
}
"""The placeholders each kind of notice fills; any other is an error at its directive."""

RECIPIENT_PREFIXES = ("customer:", "role:")
"""How a notice names a recipient that is no user: a customer, or a role's channel."""


def recipient_clash(name: str) -> str | None:
    """Why `name` cannot be a user's, or None: notices would take it for a customer,
    a role or the `*` channel, and send what the user is sent (staff notices about
    other customers) there."""
    if name == "*" or name.startswith(RECIPIENT_PREFIXES):
        return (f"notices name customers as customer:ID, roles as role:NAME and every "
                f"user's channel as *, so a user {name!r} would be sent to another "
                "recipient")
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """An apprise URL template for a target (`bob`, `role:finance`, `*`, `customer:*`)."""

    target: str
    url: str
    source: Source | None = None
    in_ledger: bool = True
    """Written by a ledger line (by anyone who edits the ledger), not by the
    deployment's notify config."""

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CustomerNotice:
    """One `adjustment-customer-notice` line: which kinds a type pattern sends, and how."""

    date: datetime.date
    pattern: str
    kinds: tuple[str, ...]
    source: Source
    title: str | None = None
    body: str | None = None
    enabled: bool = True
    problem: str | None = None
    """Why its template cannot be used: the notices it governs are held, not sent."""


def template_problem(text: str, kinds: Sequence[str]) -> str | None:
    """Why `text` is no template for these kinds, or None."""
    try:
        fields = [(name, spec, conv) for _lit, name, spec, conv in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for a literal brace)"
    for name, spec, conv in fields:
        missing = [k for k in kinds if name not in PLACEHOLDERS[k]]
        if spec or conv or missing:
            known = sorted(set.intersection(*(set(PLACEHOLDERS[k]) for k in kinds)))
            what = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            whose = f" a {'/'.join(missing)} notice" if missing and not (spec or conv) else ""
            return (f"unknown placeholder {what}" + (f" in{whose}" if whose else "")
                    + "; placeholders are plain names, one of "
                    + " ".join("{" + k + "}" for k in known))
    return None


@dataclass(frozen=True)
class CustomerSetup:
    """The customer-notice lines in date order, and the `customer-reason:` texts by
    the source of the request or event that carries them."""

    notices: tuple[CustomerNotice, ...] = ()
    reasons: Mapping[Source, str] | None = None

    def chosen(self, adj_type: str, kind: str, date: datetime.date) -> CustomerNotice | None:
        """The line in force on `date` for this type and kind: the most specific pattern,
        then the latest line."""
        best: CustomerNotice | None = None
        for line in self.notices:
            if line.date > date:
                break
            if kind in line.kinds and fnmatchcase(adj_type, line.pattern) and (
                    best is None or pattern_rank(line.pattern) >= pattern_rank(best.pattern)):
                best = line
        return best
