"""Round 33 of attacks on the controls: identity in the CLI and in git.

bob (a manager) wants carol's (finance) approval on his team's 1,200 USD credit,
which needs a manager and finance; alice (an agent) wants to approve her own.
Each test is one way tried to make git say a decision is someone else's, judged
by `bean-adjust check --since REV` with real `git` in a temporary repository. A
test whose docstring says "Hole:" failed on the code it was written against (the
fix is named in the commit that added it); the others held and add coverage no
earlier test had.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from repos import Repo, check, findings

from beancount_adjustments.cli import main
from beancount_adjustments.reports.history.identity import Commit, commit_matches
from ledgers import BASE, load

PEOPLE = BASE.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n') \
    .replace("  limit: 1000.00 USD\n", "")


def policy(level: str = "required") -> str:
    return f'\n2026-01-01 custom "adjustment-policy" "credit:*"\n  git-identity: "{level}"\n'


CREDIT = """
2026-03-05 ! "cust_456" "Goodwill" ^ADJ-3
  adjustment-type: "credit:goodwill"
  customer: "cust_456"
  reason: "Late delivery"
  requested-by: "alice"
  Expenses:Goodwill              1200.00 USD
  Assets:Receivable:Customers   -1200.00 USD
"""

BOB = '\n2026-03-06 custom "adjustment" "ADJ-3" "approve"\n  by: "bob"\n'
CAROL = '\n2026-03-07 custom "adjustment" "ADJ-3" "approve"\n  by: "carol"\n'
HEADER = '"ADJ-3" "approve"'


def _books(tmp_path: Path, level: str = "required") -> tuple[Repo, str]:
    """REV: alice's credit, committed by her, and bob's approval, committed by him."""
    repo = Repo(tmp_path / "books")
    at_rev = PEOPLE + policy(level) + CREDIT
    repo.commit(at_rev, email="alice@example.com")
    repo.commit(at_rev + BOB, email="bob@example.com")
    return repo, at_rev + BOB


def _carol_finding(repo: Repo, rev: str) -> str:
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert f"main.beancount:{repo.line(HEADER, 1)}: " in line, line
    assert "carol" in line
    return line


# -- who acts: the CLI's --as, git's author ------------------------------------------------


def test_the_cli_as_carol_from_bobs_git_identity_is_a_finding(tmp_path: Path) -> None:
    """bob runs `bean-adjust approve --as carol` and commits it as himself."""
    repo, _ = _books(tmp_path)
    rev = repo.git("rev-parse", "HEAD").strip()
    result = CliRunner().invoke(main, ["approve", "-f", str(repo.ledger), "--as", "carol",
                                       "ADJ-3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    repo.commit(email="bob@example.com")
    assert "bob@example.com" in _carol_finding(repo, rev)


def test_bean_adjust_user_from_bobs_git_identity_is_a_finding(tmp_path: Path) -> None:
    repo, _ = _books(tmp_path)
    rev = repo.git("rev-parse", "HEAD").strip()
    result = CliRunner(env={"BEAN_ADJUST_USER": "carol"}).invoke(
        main, ["approve", "-f", str(repo.ledger), "ADJ-3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    repo.commit(email="bob@example.com")
    _carol_finding(repo, rev)


def test_a_mailmap_mapping_bob_to_carol_does_not_make_his_commit_hers(tmp_path: Path) -> None:
    """bob commits a `.mailmap` that maps his e-mail to carol's, with the approval: git
    shows his commits as carol's wherever it reads the mailmap (`%aE`, `log.mailmap`)."""
    repo, text = _books(tmp_path)
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.git("config", "log.mailmap", "true")
    (repo.root / ".mailmap").write_text("Carol <carol@example.com> <bob@example.com>\n")
    repo.commit(text + CAROL, email="bob@example.com")
    assert "bob@example.com" in _carol_finding(repo, rev)


