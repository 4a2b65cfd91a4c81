"""Review round 57 (s15): attacks on round 55's rule-change notes and `self-authorized`.

Round 55 made every rule directive changed since REV (dated after its last
decision) a `rule-changed` note, and under `git-identity` a rule line committed by
a user who acts in the same change a `self-authorized` finding. This round tried,
as alice (an agent with commit rights), to get a loosening past the notes or
around `self-authorized`, and, as an auditor, to read the output wrong.

Found: the rows committed under an e-mail no user holds went free (now a finding
whenever anyone acts); bob re-spacing alice's rows made them his (now every commit
since REV touching the line, `git log -L`); a draft committed before REV and
included since was bob's old commit (now whoever wrote the include); a removed
role-ending line was a note only (now attributed with `git log -S`, committed or
about to be); a `new-identity` warning swallowed the note of the manager's role its
line gave; a policy's note compared with its own pattern's line only (a narrower
`git-identity: "optional"` said no "before", a line dropping a setting an earlier
one still sets said "no longer requires"); a second user line of a day read as
replacing the first; a customer line without a tier read as dropping it; a line
break in a rule's text printed as a forged output line. "Hole:" tests failed on
the code they were written against (7f36fb4); "Held:" ones held.
"""

from __future__ import annotations

import json
from pathlib import Path

from repos import (
    ALICE_APPROVES,
    BIG,
    ROLELESS,
    RULES_REV,
    Repo,
    check,
    findings,
    rule_notes,
    rules_rev,
)

from ledgers import request

DAVES = request("ADJ-9", "2026-03-04", "-500.00", by="dave")
"""dave's 500 USD credit, dated before REV's rule lines below (a request dates the cut)."""


# -- self-authorized ------------------------------------------------------------------


def test_hole_rows_committed_under_an_address_no_user_holds(tmp_path: Path) -> None:
    """Hole: alice commits the roleless rows with a made-up author e-mail (under
    `git-identity: "required"` an author e-mail is typed), then her credit as herself:
    nobody was tied to the rows, so nothing was self-authorized."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS, email="nobody@elsewhere.example")
    repo.commit(RULES_REV + ROLELESS + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "self-authorized")
    assert len(found) == 3, result.output
    assert "nobody@elsewhere.example" in found[0], found[0]
    assert "which git ties to no user" in found[0], found[0]
    assert "alice asked for or entered ADJ-9" in found[0], found[0]


def test_holds_an_unknown_committer_writing_rules_alone_is_notes_only(tmp_path: Path) -> None:
    """Held (as decided): a maintainer git ties to no user writing rules, with nobody
    acting in the change, is notes for the reviewer, no finding."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS, email="nobody@elsewhere.example")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert len(rule_notes(result)) == 3, result.output


