"""The past is append-only: what `bean-adjust check --since REV` compares.

The ledger is kept in git, and git is the history. An approval is worth
something only if what it decided stays decided: nobody may later edit the
request it approved, remove or edit the decision, or slip in a back-dated
policy row, user grant or price that would have judged it otherwise.
`check --since REV` loads the book as it was at the git revision REV and
the book now, and reports every difference that rewrites what REV had
decided. Appending is always allowed: new requests, new decisions, and new
directives dated after REV's last decision.

The rule (and why it is sound)
------------------------------

The book is a pure replay of the ledger's facts, walked in date order. So
REV's verdicts stay what they were as long as (a) the facts they were
judged on are unchanged and (b) nothing new is inserted before them in the
replay. The comparison checks exactly that, in three parts:

1. **Decisions** (`custom "adjustment"` events, of any adjustment, known or
   not). Every event REV holds must still be in the ledger with the same
   content: id, action, `by:`, date, `at:`, `digest:`, reason, comment,
   `effective:`, signature, `judged:`, `chain:`. Events are matched by
   content, never by line, so moving one is no change. An event REV holds
   that is gone is *removed* (reported at REV's line); one whose identity
   (id, action, date and either `by:` and `at:`, or a like event in its
   place) is there with other content is *edited* (reported at the current
   line).

2. **Directives dated on or before REV's last decision** (the latest date of
   any request or event in REV's book): `adjustment-user`,
   `adjustment-customer`, `adjustment-approval`, `adjustment-policy`,
   `adjustment-lock`, `adjustment-risk`, `adjustment-alert`,
   `adjustment-type`, `adjustment-category`, `adjustment-key` (a key
   registered back then would sign for its user) and Beancount `price`
   directives. These are what the replay judged REV's decisions on; any
   added, removed or changed one (compared by content: date, values and
   metadata, not by line) could change a verdict, so each is a finding. A
   directive dated after that day cannot have judged anything REV decided
   (every setting is effective-dated) and is an ordinary append.

3. **Adjustments decided at REV** (any state but pending and invalid, or
   pending with approvals already given). For each, now:

   - the request is still there with the same digest (`Adjustment.digest`,
     the hash of everything an approval binds to), the same amount and
     the same approval chain;
   - REV's audit history (each event and whether it counted) is an exact
     *prefix* of today's: the same events, the same verdicts, the same
     order. A new event that sorts before one REV had (a back-dated
     decision) breaks the prefix and is a finding;
   - the approvals REV counted are a prefix of today's, and every entry the
     plugin had booked for it (`#adjustment`, `#adjustment-reversal`:
     date, postings as account, number, currency) is still booked;
   - if no new event after the prefix counts, the state, approvals and
     booked entries are exactly REV's. If one does (a cancel that asks for
     the reversal, the last approval of a partly approved request), the
     difference is what that appended event did, and it is no rewrite.

   Given 1 and 2, a state change with an intact prefix can only come from
   the events appended after it, so the rule accepts every honest append
   and nothing else the replay could tell apart. Requests that were
   pending at REV may be edited freely (nobody had decided on them yet);
   their approvals are covered by 3 once one is given.

Three more rules hold whatever the dates: every lock REV held is still
held (`reopened_periods`); the invoices and orders an adjustment decided at
REV names keep their customer, currency and amount (`changed_references`);
and a signing key or a `git:` e-mail new since REV, which would let its
holder decide as a user, is committed by that user under `git-identity`,
and a new key is a warning otherwise (`identity_lines`).

`git-identity`
--------------

A type policy may say `git-identity: "required"`. Then every decision that
is new since REV (an event REV did not hold, by content), for an adjustment
of a type whose policy in force on the event's date requires it, must come
from a commit whose author e-mail is the `git:` e-mail of the user the
event names (`by:`), or from a commit with a good signature (`%G?` = `G`)
whose signer carries that e-mail. The commit is found with `git blame` of
the event's lines in the working tree; lines blamed on REV or its ancestors
are not looked at, and every later commit that wrote one of them must
match. A decision not committed yet is reported as such, unless
`--pre-commit` says the check runs on the commit about to be made: then
its lines count as authored by the e-mail git would record for it.
The setting follows `adjustment-policy` rules: the latest directive on or
before the date, the most specific pattern that sets it winning (exact over
pattern, then the longer pattern).

The module is in two halves: `compare` and the helpers above it are pure
(two snapshots in, findings out; `commit_of` is given as a function), and
the git plumbing below (`open_repository`, `snapshot_at`, `Blame`) runs
`git` and materialises REV's tree in a temporary directory.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NamedTuple

from beancount.core import data

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import (
    Adjustment,
    Event,
    Request,
    Source,
    State,
    Terms,
    TypePolicy,
    reference_terms,
)

PAST_DIRECTIVES = frozenset({
    "adjustment-user", "adjustment-customer", "adjustment-approval", "adjustment-policy",
    "adjustment-lock", "adjustment-risk", "adjustment-alert", "adjustment-type",
    "adjustment-category", "adjustment-key"})
"""Custom directives that judge decisions: none may change on or before REV's last decision."""

