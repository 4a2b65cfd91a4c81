"""Judging the items as the plugin and Beancount will, before anything is written.

The rendered text is parsed and read with the plugin's own reader, and the
candidate book is the loaded one continued with the new items
(`core.continuation.continued`), or replayed in full when it cannot be.
An item is refused when it brings a new problem, would be kept without
effect, or would make Beancount's own checks (`bean-check`) fail.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
from typing import Any

from beancount.core import data, flags
from beancount.core.amount import Amount
from beancount.ops import balance as balance_ops
from beancount.ops import pad as pad_ops
from beancount.ops import validation
from beancount.parser import parser

from beancount_adjustments.beans import render
from beancount_adjustments.beans.directives import EVENT, Reader
from beancount_adjustments.beans.effects import entries_for
from beancount_adjustments.beans.seal_directive import read_seal
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.continuation import continued
from beancount_adjustments.core.facts import Facts
from beancount_adjustments.core.models import Event, Problem, Record, Request, Source
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.core.replay import replay
from beancount_adjustments.core.seals import SEAL, Seal, verify_seals
from beancount_adjustments.writer.items import judged_value, unwritten_before
from beancount_adjustments.writer.ledger import Item, Ledger
from beancount_adjustments.writer.results import Refusal, WriteRefused


def _problem_key(problem: Problem) -> tuple[str, str, str, int]:
    return (problem.code, problem.message, problem.source.filename, problem.source.lineno)


def judge(led: Ledger, items: list[Item]) -> Book:
    """Refuse what the plugin would reject; return the book of what stays. Fails
    closed: what cannot be judged (an exception anywhere in judging) is refused
    whole, in one line, and nothing is written."""
    try:
        return _judge(led, items)
    except WriteRefused:
        raise
    except Exception as exc:
        said = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise WriteRefused([Refusal(str(led.target), (
            f"the change cannot be judged ({said}); nothing was written. Please report "
            "this."))]) from exc


def _judge(led: Ledger, items: list[Item]) -> Book:
    live = [it for it in items if it.refusal is None]
    if not live:
        return led.book
    _read(led, live)
    baseline = {_problem_key(p) for p in led.book.problems}
    rates = led.book.rules.rates

    def candidate(chosen: list[Item]) -> tuple[Book, list[Problem]]:
        requests = [it.request for it in chosen if it.request]
        events = [it.event for it in chosen if it.event]
        facts: Facts = dataclasses.replace(
            led.book.facts,
            requests=[*led.book.facts.requests, *requests],
            events=[*led.book.facts.events, *events],
            seals=_seals(led, chosen),
            timeline=[],  # the new items are not in the order read: sort them in
            problems=list(led.book.facts.problems))
        # The plugin verifies seals before it replays; so does the candidate, so
        # a decision dated on an already sealed day is refused, not written.
        facts.problems.extend(p for p in verify_seals(facts, facts.seals,
                                                         settings=led.book.settings)
                              if _problem_key(p) not in baseline)
        # Usually the new items come after all the book judged: go on from there.
        went_on = continued(led.book, facts, requests, events)
        if isinstance(went_on, Book):
            book, led.full_replay = went_on, ""
        else:
            book = replay(facts, rates, led.book.settings, led.book.checks)
            led.full_replay = went_on
        return book, [p for p in book.problems if _problem_key(p) not in baseline]

    # In the common case (nothing refused) this replays exactly once.
    while True:
        chosen = [it for it in live if it.refusal is None]
        if not chosen:
            return led.book
        book, new = candidate(chosen)
        owners = _Owners(chosen)
        unplaced = [p for p in new if not _blame(owners, p, str(led.target))]
        _check_effects(book, chosen)
        _check_chains(led.book, book, chosen)
        if not any(it.refusal for it in chosen):
            _check_beancount(led, book, chosen)
        if any(it.refusal for it in chosen):
            continue  # re-judge without the refused ones: others may depend on them
        if not unplaced:
            return book
        # A new problem sits on an old entry (say, a credit now exceeds an invoice
        # at an existing apply): add the items one by one to find who causes it.
        accepted: list[Item] = []
        for it in chosen:
            trial, trial_new = candidate([*accepted, it])
            _check_effects(trial, [it])
            _check_chains(led.book, trial, [it], accepted)
            if it.refusal is None and not trial_new:
                _check_beancount(led, trial, [*accepted, it], only=it)
            if it.refusal is None and trial_new:
                it.refusal = "; ".join(f"{p.message} [{p.code}]" for p in trial_new)
                it.rule = trial_new[0].code
            if it.refusal is None:
                accepted.append(it)
        if not accepted:
            return led.book
        return candidate(accepted)[0]


def _seals(led: Ledger, chosen: list[Item]) -> list[Seal]:
    """The seals with the new one, in the order the loader will sort them: Beancount
    orders one day's entries by line whatever their file, so a seal appended to a
    short included file comes before that day's seal in the root file (and breaks
    the chain). Without a new seal, the book's own list (a write going on from the
    book's replay finds the seals unchanged)."""
    new = [it.seal for it in chosen if it.seal is not None]
    if not new:
        return led.book.facts.seals
    return sorted([*led.book.facts.seals, *new], key=lambda s: (s.date, s.source.lineno))