def test_hole_bobs_later_touch_hides_alices_rows(tmp_path: Path) -> None:
    """Hole: alice commits the roleless rows and her credit; bob's later commit only
    re-spaces the rows, so `git blame` names bob for them and alice went free."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS + BIG, email="alice@example.com")
    respaced = ROLELESS.replace('"credit:*" ', '"credit:*"   ')
    repo.commit(RULES_REV + respaced + BIG, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "self-authorized")
    assert len(found) == 3, result.output
    assert all("alice committed approval row credit:*" in f for f in found), found


def test_hole_a_draft_committed_before_rev_and_included_since(tmp_path: Path) -> None:
    """Hole: bob's draft of roleless rows sat in the repository before REV, included by
    nothing; alice includes it and files her credit: blame names bob's old commit for
    the rows, and nobody was self-authorized."""
    repo = Repo(tmp_path / "books")
    (repo.root / "draft.beancount").write_text(ROLELESS)
    rev = repo.commit(RULES_REV, email="bob@example.com")
    repo.commit(RULES_REV + 'include "draft.beancount"\n' + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "self-authorized")
    assert len(found) == 3, result.output
    assert all(f.startswith(str(repo.root / "draft.beancount")) or
               f.startswith("draft.beancount") for f in found), found
    assert "alice committed approval row credit:*" in found[0], found[0]


def test_hole_alice_removes_the_line_ending_her_role_and_approves(tmp_path: Path) -> None:
    """Hole: REV made alice a manager from 2026-03-05 and an agent again from 2026-03-08;
    she removes the 03-08 line and approves dave's 500 USD credit on 03-10: a removal
    was a note only."""
    manager = ('2026-03-05 custom "adjustment-user" "alice" "manager"\n'
               '  limit: 1000.00 USD\n  git: "alice@example.com"\n')
    ending = '2026-03-08 custom "adjustment-user" "alice" "agent"\n  git: "alice@example.com"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + manager + ending)
    at_rev = repo.line('2026-03-08 custom "adjustment-user" "alice"')
    repo.commit(RULES_REV + manager + ending + DAVES, email="dave@example.com")
    repo.commit(RULES_REV + manager + DAVES + ALICE_APPROVES, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [found] = findings(result, "self-authorized")
    assert found.startswith(f"main.beancount:{at_rev}: (at {rev}) "), found
    assert "alice removed alice's user line dated 2026-03-08" in found, found
    assert "the approve of ADJ-9 by alice" in found, found


def test_hole_pre_commit_removal_about_to_be_committed(tmp_path: Path) -> None:
    """Hole: the same removal, not committed yet, with alice's approval: the pre-commit
    hook passed it."""
    manager = ('2026-03-05 custom "adjustment-user" "alice" "manager"\n'
               '  limit: 1000.00 USD\n  git: "alice@example.com"\n')
    ending = '2026-03-08 custom "adjustment-user" "alice" "agent"\n  git: "alice@example.com"\n'
    repo, _rev_sha = rules_rev(tmp_path, RULES_REV + manager + ending + DAVES)
    repo.write(RULES_REV + manager + DAVES + ALICE_APPROVES)
    result = check(repo, "HEAD", "--pre-commit")
    assert result.exit_code == 1, result.output
    assert len(findings(result, "self-authorized")) == 1, result.output


def test_holds_bob_removing_a_line_while_alice_acts_is_a_note(tmp_path: Path) -> None:
    """Held: bob removes the line; alice approves: two people, a note and no finding."""
    manager = ('2026-03-05 custom "adjustment-user" "alice" "manager"\n'
               '  limit: 1000.00 USD\n  git: "alice@example.com"\n')
    ending = '2026-03-08 custom "adjustment-user" "alice" "agent"\n  git: "alice@example.com"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + manager + ending + DAVES)
    repo.commit(RULES_REV + manager + DAVES, email="bob@example.com")
    repo.commit(RULES_REV + manager + DAVES + ALICE_APPROVES, email="alice@example.com")
    result = check(repo, rev)
    assert findings(result, "self-authorized") == [], result.output
    assert any("was removed" in n for n in rule_notes(result)), result.output


def test_holds_acting_through_entered_by_only(tmp_path: Path) -> None:
    """Held: alice enters dave's request (`entered-by:` only) after writing the rows."""
    repo, rev = rules_rev(tmp_path)
    entered = request("ADJ-9", "2026-03-10", "-50000.00", by="dave",
                      extra='entered-by: "alice"')
    repo.commit(RULES_REV + ROLELESS + entered, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "self-authorized")) == 3, result.output


