"""Round 51: dates, moments and time zones across tools.

alice wants a decision to count under a lock or a role it should not, or a
request judged under yesterday's rows. She runs the tools with `TZ` set to the
far zones (`Pacific/Kiritimati`, UTC+14, and `Etc/GMT+12`, UTC-12) and across
New York's DST changes, writes `at:` by hand in every form a reader might take
(fractions, a leap second, `24:00`, a day that does not exist, other scripts'
digits, the years 1 and 9999), dates decisions at the edges of a day and of a
lock, and reads the reports of what she wrote. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier test had.
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
from beancount_adjustments.core.models import Action
from beancount_adjustments.core.moments import on_day, read_moment
from beancount_adjustments.core.written import at_ceiling, at_floor
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import BACKDATING, ledger, load, load_file, request
from ledgers import event as written_event

UTC = datetime.UTC


def _at(day: str, action: str, by: str, at: str, adj_id: str = "ADJ-1", **meta: str) -> str:
    return written_event(adj_id, day, action, by, at=at, **meta)


@pytest.fixture
def zone() -> Iterator[object]:
    """Set the process's `TZ` (what the writer's `at:` and today are local to) for one
    test, and put the machine's own back after it."""
    before = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


# 1. The calendar's ends: a moment every reader can show in any zone.

