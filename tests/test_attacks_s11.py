"""Eleventh round of attacks on the controls (issue 11): look-alike customers, and
`check --since` as an auditor relies on it.

Each test is one way tried to move money to a customer other than the one a
reviewer reads, or to rewrite the past unnoticed; it asserts that the control
holds. The look-alike customer tests failed on the code they were written
against; the others held and stay for the coverage they add.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
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
from repos import BASE as REPO_BASE

from beancount_adjustments import reports
from beancount_adjustments.core.models import Problem
from beancount_adjustments.reports import Scope
from beancount_adjustments.reports import export as exporting
from ledgers import BASE, Loaded, event, ledger, load, load_file, request, with_settings

# -- 1. look-alike customer ids -----------------------------------------------------------


def _lookalike_customers(loaded: Loaded) -> list[Problem]:
    assert loaded.book is not None, "the plugin did not run"
    return [w for w in loaded.book.warnings if w.code == "lookalike-customer"]


# (An id holding an invisible character is refused outright: test_attacks_s27.)
@pytest.mark.parametrize("customer", ["\u0441ust_123", "cust_l23", "cust_I23", "CUST_123",
                                      "cust_\uff11\uff12\uff13"])
def test_a_customer_id_that_looks_like_another_is_a_warning_at_its_line(customer: str) -> None:
    """A second customer "\\u0441ust_123" (a Cyrillic c), "cust_l23" or "cust_I23": a credit to
    it reads as one to cust_123 on every page a reviewer approves from."""
    loaded = load(f'2026-02-01 custom "adjustment-customer" "{customer}" "standard"\n'
                  + request("ADJ-1", "2026-02-02", "-20", customer=customer))
    found = _lookalike_customers(loaded)
    assert len(found) == 1, loaded.book.warnings if loaded.book else None
    warning = found[0]
    assert warning.source.lineno == loaded.line('"adjustment-customer" "' + customer)
    message = warning.message
    assert '"cust_123"' in message
    declared = loaded.line('"adjustment-customer" "cust_123"')
    assert f":{declared}:" in message


def test_a_customer_an_invoice_names_that_looks_like_a_declared_one_is_a_warning() -> None:
    """No declaration: an invoice on the receivable naming "\\u0441ust_123" makes it known."""
    invoice = ('2026-02-01 * "Fake" "Invoice"\n  invoice-id: "INV-9"\n'
               '  customer: "\u0441ust_123"\n'
               "  Assets:Receivable:Customers  10.00 USD\n  Income:Sales\n")
    loaded = load(invoice)
    found = _lookalike_customers(loaded)
    assert [w.source.lineno for w in found] == [loaded.line('"Fake" "Invoice"')]


def test_a_customer_account_opened_for_a_look_alike_is_a_warning_at_its_open() -> None:
    """With `customer-account`, an opened sub-account names its customer: opening
    Assets:Receivable:Cust-l23 beside Cust-123 makes a look-alike customer."""
    text = with_settings("{'customer-account': 'Assets:Receivable:{customer}'}", BASE)
    loaded = load(text + "\n2026-01-02 open Assets:Receivable:Cust-123\n"
                  "2026-01-03 open Assets:Receivable:Cust-l23\n", base=False)
    found = _lookalike_customers(loaded)
    assert [w.source.lineno for w in found] == [loaded.line("open Assets:Receivable:Cust-l23")]
    assert '"Cust-123"' in found[0].message


def test_a_request_for_an_unknown_look_alike_says_whom_it_reads_as() -> None:
    """A request naming "\\u0441ust_123", known nowhere: refused, and the message says why it
    matters (it reads as cust_123), not only "did you mean"."""
    loaded = load(request("ADJ-1", "2026-02-02", "-20", customer="\u0441ust_123"))
    bad = [e for e in loaded.errors if "[unknown-customer]" in e.message]
    assert len(bad) == 1, loaded.errors
    assert bad[0].source["lineno"] == loaded.line("^ADJ-1")
    assert 'reads as the customer "cust_123"' in bad[0].message
    assert loaded.state("ADJ-1") != "applied"


def test_customers_whose_ids_differ_to_the_eye_give_no_warning() -> None:
    loaded = load('2026-02-01 custom "adjustment-customer" "cust_124" "standard"\n'
                  '2026-02-01 custom "adjustment-customer" "cust_1234" "standard"\n')
    assert _lookalike_customers(loaded) == []
    # The same customer declared again (a new tier) reads as itself.
    again = load('2026-02-01 custom "adjustment-customer" "cust_123" "standard"\n')
    assert _lookalike_customers(again) == []


# -- 3. a decided request's texts edited after the decision ---------------------------------

_NOTED = """
2026-03-01 ! "cust_456" "Refund" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Damaged item"
  requested-by: "alice"
  ticket: "TCK-1"
  notes: "Photo evidence attached in TCK-1"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD

2026-03-02 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
"""

_AUTOMATIC = """
2026-03-01 ! "cust_456" "Spring promotion" ^ADJ-9
  adjustment-type: "credit:promotional"
  customer: "cust_456"
  reason: "Spring promotion"
  requested-by: "alice"
  ticket: "TCK-1"
  Expenses:Promotions            30.00 USD
  Assets:Receivable:Customers    -30.00 USD
"""


@pytest.mark.parametrize(("old", "new", "field"), [
    ('ticket: "TCK-1"', 'ticket: "TCK-999"', "ticket"),
    ('notes: "Photo evidence attached in TCK-1"', 'notes: "The CFO said yes"', "notes"),
    ('"Refund" ^ADJ-1', '"Refund of another order" ^ADJ-1', "narration"),
    ('! "cust_456" "Refund"', '! "cust_123" "Refund"', "payee"),
])
def test_an_approved_requests_text_edited_is_named_an_edited_request(
        tmp_path: Path, old: str, new: str, field: str) -> None:
    """The ticket, notes and narration a reviewer read are outside the digest: the
    finding was "the request ADJ-1 is new since REV ... (back-dated)", as if another
    request had been filed. It says what happened: ADJ-1's request was edited, and
    which field, at its line."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(REPO_BASE + _NOTED)
    repo.write(REPO_BASE + _NOTED.replace(old, new))
    result = check(repo, rev)
    finding = assert_finding(result, "edited-request", repo.at("^ADJ-1"))
    assert f"its request was edited since ({field})" in finding
    assert findings(result, "backdated-decision") == []


def test_the_ticket_of_an_automatic_credit_decided_last_cannot_be_rewritten(
        tmp_path: Path) -> None:
    """Hole: a credit the policy applied on arrival, the last thing REV decided: its
    date is REV's last decision, so its rewritten ticket was neither an edit (same
    digest) nor back-dated (not before that day), and the past read as intact."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(REPO_BASE + _AUTOMATIC)
    repo.write(REPO_BASE + _AUTOMATIC.replace('"TCK-1"', '"TCK-999"'))
    finding = assert_finding(check(repo, rev), "edited-request", repo.at("^ADJ-9"))
    assert "ADJ-9 was applied" in finding
    assert "(ticket)" in finding


def test_a_decided_request_moved_unchanged_is_still_intact(tmp_path: Path) -> None:
    """Moving a decided request further down the file (same content) is no edit."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(REPO_BASE + _AUTOMATIC + "\n2026-02-01 note Assets:Bank \"x\"\n")
    repo.write(REPO_BASE + "\n2026-02-01 note Assets:Bank \"x\"\n" + _AUTOMATIC)
    assert_intact(check(repo, rev))


# -- 2. check --since: order, files, history ----------------------------------------------

_APPROVE_2 = '2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
_CANCEL_2 = ('2026-03-06 custom "adjustment" "ADJ-2" "cancel"\n  by: "alice"\n'
             '  reason: "Wrong customer"\n')
_TWO_FILES = REPO_BASE + 'include "a.beancount"\ninclude "b.beancount"\n' + REQUEST_1 + REQUEST_2


def _same_day_in_two_files(tmp_path: Path) -> tuple[Repo, str]:
    """bob's approval of ADJ-2 in a.beancount, alice's cancel of the same day in
    b.beancount: approved, then reversing (files are read in Beancount's order)."""
    repo = Repo(tmp_path / "repo")
    (repo.root / "a.beancount").write_text(_APPROVE_2)
    (repo.root / "b.beancount").write_text(_CANCEL_2)
    return repo, repo.commit(_TWO_FILES)


def test_a_file_renamed_so_that_same_day_decisions_swap_is_a_reordering(
        tmp_path: Path) -> None:
    """Renaming a.beancount to c.beancount, content unchanged, puts the cancel first:
    ADJ-2 is withdrawn, the approval refused. Found, and named for what it is (REV's
    decisions in another order), not "the cancel is new since REV" as it was."""
    repo, rev = _same_day_in_two_files(tmp_path)
    repo.git("mv", "a.beancount", "c.beancount")
    repo.write(_TWO_FILES.replace('"a.beancount"', '"c.beancount"'))
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    found = findings(result, "backdated-decision")
    assert len(found) == 1, result.output
    assert "b.beancount:1: " in found[0]
    assert "in another order" in found[0]
    assert "new since" not in found[0]