def test_holds_a_rule_and_a_request_dated_tomorrow(tmp_path: Path) -> None:
    """Held: rows and credit both dated a day later than the rest: still one change."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + ROLELESS.replace("03-10", "03-11") + BIG.replace("03-10", "03-11"),
                email="alice@example.com")
    result = check(repo, rev)
    assert len(findings(result, "self-authorized")) == 3, result.output


def test_holds_a_rule_of_another_type_than_the_request(tmp_path: Path) -> None:
    """Held: a roleless `debit:*` row and a credit: any type counts."""
    repo, rev = rules_rev(tmp_path)
    row = '2026-03-10 custom "adjustment-approval" "debit:*" 50.00 USD\n'
    repo.commit(RULES_REV + row + BIG, email="alice@example.com")
    result = check(repo, rev)
    assert len(findings(result, "self-authorized")) == 1, result.output


def test_holds_pre_commit_with_a_staged_rule_and_an_unstaged_request(tmp_path: Path) -> None:
    """Held: the hook reads the work tree: the staged rows and unstaged credit are both
    "the commit about to be made"."""
    repo, _rev_sha = rules_rev(tmp_path)
    repo.write(RULES_REV + ROLELESS)
    repo.git("add", "main.beancount")
    repo.write(RULES_REV + ROLELESS + BIG)
    result = check(repo, "HEAD", "--pre-commit")
    assert result.exit_code == 1, result.output
    assert len(findings(result, "self-authorized")) == 3, result.output


# -- rule-changed: the notes ----------------------------------------------------------


def test_hole_a_role_given_with_a_first_git_address_is_not_noted(tmp_path: Path) -> None:
    """Hole: frank's line dated today makes him a manager with a 5,000 USD limit and gives
    him a first `git:` e-mail: the `new-identity` warning named the line, so its note (the
    role) was dropped, and nothing said he became a manager."""
    repo, rev = rules_rev(tmp_path)
    line = ('2026-03-10 custom "adjustment-user" "frank" "manager"\n'
            '  limit: 5000.00 USD\n  git: "frank@example.com"\n')
    repo.commit(RULES_REV + line, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert len(findings(result, "new-identity")) == 1, result.output
    [note] = rule_notes(result)
    assert "gives roles manager (before: agent)" in note, note
    assert "sets limit: 5000.00 USD" in note, note


def test_hole_a_narrower_policy_turning_git_identity_off_says_what_applied(
        tmp_path: Path) -> None:
    """Hole: `credit:refund` gets its own policy, `git-identity: "optional"`: the note said
    "sets git-identity: optional", never that `credit:*` required it until then."""
    repo, rev = rules_rev(tmp_path)
    line = '2026-03-10 custom "adjustment-policy" "credit:refund"\n  git-identity: "optional"\n'
    repo.commit(RULES_REV + line, email="bob@example.com")
    result = check(repo, rev)
    [note] = rule_notes(result)
    assert "no longer requires git-identity (now: optional)" in note, note


def test_hole_a_policy_line_losing_a_setting_an_earlier_one_still_sets(
        tmp_path: Path) -> None:
    """Hole: a future-dated credit:* policy repeating `git-identity: "required"` loses that
    line: the note said "no longer requires git-identity", the opposite of what the
    2026-01-01 policy still makes it."""
    future = ('2026-06-01 custom "adjustment-policy" "credit:*"\n  git-identity: "required"\n'
              '  backdate-days: 5\n')
    repo, rev = rules_rev(tmp_path, RULES_REV + future)
    repo.commit(RULES_REV + future.replace('  git-identity: "required"\n', ""),
                email="bob@example.com")
    result = check(repo, rev)
    [note] = rule_notes(result)
    assert "no longer requires git-identity" not in note, note
    assert "it changes no setting in force for credit:* on 2026-06-01" in note, note


def test_holds_a_lock_shortened_after_the_cut_is_a_reopened_period(tmp_path: Path) -> None:
    """Held: a future lock closing less than REV's is `reopened-period`, a finding."""
    lock = '2026-06-01 custom "adjustment-lock" 2026-05-31\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + lock)
    repo.commit(RULES_REV + lock.replace("05-31", "04-30"), email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "reopened-period")) == 1, result.output


def test_holds_a_price_lowered_says_before(tmp_path: Path) -> None:
    """Held: a price dated after the cut making EUR worth a cent says what it was."""
    repo, rev = rules_rev(tmp_path, RULES_REV + "2026-01-01 price EUR 1.10 USD\n")
    repo.commit(RULES_REV + "2026-01-01 price EUR 1.10 USD\n2026-03-10 price EUR 0.01 USD\n",
                email="bob@example.com")
    [note] = rule_notes(check(repo, rev))
    assert "gives 0.01 USD (before: 1.10 USD)" in note, note


def test_holds_an_alert_threshold_raised_and_risk_days_shrunk(tmp_path: Path) -> None:
    """Held: an alert's threshold raised and a risk check's `days:` shrunk say before."""
    rules = ('2026-01-01 custom "adjustment-alert" "customer" 2000.00 USD\n'
             '2026-01-01 custom "adjustment-risk" "duplicates"\n  days: 14\n')
    repo, rev = rules_rev(tmp_path, RULES_REV + rules)
    later = ('2026-03-10 custom "adjustment-alert" "customer" 900000.00 USD\n'
             '2026-03-10 custom "adjustment-risk" "duplicates"\n  days: 1\n')
    repo.commit(RULES_REV + rules + later, email="bob@example.com")
    notes = rule_notes(check(repo, rev))
    assert len(notes) == 2, notes
    assert any("says 900000.00 USD (before: 2000.00 USD)" in n for n in notes), notes
    assert any("sets days: 1 (before: 14)" in n for n in notes), notes


def test_holds_a_user_limit_raised_says_before(tmp_path: Path) -> None:
    """Held: bob's limit raised by a line dated today says what it was."""
    repo, rev = rules_rev(tmp_path)
    line = ('2026-03-10 custom "adjustment-user" "bob" "manager"\n'
            '  limit: 900000.00 USD\n  git: "bob@example.com"\n')
    repo.commit(RULES_REV + line, email="bob@example.com")
    [note] = rule_notes(check(repo, rev))
    assert "sets limit: 900000.00 USD (before: 1000.00 USD)" in note, note


# -- the auditor's side ---------------------------------------------------------------


