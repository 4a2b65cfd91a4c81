"""The demo generator: deterministic, clean, complete, and the bundled demo is its output."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from pathlib import Path

import pytest
from beancount.core import data
from click.testing import CliRunner

import beancount_adjustments
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main as cli_main
from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    KNOWN_CATEGORIES,
    KNOWN_TYPES,
    Action,
    Adjustment,
    Money,
    State,
)
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.core.written import at_floor, same_amount
from beancount_adjustments.demo import generate_ledger
from ledgers import DEMO

TRANSACTION = re.compile(r"^\d{4}-\d\d-\d\d [*!] ", re.MULTILINE)
# What each type can end in under the demo's own policy: billing types are
# applied as a separate step (so they can rest approved); promotional credits
# are below every threshold (never waiting for anyone, their reversals neither).
APPROVAL_STATES = {State.PENDING, State.REJECTED, State.WITHDRAWN, State.REVERSING}


def _load(text: str, tmp_path: Path, name: str) -> tuple[list[data.Directive], list[object],
                                                         Book]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    entries, errors, options = loading.load_file(str(path))
    book = beancount_adjustments.book_of(options)
    assert book is not None
    return entries, errors, book


def _demo(tmp_path: Path) -> tuple[list[data.Directive], Book]:
    entries, errors, book = _load(DEMO.read_text(encoding="utf-8"), tmp_path, "demo.beancount")
    assert errors == []
    return entries, book


def _events(entries: list[data.Directive]) -> list[data.Custom]:
    return [e for e in entries if isinstance(e, data.Custom) and e.type == "adjustment"]


def _reversal_chain(book: Book, adj: Adjustment, cancelled: datetime.date) -> tuple[str, ...]:
    """The chain a reversal cancelled on `cancelled` needs, worked out from the book's rules."""
    assert adj.amount is not None
    rule = book.matrix.choose(adj_type=adj.request.type, category=adj.request.category,
                              tier=adj.tier, risk=adj.risk_flags, amount=adj.amount,
                              date=cancelled, rates=book.rules.rates)
    return rule.roles if rule else ()


def test_same_arguments_give_the_same_text_and_another_seed_another() -> None:
    first = generate_ledger(transactions=800, seed=3)
    assert generate_ledger(transactions=800, seed=3) == first
    assert generate_ledger(transactions=800, seed=4) != first


def test_the_bundled_demo_is_the_generators_output() -> None:
    # The demo's header says how it was made; a generator change must regenerate it.
    assert DEMO.read_text(encoding="utf-8") == generate_ledger(), (
        "ledgers/demo.beancount is stale: python -m beancount_adjustments.demo "
        "-o ledgers/demo.beancount")


def test_the_demo_holds_every_type_and_category_in_every_state_its_policy_allows(
        tmp_path: Path) -> None:
    _, errors, book = _load(DEMO.read_text(encoding="utf-8"), tmp_path, "demo.beancount")
    assert errors == []
    adjustments = list(book.adjustments.values())
    assert {a.request.type for a in adjustments} == set(KNOWN_TYPES)
    assert {a.request.category for a in adjustments} == set(KNOWN_CATEGORIES)
    assert {a.state for a in adjustments} == set(State) - {State.INVALID}
    states = Counter((a.request.type, a.state) for a in adjustments)
    for adj_type in KNOWN_TYPES:
        expected = {State.APPLIED, State.REVERSED}
        if adj_type != "credit:promotional":
            expected |= APPROVAL_STATES
        if adj_type.startswith("billing:"):
            expected.add(State.APPROVED)
        have = {state for (t, state), n in states.items() if t == adj_type and n}
        assert expected <= have, (adj_type, sorted(expected - have))
    # Decisions at several levels, and effects dated by `effective:`.
    assert max(len(a.approvals) for a in adjustments) >= 3
    assert any(a.effective_date != a.applied_on for a in adjustments if a.applied_on)


def test_every_decision_carries_the_digest_of_what_it_decided_on(tmp_path: Path) -> None:
    entries, errors, book = _load(DEMO.read_text(encoding="utf-8"), tmp_path, "demo.beancount")
    assert errors == []
    events = [e for e in entries if isinstance(e, data.Custom) and e.type == "adjustment"]
    assert events
    for event in events:
        adj = book.adjustments[event.values[0].value]
        assert event.meta.get("digest") == adj.digest, (event.meta["lineno"], adj.id)
        assert event.meta.get("by")
        assert event.meta.get("at")
    assert book.warnings == ()


@pytest.mark.parametrize("transactions", [400, 6000])
def test_the_size_scales_with_transactions_and_stays_clean(tmp_path: Path,
                                                           transactions: int) -> None:
    text = generate_ledger(transactions=transactions, seed=11)
    written = len(TRANSACTION.findall(text))
    requests = text.count("\n  adjustment-type: ")
    events = text.count(' custom "adjustment" "')
    assert 0.85 * transactions <= written <= 1.15 * transactions
    assert 0.15 * transactions <= requests <= 0.25 * transactions
    assert 1.5 * requests <= events <= 3.5 * requests
    _, errors, book = _load(text, tmp_path, f"demo-{transactions}.beancount")
    assert errors == [], [getattr(e, "message", e) for e in errors[:3]]
    assert len(book.adjustments) == requests