BOOKED_TAGS = ("adjustment", "adjustment-reversal")
UNDECIDED = frozenset({State.PENDING, State.INVALID})
_IGNORED_META = ("filename", "lineno")
_NOWHERE = Source("", 0)
"""Where a request is written, left out when comparing what it says."""


# -- what the comparison reports ------------------------------------------------------


class Finding(NamedTuple):
    """One rewrite of the past, at the line that shows it."""

    code: str
    message: str
    filename: str
    lineno: int
    at_rev: bool = False
    """The line is in the ledger as it was at REV (the current ledger has none)."""
    adjustment_id: str | None = None
    warning: bool = False
    """Listed for an auditor to look at, and no failure (a new signing key)."""


@dataclass(frozen=True)
class Snapshot:
    """A loaded ledger: its book and the entries the plugin returned."""

    book: Book
    entries: Sequence[data.Directive]


class Commit(NamedTuple):
    """What `git-identity` reads of a commit."""

    sha: str
    author_email: str
    signature: str
    """`%G?`: G good, B bad, U good but untrusted, N none, ..."""
    signer: str
    """`%GS`: the signer's identity (a GPG user id, an SSH principal)."""


NOT_COMMITTED = "not committed"
"""What `commit_of` returns for an event whose lines are not committed yet."""

UNCOMMITTED = "the commit about to be made"
"""The `sha` of the pending commit `--pre-commit` judges uncommitted lines as."""

CommitOf = Callable[[Source], "Sequence[Commit] | str"]
"""The commits after REV that wrote the lines of the entry at a source, or `NOT_COMMITTED`."""


# -- pure helpers ---------------------------------------------------------------------


def decided(adj: Adjustment) -> bool:
    """Whether REV had decided anything about it: a state past pending, or approvals."""
    return adj.state not in UNDECIDED or bool(adj.approvals) or bool(
        getattr(adj, "reversal_approvals", ()))


def event_content(event: Event) -> tuple[Any, ...]:
    """Everything an event says, without where it is written."""
    return tuple(getattr(event, name) for name in event._fields if name != "source")


def _event_identity(event: Event) -> tuple[Any, ...]:
    return (event.adjustment_id, str(event.action), event.by, event.date, event.at)


def _event_place(event: Event) -> tuple[Any, ...]:
    return (event.adjustment_id, str(event.action), event.date)


def _describe_event(event: Event) -> str:
    return f"the {event.action} of {event.adjustment_id} by {event.by} on {event.date}"


