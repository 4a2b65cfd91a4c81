"""Schedules: the right dates, and every occurrence written exactly once."""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.beans.intake_lines import parse_schedules
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Source
from beancount_adjustments.intake.schedules import Schedule, add_months, occurrences
from ledgers import BACKDATING, BASE, load_file

D = datetime.date


def schedule(every: str, start: D, *, interval: int = 1, end: D | None = None) -> Schedule:
    return Schedule(name="s", template="t", date=start, every=every,  # type: ignore[arg-type]
                    start=start, interval=interval, end=end,
                    source=Source(filename="x", lineno=1), customers=("c",))


def test_monthly_keeps_the_day_and_clamps_to_month_end() -> None:
    dates = occurrences(schedule("month", D(2026, 1, 31)), D(2026, 5, 31))
    assert dates == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30),
                     D(2026, 5, 31)]


@pytest.mark.parametrize(("every", "interval", "start", "through", "end", "expected"), [
    ("day", 1, D(2026, 2, 27), D(2026, 3, 2), None,
     [D(2026, 2, 27), D(2026, 2, 28), D(2026, 3, 1), D(2026, 3, 2)]),
    ("week", 2, D(2026, 1, 5), D(2026, 2, 16), None,
     [D(2026, 1, 5), D(2026, 1, 19), D(2026, 2, 2), D(2026, 2, 16)]),
    ("month", 2, D(2026, 2, 1), D(2026, 12, 31), D(2026, 9, 30),
     [D(2026, 2, 1), D(2026, 4, 1), D(2026, 6, 1), D(2026, 8, 1)]),
    ("quarter", 1, D(2026, 1, 15), D(2026, 12, 31), None,
     [D(2026, 1, 15), D(2026, 4, 15), D(2026, 7, 15), D(2026, 10, 15)]),
    ("year", 1, D(2024, 2, 29), D(2028, 3, 1), None,
     [D(2024, 2, 29), D(2025, 2, 28), D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29)]),
    ("month", 1, D(2026, 3, 1), D(2026, 2, 28), None, []),
])
def test_occurrences(*, every: str, interval: int, start: D, through: D, end: D | None,
                     expected: list[D]) -> None:
    assert occurrences(schedule(every, start, interval=interval, end=end), through) == expected


def test_add_months_across_years() -> None:
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2026, 1, 31), -2) == D(2025, 11, 30)


LEDGER = """
2026-01-01 custom "adjustment-customer" "cust_789" "vip"
2026-05-01 custom "adjustment-customer" "cust_456" "vip"

2026-01-01 custom "adjustment-template" "loyalty-credit"
  type: "credit:promotional"
  category: "customer-service:loyalty"
  amount: 10.00 USD
  offset-account: "Expenses:Promotions"
  reason: "Loyalty credit for {date}"

2026-01-01 custom "adjustment-schedule" "monthly-loyalty" "loyalty-credit"
  customers: "cust_123,cust_456"
  every: "month"
  start: 2026-01-31
  end: 2026-12-31
  requested-by: "alice"

2026-01-01 custom "adjustment-schedule" "vip-bonus" "loyalty-credit"
  tier: "vip"
  every: "quarter"
  start: 2026-03-01
  amount: 5.00 USD
"""


def make_ledger(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + LEDGER + textwrap.dedent(extra))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_schedules(ledger: Path, through: str, *more: str) -> tuple[int, str, str]:
    return run("run-schedules", "-f", str(ledger), "--as", "frank", "--through", through, *more)


def scheduled(ledger: Path) -> list[tuple[str, str, D, str]]:
    loaded = load_file(ledger)
    assert loaded.errors == []
    return sorted((r.external_id or "", r.customer, r.date, r.requested_by)
                  for r in loaded.book.facts.requests)


def test_run_schedules_creates_each_occurrence_once(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    code, out, err = run_schedules(ledger, "2026-04-15")
    assert code == 0, err
    assert f"wrote 8 requests to {ledger}" in out
    got = scheduled(ledger)
    monthly = [(c, d) for e, c, d, _ in got if e.startswith("schedule:monthly-loyalty:")]
    assert monthly == sorted((c, d) for c in ("cust_123", "cust_456")
                             for d in (D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)))
    # vip-bonus: the vip customers on each date (cust_456 becomes vip on May 1).
    vip = [(c, d) for e, c, d, _ in got if e.startswith("schedule:vip-bonus:")]
    assert vip == [("cust_123", D(2026, 3, 1)), ("cust_789", D(2026, 3, 1))]
    assert ("schedule:monthly-loyalty:cust_123:2026-01-31", "cust_123", D(2026, 1, 31),
            "alice") in got
    # No requested-by on vip-bonus: --as is the requester.
    assert all(who == "frank" for e, _, _, who in got if e.startswith("schedule:vip-bonus"))
    loaded = load_file(ledger)
    bonus = next(r for r in loaded.book.facts.requests if r.external_id
             == "schedule:vip-bonus:cust_789:2026-03-01")
    assert [p.number for p in bonus.postings if p.account.startswith("Assets")] == [-5]
    assert bonus.reason == "Loyalty credit for 2026-03-01"

    before = ledger.read_bytes()
    code, out, _ = run_schedules(ledger, "2026-04-15")
    assert code == 0
    assert "wrote nothing" in out
    assert ledger.read_bytes() == before