def test_a_blame_ignore_revs_file_does_not_hide_the_commit(tmp_path: Path) -> None:
    """Hole: bob replaces two comment lines REV held with carol's approval (two lines),
    then lists his commit in `.git-blame-ignore-revs`, which the deployment's git
    reads (`blame.ignoreRevsFile`, a common setting): git blame gave his lines to the
    comment's commit, older than REV, so they were nobody's to check."""
    repo = Repo(tmp_path / "books")
    at_rev = PEOPLE + policy() + CREDIT + BOB
    note = "\n; reviewed on the phone\n;   by finance\n"
    repo.commit(at_rev + note, email="bob@example.com")
    rev = repo.git("rev-parse", "HEAD").strip()
    forged = repo.commit(at_rev + CAROL.replace("\n2026", "2026"), email="bob@example.com")
    (repo.root / ".git-blame-ignore-revs").write_text(forged + "\n")
    repo.commit(email="bob@example.com")
    repo.git("config", "blame.ignoreRevsFile", ".git-blame-ignore-revs")
    _carol_finding(repo, rev)


def test_an_included_file_committed_before_rev_is_judged_by_who_wrote_it(
        tmp_path: Path) -> None:
    """Hole: a file REV held but did not include (a sample, a draft) holds an approval
    "by carol" that bob wrote long ago; he includes it. The event is new since REV,
    but every line of it was committed before REV, and such lines were skipped: no
    commit was left to judge, so it passed as carol's."""
    repo = Repo(tmp_path / "books")
    at_rev = PEOPLE + policy() + CREDIT + BOB
    (repo.root / "draft.beancount").write_text(CAROL)
    repo.commit(at_rev, email="bob@example.com")
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.commit(at_rev + '\ninclude "draft.beancount"\n', email="carol@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert "draft.beancount:2: " in line
    assert "bob@example.com" in line


def test_an_included_file_carol_committed_before_rev_is_hers(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "books")
    at_rev = PEOPLE + policy() + CREDIT + BOB
    repo.commit(at_rev, email="bob@example.com")
    (repo.root / "draft.beancount").write_text(CAROL)
    repo.commit(email="carol@example.com")
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.commit(at_rev + '\ninclude "draft.beancount"\n', email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output


def test_an_evil_merge_brings_in_an_approval_nobody_committed(tmp_path: Path) -> None:
    """bob merges an empty side branch and writes carol's approval into the merge
    commit itself (in neither parent): blame names the merge, which is his."""
    repo, text = _books(tmp_path)
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "side")
    (repo.root / "notes.txt").write_text("side\n")
    repo.commit(email="carol@example.com")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", email="bob@example.com")
    repo.write(text + CAROL)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "merge side", email="bob@example.com")
    assert "bob@example.com" in _carol_finding(repo, rev)


def test_a_request_and_its_approval_in_the_requesters_commit(tmp_path: Path) -> None:
    """alice files a credit and, in the same commit, carol's approval of it."""
    repo = Repo(tmp_path / "books")
    repo.commit(PEOPLE + policy(), email="alice@example.com")
    repo.commit(PEOPLE + policy() + CREDIT + BOB.replace('"bob"', '"erin"') + CAROL,
                email="alice@example.com")
    result = check(repo, "HEAD~1")
    assert result.exit_code == 1, result.output
    lines = findings(result, "git-identity")
    for nth in (0, 1):   # erin's and carol's approvals, both in alice's commit
        [line] = [f for f in lines if f"main.beancount:{repo.line(HEADER, nth)}: " in f]
        assert "alice@example.com" in line
    assert len(lines) == 2, result.output   # the request itself is alice's