EDGES = ["9999-12-31T23:00:00-12:00", "9999-12-31T20:00:00Z", "0001-01-01T05:00:00+14:00",
         "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize("at", EDGES)
def test_a_moment_off_the_calendar_in_another_zone_is_no_moment(at: str) -> None:
    """Hole: `read_moment` took `9999-12-31T23:00:00-12:00`, a moment that is in the
    year 10000 in UTC. An approval dated 9999-12-31 with it was accepted, and the
    risk report's `off-hours` check (which shows every approval in the working-hours
    zone, UTC by default) died on `OverflowError` for the whole ledger: `bean-adjust
    risk` and every `notify` run (alerts read the findings) stopped for everyone.
    A moment within a day of the calendar's ends, in its own zone or in UTC, is
    no moment now (`bad-metadata`), and `on_day`'s fast path agrees."""
    day = at[:10]
    assert read_moment(at) is None
    assert not on_day(at, day)
    assert at_floor(at) is None
    assert at_ceiling(at) is None
    if day.startswith("0001"):
        return  # no ledger of the year 1 has its users and rows yet
    loaded = load(request("ADJ-1", day, "-50.00") + _at(day, "approve", "bob", at))
    assert (loaded.line('"ADJ-1" "approve"'), "bad-metadata") in loaded.codes
    assert loaded.state("ADJ-1") == "pending"


def test_the_risk_report_reads_a_ledger_at_the_end_of_the_calendar(tmp_path: Path) -> None:
    """Hole (the same): `bean-adjust risk` on a ledger holding the approval above
    printed a traceback; it reports now, with the stamp refused by the plugin."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "9999-12-31", "-50.00")
                           + _at("9999-12-31", "approve", "bob", EDGES[0])))
    result = CliRunner().invoke(main, ["risk", "-f", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


def test_a_ticket_feed_time_off_the_calendar_is_a_feed_error() -> None:
    """Hole (the same): a ticket feed's `opened` of `0001-01-01T05:00:00+14:00` was
    read, and turning it to UTC raised `OverflowError` out of `automate`; it is a
    feed error at its row now, as any time that does not read."""
    from beancount_adjustments.intake.automation import FeedError, _moment

    with pytest.raises(FeedError, match=r"tickets\.csv:2"):
        _moment(EDGES[2], "tickets.csv:2")


def test_moments_a_day_inside_the_calendar_still_read() -> None:
    """Held: the first and last days every zone can show are moments, and the half
    day of zones a UTC stamp allows stays inside the calendar."""
    assert at_floor("0001-01-02T05:00:00Z") == datetime.date(1, 1, 1)
    assert at_ceiling("9999-12-30T20:00:00Z") == datetime.date(9999, 12, 31)
    assert on_day("9999-12-30T10:00:00-12:00", "9999-12-30")


# 2. Every hand-written form of `at:`.

FORMS = [
    # (at, on the event dated 2026-03-10: accepted, else the code at the event)
    ("2026-03-10T10:00:00Z", None),
    ("2026-03-10T00:30:00+14:00", None),             # Kiritimati's morning, 03-09 in UTC
    ("2026-03-10T23:30:00-12:00", None),             # 03-11 in UTC, still 03-10 at UTC-12
    ("2026-03-10T10:00:00.123456789+01:00", None),   # nanoseconds, kept to the microsecond
    ("2026-03-10T10:00+01:00", None),                # no seconds
    ("2026-03-10T23:59:60Z", "bad-metadata"),        # a leap second: no such time here
    ("2026-03-10T24:00:00Z", "bad-metadata"),        # 24:00 is the next day's 00:00
    ("2026-03-10T10:00:00+14:60", "bad-metadata"),
    ("2026-03-10T10:00:00+0100", "bad-metadata"),
    ("2026-03-10T١٠:00:00Z", "bad-metadata"),        # Arabic-Indic digits
    ("２０２６-03-10T10:00:00Z", "bad-metadata"),     # full-width digits
    ("2026-03-11T00:30:00+14:00", "backdated"),      # written on 03-11: a day late
]


@pytest.mark.parametrize(("at", "code"), FORMS, ids=[form[0] for form in FORMS])
def test_every_hand_written_form_of_at_is_read_one_way(at: str, code: str | None) -> None:
    """Held: an approval dated 2026-03-10 stamped by hand: a stamp in the day's own
    zone (UTC+14 to UTC-12, with fractions or without seconds) counts; a leap
    second, `24:00`, a minute 60, an offset without colon and other scripts' digits
    are no moment (`bad-metadata`, nothing booked); 03-11 at UTC+14 is a day later
    than its date, which `backdate-days: 0` does not allow (`backdated`)."""
    loaded = load(request("ADJ-1", "2026-03-10", "-50.00") + _at("2026-03-10", "approve",
                                                                  "bob", at))
    line = loaded.line('"ADJ-1" "approve"')
    found = {c for n, c in loaded.codes if n == line}
    if code is None:
        assert found == set(), loaded.codes
        assert loaded.state("ADJ-1") == "applied"
    else:
        assert code in found, loaded.codes
        assert loaded.state("ADJ-1") == "pending"


def test_a_day_that_does_not_exist_is_no_moment() -> None:
    """Held: `2026-02-30T10:00:00Z` on an event dated 2026-03-02 (one it could be
    taken to overflow into) is no moment, and neither reader takes it."""
    assert read_moment("2026-02-30T10:00:00Z") is None
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + _at("2026-03-02", "approve", "bob", "2026-02-30T10:00:00Z"))
    assert (loaded.line('"ADJ-1" "approve"'), "bad-metadata") in loaded.codes


@pytest.mark.parametrize(("at", "code"), [("2026-03-10T11:00:00Z", None),
                                          ("2026-03-10T13:00:00Z", "backdated"),
                                          ("2026-03-10T11:00:00-12:00", "backdated")])
def test_backdate_days_zero_allows_a_utc_stamp_the_far_west_was_still_on(
        at: str, code: str | None) -> None:
    """Held: `backdate-days: 0` (the default) and an approval dated 03-09 stamped
    11:00 UTC on 03-10, 13 hours before midnight: at UTC-12 it was still 23:00 on
    03-09, so it counts (a UTC stamp allows the half day of zones); two hours later
    it was 03-10 everywhere, and a stamp in UTC-12 names its own day."""
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + _at("2026-03-09", "approve", "bob", at))
    line = loaded.line('"ADJ-1" "approve"')
    assert {c for n, c in loaded.codes if n == line} == ({code} if code else set())


# 3. A lock and a decision at the edge of the lock's day.

LOCKED = BACKDATING + request("ADJ-1", "2026-02-20", "-50.00", extra="effective: 2026-02-25") + """
2026-03-10 custom "adjustment-lock" 2026-02-28
  by: "carol"
"""


@pytest.mark.parametrize(("at", "closed"), [("2026-03-09T23:59:59+01:00", False),
                                            ("2026-03-10T00:00:00+01:00", True),
                                            ("2026-03-09T23:59:59-12:00", False)])
def test_a_decision_written_the_second_the_lock_begins_is_under_it(
        at: str, closed: bool) -> None:
    """Held: the lock of 03-10 closes February; an approval dated 03-09 whose `at:`
    is the last second of 03-09 in its own zone books into February, one written at
    the first second of 03-10 is `closed-period` and books nothing."""
    loaded = load(LOCKED + _at("2026-03-09", "approve", "bob", at))
    line = loaded.line('"ADJ-1" "approve"')
    assert ((line, "closed-period") in loaded.codes) is closed, loaded.codes
    assert loaded.state("ADJ-1") == ("approved" if closed else "applied")


@pytest.mark.parametrize("at", ["2026-03-09T12:00:01Z", "2026-03-09T21:00:00+00:00",
                                "2026-03-09T21:00:00"])
def test_a_utc_stamp_on_its_own_day_counts_as_the_later_day_for_the_locks(at: str) -> None:
    """Hole: a UTC stamp "counts as the later day" for the locks (README), but only
    when it was dated the day before its stamp: `decided_on` took the fast path for
    a stamp on the event's own day. On a server in UTC (Docker's default) bob
    approved at 21:00 UTC on 03-09, dated 03-09, after carol had locked February at
    09:00 on 03-10 in Auckland (20:00 UTC), and the credit was booked into
    February. A UTC stamp's own day is its day only before noon now."""
    loaded = load(LOCKED + _at("2026-03-09", "approve", "bob", at))
    assert (loaded.line('"ADJ-1" "approve"'), "closed-period") in loaded.codes
    assert loaded.state("ADJ-1") == "approved"
    # Before noon UTC it was 03-09 everywhere east to UTC+12, and books.
    loaded = load(LOCKED + _at("2026-03-09", "approve", "bob", "2026-03-09T11:59:59Z"))
    assert loaded.codes == []
    assert loaded.state("ADJ-1") == "applied"


