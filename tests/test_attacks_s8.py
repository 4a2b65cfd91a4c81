"""Eighth round of attacks on the controls (issue 11): escaping, identity, self-approval.

Each test is one way tried to get script or a formula out of ledger text, to act
as someone the deployment does not vouch for, to write through a door the
extension keeps shut, or to approve one's own request by another path; it asserts
that the control holds. A test whose docstring says "Hole:" failed on the code
it was written against (the fix is named in the commit that added it); the
others held and add coverage no earlier test had.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from beancount_adjustments.cli import main
from ledgers import BASE

# -- a git repository (the few lines of test_history's helpers this module needs) ------------


class Repo:
    """A git repository holding one ledger, `main.beancount`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger = root / "main.beancount"
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Alice")
        self.git("config", "user.email", "alice@example.com")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, email: str | None = None) -> str:
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
        if email is not None:
            env.update(GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_EMAIL=email)
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, env=env,
                              capture_output=True, text=True).stdout

    def commit(self, text: str, *, email: str | None = None) -> None:
        self.ledger.write_text(textwrap.dedent(text))
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "ledger", email=email)

    def at(self, marker: str) -> str:
        """`main.beancount:LINE: ` of the first line containing `marker`."""
        lines = self.ledger.read_text().splitlines()
        return f"main.beancount:{next(n for n, t in enumerate(lines, 1) if marker in t)}: "


def since(repo: Repo, rev: str) -> Result:
    return CliRunner().invoke(main, ["check", "-f", str(repo.ledger), "--since", rev],
                              catch_exceptions=False)


def findings(result: Result, code: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.endswith(f"[{code}]")]


# -- self-approval: an alias sharing the requester's git e-mail ------------------------------

ALICE = BASE.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n')
GIT_IDENTITY = ('\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n'
                '  git-identity: "required"\n')
GOODWILL = """
2026-03-05 ! "cust_456" "Goodwill" ^ADJ-2
  adjustment-type: "credit:goodwill"
  customer: "cust_456"
  reason: "Late delivery"
  requested-by: "alice"
  Expenses:Goodwill               40.00 USD
  Assets:Receivable:Customers    -40.00 USD
"""


@pytest.mark.parametrize("email", ["alice@example.com", "Alice@Example.com "])
def test_an_alias_with_the_requesters_git_email_is_a_git_identity_finding(
        tmp_path: Path, email: str) -> None:
    """Hole: under git-identity, alice (an agent) adds a user "al", a manager, whose `git:`
    is her own e-mail, and approves her own request as al, all in her commits: every
    line was committed by the user it names, so `check --since` passed, though git
    could not tell alice's commits from al's (segregation of duties void)."""
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL, email="alice@example.com")
    alias = (f'\n2026-03-06 custom "adjustment-user" "al" "manager"\n  git: "{email}"\n'
             '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "al"\n')
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL + alias, email="alice@example.com")
    result = since(repo, "HEAD~1")
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert repo.at('"adjustment-user" "al"') in line
    assert "alice" in line


def test_a_new_user_with_an_email_of_their_own_is_fine(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL, email="alice@example.com")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL
                + '\n2026-03-06 custom "adjustment-user" "gus" "manager"\n'
                  '  git: "gus@example.com"\n'
                  '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "gus"\n',
                email="gus@example.com")
    result = since(repo, "HEAD~1")
    assert result.exit_code == 0, result.output
    assert "the past is intact" in result.stdout


# -- CSV: a tab is a separator too ----------------------------------------------------------

TAB_PAYLOADS = ("Refund\t=1+1", "x\t@SUM(A1)\tmore", "x\t -2+3", 'say "hi"\t+1', "a\t\t=1")


def _cells(text: str, delimiter: str) -> list[str]:
    import csv
    import io
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def _no_formula(text: str) -> None:
    """No cell of `text`, read with `,`, `;` or a tab as the separator, is a formula (a
    plain number the product computed, like -40.00, is a number)."""
    import re
    for delimiter in (",", ";", "\t"):
        for cell in _cells(text, delimiter):
            if re.fullmatch(r"-?\d+(\.\d+)?", cell):
                continue
            assert not cell.lstrip(' "').startswith(("=", "+", "-", "@")), (delimiter, cell)


@pytest.mark.parametrize("payload", TAB_PAYLOADS)
def test_no_csv_cell_becomes_a_formula_where_the_separator_is_a_tab(
        tmp_path: Path, payload: str) -> None:
    """Hole: a reason may hold a tab, and the CSV writer leaves such text unquoted; a
    spreadsheet that splits on tabs (Excel's text import wizard does by default) read
    `Refund<TAB>=1+1` as two cells, the second `=1+1,...`: a formula, from every CSV
    the product writes."""
    import datetime

    from beancount_adjustments import reports
    from beancount_adjustments.reports import export as exporting
    from beancount_adjustments.reports.statement.render import render_csv
    from beancount_adjustments.reports.statement.rows import statement
    from ledgers import event, load, request
    quoted = payload.replace('"', '\\"')
    text = request("ADJ-1", "2026-03-01", "-40.00", reason=quoted, customer="cust_456")
    text += event("ADJ-1", "2026-03-02", "approve", "bob", comment=quoted)
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied"
    book = loaded.book
    assert book is not None
    day = datetime.date(2026, 3, 31)
    for out in (exporting.export(book, "csv", "adjustments"),
                exporting.export(book, "csv", "events"),
                reports.report_text("audit", book, reports.Scope(), "csv"),
                render_csv(statement(loaded.entries, book, "cust_456", day.replace(day=1),
                                     day))):
        assert "ADJ-1" in out
        _no_formula(out)
    [row] = _dict_rows(exporting.export(book, "csv", "adjustments"))
    assert row["reason"].replace("'", "") == payload.replace("'", "")


def _dict_rows(text: str) -> list[dict[str, str]]:
    import csv
    import io
    return list(csv.DictReader(io.StringIO(text)))