def _changed_fields(old: tuple[Any, ...], new: tuple[Any, ...], names: Sequence[str]) -> str:
    return ", ".join(name.replace("_", "-") for name, a, b in zip(names, old, new, strict=True)
                     if a != b)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def directive_content(entry: data.Directive) -> tuple[Any, ...] | None:
    """A past-judging directive's content (date, values, metadata), or None for others."""
    meta = tuple(sorted(((k, _hashable(v)) for k, v in (entry.meta or {}).items()
                         if k not in _IGNORED_META and not str(k).startswith("__")),
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


class Booked(NamedTuple):
    """An entry the plugin generated for an adjustment, as the comparison sees it."""

    tag: str
    date: datetime.date
    postings: tuple[tuple[str, Decimal, str], ...]

    def __str__(self) -> str:
        legs = ", ".join(f"{account} {number} {currency}"
                         for account, number, currency in self.postings)
        return f"#{self.tag} on {self.date} ({legs})"


def booked_entries(entries: Iterable[data.Directive]) -> dict[str, Counter[Booked]]:
    """Per adjustment id, the entries generated for it (tagged adjustment / adjustment-reversal)."""
    found: dict[str, Counter[Booked]] = defaultdict(Counter)
    for entry in entries:
        if not isinstance(entry, data.Transaction) or not entry.tags:
            continue
        tags = [tag for tag in BOOKED_TAGS if tag in entry.tags]
        if not tags:
            continue
        postings = tuple(sorted(
            (p.account, p.units.number, p.units.currency) for p in entry.postings
            if p.units is not None and p.units.number is not None))
        item = Booked(tags[0], entry.date, postings)
        for link in entry.links or ():
            found[link][item] += 1
    return found


def last_decision(book: Book) -> datetime.date | None:
    """The latest date of any request or event in the book (None: it holds neither)."""
    dates = [r.date for r in book.facts.requests] + [e.date for e in book.facts.events]
    return max(dates) if dates else None


def git_identity_required(policies: Iterable[TypePolicy], adj_type: str,
                          date: datetime.date) -> bool:
    """Whether the policy in force for `adj_type` on `date` sets `git-identity: "required"`.

    As `policy.TypePolicies.settings` picks every setting: of the directives
    dated on or before `date` whose pattern matches, the most specific that
    sets it (an exact type over a pattern, then the longer pattern; on a tie
    the later one).
    """
    chosen: tuple[tuple[int, int], bool] | None = None
    for policy in sorted(policies, key=lambda p: p.date):
        if policy.date > date:
            break
        value = getattr(policy, "git_identity", None)
        if value is None or not fnmatchcase(adj_type, policy.pattern):
            continue
        rank = (0 if any(c in policy.pattern for c in "*?[") else 1, len(policy.pattern))
        if chosen is None or rank >= chosen[0]:
            chosen = (rank, bool(value))
    return chosen is not None and chosen[1]


def git_email_of(book: Book, user: str, date: datetime.date) -> str | None:
    """The `git:` e-mail of `user` on `date`: from their latest lines on or before it."""
    lines = [g for g in book.facts.grants if g.user == user and g.date <= date]
    if not lines:
        return None
    latest = max(g.date for g in lines)
    emails = [g.git for g in lines if g.date == latest and g.git]
    return emails[0] if emails else None


_EMAIL_RE = re.compile(r"[^\s<>]+@[^\s<>]+")


def commit_matches(commit: Commit, email: str) -> bool:
    """The commit's author is `email`, or it has a good signature by `email`."""
    wanted = email.strip().lower()
    if commit.author_email.strip().lower() == wanted:
        return True
    return commit.signature == "G" and wanted in {
        found.lower() for found in _EMAIL_RE.findall(commit.signer)}


# -- the comparison -------------------------------------------------------------------


def compare(old: Snapshot, new: Snapshot, *, rev: str = "REV",
            commit_of: CommitOf | None = None) -> list[Finding]:
    """Every way `new` rewrites what `old` (the ledger at `rev`) had decided.

    With `commit_of`, decisions new since `old` are also checked against
    `git-identity` policies. `rev` only names the revision in the messages.
    """
    findings = compare_events(old.book.facts.events, new.book.facts.events, rev=rev)
    touched = {f.adjustment_id for f in findings}
    findings += compare_adjustments(old, new, rev=rev,
                                    skip_history_of={t for t in touched if t})
    cutoff = last_decision(old.book)
    if cutoff is not None:
        findings += compare_directives(old.entries, new.entries, cutoff, rev=rev)
        seen = {(f.filename, f.lineno) for f in findings}
        findings += [f for f in backdated_items(old.book, new.book, cutoff, rev=rev)
                     if (f.filename, f.lineno) not in seen]
    findings += reopened_periods(old.book, new.book, cutoff, rev=rev)
    findings += changed_references(old.book, new.book, rev=rev)
    if commit_of is not None:
        findings += check_git_identity(old, new, commit_of)
    findings += identity_lines(old.book, new.book, cutoff, commit_of, rev=rev)
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


def compare_events(old: Sequence[Event], new: Sequence[Event], *,
                   rev: str = "REV") -> list[Finding]:
    """Events `rev` held that are gone (removed) or hold other content (edited)."""
    unmatched_new = Counter(event_content(e) for e in new)
    lost: list[Event] = []
    for event in old:
        content = event_content(event)
        if unmatched_new[content] > 0:
            unmatched_new[content] -= 1
        else:
            lost.append(event)
    if not lost:
        return []
    # New events with content REV did not hold: candidates for "edited".
    candidates: list[Event] = []
    remaining = +unmatched_new
    for event in new:
        content = event_content(event)
        if remaining[content] > 0:
            remaining[content] -= 1
            candidates.append(event)
    names = [name for name in Event._fields if name != "source"]
    findings = []
    for event in lost:
        twin = next((c for c in candidates if _event_identity(c) == _event_identity(event)),
                    None) or next((c for c in candidates
                                   if _event_place(c) == _event_place(event)), None)
        if twin is None:
            findings.append(Finding(
                "removed-decision",
                f"{_describe_event(event)} is no longer in the ledger; a decision once "
                f"recorded is never removed: restore it, and record a new event "
                f"(a cancel, a new approval) for what changed since", event.source.filename,
                event.source.lineno, at_rev=True, adjustment_id=event.adjustment_id))
            continue
        candidates.remove(twin)
        changed = _changed_fields(event_content(event), event_content(twin), names)
        findings.append(Finding(
            "edited-decision",
            f"{_describe_event(event)} was edited since {rev} ({changed}); a decision once "
            f"recorded is never edited: restore it, and record a new event for what changed "
            f"since", twin.source.filename, twin.source.lineno,
            adjustment_id=event.adjustment_id))
    return findings


def _history(adj: Adjustment) -> list[tuple[tuple[Any, ...], bool]]:
    return [(event_content(r.event), r.accepted) for r in adj.history]


def compare_adjustments(old: Snapshot, new: Snapshot, *, rev: str = "REV",
                        skip_history_of: frozenset[str] | set[str] = frozenset()
                        ) -> list[Finding]:
    """Each adjustment decided at REV whose request, verdicts, state or entries changed.

    At most one finding per adjustment beside an edited request: the first
    difference is the rewrite, what follows from it is not repeated.
    """
    old_booked = booked_entries(old.entries)
    new_booked = booked_entries(new.entries)
    findings: list[Finding] = []
    adjustments = new.book.adjustments
    for adj_id, was in old.book.adjustments.items():
        if not decided(was):
            continue
        now = adjustments.get(adj_id)
        if now is None:
            source = was.request.source
            findings.append(Finding(
                "removed-request",
                f"{adj_id} was {was.state} at {rev} and its request is no longer in the "
                f"ledger; restore it (a decided request is never removed: cancel it instead)",
                source.filename, source.lineno, at_rev=True, adjustment_id=adj_id))
            continue
        where = now.request.source
        if now.digest != was.digest:
            names = [n for n in Request._fields if n != "source"]
            changed = _changed_fields(
                tuple(getattr(was.request, n) for n in names),
                tuple(getattr(now.request, n) for n in names), names) or "its digest"
            findings.append(Finding(
                "edited-request",
                f"{adj_id} was {was.state} at {rev} and its request was edited since "
                f"({changed}); restore it: to change a decided adjustment, cancel it and "
                f"file a new request", where.filename, where.lineno, adjustment_id=adj_id))
            continue
        if adj_id in skip_history_of:
            continue
        finding = _adjustment_rewrite(was, now, old_booked.get(adj_id, Counter()),
                                      new_booked.get(adj_id, Counter()), rev)
        if finding is not None:
            code, message, (filename, lineno) = finding
            findings.append(Finding(code, message, filename, lineno, adjustment_id=adj_id))
    return findings


def _adjustment_rewrite(was: Adjustment, now: Adjustment, was_booked: Counter[Booked],
                        now_booked: Counter[Booked], rev: str
                        ) -> tuple[str, str, tuple[str, int]] | None:
    request_at = (now.request.source.filename, now.request.source.lineno)
    head = f"{was.id} was {was.state} at {rev}"
    if now.amount != was.amount or now.chain != was.chain:
        what = (f"its amount {was.amount} is {now.amount} now" if now.amount != was.amount
                else f"its approval chain was {' > '.join(was.chain) or 'automatic'} and "
                     f"is {' > '.join(now.chain) or 'automatic'} now")
        return ("rejudged", f"{head}; {what}: a price, row, tier or setting it was judged on "
                f"changed since; restore it", request_at)
    before, after = _history(was), _history(now)
    for index, (old_item, new_item) in enumerate(zip(before, after, strict=False)):
        if old_item == new_item:
            continue
        event = now.history[index].event
        line = (event.source.filename, event.source.lineno)
        if old_item[0] == new_item[0]:
            verdict = (f"counted at {rev} and is refused now" if old_item[1]
                       else f"was refused at {rev} and counts now")
            return ("rejudged", f"{head}; {_describe_event(event)} {verdict}: what it was "
                    f"judged on changed since; restore it", line)
        return ("backdated-decision",
                f"{head}; {_describe_event(event)} is new since {rev} yet comes before "
                f"decisions {rev} had recorded (back-dated): date a new decision after them",
                line)
    if len(after) < len(before):
        event = was.history[len(after)].event
        return ("rejudged", f"{head}; {_describe_event(event)} is no longer in its history",
                (event.source.filename, event.source.lineno))
    appended = any(accepted for _content, accepted in after[len(before):])
    was_approvals = [(a.by, a.role, a.level, a.date) for a in was.approvals]
    now_approvals = [(a.by, a.role, a.level, a.date) for a in now.approvals]
    if (now_approvals[:len(was_approvals)] != was_approvals
            or (not appended and now_approvals != was_approvals)):
        return ("rejudged", f"{head}, approved by {', '.join(was.approvers) or 'nobody'}; "
                f"now by {', '.join(now.approvers) or 'nobody'}", request_at)
    missing = was_booked - now_booked
    if missing:
        gone = next(iter(missing))
        return ("rebooked", f"{head} and had booked {gone}; that entry is no longer booked",
                request_at)
    extra = now_booked - was_booked
    if extra and not appended:
        return ("rebooked", f"{head}; {next(iter(extra))} is booked now with no new decision "
                f"to explain it", request_at)
    if now.state != was.state and not appended:
        return ("rejudged", f"{head} and is {now.state} now, with no new decision to "
                f"explain it", request_at)
    return None


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


def backdated_items(old: Book, new: Book, cutoff: datetime.date, *,
                    rev: str = "REV") -> list[Finding]:
    """Requests and decisions new since REV, yet dated before its last decision.

    They are inserted before what REV decided, so they may book an effect
    inside a period REV had already closed, or count a role a user held only
    back then, whatever adjustment they concern. So is one dated inside a
    period a lock at REV had closed. One is an append only when its `at:`
    says it was written on or after that day (then the plugin's
    `backdate-days` and locks judge it); an entry without `at:`, or one
    claiming to have been written before what REV held, is not.
    """
    # A request REV did not hold, or held with other content (a pending one edited).
    held = Counter(r._replace(source=_NOWHERE) for r in old.facts.requests)
    items: list[Request | Event] = []
    for request in new.facts.requests:
        content = request._replace(source=_NOWHERE)
        if held[content] > 0:
            held[content] -= 1
        else:
            items.append(request)
    items += new_events(old.facts.events, new.facts.events)
    findings = []
    for item in items:
        if item.date < cutoff and not _written_on(item.at, cutoff):
            why = f"dated before {rev}'s last decision ({cutoff})"
        else:
            # A period REV had closed: the plugin can tell only from `at:`.
            lock = next((lock for lock in old.locks if item.date <= lock.through
                         and not _written_on(item.at, lock.date)), None)
            if lock is None:
                continue
            why = (f"dated inside the period {rev} had closed through {lock.through} "
                   f"(locked on {lock.date})")
        what = (f"the request {item.id}" if isinstance(item, Request)
                else _describe_event(item))
        findings.append(Finding(
            "backdated-decision",
            f"{what} is new since {rev} yet {why} "
            f"{'with no `at:`' if item.at is None else f'and written at {item.at}'}: it is "
            f"inserted before decisions already made (back-dated); date it when it is "
            f"written", item.source.filename, item.source.lineno,
            adjustment_id=item.id if isinstance(item, Request) else item.adjustment_id))
    return findings


def _written_on(at: str | None, day: datetime.date) -> bool:
    """Whether the stamp `at` says it was written on `day` or later (its own day)."""
    if at is None:
        return False
    try:
        return datetime.datetime.fromisoformat(at.strip()).date() >= day
    except ValueError:
        return False


def new_events(old: Sequence[Event], new: Sequence[Event]) -> list[Event]:
    """The events of `new` that `old` did not hold (by content), in `new`'s order."""
    left = Counter(event_content(e) for e in old)
    out = []
    for event in new:
        content = event_content(event)
        if left[content] > 0:
            left[content] -= 1
        else:
            out.append(event)
    return out


def check_git_identity(old: Snapshot, new: Snapshot, commit_of: CommitOf) -> list[Finding]:
    """New decisions under a `git-identity: "required"` policy not committed by their user."""
    findings = []
    facts = new.book.facts
    for event in new_events(old.book.facts.events, facts.events):
        adj = new.book.adjustments.get(event.adjustment_id)
        if adj is None or not git_identity_required(facts.policies, adj.request.type,
                                                    event.date):
            continue
        about = (f"{_describe_event(event)}: the policy for {adj.request.type} requires "
                 f"git identity")
        source = event.source
        email = git_email_of(new.book, event.by, event.date)
        if email is None:
            findings.append(Finding(
                "git-identity", f"{about}, and {event.by} has no `git:` e-mail on "
                f"{event.date}: add one to their adjustment-user line", source.filename,
                source.lineno))
            continue
        commits = commit_of(event.source)
        if isinstance(commits, str):
            findings.append(Finding(
                "git-identity", f"{about}; it is not committed yet: {event.by} must commit it "
                f"as {email}", source.filename, source.lineno))
            continue
        wrong = [c for c in commits if not commit_matches(c, email)]
        if wrong:
            who = ", ".join(sorted({c.author_email for c in wrong}))
            commit = ("the commit about to be made" if wrong[0].sha == UNCOMMITTED
                      else f"commit {wrong[0].sha[:12]}")
            findings.append(Finding(
                "git-identity", f"{about}; {commit} is by {who}, not "
                f"{event.by} ({email}), and carries no good signature of theirs",
                source.filename, source.lineno))
    return findings


def identity_lines(old: Book, new: Book, cutoff: datetime.date | None,
                   commit_of: CommitOf | None, *, rev: str = "REV") -> list[Finding]:
    """Signing keys and `git:` e-mails new since REV, dated after its last decision
    (those on or before it are `compare_directives`'s).

    A key signs "by" its user and a `git:` e-mail is who `git-identity` trusts, so
    such a line, an ordinary append, would let anyone who edits the ledger decide
    as that user. Where any policy requires git identity, the line must be
    committed by the user it names as REV knew them (their `git:` e-mail at REV,
    else the one now); anywhere else a new key is a warning an auditor sees.
    """
    held_keys = Counter((k.date, k.user, k.key) for k in old.facts.keys)
    held_grants = Counter(g.model_copy(update={"source": _NOWHERE}) for g in old.facts.grants)
    lines: list[tuple[str, str, datetime.date, Source]] = []
    for key in new.facts.keys:
        content = (key.date, key.user, key.key)
        if held_keys[content] > 0:
            held_keys[content] -= 1
        elif cutoff is None or key.date > cutoff:
            lines.append(("adjustment-key", key.user, key.date, key.source))
    for grant in new.facts.grants:
        line = grant.model_copy(update={"source": _NOWHERE})
        if held_grants[line] > 0:
            held_grants[line] -= 1
        elif (grant.git and (cutoff is None or grant.date > cutoff)
              and git_email_of(old, grant.user, grant.date) not in (None, grant.git)):
            lines.append(("adjustment-user `git:`", grant.user, grant.date, grant.source))
    required = commit_of is not None and any(
        getattr(policy, "git_identity", None) for policy in new.facts.policies)
    findings = []
    for what, user, date, source in lines:
        about = (f"the {what} line for {user} dated {date} is new since {rev}: it lets "
                 f"whoever holds it decide as {user}")
        if not required or commit_of is None:
            if what == "adjustment-key":
                findings.append(Finding(
                    "new-key", f"{about} (approvals signed with the key count as {user}'s); "
                    f"check that {user} registered it", source.filename, source.lineno,
                    warning=True))
            continue
        email = git_email_of(old, user, date) or git_email_of(new, user, date)
        if email is None:
            findings.append(Finding(
                "git-identity", f"{about}, and git-identity is required while {user} has no "
                f"`git:` e-mail: add one to their adjustment-user line, committed by them",
                source.filename, source.lineno))
            continue
        commits = commit_of(source)
        if isinstance(commits, str):
            findings.append(Finding(
                "git-identity", f"{about}; it is not committed yet: {user} must commit it as "
                f"{email}", source.filename, source.lineno))
            continue
        wrong = [c for c in commits if not commit_matches(c, email)]
        if wrong:
            who = ", ".join(sorted({c.author_email for c in wrong}))
            commit = ("the commit about to be made" if wrong[0].sha == UNCOMMITTED
                      else f"commit {wrong[0].sha[:12]}")
            findings.append(Finding(
                "git-identity", f"{about}; git-identity is required, and {commit} is by "
                f"{who}, not {user} ({email}), and carries no good signature of theirs",
                source.filename, source.lineno))
    return findings


# -- git plumbing ---------------------------------------------------------------------


class HistoryError(AdjustmentsError):
    """REV cannot be compared with: not a repository, an unknown revision, ..."""

    code = "bad-revision"


@dataclass
class Repository:
    """The git repository holding a ledger, and the revision to compare with."""

    top: Path
    ledger: Path
    """The ledger's path relative to `top`."""
    rev: str
    sha: str
    pending_author: str | None = None
    """With `--pre-commit`: the author e-mail of the commit about to be made, which
    uncommitted lines are judged as (None: they are "not committed yet")."""
    _blames: dict[str, dict[int, str]] = field(default_factory=dict)
    _commits: dict[str, Commit] = field(default_factory=dict)
    _old: dict[str, bool] = field(default_factory=dict)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return _git(self.top, *args, check=check)

    # -- git-identity: who committed a line ------------------------------------------

    def commits_of(self, source: Source) -> Sequence[Commit] | str:
        """The commits after REV that wrote the lines of the entry at `source` (`CommitOf`)."""
        path = Path(source.filename)
        try:
            relative = path.resolve().relative_to(self.top)
        except ValueError:
            return NOT_COMMITTED
        lines = _entry_lines(path, source.lineno)
        blame = self._blame(relative.as_posix())
        shas = [blame.get(n) for n in lines]
        commits = [self._commit(sha) for sha in dict.fromkeys(
            s for s in shas if s and set(s) != {"0"}) if not self._before_rev(sha)]
        if any(sha is None or set(sha) == {"0"} for sha in shas):
            if self.pending_author is None:
                return NOT_COMMITTED
            commits.append(Commit(UNCOMMITTED, self.pending_author, "N", ""))
        return commits

    def _blame(self, relative: str) -> dict[int, str]:
        found = self._blames.get(relative)
        if found is None:
            found = {}
            done = self.git("blame", "--porcelain", "--", relative, check=False)
            if done.returncode == 0:
                for line in done.stdout.decode(errors="replace").splitlines():
                    parts = line.split()
                    if (not line.startswith("\t") and len(parts) >= 3 and len(parts[0]) >= 40
                            and all(c in "0123456789abcdef" for c in parts[0])):
                        found[int(parts[2])] = parts[0]
            self._blames[relative] = found
        return found

    def _commit(self, sha: str) -> Commit:
        found = self._commits.get(sha)
        if found is None:
            out = self.git("show", "-s", "--format=%ae%x00%G?%x00%GS", sha).stdout
            fields = out.decode(errors="replace").rstrip("\n").split("\0")
            email, signature, signer = [*fields, "", ""][:3]
            found = self._commits[sha] = Commit(sha, email, signature, signer)
        return found

    def _before_rev(self, sha: str) -> bool:
        found = self._old.get(sha)
        if found is None:
            found = self._old[sha] = self.git(
                "merge-base", "--is-ancestor", sha, self.sha, check=False).returncode == 0
        return found


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True,
                              timeout=300, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise HistoryError(f"cannot run git: {exc}") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise HistoryError(f"git {args[0]} failed: {message[0] if message else done.returncode}")
    return done


def _entry_lines(path: Path, lineno: int) -> list[int]:
    """The line numbers of the directive starting at `lineno`: it and its metadata lines."""
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return [lineno]
    lines = [lineno]
    for number in range(lineno + 1, len(text) + 1):
        line = text[number - 1]
        if not line.strip() or not line[:1].isspace() or line.lstrip().startswith(";"):
            break
        lines.append(number)
    return lines


def open_repository(ledger: Path, rev: str, *, pre_commit: bool = False) -> Repository:
    """The repository holding `ledger`, with `rev` resolved to a commit (or HistoryError).

    `pre_commit`: uncommitted lines are judged as the commit about to be made,
    by the author git would record now (`git var GIT_AUTHOR_IDENT`).
    """
    ledger = ledger.resolve()
    done = _git(ledger.parent, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise HistoryError(f"{ledger.parent} is not inside a git repository")
    top = Path(done.stdout.decode().strip()).resolve()
    try:
        relative = ledger.relative_to(top)
    except ValueError:
        raise HistoryError(f"{ledger} is not inside the git repository {top}") from None
    if not rev or rev.startswith("-"):
        raise HistoryError(f"{rev!r} is not a git revision")
    found = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options",
                 f"{rev}^{{commit}}", check=False)
    if found.returncode != 0:
        raise HistoryError(f"{rev!r} is not a commit of the repository {top}")
    author = None
    if pre_commit:
        ident = _git(top, "var", "GIT_AUTHOR_IDENT").stdout.decode(errors="replace")
        emails = _EMAIL_RE.findall(ident)
        if not emails:
            raise HistoryError("git has no author e-mail for the commit about to be made "
                               "(set user.email)")
        author = emails[0]
    return Repository(top=top, ledger=relative, rev=rev, sha=found.stdout.decode().strip(),
                      pending_author=author)


def snapshot_at(repo: Repository,
                load: Callable[[Path], tuple[Sequence[data.Directive], Book | None]]
                ) -> tuple[Snapshot | None, Callable[[str], str]]:
    """The ledger as it was at REV, loaded with `load`, and a function naming its files.

    The repository's whole tree at REV is extracted (`git archive`) into a
    temporary directory, so includes, documents and plugins resolve as they
    did then. None: the ledger did not exist at REV, or did not enable the
    plugin (nothing was decided). The naming function turns a file name of
    that tree into its path in the repository.
    """
    with tempfile.TemporaryDirectory(prefix="bean-adjust-since-") as tmp:
        root = Path(tmp).resolve() / "tree"

        def name(filename: str) -> str:
            try:
                return Path(filename).resolve().relative_to(root).as_posix()
            except ValueError:
                return filename

        present = repo.git("cat-file", "-e", f"{repo.sha}:{repo.ledger.as_posix()}",
                           check=False)
        if present.returncode != 0:
            return None, name
        archive = Path(tmp) / "tree.tar"
        archive.write_bytes(repo.git("archive", "--format=tar", repo.sha).stdout)
        root.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        entries, book = load(root / repo.ledger)
    if book is None:
        return None, name
    return Snapshot(book=book, entries=entries), name


def format_finding(finding: Finding, rev: str, rev_name: Callable[[str], str]) -> str:
    """`file:line: message [code]`; a line of REV's ledger is marked `(at REV)`, a
    warning `warning:`."""
    message = f"warning: {finding.message}" if finding.warning else finding.message
    if finding.at_rev:
        return (f"{rev_name(finding.filename)}:{finding.lineno}: (at {rev}) "
                f"{message} [{finding.code}]")
    return f"{finding.filename}:{finding.lineno}: {message} [{finding.code}]"


def finding_json(finding: Finding, rev_name: Callable[[str], str]) -> dict[str, Any]:
    return {"code": finding.code, "message": finding.message,
            "file": rev_name(finding.filename) if finding.at_rev else finding.filename,
            "line": finding.lineno, "at_rev": finding.at_rev,
            "adjustment_id": finding.adjustment_id, "warning": finding.warning}
