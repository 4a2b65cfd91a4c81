"""What REV's decisions were judged on, changed: back-dated directives (users, rows,
policies, prices, ...), closed periods reopened, and invoices or orders edited; and
the rules changed forward since REV, as notes in plain words (`rule_change`).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from beancount.core import data

from beancount_adjustments.beans.metadata import written_meta
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.references import Terms, reference_terms
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.snapshot import decided

PAST_DIRECTIVES = frozenset({
    "adjustment-user", "adjustment-customer", "adjustment-approval", "adjustment-policy",
    "adjustment-lock", "adjustment-risk", "adjustment-alert", "adjustment-type",
    "adjustment-category", "adjustment-key", "adjustment-reserved", "adjustment-receivable"})
"""Custom directives that set the rules (decisions, which accounts only adjustments post
to, what may move the receivable): none may change on or before REV's last decision."""


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def directive_content(entry: data.Directive) -> tuple[Any, ...] | None:
    """A past-judging directive's content (date, values, metadata), or None for others."""
    meta = tuple(sorted(((k, _hashable(v)) for k, v in written_meta(entry.meta).items()),
                        key=lambda item: str(item[0])))
    if isinstance(entry, data.Custom) and entry.type in PAST_DIRECTIVES:
        values = tuple((_hashable(v.value), getattr(v.dtype, "__name__", str(v.dtype)))
                       for v in entry.values)
        return ("custom", entry.type, entry.date, values, meta)
    if isinstance(entry, data.Price):
        return ("price", entry.currency, entry.date,
                ((entry.amount.number, "Decimal"), (entry.amount.currency, "str")), meta)
    return None


Content = tuple[Any, ...]
"""A rule directive's content, as `directive_content` gives it."""

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


def _versions(entries: Iterable[data.Directive]) -> Versions:
    return [(content, entry) for entry in entries
            if (content := directive_content(entry)) is not None]


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


def rules_changed(old: Iterable[data.Directive], new: Iterable[data.Directive],
                  cutoff: datetime.date | None, *, rev: str = "REV") -> list[Finding]:
    """A `rule-changed` note for each rule directive (`PAST_DIRECTIVES`, prices) added,
    removed or changed since REV and dated after its last decision (`cutoff`; None:
    REV decided nothing, every one): legitimate, and what the reviewer of the change
    must read, since it judges every decision from its date on."""
    def later(versions: Versions) -> Versions:
        return [(c, e) for c, e in versions if cutoff is None or e.date > cutoff]

    held = _versions(old)
    written, removed = _diff(later(held), later(_versions(new)))
    by_key: dict[tuple[Any, ...], list[Content]] = defaultdict(list)
    for content, _entry in held:
        by_key[_directive_key(content)].append(content)
    notes = []
    for content, entry, twin in written:
        was = twin
        if twin is None:
            earlier = [c for c in by_key[_directive_key(content)] if c[2] < content[2]]
            was = max(earlier, key=lambda c: c[2]) if earlier else None
        notes.append(Finding("rule-changed", rule_change(content, was, rev=rev,
                                                         changed=twin is not None),
                             *_where(entry), note=True))
    notes += [Finding("rule-changed", rule_change(None, content, rev=rev), *_where(entry),
                      at_rev=True, note=True) for content, entry in removed]
    return notes


def rules_written(old: Iterable[data.Directive], new: Iterable[data.Directive]
                  ) -> list[data.Directive]:
    """The rule directives of `new` that are new or changed since `old`, whatever their date."""
    written, _removed = _diff(_versions(old), _versions(new))
    return [entry for _, entry, _was in written]


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
        found["tier"] = (f"gives tier {' '.join(plain[1:])}", " ".join(plain[1:]))
    elif len(plain) > 1:
        found["values"] = (f"says {' '.join(plain[1:])}", " ".join(plain[1:]))
    for key, value in meta:
        found[str(key)] = (f"sets {key}: {value}", str(value))
    return found


def rule_change(content: Content | None, was: Content | None, *, rev: str = "REV",
                changed: bool = False) -> str:
    """What a rule directive's change says, in plain words: `content` new (`was`: the
    version of the same rule it takes over from, if any), changed (`changed`: `was` is
    the version REV held), or removed (`content` None: `was` is REV's)."""
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
                  for key, (_, value) in then.items() if key not in now]
    what = "; ".join(parts) or "says the same"
    if changed:
        return f"{rule_subject(content)} was changed since {rev}: it {what}"
    over = "it takes over from" if whole else "over what it names of"
    return f"{rule_subject(content)} is new since {rev}: it {what} ({over} the line dated {was[2]})"


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
