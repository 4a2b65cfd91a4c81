"""Attacks, round 14: controls that hold (issue 11), the audit trail shows how money
moved.

First the policy's own steps: a request approved as it arrives and a reversal
booked as its cancel is accepted move money with no approver; the audit report,
the event export and Fava's timeline must each show that step, alike
(`evidence.automatic_steps`), with the policy that allowed it in words that are
true (`queries.automatic_text`). Then the intake paths (bulk files, templates,
schedules, automation rules): none may act as another user, approve, or write
the control fields only the tools write.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from beancount_adjustments.cli import main
from beancount_adjustments.core.book import Book
from beancount_adjustments.fava_ext.detail import timeline
from beancount_adjustments.reports import Scope, audit, compliance, risk
from beancount_adjustments.reports import export as exporting
from ledgers import BACKDATING, BASE, event, load, load_file, request

BELOW = "automatic: 10.00 USD is below the first threshold of credit:* from 25.00 USD: manager"


def _book(text: str) -> Book:
    loaded = load(text)
    assert loaded.errors == [], loaded.errors
    assert loaded.book is not None
    return loaded.book


def _trail(book: Book, adj_id: str) -> list[tuple[str, str, str]]:
    return [(r.action, r.who, r.why) for r in audit(book, Scope()) if r.adjustment_id == adj_id]


def _exported(book: Book, adj_id: str) -> list[tuple[str, str, str]]:
    return [(r["action"], r["by"], r["reason"] or "") for r in exporting.event_records(book)
            if r["adjustment_id"] == adj_id]


def _timeline(book: Book, adj_id: str) -> list[tuple[str, str]]:
    adj = book.get(adj_id)
    assert adj is not None
    return [(t.what, t.note) for t in timeline(book, adj) if t.by == "policy"]


# -- a reversal booked with no approver ---------------------------------------------


def test_an_automatic_reversal_is_on_the_trail_the_export_and_the_timeline() -> None:
    """Hole: cancelling an adjustment whose type and amount need no approval books
    its reversal at once; the audit report and the event export showed the `cancel`
    and nothing else, so money moved back with no decision on record. The cancel is
    followed by `reversed automatically` (no `who`, the policy as `why`) in all
    three, told the same way."""
    book = _book(request("ADJ-1", "2026-03-02", "-10")
                 + event("ADJ-1", "2026-03-05", "cancel", "bob", reason="Duplicate"))
    assert str(book.adjustments["ADJ-1"].state) == "reversed"
    assert _trail(book, "ADJ-1") == [
        ("request credit:refund", "alice", "Test adjustment"),
        ("approved automatically", "", BELOW),
        ("cancel (reversal)", "bob", "Duplicate"),
        ("reversed automatically", "", BELOW)]
    reversed_row = audit(book, Scope())[-1]
    assert (str(reversed_row.date), reversed_row.accepted) == ("2026-03-05", True)
    assert reversed_row.source == audit(book, Scope())[-2].source  # the cancel's line
    assert _exported(book, "ADJ-1") == [
        ("approved automatically", "", BELOW), ("cancel", "bob", "Duplicate"),
        ("reversed automatically", "", BELOW)]
    assert _timeline(book, "ADJ-1") == [("approved automatically", BELOW),
                                         ("reversed automatically", BELOW)]
    adj = book.get("ADJ-1")
    assert adj is not None
    assert [t.what for t in timeline(book, adj)] == [
        "requested", "approved automatically", "applied", "cancel (reversal)",
        "reversed automatically", "reversed"]


def test_a_reversal_that_needs_an_approver_has_no_automatic_row() -> None:
    book = _book(request("ADJ-1", "2026-03-02", "-50")
                 + event("ADJ-1", "2026-03-03", "approve", "bob")
                 + event("ADJ-1", "2026-03-05", "cancel", "carol", reason="Duplicate")
                 + event("ADJ-1", "2026-03-06", "approve", "erin")
                 + request("ADJ-2", "2026-03-02", "-50")
                 + event("ADJ-2", "2026-03-04", "cancel", "carol", reason="Withdrawn"))
    for adj_id in ("ADJ-1", "ADJ-2"):
        assert not [a for a, _, _ in _trail(book, adj_id) if "automatically" in a]
        assert not [a for a, _, _ in _exported(book, adj_id) if "automatically" in a]
        assert _timeline(book, adj_id) == []


def test_a_reversal_the_matrix_frees_later_names_the_row_of_its_day() -> None:
    """The reversal is judged on the cancel's day: a row that pre-approves from then
    on is the policy its automatic row names, while the approval it once needed
    stays on record."""
    book = _book(request("ADJ-1", "2026-03-02", "-50")
                 + event("ADJ-1", "2026-03-03", "approve", "bob")
                 + '2026-04-01 custom "adjustment-approval" "credit:*" 25.00 USD\n'
                 + event("ADJ-1", "2026-04-02", "cancel", "carol", reason="Duplicate"))
    assert _trail(book, "ADJ-1")[-2:] == [
        ("cancel (reversal)", "carol", "Duplicate"),
        ("reversed automatically", "", "credit:* from 25.00 USD: automatic")]
    assert _exported(book, "ADJ-1")[-1] == ("reversed automatically", "",
                                            "credit:* from 25.00 USD: automatic")


def test_the_export_keeps_its_schema_for_the_policys_steps() -> None:
    book = _book(request("ADJ-1", "2026-03-02", "-10", extra="effective: 2026-03-31")
                 + event("ADJ-1", "2026-04-05", "cancel", "bob", reason="Duplicate"))
    records = exporting.event_records(book)
    assert [list(r) for r in records] == [list(exporting.EVENT_FIELDS)] * 3
    first = records[0]
    assert (first["action"], str(first["effective"]), first["accepted"], first["signed"]) == (
        "approved automatically", "2026-03-31", True, False)
    assert "approved automatically" in exporting.export(book, "csv", "events")
    trail = audit(book, Scope())
    assert trail[1].action == "approved automatically (effective 2026-03-31)"


# -- the policy in words ------------------------------------------------------------


def test_the_policy_of_an_automatic_request_names_the_row_it_is_below() -> None:
    """Hole: a request below the first threshold of the row that covers it read
    "automatic (no matching row)" in compliance's `policy` column, the audit row and
    Fava's detail: a row did match. It says which row and that the amount is below
    its first threshold; a row with no roles is named as the row that approved."""
    book = _book(request("ADJ-1", "2026-03-02", "-10")
                 + request("ADJ-2", "2026-03-02", "-50", type="credit:promotional",
                           account="Expenses:Promotions"))
    policy = {r.id: r.policy for r in compliance(book, Scope())}
    assert policy == {"ADJ-1": BELOW,
                      "ADJ-2": "credit:promotional from 0.00 USD: automatic"}
    assert _trail(book, "ADJ-1")[1] == ("approved automatically", "", BELOW)


# -- the intake paths: who filed it --------------------------------------------------

INTAKE = """
2026-01-01 custom "adjustment-template" "goodwill"
  type: "credit:goodwill"
  amount: 10.00 USD
  offset-account: "Expenses:Goodwill"
  reason: "Goodwill {note}"
