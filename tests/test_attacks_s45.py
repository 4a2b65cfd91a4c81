"""Round 45 of attacks: the auditor's evidence after the newest features.

Since round 26 the product gained approved reversals (state `reversing`, a
reversal chain, reject refusing it), `entered-by:`, `judged:`/`chain:` on
approvals, invoices capping credits and threshold alerts in other currencies.
alice (an agent) wants money out without anyone noticing, and an auditor relies
on the alerts, reports, exports and notices: each test tries to make one of them
lie or omit while `bean-check` is clean. A test whose docstring says "Hole:"
failed on the code it was written against (the fix is named in the commit that
added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from beancount_adjustments import notify, reports
from beancount_adjustments.cli import main
from beancount_adjustments.fava_ext import report_data
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.queue import QueueFilters, queue_view
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.reports import risk
from beancount_adjustments.reports.statement import statement
from ledgers import BASE, decided, event, load, request

DAY = datetime.date(2026, 3, 31)

ALERT = """
2026-01-01 custom "adjustment-alert" "customer" 1000.00 USD
  period: "month"
"""
"""A customer's credits above 1 000 USD in a month raise an alert."""


def _applied_then_cancelled(adj_id: str, amount: str, day: int) -> str:
    """A credit bob approved (booked at once), then carol asked for its reversal,
    which awaits a manager nobody gives: the money is still out (`reversing`)."""
    body = request(adj_id, f"2026-03-{day:02d}", amount)
    body += event(adj_id, f"2026-03-{day:02d}", "approve", "bob")
    return body + event(adj_id, f"2026-03-{day + 1:02d}", "cancel", "carol",
                        reason="Asked back")


# -- threshold alerts ------------------------------------------------------------------------


def test_a_reversal_left_waiting_does_not_hide_credits_from_the_alert() -> None:
    """Hole: the alerts counted the states `pending,approved,applied` by default, and
    an applied credit whose reversal was asked (state `reversing`) is still on the
    books. alice files three 400 USD credits for one customer in March, bob approves
    each (booked), carol cancels each and nobody approves the reversals: 1 200 USD
    out, above the 1 000 USD alert, and no alert. Now a reversal awaiting approval
    counts as what it is, applied."""
    body = ALERT + "".join(_applied_then_cancelled(f"ADJ-{i}", "-400.00", 2 + 3 * i)
                           for i in range(1, 4))
    loaded = load(body)
    assert not loaded.errors, loaded.codes
    assert {loaded.state(f"ADJ-{i}") for i in range(1, 4)} == {"reversing"}
    assert loaded.balance("Assets:Receivable:Customers") == -1200
    found = [f for f in risk.findings(loaded.book, DAY) if f.check == "alert:customer"]
    assert [f.ids for f in found] == [("ADJ-1", "ADJ-2", "ADJ-3")]


def test_an_alert_listing_applied_counts_a_reversal_awaiting_approval() -> None:
    """Hole (the same, written out): an alert whose `states:` says `applied` missed the
    applied credits whose reversal awaits approval. Now `applied` counts them: the
    booking stands until the reversal is approved. A reversed credit still does not."""
    body = (ALERT.replace('period: "month"', 'period: "month"\n  states: "applied"')
            + "".join(_applied_then_cancelled(f"ADJ-{i}", "-400.00", 2 + 3 * i)
                      for i in range(1, 4))
            + event("ADJ-3", "2026-03-12", "approve", "erin"))
    loaded = load(body)
    assert loaded.state("ADJ-3") == "reversed"
    found = [f for f in risk.findings(loaded.book, DAY) if f.check == "alert:customer"]
    assert found == []  # 800 USD still out: below the limit
    loaded = load(body + request("ADJ-4", "2026-03-20", "-300.00")
                  + event("ADJ-4", "2026-03-20", "approve", "bob"))
    found = [f for f in risk.findings(loaded.book, DAY) if f.check == "alert:customer"]
    assert [f.ids for f in found] == [("ADJ-1", "ADJ-2", "ADJ-4")]


# -- who is told of a reversal -----------------------------------------------------------------


