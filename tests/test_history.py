"""`bean-adjust check --since REV`: the past is append-only.

Each test builds a real git repository in a temporary directory, commits a
ledger, changes it (committed or left in the work tree) and runs the CLI.
Tests that expect a rewrite assert the finding's code and line, not only
the exit status (the plugin's own errors exit 1 too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from repos import (
    APPROVE_2,
    BOOK,
    REQUEST_1,
    REQUEST_2,
    Repo,
    assert_finding,
    assert_intact,
    check,
    findings,
)

from beancount_adjustments.cli import main
from ledgers import BASE


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "books")


# -- appends are fine -------------------------------------------------------------------


def test_clean_append_of_requests_and_events(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.commit(BOOK + REQUEST_2 + APPROVE_2 + """
2026-03-10 custom "adjustment" "ADJ-1" "cancel"
  by: "bob"
  reason: "Customer kept the item"
""")
    result = check(repo, "HEAD~1")
    assert_intact(result)
    assert "1 adjustment decided at HEAD~1, 2 new decisions" in result.stdout


def test_uncommitted_append_against_head(repo: Repo) -> None:
    repo.commit(BOOK + REQUEST_2)
    repo.write(BOOK + REQUEST_2 + APPROVE_2)
    assert_intact(check(repo))


def test_moving_a_directive_is_no_change(repo: Repo) -> None:
    repo.commit(BOOK)
    moved = BOOK.replace('2026-01-01 custom "adjustment-customer" "cust_123" "vip"\n', "")
    repo.write(moved + '\n2026-01-01 custom "adjustment-customer" "cust_123" "vip"\n')
    assert_intact(check(repo))


def test_editing_a_request_still_pending_at_rev_is_fine(repo: Repo) -> None:
    repo.commit(BOOK + REQUEST_2)
    repo.write(BOOK + REQUEST_2.replace("40.00 USD", "45.00 USD"))
    assert_intact(check(repo))


def test_a_new_row_dated_after_revs_last_decision(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK + """
2026-03-03 custom "adjustment-approval" "credit:*" 10.00 USD "manager"
2026-03-03 price EUR 1.10 USD
2026-03-03 custom "adjustment-user" "bob" "manager"
  limit: 5000.00 USD