def test_an_old_commit_amended_before_rev_is_still_judged(tmp_path: Path) -> None:
    """bob rewrites history: the commit that filed the credit (before REV) now also
    holds carol's approval, and he rebuilds the branch on it. Its commits are not
    REV's, so blame names a commit git-identity judges: the rewritten one (alice's
    author kept by the amend)."""
    repo, _ = _books(tmp_path)
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "rewritten", "HEAD~1")
    repo.write(PEOPLE + policy() + CREDIT + CAROL)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit", email="bob@example.com")
    repo.commit(PEOPLE + policy() + CREDIT + CAROL + BOB, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    lines = findings(result, "git-identity")
    assert any("carol" in f and "alice@example.com" in f for f in lines), result.output


# -- signed commits: the check that holds where anyone may write the repository ------------


def _keys(repo: Repo, tmp_path: Path, *users: str) -> dict[str, Path]:
    """An SSH signing key per user, trusted by the deployment's allowed-signers file
    (outside the repository), and signing configured for the repository."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is needed to sign commits")
    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    keys, allowed = {}, []
    for user in users:
        key = folder / user
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user,
                        "-f", str(key)], check=True)
        keys[user] = key
        allowed.append(f"{user}@example.com {key.with_suffix('.pub').read_text()}")
    (folder / "allowed_signers").write_text("".join(allowed))
    for name, value in (("gpg.format", "ssh"),
                        ("gpg.ssh.allowedSignersFile", str(folder / "allowed_signers"))):
        repo.git("config", name, value)
    return keys


def _signed_commit(repo: Repo, text: str, key: Path, *more: str,
                   env: dict[str, str] | None = None) -> None:
    repo.write(text)
    repo.git("add", "-A")
    subprocess.run(["git", "-C", str(repo.root), "-c", f"user.signingkey={key}", "commit",
                    "-q", "-S", "-m", "ledger", *more], check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})})


def test_git_identity_signed_is_a_policy_value() -> None:
    _, errors, book = load(policy("signed") + CREDIT)
    assert errors == []
    settings = book.policies.settings("credit:goodwill", datetime.date(2026, 3, 5))
    assert settings.git_identity
    assert settings.git_signed


@pytest.mark.parametrize("how", ["author", "environment"])
def test_under_signed_a_typed_author_is_not_enough(tmp_path: Path, how: str) -> None:
    """Hole: bob commits carol's approval with `--author` (or GIT_AUTHOR_*/GIT_COMMITTER_*
    set to her), signed with his own key. Author e-mail alone passed, and no policy
    could ask for more: a deployment whose server takes any author had no check
    that held. `git-identity: "signed"` asks for carol's good signature."""
    repo, text = _books(tmp_path, "signed")
    keys = _keys(repo, tmp_path, "bob", "carol")
    rev = repo.git("rev-parse", "HEAD").strip()
    if how == "author":
        _signed_commit(repo, text + CAROL, keys["bob"], "--author",
                       "Carol <carol@example.com>")
    else:
        _signed_commit(repo, text + CAROL, keys["bob"],
                       env={"GIT_AUTHOR_EMAIL": "carol@example.com",
                            "GIT_COMMITTER_EMAIL": "carol@example.com"})
    assert repo.git("show", "-s", "--format=%ae", "HEAD").strip() == "carol@example.com"
    line = _carol_finding(repo, rev)
    assert "signature" in line


def test_under_signed_an_unsigned_commit_by_carol_is_a_finding(tmp_path: Path) -> None:
    repo, text = _books(tmp_path, "signed")
    rev = repo.git("rev-parse", "HEAD").strip()
    repo.commit(text + CAROL, email="carol@example.com")
    _carol_finding(repo, rev)


def test_under_signed_carols_signature_is_hers_whoever_pushes(tmp_path: Path) -> None:
    repo, text = _books(tmp_path, "signed")
    keys = _keys(repo, tmp_path, "bob", "carol")
    rev = repo.git("rev-parse", "HEAD").strip()
    _signed_commit(repo, text + CAROL, keys["carol"], env={
        "GIT_AUTHOR_EMAIL": "mallory@example.com", "GIT_COMMITTER_EMAIL": "bob@example.com"})
    result = check(repo, rev)
    assert result.exit_code == 0, result.output


