"""Round 47 of attacks on the controls: the strongest evidence an approval carries.

alice (an agent, with commit rights and no approval role) wants a credit, or its
reversal, booked on the strength of erin's (a manager) or carol's (finance)
signature, or their git identity, given for something else. Each test is one way
tried; approvals are written by the one writer (`write_decisions`, `--sign`) as the
tools write them, then edited as alice would. A test whose docstring says "Hole:"
failed on the code it was written against (the fix is named in the commit that
added it); "Held:" ones held and add coverage no earlier test had.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

from repos import Repo, check, findings
from signing import KEYS, write_key

from beancount_adjustments.core import signatures
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.writer import Decision, write_decisions
from ledgers import BASE, code_set, load_file, request

SIGNED = ('2026-01-01 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
          "  backdate-days: 5\n")
KEYED = "".join(f'2026-01-01 custom "adjustment-key" "{who}" "{signatures.public_b64(KEYS[k])}"\n'
                for who, k in (("erin", "erin"), ("carol", "mallory")))
CREDIT = request("ADJ-1", "2026-03-05", "-1200.00", by="alice")
SMALL = request("ADJ-1", "2026-03-05", "-500.00", by="alice")


def _ledger(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + SIGNED + KEYED + text)
    return path


def _sign(tmp_path: Path, path: Path, who: str, day: str, *, at: str | None = None,
          action: Action = Action.APPROVE, reason: str | None = None) -> None:
    """`who`'s decision, dated `day`, written by the writer at `at` (noon that day)."""
    key = tmp_path / f"{who}.pem"
    if not key.exists():
        write_key(key, KEYS["mallory" if who == "carol" else who])
    now = datetime.datetime.fromisoformat(at or f"{day}T12:00:00+00:00")
    result = write_decisions(path, [Decision(
        "ADJ-1", action, by=who, reason=reason, date=datetime.date.fromisoformat(day),
        sign_with=key if action is Action.APPROVE else None)], now=now)
    assert result.written == 1, result.refused


def _booked(path: Path) -> bool:
    return bool(load_file(path).tagged("adjustment", "ADJ-1"))


def test_a_signed_approval_stripped_of_its_chain_counts_for_no_shorter_chain(
        tmp_path: Path) -> None:
    """Hole: erin signs the first of two levels (chain "manager > finance"). alice
    then shortens the chain (a row for refunds asking a manager only, dated before the
    request): erin's approval is stale. alice deletes its `chain:` line, which the
    signature did not cover: the approval counted as the whole new chain and booked
    1,200 USD on erin's signature alone."""
    path = _ledger(tmp_path, CREDIT)
    _sign(tmp_path, path, "erin", "2026-03-06")
    text = path.read_text()
    assert 'chain: "manager > finance"' in text
    row = '2026-03-04 custom "adjustment-approval" "credit:refund" 0.00 USD "manager"\n'
    path.write_text(text.replace(CREDIT, row + CREDIT))
    assert not _booked(path)
    assert "stale-approval" in code_set(load_file(path).errors)
    path.write_text(path.read_text().replace('  chain: "manager > finance"\n', ""))
    loaded = load_file(path)
    assert not _booked(path), loaded.errors
    assert "bad-signature" in code_set(loaded.errors)


def test_a_signed_approvals_at_moved_before_a_lock_does_not_open_it(tmp_path: Path) -> None:
    """Hole: erin's signed approval of a 500 USD credit, dated 03-06 and written on
    03-08 (`backdate-days: 5`), after carol closed the period through 03-06 on 03-07:
    refused, the period was closed when it was written. alice moves its `at:` to
    03-06, which the signature did not cover: the approval booked in the closed period."""
    path = _ledger(tmp_path, SMALL)
    _sign(tmp_path, path, "erin", "2026-03-06", at="2026-03-08T12:00:00+00:00")
    path.write_text(path.read_text()
                    + '2026-03-07 custom "adjustment-lock" 2026-03-06\n  by: "carol"\n')
    assert not _booked(path)
    path.write_text(path.read_text().replace('at: "2026-03-08T12:00:00+00:00"',
                                             'at: "2026-03-06T12:00:00+00:00"'))
    loaded = load_file(path)
    assert not _booked(path), loaded.errors
    assert "bad-signature" in code_set(loaded.errors)


