"""A ticket's external id names one request: a second one under it, written by
hand (every tool refuses to file it), is a duplicate payout for one ticket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ledgers import BASE, balance, code_set, codes, line_in, load, load_file, request

RECEIVABLE = "Assets:Receivable:Customers"


def test_a_second_request_under_an_external_id_books_nothing() -> None:
    """Hole: the second 20.00 credit under T-1 was applied beside the first (both
    under the auto-approve threshold), and nothing said so."""
    text = (request("ADJ-1", "2026-03-01", "-20.00", extra='external-id: "T-1"')
            + request("ADJ-2", "2026-03-02", "-20.00", extra='external-id: "T-1"'))
    loaded = load(text)
    assert loaded.book is not None
    assert str(loaded.book.adjustments["ADJ-1"].state) == "applied"
    assert str(loaded.book.adjustments["ADJ-2"].state) == "invalid"
    assert balance(loaded.entries, RECEIVABLE) == Decimal("-20.00")
    full = loaded.text
    assert (line_in(full, "^ADJ-2"), "duplicate-external-id") in codes(loaded.errors)
    assert "ADJ-1" in next(e.message for e in loaded.errors
                           if "duplicate-external-id" in e.message)


def test_the_duplicate_is_the_one_the_tools_do_not_name(tmp_path: Path) -> None:
    """Same day, two files: the request `filed_requests` names (the one a retry
    answers with) is the one that stands, whatever the files' order."""
    other = tmp_path / "other.beancount"
    other.write_text(request("ADJ-9", "2026-03-01", "-20.00", extra='external-id: "T-1"'),
                     encoding="utf-8")
    main = tmp_path / "main.beancount"
    main.write_text(BASE + f'include "{other.name}"\n\n'
                    + request("ADJ-1", "2026-03-01", "-20.00", extra='external-id: "T-1"'),
                    encoding="utf-8")
    loaded = load_file(main)
    assert loaded.book is not None
    from beancount_adjustments.core.facts import filed_requests

    named = filed_requests(loaded.book.facts.requests)["T-1"].id
    other_id = ({"ADJ-1", "ADJ-9"} - {named}).pop()
    assert str(loaded.book.adjustments[named].state) == "applied"
    assert str(loaded.book.adjustments[other_id].state) == "invalid"
    assert "duplicate-external-id" in code_set(loaded.errors)


def test_distinct_external_ids_and_none_are_not_duplicates() -> None:
    text = (request("ADJ-1", "2026-03-01", "-20.00", extra='external-id: "T-1"')
            + request("ADJ-2", "2026-03-01", "-20.00", extra='external-id: "T-2"')
            + request("ADJ-3", "2026-03-01", "-20.00")
            + request("ADJ-4", "2026-03-01", "-20.00"))
    loaded = load(text)
    assert loaded.errors == []
    assert balance(loaded.entries, RECEIVABLE) == Decimal("-80.00")
