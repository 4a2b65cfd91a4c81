"""What REV's decisions were judged on, changed: back-dated directives (users, rows,
policies, prices, ...), closed periods reopened, and invoices or orders edited; and
the rules changed forward since REV, as notes in plain words (`rule_change`).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from beancount.core import data

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.references import Terms, reference_terms
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.rule_words import (
    Content,
    policy_in_force,
    rule_change,
)
from beancount_adjustments.reports.history.snapshot import decided, hashable, meta_content

PAST_DIRECTIVES = frozenset({
    "adjustment-user", "adjustment-customer", "adjustment-approval", "adjustment-policy",
    "adjustment-lock", "adjustment-risk", "adjustment-alert", "adjustment-type",
    "adjustment-category", "adjustment-key", "adjustment-reserved", "adjustment-receivable"})
"""Custom directives that set the rules (decisions, which accounts only adjustments post
to, what may move the receivable): none may change on or before REV's last decision."""


OVERSIGHT_DIRECTIVES = frozenset({
    "adjustment-channel", "adjustment-customer-notice", "adjustment-template",
    "adjustment-schedule", "adjustment-rule", "fava-extension"})
"""Custom directives that judge no decision but say who is told (a channel: where the
approval-needed notices and risk alerts go), what the tools file on their own, and
how the reviewers' Fava runs (an extension's line: whose header names the acting
user, read-only): a change at any date rewrites nothing REV decided, and is a note
for the reviewer."""


def directive_content(entry: data.Directive, kinds: frozenset[str] = PAST_DIRECTIVES
                      ) -> tuple[Any, ...] | None:
    """The content (date, values, metadata) of a directive of `kinds` or a price, or None
    for others."""
    meta = meta_content(entry.meta)
    if isinstance(entry, data.Custom) and entry.type in kinds:
        values = tuple((hashable(v.value), getattr(v.dtype, "__name__", str(v.dtype)))
                       for v in entry.values)
        return ("custom", entry.type, entry.date, values, meta)
    if isinstance(entry, data.Price):
        return ("price", entry.currency, entry.date,
                ((entry.amount.number, "Decimal"), (entry.amount.currency, "str")), meta)
    return None


Versions = list[tuple[Content, data.Directive]]


def _directive_key(content: Content) -> tuple[Any, ...]:
    """Which rule a directive version is, whatever its date: a later one with the same
    key takes over from it (an approval row: its pattern, threshold and narrowing)."""
    kind, name, _date, values, meta = content
    if kind == "price":
        return (kind, name, values[1][0])
    if name == "adjustment-approval":
        narrowing = tuple(item for item in meta if item[0] in ("customer-tier", "category",
                                                                 "risk"))
        return (kind, name, *(v for v, _ in values[:2]), narrowing)
    if name == "adjustment-lock":
        return (kind, name, values)
    return (kind, name, values[0][0] if values else None)


def _directive_place(content: Content) -> tuple[Any, ...]:
    """What makes two directive versions "the same directive, changed"."""
    return (*_directive_key(content), content[2])


Written = list[tuple[Content, data.Directive, "Content | None"]]
"""Directive versions new since REV, in the ledger's order, each with the version REV
held in its place (the same directive, changed), or None (a new one)."""


def _diff(before: Versions, after: Versions) -> tuple[Written, Versions]:
    """(written since: new or changed; removed), by content: moving a directive or
    reordering directives changes nothing."""
    left = Counter(content for content, _ in after)
    removed: Versions = []
    for content, entry in before:
        if left[content] > 0:
            left[content] -= 1
        else:
            removed.append((content, entry))
    fresh: Versions = []
    for content, entry in after:
        if left[content] > 0:
            left[content] -= 1
            fresh.append((content, entry))
    written: Written = []
    for content, entry in fresh:
        twin = next((r for r in removed if _directive_place(r[0]) == _directive_place(content)),
                    None)
        if twin is not None:
            removed.remove(twin)
        written.append((content, entry, None if twin is None else twin[0]))
    return written, removed


def _versions(entries: Iterable[data.Directive],
              kinds: frozenset[str] = PAST_DIRECTIVES) -> Versions:
    return [(content, entry) for entry in entries
            if (content := directive_content(entry, kinds)) is not None]


def _where(entry: data.Directive) -> tuple[str, int]:
    meta = entry.meta or {}
    return str(meta.get("filename", "<unknown>")), int(meta.get("lineno", 0))


