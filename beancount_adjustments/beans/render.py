"""Directive text for what the tools write, laid out as `bean-format` would.

The writer renders every new request and decision through here, so that
what lands in a ledger reads like the rest of it:

- one blank line between entries, metadata indented by two spaces;
- strings double-quoted with `"` and `\\` escaped (Beancount's own escapes),
  dates and numbers bare;
- posting amounts aligned the way `bean-format` aligns a file: accounts
  padded to the widest prefix, numbers right-aligned to the widest number,
  one space, the currency. The widths are taken over the file being
  appended to *and* the new text, so appending to a file that was
  formatted with `bean-format` leaves it formatted (running `bean-format`
  on the result changes nothing) as long as the new amounts fit its
  columns; a wider amount widens only the new block, since the writer only
  appends and never rewrites existing lines.

Nothing here checks meaning; the writer parses what is rendered and judges
it against the book before a byte is written.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from beancount_adjustments.core.models import Money

MetaValue = str | bool | datetime.date | Decimal | Money
"""A metadata value as written: strings quoted, booleans, dates, numbers and amounts bare."""

META_KEY_RE = re.compile(r"^[a-z][a-zA-Z0-9_-]+$")
LINK_RE = re.compile(r"^[A-Za-z0-9_./-]+$")

INDENT = "  "

# The shape bean-format aligns: a dated line or an indented account, a number,
# a currency. Kept close to beancount.scripts.format so widths agree with it.
_ALIGNED = re.compile(
    r"(^\d[^\";]*?|\s+[A-Z][A-Za-z0-9-]*(?::[A-Z0-9][A-Za-z0-9-]*)+)\s+"
    r"([-+]?\s*[\d,]+(?:\.\d*)?)\s+"
    r"([A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]?\b.*)")


def quote(text: str) -> str:
    """A Beancount string literal for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value_text(value: MetaValue) -> str:
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Money):
        return f"{format(value.number, 'f')} {value.currency}"
    return value.isoformat()


def number_text(number: Decimal) -> str:
    """A posting number as typed: the precision given is kept (`50.00`)."""
    return format(number, "f")


def meta_lines(meta: Iterable[tuple[str, MetaValue | None]]) -> list[str]:
    """`  key: value` lines, skipping keys whose value is None."""
    return [f"{INDENT}{key}: {value_text(value)}" for key, value in meta if value is not None]


def render_request(*, date: datetime.date, adjustment_id: str, payee: str | None,
                   narration: str, meta: Sequence[tuple[str, MetaValue | None]],
                   postings: Sequence[tuple[str, Decimal, str]], flag: str = "!") -> str:
    """A request transaction; its postings are aligned later by `align`."""
    head = f"{date.isoformat()} {flag}"
    if payee is not None:
        head += f" {quote(payee)}"
    head += f" {quote(narration)} ^{adjustment_id}"
    lines = [head, *meta_lines(meta)]
    lines += [f"{INDENT}{account}  {number_text(number)} {currency}"
              for account, number, currency in postings]
    return "\n".join(lines) + "\n"


def render_event(*, date: datetime.date, adjustment_id: str, action: str,
                 meta: Sequence[tuple[str, MetaValue | None]]) -> str:
    """A `custom "adjustment" ID ACTION` directive."""
    head = (f"{date.isoformat()} custom \"adjustment\" {quote(adjustment_id)} "
            f"{quote(action)}")
    return "\n".join([head, *meta_lines(meta)]) + "\n"


def _widths(lines: Iterable[str]) -> tuple[int, int]:
    prefix_width = number_width = 0
    for line in lines:
        match = _ALIGNED.match(line)
        if match:
            prefix_width = max(prefix_width, len(match.group(1).rstrip()))
            number_width = max(number_width, len(match.group(2)))
    return prefix_width, number_width


def align(block: str, existing: bytes = b"") -> str:
    """Align the amounts of `block` to the columns bean-format would pick for
    `existing` (a file's UTF-8 bytes) + `block` (only `block` is rewritten);
    `existing` is decoded only when `block` has amounts."""
    # Split at "\n" only: `splitlines` also splits at U+2028, U+0085 and the like,
    # which a string literal in `block` may hold, and the join would write them as
    # line breaks (a reason read back as other text than was written).
    lines = block.removesuffix("\n").split("\n")
    if not any(line.startswith(INDENT) and _ALIGNED.match(line) for line in lines):
        # Nothing to align (decisions carry no amounts): no need to read the
        # whole existing file for its columns.
        return "\n".join(lines) + "\n"
    prefix_width, number_width = _widths([*existing.decode("utf-8").splitlines(), *lines])
    out = []
    for line in lines:
        match = _ALIGNED.match(line)
        if match and line.startswith(INDENT):
            prefix = INDENT + match.group(1).strip()
            out.append(f"{prefix:<{prefix_width}}  {match.group(2):>{number_width}} "
                       f"{match.group(3)}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def render_block(entries: Sequence[str], existing: bytes = b"") -> str:
    """Entries separated by one blank line, amounts aligned against `existing`."""
    return align("\n".join(entry.rstrip("\n") + "\n" for entry in entries), existing)


def separator(existing: bytes) -> str:
    """What goes between a file's bytes and an appended block: the file's last
    line is ended and one blank line opens the new entries."""
    if not existing:
        return ""
    if existing.endswith(b"\n\n"):
        return ""
    if existing.endswith(b"\n"):
        return "\n"
    return "\n\n"
