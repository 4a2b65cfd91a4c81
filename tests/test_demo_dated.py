"""The demo dated to a day (`make demo` dates it to today): open items with
realistic ages, most within their SLA and a few overdue, deterministic for
that day; the bundled ledger is unchanged by the option's existence.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import OPEN_STATES, State
from beancount_adjustments.demo import generate_ledger
from beancount_adjustments.reports.queries import age_days, is_overdue
from ledgers import ROOT, load_file

DAY = datetime.date(2027, 3, 9)


def test_a_ledger_dated_to_a_day_is_clean_and_its_open_items_are_recent(
        tmp_path: Path) -> None:
    text = generate_ledger(today=DAY)
    assert text == generate_ledger(today=DAY)  # deterministic for the day
    assert text != generate_ledger(today=DAY + datetime.timedelta(days=1))
    path = tmp_path / "demo.beancount"
    path.write_text(text, encoding="utf-8")
    check = subprocess.run([str(Path(sys.executable).parent / "bean-check"), str(path)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr[:2000]
    loaded = load_file(path)
    assert loaded.book is not None
    dates = [e.date for e in loaded.entries]
    assert max(dates) <= DAY
    assert max(dates) >= DAY - datetime.timedelta(days=3)
    timed = [a for a in loaded.book.adjustments.values()
             if a.state in (State.PENDING, State.REVERSING)]
    assert len(timed) >= 10
    assert all(age_days(a, DAY) >= 0 for a in timed)
    overdue = [a for a in timed if is_overdue(a, DAY)]
    within = len(timed) - len(overdue)
    assert overdue, "a few open items are overdue"
    assert within >= 0.7 * len(timed), (within, len(timed))
    # Awaiting apply (no SLA) are recent too: nothing has waited months.
    for adj in loaded.book.adjustments.values():
        if adj.state in OPEN_STATES:
            assert age_days(adj, DAY) <= 40, (adj.id, adj.state, adj.request.date)


def test_the_cli_dates_the_demo_to_today(tmp_path: Path) -> None:
    out = tmp_path / "demo.beancount"
    result = CliRunner().invoke(main, ["demo", "-o", str(out), "--dated-to", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == generate_ledger(today=DAY)
    today = tmp_path / "today.beancount"
    result = CliRunner().invoke(main, ["demo", "-o", str(today), "--dated-to", "today"])
    assert result.exit_code == 0, result.output
    assert today.read_text(encoding="utf-8") == generate_ledger(today=datetime.date.today())
    result = CliRunner().invoke(main, ["demo", "-o", str(today), "--dated-to", "tomorrowish"])
    assert result.exit_code == 1
    assert "--dated-to" in result.output
    assert "Traceback" not in result.output


def test_make_demo_generates_the_dated_ledger_when_absent() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\ndemo: "):].split("\n\n", 1)[0]
    assert "[ -e .demo/demo.beancount ] ||" in recipe
    assert "demo -o .demo/demo.beancount --dated-to today" in recipe
    assert "cp ledgers/demo.beancount" not in recipe