def test_includes_reordered_keep_the_same_day_order(tmp_path: Path) -> None:
    """Held: the include lines swapped, the files are still read in the same order, so
    nothing REV decided moves."""
    repo, rev = _same_day_in_two_files(tmp_path)
    repo.write(_TWO_FILES.replace('include "a.beancount"\ninclude "b.beancount"\n',
                                  'include "b.beancount"\ninclude "a.beancount"\n'))
    assert_intact(check(repo, rev))


def test_line_endings_and_trailing_spaces_changed_are_no_rewrite(tmp_path: Path) -> None:
    """Held: CRLF line endings, or trailing spaces on every line, change no decision."""
    repo = Repo(tmp_path / "repo")
    text = BOOK + REQUEST_2 + APPROVE_2
    rev = repo.commit(text)
    repo.ledger.write_bytes(text.replace("\n", "\r\n").encode())
    assert_intact(check(repo, rev))
    repo.write("".join(line + "   \n" for line in text.splitlines()))
    assert_intact(check(repo, rev))


def test_an_amended_rev_is_still_compared_with_what_it_held(tmp_path: Path) -> None:
    """Held: REV's own commit amended (bob's approval now erin's) and checked against
    REV's sha, which is no longer an ancestor: the edit is found."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(BOOK + REQUEST_2 + APPROVE_2)
    repo.write(BOOK + REQUEST_2 + APPROVE_2.replace('"bob"', '"erin"'))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "-m", "amended")
    assert_finding(check(repo, rev), "edited-decision", repo.at('"ADJ-2" "approve"'))


def test_a_back_dated_decision_merged_from_a_side_branch_is_found(tmp_path: Path) -> None:
    """Held: a side branch, forked before REV, approves ADJ-2 on 2026-03-05 (its `at:`
    says so too); merged after REV, whose last decision is of 2026-03-08, it is
    inserted before what REV decided."""
    repo = Repo(tmp_path / "repo")
    (repo.root / "side.beancount").write_text("")
    text = BOOK.replace(REQUEST_1, 'include "side.beancount"\n' + REQUEST_1) + REQUEST_2
    repo.commit(text)
    repo.git("checkout", "-q", "-b", "side")
    (repo.root / "side.beancount").write_text(
        '2026-03-05 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
        '  at: "2026-03-05T09:00:00+01:00"\n')
    repo.commit(message="side")
    repo.git("checkout", "-q", "main")
    rev = repo.commit(text + '\n2026-03-08 custom "adjustment" "ADJ-1" "cancel"\n'
                             '  by: "alice"\n  reason: "Wrong customer"\n')
    repo.git("merge", "-q", "--no-edit", "side")
    assert_finding(check(repo, rev), "backdated-decision", "side.beancount:1: ")


@pytest.mark.parametrize("directive", [
    "2026-03-01 price EUR 1.10 USD\n",
    '2026-03-01 custom "adjustment-policy" "credit:*"\n  apply: "separate"\n',
])
def test_a_back_dated_directive_in_a_new_file_is_found(tmp_path: Path, directive: str) -> None:
    """Held: a price or policy dated before REV's last decision, in a file REV did not
    have (committed, so not an untracked file)."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(BOOK + REQUEST_2 + APPROVE_2)
    (repo.root / "new.beancount").write_text(directive)
    repo.commit(BOOK + REQUEST_2 + APPROVE_2 + 'include "new.beancount"\n')
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    assert any("new.beancount:1: " in f for f in findings(result, "backdated-directive"))
    assert findings(result, "untracked-file") == []


# -- 4. the auditor's reports --------------------------------------------------------------

# ADJ-1: a 1500 USD refund filed on the last day of Q1, approved by erin and carol and
# booked in Q2. ADJ-2: a 40 USD credit applied in Q1, cancelled by alice and the
# reversal approved by erin in Q2.
_ACROSS = (request("ADJ-1", "2026-03-31", "-1500", by="alice")
           + event("ADJ-1", "2026-04-02", "approve", "erin")
           + event("ADJ-1", "2026-04-03", "approve", "carol")
           + request("ADJ-2", "2026-02-01", "-40", by="alice", type="credit:goodwill",
                     account="Expenses:Goodwill")
           + event("ADJ-2", "2026-02-02", "approve", "bob")
           + event("ADJ-2", "2026-04-10", "cancel", "alice", reason="Wrong customer")
           + event("ADJ-2", "2026-04-11", "approve", "erin"))