def raw_request(request: Request) -> data.Transaction:
    """The request's transaction as the plugin reads it (postings and all), for
    making the entries it generates (`effects.entries_for`)."""
    source = request.source
    return data.Transaction(
        {"filename": source.filename, "lineno": source.lineno}, request.date, flags.FLAG_WARNING,
        request.payee, request.narration, frozenset(), frozenset({request.id}),
        [data.Posting(p.account, Amount(p.number, p.currency), None, None, None, None)
         for p in request.postings])


def _generated_key(entry: data.Directive) -> tuple[datetime.date, bool]:
    return entry.date, "reverses" in entry.meta


def _new_entries(led: Ledger, book: Book, items: list[Item]) -> list[
        tuple[data.Transaction, list[Item], bool]]:
    """What the write adds to the entries Beancount checks: for every adjustment
    the items touch, the generated entries the candidate book has and the
    loaded one had not (an applied or reversing transaction), each with the
    items that touch it; and for a new request not applied yet, its applied
    transaction as it would be (`True`: hypothetical), dated at its
    `effective:` date or its own, so a request that could never be applied
    (an account not open then, a currency the account does not take) is
    refused when it is filed, not when it is approved."""
    touching: dict[str, list[Item]] = {}
    for it in items:
        adj_id = (it.request.id if it.request is not None
                  else it.event.adjustment_id if it.event is not None else None)
        if adj_id is not None:
            touching.setdefault(adj_id, []).append(it)
    tracked_new, tracked_old = book.tracked(), led.book.tracked()
    out: list[tuple[data.Transaction, list[Item], bool]] = []
    tags: dict[Any, frozenset[str]] = {}
    for adj_id, owners in touching.items():
        now = tracked_new.get(adj_id)
        if now is None:
            continue
        raw = raw_request(now.request)
        before = tracked_old.get(adj_id)
        had = ({_generated_key(e) for e in entries_for(raw, before, tags)[1:]}
               if before is not None and before.request.source == now.request.source else set())
        generated = [e for e in entries_for(raw, now, tags)[1:] if _generated_key(e) not in had]
        out += [(e, owners, False) for e in generated]
        if not generated and now.applied_on is None and any(it.request for it in owners):
            request = now.request
            out.append((raw._replace(date=request.effective or request.date,
                                     flag=flags.FLAG_OKAY), owners, True))
    return out


