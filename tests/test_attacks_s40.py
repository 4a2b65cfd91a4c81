"""Round 40 of attacks: `bean-adjust check --since REV` as an auditor relies on it.

alice (an agent, with commit rights) wants a decision REV had made rewritten, or
a decision passed off as bob's or carol's, with `check --since` exiting 0: through
what git hands `check` (replace objects), includes that reach outside REV's tree,
the lines git blames for a decision, and the pre-commit hook as shipped. A test
whose docstring says "Hole:" failed on the code it was written against (the fix
is named in the commit that added it); the others held and add coverage no
earlier round had: included files named like options or with a line break and
a quote in their name, REV spelled as an annotated tag, a branch named like the
ledger or `HEAD~0` (and `--all` refused), an `at:` edited on a decision REV held,
and a rewrite undone within the range (intact, by design).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from repos import BOOK, REQUEST_1, REQUEST_2, Repo, check, findings

from beancount_adjustments.cli import main
from ledgers import load

IDENTITY = BOOK.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n') + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  git-identity: "required"
"""
"""The history tests' book, alice with her git e-mail, goodwill credits under
`git-identity`: each new decision on ADJ-2 must be committed by the user it names."""

DECISIONS = "decisions.beancount"
"""An included file holding ADJ-1, bob's applied 50 USD refund (`repos.REQUEST_1`)."""

RAISED = REQUEST_1.replace("50.00", "900.00")
"""ADJ-1 raised to 900 USD after bob approved 50."""


def _approval(text: str, comment: str = "") -> str:
    """bob's approval of ADJ-2 as a tool writes it, bound by its digest to `text`."""
    digest = load(text, base=False).book.adjustments["ADJ-2"].digest
    return (f'\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
            f'  at: "2026-03-06T10:00:00+00:00"\n  digest: "{digest}"\n{comment}')


# -- git-identity: the lines of a decision -------------------------------------------------