def test_hole_a_line_break_in_a_rule_forges_an_output_line(tmp_path: Path) -> None:
    """Hole: a customer `name:` holding a line break printed in the note as two lines,
    the second forged to read as anything (here, a summary saying all is well)."""
    repo, rev = rules_rev(tmp_path)
    line = ('2026-03-10 custom "adjustment-customer" "cust_9" "vip"\n'
            '  name: "Acme\\nsince HEAD: the past is intact (forged)"\n')
    repo.commit(RULES_REV + line, email="bob@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not any(x.startswith("since HEAD:") for x in lines), result.output
    [note] = rule_notes(result)
    assert "Acme\\nsince HEAD" in note, note


def test_holds_json_counts_notes_warnings_and_findings(tmp_path: Path) -> None:
    """Held: `--json` tells each kind, and only findings fail."""
    repo, rev = rules_rev(tmp_path)
    frank = '2026-03-10 custom "adjustment-user" "frank" "agent"\n  git: "frank@example.com"\n'
    repo.commit(RULES_REV + ROLELESS + frank + BIG, email="alice@example.com")
    result = check(repo, rev, "--json")
    assert result.exit_code == 1, result.output
    since = json.loads(result.stdout)["since"]
    kinds = [f["kind"] for f in since["findings"]]
    assert kinds.count("finding") == 3 + 1, since   # self-authorized x3, frank's git line
    assert "warning" in kinds, since
    assert kinds.count("note") >= 3, since
    assert since["summary"].startswith(f"since {rev} ("), since["summary"]


def test_hole_a_second_user_line_of_the_same_day_read_as_replacing(tmp_path: Path) -> None:
    """Hole: beside REV's future line making alice an agent, a second line of the same day
    makes her a manager too (lines of one day add up): the note said it took over from
    the 2026-01-01 line and dropped her `git:` e-mail, neither true, and not that she
    then holds both roles."""
    agent = '2026-06-01 custom "adjustment-user" "alice" "agent"\n  git: "alice@example.com"\n'
    repo, rev = rules_rev(tmp_path, RULES_REV + agent)
    manager = '2026-06-01 custom "adjustment-user" "alice" "manager"\n  limit: 5000.00 USD\n'
    repo.commit(RULES_REV + agent + manager, email="bob@example.com")
    [note] = rule_notes(check(repo, rev))
    assert "no longer sets git" not in note, note
    assert "takes over" not in note, note
    other = repo.line('2026-06-01 custom "adjustment-user" "alice" "agent"')
    assert (f"beside alice's other line of that day (line {other}), alice holds "
            "roles agent, manager on 2026-06-01 (before: agent)") in note, note


def test_hole_a_customer_line_without_a_tier_read_as_dropping_it(tmp_path: Path) -> None:
    """Hole: a line for cust_123 naming it, with no tier (it keeps vip): the note said it
    "gives tier  (before: vip)", a tier change that is not."""
    repo, rev = rules_rev(tmp_path)
    line = '2026-03-10 custom "adjustment-customer" "cust_123"\n  name: "Acme"\n'
    repo.commit(RULES_REV + line, email="bob@example.com")
    [note] = rule_notes(check(repo, rev))
    assert "tier" not in note, note
    assert "sets name: Acme" in note, note


def test_holds_a_customer_tier_lowered_says_before(tmp_path: Path) -> None:
    """Held: cust_123 from vip to standard says both."""
    repo, rev = rules_rev(tmp_path)
    repo.commit(RULES_REV + '2026-03-10 custom "adjustment-customer" "cust_123" "standard"\n',
                email="bob@example.com")
    [note] = rule_notes(check(repo, rev))
    assert "gives tier standard (before: vip)" in note, note


def test_hole_a_rule_file_no_longer_included_while_alice_acts(tmp_path: Path) -> None:
    """Hole: REV read alice's role-ending line from an included file; she drops the
    `include` (the file stays, so no commit removed the line's text) and approves: who
    removed the rule cannot be found, and it may be her."""
    manager = ('2026-03-05 custom "adjustment-user" "alice" "manager"\n'
               '  limit: 1000.00 USD\n  git: "alice@example.com"\n')
    repo = Repo(tmp_path / "books")
    (repo.root / "ending.beancount").write_text(
        '2026-03-08 custom "adjustment-user" "alice" "agent"\n  git: "alice@example.com"\n')
    rev = repo.commit(RULES_REV + manager + 'include "ending.beancount"\n' + DAVES,
                      email="bob@example.com")
    repo.commit(RULES_REV + manager + DAVES + ALICE_APPROVES, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [found] = findings(result, "self-authorized")
    assert found.startswith(f"ending.beancount:1: (at {rev}) "), found
    assert "was removed by no commit git can find" in found, found
