"""The writer judges new items by going on from the loaded book's replay
(`core.continuation.continued`) when they come after everything the book judged, and
by a full replay otherwise; both give the same book and the same bytes.

The property test compares the two on generated ledgers and candidates
(dated anywhere, so both paths are taken); the others pin each fallback and
what going on must not do (replay the old items, change the loaded book).
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from beancount_adjustments.beans.effects import entries_for
from beancount_adjustments.beans.loading import Snapshot, disk_state, load_uncached, snapshot
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.continuation import continued
from beancount_adjustments.core.models import Action, PeriodLock, Source
from beancount_adjustments.core.replay import Replay
from beancount_adjustments.plugin import book_of
from beancount_adjustments.writer import (
    Decision,
    NewRequest,
    WriteResult,
    judging,
    write_decisions,
    write_requests,
)
from beancount_adjustments.writer.judging import raw_request
from ledgers import TOOLS_BASE

HEAD = TOOLS_BASE + """
include "adjustments.beancount"
include "late.beancount"

2024-01-01 custom "adjustment-user" "erin" "manager"
2024-01-01 custom "adjustment-customer" "cust_1" "standard"
2024-01-01 custom "adjustment-customer" "cust_2" "vip"
2024-01-01 custom "adjustment-approval" "debit:*" 0.00 USD

2024-02-01 * "cust_1" "Invoice February"
  invoice-id: "INV-1"
  customer: "cust_1"
  Assets:Receivable:Customers     100.00 USD
  Income:Sales                   -100.00 USD
"""

SEPARATE = """
2024-01-01 custom "adjustment-policy" "credit:goodwill"
  apply: "separate"
"""
RISK_ROW = """
2024-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "carol"
  risk: "duplicates"
"""
LOCK = """
2024-03-08 custom "adjustment-lock" 2024-03-04
  by: "carol"
"""

NOW = datetime.datetime(2024, 3, 14, 9, 30, tzinfo=datetime.UTC)
BASE = datetime.date(2024, 3, 1)
FILES = ("main.beancount", "adjustments.beancount", "late.beancount")
STAMPS = [None, "2024-03-01T08:00:00+00:00", "2024-03-20T10:00:00+00:00",
          "2024-03-05T23:30:00-05:00", "2024-03-09T12:00:00+05:00"]


def request_text(index: int, day: int, kind: str, customer: str, amount: str,  # noqa: PLR0917
                 invoice: bool, by: str, at: str | None) -> str:
    date = BASE + datetime.timedelta(days=day)
    sign = -1 if kind.startswith("credit") else 1
    number = Decimal(amount) * sign
    other = "Income:Sales:Returns" if sign < 0 else "Income:Sales"
    lines = [f'{date} ! "{customer}" "Request {index}" ^ADJ-{index}',
             f'  adjustment-type: "{kind}"', f'  customer: "{customer}"',
             f'  reason: "Reason {index % 2}"', f'  requested-by: "{by}"']
    if invoice:
        lines.append('  invoice: "INV-1"')
    if at:
        lines.append(f'  at: "{at}"')
    lines += [f"  {other}  {-number} USD", f"  Assets:Receivable:Customers  {number} USD"]
    return "\n".join(lines) + "\n"


def event_text(adj: int, action: str, by: str, day: int, at: str | None) -> str:
    date = BASE + datetime.timedelta(days=day)
    lines = [f'{date} custom "adjustment" "ADJ-{adj}" "{action}"', f'  by: "{by}"']
    if action in ("reject", "cancel"):
        lines.append('  reason: "Not needed"')
    if at:
        lines.append(f'  at: "{at}"')
    return "\n".join(lines) + "\n"


USERS = st.sampled_from(["alice", "bob", "erin", "carol"])
ACTIONS = st.sampled_from(["approve", "approve", "reject", "apply", "cancel"])

requests_st = st.tuples(
    st.integers(0, 8), st.sampled_from(["credit:refund", "credit:goodwill", "debit:fee"]),
    st.sampled_from(["cust_1", "cust_2"]), st.sampled_from(["10.00", "50.00", "500.00",
                                                          "1500.00", "80.00"]),
    st.booleans(), USERS, st.sampled_from([None, None, None, *STAMPS]), st.sampled_from(FILES))


new_requests_st = st.lists(st.builds(
    lambda day, kind, customer, amount, invoice, by: NewRequest(
        type=kind, customer=customer, requested_by=by, reason="Reason 1",
        postings=_postings(kind, Decimal(amount)),
        meta={"invoice": "INV-1"} if invoice else {},
        date=BASE + datetime.timedelta(days=day)),
    st.integers(0, 13), st.sampled_from(["credit:refund", "credit:goodwill", "debit:fee"]),
    st.sampled_from(["cust_1", "cust_2"]), st.sampled_from(["10.00", "50.00", "1500.00"]),
    st.booleans(), USERS), max_size=3)

BACKDATING = """
2024-01-01 custom "adjustment-policy" "credit:*"
  backdate-days: 20
