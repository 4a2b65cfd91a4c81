"""`custom "adjustment-customer-notice"` lines read and checked: the one reading
`notify` sends by and the plugin checks (so `bean-check` flags a bad line at
its file:line), with no sending in it.
"""

from __future__ import annotations

import datetime
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beancount_adjustments.core.models import Source

DIRECTIVE = "adjustment-customer-notice"
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
KEYS = ("title", "body", "enabled")
USAGE = (f'custom "{DIRECTIVE}" takes a type pattern and the notices it sends '
         f'({", ".join(KINDS)}, or "*" for all): custom "{DIRECTIVE}" "credit:*" '
         '"received" "rejected"')


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


def read_line(entry: Any, source: Source) -> tuple[CustomerNotice | None, str | None]:
    """The line, and what is wrong with it (None: nothing). A line that does not read
    gives no notice line; one with a bad template gives a line marked `problem`."""
    meta = getattr(entry, "meta", None) or {}
    values = [v.value for v in getattr(entry, "values", None) or ()]
    if len(values) < 2 or not all(isinstance(v, str) and v.strip() for v in values):
        return None, f"{USAGE}; this line is ignored"
    pattern, *named = (v.strip() for v in values)
    kinds = KINDS if named == ["*"] else tuple(dict.fromkeys(named))
    unknown = [k for k in kinds if k not in KINDS]
    extra = sorted(k for k in meta if k not in ("filename", "lineno", *KEYS)
                   and not k.startswith("__"))
    enabled = meta.get("enabled", True)
    if unknown or extra or not isinstance(enabled, bool):
        why = (f"unknown notice {', '.join(map(repr, unknown))}" if unknown else
               f"unknown key {', '.join(f'`{k}:`' for k in extra)} (it takes `title:`, "
               "`body:` and `enabled:`)" if extra else "`enabled:` is TRUE or FALSE")
        return None, f"{why}; {USAGE}; this line is ignored"
    title, body = meta.get("title"), meta.get("body")
    problem = None
    for label, text in (("title", title), ("body", body)):
        if text is None:
            continue
        found = (f"`{label}:` must be a string" if not isinstance(text, str)
                 else template_problem(text, kinds))
        if found:
            problem = f"`{label}:` {found}" if isinstance(text, str) else found
            break
    line = CustomerNotice(
        date=entry.date, pattern=pattern, kinds=kinds, source=source,
        title=title if isinstance(title, str) else None,
        body=body if isinstance(body, str) else None, enabled=enabled, problem=problem)
    if problem is None:
        return line, None
    return line, (f"customer notice template for {pattern} ({', '.join(kinds)}): {problem}; "
                  "these notices are held until it is fixed")