_Q2 = Scope(start=datetime.date(2026, 4, 1), end=datetime.date(2026, 6, 30))


def test_money_moved_in_a_period_is_in_that_periods_compliance_report() -> None:
    """Hole: the compliance report listed the adjustments *requested* in the period,
    so Q2's showed nothing of a refund filed on 31 March and booked on 3 April, nor
    of a Q1 credit reversed in Q2: money moved in Q2 with no evidence row for it."""
    loaded = load(_ACROSS)
    assert loaded.book is not None
    assert loaded.errors == []
    assert (loaded.state("ADJ-1"), loaded.state("ADJ-2")) == ("applied", "reversed")
    rows = {row.id: row for row in reports.compliance(loaded.book, _Q2,
                                                      today=datetime.date(2026, 7, 1))}
    assert set(rows) == {"ADJ-1", "ADJ-2"}
    assert rows["ADJ-1"].approvers == "erin (manager, 2026-04-02); carol (finance, 2026-04-03)"
    assert "erin (manager, reversal, 2026-04-11)" in rows["ADJ-2"].approvers
    assert rows["ADJ-1"].exceptions == ""
    # A period before all of it, or after, still lists nothing.
    later = Scope(start=datetime.date(2026, 7, 1), end=datetime.date(2026, 9, 30))
    assert reports.compliance(loaded.book, later, today=datetime.date(2026, 10, 1)) == []
    # Q1 still lists both: they were requested then.
    q1 = Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 31))
    assert {r.id for r in reports.compliance(loaded.book, q1,
                                             today=datetime.date(2026, 4, 1))} == {
        "ADJ-1", "ADJ-2"}


def test_the_export_of_a_reversed_adjustment_names_who_approved_the_reversal() -> None:
    """Hole: an adjustment record said `approvers: bob` and `reversed_on`, and nothing
    of who asked for the reversal or approved it: read alone (a CSV of adjustments),
    the reversal looked approved by bob. The record names the canceller and the
    reversal's chain and approvers (new fields, at the end of the schema)."""
    loaded = load(_ACROSS)
    assert loaded.book is not None
    record = next(r for r in exporting.adjustment_records(loaded.book) if r["id"] == "ADJ-2")
    assert record["approvers"] == "bob"
    assert record["reversed_on"] == datetime.date(2026, 4, 11)
    assert record["cancelled_by"] == "alice"
    assert record["reversal_chain"] == "manager"
    assert record["reversal_approvers"] == "erin"
    never = next(r for r in exporting.adjustment_records(loaded.book) if r["id"] == "ADJ-1")
    assert (never["cancelled_by"], never["reversal_chain"], never["reversal_approvers"]) == (
        None, "", "")
    assert list(exporting.ADJUSTMENT_FIELDS[-4:-1]) == [
        "cancelled_by", "reversal_chain", "reversal_approvers"]


def test_the_audit_trail_and_the_export_list_decisions_in_the_order_they_were_judged(
        tmp_path: Path) -> None:
    """Hole: on one day the replay reads the top-level file first, then the included
    ones; the audit trail and the event export sorted by file *name*, so bob's
    approval in a.beancount (refused: "it is withdrawn") came before alice's cancel in
    main.beancount that withdrew it, and the trail read as if the approval was
    refused for no reason."""
    (tmp_path / "a.beancount").write_text(event("ADJ-1", "2026-02-02", "approve", "bob"))
    main = tmp_path / "main.beancount"
    main.write_text(ledger('include "a.beancount"\n' + request("ADJ-1", "2026-02-01", "-100")
                           + event("ADJ-1", "2026-02-02", "cancel", "alice",
                                   reason="Not needed")))
    loaded = load_file(main)
    assert loaded.book is not None
    judged = [(str(r.event.action), r.accepted) for r in loaded.adj("ADJ-1").history]
    assert judged == [("cancel", True), ("approve", False)]
    trail = [(row.action, row.accepted) for row in reports.audit(loaded.book, Scope())]
    assert trail == [("request credit:refund", True), *judged]
    exported = [(r["action"], r["accepted"]) for r in exporting.event_records(loaded.book)]
    assert exported == judged


