"""What the customer is told of a decided request is part of what REV recorded.

A request's `customer-reason:` is what its notices tell the customer (round 50
found it unbound by the digest). Edited after the request was decided, a credit
bob approved as "Goodwill for the late delivery" would reach the customer as
anything alice wrote later, and `check --since` compared only the request's
other fields.
"""

from __future__ import annotations

from pathlib import Path

from repos import BOOK, Repo, assert_finding, assert_intact, check

from ledgers import load, load_file

SAID = '  customer-reason: "Goodwill for the late delivery"\n'


def _with_reason(text: str, reason: str = SAID) -> str:
    return text.replace('  requested-by: "alice"\n', '  requested-by: "alice"\n' + reason, 1)


def test_the_request_reads_its_customer_reason() -> None:
    loaded = load(_with_reason(BOOK), base=False)
    assert loaded.adj("ADJ-1").request.customer_reason == "Goodwill for the late delivery"


def test_editing_a_decided_requests_customer_reason_is_an_edited_request(
        tmp_path: Path) -> None:
    """Hole: the edit passed as "the past is intact"."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(_with_reason(BOOK))
    repo.write(_with_reason(BOOK, '  customer-reason: "Your account is closed"\n'))
    line = assert_finding(check(repo, rev), "edited-request", repo.at("^ADJ-1"))
    assert "(customer-reason)" in line, line


def test_a_customer_reason_on_an_undecided_request_may_change(tmp_path: Path) -> None:
    """Held: nobody decided on it yet, so nothing REV recorded is rewritten."""
    repo = Repo(tmp_path / "books")
    pending = BOOK.split("\n2026-03-02 custom")[0] + "\n"
    rev = repo.commit(_with_reason(pending))
    repo.write(_with_reason(pending, '  customer-reason: "Refund of the damaged item"\n'))
    assert_intact(check(repo, rev))
    assert load_file(repo.ledger).adj("ADJ-1").request.customer_reason == (
        "Refund of the damaged item")
