"""Reading one value: the problems collector every directive reader shares,
its metadata helpers (text, date, amount, choice, flag, days, a directive's
strings), an entry's source and the one rule for control characters in
ledger text (the writer, the CLI, the API and CSV import refuse what the
readers refuse, with the same message). Nothing here raises on bad input."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.core.days import iso_day
from beancount_adjustments.core.models import Money, Problem, Source

_BIDI = "\u202a-\u202e\u2066-\u2069"
"""The bidirectional embeddings, overrides and isolates: they reorder the characters
after them, so "refund \\u202eDSU 00.5" reads as "refund 5.00 USD" on every page,
export and e-mail while the ledger holds other text (the "Trojan Source" trick)."""
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f{_BIDI}]")
"""What no text may hold: NUL, the C0 controls but tab and newline, DEL (a NUL
from a spreadsheet cell would end Beancount's reading of the string; \\x1e and
\\x1f are the digest's separators; the others are invisible in every viewer)
and the bidirectional controls (`_BIDI`)."""
CONTROL_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f{_BIDI}]")
"""Names, ids, accounts and the like: no tab or newline either."""


def control_problem(what: str, text: str | None, *, one_line: bool = True) -> str | None:
    """Why `text` cannot be in a ledger (a control character in it), or None.

    The one rule: the request reader refuses what the writer, the CLI, the API
    and CSV import refuse, with this same message.
    """
    if text is None:
        return None
    found = (CONTROL_ONE_LINE if one_line else _CONTROL).search(text)
    if found is None:
        return None
    char = found.group()
    if ord(char) > 127:
        return (f"{what} holds the bidirectional control U+{ord(char):04X} "
                f"{unicodedata.name(char)} (at character {found.start() + 1}); remove it: it "
                "reorders the text after it, so a page, an export or an e-mail would show "
                "other text than the ledger holds")
    name = {"\x00": "a NUL byte", "\t": "a tab", "\n": "a line break", "\r": "a carriage return",
            "\x7f": "a DEL character"}.get(char, f"the control character U+{ord(char):04X}")
    return (f"{what} holds {name} (at character {found.start() + 1}); remove it: no control "
            "character is written to a ledger (an approval's digest could not tell the "
            "fields apart)")


MAX_TEXT = 10_000
"""Characters one text a tool writes may hold (a reason, a comment, notes). Longer is
refused, never cut: what is written is what was given (a reason cut short says
something else), and a line of megabytes slows every load of the ledger after it."""


def length_problem(what: str, text: object) -> str | None:
    """Why a tool may not write `text` as `what` for its length (`MAX_TEXT`), or None."""
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return (f"{what} holds {len(text):,} characters, more than the {MAX_TEXT:,} a "
                "text may hold; shorten it (nothing was written)")
    return None


def written_text_problem(what: str, text: str | None, *, one_line: bool = True) -> str | None:
    """Why a tool may not write `text` as `what`, or None: the readers' rule for control
    characters (`control_problem`) and the length every tool keeps to."""
    return control_problem(what, text, one_line=one_line) or length_problem(what, text)


def custom_lines(entries: Iterable[data.Directive], directive: str) -> Iterator[data.Custom]:
    """The `custom "DIRECTIVE"` entries, in ledger order."""
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == directive:
            yield entry


def source_of(entry: Any) -> Source:
    meta = getattr(entry, "meta", None) or {}
    filename = meta.get("filename")
    lineno = meta.get("lineno")
    return Source(filename if isinstance(filename, str) else "<unknown>",
                  lineno if isinstance(lineno, int) else 0)


def written_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata written in the ledger: Beancount's own keys (`filename`, `lineno`,
    and the `__...__` ones booking adds) left out."""
    return {key: value for key, value in (meta or {}).items()
            if key not in ("filename", "lineno") and not key.startswith("__")}


def source_meta(source: Source) -> dict[str, Any]:
    return {"filename": source.filename, "lineno": source.lineno}


def money(amount: Amount) -> Money:
    return Money(amount.number or Decimal(0), amount.currency)


@dataclass
class MetaReader:
    """Collects the problems met while reading entries; reads one value, reporting
    what is malformed."""

    problems: list[Problem] = field(default_factory=list)

    def problem(self, code: str, source: Source, message: str,
                adjustment_id: str | None = None) -> None:
        self.problems.append(Problem(code=code, message=message, source=source,
                                     adjustment_id=adjustment_id))

    def text(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> str | None:
        value = meta.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be a non-empty string, not {value!r}.")
        return None

    def date(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> datetime.date | None:
        value = meta.get(key)
        if value is None:
            return None
        found = date_value(value)
        if found is not None:
            return found
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be a date (2026-11-20), not {value!r}.")
        return None

    def amount(self, meta: Mapping[str, Any], key: str, source: Source,
               what: str) -> Money | None:
        value = meta.get(key)
        if value is None:
            return None
        if isinstance(value, Amount) and isinstance(value.number, Decimal):
            return money(value)
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be an amount such as `500.00 USD`, not {value!r}.")
        return None

    def choice(self, meta: Mapping[str, Any], key: str, options: tuple[str, ...],
               source: Source, what: str) -> str | None:
        value = self.text(meta, key, source, what)
        if value is None or value in options:
            return value
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` is {' or '.join(repr(o) for o in options)}, "
                     f"not {value!r}.")
        return None

    def flag(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> bool | None:
        value = meta.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` is TRUE or FALSE, not {value!r}.")
        return None

    def days(self, meta: Mapping[str, Any], key: str, least: int, source: Source,
             what: str) -> int | None:
        """A whole number of days from `least` (up to a century: a larger one is a typo)."""
        value = meta.get(key)
        if value is None:
            return None
        if (isinstance(value, Decimal) and value == value.to_integral_value()
                and least <= value <= 36600):
            return int(value)
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` must be a whole number of days from {least}, "
                     f"not {value!r}.")
        return None

    def strings(self, entry: data.Custom, source: Source, what: str,
                first: int = 0) -> list[str] | None:
        values = []
        for position, value in enumerate((entry.values or [])[first:], start=first + 1):
            if not isinstance(value.value, str) or not value.value.strip():
                self.problem("malformed-directive", source,
                             f"{what}: value {position} must be a non-empty string, "
                             f"not {value.value!r}.")
                return None
            values.append(value.value.strip())
        return values


def date_value(value: object) -> datetime.date | None:
    """`value` as a date (a datetime's day, or ISO 8601 text), or None when it is none."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        return iso_day(value)  # strictly YYYY-MM-DD (`core.days`)
    return None