def test_an_event_whose_id_and_user_carry_spaces_is_reported_as_the_adjustments(
        ) -> None:
    """Held: `" ADJ-1 "` by `" bob "` counts for ADJ-1, and the compliance report, the
    audit trail and the export name ADJ-1 and bob, so a filter on the id finds it; a
    different case (`adj-1`) approves nothing."""
    loaded = load(request("ADJ-1", "2026-02-01", "-100")
                  + event(" ADJ-1 ", "2026-02-02", "approve", " bob "))
    assert loaded.book is not None
    assert loaded.state("ADJ-1") == "applied"
    (row,) = reports.compliance(loaded.book, Scope(), today=datetime.date(2026, 3, 1))
    assert (row.id, row.approvers) == ("ADJ-1", "bob (manager, 2026-02-02)")
    trail = reports.audit(loaded.book, Scope())
    assert [(r.adjustment_id, r.who) for r in trail] == [("ADJ-1", "alice"), ("ADJ-1", "bob")]
    assert [(r["adjustment_id"], r["by"]) for r in exporting.event_records(loaded.book)] == [
        ("ADJ-1", "bob")]
    other = load(request("ADJ-1", "2026-02-01", "-100")
                 + event("adj-1", "2026-02-02", "approve", "bob"))
    assert other.state("ADJ-1") == "pending"
    assert "unknown-id" in other.code_set


def test_a_decision_moved_unchanged_to_an_included_file_is_no_rewrite(tmp_path: Path) -> None:
    """Held: bob's approval of ADJ-2 moved from main.beancount to an included file,
    word for word (and no other decision of that day to swap with)."""
    repo = Repo(tmp_path / "repo")
    (repo.root / "more.beancount").write_text("")
    text = BOOK + 'include "more.beancount"\n' + REQUEST_2
    rev = repo.commit(text + APPROVE_2)
    (repo.root / "more.beancount").write_text(APPROVE_2)
    repo.commit(text)
    assert_intact(check(repo, rev))


def test_an_approval_bound_by_an_older_digest_version_is_bound_evidence() -> None:
    """Hole (the wrong evidence): an approval written with a version-1 digest counts
    (digests carry a version so that older ledgers keep loading), yet the compliance
    report called its evidence `stale`, "given for other content", an exception on a
    valid approval. The report asks the replay's own question (`digest.matches`)."""
    from beancount_adjustments.core import digest

    text = request("ADJ-1", "2026-02-01", "-100")
    legacy = digest.legacy_digest(load(text).adj("ADJ-1").request)
    loaded = load(text + event("ADJ-1", "2026-02-02", "approve", "bob", digest=legacy))
    assert loaded.book is not None
    assert loaded.state("ADJ-1") == "applied"
    (row,) = reports.compliance(loaded.book, Scope(), today=datetime.date(2026, 3, 1))
    assert (row.evidence, row.exceptions) == ("bound", "")
    # Another request's digest is still stale evidence (and does not count).
    other = digest.legacy_digest(load(text).adj("ADJ-1").request._replace(reason="Other"))
    stale = load(text + event("ADJ-1", "2026-02-02", "approve", "bob", digest=other))
    assert stale.book is not None
    (row,) = reports.compliance(stale.book, Scope(), today=datetime.date(2026, 3, 1))
    assert row.evidence == "stale"


def test_the_pages_show_an_older_version_digest_as_matching(tmp_path: Path) -> None:
    """Hole (the wrong evidence, same question): `bean-adjust show` printed "digest
    STALE" (`digest_matches: false` in its JSON) and Fava's detail timeline "digest
    differs" for an approval the replay counts, bound by a version-1 digest."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main as cli
    from beancount_adjustments.core import digest
    from beancount_adjustments.fava_ext.detail import timeline

    text = request("ADJ-1", "2026-02-01", "-100")
    legacy = digest.legacy_digest(load(text).adj("ADJ-1").request)
    approved = text + event("ADJ-1", "2026-02-02", "approve", "bob", digest=legacy)
    loaded = load(approved)
    assert loaded.book is not None
    assert [t.digest for t in timeline(loaded.book, loaded.adj("ADJ-1"))
            if t.what == "approve"] == ["matches"]
    path = tmp_path / "main.beancount"
    path.write_text(ledger(approved))
    shown = CliRunner().invoke(cli, ["show", "-f", str(path), "ADJ-1"])
    assert shown.exit_code == 0, shown.output
    assert "digest matches" in shown.output
    assert "STALE" not in shown.output
    as_json = CliRunner().invoke(cli, ["show", "-f", str(path), "ADJ-1", "--json"])
    assert '"digest_matches": true' in as_json.output