def test_the_approver_of_a_debit_hears_that_it_was_reversed() -> None:
    """Hole: bob approved alice's 400 USD fee for a customer (booked). carol cancelled
    it and erin approved the reversal: 400 USD the customer no longer owes. alice (the
    requester) and carol (who asked) were told; bob, whose approval the money had moved
    on, heard nothing, though he is told when a request he approved is merely
    withdrawn. Now the approvers of a reversed adjustment are told, but who asked for
    the reversal or approved it."""
    body = (request("ADJ-1", "2026-03-02", "400.00", type="debit:fee", account="Income:Fees")
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + event("ADJ-1", "2026-03-05", "cancel", "carol", reason="Fee waived")
            + event("ADJ-1", "2026-03-06", "approve", "erin"))
    loaded = load(body)
    assert loaded.state("ADJ-1") == "reversed"
    found = {n.key: n for n in notify.notices(loaded.book, DAY)}
    told = found.get("ADJ-1:reversed:bob")
    assert told is not None, sorted(found)
    assert "which you approved" in told.body
    assert "erin" in told.body
    assert "ADJ-1:reversed:erin" not in found  # she booked it herself
    assert {"ADJ-1:reversed:alice", "ADJ-1:reversed:carol"} <= set(found)


def test_an_approver_who_asked_for_the_reversal_is_told_once() -> None:
    """Held (the rule's edge): bob approved the credit and later asked for its reversal
    himself; erin approved it. bob gets the one `reversed` notice of who asked for it,
    not a second one as its approver under the same key."""
    body = (request("ADJ-1", "2026-03-02", "-400.00")
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + event("ADJ-1", "2026-03-05", "cancel", "bob", reason="Wrong customer")
            + event("ADJ-1", "2026-03-06", "approve", "erin"))
    keys = [n.key for n in notify.notices(load(body).book, DAY)]
    assert keys.count("ADJ-1:reversed:bob") == 1, keys


# -- the reports and Fava's report data ----------------------------------------------------


def test_a_reversal_asked_does_not_undo_the_decision_in_favas_trends() -> None:
    """Hole: Fava's trends counted a request as decided when approved, applied or
    reversed, not while its reversal awaits approval: asking for the reversal of an
    approved credit took it out of the month's decisions, its days to decision and its
    approval rate (here: no decision at all), though it was approved and is booked.
    Now a `reversing` adjustment is decided, approved, like the applied one it is."""
    body = (_applied_then_cancelled("ADJ-1", "-400.00", 2)
            + request("ADJ-2", "2026-03-02", "-400.00")
            + event("ADJ-2", "2026-03-04", "reject", "bob", reason="No"))
    book = load(body).book
    trends = report_data.trends(book)
    assert trends.months == ["2026-03"]
    assert trends.decided == [2]
    assert trends.approval_rate == [50]
    cli = reports.trends(book, reports.Scope())
    assert [r.applied for r in cli] == [1]
    assert trends.applied["USD"] == [sum(r.applied_amount for r in cli)]


def test_the_summary_tells_what_is_booked_from_what_was_asked() -> None:
    """Hole: the summary's `net` is what the requests would move, whatever became of
    them: two 500 USD refunds, one reversed, read as -1 000 USD for the type, the
    month and the state `reversed` alike, while the customers' balances moved -500
    USD; nothing in the report said which part is on the books. Now `booked` is what
    those of them on the books now move (applied, or a reversal awaiting approval),
    what the receivable moved: the reversed state's row books nothing."""
    body = (request("ADJ-1", "2026-03-02", "-500.00")
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + event("ADJ-1", "2026-03-05", "cancel", "carol", reason="Asked back")
            + event("ADJ-1", "2026-03-06", "approve", "erin")
            + _applied_then_cancelled("ADJ-2", "-500.00", 2))
    loaded = load(body)
    rows = {(r.dimension, r.key): r for r in reports.summary(loaded.book, reports.Scope())}
    assert rows[("type", "credit:refund")].net == -1000
    assert rows[("type", "credit:refund")].booked == -500
    assert rows[("type", "credit:refund")].booked == loaded.balance(
        "Assets:Receivable:Customers")
    assert rows[("state", "reversed")].booked == 0
    assert rows[("state", "reversing")].booked == -500