def test_under_signed_a_rebase_by_bob_leaves_no_signature_of_carols(tmp_path: Path) -> None:
    """carol signs her approval on a branch; bob rebases it (keeping her as author):
    the rewritten commit carries no signature of hers, and counts for nobody."""
    repo, text = _books(tmp_path, "signed")
    keys = _keys(repo, tmp_path, "bob", "carol")
    rev = repo.git("rev-parse", "HEAD").strip()
    _signed_commit(repo, text + CAROL, keys["carol"])
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-gpg-sign",
             "--author", "Carol <carol@example.com>", email="bob@example.com")
    _carol_finding(repo, rev)


def test_under_signed_the_pre_commit_hook_judges_the_author(tmp_path: Path) -> None:
    """The commit about to be made has no signature yet: the hook judges its author
    (CI judges the signature), so carol's honest hook run passes."""
    repo, text = _books(tmp_path, "signed")
    repo.write(text + CAROL)
    repo.git("add", "-A")
    repo.git("config", "user.email", "carol@example.com")
    result = check(repo, "HEAD", "--pre-commit")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("signer", ["Bob carol@example.com <bob@example.com>",
                                    "Bob (carol@example.com) <bob@example.com>"])
def test_a_signer_naming_another_email_beside_its_own_is_not_theirs(signer: str) -> None:
    """Hole: a GPG user id is free text: bob's key "Bob carol@example.com
    <bob@example.com>", certified as bob's, matched carol, since any e-mail in it
    counted."""
    commit = Commit("x" * 40, "bob@example.com", "G", signer)
    assert not commit_matches(commit, "carol@example.com")
    assert commit_matches(commit, "bob@example.com", signed=True)


@pytest.mark.parametrize("signer", ["Carol <carol@example.com>", "carol@example.com",
                                    "Carol@Example.com"])
def test_a_signer_that_is_the_email_matches(signer: str) -> None:
    assert commit_matches(Commit("x" * 40, "bob@example.com", "G", signer), "carol@example.com",
                          signed=True)


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_an_allowed_signers_file_in_the_repository_vouches_for_nobody(
        tmp_path: Path, where: str) -> None:
    """Hole: the deployment keeps git's allowed-signers file in the ledger's repository
    (`gpg.ssh.allowedSignersFile = signers`); bob adds his own key to it as
    carol@example.com and signs her approval: git calls the signature good, by carol."""
    repo, text = _books(tmp_path, "signed")
    keys = _keys(repo, tmp_path, "bob")
    rev = repo.git("rev-parse", "HEAD").strip()
    pub = keys["bob"].with_suffix(".pub").read_text()
    (repo.root / "signers").write_text(f"carol@example.com {pub}")
    repo.git("config", "gpg.ssh.allowedSignersFile",
             "signers" if where == "relative" else str(repo.root / "signers"))
    _signed_commit(repo, text + CAROL, keys["bob"], "--author", "Carol <carol@example.com>")
    assert repo.git("show", "-s", "--format=%G?%GS", "HEAD").strip() == "Gcarol@example.com"
    _carol_finding(repo, rev)


def test_under_signed_a_new_git_email_for_carol_must_be_signed_by_her(tmp_path: Path) -> None:
    """bob gives carol his own e-mail as `git:` (committed with `--author` carol, unsigned)
    to sign "as carol" later: under "signed" the line needs carol's signature too."""
    repo, text = _books(tmp_path, "signed")
    rev = repo.git("rev-parse", "HEAD").strip()
    moved = (text + '\n2026-03-07 custom "adjustment-user" "carol" "finance"\n'
             '  git: "c@bob.example"\n')
    repo.write(moved)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "x", "--author", "Carol <carol@example.com>",
             email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert f"main.beancount:{repo.line('c@bob.example') - 1}: " in line