2024-01-01 custom "adjustment-policy" "debit:*"
  backdate-days: 20
"""


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, str], list[Decision], list[NewRequest]]:
    """A ledger (its three files), then decisions and requests to write to it."""
    texts = dict.fromkeys(FILES, "")
    main = HEAD
    for extra in (SEPARATE, RISK_ROW, LOCK, BACKDATING):
        main += draw(st.sampled_from(["", extra]))
    texts["main.beancount"] = main
    requests = draw(st.lists(requests_st, min_size=1, max_size=6))
    for index, (day, kind, customer, amount, invoice, by, at, name) in enumerate(
            requests, start=1):
        texts[name] += "\n" + request_text(index, day, kind, customer, amount, invoice, by, at)
    ids = st.integers(1, len(requests) + 1)  # one more: an id no request has
    for adj, action, by, day, at, name in draw(st.lists(
            st.tuples(ids, ACTIONS, USERS, st.integers(0, 9), st.sampled_from(STAMPS),
                      st.sampled_from(FILES)), max_size=9)):
        texts[name] += "\n" + event_text(adj, action, by, day, at)
    decisions = draw(st.lists(st.builds(
        lambda adj, action, by, day: Decision(
            f"ADJ-{adj}", Action(action), by=by, reason="Because" if action in (
                "reject", "cancel") else None, date=BASE + datetime.timedelta(days=day)),
        ids, ACTIONS, USERS, st.one_of(st.integers(0, 13), st.integers(9, 13))), max_size=5,
        # A write decides an adjustment once unless each decision names its step
        # (`writer.batch`); one naming none twice is refused before any judging.
        unique_by=lambda d: d.adjustment_id))
    return texts, decisions, draw(new_requests_st)


def _postings(kind: str, amount: Decimal) -> tuple[tuple[str, Decimal, str], ...]:
    if kind.startswith("credit"):
        return (("Income:Sales:Returns", amount, "USD"),
                ("Assets:Receivable:Customers", -amount, "USD"))
    return (("Assets:Receivable:Customers", amount, "USD"), ("Income:Sales", -amount, "USD"))


def write_files(folder: Path, texts: dict[str, str]) -> Path:
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "main.beancount"


def fingerprinted_load(path: Path) -> Snapshot:
    """A load with the state of its files taken just before it (as Fava's extension)."""
    before = disk_state(load_uncached(path)[2], includes_too=False)
    snap = snapshot(*load_uncached(path), before)
    assert snap is not None
    return snap


@contextmanager
def full_replay_only() -> Iterator[None]:
    """The writer as it was: every candidate judged by replaying the whole book."""
    with mock.patch.object(judging, "continued", return_value="replayed in full (test)"):
        yield


def judge(path: Path, snap: Snapshot, items: list[Any], full: bool,
          now: datetime.datetime = NOW) -> WriteResult:
    write = write_requests if items and isinstance(items[0], NewRequest) else write_decisions
    with full_replay_only() if full else nullcontext():
        return write(path, items, partial=True, now=now, loaded=snap, dry_run=True)


def booked(book: Book) -> dict[str, list[Any]]:
    """Every adjustment's entries as the plugin books them."""
    tags: dict[Any, frozenset[str]] = {}
    return {adj_id: entries_for(raw_request(record.request), record, tags)
            for adj_id, record in book.tracked().items()}


def assert_same(going: WriteResult, full: WriteResult) -> None:
    assert going.text == full.text  # the bytes the writer would write
    assert going.ids == full.ids
    assert [(r.key, r.message, r.index, r.code) for r in going.refused] == [
        (r.key, r.message, r.index, r.code) for r in full.refused]
    assert going.book is not None
    assert full.book is not None
    assert list(going.book.adjustments) == list(full.book.adjustments)
    for adj_id, adj in full.book.adjustments.items():
        assert going.book.adjustments[adj_id] == adj, adj_id  # state, history, flags...
    assert going.book.problems == full.book.problems
    assert going.book.warnings == full.book.warnings
    assert booked(going.book) == booked(full.book)


def last_date(snap: Snapshot) -> datetime.date:
    book = book_of(snap.options)
    assert book is not None
    return max(item.date for item in book.facts.timeline)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_going_on_judges_exactly_as_a_full_replay(
        case: tuple[dict[str, str], list[Decision], list[NewRequest]]) -> None:
    texts, decisions, requests = case
    with tempfile.TemporaryDirectory() as folder:
        path = write_files(Path(folder), texts)
        snap = fingerprinted_load(path)
        last = last_date(snap)
        for items in (decisions, requests):
            if not items:
                continue
            # Written on the latest item's day: most are not back-dated, some are.
            now = noon(max(item.date for item in items))
            going = judge(path, snap, items, False, now)
            full = judge(path, snap, items, True, now)
            note(f"{type(items[0]).__name__}: {going.full_replay or 'went on'}")
            event(f"{type(items[0]).__name__}: {'full' if going.full_replay else 'went on'}, "
                  f"{'some' if going.ids else 'none'} written")
            assert_same(going, full)
            later = all(item.date is not None and item.date > last for item in items)
            if later and not requests_named_by_events(snap, items):
                assert going.full_replay == "", going.full_replay  # the usual case goes on


def requests_named_by_events(snap: Snapshot, items: list[Any]) -> bool:
    book = book_of(snap.options)
    assert book is not None
    return any(p.code == "unknown-id" for p in book.problems) and any(
        isinstance(item, NewRequest) for item in items)


# -- the usual case, and what going on must not do -----------------------------

SIMPLE = {
    "main.beancount": HEAD + SEPARATE + "\n" + request_text(
        1, 2, "credit:refund", "cust_1", "50.00", False, "alice", None) + "\n" + request_text(
        2, 3, "credit:goodwill", "cust_1", "80.00", True, "alice", None) + "\n" + request_text(
        3, 4, "credit:refund", "cust_2", "30.00", False, "alice", None) + "\n" + event_text(
        2, "approve", "bob", 5, None),
    "adjustments.beancount": "", "late.beancount": ""}


@pytest.fixture
def simple(tmp_path: Path) -> tuple[Path, Snapshot]:
    path = write_files(tmp_path, SIMPLE)
    return path, fingerprinted_load(path)


def noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), datetime.UTC)


