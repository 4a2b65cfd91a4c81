"""Attacks, round 18: controls that hold (issue 11).

The controls of rounds 10 to 17 attacked from the side: another account under
the receivable, another spelling, another tool.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
from fava_env import BASE as FAVA
from fava_env import Env

from beancount_adjustments.beans.effects import TAG_APPLIED
from beancount_adjustments.core.customers import namesakes
from beancount_adjustments.core.models import Action
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.reports.statement import statement
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import (
    BACKDATING,
    BASE,
    balance,
    codes,
    decided,
    ledger,
    load,
    request,
    with_settings,
)

WAITING = request("ADJ-1", "2026-03-01", "-50.00")

OWN = with_settings("{'customer-account': 'Assets:Receivable:Customers:{customer}'}", BASE) + """
2026-01-01 custom "adjustment-customer" "Acme" "standard"
2026-01-01 open Assets:Receivable:Customers:Acme
2026-01-01 open Assets:Receivable:Suspense
2026-01-01 custom "adjustment-policy" "*"
  offset-accounts: "Income:*"
"""


def _parked(suspense: str = "Assets:Receivable:Suspense") -> str:
    """A 300 USD credit on Acme's own account, 290 USD of it parked on `suspense`."""
    return f"""
2026-02-02 ! "Acme" "Refund" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "Acme"
  reason: "Refund"
  requested-by: "alice"
  Assets:Receivable:Customers:Acme  -300 USD
  {suspense}  290 USD
  Income:Sales:Returns  10 USD
2026-02-03 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
"""


def test_a_receivable_account_that_is_no_customers_is_an_offset() -> None:
    """Hole: with `customer-account`, the other side of a credit parked on
    `Assets:Receivable:Suspense` (no customer's own account) passed
    `offset-accounts: "Income:*"` as if it were the customer's, and was booked."""
    loaded = load(OWN + _parked(), base=False)
    assert codes(loaded.errors) == [(loaded.line("^ADJ-1"), "offset-not-allowed")]
    assert "Assets:Receivable:Suspense" in loaded.errors[0].message
    assert balance(loaded.entries, "Assets:Receivable:Suspense") == 0
    assert loaded.state("ADJ-1") == "invalid"


def test_the_customers_own_sub_accounts_are_their_side() -> None:
    loaded = load(OWN + "2026-01-01 open Assets:Receivable:Customers:Acme:Disputes\n"
                  + _parked("Assets:Receivable:Customers:Acme:Disputes"), base=False)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


UNTAGGED = """
2026-03-02 * "cust_456" "Refund" ^ADJ-1
  adjustment-id: "ADJ-1"
  customer: "cust_456"
  requested-by: "alice"
  approved-by: "bob"
  Income:Sales:Returns            5000.00 USD
  Assets:Receivable:Customers    -5000.00 USD
"""
"""ADJ-1's applied entry copied by hand, without the plugin's tags: its link and keys only."""


def test_an_untagged_copy_of_an_applied_entry_is_not_counted_as_the_adjustment() -> None:
    """Held: beside ADJ-1 (50 USD, approved), a hand-written transaction with ADJ-1's
    link, `adjustment-id:` and `approved-by:` but none of the plugin's tags is a
    payment on the statement, not a second ADJ-1 credit; the export and Fava's
    booked-entry lookup (tag and link) see ADJ-1's own entry only."""
    text = BASE + WAITING + decided(WAITING, "ADJ-1", "2026-03-02", "approve", "bob")
    loaded = load(text + UNTAGGED, base=False)
    assert loaded.errors == []
    assert loaded.book is not None
    lines = [line for section in statement(loaded.entries, loaded.book, "cust_456",
                                           datetime.date(2026, 3, 1),
                                           datetime.date(2026, 3, 31)).sections
             for line in section.lines]
    assert [(line.kind, line.amount) for line in lines if line.kind == "adjustment"] == [
        ("adjustment", Decimal("-50.00"))]
    assert ("payment", Decimal("-5000.00")) in [(line.kind, line.amount) for line in lines]
    records = [r for r in exporting.adjustment_records(loaded.book) if r["id"] == "ADJ-1"]
    assert len(records) == 1
    booked = [e for e in loaded.entries if isinstance(e, data.Transaction)
              and "ADJ-1" in (e.links or ()) and TAG_APPLIED in (e.tags or ())]
    assert len(booked) == 1


# -- effective-differs: the date of a request that has none ---------------------------------

SEPARATE = '2026-01-01 custom "adjustment-policy" "credit:*"\n  apply: "separate"\n'


def _approved() -> str:
    text = SEPARATE + WAITING
    return text + decided(text, "ADJ-1", "2026-03-02", "approve", "bob")


