"""Round 32: one home for "which request does an external id name?" and for "when
was this written?".

Each question had four answers. These tests show where the copies disagreed (a
ledger holding one external id twice, by hand; stamps one copy read and another
refused or read as another moment) and pin the one answer: the first request in
ledger order carrying the id, whatever its state (`core.facts.filed_requests`), and
`core.moments.read_moment` for every ISO 8601 moment.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sample_ledgers import WRITER_LEDGER

from beancount_adjustments import api
from beancount_adjustments.cli import main
from ledgers import code_set, load, load_file

pytestmark = pytest.mark.usefixtures("no_tool_env")

UTC = datetime.UTC

# -- one external id, two requests (written by hand) -------------------------------------

TWICE = WRITER_LEDGER.replace('  requested-by: "alice"\n',
                              '  requested-by: "alice"\n  external-id: "X-1"\n') + """
2024-03-06 ! "cust_123" "Damaged item" ^ADJ-2024-0002
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  external-id: "X-1"
  Income:Sales:Returns            60.00 USD
  Assets:Receivable:Customers    -60.00 USD
"""


@pytest.fixture
def twice(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(TWICE, encoding="utf-8")
    return path


def _create(ledger: Path, amount: str) -> Any:
    return CliRunner().invoke(main, [
        "create", "-f", str(ledger), "--as", "alice", "--type", "credit:refund",
        "--customer", "cust_123", "--reason", "Damaged item", "--amount", amount,
        "--external-id", "X-1",
        "--offset-account", "Income:Sales:Returns"])


def test_the_one_answer_is_the_first_request_in_ledger_order(twice: Path) -> None:
    from beancount_adjustments.core.facts import filed_requests

    book = load_file(twice).book
    assert book is not None
    assert filed_requests(book.facts.requests)["X-1"].id == "ADJ-2024-0001"


def test_the_writer_names_the_first_request_under_a_reused_external_id(twice: Path) -> None:
    """Hole: the writer's map of external ids was a dict built over every request, so
    the last one under the id won: a retry of ADJ-2024-0001 (50.00) was refused as
    "already recorded as ADJ-2024-0002 and this one asks for ... 50.00 USD", while the
    API and the CSV import named ADJ-2024-0001, the one the retry was of."""
    before = twice.read_bytes()
    same = _create(twice, "50.00 USD")
    assert same.exit_code == 1
    assert "already recorded as ADJ-2024-0001" in same.output, same.output
    assert "asks for" not in same.output
    other = _create(twice, "60.00 USD")
    assert other.exit_code == 1
    assert "already recorded as ADJ-2024-0001 and this one asks for" in other.output
    assert twice.read_bytes() == before


def test_the_api_and_the_import_name_the_same_request(twice: Path) -> None:
    from beancount_adjustments.intake.templates import LedgerContext

    again = api.create(twice, customer="cust_123", type="credit:refund",
                       amount="50.00 USD", reason="Damaged item", as_user="alice",
                       external_id="X-1", offset_account="Income:Sales:Returns")
    assert again.id == "ADJ-2024-0001"
    with pytest.raises(api.ApiError, match="ADJ-2024-0001"):
        api.create(twice, customer="cust_123", type="credit:refund", amount="60.00 USD",
                   reason="Damaged item", as_user="alice", external_id="X-1",
                   offset_account="Income:Sales:Returns")
    assert LedgerContext.load(twice, cache=False).filed_requests()["X-1"].id == "ADJ-2024-0001"


def test_an_invalid_request_still_holds_its_external_id(twice: Path) -> None:
    """Whatever its state: an invalid (or rejected) request under the id is still the
    one filed under it, so the writer does not file the id a second time."""
    from beancount_adjustments.core.facts import filed_requests

    text = TWICE.replace('  requested-by: "alice"\n  external-id: "X-1"\n  Income:Sales:'
                         'Returns            50.00 USD',
                         '  requested-by: "nobody"\n  external-id: "X-1"\n  Income:Sales:'
                         'Returns            50.00 USD', 1)
    twice.write_text(text, encoding="utf-8")
    book = load_file(twice).book
    assert book is not None
    assert str(book.adjustments["ADJ-2024-0001"].state) == "invalid"
    assert filed_requests(book.facts.requests)["X-1"].id == "ADJ-2024-0001"
    assert "already recorded as ADJ-2024-0001" in _create(twice, "50.00 USD").output


# -- moments: one strict reader ----------------------------------------------------------

LOOSE_MOMENTS = [
    "2026-11-21",                      # a day, not a moment
    "2026-11-21 10:00:00",             # space for T
    "20261121T100000",                 # basic format
    "2026-W47-6T10:00:00",             # week date
    "2026-11-21T10",                   # hour only
    "2026-11-21T10:00:00,5",           # comma fraction
    "2026-11-21T10:00:00+0100",        # offset without colon
    "2026-11-21T10:00:00+01:00:30",    # offset with seconds
    "2026-11-21t10:00:00z",            # lower case
    "2026-11-21T10:00:00.5.5Z",        # two fractions
    "2026-11-21T99:99:99Z",            # no such time
    "2026-11-21T10:00:00+99:99",       # no such offset
    "2026-11-21T10:00:00.1234567890Z",  # past nanoseconds
    "2026-11-21T\u0661\u0660:00:00Z",  # Arabic-Indic digits
    "2026-11-21Tjunk-junk-junk",
]


@pytest.mark.parametrize("text", LOOSE_MOMENTS)
def test_the_one_reader_refuses_loose_moments(text: str) -> None:
    from beancount_adjustments.core.moments import read_moment
    from beancount_adjustments.core.written import at_ceiling, at_floor, moment

    assert read_moment(text) is None
    assert moment(text) is None
    assert at_floor(text) is None
    assert at_ceiling(text) is None


@pytest.mark.parametrize("text", LOOSE_MOMENTS)
def test_every_copy_refuses_what_the_reader_refuses(text: str) -> None:
    """Hole: `reports/risk`, `intake/automation` and `reports/history/decisions` read
    these with `datetime.fromisoformat` (a day, a week date, a comma, a basic-format
    stamp were moments there), and `at_floor`'s fast path took any hour and offset."""
    from beancount_adjustments.intake.automation import FeedError, _moment
    from beancount_adjustments.reports.history.decisions import _written_on
    from beancount_adjustments.reports.risk import _timestamp

    assert _timestamp(text, ZoneInfo("UTC")) is None
    assert not _written_on(text, datetime.date(2000, 1, 1))
    if text == "2026-11-21":  # a feed may give a day (docs/automation.md): its midnight, UTC
        assert _moment(text, "tickets.csv:2") == datetime.datetime(2026, 11, 21, tzinfo=UTC)
        return
    with pytest.raises(FeedError, match="not an ISO 8601 moment"):
        _moment(text, "tickets.csv:2")