# -- git identity: which of two alike decisions is the new one -----------------------------

GIT = '2026-01-01 custom "adjustment-policy" "credit:*"\n  git-identity: "required"\n'
PEOPLE = BASE.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n')
ERIN_APPROVES = ('2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
                 '  at: "2026-03-06T10:00:00+00:00"\n  chain: "manager"\n')


def test_a_copy_above_erins_approval_does_not_hand_hers_to_the_reversal(
        tmp_path: Path) -> None:
    """Hole: erin's approval booked alice's 500 USD credit (REV). alice writes the same
    approval again above it (its lines in another order: git blames them on her) and
    her cancel between the two. Events alike were matched to REV's in ledger order, so
    her copy passed as REV's approval, and erin's own lines, committed by erin before
    REV, as the new decision approving the reversal: `check --since` passed a reversal
    erin never approved."""
    repo = Repo(tmp_path / "books")
    repo.commit(PEOPLE + GIT + SMALL, email="alice@example.com")
    rev = repo.commit(PEOPLE + GIT + SMALL + ERIN_APPROVES, email="erin@example.com")
    copy = ('2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  chain: "manager"\n'
            '  at: "2026-03-06T10:00:00+00:00"\n  by: "erin"\n')
    cancel = ('2026-03-06 custom "adjustment" "ADJ-1" "cancel"\n  by: "alice"\n'
              '  reason: "Entered twice"\n')
    repo.commit(PEOPLE + GIT + SMALL + copy + cancel + ERIN_APPROVES,
                email="alice@example.com")
    assert load_file(repo.ledger).adj("ADJ-1").state is State.REVERSED
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert f"main.beancount:{repo.line('2026-03-06 custom', 0)}: " in line, line


def test_an_approval_committed_from_a_plus_address_of_erins_is_not_hers(
        tmp_path: Path) -> None:
    """Held: alice commits erin's approval with the author `erin+books@example.com`
    (and in another case): e-mails compare whole, case and spaces aside only."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(PEOPLE + GIT + SMALL, email="alice@example.com")
    repo.commit(PEOPLE + GIT + SMALL + ERIN_APPROVES, email="Erin+books@Example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert "erin+books@example.com" in line.lower(), line


def test_erins_key_written_again_with_spaces_in_an_included_file_is_new(
        tmp_path: Path) -> None:
    """Held: alice registers a key for erin in a file of her own, included, its text
    padded with spaces (the key reads the same): it is a new key all the same, listed
    for an auditor at its line in that file."""
    repo = Repo(tmp_path / "books")
    key = signatures.public_b64(KEYS["mallory"])
    rev = repo.commit(BASE + SIGNED + KEYED + SMALL, email="alice@example.com")
    (repo.root / "alice.beancount").write_text(
        f'2026-03-06 custom "adjustment-key" "erin" " {key} "\n')
    repo.commit(BASE + SIGNED + KEYED + SMALL + 'include "alice.beancount"\n',
                email="alice@example.com")
    result = check(repo, rev)
    [line] = findings(result, "new-key")
    assert "alice.beancount:1: warning: " in line, line


def test_a_signature_made_before_the_recorded_lines_were_covered_still_counts() -> None:
    """Held (compatibility): an approval signed over the message of before (`.../v2`:
    no `at:` nor `chain:`) that carries both still verifies, so the signed decisions
    of the past keep counting; editing those lines on one is `check --since`'s."""
    day = datetime.date(2026, 3, 6)
    raw = KEYS["erin"].sign(signatures.message("ADJ-1", "approve", "erin", day, "v2-abc",
                                               tag=signatures.EFFECTIVE_TAG))
    signature = base64.b64encode(raw).decode("ascii")
    public = signatures.public_b64(KEYS["erin"])
    recorded = signatures.Recorded(at="2026-03-06T10:00:00+00:00", chain=("manager",))
    assert signatures.verify(public, signature, "ADJ-1", "approve", "erin", day, "v2-abc",
                             recorded=recorded) == signatures.EFFECTIVE_TAG
    assert signatures.verify(public, signatures.sign_with(
        KEYS["erin"], "ADJ-1", "approve", "erin", day, "v2-abc", recorded=recorded),
        "ADJ-1", "approve", "erin", day, "v2-abc",
        recorded=recorded._replace(chain=None)) is None