def compare_directives(old: Iterable[data.Directive], new: Iterable[data.Directive],
                       cutoff: datetime.date, *, rev: str = "REV") -> list[Finding]:
    """Past-judging directives dated on or before `cutoff` added, removed or changed."""
    def dated(entries: Iterable[data.Directive]) -> Versions:
        return [(c, e) for c, e in _versions(entries) if e.date <= cutoff]

    written, removed = _diff(dated(old), dated(new))
    findings = []
    for content, entry, was in written:
        if was is not None:
            findings.append(Finding(
                "backdated-directive",
                f"{_directive_label(content)} was changed since {rev}, on or before {rev}'s "
                f"last decision ({cutoff}): it judged decisions already made; restore it and "
                f"date the change after {cutoff}", *_where(entry)))
            continue
        findings.append(Finding(
            "backdated-directive",
            f"{_directive_label(content)} is new since {rev} and dated on or before {rev}'s "
            f"last decision ({cutoff}): it would rejudge decisions already made; date it "
            f"after {cutoff}", *_where(entry)))
    for content, entry in removed:
        findings.append(Finding(
            "backdated-directive",
            f"{_directive_label(content)} was removed since {rev}; it judged decisions "
            f"already made (on or before {cutoff}): restore it and date any change after "
            f"{cutoff}", *_where(entry), at_rev=True))
    return findings


def _directive_label(content: Content) -> str:
    kind, name, date, values, _meta = content
    if kind == "price":
        return f"price {name} {values[0][0]} {values[1][0]} on {date}"
    first = f" {values[0][0]!s}" if values else ""
    return f"{name}{first} dated {date}"


TOLD_WHOLE = frozenset({"adjustment-key", "adjustment-lock"})
"""Rules whose finding or warning says all they do (a new key, a reopened lock): a user
line's `new-identity` warning tells its `git:` e-mail, not the manager's role it gives."""


def rules_changed(old: Iterable[data.Directive], new: Iterable[data.Directive],
                  cutoff: datetime.date | None, *, rev: str = "REV",
                  told: Collection[tuple[str, int, bool]] = ()) -> list[Finding]:
    """A `rule-changed` note for each rule directive (`PAST_DIRECTIVES`, prices) added,
    removed or changed since REV and dated after its last decision (`cutoff`; None:
    REV decided nothing, every one), and each `OVERSIGHT_DIRECTIVES` one whatever its
    date: legitimate, and what the reviewer of the change must read, since it judges
    every decision from its date on (or says who is told of them). None for a key or
    lock at a line (file, line, at REV) in `told`: a finding or warning there says it."""
    def later(versions: Versions) -> Versions:
        return [(c, e) for c, e in versions
                if cutoff is None or e.date > cutoff or c[1] in OVERSIGHT_DIRECTIVES]

    noted = PAST_DIRECTIVES | OVERSIGHT_DIRECTIVES
    held, now = _versions(old, noted), _versions(new, noted)
    written, removed = _diff(later(held), later(now))
    by_key: dict[tuple[Any, ...], list[Content]] = defaultdict(list)
    for content, _entry in held:
        by_key[_directive_key(content)].append(content)

    def in_force(content: Content) -> tuple[dict[str, str], dict[str, str]] | None:
        """A type policy's settings for its pattern on its date, at REV and now."""
        if content[1] != "adjustment-policy" or not content[3]:
            return None
        pattern, date = str(content[3][0][0]), content[2]
        then, now_ = ([c for c, _ in versions if c[1] == content[1]] for versions in (held, now))
        return policy_in_force(then, pattern, date), policy_in_force(now_, pattern, date)

    def untold(content: Content, entry: data.Directive, at_rev: bool) -> bool:
        return content[1] not in TOLD_WHOLE or (*_where(entry), at_rev) not in told

    notes = []
    for content, entry, twin in written:
        if not untold(content, entry, False):
            continue
        was = twin
        if twin is None:
            earlier = [c for c in by_key[_directive_key(content)] if c[2] < content[2]]
            was = max(earlier, key=lambda c: c[2]) if earlier else None
        beside = _same_day(content, entry, held, now)
        if beside and twin is None:
            was = None   # it takes over from nothing: the lines of its day add up
        notes.append(Finding("rule-changed", rule_change(content, was, rev=rev,
                                                         changed=twin is not None,
                                                         in_force=in_force(content)) + beside,
                             *_where(entry), note=True))
    notes += [Finding("rule-changed", rule_change(None, content, rev=rev), *_where(entry),
                      at_rev=True, note=True) for content, entry in removed
              if untold(content, entry, True)]
    return notes