def test_bean_adjust_demo_writes_the_generators_output(tmp_path: Path) -> None:
    target = tmp_path / "small.beancount"
    result = CliRunner().invoke(cli_main, ["demo", "-o", str(target), "--transactions", "500",
                                           "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == generate_ledger(transactions=500, seed=2)
    refused = CliRunner().invoke(cli_main, ["demo", "-o", str(target), "--transactions", "5"])
    assert refused.exit_code == 2
    assert "--transactions" in refused.output


def test_the_bundled_demo_is_clean_as_bean_check_sees_it() -> None:
    # bean-check loads the file where it is: no error and no adjustment warning.
    _, errors, options = loading.load_file(str(DEMO))
    assert errors == [], [getattr(e, "message", e) for e in errors[:3]]
    book = beancount_adjustments.book_of(options)
    assert book is not None
    assert book.problems == ()
    assert book.warnings == ()
    assert len(book.adjustments) == DEMO.read_text(encoding="utf-8").count(
        "\n  adjustment-type: ")


def test_every_decision_binds_to_the_current_digest_version(tmp_path: Path) -> None:
    entries, book = _demo(tmp_path)
    for event in _events(entries):
        adj = book.adjustments[event.values[0].value]
        written = event.meta["digest"]
        assert written.startswith(f"{digests.VERSION}-"), (event.meta["lineno"], written)
        assert digests.matches(written, adj.request), (event.meta["lineno"], adj.id)
        assert written == digests.request_digest(adj.request)
    # Every decision counted: nothing refused, nothing stale.
    for adj in book.adjustments.values():
        assert all(r.accepted and not r.stale for r in adj.history), adj.id


def test_every_approval_carries_the_chain_in_force_and_what_it_judged(tmp_path: Path) -> None:
    entries, book = _demo(tmp_path)
    cancelled: dict[str, datetime.date] = {}
    checked = {"request": 0, "reversal": 0, "judged": 0}
    for event in _events(entries):  # in ledger order, so a cancel precedes its reversal
        adj = book.adjustments[event.values[0].value]
        action = event.values[1].value
        if action == "cancel" and adj.applied_on is not None:
            cancelled[adj.id] = event.date
        if action != "approve":
            assert "chain" not in event.meta
            assert "judged" not in event.meta
            continue
        if adj.id in cancelled:
            expected = _reversal_chain(book, adj, cancelled[adj.id])
            checked["reversal"] += 1
        else:
            expected = adj.chain
            checked["request"] += 1
        assert expected, (event.meta["lineno"], adj.id)
        assert event.meta.get("chain") == chain_text(expected), (event.meta["lineno"], adj.id)
        if adj.amount is not None and adj.amount.currency == "USD":
            assert adj.judged is None
            assert "judged" not in event.meta
        else:
            assert adj.judged is not None
            written = event.meta["judged"]
            recorded = Money(written.number, written.currency)
            assert recorded == adj.judged, adj.id
            assert same_amount(recorded, adj.judged), adj.id
            checked["judged"] += 1
    assert all(checked.values()), checked


def test_the_demo_has_reversals_approved_awaiting_and_refused(tmp_path: Path) -> None:
    _, book = _demo(tmp_path)
    adjustments = list(book.adjustments.values())
    reversing = [a for a in adjustments if a.state is State.REVERSING]
    assert len(reversing) >= 2
    assert any(a.reversal_approvals for a in reversing)  # some with a level filled
    for adj in reversing:
        assert adj.reversal_chain
        assert adj.cancelled_by
        assert len(adj.reversal_approvals) < len(adj.reversal_chain)
        assert adj.next_role == adj.reversal_chain[len(adj.reversal_approvals)]
    approved_reversals = [a for a in adjustments if a.state is State.REVERSED
                          and a.reversal_approvals]
    assert approved_reversals
    for adj in approved_reversals:
        assert [a.role for a in adj.reversal_approvals] == list(adj.reversal_chain)
        assert adj.reversed_on == adj.reversal_approvals[-1].date
    for adj in reversing + approved_reversals:
        deciders = [a.by for a in adj.reversal_approvals]
        assert len(set(deciders)) == len(deciders)
        assert not set(deciders) & {*adj.request.requesters, adj.cancelled_by}
    refused = [a for a in adjustments if a.state is State.APPLIED
               and any(r.event.action is Action.REJECT for r in a.history)]
    assert refused
    for adj in refused:
        actions = [r.event.action for r in adj.history]
        assert actions.index(Action.CANCEL) < actions.index(Action.REJECT)
        assert adj.reversed_on is None


def test_some_requests_are_entered_on_behalf_of_another_and_neither_approves(
        tmp_path: Path) -> None:
    _, book = _demo(tmp_path)
    adjustments = list(book.adjustments.values())
    entered = [a for a in adjustments
               if a.request.entered_by not in (None, a.request.requested_by)]
    assert len(entered) >= 10
    assert any(a.approvals for a in entered)
    for adj in adjustments:
        assert not set(adj.approvers) & set(adj.request.requesters), adj.id


def test_every_decision_is_stamped_on_its_own_date_with_an_offset(tmp_path: Path) -> None:
    entries, _ = _demo(tmp_path)
    for event in _events(entries):
        moment = datetime.datetime.fromisoformat(event.meta["at"])
        assert moment.utcoffset() is not None, event.meta["lineno"]
        assert moment.date() == event.date == at_floor(event.meta["at"]), event.meta["lineno"]