def test_run_schedules_reports_in_json(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    code, out, err = run_schedules(ledger, "2026-04-15", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["written"] == 8
    assert len(body["adjustments"]) == 8
    code, out, _ = run_schedules(ledger, "2026-04-15", "--json")
    assert code == 0
    assert json.loads(out)["written"] == 0


def test_later_runs_add_only_the_new_occurrences(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    assert run_schedules(ledger, "2026-02-28")[0] == 0
    first = scheduled(ledger)
    code, _out, _ = run_schedules(ledger, "2026-06-30")
    assert code == 0
    second = scheduled(ledger)
    added = sorted(set(second) - set(first))
    assert set(first) <= set(second)
    assert [(c, d) for e, c, d, _ in added if "monthly" in e] == sorted(
        (c, d) for c in ("cust_123", "cust_456")
        for d in (D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31), D(2026, 6, 30)))
    assert [(c, d) for e, c, d, _ in added if "vip" in e] == [
        ("cust_123", D(2026, 3, 1)), ("cust_123", D(2026, 6, 1)),
        ("cust_456", D(2026, 6, 1)), ("cust_789", D(2026, 3, 1)),
        ("cust_789", D(2026, 6, 1))]
    assert len(second) == len({e for e, *_ in second})  # every external id once


def test_dry_run_and_one_schedule(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    before = ledger.read_bytes()
    code, out, _ = run_schedules(ledger, "2026-03-31", "--dry-run", "--schedule", "vip-bonus")
    assert code == 0
    assert "would write 2 requests" in out
    assert 'external-id: "schedule:vip-bonus:cust_789:2026-03-01"' in out
    assert ledger.read_bytes() == before


def test_a_broken_schedule_writes_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path, """
        2026-01-01 custom "adjustment-schedule" "ghost" "no-such-template"
          customers: "cust_123"
          every: "week"
    """)
    before = ledger.read_bytes()
    code, _, err = run_schedules(ledger, "2026-01-10")
    assert code == 1
    assert "no template 'no-such-template'" in err
    assert ledger.read_bytes() == before


def test_parse_schedules_problems(tmp_path: Path) -> None:
    from beancount import loader
    entries, _, _ = loader.load_string(textwrap.dedent("""
        2026-01-01 custom "adjustment-schedule" "a" "t"
          every: "fortnight"
          customers: "c"
        2026-01-01 custom "adjustment-schedule" "b" "t"
          every: "month"
        2026-01-01 custom "adjustment-schedule" "c" "t"
          every: "month"
          customers: "c"
          start: 2026-05-01
          end: 2026-04-01
        2026-01-01 custom "adjustment-schedule" "d"
        2026-01-01 custom "adjustment-schedule" "e" "t"
          every: "day"
          tier: "vip"
        2026-03-01 custom "adjustment-schedule" "e" "t"
          every: "day"
          tier: "vip"
          end: 2026-03-31
    """))
    schedules, problems = parse_schedules(entries)
    assert [s.name for s in schedules] == ["e"]
    assert schedules[0].end == D(2026, 3, 31)  # the later line replaces the earlier
    assert schedules[0].start == D(2026, 3, 1)
    messages = " | ".join(p.message for p in problems)
    assert "`every:` is one of" in messages
    assert "either `customers:`" in messages
    assert "is before `start:`" in messages
    assert "takes a name and a template" in messages


def test_an_occurrence_run_late_is_filed_the_day_it_is_written(tmp_path: Path) -> None:
    """Hole: with no `backdate-days:` allowance, an occurrence due yesterday was
    written dated yesterday and refused as `backdated`: the run failed, and so did
    every run after it (cron catching up). It is filed today, for the day it was
    due (its external id and `{date}`), and a rerun writes nothing."""
    today = datetime.date.today()
    due = today - datetime.timedelta(days=3)
    path = tmp_path / "main.beancount"
    path.write_text(BASE + textwrap.dedent(f"""
        2026-01-01 custom "adjustment-template" "loyalty-credit"
          type: "credit:promotional"
          amount: 10.00 USD
          offset-account: "Expenses:Promotions"
          reason: "Loyalty credit for {{date}}"
        2026-01-01 custom "adjustment-schedule" "daily" "loyalty-credit"
          customers: "cust_456"
          every: "day"
          start: {due.isoformat()}
          end: {due.isoformat()}
          requested-by: "alice"
        """))
    code, out, err = run("run-schedules", "-f", str(path), "--as", "frank")
    assert code == 0, err
    loaded = load_file(path)
    assert loaded.errors == []
    [request] = loaded.book.facts.requests
    assert request.date == today
    assert request.external_id == f"schedule:daily:cust_456:{due.isoformat()}"
    assert request.reason == f"Loyalty credit for {due.isoformat()}"
    before = path.read_bytes()
    code, out, _ = run("run-schedules", "-f", str(path), "--as", "frank")
    assert code == 0
    assert "wrote nothing" in out
    assert path.read_bytes() == before
