"""Decisions rewritten: REV's events removed or edited, adjustments REV had decided
rejudged or rebooked, requests or decisions slipped in before REV's last one, and
new decisions signed over a message of before what tools sign now.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Adjustment,
    Event,
    Request,
    Source,
    State,
)
from beancount_adjustments.core.moments import read_moment
from beancount_adjustments.core.signatures import OLD_MESSAGE_WARNINGS
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.snapshot import (
    Booked,
    Snapshot,
    booked_entries,
    decided,
    describe_event,
    event_content,
    new_events,
    new_requests,
    request_content,
    unmatched,
)


def compare_events(old: Sequence[Event], new: Sequence[Event], *,
                   rev: str = "REV") -> list[Finding]:
    """Events `rev` held that are gone (removed) or hold other content (edited)."""
    lost = unmatched(old, new, event_content)
    if not lost:
        return []
    # New events with content REV did not hold: candidates for "edited" (of events
    # with the same content, the first ones).
    candidates: list[Event] = []
    remaining = (Counter(event_content(e) for e in new)
                 - Counter(event_content(e) for e in old))
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
                f"{describe_event(event)} is no longer in the ledger; a decision once "
                f"recorded is never removed: restore it, and record a new event "
                f"(a cancel, a new approval) for what changed since", event.source.filename,
                event.source.lineno, at_rev=True, adjustment_id=event.adjustment_id))
            continue
        candidates.remove(twin)
        changed = _changed_fields(event_content(event), event_content(twin), names)
        findings.append(Finding(
            "edited-decision",
            f"{describe_event(event)} was edited since {rev} ({changed}); a decision once "
            f"recorded is never edited: restore it, and record a new event for what changed "
            f"since", twin.source.filename, twin.source.lineno,
            adjustment_id=event.adjustment_id))
    return findings


def _event_identity(event: Event) -> tuple[Any, ...]:
    return (event.adjustment_id, str(event.action), event.by, event.date, event.at)


def _event_place(event: Event) -> tuple[Any, ...]:
    return (event.adjustment_id, str(event.action), event.date)


def _changed_fields(old: tuple[Any, ...], new: tuple[Any, ...], names: Sequence[str]) -> str:
    return ", ".join(name.replace("_", "-") for name, a, b in zip(names, old, new, strict=True)
                     if a != b)


def _history(adj: Adjustment) -> list[tuple[tuple[Any, ...], bool]]:
    return [(event_content(r.event), r.accepted) for r in adj.history]


def compare_adjustments(old: Snapshot, new: Snapshot, *, rev: str = "REV",
                        skip_history_of: frozenset[str] | set[str] = frozenset()
                        ) -> list[Finding]:
    """Each adjustment decided at REV whose request (any field), verdicts, state or
    entries changed.

    At most one finding per adjustment beside an edited request: the first
    difference is the rewrite, what follows from it is not repeated.
    """
    old_booked = booked_entries(old.entries)
    new_booked = booked_entries(new.entries)
    findings: list[Finding] = []
    adjustments = new.book.adjustments
    decided_since = {e.adjustment_id
                     for e in new_events(old.book.facts.events, new.book.facts.events)}
    for adj_id, was in old.book.adjustments.items():
        if not decided(was):
            refused = _refused_then_booked(was, adjustments.get(adj_id), new_booked,
                                           decided_since, rev)
            findings += [refused] if refused is not None else []
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
        # Any field, not only the digest's: the ticket, notes and narration a
        # reviewer decided on are part of what REV recorded.
        if now.digest != was.digest or request_content(now.request) != request_content(
                was.request):
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


def _refused_then_booked(was: Adjustment, now: Adjustment | None,
                         new_booked: dict[str, Counter[Booked]], decided_since: set[str],
                         rev: str) -> Finding | None:
    """A request REV refused (invalid) that books money now although nobody decided
    anything on it since: what it was judged on changed, not what anyone decided
    (a site check loosened since REV lets the approvals REV had refused book)."""
    # A request edited where its approvals bind (its digest) is judged as filed anew
    # (fixing a refused request is no rewrite): REV's approvals went stale, and only
    # new ones book it. An edit the digest does not see (the narration, `notes:`)
    # leaves REV's approvals in force, so it is no fix; nor is any edit while an
    # approval REV held without `digest:` (bound to no content) still counts.
    if (was.state is not State.INVALID or now is None or was.id in decided_since
            or not new_booked.get(was.id)):
        return None
    edited = now.digest != was.digest
    unbound = _unbound_approvals(was, now)
    if edited and not unbound:
        return None
    where = now.request.source
    booked = next(iter(new_booked[was.id]))
    why = (f"it was edited since, and {unbound[0]} {rev} held carries no digest, so it "
           "counts for what it never saw; restore it, or have the edited request approved "
           "anew" if edited else
           "what it was judged on changed since (a site check's code, a plugin); restore "
           "it: a change of rules is for requests filed after it")
    return Finding("rejudged", f"{was.id} was invalid at {rev} (refused, nothing booked) and "
                   f"books {booked} now with no new decision to explain it: {why}",
                   where.filename, where.lineno, adjustment_id=was.id)


def _unbound_approvals(was: Adjustment, now: Adjustment) -> list[str]:
    """The decisions REV held on `was` that count now without a `digest:` (described)."""
    held = {event_content(record.event) for record in was.history}
    return [describe_event(record.event) for record in now.history
            if record.accepted and record.event.digest is None
            and event_content(record.event) in held]


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
            return ("rejudged", f"{head}; {describe_event(event)} {verdict}: what it was "
                    f"judged on changed since; restore it", line)
        if any(new_item[0] == content for content, _accepted in before[index:]):
            # Not new: REV held it later in the history (entries of one day moved, or
            # a file renamed: same-day order is file order, then line). Coded as a
            # decision put before those REV had recorded, which it is.
            return ("backdated-decision", f"{head}; its decisions are in another order now: "
                    f"{describe_event(event)} came after "
                    f"{describe_event(was.history[index].event)} at {rev} and comes before "
                    "it now (on one day, ledger order is file, then line: an entry moved or "
                    "a file renamed); restore the order", line)
        return ("backdated-decision",
                f"{head}; {describe_event(event)} is new since {rev} yet comes before "
                f"decisions {rev} had recorded (back-dated): date a new decision after them",
                line)
    if len(after) < len(before):
        event = was.history[len(after)].event
        return ("rejudged", f"{head}; {describe_event(event)} is no longer in its history",
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


def backdated_items(old: Book, new: Book, cutoff: datetime.date, *, rev: str = "REV",
                    forked_at: Callable[[Source], datetime.datetime | None] | None = None
                    ) -> list[Finding]:
    """Requests and decisions new since REV, yet dated before its last decision.

    They are inserted before what REV decided, so they may book an effect
    inside a period REV had already closed, or count a role a user held only
    back then, whatever adjustment they concern. So is one dated inside a
    period a lock at REV had closed. One is an append only when its `at:`
    says it was written on or after that day (then the plugin's
    `backdate-days` and locks judge it); an entry without `at:`, or one
    claiming to have been written before what REV held, is not. And what REV
    did not hold was written after the commit that wrote it forked from REV's
    history (`forked_at`, `Repository.forked_at`): a decision claiming to be older than
    that (its `at:`, else its date) by more than its type's `backdate-days` and a
    day is back-dated, whatever REV decided last (erin, a manager until June,
    approving in December with a May date).
    """
    # A request REV did not hold, or held with other content (a pending one edited).
    items: list[Request | Event] = list(new_requests(old.facts.requests, new.facts.requests))
    items += new_events(old.facts.events, new.facts.events)
    findings = []
    for item in items:
        if item.date < cutoff and not _written_on(item.at, cutoff):
            why = f"dated before {rev}'s last decision ({cutoff})"
        elif (forked_at is not None and _claims_older(item)
              and (forked := forked_at(item.source)) is not None
              and _older_than(item, forked, new)):
            why = (f"{'dated' if item.at is None else 'claiming to be written'} more "
                   f"than its type's `backdate-days` and a day before the change that "
                   f"wrote it forked from {rev}'s history (committed {forked.isoformat()})")
        else:
            # A period REV had closed: the plugin can tell only from `at:`.
            lock = next((lock for lock in old.locks if item.date <= lock.through
                         and not _written_on(item.at, lock.date)), None)
            if lock is None:
                continue
            why = (f"dated inside the period {rev} had closed through {lock.through} "
                   f"(locked on {lock.date})")
        what = (f"the request {item.id}" if isinstance(item, Request)
                else describe_event(item))
        findings.append(Finding(
            "backdated-decision",
            f"{what} is new since {rev} yet {why} "
            f"{'with no `at:`' if item.at is None else f'and written at {item.at}'}: it is "
            f"inserted before decisions already made (back-dated); date it when it is "
            f"written", item.source.filename, item.source.lineno,
            adjustment_id=item.id if isinstance(item, Request) else item.adjustment_id))
    return findings


def _claims_older(item: Request | Event) -> bool:
    """Whether `item` says when it was written (its `at:`, else an event's date; a
    request without `at:` says nothing: tools importing dated rows write none)."""
    return item.at is not None or not isinstance(item, Request)


def _older_than(item: Request | Event, committed: datetime.datetime, book: Book) -> bool:
    """Whether `item` claims to have been written (`_claims_older`) before `committed`
    by more than its type's `backdate-days` and a day (work written before the commit
    and committed after it is no back-dating)."""
    adj = None if isinstance(item, Request) else book.adjustments.get(item.adjustment_id)
    adj_type = item.type if isinstance(item, Request) else (
        adj.request.type if adj is not None else None)
    days = (book.policies.settings(adj_type, item.date).backdate_days
            if adj_type is not None else 0)
    claimed = read_moment(item.at) if item.at is not None else None
    if claimed is None:   # no stamp: the latest moment its date names anywhere
        claimed = datetime.datetime.combine(
            item.date, datetime.time.max, datetime.timezone(datetime.timedelta(hours=-12)))
    return claimed + datetime.timedelta(days=days + 1) < committed


def _written_on(at: str | None, day: datetime.date) -> bool:
    """Whether the stamp `at` says it was written on `day` or later (its own day)."""
    moment = None if at is None else read_moment(at)
    return moment is not None and moment.date() >= day


def old_signatures(old: Book, new: Book, *, rev: str = "REV") -> list[Finding]:
    """Decisions new since REV whose signature verifies only over a message of before
    the one tools sign now (the replay's `OLD_MESSAGE_WARNINGS`): such a signature
    counts for the past, which REV holds as it was signed; on a new decision the lines
    it does not cover (`chain:`, `at:`, ...) are anybody's, and the decision would
    count as the signer never gave it (a stale approval stripped of its `chain:`)."""
    fresh = {event.source: event for event in new_events(old.facts.events, new.facts.events)}
    return [Finding(
        "old-signature-since",
        f"{describe_event(fresh[warning.source])} is new since {rev} and signed over an old "
        "message, which does not cover `at:`, `chain:`, `judged:` and `limit-judged:`: "
        "a new decision counts only signed as tools sign now; approve again with --sign",
        warning.source.filename, warning.source.lineno, adjustment_id=warning.adjustment_id)
        for warning in new.warnings
        if warning.code in OLD_MESSAGE_WARNINGS and warning.source in fresh]