""")
    assert_intact(check(repo))


# -- rewrites -----------------------------------------------------------------------------


def test_editing_an_approved_requests_amount(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK.replace("   50.00 USD", "   60.00 USD").replace("-50.00", "-60.00"))
    line = assert_finding(check(repo), "edited-request",
                          repo.at('^ADJ-1'))
    assert "ADJ-1 was applied at HEAD" in line
    assert "postings" in line


def test_deleting_an_approval(repo: Repo) -> None:
    repo.commit(BOOK)
    old_line = repo.line('"ADJ-1" "approve"')
    repo.write(BOOK.replace('2026-03-02 custom "adjustment" "ADJ-1" "approve"\n  by: "bob"\n',
                            ""))
    result = check(repo)
    line = assert_finding(result, "removed-decision", f"main.beancount:{old_line}: (at HEAD)")
    assert "the approve of ADJ-1 by bob on 2026-03-02" in line


def test_deleting_an_approval_of_a_request_still_pending(repo: Repo) -> None:
    # ADJ-2 needs manager then finance: at REV one level was filled.
    big = REQUEST_2.replace("40.00 USD", "1500.00 USD")
    repo.commit(BOOK + big + APPROVE_2.replace("bob", "erin"))
    repo.write(BOOK + big)
    assert_finding(check(repo), "removed-decision", "(at HEAD)")


def test_editing_an_approvals_by(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK.replace('  by: "bob"', '  by: "erin"'))
    line = assert_finding(check(repo), "edited-decision",
                          repo.at('"ADJ-1" "approve"'))
    assert "(by)" in line


def test_editing_an_approvals_comment(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK.replace('  by: "bob"', '  by: "bob"\n  comment: "looked fine"'))
    line = assert_finding(check(repo), "edited-decision", "main.beancount:")
    assert "(comment)" in line


def test_backdated_approval_row(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK + """
2026-02-01 custom "adjustment-approval" "credit:refund" 10.00 USD "manager" "finance"
""")
    result = check(repo)
    line = assert_finding(result, "backdated-directive",
                          repo.at('2026-02-01 custom'))
    assert "is new since HEAD" in line
    assert "2026-03-02" in line
    # The row also makes ADJ-1 need finance: the replay judges it again.
    assert any(f.endswith("[rejudged]") for f in findings(result))


def test_backdated_price(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK + "\n2026-02-15 price EUR 1.10 USD\n")
    line = assert_finding(check(repo), "backdated-directive",
                          repo.at('price EUR'))
    assert "price EUR 1.10 USD" in line


def test_removed_price(repo: Repo) -> None:
    repo.commit(BOOK + "\n2026-02-15 price EUR 1.10 USD\n")
    repo.write(BOOK)
    assert_finding(check(repo), "backdated-directive", "(at HEAD)")


def test_backdated_change_of_a_users_limit(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK.replace("limit: 1000.00 USD", "limit: 2000.00 USD"))
    line = assert_finding(check(repo), "backdated-directive",
                          repo.at('"bob" "manager"'))
    assert "adjustment-user bob dated 2026-01-01 was changed" in line


def test_backdated_change_of_a_users_roles(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK.replace('"carol" "finance"', '"carol" "finance" "manager"'))
    assert_finding(check(repo), "backdated-directive",
                   repo.at('"carol"'))


def test_backdated_decision_before_revs_decisions(repo: Repo) -> None:
    big = REQUEST_2.replace("40.00 USD", "1500.00 USD")
    second = '\n2026-03-08 custom "adjustment" "ADJ-2" "approve"\n  by: "carol"\n'
    repo.commit(BOOK + big + APPROVE_2.replace("bob", "erin") + second)
    # A rejection slipped in between the two approvals REV had counted.
    inserted = '\n2026-03-07 custom "adjustment" "ADJ-2" "reject"\n  by: "carol"\n' \
               '  reason: "On second thought"\n'
    repo.write(BOOK + big + APPROVE_2.replace("bob", "erin") + inserted + second)
    result = check(repo)
    assert result.exit_code == 1
    assert any(f.endswith("[backdated-decision]")
               and repo.at('"reject"') in f for f in findings(result))


def test_removed_request(repo: Repo) -> None:
    repo.commit(BOOK + REQUEST_2)
    repo.write(BOOK)
    repo.write(BASE)
    result = check(repo)
    assert result.exit_code == 1
    assert any(f.endswith("[removed-request]") and "(at HEAD)" in f and "ADJ-1" in f
               for f in findings(result))


def test_json_output(repo: Repo) -> None:
    repo.commit(BOOK)
    repo.write(BOOK + "\n2026-02-15 price EUR 1.10 USD\n")
    result = check(repo, "HEAD", "--json")
    assert result.exit_code == 1
    since = json.loads(result.stdout)["since"]
    assert since["compared"] is True
    assert [f["code"] for f in since["findings"]] == ["backdated-directive"]
    assert since["findings"][0]["line"] == repo.line("price EUR")


# -- revisions that cannot be compared with ----------------------------------------------------


def test_bad_revision(repo: Repo) -> None:
    repo.commit(BOOK)
    result = check(repo, "no-such-branch")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"bean-adjust: check --since no-such-branch: 'no-such-branch' is not a commit of "
        f"the repository {repo.root.resolve()}"]


def test_not_a_git_repository(tmp_path: Path) -> None:
    ledger = tmp_path / "plain" / "main.beancount"
    ledger.parent.mkdir()
    ledger.write_text(BOOK)
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    result = CliRunner().invoke(main, ["check", "-f", str(ledger), "--since", "HEAD"], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "is not inside a git repository" in result.stderr
    assert "Traceback" not in result.output


def test_ledger_that_did_not_exist_at_rev(repo: Repo) -> None:
    (repo.root / "README").write_text("books\n")
    repo.commit()
    repo.write(BOOK)
    result = check(repo)
    assert result.exit_code == 0, result.output
    assert "did not exist at HEAD" in result.stdout


def test_an_included_file_is_read_at_rev(repo: Repo) -> None:
    (repo.root / "decisions.beancount").write_text(REQUEST_1)
    repo.commit(BASE + 'include "decisions.beancount"\n')
    (repo.root / "decisions.beancount").write_text(REQUEST_1.replace('by: "bob"', 'by: "erin"'))
    line = assert_finding(check(repo), "edited-decision", "decisions.beancount:")
    assert "(by)" in line


# -- git-identity ---------------------------------------------------------------------------


IDENTITY = BOOK + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  git-identity: "required"
"""