2026-01-01 custom "adjustment-schedule" "monthly" "goodwill"
  every: "month"
  start: 2026-03-01
  end: 2026-03-31
  customers: "cust_456"
  requested-by: "bob"
  note: "monthly"
"""


def _intake_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + INTAKE)
    return path


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def test_a_request_entered_for_someone_else_names_both_on_the_trail(tmp_path: Path) -> None:
    """Hole: alice imports a CSV row `requested-by: carol` (or runs a schedule whose
    `requested-by:` is bob); the ledger records `entered-by: alice` and both count as
    requesters, yet the audit trail, compliance's `requester`, Fava's timeline and the
    export named only carol (bob): the person who filed the money movement was on no
    report. They name `carol (entered by alice)`; the export's `entered_by` says it."""
    path = _intake_ledger(tmp_path)
    assert _run("run-schedules", "-f", str(path), "--as", "alice",
                "--through", "2026-03-31").exit_code == 0
    rows = tmp_path / "in.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id,requested-by,date,"
                    "offset-account\ncredit:refund,cust_456,10.00,USD,Refund,X1,carol,"
                    "2026-03-02,Income:Sales:Returns\n")
    assert _run("import", "-f", str(path), "--as", "alice", str(rows)).exit_code == 0
    loaded = load_file(path)
    assert loaded.errors == []
    book = loaded.book
    assert book is not None
    schedule, imported = sorted(book.adjustments)
    assert [book.adjustments[i].request.requesters for i in (schedule, imported)] == [
        ("bob", "alice"), ("carol", "alice")]
    arrivals = {r.adjustment_id: r.who for r in audit(book, Scope())
                if r.action.startswith("request")}
    assert arrivals == {schedule: "bob (entered by alice)",
                        imported: "carol (entered by alice)"}
    assert {r.id: r.requester for r in compliance(book, Scope())} == arrivals
    adj = book.get(imported)
    assert adj is not None
    assert timeline(book, adj)[0].by == "carol (entered by alice)"
    exported = {r["id"]: (r["requested_by"], r["entered_by"])
                for r in exporting.adjustment_records(book)}
    assert exported == {schedule: ("bob", "alice"), imported: ("carol", "alice")}