def _check_beancount(led: Ledger, book: Book, items: list[Item], *,
                     only: Item | None = None) -> None:
    """Refuse what Beancount itself would then report (bean-check): its
    validations (`beancount.ops.validation`: accounts open on the date,
    currencies the account allows, balancing, ...) over the new entries, and
    the balance assertions after them on the accounts they move (padding
    recomputed, as the loader does)."""
    new = _new_entries(led, book, items)
    if not new:
        return
    by_entry = {id(entry): (owners, hypothetical) for entry, owners, hypothetical in new}

    def refuse(owners: list[Item], message: str) -> None:
        for it in owners:
            if (only is None or it is only) and it.refusal is None:
                it.refusal = message

    candidate = sorted([*led.structure, *(entry for entry, _, _ in new)],
                       key=data.entry_sortkey)
    for error in validation.validate(candidate, led.options):  # type: ignore[no-untyped-call]
        found = by_entry.get(id(getattr(error, "entry", None)))
        if found is not None:
            owners, hypothetical = found
            when = (f"once applied (on {error.entry.date}), " if hypothetical else
                    f"the entry it books on {error.entry.date} ")
            refuse(owners, f"{when}Beancount would report: {error.message} [beancount]"
                   if hypothetical else f"{when}would fail bean-check: {error.message} "
                   "[beancount]")
    booked = [(entry, owners) for entry, owners, hypothetical in new if not hypothetical]
    if not booked or not led.balances:
        return
    moved = {p.account for entry, _ in booked for p in entry.postings}
    first = min(entry.date for entry, _ in booked)
    relevant = [b for b in led.balances if b.date > first and any(
        a == b.account or a.startswith(b.account + ":") for a in moved)]
    if not relevant:
        return
    failing = {((e.source or {}).get("filename"), (e.source or {}).get("lineno"))
               for e in led.errors if type(e).__name__ == "BalanceError"}
    entries = [e for e in led.entries
               if not (isinstance(e, data.Transaction) and e.flag == flags.FLAG_PADDING)]
    entries = sorted([*entries, *(entry for entry, _ in booked)], key=data.entry_sortkey)
    entries, _ = pad_ops.pad(entries, led.options)  # type: ignore[no-untyped-call]
    _, errors = balance_ops.check(entries, led.options)  # type: ignore[no-untyped-call]
    for error in errors:
        where = ((error.source or {}).get("filename"), (error.source or {}).get("lineno"))
        if where in failing or not isinstance(error.entry, data.Balance):
            continue
        assertion = error.entry
        for entry, owners in booked:
            if entry.date < assertion.date and any(
                    p.account == assertion.account or p.account.startswith(
                        assertion.account + ":") for p in entry.postings):
                refuse(owners, f"the entry it books on {entry.date} would fail the balance "
                       f"assertion at {where[0]}:{where[1]} (bean-check: {error.message}) "
                       "[beancount]")


def record_judgement(book: Book, items: list[Item]) -> None:
    """Write into each accepted request the chain and converted amount the
    replay judged it at (`chain:`, `judged:`): the replay compares them with
    what it finds later, so a price or row added afterwards cannot change what
    an already written request needs. Neither is covered by the digest, so
    the judgement stands for the text written; the returned book's line
    numbers of the items after a request are off by the lines added."""
    for it in items:
        if it.refusal is not None or it.request is None or it.rerender is None:
            continue
        adj = book.get(it.request.id)
        if adj is None:
            continue
        judged = judged_value(adj)
        it.text = it.rerender([("chain", chain_text(adj.chain)), ("judged", judged)])
        it.request = it.request._replace(chain=adj.chain, judged=judged)


def _read(led: Ledger, items: list[Item]) -> None:
    """Parse the rendered items as the plugin will read them."""
    start = led.existing.count(b"\n") + render.separator(led.existing).count("\n") + 1
    lines = start
    for it in items:
        it.first_line = lines
        lines += it.text.count("\n") + 1  # the blank line after it
        it.last_line = lines - 1
    block = "\n".join(it.text for it in items)
    entries, errors, _ = parser.parse_string(block, report_filename=str(led.target),
                                             report_firstline=start)
    owners = _Owners(items)
    for error in errors:
        owner = owners.at(error.source.get("lineno", 0))
        for it in [owner] if owner else items:
            it.refusal = it.refusal or f"cannot be written as Beancount: {error.message}"
    reader = Reader()
    for entry in entries:
        owner = owners.at(entry.meta.get("lineno", 0))
        if owner is None or owner.refusal:
            continue
        if isinstance(entry, data.Transaction):
            owner.request = reader.request(entry)
        elif isinstance(entry, data.Custom) and entry.type == EVENT:
            owner.event = reader.event(entry)
        elif isinstance(entry, data.Custom) and entry.type == SEAL:
            owner.seal = read_seal(reader, entry)
    for problem in reader.problems:
        owner = owners.at(problem.source.lineno)
        if owner is not None and owner.refusal is None:
            owner.refusal = f"{problem.message} [{problem.code}]"
            owner.rule = problem.code
    for it in items:
        if it.refusal is None and it.request is None and it.event is None and it.seal is None:
            it.refusal = "the rendered entry could not be read back"


