"""Accounts only adjustments post to: `custom "adjustment-reserved" "PATTERN"`.

Every other control judges requests; an ordinary transaction crediting a
customer against `Expenses:Adjustments:Credits` is none, and would move the
money no approval saw. From a reserved pattern's date on, a posting that is not
a request's (nor what the plugin books for one) to an account it matches is an
error at that transaction. Patterns are read as `offset-accounts:` reads them
(`core.offsets.parse_patterns`: `*`, `?` and `[...]` as `fnmatch` has them); unlike
there, a pattern reserves the accounts under those it matches too (`covers`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import NamedTuple

from beancount_adjustments.core.models import Source
from beancount_adjustments.core.offsets import parse_patterns
from beancount_adjustments.core.plain import Breach

_WILD = frozenset("*?[")


class ReservedPattern(NamedTuple):
    date: datetime.date
    pattern: str
    source: Source


def refusal(pattern: str, receivable: str) -> str | None:
    """Why `pattern` cannot be reserved (it can match no account name, or it covers
    the receivable root or an account under it), or None."""
    parsed = parse_patterns(pattern)
    if (parsed is None or len(parsed) != 1 or pattern.endswith(":") or "::" in pattern
            or (":" not in pattern and not _WILD & set(pattern))
            or any(part and part[0] not in _WILD and not (part[0].isupper() or part[0].isdigit())
                   for part in pattern.split(":"))):
        return (f"{pattern!r} can match no account name: write one account pattern, like "
                '"Expenses:Adjustments:*"')
    if covers(pattern, receivable) or _reaches(pattern, receivable + ":"):
        return (f"{pattern!r} covers the receivable root {receivable}, where invoices and "
                "payments post: reserve the other side of adjustments (their offset "
                "accounts) instead")
    return None


def covers(pattern: str, account: str) -> bool:
    """Whether `pattern` reserves `account`: it matches the account or one it is under
    (a posting to `Expenses:Adjustments:Credits:Extra` adds up to `...:Credits`)."""
    if fnmatchcase(account, pattern):
        return True
    parts = account.split(":")
    return any(fnmatchcase(":".join(parts[:end]), pattern) for end in range(1, len(parts)))


def _tokens(pattern: str) -> list[str]:
    """`pattern` as fnmatch reads it: `*`, `?`, a `[...]` class, or one literal character."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "[":
            end = index + 1
            if end < len(pattern) and pattern[end] == "!":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            end = pattern.find("]", end)
            if end >= 0:
                out.append(pattern[index:end + 1])
                index = end + 1
                continue
        out.append(char)
        index += 1
    return out


def _reaches(pattern: str, prefix: str) -> bool:
    """Whether some name starting with `prefix` could match `pattern` (`prefix` read
    through the pattern without running out of it)."""
    tokens = _tokens(pattern)

    def closed(states: set[int]) -> set[int]:
        out = set(states)
        for start in sorted(states):
            state = start
            while state < len(tokens) and tokens[state] == "*":
                state += 1
                out.add(state)
        return out

    states = closed({0})
    for char in prefix:
        step: set[int] = set()
        for state in states:
            if state == len(tokens):
                continue
            token = tokens[state]
            if token == "*":
                step.add(state)
            elif token in ("?", char) or (len(token) > 1 and fnmatchcase(char, token)):
                step.add(state + 1)
        states = closed(step)
        if not states:
            return False
    # Ended exactly at the prefix's last ":": the name needs one component more, which
    # only tokens left (or a `*` still open) can give.
    return any(state < len(tokens) or (state and tokens[state - 1] == "*") for state in states)


class Reserved:
    """The reserved patterns, and for each account seen which one covers it: the
    earliest dated that matches (filled on first sight, so a large ledger pays one
    `fnmatch` per pattern and account, not per posting)."""

    __slots__ = ("patterns", "seen")

    def __init__(self, patterns: Iterable[ReservedPattern]) -> None:
        self.patterns = sorted(patterns, key=lambda p: p.date)
        self.seen: dict[str, ReservedPattern | None] = {}

    def covering(self, account: str) -> ReservedPattern | None:
        try:
            return self.seen[account]
        except KeyError:
            found = next((p for p in self.patterns if covers(p.pattern, account)), None)
            self.seen[account] = found
            return found

    def binding(self, account: str, date: datetime.date) -> ReservedPattern | None:
        """The pattern reserving `account` on `date`, or None."""
        rule = self.covering(account)
        return rule if rule is not None and rule.date <= date else None

    def first(self, accounts: Iterable[str], date: datetime.date | None
              ) -> tuple[str, ReservedPattern] | None:
        """The first of `accounts` a pattern reserves on `date`, and that pattern; None
        for `date`: whatever the patterns' dates (`check --since` judges a posting new
        since REV as made now, whatever date it is written with)."""
        for account in accounts:
            rule = self.covering(account) if date is None else self.binding(account, date)
            if rule is not None:
                return account, rule
        return None


def unrequested(what: str, account: str, rule: ReservedPattern) -> str:
    """The error of a `what` ("transaction", "pad") posting to a reserved account."""
    return (f"this {what} posts to {account}, which only adjustments post to (custom "
            f'"adjustment-reserved" "{rule.pattern}" dated {rule.date}), but it is no '
            "adjustment request: file a request instead (`bean-adjust create`), or post "
            "it to another account.")


def reserved_since(account: str, rule: ReservedPattern) -> Breach:
    """What `rule` says of a posting to `account` dated before it, as a `Breach`."""
    return Breach(rule.date, f"posts to {account}, which only adjustments post to since "
                             f'{rule.date} (custom "adjustment-reserved" "{rule.pattern}")')