def test_a_line_after_a_multi_line_comment_is_part_of_the_decision(tmp_path: Path) -> None:
    """Hole: bob approved alice's 40 USD goodwill credit with a comment of two lines
    (a Beancount string may hold a line break, and the writer writes one as it is:
    a Fava text area gives one). Its second line starts at column 0, where the
    decision's lines were taken to end; alice then raised the credit to 900 USD
    and wrote the new digest after that line. Beancount reads it as bob's
    approval's (a key written again replaces the first), git blames it on her,
    yet only the lines up to the comment were judged: 900 USD booked on bob's
    40 USD approval, the past "intact"."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(IDENTITY + REQUEST_2)
    comment = '  comment: "fine,\nsee the ticket"\n'
    repo.commit(IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2, comment),
                email="bob@example.com")
    assert check(repo, base).exit_code == 0   # bob's own approval, committed by him
    raised = REQUEST_2.replace("40.00", "900.00")
    digest = load(IDENTITY + raised, base=False).book.adjustments["ADJ-2"].digest
    repo.commit(IDENTITY + raised + _approval(IDENTITY + REQUEST_2, comment)
                + f'  digest: "{digest}"\n')
    loaded = load(repo.ledger.read_text(), base=False)
    assert loaded.balance("Assets:Receivable:Customers") == -950   # the plugin books it
    result = check(repo, base)
    [line] = findings(result, "git-identity")
    assert repo.at('"ADJ-2" "approve"') in line, result.output
    assert "alice@example.com" in line
    assert result.exit_code == 1


# -- REV's tree: what the load at REV reads ---------------------------------------------------


def test_an_absolute_include_reads_revs_file_at_rev(tmp_path: Path) -> None:
    """Hole: `include "/abs/path/decisions.beancount"` names the file of the work tree
    itself: loaded in REV's tree, the ledger read the file as it is now, not as REV
    held it, so raising bob's 50 USD refund to 900 USD compared equal with itself
    (the file is tracked, so no `untracked-file` either)."""
    repo = Repo(tmp_path / "repo")
    (repo.root / DECISIONS).write_text(REQUEST_1)
    base = repo.commit(BOOK.replace(REQUEST_1, "")
                       + f'include "{repo.root / DECISIONS}"\n')
    (repo.root / DECISIONS).write_text(RAISED)
    repo.commit()
    result = check(repo, base)
    assert result.exit_code == 1, result.output
    assert findings(result, "edited-request") or findings(result, "untracked-file"), \
        result.output


def test_a_relative_include_climbing_out_of_the_tree_and_back(tmp_path: Path) -> None:
    """Hole (the same, spelled relative): enough `..` reach `/` from the work tree and
    from REV's tree alike, and the rest of the path names the work tree's file."""
    repo = Repo(tmp_path / "repo")
    (repo.root / DECISIONS).write_text(REQUEST_1)
    up = "../" * (len(repo.root.resolve().parts) + 8)
    base = repo.commit(BOOK.replace(REQUEST_1, "")
                       + f'include "{up}{str(repo.root.resolve() / DECISIONS).lstrip("/")}"\n')
    (repo.root / DECISIONS).write_text(RAISED)
    repo.commit()
    result = check(repo, base)
    assert result.exit_code == 1, result.output


# -- git: what it hands check -------------------------------------------------------------------


def test_a_replace_ref_does_not_change_what_rev_held(tmp_path: Path) -> None:
    """Hole: `git replace OLD NEW` makes git hand NEW's bytes wherever OLD is asked
    for. alice replaced the blob REV held for decisions.beancount by the one she
    committed (ADJ-1 raised to 900 USD): REV's tree was read with her text, and
    compared equal to now (refs/replace/* is pushed and fetched like any ref)."""
    repo = Repo(tmp_path / "repo")
    (repo.root / DECISIONS).write_text(REQUEST_1)
    base = repo.commit(BOOK.replace(REQUEST_1, "") + f'include "{DECISIONS}"\n')
    old = repo.git("rev-parse", f"{base}:{DECISIONS}").strip()
    (repo.root / DECISIONS).write_text(RAISED)
    head = repo.commit()
    repo.git("replace", old, repo.git("rev-parse", f"{head}:{DECISIONS}").strip())
    result = check(repo, base)
    [line] = findings(result, "edited-request")
    assert f"{DECISIONS}:2: ADJ-1 was applied" in line, result.output


def test_a_replaced_commit_does_not_make_alices_lines_bobs(tmp_path: Path) -> None:
    """Hole: alice commits bob's approval of ADJ-2 herself, then `git replace`s her
    commit with a copy whose author is bob: blame and `git show` read the copy, so
    the approval passed for bob's."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(IDENTITY + REQUEST_2)
    head = repo.commit(IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2))
    body = repo.git("cat-file", "commit", head).replace(
        "author Alice <alice@example.com>", "author Bob <bob@example.com>")
    fake = subprocess.run(["git", "-C", str(repo.root), "hash-object", "-t", "commit", "-w",
                           "--stdin"], input=body, capture_output=True, text=True,
                          check=True).stdout.strip()
    repo.git("replace", head, fake)
    assert "bob@example.com" in repo.git("log", "-1", "--format=%ae", head)
    result = check(repo, base)
    [line] = findings(result, "git-identity")
    assert "alice@example.com" in line, result.output


# -- file names and revisions ---------------------------------------------------------------------


def test_included_files_named_like_options_or_with_odd_characters(tmp_path: Path) -> None:
    """Held: decisions in `--help.beancount` and `a b\\nc;"d.beancount` (a leading
    dash, a space, a line break, a quote) are read at REV and blamed for
    git-identity like any other: raising ADJ-1 in one is an `edited-request`, and
    bob's approval alice commits in the other a `git-identity` finding."""
    repo = Repo(tmp_path / "repo")
    odd = 'a b\nc;"d.beancount'
    (repo.root / "--help.beancount").write_text(REQUEST_1)
    (repo.root / odd).write_text(REQUEST_2)
    quoted = odd.replace("\\", "\\\\").replace('"', '\\"')
    base = repo.commit(IDENTITY.replace(REQUEST_1, "")
                       + f'include "--help.beancount"\ninclude "{quoted}"\n')
    (repo.root / "--help.beancount").write_text(RAISED)
    (repo.root / odd).write_text(REQUEST_2 + _approval(IDENTITY + REQUEST_2))
    repo.commit()
    result = check(repo, base)
    assert [f for f in findings(result, "edited-request") if "--help.beancount:2:" in f], \
        result.output
    [line] = findings(result, "git-identity")
    assert "alice@example.com" in line, result.output


def test_rev_spelled_as_a_tag_a_branch_named_like_a_file_or_head_0(tmp_path: Path) -> None:
    """Held: an annotated tag, a branch named `main.beancount` (like the ledger) and
    `HEAD~0` each name the commit they peel to; a revision spelled as an option
    (`--all`) is refused, one line, exit 1."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(BOOK)
    repo.git("tag", "-a", "-m", "audited", "audited")
    repo.git("branch", "main.beancount")
    repo.commit(BOOK.replace("50.00", "900.00"))
    for rev in ("audited", "main.beancount", f"{base}~0"):
        result = check(repo, rev)
        assert findings(result, "edited-request"), (rev, result.output)
    repo.git("tag", "-f", "-a", "-m", "now", "audited")
    assert check(repo, "HEAD~0").exit_code == 0
    refused = check(repo, "--all")
    assert refused.exit_code == 1
    assert "is not a git revision" in refused.output


def test_an_at_stamp_edited_on_a_decision_rev_held_is_an_edited_decision(tmp_path: Path) -> None:
    """Held: bob's approval REV held, its `at:` moved a day later (to make room for a
    decision slipped in before it): `edited-decision`, naming `at`."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2),
                       email="bob@example.com")
    repo.commit(repo.ledger.read_text().replace("2026-03-06T10:00", "2026-03-07T10:00"))
    result = check(repo, base)
    [line] = findings(result, "edited-decision")
    assert "(at)" in line, result.output


def test_a_decision_edited_and_restored_within_the_range_is_intact(tmp_path: Path) -> None:
    """Held, by design: `check` compares REV with now; a decision rewritten in one commit
    of the range and restored in a later one rewrites nothing in the end (CI on each
    change would have caught the middle one)."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(BOOK)
    repo.commit(BOOK.replace("50.00", "900.00"))
    repo.commit(BOOK)
    result = check(repo, base)
    assert result.exit_code == 0, result.output
    assert "the past is intact" in result.stdout


# -- the pre-commit hook as shipped ---------------------------------------------------------------


def test_the_shipped_hooks_run_whatever_file_a_commit_changes() -> None:
    """Hole: the hooks ran only when a staged file matched `\\.beancount$`, yet a
    ledger may include `2026.bean` or `decisions.txt` (an include names any file),
    and `.gitattributes` or a check module change what is read: alice's commit
    editing only `2026.bean` (bob's reject turned into an approval) skipped
    `bean-adjust check --since HEAD` altogether. The hooks read the whole ledger
    and take no file names, so they run on every commit."""
    yaml = pytest.importorskip("yaml")
    hooks = {h["id"]: h for h in yaml.safe_load(
        (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text())}
    for name in ("bean-adjust-since", "bean-adjust-check", "bean-check-ledger"):
        hook = hooks[name]
        assert hook.get("always_run") is True, hook
        assert hook.get("pass_filenames") is False, hook
    assert hooks["bean-adjust-since"]["entry"] == "bean-adjust check --since HEAD --pre-commit"


def test_the_readmes_hook_arguments_are_what_check_takes() -> None:
    """Hole (in the manual): README's `bean-adjust-check` example passed
    `args: [main.beancount]`, which `bean-adjust check` refuses (it takes `-f`):
    a team copying it had a hook that failed every commit, and turned it off."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "args: [main.beancount]" not in readme
    result = CliRunner().invoke(main, ["check", "main.beancount"])
    assert result.exit_code == 2   # what that example ran


# -- a ledger REV's tree cannot load whole --------------------------------------------------------


def test_a_file_revs_ledger_included_but_git_did_not_hold_then_is_a_finding(
        tmp_path: Path) -> None:
    """Hole: at REV the ledger included decisions.beancount, lying in the work tree but
    never added (its check then said `untracked-file`, and nobody ran it). REV's
    tree has no such file: its load failed to read it (an error nobody saw), so REV
    had "decided nothing", the file committed now with bob's refund raised to 900
    USD compared with nothing, and the past was "intact". Each error of the loader
    at REV (a file it names that its tree lacks, a plugin that failed) is an
    `unread-at-rev` finding at REV's ledger: REV cannot be compared whole."""
    repo = Repo(tmp_path / "repo")
    repo.write(BOOK.replace(REQUEST_1, "") + f'include "{DECISIONS}"\n')
    base = repo.commit()
    (repo.root / DECISIONS).write_text(RAISED)
    repo.commit()
    result = check(repo, base)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "unread-at-rev")
    assert line.startswith(f"{repo.at(DECISIONS)}(at {base}) "), line   # its include line
    assert f'(File glob "{DECISIONS}" does not match any files)' in line
