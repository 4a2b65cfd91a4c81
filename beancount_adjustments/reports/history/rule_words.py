"""The rule changes since REV in plain words, for `rule-changed` notes and
`self-authorized` findings: what a rule directive says, aspect by aspect, and what
changed against the version it takes over from (a type policy: against the
settings in force for its pattern).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from beancount_adjustments.core.type_policies import pattern_rank

Content = tuple[Any, ...]
"""A rule directive's content, as `rules.directive_content` gives it: (kind, name,
date, values, metadata)."""


def rule_subject(content: Content) -> str:
    """A rule directive as the notes name it: "approval row credit:* 25.00 USD dated ..."."""
    kind, name, date, values, _meta = content
    plain = [str(v) for v, _ in values]
    if kind == "price":
        return f"the price of {name} dated {date}"
    subject = {
        "adjustment-approval": lambda: f"approval row {' '.join(plain[:2])}",
        "adjustment-user": lambda: f"{plain[0]}'s user line",
        "adjustment-customer": lambda: f"customer {plain[0]}'s line",
        "adjustment-policy": lambda: f"the type policy {plain[0]}",
        "adjustment-lock": lambda: f"the lock closing through {plain[0]}",
        "adjustment-reserved": lambda: f"reserved account pattern {plain[0]}",
        "adjustment-receivable": lambda: f"the receivable rule {plain[0]}",
        "adjustment-channel": lambda: f"the notice channel of {plain[0]}",
        "fava-extension": lambda: f"the Fava extension line of {plain[0]}",
    }.get(name, lambda: f"{name} {plain[0]}" if plain else name)()
    return f"{subject} dated {date}"


def _aspects(content: Content) -> dict[str, tuple[str, str]]:
    """What a rule directive says, aspect by aspect: name -> (the phrase, the value)."""
    kind, name, _date, values, meta = content
    plain = [str(v) for v, _ in values]
    found: dict[str, tuple[str, str]] = {}
    if kind == "price":
        found["rate"] = (f"gives {' '.join(plain)}", " ".join(plain))
    elif name == "adjustment-approval":
        roles = ", ".join(plain[2:])
        found["roles"] = ((f"asks for {roles}", roles) if roles
                          else ("approves without roles", "no roles"))
    elif name == "adjustment-user":
        roles = ", ".join(plain[1:])
        found["roles"] = (f"gives roles {roles}", roles) if roles else ("gives no roles",
                                                                         "no roles")
    elif name == "adjustment-customer":
        if plain[1:]:   # a line without one keeps the tier before it
            found["tier"] = (f"gives tier {' '.join(plain[1:])}", " ".join(plain[1:]))
    elif len(plain) > 1:
        found["values"] = (f"says {' '.join(plain[1:])}", " ".join(plain[1:]))
    for key, value in meta:
        found[str(key)] = (f"sets {key}: {value}", str(value))
    return found


def policy_in_force(policies: Iterable[Content], pattern: str, date: datetime.date
                    ) -> dict[str, str]:
    """What the type policies among `policies` set for `pattern` (a type, or a glob read
    as one) on `date`: each setting from the most specific pattern in force that sets
    it, as `core.type_policies` judges a type."""
    chosen: dict[str, tuple[tuple[int, int], str]] = {}
    for _kind, _name, day, values, meta in sorted(policies, key=lambda c: c[2]):
        if day > date or not values or not fnmatchcase(pattern, str(values[0][0])):
            continue
        rank = pattern_rank(str(values[0][0]))
        for key, value in meta:
            if str(key) not in chosen or rank >= chosen[str(key)][0]:
                chosen[str(key)] = (rank, str(value))
    return {key: value for key, (_, value) in chosen.items()}


def _setting(key: str, then: str | None, now: str | None) -> str:
    if then == "required" and now != "required":
        return f"no longer requires {key}" + (f" (now: {now})" if now is not None else "")
    if now is None:
        return f"no longer sets {key} (before: {then})"
    return f"sets {key}: {now}" + (f" (before: {then})" if then is not None else "")


def rule_change(content: Content | None, was: Content | None, *, rev: str = "REV",
                changed: bool = False,
                in_force: tuple[dict[str, str], dict[str, str]] | None = None) -> str:
    """What a rule directive's change says, in plain words: `content` new (`was`: the
    version of the same rule it takes over from, if any), changed (`changed`: `was` is
    the version REV held), or removed (`content` None: `was` is REV's).

    `in_force` (a type policy): what the policies set for its pattern on its date at
    REV and now (`policy_in_force`). A policy sets only what it names, over what the
    others set: a line repeating `git-identity: "required"` losing it loosens nothing
    while an earlier line still requires it, and a narrower pattern's first policy
    saying "optional" loosens what a wider one required."""
    if content is not None and in_force is not None:
        then_set, now_set = in_force
        named = [str(key) for key, _ in (*content[4], *(was[4] if changed and was else ()))]
        what = "; ".join(_setting(key, then_set.get(key), now_set.get(key))
                         for key in dict.fromkeys(named)
                         if then_set.get(key) != now_set.get(key))
        what = what or (f"changes no setting in force for {content[3][0][0]} on "
                        f"{content[2]}")
        done = "was changed" if changed else "is new"
        return f"{rule_subject(content)} {done} since {rev}: it {what}"
    if content is None:
        assert was is not None
        said = "; ".join(phrase for phrase, _ in _aspects(was).values())
        return (f"{rule_subject(was)} was removed since {rev}" + (f" (it {said})" if said
                                                                  else ""))
    now = _aspects(content)
    if was is None:
        said = "; ".join(phrase for phrase, _ in now.values())
        return f"{rule_subject(content)} is new since {rev}" + (f": it {said}" if said else "")
    then = _aspects(was)
    # A policy sets only what it names (the rest stays as earlier ones set it); any
    # other rule's later line replaces the earlier one whole.
    whole = changed or content[1] != "adjustment-policy"
    parts = []
    for key, (phrase, value) in now.items():
        before = then.get(key)
        if before is None:
            parts.append(phrase)
        elif before[1] == "required" and value != "required":
            parts.append(f"no longer requires {key} (now: {value})")
        elif before[1] != value:
            parts.append(f"{phrase} (before: {before[1]})")
    if whole:
        parts += [f"no longer requires {key}" if value == "required"
                  else f"no longer sets {key} (before: {value})"
                  for key, (_, value) in then.items()
                  if key not in now and (key, content[1]) != ("tier", "adjustment-customer")]
    what = "; ".join(parts) or "says the same"
    if changed:
        return f"{rule_subject(content)} was changed since {rev}: it {what}"
    over = "it takes over from" if whole else "over what it names of"
    return f"{rule_subject(content)} is new since {rev}: it {what} ({over} the line dated {was[2]})"
