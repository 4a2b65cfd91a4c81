"""Round 61 of attacks: a plain posting back-dated before the rule that forbids it.

Round 58 made a plain posting to a reserved account (`custom "adjustment-reserved"`)
the error `unrequested-posting`, from the pattern's date on, so that a ledger can
adopt the rule without its history erroring. So alice, with commit rights and no
approval role, added after the team reserved its offset accounts a plain
transaction moving 5,000 USD to `Expenses:Adjustments:Credits`, dated the day
before the reserved line: bean-check clean, and `check --since origin/main` clean,
since it compared adjustments, decisions and rules but no plain transaction. The
same with a `pad` dated before the line, a pad whose balance assertion was raised,
a second copy of a back-dated posting REV held, and a plain transaction REV held
edited from 5 to 5000 USD under its old date.
Now every plain transaction and pad new or changed since REV that the reserved rule
would refuse if it were dated on or after the patterns is the finding
`backdated-posting`. "Hole:" tests failed on the code they were written against;
"Held:" ones held.
"""

from __future__ import annotations

import json
from pathlib import Path

from repos import (
    APPROVE_2,
    BOOK,
    REQUEST_2,
    Repo,
    assert_finding,
    assert_intact,
    check,
    findings,
)

RESERVED = BOOK.replace(
    "2026-01-01 open Liabilities:Tax\n",
    "2026-01-01 open Liabilities:Tax\n"
    "2026-01-01 open Expenses:Adjustments:Credits\n") + (
    '\n2026-12-04 custom "adjustment-reserved" "Expenses:Adjustments:*"\n')
"""REV: ADJ-1 decided (last decision 2026-03-02), the offset accounts reserved from
2026-12-04 (after that decision: a rule changed forward)."""

GOODWILL = """
2026-11-30 * "cust_1" "Goodwill"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
"""

SMALL = GOODWILL.replace("5000.00", "5.00")


def _rev(tmp_path: Path, text: str = RESERVED) -> tuple[Repo, str]:
    repo = Repo(tmp_path / "books")
    return repo, repo.commit(text)


def test_hole_a_plain_transaction_back_dated_before_the_reserved_line(tmp_path: Path) -> None:
    """Hole: a plain 5,000 USD credit to the reserved account, added after the line and
    dated the day before it, passed bean-check and `check --since` alike."""
    repo, rev = _rev(tmp_path)
    repo.commit(RESERVED + GOODWILL)
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at('"Goodwill"'))
    assert "this transaction is new since" in found, found
    assert "Expenses:Adjustments:Credits" in found, found
    assert "since 2026-12-04" in found, found
    assert 'custom "adjustment-reserved" "Expenses:Adjustments:*"' in found, found
    assert "dated 2026-11-30, before that" in found, found
    assert "file a request instead" in found, found


def test_hole_years_back(tmp_path: Path) -> None:
    """Hole: the same transaction dated years before (the account opened then) passed."""
    text = RESERVED
    for account in ("Expenses:Adjustments:Credits", "Assets:Receivable:Customers"):
        text = text.replace(f"2026-01-01 open {account}", f"2020-01-01 open {account}")
    repo, rev = _rev(tmp_path, text)
    repo.commit(text + GOODWILL.replace("2026-11-30", "2021-06-30"))
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at('"Goodwill"'))
    assert "dated 2021-06-30" in found, found


PAD = """
2026-11-30 pad Assets:Receivable:Customers Expenses:Adjustments:Credits
2026-12-03 balance Assets:Receivable:Customers -5000.00 USD
"""
"""A pad and its balance both before the line (a pad balanced after the line is the
plugin's own error since round 64: `test_review_s15b`)."""


def test_hole_a_pad_dated_before(tmp_path: Path) -> None:
    """Hole: a `pad` from the reserved account dated before the line, with a balance
    assertion after it, moved 4,950 USD and passed."""
    repo, rev = _rev(tmp_path)
    repo.commit(RESERVED + PAD)
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at(" pad "))
    assert "this pad is new since" in found, found


def test_hole_a_pad_rev_held_books_more(tmp_path: Path) -> None:
    """Hole: a pad REV held untouched, its balance assertion raised since: the pad
    books 4,950 USD more to the reserved account, and nothing was found."""
    repo, rev = _rev(tmp_path, RESERVED + PAD.replace("-5000.00", "-55.00"))
    repo.commit(RESERVED + PAD)
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at(" pad "))
    assert "pad" in found, found


def test_hole_an_edit_of_a_plain_posting_rev_held(tmp_path: Path) -> None:
    """Hole: a plain 5 USD posting REV held, dated before the line, raised to 5,000 USD
    under its old date: an edit is a posting made now, and it passed."""
    repo, rev = _rev(tmp_path, RESERVED + SMALL)
    repo.commit(RESERVED + GOODWILL)
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at('"Goodwill"'))
    assert "changed since" in found or "new since" in found, found


def test_holds_a_plain_posting_rev_held_untouched(tmp_path: Path) -> None:
    """Held: a plain posting REV already held, dated before the line, is history the rule
    was adopted over: appending something else finds nothing."""
    repo, rev = _rev(tmp_path, RESERVED + SMALL)
    repo.commit(RESERVED + SMALL + '\n2026-12-20 * "Sale"\n  Assets:Bank  10.00 USD\n'
                "  Income:Sales  -10.00 USD\n")
    assert_intact(check(repo, rev))