def test_a_request_its_requester_entered_names_one_person() -> None:
    book = _book(request("ADJ-1", "2026-03-02", "-10", extra='entered-by: "alice"'))
    assert next(r.who for r in audit(book, Scope())) == "alice"
    assert exporting.adjustment_records(book)[0]["entered_by"] is None


def test_who_enters_a_request_for_another_may_not_approve_it(tmp_path: Path) -> None:
    """Held: erin (a manager) imports a 50 USD credit `requested-by: alice`; she is
    its requester too (`entered-by:`), so her approval is refused."""
    path = _intake_ledger(tmp_path)
    rows = tmp_path / "in.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id,requested-by,date,"
                    "offset-account\ncredit:refund,cust_456,50.00,USD,Refund,X1,alice,"
                    "2026-03-02,Income:Sales:Returns\n")
    assert _run("import", "-f", str(path), "--as", "erin", str(rows)).exit_code == 0
    (adj_id,) = load_file(path).book.adjustments  # type: ignore[union-attr]
    refused = _run("approve", adj_id, "-f", str(path), "--as", "erin")
    assert refused.exit_code != 0
    assert "[self-approval]" in refused.output
    assert load_file(path).state(adj_id) == "pending"


@pytest.mark.parametrize("args", [
    ("-p", 'note=x"\n  entered-by: "bob'),
    ("-p", "note=ok", "--reason", 'R"\n  approval-required: FALSE\n  requested-by: "bob'),
    ("-p", 'note=x"\n  chain: "automatic'),
])
def test_a_template_parameter_sets_no_control_field(tmp_path: Path,
                                                    args: tuple[str, ...]) -> None:
    """Held: a parameter or reason that closes the quote and writes a metadata line
    stays inside the reason (the writer escapes it): the request is alice's, entered by
    alice, with the chain the policy gives."""
    path = _intake_ledger(tmp_path)
    result = _run("from-template", "-f", str(path), "--as", "alice", "goodwill",
                  "-c", "cust_456", "--date", "2026-03-03", *args)
    assert result.exit_code == 0, result.output
    loaded = load_file(path)
    assert loaded.errors == []
    (adj,) = loaded.book.adjustments.values()  # type: ignore[union-attr]
    assert adj.request.requesters == ("alice",)
    assert adj.request.entered_by == "alice"
    assert not adj.request.approval_required
    assert next(r.who for r in audit(loaded.book, Scope())) == "alice"  # type: ignore[arg-type]


def test_a_split_entered_under_other_requesters_names_is_still_a_split() -> None:
    """Hole: the splitting check summed "the same requester's" requests by
    `requested-by` alone. alice credits cust_456 20 USD and then 15 USD, the second as
    a CSV row `requested-by: frank` (so `entered-by: alice`): each is below the 25 USD
    threshold and approved by the policy, together 35 USD moved with no flag. Every
    requester of a request counts (`Request.requesters`), so the split is flagged, and
    a risk row can send it to approval; round amounts are counted the same way."""
    risky = ('2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"\n'
             '  risk: "splitting"\n')
    text = (risky + request("S-1", "2026-03-02", "-20.00", reason="Refund part 1")
            + request("S-2", "2026-03-05", "-15.00", reason="Refund part 2", by="frank",
                      extra='entered-by: "alice"'))
    book = _book(text)
    second = book.adjustments["S-2"]
    assert second.risk_flags == ("splitting",)
    assert (str(second.state), second.chain) == ("pending", ("manager",))
    (hit,) = [f for f in risk.findings(book, None) if f.check == "splitting"]
    assert hit.ids == ("S-1", "S-2")
    assert hit.message.startswith("alice filed 2 requests for cust_456")


