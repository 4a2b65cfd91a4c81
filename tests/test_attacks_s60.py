"""Round 60: who is told, changed in the change.

Round 55 made every rule changed since REV a note for the reviewer of the change.
Where the approval-needed notices and the risk alerts go (`adjustment-channel`),
what customers are told (`adjustment-customer-notice`) and what the tools file on
their own (`adjustment-template`, `-schedule`, `-rule`) are no rules a decision is
judged by, and were left out: alice could point finance's channel at a webhook of
her own, so that the splitting alert on her credits reaches nobody, and the tools
said nothing. Now each of them added, removed or changed since REV is a note,
whatever its date (it rewrites nothing REV decided, so never a finding). "Hole:"
tests failed on the code they were written against; "Held:" ones held.
"""

from __future__ import annotations

from pathlib import Path

from repos import REQUEST_1, Repo, check, findings

from ledgers import BASE

CHANNEL = ('2026-01-01 custom "adjustment-channel" "role:finance" '
           '"json://hooks.example/finance"\n')
REV_TEXT = BASE + CHANNEL + REQUEST_1
"""REV: finance's notices go to its hook; ADJ-1 was approved on 2026-03-02."""


def _rev(tmp_path: Path) -> tuple[Repo, str]:
    repo = Repo(tmp_path / "books")
    return repo, repo.commit(REV_TEXT, email="bob@example.com")


def test_hole_finance_channel_pointed_elsewhere_is_a_note(tmp_path: Path) -> None:
    """Hole: alice edits finance's channel (dated before REV's last decision) to a hook
    of hers: `check --since` said nothing."""
    repo, rev = _rev(tmp_path)
    now = REV_TEXT.replace("hooks.example/finance", "alice.example/inbox")
    repo.commit(now, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = findings(result, "rule-changed")
    line = repo.line('2026-01-01 custom "adjustment-channel"')
    assert any(f"main.beancount:{line}: note: " in n and "role:finance" in n
               and "alice.example/inbox" in n for n in notes), result.output
    assert "rule change" in result.stdout.splitlines()[-1], result.output


def test_hole_a_channel_removed_is_a_note_at_revs_line(tmp_path: Path) -> None:
    """Hole: alice deletes finance's channel: nobody is told, and nothing said so."""
    repo, rev = _rev(tmp_path)
    repo.commit(REV_TEXT.replace(CHANNEL, ""), email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = findings(result, "rule-changed")
    assert any("(at " in n and "the notice channel of role:finance" in n
               and "was removed" in n for n in notes), result.output


def test_holds_an_unchanged_channel_moved_is_no_note(tmp_path: Path) -> None:
    """Held: the channel moved below the request, word for word, is no change."""
    repo, rev = _rev(tmp_path)
    repo.commit(BASE + REQUEST_1 + CHANNEL, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert findings(result, "rule-changed") == [], result.output
