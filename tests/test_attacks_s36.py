"""Thirty-sixth round of attacks: intake, automation and history, as an insider who writes files.

alice, an accountant with commit rights but no approval power over big amounts,
wants money out or a decision rewritten, with `bean-check` and `bean-adjust
check --since BASE` both clean: through the CSV import, templates, schedules and
automation rules, through how the files of a ledger are laid out in git, and
through cancelling and reversing. A test whose docstring says "Hole:" failed on
the code it was written against (the fix is named in the commit that added it);
the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from beancount.core import data
from click.testing import CliRunner
from repos import BOOK, REQUEST_1, REQUEST_2, Repo, check, findings

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import State
from beancount_adjustments.reports.history.repository import open_repository
from beancount_adjustments.reports.history.rev_tree import _write_tree
from ledgers import BACKDATING, BASE, event, load, load_file, request

IDENTITY = BOOK.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n') + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  git-identity: "required"
"""
"""The history tests' book, alice with her git e-mail, goodwill credits under
`git-identity`: each new decision on ADJ-2 must be committed by the user it names."""


def _approval(text: str, adj_id: str = "ADJ-2") -> str:
    """bob's approval of `adj_id` as a tool writes it: bound by its digest to `text`."""
    digest = load(text, base=False).book.adjustments[adj_id].digest
    return (f'\n2026-03-06 custom "adjustment" "{adj_id}" "approve"\n  by: "bob"\n'
            f'  at: "2026-03-06T10:00:00+00:00"\n  digest: "{digest}"\n')


# -- history: git-identity reads the lines git blames ---------------------------------------


@pytest.mark.parametrize("mark", ["\x0c", "\u2028", "\r", "\x85"])
def test_a_line_break_python_sees_in_a_comment_does_not_hide_an_edited_digest(
        tmp_path: Path, mark: str) -> None:
    """Hole: alice filed a 40 USD goodwill credit and bob approved it (his commit, his
    digest). She then raised it to 900 USD and wrote the new digest into bob's
    approval; git blames that line on her, so `git-identity` must refuse it. With a
    form feed (or U+2028, a lone CR, NEL) in a comment above, the decision's lines
    were counted with `str.splitlines`, which breaks there too while Beancount and
    git do not: the line read as the approval's second was another, the entry ended
    at its first line, and only bob's header line was blamed. The past was
    "intact" and 900 USD booked on a 40 USD approval."""
    repo = Repo(tmp_path / "repo")
    repo.commit(IDENTITY + REQUEST_2)
    repo.commit(IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2), email="bob@example.com")
    raised = REQUEST_2.replace("40.00", "900.00")
    repo.commit(IDENTITY + raised.replace("\n2026-03-05", f"\n; filed{mark}again\n2026-03-05")
                + _approval(IDENTITY + raised))
    loaded = load(repo.ledger.read_text(), base=False)
    assert loaded.balance("Assets:Receivable:Customers") == -950   # the plugin books it
    result = check(repo, "HEAD~2")
    [line] = findings(result, "git-identity")
    assert repo.at('"ADJ-2" "approve"') in line, result.output
    assert "alice@example.com" in line
    assert result.exit_code == 1


# -- history: REV's tree is read as git holds it ---------------------------------------------

DECISIONS = "decisions.beancount"
"""An included file holding ADJ-1, bob's applied 50 USD refund (`repos.REQUEST_1`)."""


def _split_book(repo: Repo) -> None:
    """Commit the book with ADJ-1 and its approval in an included file."""
    (repo.root / DECISIONS).write_text(REQUEST_1)
    repo.commit(BOOK.replace(REQUEST_1, "") + f'include "{DECISIONS}"\n')