def test_an_apply_cannot_date_an_undated_request_before_it_was_filed() -> None:
    """Hole: ADJ-1 (filed 03-01, no `effective:`) was approved to be booked when
    applied; alice, its requester, applied it on 03-03 with `effective: 2026-01-05`
    and it was booked two months before anyone asked for it, in an open period: the
    date no approver saw, as round 12's moved `effective:`."""
    text = _approved()
    for day in ("2026-01-05", "2026-02-28"):
        apply = decided(text, "ADJ-1", "2026-03-03", "apply", "alice") + f"  effective: {day}\n"
        loaded = load(text + apply)
        assert codes(loaded.errors) == [(loaded.line('"ADJ-1" "apply"'), "effective-differs")]
        assert "before the request was filed (2026-03-01)" in loaded.errors[0].message
        assert not loaded.tagged("adjustment", "ADJ-1")
        assert loaded.state("ADJ-1") == "approved"
    # On or after the request's date, as documented: booked then.
    for day in ("2026-03-01", "2026-03-02", "2026-04-30"):
        apply = decided(text, "ADJ-1", "2026-03-03", "apply", "alice") + f"  effective: {day}\n"
        loaded = load(text + apply)
        assert loaded.errors == []
        assert [str(e.date) for e in loaded.tagged("adjustment", "ADJ-1")] == [day]


def test_the_writer_refuses_an_apply_dated_before_the_request(tmp_path: Path) -> None:
    now = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=datetime.UTC)
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BACKDATING + _approved()))
    before = path.read_bytes()
    decision = Decision("ADJ-1", Action.APPLY, "alice", effective=datetime.date(2026, 1, 5),
                        date=datetime.date(2026, 3, 3))
    with pytest.raises(WriteRefused) as refused:
        write_decisions(path, [decision], now=now)
    assert "before the request was filed" in str(refused.value)
    assert path.read_bytes() == before


# -- look-alike ids and customers -------------------------------------------------------------


@pytest.mark.parametrize("other", ["ADJ-2026-0042.", "ADJ-2026-0042_", "adj-2026-0042._"])
def test_an_id_with_a_trailing_full_stop_or_underscore_reads_as_the_id(other: str) -> None:
    """Hole: "ADJ-2026-0042_" (its underscore lost in a link's underline) and
    "ADJ-2026-0042." (read as the sentence's full stop) beside ADJ-2026-0042 were no
    `lookalike-id`, as the letter O and the case were."""
    loaded = load(request("ADJ-2026-0042", "2026-02-02", "-20")
                  + request(other, "2026-02-03", "-20", customer="cust_123"))
    assert loaded.book is not None
    found = [w for w in loaded.book.warnings if w.code == "lookalike-id"]
    assert [w.source.lineno for w in found] == [loaded.line(f"^{other}")]


def test_ids_differing_inside_are_no_look_alikes() -> None:
    loaded = load(request("ADJ-1", "2026-02-02", "-20")
                  + request("ADJ_1", "2026-02-03", "-20") + request("ADJ-1-2", "2026-02-03", "-20"))
    assert loaded.book is not None
    assert [w for w in loaded.book.warnings if w.code == "lookalike-id"] == []


def test_a_customer_differing_only_in_case_is_a_look_alike() -> None:
    """Held: "Cust_123" declared beside cust_123 is a `lookalike-customer` warning."""
    loaded = load('2026-01-02 custom "adjustment-customer" "Cust_123" "standard"\n')
    assert loaded.book is not None
    found = [w for w in loaded.book.warnings if w.code == "lookalike-customer"]
    assert [w.source.lineno for w in found] == [loaded.line('"Cust_123"')]


# -- the step a decision was meant for --------------------------------------------------------


def test_the_detail_pages_buttons_post_the_step_they_show(tmp_path: Path) -> None:
    """Held: the detail page's Approve carries the step it showed; once the credit
    was booked and cancelled, that Approve is refused (changed) and does not approve
    the reversal, as the queue's."""
    env = Env(tmp_path)
    page = env.get(FAVA + "?view=detail&id=ADJ-2").get_data(as_text=True)
    found = re.search(r'data-adj-action="approve" data-adj-id="ADJ-2" '
                      r'data-adj-digest="([^"]+)" data-adj-step="([^"]+)"', page)
    assert found is not None
    digest, step = found.groups()
    assert step == "pending 0/1"
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user="erin").status_code == 200
    assert env.decide([{"id": "ADJ-2", "action": "cancel", "reason": "Wrong customer"}],
                      user="alice").status_code == 200
    for action in ("approve", "reject"):
        sent = env.decide([{"id": "ADJ-2", "action": action, "digest": digest, "step": step,
                            "reason": "Not this one"}])
        assert sent.status_code == 409, sent.get_json()
        assert env.state("ADJ-2") == "reversing"


def test_a_customer_named_like_another_customers_id_shows_its_id() -> None:
    """Hole: cust_9 declared with `name: "Cust_123"` is shown by that name, the id on
    hover, and its credits passed for cust_123's (shown by its id, having no name) in
    the queue a reviewer approves from: namesakes compared names with names only."""
    loaded = load('2026-01-02 custom "adjustment-customer" "cust_9" "standard"\n'
                  '  name: "Cust_123"\n'
                  '2026-01-02 custom "adjustment-customer" "cust_77" "standard"\n'
                  '  name: "Acme Corp"\n')
    assert loaded.book is not None
    assert namesakes(loaded.book.directory) == {"cust_9", "cust_123"}