class _Owners:
    """Which item a line of the rendered block belongs to: a binary search
    over the items' first lines (ascending, their spans disjoint)."""

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.first_lines = [it.first_line for it in items]

    def at(self, lineno: int) -> Item | None:
        i = bisect.bisect_right(self.first_lines, lineno) - 1
        if i >= 0 and lineno <= self.items[i].last_line:
            return self.items[i]
        return None


def _blame(owners: _Owners, problem: Problem, filename: str) -> bool:
    """Refuse the item a problem sits on; False when it sits on an old entry."""
    if problem.source.filename != filename:
        return False
    owner = owners.at(problem.source.lineno)
    if owner is None:
        return False
    if owner.refusal is None:
        owner.refusal = f"{problem.message} [{problem.code}]"
        owner.rule = problem.code
    return True


def _check_effects(book: Book, items: list[Item]) -> None:
    """An entry the plugin would keep without effect (an approval of an invalid
    request, a stale one) is refused too: it would only confuse the audit trail."""
    histories: dict[str, dict[Source, Record]] = {}  # per adjustment, by event source

    def record_of(event: Event) -> Record | None:
        adj = book.get(event.adjustment_id)
        if adj is None:
            return None
        by_source = histories.get(event.adjustment_id)
        if by_source is None:
            by_source = {}
            for r in adj.history:
                by_source.setdefault(r.event.source, r)  # the first, as a scan would
            histories[event.adjustment_id] = by_source
        return by_source.get(event.source)

    for it in items:
        if it.refusal is not None:
            continue
        if it.request is not None:
            adj = book.get(it.request.id)
            if adj is None or adj.request.source != it.request.source:
                it.refusal = f"{it.request.id} would not be read as a new request"
            elif adj.state.value == "invalid":
                messages = [f"{p.message} [{p.code}]" for p in adj.problems]
                it.refusal = "; ".join(messages) or "the request would be invalid"
        elif it.event is not None:
            record = record_of(it.event)
            if record is None:
                it.refusal = f"no request has the id {it.event.adjustment_id}"
            elif not record.accepted:
                it.refusal = f"{it.event.adjustment_id} {it.event.action}: {record.note}"


def _check_chains(loaded: Book, book: Book, items: list[Item],
                  accepted: list[Item] | None = None) -> None:
    """A decision judged at a step is refused (`changed`) unless the replay judges it
    there: after every decision of its adjustment that counts in `loaded` (a back-dated
    one may come before them) or, rendered after another of the write
    (`Item.follows`, dated no earlier: `batch`), once that one is written too
    (`accepted`, else not refused)."""
    for it in items:
        event, before = it.event, it.follows
        if it.refusal is not None or event is None or it.step is None:
            continue
        adj_id = event.adjustment_id
        if before is not None:
            if _written(before, accepted):
                continue
            it.refusal = unwritten_before(adj_id, it.index, before.index, it.step)
        else:
            adj, old = book.get(adj_id), loaded.get(adj_id)
            if adj is None or old is None:
                continue
            # The ledger's decisions that count and now come after it (one refused
            # changed nothing it was judged on).
            had = {r.event.source for r in old.history}
            sources = [r.event.source for r in adj.history]
            at = sources.index(event.source) if event.source in sources else len(sources)
            passed = [r.event for r in adj.history[at + 1:]
                      if r.accepted and r.event.source in had]
            if not passed:
                continue
            where = passed[0].source
            it.refusal = (f"{adj_id}: dated {event.date}, before its {passed[0].action} at "
                          f"{where.filename}:{where.lineno}, so it would be judged before "
                          f"that one, not at the step it names ({it.step})")
        it.code = "changed"


def _written(item: Item, accepted: list[Item] | None) -> bool:
    """Whether `item` is written with the write: not refused (a whole write), or
    among those accepted so far (a partial one, judged item by item)."""
    return item.refusal is None if accepted is None else any(a is item for a in accepted)
