"""Reading the lines `notify` sends by: `adjustment-channel` and
`adjustment-customer-notice` directives, and the `customer-reason:` of requests
and events.

The plugin reads every line with `read_channel` and `read_customer_notice` (so
`bean-check` reports a bad one at its file:line); `notify` takes what
`parse_channels` and `parse_customer_notices` return, the same readers' values
and problems. A bad line is skipped (a bad template is kept, marked, and holds
only the notices it governs): it never stops a run.
"""

from __future__ import annotations

from collections.abc import Iterable

from beancount.core import data

from beancount_adjustments.beans.metadata import MetaReader, custom_lines, source_of
from beancount_adjustments.core.models import Problem, Source
from beancount_adjustments.core.notice_lines import (
    KINDS,
    Channel,
    CustomerNotice,
    CustomerSetup,
    template_problem,
)

__all__ = ["CHANNEL", "CUSTOMER_NOTICE", "parse_channels", "parse_customer_notices",
           "read_channel", "read_customer_notice"]

CHANNEL = "adjustment-channel"
CUSTOMER_NOTICE = "adjustment-customer-notice"
CHANNEL_USAGE = (f'custom "{CHANNEL}" takes a target and an apprise URL: '
                 f'custom "{CHANNEL}" "bob" "mailto://..."')
NOTICE_USAGE = (f'custom "{CUSTOMER_NOTICE}" takes a type pattern and the notices it sends '
                f'({", ".join(KINDS)}, or "*" for all): custom "{CUSTOMER_NOTICE}" "credit:*" '
                '"received" "rejected"')
NOTICE_KEYS = ("title", "body", "enabled")


def read_channel(reader: MetaReader, entry: data.Custom) -> Channel | None:
    """`custom "adjustment-channel" TARGET URL`, or None and a problem."""
    source = source_of(entry)
    values = [v.value for v in entry.values or ()]
    if len(values) != 2 or not all(isinstance(v, str) and v.strip() for v in values):
        reader.problem("bad-channel", source, f"{CHANNEL_USAGE}; this line is skipped")
        return None
    return Channel(target=values[0].strip(), url=values[1].strip(), source=source)


def read_customer_notice(reader: MetaReader, entry: data.Custom) -> CustomerNotice | None:
    """A customer-notice line, or None and a problem. A line with a bad template is
    read, marked with its `problem` (its notices are held), and reported too."""
    source = source_of(entry)
    meta = entry.meta or {}
    values = [v.value for v in entry.values or ()]
    if len(values) < 2 or not all(isinstance(v, str) and v.strip() for v in values):
        reader.problem("bad-customer-notice", source, f"{NOTICE_USAGE}; this line is ignored")
        return None
    pattern, *named = (v.strip() for v in values)
    kinds = KINDS if named == ["*"] else tuple(dict.fromkeys(named))
    unknown = [k for k in kinds if k not in KINDS]
    extra = sorted(k for k in meta if k not in ("filename", "lineno", *NOTICE_KEYS)
                   and not k.startswith("__"))
    enabled = meta.get("enabled", True)
    if unknown or extra or not isinstance(enabled, bool):
        why = (f"unknown notice {', '.join(map(repr, unknown))}" if unknown else
               f"unknown key {', '.join(f'`{k}:`' for k in extra)} (it takes `title:`, "
               "`body:` and `enabled:`)" if extra else "`enabled:` is TRUE or FALSE")
        reader.problem("bad-customer-notice", source,
                       f"{why}; {NOTICE_USAGE}; this line is ignored")
        return None
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
    if problem is not None:
        reader.problem("bad-customer-notice", source,
                       f"customer notice template for {pattern} ({', '.join(kinds)}): "
                       f"{problem}; these notices are held until it is fixed")
    return CustomerNotice(
        date=entry.date, pattern=pattern, kinds=kinds, source=source,
        title=title if isinstance(title, str) else None,
        body=body if isinstance(body, str) else None, enabled=enabled, problem=problem)


def parse_channels(entries: Iterable[data.Directive]) -> tuple[list[Channel], list[Problem]]:
    """The channels of the entries in ledger order, and a problem at each bad line."""
    reader = MetaReader()
    found = [read_channel(reader, entry) for entry in custom_lines(entries, CHANNEL)]
    return [c for c in found if c is not None], reader.problems


def parse_customer_notices(entries: Iterable[data.Directive]
                           ) -> tuple[CustomerSetup, list[Problem]]:
    """The customer-notice lines (in date order) and `customer-reason:` texts of the
    entries, and a problem at each bad line."""
    reader = MetaReader()
    lines: list[CustomerNotice] = []
    reasons: dict[Source, str] = {}
    for entry in entries:
        meta = entry.meta or {}
        if "customer-reason" in meta:
            reasons[source_of(entry)] = str(meta["customer-reason"]).strip()
        if isinstance(entry, data.Custom) and entry.type == CUSTOMER_NOTICE:
            line = read_customer_notice(reader, entry)
            if line is not None:
                lines.append(line)
    lines.sort(key=lambda line: line.date)
    return CustomerSetup(tuple(lines), reasons), reader.problems