# -- the audit trail and the export ------------------------------------------------------------


def _reversal_story() -> str:
    """bob's approval books a 500 USD refund; carol asks for its reversal, dave (no
    manager) cannot approve it, bob refuses it; carol asks again and erin approves it."""
    body = request("ADJ-1", "2026-03-02", "-500.00")
    body += decided(body, "ADJ-1", "2026-03-02", "approve", "bob")
    body += decided(body, "ADJ-1", "2026-03-03", "cancel", "carol", reason="Asked back")
    body += event("ADJ-1", "2026-03-04", "approve", "dave")
    body += decided(body, "ADJ-1", "2026-03-04", "reject", "bob", reason="Keep it")
    body += decided(body, "ADJ-1", "2026-03-05", "cancel", "carol", reason="Asked again")
    return body + decided(body, "ADJ-1", "2026-03-06", "approve", "erin")


def test_the_audit_trail_tells_a_reversals_decisions_from_the_requests() -> None:
    """Hole: the audit report listed bob's approval of the refund and erin's of its
    reversal both as `approve`, and bob's refusal of the reversal as `reject`, as if
    he had rejected the refund (which stayed booked): read alone, the trail showed two
    approvals of one refund and a rejection of an applied one. Now the decisions on a
    reversal say so (`approve (reversal)`, `reject (reversal)`, `cancel (reversal)`),
    as the compliance report's approvers do, and the export says `reversal: true`."""
    loaded = load(_reversal_story())
    assert loaded.state("ADJ-1") == "reversed"
    rows = reports.audit(loaded.book, reports.Scope())
    assert [(r.who, r.action, r.accepted) for r in rows] == [
        ("alice", "request credit:refund", True), ("bob", "approve", True),
        ("carol", "cancel (reversal)", True), ("dave", "approve (reversal)", False),
        ("bob", "reject (reversal)", True), ("carol", "cancel (reversal)", True),
        ("erin", "approve (reversal)", True)]
    events = exporting.event_records(loaded.book)
    assert [(e["by"], e["action"], e["reversal"]) for e in events] == [
        ("bob", "approve", False), ("carol", "cancel", True), ("dave", "approve", True),
        ("bob", "reject", True), ("carol", "cancel", True), ("erin", "approve", True)]


def test_the_event_export_keeps_what_the_approver_was_shown() -> None:
    """Hole: an approval records the chain in force and the converted amount its
    approver was shown (`chain:`, `judged:`, `limit-judged:`), which decide whether it
    is stale; the event export, what other systems audit from, dropped them. Now they
    are its last fields, as written (and empty where the event has none)."""
    prices = "2026-01-01 price EUR 1.10 USD\n"
    body = prices + request("ADJ-1", "2026-03-02", "-500.00", currency="EUR")
    body += decided(body, "ADJ-1", "2026-03-02", "approve", "bob")
    loaded = load(body)
    assert loaded.state("ADJ-1") == "applied", loaded.codes
    (approval,) = exporting.event_records(loaded.book)
    assert approval["chain"] == "manager"
    judged = loaded.adj("ADJ-1").judged
    assert Decimal(judged.number) == Decimal("550.00")
    assert approval["judged"] == f"{judged.number} USD"  # as written
    assert list(exporting.EVENT_FIELDS[-4:]) == ["reversal", "judged", "chain", "limit_judged"]
    line = json.loads(exporting.export(loaded.book, "jsonl", "events"))
    assert line["judged"] == approval["judged"]
    assert line["limit_judged"] == approval["limit_judged"] == f"{judged.number} USD"


# -- who filed it ----------------------------------------------------------------------------


