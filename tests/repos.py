"""Git repositories for the tests of `bean-adjust check --since REV`: a `Repo`
holding one ledger, the check run on it and its findings read back, and the
book the history tests commit (`BOOK`: the standard preamble and ADJ-1,
applied) with what they append to it.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from beancount_adjustments.cli import main
from ledgers import BASE, request

# ADJ-1: a 50 USD refund bob approved (applied); ADJ-2: a 40 USD goodwill credit and
# his approval of it.
REQUEST_1 = """
2026-03-01 ! "cust_456" "Refund" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD

2026-03-02 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
"""

REQUEST_2 = """
2026-03-05 ! "cust_456" "Goodwill" ^ADJ-2
  adjustment-type: "credit:goodwill"
  customer: "cust_456"
  reason: "Late delivery"
  requested-by: "alice"
  Expenses:Goodwill               40.00 USD
  Assets:Receivable:Customers    -40.00 USD
"""

APPROVE_2 = """
2026-03-06 custom "adjustment" "ADJ-2" "approve"
  by: "bob"
"""

BOOK = BASE + REQUEST_1  # what the history tests commit first

COMMITTED = "2026-01-01T12:00:00+00:00"
"""When the tests' commits are made, unless they say otherwise: before every entry
they write, so that what is new since a revision was written after it (`check
--since` holds a decision claiming to be older than its revision's commit for
back-dated), whatever today's date is."""


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

    def git(self, *args: str, email: str | None = None, date: str = COMMITTED) -> str:
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_DATE": date,
               "GIT_COMMITTER_DATE": date}
        if email is not None:
            env.update(GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_EMAIL=email)
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, env=env,
                              capture_output=True, text=True).stdout

    def write(self, text: str) -> None:
        self.ledger.write_text(textwrap.dedent(text))

    def commit(self, text: str | None = None, message: str = "ledger", *,
               email: str | None = None, date: str = COMMITTED) -> str:
        if text is not None:
            self.write(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, email=email, date=date)
        return self.git("rev-parse", "HEAD").strip()

    def at(self, marker: str) -> str:
        """`main.beancount:LINE: ` of the first line containing `marker`."""
        return f"main.beancount:{self.line(marker)}: "

    def line(self, marker: str, nth: int = 0) -> int:
        """The line number of the nth line containing `marker` in the ledger now."""
        # Lines as Beancount and git count them: at "\n" only (not `splitlines`).
        found = [n for n, line in enumerate(self.ledger.read_bytes().decode().split("\n"), 1)
                 if marker in line]
        return found[nth]


def check(repo: Repo, rev: str = "HEAD", *more: str) -> Result:
    """`bean-adjust check -f LEDGER --since REV` on the repository's ledger."""
    return CliRunner().invoke(main, ["check", "-f", str(repo.ledger), "--since", rev, *more],
                              catch_exceptions=False)


def findings(result: Result, code: str | None = None) -> list[str]:
    """The lines of the check's output that are findings (each ends in `[code]`), or
    those of one `code`."""
    end = f"[{code}]" if code is not None else "]"
    return [line for line in result.stdout.splitlines() if line.endswith(end)]


def assert_intact(result: Result) -> None:
    """The check found nothing: the past is intact (a rule changed forward is a
    `rule-changed` note, which fails nothing)."""
    assert result.exit_code == 0, result.output
    assert "the past is intact" in result.stdout
    assert [f for f in findings(result) if not f.endswith("[rule-changed]")] == []


def assert_finding(result: Result, code: str, where: str) -> str:
    """The one finding with `code`, at `where` (`main.beancount:LINE`, maybe `(at REV)`)."""
    assert result.exit_code == 1, result.output
    assert "0 errors" in result.stdout, result.output   # the plugin itself is content
    matching = [f for f in findings(result) if f.endswith(f"[{code}]")]
    assert len(matching) == 1, result.output
    assert where in matching[0], matching[0]
    assert "the past is not append-only" in result.stdout.splitlines()[-1]
    return matching[0]


# -- rules changed since REV (rounds 55 and 57) ----------------------------------------

GIT_PEOPLE = BASE.replace(
    '"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n').replace(
    '"dave" "cfo"\n', '"dave" "cfo"\n  git: "dave@example.com"\n')
"""The preamble, with alice and dave known to git too."""
GIT_CREDITS = '2026-01-01 custom "adjustment-policy" "credit:*"\n  git-identity: "required"\n'
RULES_REV = GIT_PEOPLE + GIT_CREDITS + REQUEST_1
"""REV: ADJ-1 filed by alice, approved by bob on 2026-03-02 (its last decision)."""
ROLELESS = ('2026-03-10 custom "adjustment-approval" "credit:*" 25.00 USD\n'
            '2026-03-10 custom "adjustment-approval" "credit:*" 1000.00 USD\n'
            '2026-03-10 custom "adjustment-approval" "credit:*" 10000.00 USD\n')
"""Rows with no roles over the thresholds of the preamble's `credit:*` rows."""
BIG = request("ADJ-9", "2026-03-10", "-50000.00")
"""alice's 50,000 USD credit to cust_456."""
ALICE_APPROVES = '2026-03-10 custom "adjustment" "ADJ-9" "approve"\n  by: "alice"\n'


def rules_rev(tmp_path: Path, text: str = RULES_REV) -> tuple[Repo, str]:
    """A repository whose first commit (REV, by bob) holds `text`."""
    repo = Repo(tmp_path / "books")
    return repo, repo.commit(text, email="bob@example.com")


def rule_notes(result: Result) -> list[str]:
    """The check's `rule-changed` notes."""
    return findings(result, "rule-changed")


def assert_rule_compared(tmp_path: Path, base: str, line: str, backdated: str,
                         note: str) -> None:
    """A rule directive `line` (with `{date}`) added to `base` (REV, whose last decision
    is 2026-03-02) and dated before that is one `backdated-directive` saying `backdated`;
    dated after it, no failure and one `rule-changed` note saying `note`."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(base)
    repo.commit(base + "\n" + line.format(date="2026-02-01") + "\n")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "backdated-directive")
    assert len(found) == 1, result.output
    assert backdated in found[0], result.output
    repo.commit(base + "\n" + line.format(date="2026-03-10") + "\n")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = findings(result, "rule-changed")
    assert len(notes) == 1, result.output
    assert note in notes[0], notes
