"""Review s13b: rounds 50-51 attacked where the tools must agree with the writer.

On a server in UTC (Docker's default) the writer stamps `at: ...+00:00`, which the
replay reads as possibly half a day behind its writer (`core.written.at_ceiling`):
from noon on, a decision written today is judged as written tomorrow too, so a
role, limit, policy or lock that changes tomorrow binds it. Every tool that says
whether a user may act now (Fava's buttons and "awaiting me", `list --awaiting`,
`approve --all-pending`, who may approve) must ask that same written day, from one
function (`writer.written_today`). Also: a reversal dated at an `effective:` ahead
keeps the plugin's output sorted and is judged under the locks on that later date.
A test whose docstring says "Hole:" failed on the code it was written against.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.cli import views as cli_views
from beancount_adjustments.cli.common import load as cli_load
from beancount_adjustments.core.models import Action
from beancount_adjustments.fava_ext import actions
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.reports import queries
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from beancount_adjustments.writer import ledger as writer_ledger
from ledgers import BACKDATING, TOOLS_BASE, load, request
from ledgers import event as written_event

UTC = datetime.UTC
DAY = datetime.date(2024, 3, 9)
AFTER_NOON = datetime.datetime(2024, 3, 9, 13, 0, tzinfo=UTC)
BEFORE_NOON = datetime.datetime(2024, 3, 9, 11, 0, tzinfo=UTC)
# bob is a manager until 03-10, an agent from then on: an approval written on 03-09
# after noon UTC is judged as written on 03-10 (the writer refuses it).
DEMOTED = (TOOLS_BASE + request("ADJ-1", "2024-03-01", "-50.00", customer="cust_123")
           + '\n2024-03-10 custom "adjustment-user" "bob" "agent"\n')


@pytest.fixture
def utc_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The process in UTC, and the writer's clock at a moment the test sets."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def set_now(now: datetime.datetime) -> None:
        monkeypatch.setattr(writer_ledger, "clock", lambda: now)

    yield set_now
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _book(tmp_path: Path) -> tuple[Path, object]:
    path = tmp_path / "main.beancount"
    path.write_text(DEMOTED)
    _entries, _errors, _options, book = cli_load(path, cached=False)
    return path, book


def _writer_allows(path: Path, now: datetime.datetime) -> bool:
    try:
        write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob")], now=now,
                        dry_run=True)
    except WriteRefused:
        return False
    return True


@pytest.mark.parametrize(("now", "allowed"), [(BEFORE_NOON, True), (AFTER_NOON, False)])
def test_every_tool_asks_the_writers_written_day(
        tmp_path: Path, utc_server: object, monkeypatch: pytest.MonkeyPatch,
        now: datetime.datetime, allowed: bool) -> None:
    """Hole: after round 51 only `approve --all-pending` asked the day the writer's
    UTC stamp counts as written (`cli.common.written_today`): at 13:00 UTC Fava's
    Approve button was enabled, the item was "awaiting me" and in `list --awaiting
    bob`, and bob was among who may approve, while the writer refused him
    (`missing-role`: an agent on 03-10). Each asks `writer.written_today` now."""
    utc_server(now)  # type: ignore[operator]
    path, book = _book(tmp_path)
    assert _writer_allows(path, now) is allowed
    adj = book.get("ADJ-1")  # type: ignore[attr-defined]
    index = BookIndex.build(book)  # type: ignore[arg-type]
    written = writer_ledger.written_today()
    hints = {h.action: h for h in actions.action_hints(index, adj, "bob", DAY,
                                                      written=written)}
    assert hints["approve"].allowed is allowed
    assert actions.is_mine(index, adj, "bob", DAY, written=written) is allowed
    assert ("bob" in actions.eligible_approvers(index, adj, DAY, written=written)) is allowed
    awaiting = queries.Filters(awaiting="bob", written=written)
    assert bool(queries.select(book, awaiting, DAY)) is allowed  # type: ignore[arg-type]
    monkeypatch.setattr(cli_views, "today", lambda: DAY)
    listed = CliRunner().invoke(main, ["list", "-f", str(path), "--awaiting", "bob"])
    assert listed.exit_code == 0, listed.output
    assert ("ADJ-1" in listed.output) is allowed
    shown = CliRunner().invoke(main, ["show", "ADJ-1", "-f", str(path)])
    assert shown.exit_code == 0, shown.output
    assert ("(manager): bob" in shown.output) is allowed, shown.output


# A reversal dated at its adjustment's `effective:` ahead (round 50).

AHEAD = BACKDATING + request("ADJ-1", "2026-02-20", "-50.00",
                             extra="effective: 2026-03-20") + "".join((
    written_event("ADJ-1", "2026-02-21", "approve", "bob", at="2026-02-21T10:00:00+01:00"),
    written_event("ADJ-1", "2026-03-01", "cancel", "alice", reason="Wrong customer",
                  at="2026-03-01T10:00:00+01:00"),
    written_event("ADJ-1", "2026-03-02", "approve", "erin", at="2026-03-02T10:00:00+01:00"),
))
LATER = """
2026-03-25 * "Later sale"
  Income:Sales  -10.00 USD
  Assets:Bank  10.00 USD
"""


def test_a_reversal_dated_at_the_effect_ahead_keeps_the_entries_sorted() -> None:
    """Held: the reversal approved 03-02 of an effect booked 03-20 is dated 03-20, and
    the plugin's output stays in Beancount's order with entries before and after it."""
    from beancount.core import data

    loaded = load(AHEAD + LATER + '2026-03-10 * "Between"\n  Income:Sales  -1.00 USD\n'
                  "  Assets:Bank  1.00 USD\n")
    assert loaded.state("ADJ-1") == "reversed", loaded.errors
    assert loaded.entries == sorted(loaded.entries, key=data.entry_sortkey)
    reversals = [e for e in loaded.entries if isinstance(e, data.Transaction)
                 and "adjustment-reversal" in e.tags]
    assert [e.date for e in reversals] == [datetime.date(2026, 3, 20)]


@pytest.mark.parametrize(("through", "at", "refused"), [
    ("2026-03-20", "2026-03-02T10:00:00+01:00", False),
    ("2026-03-20", "2026-03-22T10:00:00+01:00", True),
    ("2026-03-15", "2026-03-22T10:00:00+01:00", False),
])
def test_a_reversal_dated_ahead_is_judged_under_the_locks_of_its_own_date(
        through: str, at: str, refused: bool) -> None:
    """Held: a lock closes no later than its own date, so no lock in force at the
    approval can hold the effect's later date; the reversal approved 03-02 (dated
    03-20) books under a lock of 03-21 written after it, and is `closed-period` when
    the approval dated 03-02 was written 03-22, after the lock closed 03-20; a lock
    closing 03-15 refuses nothing, though the approval's own date is inside it: the
    reversal is booked 03-20."""
    text = AHEAD.replace("2026-03-02T10:00:00+01:00", at)
    lock = f'2026-03-21 custom "adjustment-lock" {through}\n  by: "carol"\n'
    loaded = load(text + lock)
    line = loaded.line('"ADJ-1" "approve"', 1)
    assert ((line, "closed-period") in loaded.codes) is refused, loaded.codes
    assert {c for _, c in loaded.codes} <= {"closed-period"}, loaded.codes
    assert loaded.state("ADJ-1") == ("reversing" if refused else "reversed")
