"""Round 55 of attacks: the rules changed forward by the one who profits.

`check --since REV` refused a rule directive (a user, customer, approval row, type
policy, lock, risk or alert setting, type, category, key or price) changed with
a date on or before REV's last decision, and took every one dated after it
silently. So alice, an agent with commit rights, could in one change dated today
add approval rows with no roles and file a 50,000 USD credit that books itself,
give herself a manager's role and approve dave's request, lower a customer's tier,
switch off a risk check, drop `git-identity` from a policy, or remove a
future-dated line that would have ended a role, and the reviewer of the change was
told nothing by the tools. Now each rule change since REV dated after its last
decision is a note (`rule-changed`, no failure), and under `git-identity` a rule
line committed by a user who, in the same change, files or decides an adjustment
dated on or after it is a finding (`self-authorized`). "Hole:" tests failed on the
code they were written against; "Held:" ones held.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from repos import (
    ALICE_APPROVES,
    BIG,
    GIT_CREDITS,
    GIT_PEOPLE,
    REQUEST_1,
    ROLELESS,
    RULES_REV,
    check,
    findings,
    rule_notes,
    rules_rev,
)

from ledgers import load, request

ALICE_MANAGER = ('2026-03-10 custom "adjustment-user" "alice" "manager"\n'
                 '  limit: 1000.00 USD\n  git: "alice@example.com"\n')
DAVES = request("ADJ-9", "2026-03-09", "-500.00", by="dave")


def _failures(result: Result) -> list[str]:
    return [f for f in findings(result) if ": note: " not in f and ": warning: " not in f]


def test_hole_roleless_rows_and_a_big_credit_in_one_change(tmp_path: Path) -> None:
    """Hole: alice adds `credit:*` rows with no roles and files a 50,000 USD credit in one
    commit: it books itself, and `check --since` said the past was intact."""
    repo, rev = rules_rev(tmp_path)
    now = RULES_REV + ROLELESS + BIG
    assert load(now, base=False).adj("ADJ-9").state.value == "applied"
    repo.commit(now, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "self-authorized")
    assert len(found) == 3, result.output
    row = repo.line('2026-03-10 custom "adjustment-approval" "credit:*" 25.00 USD')
    first = next(f for f in found if f"main.beancount:{row}: " in f)
    assert "alice committed approval row credit:* 25.00 USD" in first, first
    assert "asked for or entered ADJ-9" in first, first
    assert "land the rule change on its own (reviewed), then act" in first, first
    notes = rule_notes(result)
    assert len(notes) == 3, result.output
    assert any(f"main.beancount:{row}: note: " in n and "approves without roles" in n
               and "(before: manager)" in n for n in notes), notes
    assert "3 rule changes" in result.stdout.splitlines()[-1], result.output


def test_hole_alice_makes_herself_a_manager_and_approves(tmp_path: Path) -> None:
    """Hole: dave files a 500 USD credit; alice gives herself a manager's line dated today
    and approves it, each line committed by its own user: intact, before."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + DAVES, email="dave@example.com")
    now = RULES_REV + DAVES + ALICE_MANAGER + ALICE_APPROVES
    assert load(now, base=False).adj("ADJ-9").state.value == "applied"
    repo.commit(now, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [found] = findings(result, "self-authorized")
    assert repo.at('2026-03-10 custom "adjustment-user" "alice"') in found, found
    assert "alice committed alice's user line dated 2026-03-10" in found, found
    assert "the approve of ADJ-9 by alice" in found, found
    [note] = rule_notes(result)
    assert "alice's user line dated 2026-03-10" in note, note
    assert "gives roles manager (before: agent)" in note, note


def test_hole_the_rule_and_the_request_in_two_commits_of_one_change(tmp_path: Path) -> None:
    """Hole: alice commits the roleless rows, then her request in a second commit: the
    change since REV is what counts, not one commit."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS, email="alice@example.com")
    repo.commit(RULES_REV + ROLELESS + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "self-authorized")) == 3, result.output


def test_hole_a_merge_commit_carrying_alices_rule_line(tmp_path: Path) -> None:
    """Hole: alice's request on a branch; she merges it, writing a roleless row in the
    merge commit itself: blame names the merge, hers."""
    repo, rev = rules_rev(tmp_path)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(RULES_REV + BIG, email="alice@example.com")
    repo.git("checkout", "-q", "main")
    shop = RULES_REV.replace("2026-01-01 open Liabilities:Tax\n",
                            "2026-01-01 open Liabilities:Tax\n2026-01-01 open Assets:Cash\n")
    repo.commit(shop, email="bob@example.com")
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature", email="alice@example.com")
    row = '2026-03-10 custom "adjustment-approval" "credit:*" 25.00 USD\n'
    repo.write(shop + row + BIG)
    repo.commit(message="merge feature", email="alice@example.com")
    assert repo.git("rev-list", "--parents", "-n", "1", "HEAD").count(" ") == 2
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [found] = findings(result, "self-authorized")
    assert repo.at(row.strip()) in found, found


def test_hole_a_lowered_customer_tier_is_a_note(tmp_path: Path) -> None:
    """Hole: cust_123 (vip: goodwill needs a manager) lowered to standard, dated after the
    cut, said nothing."""
    repo, rev = rules_rev(tmp_path)
    line = '2026-03-10 custom "adjustment-customer" "cust_123" "standard"\n'
    repo.commit(RULES_REV + line, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert repo.at(line.strip()) + "note: " in note, note
    assert "gives tier standard (before: vip)" in note, note
    assert "the past is intact" in result.stdout.splitlines()[-1]
    assert "1 rule change" in result.stdout.splitlines()[-1]


def test_hole_a_risk_check_switched_off_is_a_note(tmp_path: Path) -> None:
    """Hole: `adjustment-risk "duplicates"` with `enabled: FALSE`, dated today: silent."""
    repo, rev = rules_rev(tmp_path)
    line = '2026-03-10 custom "adjustment-risk" "duplicates"\n  enabled: FALSE\n'
    repo.commit(RULES_REV + line, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert "adjustment-risk duplicates dated 2026-03-10 is new" in note, note
    assert "enabled: False" in note, note


def test_hole_a_removed_future_line_ending_a_role_is_a_note_at_revs_line(
        tmp_path: Path) -> None:
    """Hole: REV held bob's line of 2026-06-01 ending his manager role; removing it was
    silent."""
    ending = '2026-06-01 custom "adjustment-user" "bob"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + ending)
    at_rev = repo.line(ending.strip())
    repo.commit(RULES_REV, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert note.startswith(f"main.beancount:{at_rev}: (at {rev}) note: "), note
    assert "bob's user line dated 2026-06-01 was removed" in note, note


def test_hole_backdate_days_raised_is_a_note(tmp_path: Path) -> None:
    """Hole: `backdate-days` raised from 10 to 36600 by a policy dated today: silent."""
    text = RULES_REV + '2026-01-01 custom "adjustment-policy" "*"\n  backdate-days: 10\n'
    repo, rev = rules_rev(tmp_path, text)
    line = '2026-03-10 custom "adjustment-policy" "*"\n  backdate-days: 36600\n'
    repo.commit(text + line, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert "the type policy * dated 2026-03-10 is new" in note, note
    assert "backdate-days: 36600 (before: 10)" in note, note


def test_hole_git_identity_dropped_from_a_policy_is_a_note(tmp_path: Path) -> None:
    """Hole: a policy dated today setting `git-identity: "optional"` for credit:*, and a
    future-dated billing policy losing `signatures: "required"`: silent."""
    future = '2026-06-01 custom "adjustment-policy" "billing:*"\n  signatures: "required"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + future)
    off = '2026-03-10 custom "adjustment-policy" "credit:*"\n  git-identity: "optional"\n'
    repo.commit(RULES_REV + '2026-06-01 custom "adjustment-policy" "billing:*"\n' + off,
                email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = rule_notes(result)
    assert len(notes) == 2, result.output
    assert any("the type policy credit:* dated 2026-03-10 is new" in n
               and "no longer requires git-identity (now: optional)" in n for n in notes), notes
    assert any("the type policy billing:* dated 2026-06-01 was changed" in n
               and "no longer requires signatures" in n for n in notes), notes


def test_hole_a_new_type_with_a_roleless_row_is_noted(tmp_path: Path) -> None:
    """Hole: a type declared today and a row with no roles covering it: silent."""
    repo, rev = rules_rev(tmp_path)
    lines = ('2026-03-10 custom "adjustment-type" "credit:courtesy"\n'
             '2026-03-10 custom "adjustment-approval" "credit:courtesy" 0.00 USD\n')
    repo.commit(RULES_REV + lines, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = rule_notes(result)
    assert len(notes) == 2, result.output
    assert any("adjustment-type credit:courtesy dated 2026-03-10 is new" in n for n in notes)
    assert any("approval row credit:courtesy 0.00 USD dated 2026-03-10 is new" in n
               and "approves without roles" in n for n in notes), notes


def test_hole_a_rule_changed_in_metadata_only_is_a_note(tmp_path: Path) -> None:
    """Hole: a future-dated user line's `email:` changed: silent."""
    line = '2026-06-01 custom "adjustment-user" "frank" "manager"\n  email: "frank@a.example"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + line)
    repo.commit(RULES_REV + line.replace("a.example", "b.example"), email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert "frank's user line dated 2026-06-01 was changed" in note, note
    assert "sets email: frank@b.example (before: frank@a.example)" in note, note


def test_hole_a_price_added_after_the_cut_is_a_note(tmp_path: Path) -> None:
    """Hole: a price dated after the cut (it converts amounts judged from then): silent."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + "2026-03-10 price EUR 1.10 USD\n", email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    [note] = rule_notes(result)
    assert "the price of EUR dated 2026-03-10 is new" in note, note
    assert "it gives 1.10 USD" in note, note


def test_hole_no_decision_at_rev_every_rule_change_is_a_note(tmp_path: Path) -> None:
    """Hole: REV had rules but no decision (no cut): rule changes were not compared at all."""
    repo, rev = rules_rev(tmp_path, GIT_PEOPLE + GIT_CREDITS)
    repo.commit(GIT_PEOPLE + GIT_CREDITS + ROLELESS, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert len(rule_notes(result)) == 3, result.output


def test_hole_notes_in_json_are_told_apart(tmp_path: Path) -> None:
    """Hole: `--json` had no note to tell from a finding."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS, email="bob@example.com")
    result = check(repo, rev, "--json")
    assert result.exit_code == 0, result.output
    since = json.loads(result.stdout)["since"]
    kinds = {f["code"]: f["kind"] for f in since["findings"]}
    assert kinds == {"rule-changed": "note"}, since
    assert "3 rule changes" in since["summary"]


def test_holds_a_rule_moved_to_another_file_is_no_change(tmp_path: Path) -> None:
    """Held: a future-dated rule moved into an included file: no note."""
    line = '2026-06-01 custom "adjustment-customer" "cust_9" "vip"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + line)
    (repo.root / "rules.beancount").write_text(line)
    repo.commit(RULES_REV + 'include "rules.beancount"\n', email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert findings(result) == [], result.output


def test_holds_rules_reordered_are_no_change(tmp_path: Path) -> None:
    """Held: two future-dated rules swapped: no note."""
    one = '2026-06-01 custom "adjustment-customer" "cust_9" "vip"\n'
    two = '2026-06-02 custom "adjustment-user" "frank" "manager"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + one + two)
    repo.commit(RULES_REV + two + one, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert findings(result) == [], result.output


def test_holds_bobs_rule_and_alices_request_are_not_self_authorized(tmp_path: Path) -> None:
    """Held: bob's roleless rows and alice's request in one change: the rows are notes the
    reviewer reads, but nobody acted under a rule they wrote (no `self-authorized`)."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS, email="bob@example.com")
    repo.commit(RULES_REV + ROLELESS + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert findings(result, "self-authorized") == []


def test_holds_a_future_dated_lock_removed_is_a_reopened_period(tmp_path: Path) -> None:
    """Held: a future-dated lock removed was already `reopened-period`."""
    lock = '2026-06-01 custom "adjustment-lock" 2026-05-31\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + lock)
    repo.commit(RULES_REV, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "reopened-period")) == 1, result.output


def test_holds_a_backdated_rule_is_still_a_finding(tmp_path: Path) -> None:
    """Held: a roleless row dated before REV's last decision is `backdated-directive`."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS.replace("2026-03-10", "2026-03-01"),
                email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "backdated-directive")) == 3, result.output


def test_hole_pre_commit_sees_the_rule_and_the_request_about_to_be_committed(
        tmp_path: Path) -> None:
    """Hole: the pre-commit hook (`--since HEAD --pre-commit`) passed alice's roleless rows
    and her credit, both about to be committed by her."""
    repo, _rev_sha = rules_rev(tmp_path)
    repo.write(RULES_REV + ROLELESS + BIG)
    result = check(repo, "HEAD", "--pre-commit")
    assert result.exit_code == 1, result.output
    assert len(findings(result, "self-authorized")) == 3, result.output


def test_holds_without_git_identity_a_rule_and_a_request_are_notes_only(
        tmp_path: Path) -> None:
    """Held (as meant): with no policy requiring git identity a commit says nothing of who
    a user is: alice's rows and credit are notes for the reviewer, no finding."""
    text = GIT_PEOPLE + REQUEST_1
    repo, rev = rules_rev(tmp_path, text)
    repo.commit(text + ROLELESS + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert findings(result, "self-authorized") == []
