"""One limit on the texts any tool writes (a reason, a comment, a narration, notes).

Fava's endpoints refused a text over `MAX_TEXT` characters (round 46), while the
CLI, the CSV import and the Python API wrote one of megabytes whole: a line every
later load of the ledger reads, and Fava's pages show. The limit lives with the
rule for control characters, which every tool already asks through the writer.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.beans.metadata import MAX_TEXT
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import (
    Decision,
    NewRequest,
    WriteRefused,
    write_decisions,
    write_requests,
)
from ledgers import BASE, request

NOW = datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC)
LONG = "x" * (MAX_TEXT + 1)


def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + "\n" + request("ADJ-1", "2026-03-01", "-50.00"))
    return path


def _new(**texts: str) -> NewRequest:
    fields = {"reason": "Refund", **texts}
    return NewRequest(type="credit:refund", customer="cust_456", requested_by="alice",
                      postings=(("Income:Sales:Returns", Decimal(50), "USD"),
                                ("Assets:Receivable:Customers", Decimal(-50), "USD")),
                      date=datetime.date(2026, 3, 1), **fields)


@pytest.mark.parametrize("field", ["reason", "narration"])
def test_the_writer_refuses_a_request_text_over_the_limit(tmp_path, field):
    """Hole: the writer wrote a reason or narration of any length."""
    path = _ledger(tmp_path)
    before = path.read_text()
    with pytest.raises(WriteRefused, match=f"more than the {MAX_TEXT:,}"):
        write_requests(path, [_new(**{field: LONG})], now=NOW)
    assert path.read_text() == before


@pytest.mark.parametrize("field", ["reason", "comment"])
def test_the_writer_refuses_a_decision_text_over_the_limit(tmp_path, field):
    """Hole: a decision's comment or reason of any length was written."""
    path = _ledger(tmp_path)
    before = path.read_text()
    action = Action.REJECT if field == "reason" else Action.APPROVE
    texts = {"reason": "Wrong customer", field: LONG}
    with pytest.raises(WriteRefused, match=f"more than the {MAX_TEXT:,}"):
        write_decisions(path, [Decision("ADJ-1", action, by="bob",
                                        date=datetime.date(2026, 3, 2), **texts)], now=NOW)
    assert path.read_text() == before


def test_a_text_at_the_limit_is_written_whole(tmp_path):
    """Held: the limit refuses, it never cuts."""
    path = _ledger(tmp_path)
    whole = "y" * MAX_TEXT
    write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob", comment=whole,
                                    date=datetime.date(2026, 3, 2))], now=NOW)
    assert f'comment: "{whole}"' in path.read_text()


def test_the_cli_refuses_it_in_one_line(tmp_path):
    """Hole: `bean-adjust approve --comment` wrote it."""
    path = _ledger(tmp_path)
    before = path.read_text()
    result = CliRunner().invoke(main, ["approve", "ADJ-1", "--as", "bob", "--date",
                                       "2026-03-02", "--comment", LONG, "-f", str(path)])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert f"more than the {MAX_TEXT:,}" in result.output
    assert path.read_text() == before