def test_holds_a_moved_plain_posting(tmp_path: Path) -> None:
    """Held: moving the posting REV held (to the top of the entries) changes nothing."""
    repo, rev = _rev(tmp_path, RESERVED + SMALL)
    moved = RESERVED.replace("\n2026-03-01 ", SMALL + "\n2026-03-01 ", 1)
    assert moved != RESERVED
    repo.commit(moved)
    assert_intact(check(repo, rev))


def test_holds_a_posting_dated_after_the_line_is_the_plugins(tmp_path: Path) -> None:
    """Held: dated after the line, the plugin refuses it (`unrequested-posting`); the
    check adds no second finding."""
    repo, rev = _rev(tmp_path)
    repo.commit(RESERVED + GOODWILL.replace("2026-11-30", "2026-12-05"))
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert "[unrequested-posting]" in result.output, result.output
    assert findings(result, "backdated-posting") == [], result.output


def test_holds_an_account_no_pattern_covers(tmp_path: Path) -> None:
    """Held: a plain posting to an account no pattern reserves is no finding."""
    repo, rev = _rev(tmp_path)
    repo.commit(RESERVED + GOODWILL.replace("Expenses:Adjustments:Credits",
                                            "Expenses:Goodwill        "))
    assert_intact(check(repo, rev))


def test_holds_a_reserved_line_before_postings_rev_held(tmp_path: Path) -> None:
    """Held: a reserved line new since REV, dated after its last decision but before
    plain postings REV held, makes them the plugin's errors, and no
    `backdated-posting` (they were there at REV); dated after them, nothing at all."""
    later = SMALL.replace("2026-11-30", "2026-12-10")
    repo, rev = _rev(tmp_path, BOOK.replace(
        "2026-01-01 open Liabilities:Tax\n",
        "2026-01-01 open Liabilities:Tax\n2026-01-01 open Expenses:Adjustments:Credits\n")
        + later)
    text = repo.ledger.read_text()
    repo.commit(text + '\n2026-12-04 custom "adjustment-reserved" "Expenses:Adjustments:*"\n')
    result = check(repo, rev)
    assert "[unrequested-posting]" in result.output, result.output
    assert findings(result, "backdated-posting") == [], result.output
    repo.commit(text + '\n2026-12-20 custom "adjustment-reserved" "Expenses:Adjustments:*"\n')
    assert_intact(check(repo, rev))


def test_hole_the_pre_commit_hook_catches_it(tmp_path: Path) -> None:
    """Hole: the pre-commit hook (`--since HEAD --pre-commit`) let the back-dated
    posting be committed."""
    repo, _rev_sha = _rev(tmp_path)
    repo.write(RESERVED + GOODWILL)
    repo.git("add", "-A")
    result = check(repo, "HEAD", "--pre-commit")
    assert_finding(result, "backdated-posting", repo.at('"Goodwill"'))


def test_hole_json_has_it_as_a_finding(tmp_path: Path) -> None:
    """Hole: `check --since REV --json` had no finding for it."""
    repo, rev = _rev(tmp_path)
    repo.commit(RESERVED + GOODWILL)
    result = check(repo, rev, "--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    found = [f for f in out["since"]["findings"] if f["code"] == "backdated-posting"]
    assert len(found) == 1, out
    assert found[0]["kind"] == "finding", found
    assert found[0]["line"] == repo.line('"Goodwill"'), found


def test_holds_a_request_back_dated_to_the_reserved_account(tmp_path: Path) -> None:
    """Held: a request (and what the plugin books for it) is no plain posting: one dated
    before the line to the reserved account, approved, finds nothing here (its
    approval is judged as every decision is)."""
    repo, rev = _rev(tmp_path)
    filed = REQUEST_2.replace("2026-03-05", "2026-11-30").replace(
        "Expenses:Goodwill     ", "Expenses:Adjustments:Credits")
    repo.commit(RESERVED + filed + APPROVE_2.replace("2026-03-06", "2026-12-01"))
    assert_intact(check(repo, rev))


def test_holds_two_patterns_one_already_binding_is_one_error(tmp_path: Path) -> None:
    """Held: a posting to two reserved accounts, one reserved before its date and one
    after, is the plugin's error and no `backdated-posting` besides (the fix's first
    reading judged the first account alone, by the later pattern, and found it twice)."""
    text = RESERVED.replace(
        "2026-01-01 open Liabilities:Tax\n",
        "2026-01-01 open Liabilities:Tax\n2026-01-01 open Income:Adjustments:Debits\n") + (
        '2026-06-01 custom "adjustment-reserved" "Income:Adjustments:*"\n')
    repo, rev = _rev(tmp_path, text)
    repo.commit(text + '\n2026-11-30 * "Shuffle"\n  Expenses:Adjustments:Credits  5000.00 USD\n'
                "  Income:Adjustments:Debits    -5000.00 USD\n")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert "[unrequested-posting]" in result.output, result.output
    assert findings(result, "backdated-posting") == [], result.output


def test_hole_a_copy_of_a_plain_posting_rev_held(tmp_path: Path) -> None:
    """Hole: a second copy of a back-dated 5,000 USD posting REV held (the same text
    pasted again) moved the money twice, and passed: the copy is new, the first is
    history."""
    repo, rev = _rev(tmp_path, RESERVED + GOODWILL)
    repo.commit(RESERVED + GOODWILL + GOODWILL)
    second = repo.line('"Goodwill"', 1)
    assert_finding(check(repo, rev), "backdated-posting", f"main.beancount:{second}: ")