def test_a_committed_gitattributes_line_does_not_hide_revs_decisions(tmp_path: Path) -> None:
    """Hole: REV's tree was extracted with `git archive`, which obeys the
    `.gitattributes` committed in it. alice slipped in `decisions.beancount
    export-ignore` (a change that rewrites nothing, so it passed); from then on
    REV's ledger was loaded without that file (an include error nobody saw), REV
    had decided nothing, and her next change raising bob's 50 USD refund to 900 USD
    was "intact (0 adjustments decided)"."""
    repo = Repo(tmp_path / "repo")
    _split_book(repo)
    (repo.root / ".gitattributes").write_text(f"{DECISIONS} export-ignore\n")
    base = repo.commit()
    (repo.root / DECISIONS).write_text(REQUEST_1.replace("50.00", "900.00"))
    repo.commit()
    result = check(repo, base)
    [line] = findings(result, "edited-request")
    assert f"{DECISIONS}:2: ADJ-1 was applied" in line, result.output
    assert "1 adjustment decided at" in result.stdout


def test_export_ignore_on_the_ledger_itself_still_compares(tmp_path: Path) -> None:
    """Hole: `main.beancount export-ignore` left the ledger out of REV's extracted tree
    though git holds it there, so `check` said REV "did not exist ... nothing to
    compare" and passed any rewrite (here bob's approval of ADJ-1 deleted)."""
    repo = Repo(tmp_path / "repo")
    repo.commit(BOOK)
    (repo.root / ".gitattributes").write_text("main.beancount export-ignore\n")
    base = repo.commit()
    repo.commit(BOOK.replace('2026-03-02 custom "adjustment" "ADJ-1" "approve"\n  by: "bob"\n',
                             ""))
    result = check(repo, base)
    assert findings(result, "removed-decision"), result.output
    assert result.exit_code == 1


def test_a_symlink_inside_the_tree_reads_at_rev_what_it_read_then(tmp_path: Path) -> None:
    """Held, with the tree now written from git's objects: a tracked link to a tracked
    file of the tree is a link again at REV, so a rewrite through it is found (and
    nothing is an `untracked-file`)."""
    repo = Repo(tmp_path / "repo")
    (repo.root / "books").mkdir()
    (repo.root / "books" / "2026.beancount").write_text(REQUEST_1)
    (repo.root / DECISIONS).symlink_to("books/2026.beancount")
    base = repo.commit(BOOK.replace(REQUEST_1, "") + f'include "{DECISIONS}"\n')
    (repo.root / "books" / "2026.beancount").write_text(REQUEST_1.replace("50.00", "900.00"))
    repo.commit()
    result = check(repo, base)
    assert [f for f in findings(result) if f.endswith("[edited-request]")], result.output
    assert not findings(result, "untracked-file")


def test_a_chain_of_links_that_climbs_out_of_revs_tree_is_not_followed(tmp_path: Path) -> None:
    """Held (as `git archive` with tar's data filter did): `here -> .` and
    `out -> here/here/../outside.beancount` each look inside the tree, yet `out`
    leads to the folder above it, where REV's tree is written: it is not written, so
    REV is never read from outside what git holds."""
    repo = Repo(tmp_path / "repo")
    (repo.root / "here").symlink_to(".")
    (repo.root / "out").symlink_to("here/here/../outside.beancount")
    (repo.root / "main.beancount").write_text(BOOK)
    repo.commit()
    tree = tmp_path / "tree" / "root"
    tree.mkdir(parents=True)
    (tmp_path / "tree" / "outside.beancount").write_text("; not REV's\n")
    _write_tree(open_repository(repo.ledger, "HEAD"), tree)
    assert (tree / "main.beancount").read_text() == BOOK
    assert (tree / "here").is_symlink()
    assert not (tree / "out").is_symlink()


# -- intake: who files a scheduled request -------------------------------------------------

SCHEDULED = BACKDATING + """
2026-01-01 custom "adjustment-template" "goodwill"
  type: "credit:goodwill"
  amount: 40.00 USD
  offset-account: "Expenses:Goodwill"
  reason: "Goodwill for {date}"

2026-01-01 custom "adjustment-schedule" "monthly-goodwill" "goodwill"
  customers: "cust_456"
  every: "month"
  start: 2026-03-01
  end: 2026-03-31
  requested-by: "frank"
"""
"""A 40 USD goodwill credit a month, which needs a manager, filed in frank's name."""


