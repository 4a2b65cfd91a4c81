"""The plugin's tags and metadata are queryable with beanquery (bean-query)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from beanquery.query import run_query
from sample_ledgers import EVERY_STATE

from ledgers import load


@pytest.fixture(scope="module")
def ledger():
    return load(EVERY_STATE)


def query(ledger, bql: str) -> list[tuple]:
    _, rows = run_query(ledger.entries, ledger.options, bql)
    return rows


def test_requests_by_state_from_the_entries_table(ledger):
    rows = query(ledger, "SELECT meta['adjustment-id'], meta['adjustment-state'] FROM entries "
                         "WHERE 'adjustment-request' IN tags")
    assert sorted(rows) == sorted([
        ("ADJ-PEND", "pending"), ("ADJ-APPR", "approved"), ("ADJ-APPL", "applied"),
        ("ADJ-REJ", "rejected"), ("ADJ-WDR", "withdrawn"), ("ADJ-INV", "invalid"),
        ("ADJ-REV", "reversed"), ("ADJ-RVG", "reversing"), ("ADJ-AUTO", "applied")])


@pytest.mark.parametrize(("state", "ids"), [
    ("pending", {"ADJ-PEND"}),
    ("approved", {"ADJ-APPR"}),
    ("applied", {"ADJ-APPL", "ADJ-AUTO"}),
    ("rejected", {"ADJ-REJ"}),
    ("withdrawn", {"ADJ-WDR"}),
    ("invalid", {"ADJ-INV"}),
    ("reversed", {"ADJ-REV"}),
    ("reversing", {"ADJ-RVG"}),
])
def test_select_requests_in_a_state(ledger, state: str, ids: set[str]):
    rows = query(ledger, "SELECT meta('adjustment-id') FROM entries "
                         f"WHERE 'adjustment-{state}' IN tags")
    assert {row[0] for row in rows} == ids
    rows = query(ledger, "SELECT meta['adjustment-id'] FROM entries WHERE "
                         f"'adjustment-request' IN tags AND meta['adjustment-state'] = '{state}'")
    assert {row[0] for row in rows} == ids


def test_applied_adjustments_from_the_postings_table(ledger):
    rows = query(ledger, "SELECT DISTINCT entry_meta('adjustment-id') "
                         "WHERE entry_meta('adjustment-state') = 'applied' "
                         "AND 'adjustment' IN tags")
    assert {row[0] for row in rows} == {"ADJ-APPL", "ADJ-AUTO"}
    rows = query(ledger, "SELECT DISTINCT entry.meta['adjustment-id'] "
                         "WHERE entry.meta['adjustment-state'] = 'applied' "
                         "AND 'adjustment' IN tags")
    assert {row[0] for row in rows} == {"ADJ-APPL", "ADJ-AUTO"}


def test_select_by_type(ledger):
    rows = query(ledger, "SELECT meta['adjustment-id'] FROM entries WHERE "
                         "'adjustment-request' IN tags AND "
                         "meta['adjustment-type'] = 'credit:goodwill'")
    assert [row[0] for row in rows] == ["ADJ-APPL"]
    rows = query(ledger, "SELECT str(meta['adjustment-id']) AS id FROM entries WHERE "
                         "'adjustment-request' IN tags AND "
                         "str(meta['adjustment-type']) ~ '^billing:' ORDER BY id")
    assert rows == [("ADJ-APPR",)]


def test_everything_that_moved_balances(ledger):
    rows = query(ledger, "SELECT account, sum(number) AS total "
                         "WHERE 'adjustment' IN tags OR 'adjustment-reversal' IN tags "
                         "GROUP BY account ORDER BY account")
    # ADJ-RVG's reversal awaits approval: it is still on the books.
    assert rows == [("Assets:Receivable:Customers", Decimal("-1535.00")),
                    ("Expenses:Goodwill", Decimal("1500.00")),
                    ("Income:Sales:Returns", Decimal("35.00"))]


def test_reversals_and_approvers(ledger):
    rows = query(ledger, "SELECT date, meta['reverses'] FROM entries "
                         "WHERE 'adjustment-reversal' IN tags")
    assert [(str(date), adj_id) for date, adj_id in rows] == [("2026-03-10", "ADJ-REV")]
    rows = query(ledger, "SELECT meta['reversal-approved-by'] FROM entries "
                         "WHERE 'adjustment-reversal' IN tags")
    assert rows == [("erin",)]
    rows = query(ledger, "SELECT meta['adjustment-id'], meta['approved-by'] FROM entries "
                         "WHERE 'adjustment' IN tags ORDER BY date")
    assert sorted(rows[:2]) == [("ADJ-REV", "bob"), ("ADJ-RVG", "bob")]
    assert rows[2:] == [("ADJ-AUTO", None), ("ADJ-APPL", "erin,carol")]


def test_by_customer_and_link(ledger):
    rows = query(ledger, "SELECT DISTINCT entry_meta('adjustment-id') "
                         "WHERE entry_meta('customer') = 'cust_456' AND 'ADJ-APPL' IN links")
    assert rows == [("ADJ-APPL",)]