def both(path: Path, snap: Snapshot, items: list[Any]) -> WriteResult:
    """The write judged going on and in full (the same), written on the items' day."""
    now = noon(max(item.date for item in items))
    going = judge(path, snap, items, False, now)
    assert_same(going, judge(path, snap, items, True, now))
    return going


def test_a_decision_after_the_last_entry_goes_on_without_replaying_the_old_ones(
        simple: tuple[Path, Snapshot], monkeypatch: pytest.MonkeyPatch) -> None:
    path, snap = simple
    handled: list[str] = []
    real = Replay.handle

    def counting(self: Any, event: Any) -> None:
        handled.append(event.adjustment_id)
        real(self, event)

    monkeypatch.setattr(Replay, "handle", counting)
    loaded = book_of(snap.options)
    assert loaded is not None
    before = loaded.tracked()["ADJ-1"]
    state, history = before.state, before.history
    day = datetime.date(2024, 3, 10)
    result = write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob", date=day),
                                    Decision("ADJ-3", Action.APPROVE, by="bob", date=day)],
                             now=noon(day), loaded=snap)
    assert (result.full_load, result.full_replay) == ("", "")
    assert handled == ["ADJ-1", "ADJ-3"]  # only the new events, not the book's own
    assert result.book is not None
    assert str(result.book.adjustments["ADJ-1"].state) == "applied"
    # The book Fava holds is as it was: its record was copied, not changed.
    assert loaded.tracked()["ADJ-1"] is before
    assert (before.state, before.history) == (state, history)
    assert str(loaded.adjustments["ADJ-1"].state) == "pending"
    assert result.book.tracked()["ADJ-2"] is loaded.tracked()["ADJ-2"]  # not touched: shared
    _, errors, _ = load_uncached(path)
    assert errors == []


