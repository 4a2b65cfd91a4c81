"""Attacks, round 14: controls that hold (issue 11), the audit trail shows how money
moved.

First the policy's own steps: a request approved as it arrives and a reversal
booked as its cancel is accepted move money with no approver; the audit report,
the event export and Fava's timeline must each show that step, alike
(`evidence.automatic_steps`), with the policy that allowed it in words that are
true (`queries.automatic_text`). Then the intake paths (bulk files, templates,
schedules, automation rules): none may act as another user, approve, or write
the control fields only the tools write.
"""

from __future__ import annotations

from beancount_adjustments.core.book import Book
from beancount_adjustments.reports import Scope, audit, compliance
from ledgers import load, request

BELOW = "automatic: 10.00 USD is below the first threshold of credit:* from 25.00 USD: manager"


def _book(text: str) -> Book:
    loaded = load(text)
    assert loaded.errors == [], loaded.errors
    assert loaded.book is not None
    return loaded.book


def _trail(book: Book, adj_id: str) -> list[tuple[str, str, str]]:
    return [(r.action, r.who, r.why) for r in audit(book, Scope()) if r.adjustment_id == adj_id]


# -- the policy in words ------------------------------------------------------------


def test_the_policy_of_an_automatic_request_names_the_row_it_is_below() -> None:
    """Hole: a request below the first threshold of the row that covers it read
    "automatic (no matching row)" in compliance's `policy` column, the audit row and
    Fava's detail: a row did match. It says which row and that the amount is below
    its first threshold; a row with no roles is named as the row that approved."""
    book = _book(request("ADJ-1", "2026-03-02", "-10")
                 + request("ADJ-2", "2026-03-02", "-50", type="credit:promotional",
                           account="Expenses:Promotions"))
    policy = {r.id: r.policy for r in compliance(book, Scope())}
    assert policy == {"ADJ-1": BELOW,
                      "ADJ-2": "credit:promotional from 0.00 USD: automatic"}
    assert _trail(book, "ADJ-1")[1] == ("approved automatically", "", BELOW)
