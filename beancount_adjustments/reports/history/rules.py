"""What REV's decisions were judged on, changed: back-dated directives (users, rows,
policies, prices, ...), closed periods reopened, and invoices or orders edited.
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
    "adjustment-category", "adjustment-key"})
"""Custom directives that judge decisions: none may change on or before REV's last decision."""


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


def _directive_label(content: tuple[Any, ...]) -> str:
    kind, name, date, values, _meta = content
    if kind == "price":
        return f"price {name} {values[0][0]} {values[1][0]} on {date}"
    first = f" {values[0][0]!s}" if values else ""
    return f"{name}{first} dated {date}"


def _directive_place(content: tuple[Any, ...]) -> tuple[Any, ...]:
    """What makes two directive versions "the same directive, changed"."""
    kind, name, date, values, _meta = content
    if kind == "price":
        return (kind, name, date, values[1][0])
    return (kind, name, date, values[0][0] if values else None)


def compare_directives(old: Iterable[data.Directive], new: Iterable[data.Directive],
                       cutoff: datetime.date, *, rev: str = "REV") -> list[Finding]:
    """Past-judging directives dated on or before `cutoff` added, removed or changed."""
    def dated(entries: Iterable[data.Directive]) -> list[tuple[tuple[Any, ...], data.Directive]]:
        out = []
        for entry in entries:
            content = directive_content(entry)
            if content is not None and entry.date <= cutoff:
                out.append((content, entry))
        return out

    before, after = dated(old), dated(new)
    left = Counter(content for content, _ in after)
    removed: list[tuple[tuple[Any, ...], data.Directive]] = []
    for content, entry in before:
        if left[content] > 0:
            left[content] -= 1
        else:
            removed.append((content, entry))
    added = []
    for content, entry in after:
        if left[content] > 0:
            left[content] -= 1
            added.append((content, entry))
    findings = []
    for content, entry in added:
        twin = next((r for r in removed if _directive_place(r[0]) == _directive_place(content)),
                    None)
        meta = entry.meta or {}
        if twin is not None:
            removed.remove(twin)
            findings.append(Finding(
                "backdated-directive",
                f"{_directive_label(content)} was changed since {rev}, on or before {rev}'s last "
                f"decision ({cutoff}): it judged decisions already made; restore it and date "
                f"the change after {cutoff}", str(meta.get("filename", "<unknown>")),
                int(meta.get("lineno", 0))))
        else:
            findings.append(Finding(
                "backdated-directive",
                f"{_directive_label(content)} is new since {rev} and dated on or before {rev}'s "
                f"last decision ({cutoff}): it would rejudge decisions already made; date it "
                f"after {cutoff}", str(meta.get("filename", "<unknown>")),
                int(meta.get("lineno", 0))))
    for content, entry in removed:
        meta = entry.meta or {}
        findings.append(Finding(
            "backdated-directive",
            f"{_directive_label(content)} was removed since {rev}; it judged decisions "
            f"already made (on or before {cutoff}): restore it and date any change after "
            f"{cutoff}", str(meta.get("filename", "<unknown>")), int(meta.get("lineno", 0)),
            at_rev=True))
    return findings


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
