"""Round 48 of attacks: a user's first `git:` e-mail, under `git-identity: "required"`.

dave (the CFO) has no `git:` e-mail in the ledger REV holds. alice (an agent, with
commit rights) gives him one of hers in her change, then commits decisions, a key,
or requests "by dave" from that address: git identity was judged with the
e-mails of the ledger as it is now, so the address she wrote vouched for the
commits she made with it. Who a user is in git is what the reviewed ledger (REV)
says; an address new since then vouches for nothing until it has landed, and is
then a warning an auditor sees, like a new key. "Hole:" tests failed on the code
they were written against; "Held:" ones held.
"""

from __future__ import annotations

from pathlib import Path

from repos import Repo, check, findings

from ledgers import BASE, request

GIT = '2026-01-01 custom "adjustment-policy" "credit:*"\n  git-identity: "required"\n'
HIS = '2026-03-07 custom "adjustment-user" "dave" "cfo"\n  git: "dave.cfo@example.net"\n'
"""dave's line again, dated after REV's last decision, with an address alice holds."""
BIG = request("ADJ-1", "2026-03-05", "-15000.00", by="bob")
"""Needs a manager, finance and the CFO; bob files it (he may not approve it)."""
ERIN = '2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
MANAGER_AND_FINANCE = ERIN + '2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  by: "carol"\n'
DAVE_APPROVES = '2026-03-07 custom "adjustment" "ADJ-1" "approve"\n  by: "dave"\n'


def _at_rev(tmp_path: Path) -> tuple[Repo, str]:
    """REV: the request, and erin's and carol's approvals, each committed by its author."""
    repo = Repo(tmp_path / "books")
    repo.commit(BASE + GIT + BIG, email="bob@example.com")
    repo.commit(BASE + GIT + BIG + ERIN, email="erin@example.com")
    rev = repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE, email="carol@example.com")
    return repo, rev


def test_an_address_written_in_the_change_does_not_vouch_for_daves_approval(
        tmp_path: Path) -> None:
    """Hole: alice gives dave her address, then commits his approval from it: the
    5,000 USD credit is booked and `check --since` said the past is intact."""
    repo, rev = _at_rev(tmp_path)
    repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS,
                email="alice@example.com")
    repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS + DAVE_APPROVES,
                email="dave.cfo@example.net")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    approval = repo.line('2026-03-07 custom "adjustment" "ADJ-1"')
    assert f"main.beancount:{approval}: " in line, line
    assert f"no `git:` e-mail on 2026-03-07 at {rev}" in line, line
    [warning] = findings(result, "new-identity")
    dave_line = repo.line('2026-03-07 custom "adjustment-user" "dave"')
    assert f"main.beancount:{dave_line}: " in warning, warning


def test_an_address_written_in_the_change_does_not_vouch_for_a_key(tmp_path: Path) -> None:
    """Hole: alice gives dave her address and a key of hers, committed from it: the key's
    line counted as dave's own (approvals signed with it would be his)."""
    repo, rev = _at_rev(tmp_path)
    key = '2026-03-07 custom "adjustment-key" "dave" "' + "A" * 43 + '="\n'
    repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS + key,
                email="dave.cfo@example.net")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert "adjustment-key" in line, line


def test_an_address_written_in_the_change_does_not_vouch_for_a_request(
        tmp_path: Path) -> None:
    """Hole: a request "by dave" (who may then not approve it, but neither may alice
    file in his name) committed from the address alice gave him passed as his."""
    repo, rev = _at_rev(tmp_path)
    theirs = request("ADJ-2", "2026-03-07", "-30.00", by="dave")
    repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS + theirs,
                email="dave.cfo@example.net")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert any("ADJ-2" in line for line in findings(result, "git-identity")), result.output


def test_an_address_that_landed_vouches_and_was_seen(tmp_path: Path) -> None:
    """Held (as meant): once dave's address is in the ledger REV holds, his commits from
    it decide as dave; the change that added it showed the warning."""
    repo, rev = _at_rev(tmp_path)
    added = repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS,
                        email="dave.cfo@example.net")
    warned = check(repo, rev)
    assert warned.exit_code == 0, warned.output
    assert len(findings(warned, "new-identity")) == 1, warned.output
    repo.commit(BASE + GIT + BIG + MANAGER_AND_FINANCE + HIS + DAVE_APPROVES,
                email="dave.cfo@example.net")
    result = check(repo, added)
    assert result.exit_code == 0, result.output
    assert findings(result, "git-identity") == []