def _same_day(content: Content, entry: data.Directive, held: Versions, now: Versions) -> str:
    """For a user line sharing its day with other lines of that user (now or at REV),
    what the lines of the day give together: they add up (`core.policy.Directory`), so
    a second line read as replacing the first would say what is not."""
    if content[1] != "adjustment-user" or not content[3]:
        return ""
    user, date = content[3][0][0], content[2]

    def users_lines(versions: Versions) -> Versions:
        return [(c, e) for c, e in versions
                if c[1] == content[1] and c[3] and c[3][0][0] == user and c[2] <= date]

    def roles(versions: Versions) -> str:
        lines = users_lines(versions)
        day = max((c[2] for c, _ in lines), default=None)
        found = dict.fromkeys(str(v) for c, _ in lines if c[2] == day for v, _ in c[3][1:])
        return ", ".join(found) or "none"

    others = [e for c, e in users_lines(now) if c[2] == date and e is not entry]
    if not others and sum(1 for c, _ in users_lines(held) if c[2] == date) < 2:
        return ""
    holds = f"{user} holds roles {roles(now)} on {date} (before: {roles(held)})"
    if not others:
        return f"; {holds}"
    file = _where(entry)[0]
    named = ", ".join(f"line {n}" if f == file else f"{f}:{n}" for f, n in map(_where, others))
    lines = "lines" if len(others) > 1 else "line"
    return f"; beside {user}'s other {lines} of that day ({named}), {holds}"


def rules_diff(old: Iterable[data.Directive], new: Iterable[data.Directive]
               ) -> tuple[list[data.Directive], list[data.Directive]]:
    """The rule directives of `new` new or changed since `old`, and those of `old` removed
    since (none in their place), whatever their date."""
    written, removed = _diff(_versions(old), _versions(new))
    return [entry for _, entry, _was in written], [entry for _, entry in removed]


def reopened_periods(old: Book, new: Book, cutoff: datetime.date | None, *,
                     rev: str = "REV") -> list[Finding]:
    """Locks REV held that no lock now holds as firmly, whatever their date.

    A lock is held when a lock now is dated on or before it and closes at
    least as much; removing it, dating it later or closing less reopens a
    period REV had closed. Locks dated on or before REV's last decision are
    `compare_directives`'s already.
    """
    findings = []
    kept = {(lock.date, lock.through, lock.by) for lock in old.locks}
    for lock in old.locks:
        if cutoff is not None and lock.date <= cutoff:
            continue
        if any(now.date <= lock.date and now.through >= lock.through for now in new.locks):
            continue
        twin = next((now for now in new.locks if (now.date, now.through, now.by) not in kept
                     and (now.date == lock.date or now.through == lock.through)), None)
        what = (f"the lock of {lock.date} closing the period through {lock.through}")
        if twin is None:
            findings.append(Finding(
                "reopened-period",
                f"{what} is no longer in the ledger: a period {rev} had closed is open again "
                "(rewriting the past); restore it (a later lock may close more, never less)",
                lock.source.filename, lock.source.lineno, at_rev=True))
        else:
            findings.append(Finding(
                "reopened-period",
                f"{what} at {rev} is dated {twin.date} and closes through {twin.through} "
                f"now: a period {rev} had closed is open again (rewriting the past); restore "
                "it (a later lock may close more, never less)",
                twin.source.filename, twin.source.lineno))
    return findings


def changed_references(old: Book, new: Book, *, rev: str = "REV") -> list[Finding]:
    """Invoices and orders named by adjustments decided at REV whose customer,
    currency or amount changed: they bound how much may be credited."""
    named: dict[tuple[str, str], list[str]] = defaultdict(list)
    for adj in old.adjustments.values():
        if not decided(adj):
            continue
        request = adj.request
        for key, ref_id in (("invoice", request.invoice), ("order", request.order)):
            if ref_id is not None:
                named[(key, ref_id)].append(adj.id)
    findings = []
    for (key, ref_id), ids in sorted(named.items()):
        refs_then, refs_now = ((old.invoices, new.invoices) if key == "invoice"
                               else (old.orders, new.orders))
        then, now = reference_terms(refs_then, ref_id), reference_terms(refs_now, ref_id)
        if then is None or then == now:
            continue
        decided_by = f"{', '.join(ids)} decided at {rev}"
        if now is None:
            source = refs_then[ref_id].source
            findings.append(Finding(
                f"edited-{key}",
                f"{key} {ref_id}, which {decided_by} named, is no longer in the ledger; "
                f"restore it: it bounds what may be credited against it",
                source.filename, source.lineno, at_rev=True, adjustment_id=ids[0]))
            continue
        changed = ", ".join(name for name, a, b in (
            ("customer", then.customer, now.customer), ("currency", then.currency, now.currency),
            ("amount", then.number, now.number)) if a != b)
        source = refs_now[ref_id].source
        findings.append(Finding(
            f"edited-{key}",
            f"{key} {ref_id}, which {decided_by} named, was edited since ({changed}: "
            f"{_terms_text(then)} then, {_terms_text(now)} now): it bounds what may be "
            f"credited against it; restore it and record a correction as a new entry",
            source.filename, source.lineno, adjustment_id=ids[0]))
    return findings


def _terms_text(terms: Terms) -> str:
    amount = (f"{terms.number} {terms.currency}" if terms.number is not None
              else "no single amount")
    return f"{amount} for {terms.customer or 'no customer'}"
