"""Round 52: who may approve now, asked of every tool with the day it counts as written.

On a server in UTC the writer's stamp counts as written tomorrow from noon on
(`writer.written_today`, `core.written.at_ceiling`): bob, a manager until
tomorrow, may approve at 10:00 UTC and not at 13:00, when the writer refuses him.
alice reads every tool that names who may approve or is told to (Fava's buttons,
"awaiting me" and who may approve; `list --awaiting`, `queue --json`, `show` and
`show --json`; the API's `eligible`; notify's approval-needed and reversal-needed
recipients) at both hours, across noon on one Fava load and within one page. A
test whose docstring says "Hole:" failed on the code it was written against (the
fix is named in the commit that added it); the others held.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fava_env import BASE, Env, ago

from beancount_adjustments import api
from beancount_adjustments import notify as notify_package
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from beancount_adjustments.writer import ledger as writer_ledger
from ledgers import TOOLS_BASE, request

UTC = datetime.UTC
# What bob may approve while he is a manager: ADJ-1, ADJ-2 and ADJ-8 (pending, a
# manager's level) and ADJ-6's reversal (cancelled by carol). Not ADJ-3 (his own),
# ADJ-5 (above his limit) or ADJ-4 (approved, awaiting its apply).
BOBS = {"ADJ-1", "ADJ-2", "ADJ-6", "ADJ-8"}
OPEN = ("ADJ-1", "ADJ-2", "ADJ-3", "ADJ-5", "ADJ-6", "ADJ-8")


@pytest.fixture
def utc_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], datetime.datetime]]:
    """The process in UTC (Docker's default) and the writer's clock set by the test to
    an hour of today; yields the setter."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def set_clock(hour: int) -> datetime.datetime:
        today = datetime.date.today()
        now = datetime.datetime(today.year, today.month, today.day, hour, tzinfo=UTC)
        monkeypatch.setattr(writer_ledger, "clock", lambda: now)
        return now

    yield set_clock
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _demoted(tmp_path: Path) -> Env:
    """The Fava tests' ledger with bob an agent from tomorrow, and ADJ-6 (which he
    approved, applied) cancelled by carol: its reversal awaits a manager."""
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    return Env(tmp_path, extra=(
        f'\n{ago(2)} custom "adjustment" "ADJ-6" "cancel"\n  by: "carol"\n'
        '  reason: "Charged twice"\n'
        f'\n{tomorrow} custom "adjustment-user" "bob" "agent"\n'
        f'\n{ago(400)} custom "adjustment-channel" "role:manager" '
        '"json://hooks.example.com/managers"\n'))


def _writer_lets_bob(path: Path, now: datetime.datetime) -> set[str]:
    allowed = set()
    for adj_id in OPEN:
        try:
            write_decisions(path, [Decision(adj_id, Action.APPROVE, by="bob")], now=now,
                            dry_run=True)
        except WriteRefused:
            continue
        allowed.add(adj_id)
    return allowed


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _fava_queue(env: Env) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = env.get(BASE + "queue?per_page=100").get_json()["rows"]
    return rows


def _approvable(rows: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in rows
            if any(a["action"] == "approve" and a["allowed"] for a in r["actions"])}


def _awaiting_me(rows: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in rows if r["mine"] and r["section"] in ("approve", "reversal")}


@pytest.mark.parametrize(("hour", "expected"), [(10, BOBS), (13, set())])
def test_every_tool_names_who_may_approve_as_the_writer_judges(
        tmp_path: Path, utc_day: Callable[[int], datetime.datetime], hour: int,
        expected: set[str]) -> None:
    """Hole: at 13:00 UTC the writer refused bob (`missing-role`: an agent on the
    day his stamp counts as written) and Fava's buttons, "awaiting me" and
    `list --awaiting bob` agreed, but notify's dry run still told bob "approval
    needed" for ADJ-1, ADJ-2 and ADJ-8 and "reversal approval needed" for ADJ-6,
    and `eligible` named him for all four in the API (`api.get`), `queue --json` and
    `show --json` (`queries.row`); `show` alone left him out. Each asked who may
    approve on the day only. Now each passes the written day (notify's recipients,
    the API's and `queries.row`'s `eligible`), and bob is named by all or by none."""
    now = utc_day(hour)
    env = _demoted(tmp_path)
    path = str(env.path)
    assert _writer_lets_bob(env.path, now) == expected
    if not expected:
        with pytest.raises(WriteRefused, match=r"missing-role"):
            write_decisions(env.path, [Decision("ADJ-1", Action.APPROVE, by="bob")], now=now,
                            dry_run=True)

    rows = _fava_queue(env)
    assert _approvable(rows) == expected
    assert _awaiting_me(rows) == expected
    fava_eligible = set()
    for adj_id in OPEN:
        detail = env.get(BASE + f"adjustment?id={adj_id}").get_json()
        levels = detail["requirements"] + detail["reversal_requirements"]
        if any("bob" in level["eligible"] for level in levels):
            fava_eligible.add(adj_id)
    assert fava_eligible == expected

    awaiting = json.loads(_cli("list", "-f", path, "--awaiting", "bob", "--json").stdout)
    assert {r["id"] for r in awaiting} == expected
    queued = json.loads(_cli("queue", "-f", path, "--json").stdout)
    assert {r["id"] for r in queued if "bob" in r["eligible"]} == expected
    shown = {adj_id for adj_id in OPEN
             if "bob" in json.loads(_cli("show", adj_id, "-f", path, "--json").stdout)
             ["eligible"]}
    assert shown == expected
    texts = {adj_id for adj_id in OPEN for line in _cli("show", adj_id, "-f", path).stdout
             .splitlines() if line.startswith("may approve") and "bob" in line}
    assert texts == expected

    assert {adj_id for adj_id in OPEN if "bob" in api.get(path, adj_id).eligible} == expected

    planned = json.loads(_cli("notify", "-f", path, "--dry-run", "--json").stdout)
    told = {n["key"].split(":")[0] for n in planned["no_channel"]
            if n["recipient"] == "bob"
            and n["key"].split(":")[1].startswith(("approval-needed", "reversal-needed"))}
    assert told == expected
    # The role's own channel hears of each still: a manager is still needed.
    assert {n["key"].split(":")[0] for n in planned["planned"]
            if n["recipient"] == "role:manager"} >= BOBS


def test_awaiting_me_is_judged_anew_when_noon_passes_on_one_load(
        tmp_path: Path, utc_day: Callable[[int], datetime.datetime]) -> None:
    """Hole: Fava keeps the queue's rows per load, day and user; at 13:00 UTC, on the
    load bob's 10:00 page was made from, the queue still counted 5 items "awaiting
    me" and its "awaiting me" filter still listed ADJ-1, ADJ-2, ADJ-6 and ADJ-8,
    whose Approve buttons were disabled (the writer refused him). The rows are kept
    per written day too."""
    utc_day(10)
    env = _demoted(tmp_path)
    morning = env.get(BASE + "queue?per_page=100&mine=1").get_json()
    assert _awaiting_me(morning["rows"]) == _approvable(morning["rows"]) == BOBS
    utc_day(13)
    afternoon = env.get(BASE + "queue?per_page=100&mine=1").get_json()
    # ADJ-4 awaits its apply, which bob may still make as an agent.
    assert [r["id"] for r in afternoon["rows"]] == ["ADJ-4"]
    assert afternoon["mine"] == morning["mine"] - len(BOBS) == 1


@pytest.mark.parametrize("url", ["queue?per_page=100", "adjustment?id=ADJ-1",
                                 "?view=queue", "?view=detail&id=ADJ-6"])
def test_one_page_asks_the_clock_once(
        tmp_path: Path, utc_day: Callable[[int], datetime.datetime],
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Hole: Fava asked the writer's clock for every row and action it judged (40
    times for the queue's JSON, 7 for ADJ-1's detail), so a page made across noon UTC
    judged its first row as written today and the rest as written tomorrow: with the
    clock at 11:59:59 for its first reading and 12:00:01 after, the queue counted 2
    items "awaiting me" (ADJ-6, the first it judged, and ADJ-4's apply) and showed
    no row bob could approve, ADJ-6's included. A request now reads the clock once
    (`AdjustmentsExtension.written`) and judges every row on that written day."""
    utc_day(10)
    env = _demoted(tmp_path)
    today = datetime.date.today()
    readings = [datetime.datetime(today.year, today.month, today.day, 11, 59, 59, tzinfo=UTC)]
    later = datetime.datetime(today.year, today.month, today.day, 12, 0, 1, tzinfo=UTC)

    def clock() -> datetime.datetime:
        readings.append(later)
        return readings[-2]

    monkeypatch.setattr(writer_ledger, "clock", clock)
    answer = env.get(BASE + url)
    assert answer.status_code == 200
    assert len(readings) == 2, f"{len(readings) - 1} readings of the clock"
    if url.startswith("queue"):
        queue = answer.get_json()
        assert _awaiting_me(queue["rows"]) == _approvable(queue["rows"]) == BOBS
        assert queue["mine"] == len(BOBS) + 1  # and ADJ-4's apply


@pytest.mark.parametrize(("hour", "signed"), [(10, False), (13, True)])
def test_the_approval_notice_says_to_sign_when_the_writer_will_want_a_signature(
        tmp_path: Path, utc_day: Callable[[int], datetime.datetime],
        monkeypatch: pytest.MonkeyPatch, hour: int, signed: bool) -> None:
    """Hole: with signatures required from tomorrow (`signatures: "required"`), at
    13:00 UTC the writer refused bob's approval without `--sign` (`unsigned-approval`:
    the policy in force on the day it counts as written), and the "approval needed"
    notice bob was sent told him to approve with `bean-adjust approve ADJ-1 --as
    <you>`, no `--sign`: it asked the policy of the day only. It asks the written
    day's too, as the writer does."""
    now = utc_day(hour)
    today = now.date()
    tomorrow = today + datetime.timedelta(days=1)
    path = tmp_path / "main.beancount"
    path.write_text(
        TOOLS_BASE + request("ADJ-1", (today - datetime.timedelta(days=1)).isoformat(),
                             "-50.00", customer="cust_123")
        + '\n2024-01-01 custom "adjustment-channel" "bob" "json://hooks.example.com/bob"\n'
        + f'\n{tomorrow} custom "adjustment-policy" "credit:*"\n  signatures: "required"\n')
    try:
        write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob")], now=now,
                        dry_run=True)
        refused = ""
    except WriteRefused as exc:
        refused = str(exc)
    assert ("unsigned-approval" in refused) is signed, refused
    bodies: list[str] = []
    monkeypatch.setattr(notify_package, "apprise_send",
                        lambda url, title, body: bodies.append(body))
    _cli("notify", "-f", str(path))
    (body,) = [b for b in bodies if "approval needed" in b or "awaits your approval" in b]
    assert "Approve with: bean-adjust approve ADJ-1 --as <you>" in body
    assert ("--sign <your key>" in body) is signed, body