# 4. The writer's clock and zone: what `at:` and "today" say.

TOOLS = ledger(request("ADJ-1", "2026-03-01", "-50.00"))


def _write(tmp_path: Path, now: datetime.datetime, date: datetime.date | None = None) -> str:
    path = tmp_path / "main.beancount"
    if not path.exists():
        path.write_text(TOOLS)
    result = write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob", date=date)],
                             now=now)
    return result.text


@pytest.mark.parametrize(("tz", "now", "stamp"), [
    ("America/New_York", "2026-03-08T07:30:00", "2026-03-08T03:30:00-04:00"),
    ("America/New_York", "2026-03-08T06:30:00", "2026-03-08T01:30:00-05:00"),
    ("America/New_York", "2026-11-01T05:30:00", "2026-11-01T01:30:00-04:00"),
    ("America/New_York", "2026-11-01T06:30:00", "2026-11-01T01:30:00-05:00"),
    ("Pacific/Kiritimati", "2026-03-09T10:30:00", "2026-03-10T00:30:00+14:00"),
    ("Etc/GMT+12", "2026-03-10T11:30:00", "2026-03-09T23:30:00-12:00"),
])
def test_the_writer_stamps_and_dates_in_its_own_zone(
        tmp_path: Path, zone: object, tz: str, now: str, stamp: str) -> None:
    """Held: across New York's DST changes and in the far zones the writer's `at:` is
    the local time with the offset then in force (01:30 twice on 11-01, once each
    offset), the event is dated that local day, and the plugin takes both."""
    zone(tz)  # type: ignore[operator]
    text = _write(tmp_path, datetime.datetime.fromisoformat(now).replace(tzinfo=UTC))
    assert f'at: "{stamp}"' in text
    assert text.startswith(f'{stamp[:10]} custom "adjustment" "ADJ-1" "approve"')
    loaded = load_file(tmp_path / "main.beancount")
    assert loaded.code_set == set(), loaded.errors
    assert loaded.state("ADJ-1") == "applied"


@pytest.mark.parametrize(("tz", "date", "refused"), [
    ("Pacific/Kiritimati", "2026-03-10", None),     # its today, though UTC's is 03-09
    ("Pacific/Kiritimati", "2026-03-09", "backdated"),
    ("Etc/GMT+12", "2026-03-09", "dated-ahead"),    # UTC's today, its tomorrow
    ("Etc/GMT+12", "2026-03-08", None),
])
def test_date_is_judged_against_the_writers_own_day(
        tmp_path: Path, zone: object, tz: str, date: str, refused: str | None) -> None:
    """Held: at 10:30 UTC on 03-09, `--date` of the writer's today is written in
    either far zone, its yesterday is `backdated`, its tomorrow `dated-ahead`, and
    nothing is written."""
    zone(tz)  # type: ignore[operator]
    now = datetime.datetime(2026, 3, 9, 10, 30, tzinfo=UTC)
    day = datetime.date.fromisoformat(date)
    if refused is None:
        assert _write(tmp_path, now, day).startswith(date)
        return
    with pytest.raises(WriteRefused) as caught:
        _write(tmp_path, now, day)
    assert f"[{refused}]" in caught.value.refusals[0].message
    assert load_file(tmp_path / "main.beancount").state("ADJ-1") == "pending"