def test_requests_of_two_people_each_filing_their_own_are_no_split() -> None:
    book = _book(request("S-1", "2026-03-02", "-20.00", reason="Refund part 1")
                 + request("S-2", "2026-03-05", "-15.00", reason="Refund part 2",
                           by="frank"))
    assert book.adjustments["S-2"].risk_flags == ()


def test_round_amounts_entered_under_other_names_count_for_who_entered_them() -> None:
    """Hole (the same rule): three round credits entered by alice, two of them
    `requested-by` frank and bob, raised no round-amounts flag."""
    book = _book(request("O-1", "2026-03-02", "-100.00", reason="a")
                 + request("O-2", "2026-03-05", "-200.00", reason="b", customer="cust_123",
                           by="frank", extra='entered-by: "alice"')
                 + request("O-3", "2026-03-09", "-300.00", reason="c", by="bob",
                           extra='entered-by: "alice"'))
    assert book.adjustments["O-3"].risk_flags == ("round-amounts",)
    (hit,) = [f for f in risk.findings(book, None) if f.check == "round-amounts"]
    assert (hit.subject, hit.ids) == ("alice", ("O-1", "O-2", "O-3"))


def test_a_requester_alert_counts_what_one_person_entered_under_other_names() -> None:
    """Hole: the `requester` alert summed by `requested-by` alone; alice entering
    60 USD for herself and 60 USD `requested-by: frank` stayed under her 100 USD a
    year. Every requester of a request counts."""
    alert = ('2026-01-01 custom "adjustment-alert" "requester" 100.00 USD\n'
             '  period: "year"\n')
    book = _book(alert + request("A-1", "2026-03-02", "-60.00", reason="a")
                 + request("A-2", "2026-04-01", "-60.00", reason="b", by="frank",
                           extra='entered-by: "alice"'))
    hits = [f for f in risk.findings(book, None) if f.check == "alert:requester"]
    assert [(f.subject, f.ids) for f in hits] == [("alice", ("A-1", "A-2"))]
    assert "120.00 USD in 2026" in hits[0].message


def test_an_outlier_who_files_under_other_names_is_an_outlier() -> None:
    """Hole (the same rule): alice entered 12 requests in a month, each under a
    colleague's name; the outliers check counted each colleague, never her."""
    parts = []
    for n, by in enumerate(("bob", "carol", "carol", "dave", "erin", "erin"), 1):
        parts.append(request(f"P-{n}", f"2026-03-{n:02d}", f"-{n}.37", reason=f"r{n}",
                             by=by))
    for n in range(7, 19):
        parts.append(request(f"P-{n}", f"2026-03-{n:02d}", f"-{n}.37", reason=f"r{n}",
                             by=("frank", "bob", "carol", "dave")[n % 4],
                             extra='entered-by: "alice"'))
    book = _book("".join(parts))
    outliers = [f for f in risk.findings(book, datetime.date(2026, 3, 31))
                if f.check == "outliers"]
    assert [(f.subject, len(f.ids)) for f in outliers] == [("alice", 12)]


CONTROL_LINES = ('  entered-by: "bob"\n  at: "2020-01-01T00:00:00+00:00"\n'
                 '  chain: "automatic"\n  judged: "1.00 USD"\n  approval-required: TRUE\n'
                 '  adjustment-id: "ADJ-1"\n')


@pytest.mark.parametrize("where", ["template", "schedule"])
def test_control_keys_on_a_template_or_schedule_line_write_nothing(
        tmp_path: Path, where: str) -> None:
    """Held: `entered-by:`, `at:`, `chain:`, `judged:`, `approval-required:` or an id
    written on the ledger's template or schedule line are parameters its text may
    use, never the request's metadata: the tools write those themselves."""
    anchor = ('  reason: "Goodwill {note}"\n' if where == "template"
              else '  note: "monthly"\n')
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + INTAKE.replace(anchor, anchor + CONTROL_LINES))
    result = _run("run-schedules", "-f", str(path), "--as", "alice",
                  "--through", "2026-03-31")
    assert result.exit_code == 0, result.output
    loaded = load_file(path)
    assert loaded.errors == []
    (adj,) = loaded.book.adjustments.values()  # type: ignore[union-attr]
    request_ = adj.request
    assert (request_.requested_by, request_.entered_by) == ("bob", "alice")
    assert not request_.approval_required
    assert adj.id != "ADJ-1"
    assert request_.at is not None
    assert not request_.at.startswith("2020")
    assert request_.judged is None