def test_git_identity_wrong_author(repo: Repo) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2, email="mallory@example.com")
    result = check(repo, "HEAD~1")
    line = assert_finding(result, "git-identity",
                          repo.at('"ADJ-2" "approve"'))
    assert "mallory@example.com" in line
    assert "bob@example.com" in line


def test_git_identity_right_author(repo: Repo) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2, email="bob@example.com")
    assert_intact(check(repo, "HEAD~1"))


def test_git_identity_not_committed_yet(repo: Repo) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    repo.write(IDENTITY + REQUEST_2 + APPROVE_2)
    line = assert_finding(check(repo), "git-identity", "main.beancount:")
    assert "not committed yet" in line


def test_git_identity_only_where_the_policy_requires_it(repo: Repo) -> None:
    # ADJ-1 (credit:refund) is not under the credit:goodwill policy.
    text = IDENTITY.replace(REQUEST_1, "") + REQUEST_1
    repo.commit(text.replace('2026-03-02 custom "adjustment" "ADJ-1" "approve"\n  by: "bob"\n',
                             ""))
    repo.commit(text, email="mallory@example.com")
    assert_intact(check(repo, "HEAD~1"))


def test_git_identity_edit_by_someone_else_after_the_right_commit(repo: Repo) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2, email="bob@example.com")
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2.replace('by: "bob"',
                                                         'by: "bob"\n  comment: "ok"'),
                email="mallory@example.com")
    assert_finding(check(repo, "HEAD~2"), "git-identity", "main.beancount:")


def test_git_identity_pre_commit_judges_the_commit_about_to_be_made(repo: Repo) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    repo.write(IDENTITY + REQUEST_2 + APPROVE_2)
    repo.git("add", "-A")
    line = assert_finding(check(repo, "HEAD", "--pre-commit"), "git-identity",
                          repo.at('"ADJ-2" "approve"'))
    assert "the commit about to be made is by alice@example.com" in line
    repo.git("config", "user.email", "bob@example.com")
    assert_intact(check(repo, "HEAD", "--pre-commit"))


def _signing_key(repo: Repo, tmp_path: Path, principal: str) -> None:
    """Sign the repository's commits with a new SSH key whose allowed principal is `principal`."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is needed to sign commits")
    key = tmp_path / "keys" / "id"
    key.parent.mkdir(exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal,
                    "-f", str(key)], check=True)
    allowed = tmp_path / "keys" / "allowed_signers"
    allowed.write_text(f"{principal} {key.with_suffix('.pub').read_text()}")
    for name, value in (("gpg.format", "ssh"), ("user.signingkey", str(key)),
                        ("gpg.ssh.allowedSignersFile", str(allowed)),
                        ("commit.gpgsign", "true")):
        repo.git("config", name, value)


def test_git_identity_signed_by_the_user(repo: Repo, tmp_path: Path) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    _signing_key(repo, tmp_path, "bob@example.com")
    # Pushed by someone else, but signed with bob's key: it is bob's decision.
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2, email="mallory@example.com")
    assert_intact(check(repo, "HEAD~1"))


def test_git_identity_signed_by_someone_else(repo: Repo, tmp_path: Path) -> None:
    repo.commit(IDENTITY + REQUEST_2)
    _signing_key(repo, tmp_path, "mallory@example.com")
    repo.commit(IDENTITY + REQUEST_2 + APPROVE_2, email="mallory@example.com")
    assert_finding(check(repo, "HEAD~1"), "git-identity", repo.at('"ADJ-2" "approve"'))