GOOD = [
    ("2026-11-21T10:00:00+01:00", datetime.datetime(2026, 11, 21, 9, tzinfo=UTC)),
    ("2026-11-21T10:00:00Z", datetime.datetime(2026, 11, 21, 10, tzinfo=UTC)),
    ("2026-11-21T10:00:00", datetime.datetime(2026, 11, 21, 10, tzinfo=UTC)),
    ("2026-11-21T10:00", datetime.datetime(2026, 11, 21, 10, tzinfo=UTC)),
    ("2026-11-21T10:00:00.123456789-05:00",
     datetime.datetime(2026, 11, 21, 15, 0, 0, 123456, tzinfo=UTC)),
    (" 2026-11-21T10:00:00.5Z ", datetime.datetime(2026, 11, 21, 10, 0, 0, 500000, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "when"), GOOD)
def test_every_copy_reads_the_same_moment(text: str, when: datetime.datetime) -> None:
    """Hole: a stamp without offset was UTC to `core.written.moment`, the off-hours
    zone's local time to `reports/risk` (an approval at 10:00 read as 15:00 UTC in New
    York) and its own day to `at_floor`."""
    from beancount_adjustments.core.moments import read_moment
    from beancount_adjustments.core.written import moment
    from beancount_adjustments.intake.automation import _moment
    from beancount_adjustments.reports.risk import _timestamp

    assert read_moment(text) == when
    assert moment(text) == when
    zone = ZoneInfo("America/New_York")
    assert _timestamp(text, zone) == when.astimezone(zone)
    assert _moment(text, "tickets.csv:2") == when


def test_a_stamp_without_offset_is_a_utc_stamp_for_the_day_it_was_written() -> None:
    """One reading: no offset is UTC, so it allows the half day a UTC stamp allows."""
    from beancount_adjustments.core.written import at_ceiling, at_floor

    for text in ("2026-11-21T08:00:00", "2026-11-21T08:00:00Z"):
        assert at_floor(text) == datetime.date(2026, 11, 20)
        assert at_ceiling(text) == datetime.date(2026, 11, 21)
    assert at_floor("2026-11-21T08:00:00+01:00") == datetime.date(2026, 11, 21)


def test_a_stamp_of_the_right_day_with_nonsense_after_it_is_bad_metadata() -> None:
    """Hole: `written_that_day` took any text starting `YYYY-MM-DDT` of the event's
    date as a tool's stamp, so `at: "2026-03-06Tjunk-junk-junk"` passed as when the
    approval was written; the evidence was not true and nothing said so."""
    loaded = load("""
2026-03-05 ! "cust_123" "Damaged item" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD
2026-03-06 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
  at: "2026-03-06Tjunk-junk-junk"
""")
    assert "bad-metadata" in code_set(loaded.errors)
    assert str(loaded.adj("ADJ-1").state) != "applied"


def test_the_api_does_not_hand_back_another_request_under_a_duplicate_id(
        twice: Path) -> None:
    """Hole: the API found the request under the external id, then answered a retry
    with `book.get(its id)`: when that id was another request's (`duplicate-id`, by
    hand), the caller got the other request's adjustment as the one it had filed."""
    text = TWICE.replace('  requested-by: "alice"\n  external-id: "X-1"\n',
                         '  requested-by: "alice"\n', 1)
    text = text.replace("^ADJ-2024-0002", "^ADJ-2024-0001")
    twice.write_text(text, encoding="utf-8")
    assert "duplicate-id" in code_set(load_file(twice).errors)
    with pytest.raises(api.ApiError, match="another request's"):
        api.create(twice, customer="cust_123", type="credit:refund", amount="60.00 USD",
                   reason="Damaged item", as_user="alice", external_id="X-1",
                   offset_account="Income:Sales:Returns", date="2024-03-06")


@pytest.mark.parametrize("text", [
    "2026-03-06T10:00:00+01:00", "2026-03-06T10:00Z", "2026-03-06T10:00", " 2026-03-06T23:59:59 ",
    "2026-03-06T10:00:00.123456789Z", "2026-03-06T24:00:00Z", "2026-03-06T10:60Z",
    "2026-03-06T10:00:60Z", "2026-03-06T10:00+24:00", "2026-03-06T10:00+01:60",
    "2026-03-06Tjunk", "2026-03-06", "2026-03-06 10:00", "2026-03-06T10:00:00.5.5Z",
    "2026-03-06T10:00:00,5Z", "2026-03-06T10:00+0100", "2026-03-06T1000", "2026-03-06T10:00z",
    "2026-03-06T10:00:00.1234567890Z", "2026-03-06T١٠:00Z", "2026-03-07T10:00Z"])
def test_the_replays_quick_day_test_is_the_readers_answer(text: str) -> None:
    """`on_day` (the replay's per-event test) takes exactly what `read_moment` reads
    as a moment of that day, and nothing else."""
    from beancount_adjustments.core.moments import on_day, read_moment
    moment = read_moment(text)
    assert on_day(text, "2026-03-06") == (moment is not None
                                          and text.strip().startswith("2026-03-06"))