def test_a_schedule_filed_in_someone_elses_name_is_not_approved_by_who_ran_it(
        tmp_path: Path) -> None:
    """Held: bob (a manager) runs a schedule whose line says `requested-by: "frank"`;
    the occurrence is frank's request and bob's entry (`entered-by: "bob"`), so bob
    cannot approve what he filed himself, and it waits, booking nothing."""
    ledger = tmp_path / "main.beancount"
    ledger.write_text(BASE + SCHEDULED)
    runner = CliRunner()
    filed = runner.invoke(main, ["run-schedules", "-f", str(ledger), "--as", "bob",
                                 "--through", "2026-03-01"], catch_exceptions=False)
    assert filed.exit_code == 0, filed.output
    [request] = load_file(ledger).book.facts.requests
    assert (request.requested_by, request.entered_by) == ("frank", "bob")
    before = ledger.read_bytes()
    approved = runner.invoke(main, ["approve", "-f", str(ledger), "--as", "bob", request.id],
                             catch_exceptions=False)
    assert approved.exit_code == 1
    assert "the person who entered it cannot approve it" in approved.output
    assert ledger.read_bytes() == before
    loaded = load_file(ledger)
    assert loaded.adj(request.id).state == State.PENDING
    assert loaded.balance("Assets:Receivable:Customers") == 0


# -- cancel and reverse ----------------------------------------------------------------------

LOCKED = '\n2026-04-01 custom "adjustment-lock" 2026-03-31\n  by: "carol"\n'
APPLIED = request("ADJ-1", "2026-03-01", "-50.00") + event("ADJ-1", "2026-03-02", "approve",
                                                          by="bob")
"""bob's 50 USD refund of March, applied; then March is closed."""


@pytest.mark.parametrize("where", ["cancel", "approve"])
def test_an_effective_date_does_not_put_a_reversal_in_a_closed_period(where: str) -> None:
    """Held: alice cancels her applied refund after March was closed, and writes
    `effective: 2026-03-15` on the cancel or on erin's approval of the reversal: a
    reversal is dated at its last approval, never at `effective:`, and since round 37
    the date is an error (`effective-ignored`) and that event has no effect, so
    nothing lands in March. Without it the reversal lands in April, and March's books
    stay as they were closed. bob, who approved the refund, may approve its reversal
    too (only alice, its requester and canceller, may not)."""
    effective = "  effective: 2026-03-15\n"
    cancel = event("ADJ-1", "2026-04-05", "cancel", by="alice", reason="Sent by mistake")
    approve = event("ADJ-1", "2026-04-06", "approve", by="erin")
    text = (APPLIED + LOCKED + cancel + (effective if where == "cancel" else "") + approve
            + (effective if where == "approve" else ""))
    loaded = load(text)
    marked = loaded.line(f'"ADJ-1" "{where}"', nth=1 if where == "approve" else 0)
    assert (marked, "effective-ignored") in loaded.codes
    assert loaded.adj("ADJ-1").state != State.REVERSED
    assert loaded.tagged("adjustment-reversal") == []
    plain = load(APPLIED + LOCKED + cancel + approve)
    assert plain.errors == []
    assert plain.adj("ADJ-1").state == State.REVERSED
    reversals = [e for e in plain.entries if isinstance(e, data.Transaction)
                 and "adjustment-reversal" in (e.tags or ())]
    assert [e.date for e in reversals] == [datetime.date(2026, 4, 6)]
    by_bob = load(APPLIED + LOCKED + cancel + approve.replace('"erin"', '"bob"'))
    assert by_bob.adj("ADJ-1").state == State.REVERSED
    by_alice = load(APPLIED + LOCKED + cancel + approve.replace('"erin"', '"alice"'))
    assert by_alice.adj("ADJ-1").state == State.REVERSING
    assert by_alice.balance("Assets:Receivable:Customers") == -50