def test_the_queue_exports_name_who_entered_a_request(tmp_path: Path) -> None:
    """Hole: frank entered a credit in alice's name (`entered-by: "frank"`): both are
    its requesters and neither may approve it. `list` printed "alice (entered by
    frank)", but `list --json` and Fava's queue CSV, what a reviewer's spreadsheet is
    made of, named alice alone. Now `list --json` has `entered_by`, and the CSV's
    `requested by` is the queue's own text."""
    text = BASE + request("ADJ-1", "2026-03-02", "-400.00", extra='entered-by: "frank"')
    path = tmp_path / "main.beancount"
    path.write_text(text)
    result = CliRunner().invoke(main, ["list", "-f", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.output)
    assert (listed["requested_by"], listed["entered_by"]) == ("alice", "frank")
    book: Any = load(text, base=False).book
    header, rows = report_data.queue_table(queue_view(
        BookIndex.build(book), QueueFilters(per_page=100), today=DAY, written=DAY, user=None))
    assert rows[0][header.index("requested by")] == "alice (entered by frank)"


# -- held: the exports' cells, the statement's credit left, one set of rows --------------------


def test_formulas_and_markup_in_the_new_fields_stay_text() -> None:
    """Held: a reason, a cancel's reason and a comment reading `=HYPERLINK(...)`,
    `+1`, `@SUM`, a tab or markup, on a request and its reversal: every CSV cell of the
    event export and the audit report is quoted, and the HTML report escapes them."""
    nasty = ("=HYPERLINK(1)", "+1", "@SUM(1)", "\tx", "<b>x</b>")
    body = request("ADJ-1", "2026-03-02", "-500.00", reason=nasty[0])
    body += event("ADJ-1", "2026-03-02", "approve", "bob", comment=nasty[4])
    body += event("ADJ-1", "2026-03-05", "cancel", "carol", reason=nasty[1], comment=nasty[2])
    body += event("ADJ-1", "2026-03-06", "reject", "erin", reason=nasty[3])
    book = load(body).book
    csv_text = exporting.export(book, "csv", "events") + reports.report_text(
        "audit", book, reports.Scope(), "csv", DAY)
    for bad in nasty[:4]:
        assert f",{bad}" not in csv_text
        assert f'"{bad}' not in csv_text
    page = reports.report_text("audit", book, reports.Scope(), "html", DAY)
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_statement_credit_left_follows_the_reversal() -> None:
    """Held: a 200 USD credit against a 300 USD invoice leaves 100 USD to credit while
    its reversal awaits approval (the replay refuses a 150 USD credit), and 300 once the
    reversal is booked: the statement's credit left is the replay's."""
    invoice = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-9"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  300.00 USD\n'
               '  Income:Sales\n')
    credit = _applied_then_cancelled("ADJ-1", "-200.00", 2).replace(
        'requested-by: "alice"', 'requested-by: "alice"\n  invoice: "INV-9"', 1)
    more = request("ADJ-2", "2026-03-10", "-150.00", extra='invoice: "INV-9"') + event(
        "ADJ-2", "2026-03-10", "approve", "bob")
    loaded = load(invoice + credit + more)
    assert "exceeds-invoice" in loaded.code_set
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.adj("ADJ-2").applied_on is None
    assert _credit_left(loaded) == 100
    reversed_ = load(invoice + credit + event("ADJ-1", "2026-03-06", "approve", "erin"))
    assert reversed_.state("ADJ-1") == "reversed"
    assert _credit_left(reversed_) == 300


def _credit_left(loaded: Any) -> Decimal:
    shown = statement(loaded.entries, loaded.book, "cust_456", datetime.date(2026, 2, 1), DAY)
    (line,) = [ln for s in shown.sections for ln in s.lines if ln.kind == "invoice"]
    return Decimal(line.credit_left)


def test_cli_and_fava_compliance_are_one_set_of_rows() -> None:
    """Held: on a ledger with a booked reversal, a refused one and a hand-written
    approval, `bean-adjust report compliance` and Fava's compliance page hold the same
    rows, and the CSV of each says the same (approvers with `reversal`, unstamped)."""
    book = load(_reversal_story() + _applied_then_cancelled("ADJ-2", "-50.00", 2)).book
    cli = reports.compliance(book, reports.Scope(), DAY)
    fava = report_data.compliance(book, today=DAY)
    assert fava.rows == cli
    by_id = {r.id: r for r in cli}
    assert "erin (manager, reversal, 2026-03-06)" in by_id["ADJ-1"].approvers
    assert by_id["ADJ-2"].unstamped == 2
    # Fava's CSV download is `report_text`'s bytes (test_report_homes.py).