def test_a_decision_before_the_last_entry_is_a_full_replay(
        simple: tuple[Path, Snapshot]) -> None:
    path, snap = simple
    result = both(path, snap, [Decision("ADJ-1", Action.APPROVE, by="bob",
                                        date=datetime.date(2024, 3, 5))])
    assert "before the last entry the book judged (2024-03-06)" in result.full_replay
    assert result.ids == ("ADJ-1",)


def test_a_decision_of_the_last_day_goes_on_when_it_comes_after_that_day_s_entries(
        simple: tuple[Path, Snapshot]) -> None:
    path, snap = simple
    result = both(path, snap, [Decision("ADJ-2", Action.APPLY, by="erin",
                                        date=datetime.date(2024, 3, 6))])
    assert result.full_replay == ""
    assert result.book is not None
    assert str(result.book.adjustments["ADJ-2"].state) == "applied"


def test_a_new_entry_ranked_before_an_old_one_of_the_last_day_is_a_full_replay(
        tmp_path: Path) -> None:
    # The last day's approval sits in late.beancount, loaded after the file written to.
    texts = dict(SIMPLE, **{"late.beancount": "\n" + event_text(1, "approve", "bob", 5, None)})
    path = write_files(tmp_path, texts)
    snap = fingerprinted_load(path)
    result = both(path, snap, [Decision("ADJ-3", Action.APPROVE, by="bob",
                                        date=datetime.date(2024, 3, 6))])
    assert "on 2024-03-06 a new entry comes before one the book judged" in result.full_replay


def test_an_at_stamp_that_orders_a_new_entry_first_is_a_full_replay(tmp_path: Path) -> None:
    # Two stamped approvals of the last day out of order: the day takes the order of
    # `at:`, and the new decision's stamp (NOW) falls between them.
    texts = dict(SIMPLE)
    texts["main.beancount"] += ("\n" + event_text(3, "approve", "bob", 5,
                                                  "2024-03-20T10:00:00+00:00")
                                + "\n" + event_text(1, "approve", "erin", 5,
                                                    "2024-03-06T08:00:00+00:00"))
    path = write_files(tmp_path, texts)
    snap = fingerprinted_load(path)
    result = both(path, snap, [Decision("ADJ-2", Action.APPLY, by="erin",
                                        date=datetime.date(2024, 3, 6))])
    assert "by file and line, or by `at:`" in result.full_replay


def test_a_new_request_whose_id_an_earlier_event_named_is_a_full_replay(
        tmp_path: Path) -> None:
    texts = dict(SIMPLE)
    texts["main.beancount"] += "\n" + event_text(9, "approve", "bob", 5, None)
    path = write_files(tmp_path, texts)
    snap = fingerprinted_load(path)
    new = NewRequest(type="credit:refund", customer="cust_1", requested_by="alice",
                     reason="Reason 1", postings=_postings("credit:refund", Decimal(40)),
                     id="ADJ-9", date=datetime.date(2024, 3, 10))
    result = both(path, snap, [new])
    assert "an event before ADJ-9 names its id" in result.full_replay


