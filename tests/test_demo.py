"""The demo generator: deterministic, clean, complete, and the bundled demo is its output."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner

import beancount_adjustments
from beancount_adjustments.book import Book
from beancount_adjustments.cli import main as cli_main
from beancount_adjustments.demo import generate_ledger
from beancount_adjustments.models import KNOWN_CATEGORIES, KNOWN_TYPES, State

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "ledgers" / "demo.beancount"
TRANSACTION = re.compile(r"^\d{4}-\d\d-\d\d [*!] ", re.MULTILINE)
# What each type can end in under the demo's own policy: billing types are
# applied as a separate step (so they can rest approved); promotional credits
# are below every threshold (never waiting for anyone).
APPROVAL_STATES = {State.PENDING, State.REJECTED, State.WITHDRAWN}


def _load(text: str, tmp_path: Path, name: str) -> tuple[list[data.Directive], list[object],
                                                         Book]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    entries, errors, options = loader.load_file(str(path))
    book = beancount_adjustments.book_of(options)
    assert book is not None
    return entries, errors, book


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
