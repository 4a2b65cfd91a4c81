"""Round 54 of attacks: what the reviewer reads.

Round 50 made everything the customer is shown carry every digit booked. The
staff side still rounded to two decimals: a 1,000.004 USD credit read "1,000.00
USD" in the approval-needed notice, on Fava's queue and detail page and in
`bean-adjust show`, and bob's refusal said "1,000.00 USD is above bob's approval
limit of 1,000.00 USD". alice files amounts whose digits past the cent are the
point (0.0004 BTC read 0.00 BTC). "Hole:" tests failed on the code they were
written against.
"""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from fava_env import BASE, Env

from beancount_adjustments import notify
from beancount_adjustments.cli import main
from beancount_adjustments.core.figures import figure
from beancount_adjustments.core.models import Money
from ledgers import event, ledger, load, request

D = datetime.date


def test_figure_keeps_every_digit_and_at_least_cents() -> None:
    """The one rule for an amount read by a person (staff and customers alike)."""
    assert figure(Decimal("1000.004")) == "1,000.004"
    assert figure(Decimal("0.0004")) == "0.0004"
    assert figure(Decimal("-10.005")) == "-10.005"
    assert figure(Decimal("40")) == "40.00"
    assert figure(Decimal("40.1")) == "40.10"
    assert figure(Decimal("1E+3")) == "1,000.00"
    assert str(Money(Decimal("1000.004"), "USD")) == "1,000.004 USD"


def test_a_refusal_over_the_limit_names_the_amount_as_booked() -> None:
    """Hole: "1,000.00 USD is above bob's approval limit of 1,000.00 USD" for a
    1,000.004 USD credit: the message contradicted itself, and a reviewer reading it
    could not tell why bob was refused."""
    loaded = load(request("A-1", "2026-03-01", "-1000.004")
                  + event("A-1", "2026-03-02", "approve", "bob"))
    (error,) = loaded.errors
    assert "1,000.004 USD is above bob's approval limit of 1,000.00 USD" in error.message


def test_the_approval_needed_notice_shows_the_amount_as_booked() -> None:
    """Hole: the notice asking erin to approve said "credit:refund 1,000.00 USD" in
    its subject and body for 1,000.004 USD."""
    loaded = load(request("A-1", "2026-03-01", "-1000.004"))
    assert loaded.book is not None
    found = {n.key: n for n in notify.notices(loaded.book, D(2026, 3, 2))}
    notice = found["A-1:approval-needed-1:erin"]
    assert "credit:refund 1,000.004 USD for cust_456" in notice.subject
    assert "1,000.004 USD" in notice.body
    assert "1,000.00 USD" not in notice.subject + notice.body


def test_show_prints_the_amount_as_booked(tmp_path: Path) -> None:
    """Hole: `bean-adjust show` printed 0.00 BTC for a request moving 0.0004 BTC."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger("""
2026-01-01 commodity BTC
2026-01-01 price BTC 50000.00 USD
""" + request("A-1", "2026-03-01", "-0.0004", currency="BTC")), encoding="utf-8")
    result = CliRunner().invoke(main, ["show", "A-1", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "0.0004 BTC" in result.output
    assert "0.00 BTC" not in result.output
    shown = CliRunner().invoke(main, ["show", "A-1", "-f", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["amount"] == {"number": "0.0004", "currency": "BTC"}


def test_the_queue_and_the_detail_page_show_the_amount_as_booked(tmp_path: Path) -> None:
    """Hole: Fava's queue row, the detail page's postings and its totals read
    "1,000.00 USD" for the 1,000.004 USD credit bob is asked to approve."""
    env = Env(tmp_path, extra=request("ADJ-X", datetime.date.today().isoformat(),
                                      "-1000.004", customer="cust_123"))
    rows = env.get(BASE + "queue?per_page=100", user="erin").get_json()["rows"]
    (row,) = [r for r in rows if r["id"] == "ADJ-X"]
    assert Decimal(row["amount"]) == Decimal("1000.004")  # the JSON holds the number
    for view in ("", "?view=detail&id=ADJ-X"):
        page = env.get(BASE + view, user="erin").get_data(as_text=True)
        assert "1,000.004" in page
        # The row's threshold and bob's limit are 1,000.00 USD; no amount reads so.
        rest = page.replace("from 1,000.00 USD", "").replace("limit 1,000.00 USD", "")
        assert re.search(r"1,000\.00(?!\d)", rest) is None, view