def test_a_new_request_goes_on_with_the_arrival_checks_of_the_book(
        simple: tuple[Path, Snapshot]) -> None:
    path, snap = simple
    # The same customer, amount and reason as ADJ-1: the duplicates check fires.
    new = NewRequest(type="credit:refund", customer="cust_1", requested_by="alice",
                     reason="Reason 1", postings=_postings("credit:refund", Decimal(50)),
                     date=datetime.date(2024, 3, 10))
    first = both(path, snap, [new])
    assert first.full_replay == ""
    assert first.book is not None
    assert "duplicates" in first.book.adjustments[first.ids[0]].risk_flags
    # The loaded book's arrival context is untouched: the same request judges the same.
    again = both(path, snap, [new])
    assert again.book is not None
    assert again.book.adjustments[again.ids[0]].risk_flags == (
        first.book.adjustments[first.ids[0]].risk_flags)


def test_credits_against_an_invoice_count_the_book_s_credits(
        simple: tuple[Path, Snapshot]) -> None:
    path, snap = simple
    # ADJ-2 (80.00 against INV-1 of 100.00) applied, then 21.00 more (applied on
    # arrival, below every threshold): over the invoice.
    new = NewRequest(type="credit:refund", customer="cust_1", requested_by="alice",
                     reason="More", postings=_postings("credit:refund", Decimal(10)),
                     meta={"invoice": "INV-1"}, date=datetime.date(2024, 3, 10))
    decisions = [Decision("ADJ-2", Action.APPLY, by="erin", date=datetime.date(2024, 3, 10))]
    applied = both(path, snap, decisions)
    assert applied.full_replay == ""
    assert applied.ids == ("ADJ-2",)
    path.parent.joinpath("adjustments.beancount").write_text(
        applied.text + "\n", encoding="utf-8")
    snap = fingerprinted_load(path)
    over = both(path, snap, [dataclasses.replace(
        new, postings=_postings("credit:refund", Decimal(21)))])
    assert over.full_replay == ""
    assert [r.message for r in over.refused] == [over.refused[0].message]
    assert "exceeds-invoice" in over.refused[0].message
    assert "at most 20.00 USD is left" in over.refused[0].message


def test_a_decision_on_a_sealed_day_is_a_full_replay(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from beancount_adjustments.cli import main

    path = write_files(tmp_path, SIMPLE)
    sealed = CliRunner().invoke(main, ["seal", "-f", str(path), "--as", "carol",
                                       "--date", "2024-03-08"])
    assert sealed.exit_code == 0, sealed.output
    snap = fingerprinted_load(path)
    on_sealed = both(path, snap, [Decision("ADJ-1", Action.APPROVE, by="bob",
                                           date=datetime.date(2024, 3, 8))])
    assert "problems of their own" in on_sealed.full_replay
    assert on_sealed.refused
    assert "seal-broken" in on_sealed.refused[0].message
    after = both(path, snap, [Decision("ADJ-1", Action.APPROVE, by="bob",
                                       date=datetime.date(2024, 3, 9))])
    assert after.full_replay == ""
    assert after.ids == ("ADJ-1",)


def test_facts_with_anything_but_new_requests_and_events_are_not_gone_on_from(
        simple: tuple[Path, Snapshot]) -> None:
    _, snap = simple
    book = book_of(snap.options)
    assert book is not None
    lock = PeriodLock(date=datetime.date(2024, 3, 9), through=datetime.date(2024, 3, 8),
                      by="carol", source=Source(filename="x", lineno=1))
    with_lock = dataclasses.replace(book.facts, locks=[*book.facts.locks, lock])
    assert continued(book, with_lock, [], []) == "the locks differ from the book's"
    rows = dataclasses.replace(book.facts, rows=list(book.facts.rows))
    assert continued(book, rows, [], []) == "the rows differ from the book's"
    # What a full replay of the book's own facts gives: no new item, the same book.
    same = continued(book, dataclasses.replace(book.facts, timeline=[]), [], [])
    assert isinstance(same, Book)
    assert same.problems == book.problems
