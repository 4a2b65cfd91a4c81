"""The lifecycle through the plugin: every transition, every misfit.

    pending --approve (last level)--> approved --apply--> applied --cancel--> reversed
       |  \\--reject--> rejected                  |
       \\--cancel--> withdrawn      approved --cancel--> withdrawn

A misfit is an error at the event's own line with the right code, and the
event has no effect: the ledger with the misfit appended replays to the same
book states and the same entries as the ledger without it.
"""

from __future__ import annotations

import pytest
from beancount.core import data
from beancount.parser import printer

from ledgers import event, load, request

# -- transitions --------------------------------------------------------------


def test_below_lowest_threshold_is_approved_and_applied_automatically():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "applied"
    assert adj.chain == ()
    assert adj.rule is None
    assert adj.applied_on == adj.decided_on == adj.effective_date
    assert str(adj.applied_on) == "2026-03-01"
    assert loaded.balance("Assets:Receivable") == -10


def test_pre_approved_type_row_without_roles_applies_at_once():
    loaded = load(request("ADJ-P", "2026-03-01", "-5000.00", type="credit:promotional",
                          account="Expenses:Promotions"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-P")
    assert adj.state == "applied"
    assert adj.rule is not None
    assert adj.rule.pattern == "credit:promotional"
    assert adj.chain == ()
    assert loaded.balance("Assets:Receivable") == -5000


def test_pending_until_last_level_then_applied_on_approval():
    text = (request("ADJ-1", "2026-03-01", "-1500.00")
            + event("ADJ-1", "2026-03-02", "approve", "erin"))
    loaded = load(text)
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "pending"
    assert adj.chain == ("manager", "finance")
    assert adj.level == 1
    assert adj.next_role == "finance"
    assert loaded.balance("Assets:Receivable") == 0

    loaded = load(text + event("ADJ-1", "2026-03-04", "approve", "carol"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "applied"
    assert adj.approvers == ("erin", "carol")
    assert [a.role for a in adj.approvals] == ["manager", "finance"]
    assert str(adj.decided_on) == str(adj.applied_on) == "2026-03-04"
    assert loaded.balance("Assets:Receivable") == -1500


def test_three_levels_for_the_top_threshold():
    text = (request("ADJ-1", "2026-03-01", "-10000.00")
            + event("ADJ-1", "2026-03-02", "approve", "erin")
            + event("ADJ-1", "2026-03-03", "approve", "carol"))
    assert load(text).state("ADJ-1") == "pending"
    loaded = load(text + event("ADJ-1", "2026-03-04", "approve", "dave"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").approvers == ("erin", "carol", "dave")


def test_separate_apply_approved_then_applied_by_apply_event():
    text = (request("ADJ-B", "2026-03-01", "-100.00", type="billing:discount",
                    extra='invoice: "INV-1"')
            + '2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
              '  Assets:Receivable:Customers  500.00 USD\n  Income:Sales\n'
            + event("ADJ-B", "2026-03-02", "approve", "bob"))
    loaded = load(text)
    assert loaded.errors == []
    adj = loaded.adj("ADJ-B")
    assert adj.state == "approved"
    assert adj.separate_apply is True
    assert adj.applied_on is None
    assert loaded.balance("Assets:Receivable") == 500
    assert loaded.tagged("adjustment", "ADJ-B") == []

    loaded = load(text + event("ADJ-B", "2026-03-06", "apply", "carol"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-B")
    assert adj.state == "applied"
    assert str(adj.applied_on) == "2026-03-06"
    assert loaded.balance("Assets:Receivable") == 400
    [applied] = loaded.tagged("adjustment", "ADJ-B")
    assert str(applied.date) == "2026-03-06"


def test_separate_apply_below_threshold_is_approved_not_applied():
    text = (request("ADJ-B", "2026-03-01", "-10.00", type="billing:discount",
                    extra='invoice: "INV-1"')
            + '2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
              '  Assets:Receivable:Customers  500.00 USD\n  Income:Sales\n')
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-B") == "approved"
    assert str(loaded.adj("ADJ-B").decided_on) == "2026-03-01"
    loaded = load(text + event("ADJ-B", "2026-03-02", "apply", "alice"))
    assert loaded.errors == []
    assert loaded.state("ADJ-B") == "applied"


def test_reject_from_pending():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + event("ADJ-1", "2026-03-02", "reject", "bob", reason="No proof"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "rejected"
    assert str(adj.decided_on) == "2026-03-02"
    assert loaded.balance("Assets:Receivable") == 0


def test_cancel_pending_by_requester_withdraws():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Typo"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "withdrawn"
    assert loaded.balance("Assets:Receivable") == 0


def test_cancel_approved_withdraws():
    text = (request("ADJ-B", "2026-03-01", "-100.00", type="billing:discount",
                    extra='invoice: "INV-1"')
            + '2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
              '  Assets:Receivable:Customers  500.00 USD\n  Income:Sales\n'
            + event("ADJ-B", "2026-03-02", "approve", "bob")
            + event("ADJ-B", "2026-03-03", "cancel", "carol", reason="Wrong invoice"))
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-B") == "withdrawn"
    assert loaded.balance("Assets:Receivable") == 500
    assert loaded.tagged("adjustment", "ADJ-B") == []
    assert loaded.tagged("adjustment-reversal", "ADJ-B") == []


def test_cancel_applied_asks_for_an_approved_reversal():
    asked = (request("ADJ-1", "2026-03-01", "-50.00")
             + event("ADJ-1", "2026-03-02", "approve", "bob")
             + event("ADJ-1", "2026-03-09", "cancel", "carol", reason="Shipped instead"))
    pending = load(asked)
    assert pending.errors == []
    adj = pending.adj("ADJ-1")
    assert adj.state == "reversing"
    assert adj.reversal_chain == ("manager",)
    assert adj.next_role == "manager"
    assert pending.balance("Assets:Receivable") == -50
    assert pending.tagged("adjustment-reversal", "ADJ-1") == []

    loaded = load(asked + event("ADJ-1", "2026-03-10", "approve", "erin"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "reversed"
    assert str(adj.reversed_on) == "2026-03-10"
    assert [a.by for a in adj.reversal_approvals] == ["erin"]
    assert loaded.balance("Assets:Receivable") == 0
    assert len(loaded.tagged("adjustment", "ADJ-1")) == 1
    assert len(loaded.tagged("adjustment-reversal", "ADJ-1")) == 1


def test_history_records_every_event_in_order():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + event("ADJ-1", "2026-03-02", "approve", "alice")
                  + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-09", "cancel", "carol", reason="Shipped instead"))
    history = loaded.adj("ADJ-1").history
    assert [(str(r.event.action), r.event.by, r.accepted) for r in history] == [
        ("approve", "alice", False), ("approve", "bob", True), ("cancel", "carol", True)]


def test_on_one_day_requests_and_events_happen_in_ledger_order():
    # Ledger order, not "requests first": an approval written above its request
    # on the same day is before it.
    loaded = load(event("ADJ-1", "2026-03-01", "approve", "bob")
                  + request("ADJ-1", "2026-03-01", "-50.00"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "event-before-request")]
    assert loaded.state("ADJ-1") == "pending"
    ordered = load(request("ADJ-1", "2026-03-01", "-50.00")
                   + event("ADJ-1", "2026-03-01", "approve", "bob"))
    assert ordered.errors == []
    assert ordered.state("ADJ-1") == "applied"


# -- misfits --------------------------------------------------------------------

PENDING_50 = request("ADJ-1", "2026-03-01", "-50.00")
PENDING_1500 = request("ADJ-1", "2026-03-01", "-1500.00")
APPLIED_50 = PENDING_50 + event("ADJ-1", "2026-03-02", "approve", "bob")
REJECTED_50 = PENDING_50 + event("ADJ-1", "2026-03-02", "reject", "bob", reason="No")
WITHDRAWN_50 = PENDING_50 + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Oops")
REVERSING_50 = APPLIED_50 + event("ADJ-1", "2026-03-03", "cancel", "bob", reason="Oops")
REVERSED_50 = REVERSING_50 + event("ADJ-1", "2026-03-03", "approve", "erin")
INVOICE = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
           '  Assets:Receivable:Customers  500.00 USD\n  Income:Sales\n')
PENDING_BILLING = INVOICE + request("ADJ-1", "2026-03-01", "-100.00", type="billing:discount",
                                    extra='invoice: "INV-1"')

MISFITS = {
    # name: (setup, misfit event, code, state after)
    "approve-after-reject": (
        REJECTED_50, event("ADJ-1", "2026-03-05", "approve", "erin"),
        "invalid-transition", "rejected"),
    "reject-after-reject": (
        REJECTED_50, event("ADJ-1", "2026-03-05", "reject", "erin", reason="Again"),
        "invalid-transition", "rejected"),
    "cancel-after-reject": (
        REJECTED_50, event("ADJ-1", "2026-03-05", "cancel", "alice", reason="x"),
        "invalid-transition", "rejected"),
    "cancel-twice-withdrawn": (
        WITHDRAWN_50, event("ADJ-1", "2026-03-05", "cancel", "alice", reason="Again"),
        "invalid-transition", "withdrawn"),
    "approve-after-withdrawn": (
        WITHDRAWN_50, event("ADJ-1", "2026-03-05", "approve", "bob"),
        "invalid-transition", "withdrawn"),
    "cancel-twice-reversed": (
        REVERSED_50, event("ADJ-1", "2026-03-05", "cancel", "carol", reason="Again"),
        "invalid-transition", "reversed"),
    "cancel-twice-reversing": (
        REVERSING_50, event("ADJ-1", "2026-03-05", "cancel", "carol", reason="Again"),
        "invalid-transition", "reversing"),
    "requester-approves-reversal": (
        REVERSING_50, event("ADJ-1", "2026-03-05", "approve", "alice"),
        "self-approval", "reversing"),
    "canceller-approves-reversal": (
        REVERSING_50, event("ADJ-1", "2026-03-05", "approve", "bob"),
        "self-approval", "reversing"),
    "reversal-approved-without-the-role": (
        REVERSING_50, event("ADJ-1", "2026-03-05", "approve", "carol"),
        "missing-role", "reversing"),
    "apply-while-reversing": (
        REVERSING_50, event("ADJ-1", "2026-03-05", "apply", "carol"),
        "invalid-transition", "reversing"),
    "approve-after-reversed": (
        REVERSED_50, event("ADJ-1", "2026-03-05", "approve", "bob"),
        "invalid-transition", "reversed"),
    "approve-after-applied": (
        APPLIED_50, event("ADJ-1", "2026-03-05", "approve", "erin"),
        "invalid-transition", "applied"),
    "reject-after-applied": (
        APPLIED_50, event("ADJ-1", "2026-03-05", "reject", "erin", reason="Too late"),
        "invalid-transition", "applied"),
    "apply-before-approval": (
        PENDING_BILLING, event("ADJ-1", "2026-03-05", "apply", "bob"),
        "invalid-transition", "pending"),
    "apply-pending-non-separate": (
        PENDING_50, event("ADJ-1", "2026-03-05", "apply", "bob"),
        "invalid-transition", "pending"),
    "apply-on-type-without-separate-apply": (
        APPLIED_50, event("ADJ-1", "2026-03-05", "apply", "carol"),
        "invalid-transition", "applied"),
    "apply-twice-separate": (
        PENDING_BILLING + event("ADJ-1", "2026-03-02", "approve", "bob")
        + event("ADJ-1", "2026-03-03", "apply", "bob"),
        event("ADJ-1", "2026-03-05", "apply", "bob"), "invalid-transition", "applied"),
    "self-approval": (
        request("ADJ-1", "2026-03-01", "-50.00", by="bob"),
        event("ADJ-1", "2026-03-02", "approve", "bob"), "self-approval", "pending"),
    "self-rejection": (
        request("ADJ-1", "2026-03-01", "-50.00", by="bob"),
        event("ADJ-1", "2026-03-02", "reject", "bob", reason="Mine"),
        "self-rejection", "pending"),
    "same-person-two-levels": (
        PENDING_1500 + event("ADJ-1", "2026-03-02", "approve", "erin"),
        event("ADJ-1", "2026-03-03", "approve", "erin"), "same-approver", "pending"),
    "missing-role-first-level": (
        PENDING_50, event("ADJ-1", "2026-03-02", "approve", "carol"), "missing-role", "pending"),
    "missing-role-second-level": (
        PENDING_1500 + event("ADJ-1", "2026-03-02", "approve", "erin"),
        event("ADJ-1", "2026-03-03", "approve", "bob"), "missing-role", "pending"),
    "agent-cannot-approve": (
        PENDING_50, event("ADJ-1", "2026-03-02", "approve", "frank"), "missing-role", "pending"),
    "reject-without-chain-role": (
        PENDING_50, event("ADJ-1", "2026-03-02", "reject", "frank", reason="No"),
        "missing-role", "pending"),
    "cancel-by-stranger": (
        PENDING_50, event("ADJ-1", "2026-03-02", "cancel", "frank", reason="No"),
        "missing-role", "pending"),
    "over-limit": (
        PENDING_1500, event("ADJ-1", "2026-03-02", "approve", "bob"), "over-limit", "pending"),
    "unknown-id": (
        PENDING_50, event("ADJ-404", "2026-03-02", "approve", "bob"), "unknown-id", "pending"),
    "unknown-user": (
        PENDING_50, event("ADJ-1", "2026-03-02", "approve", "mallory"), "unknown-user",
        "pending"),
    "event-before-request": (
        PENDING_50, event("ADJ-1", "2026-02-28", "approve", "bob"), "event-before-request",
        "pending"),
    "approve-missing-by": (
        PENDING_50, event("ADJ-1", "2026-03-02", "approve"), "missing-identity", "pending"),
    "approve-empty-by": (
        PENDING_50, event("ADJ-1", "2026-03-02", "approve", ""), "bad-metadata", "pending"),
    "reject-missing-reason": (
        PENDING_50, event("ADJ-1", "2026-03-02", "reject", "bob"), "missing-reason", "pending"),
    "cancel-missing-reason": (
        APPLIED_50, event("ADJ-1", "2026-03-05", "cancel", "bob"), "missing-reason", "applied"),
    "unknown-action": (
        PENDING_50, event("ADJ-1", "2026-03-02", "accept", "bob"), "unknown-action", "pending"),
    "event-one-value": (
        PENDING_50, '2026-03-02 custom "adjustment" "ADJ-1"\n  by: "bob"\n',
        "malformed-directive", "pending"),
    "event-three-values": (
        PENDING_50, '2026-03-02 custom "adjustment" "ADJ-1" "approve" "now"\n  by: "bob"\n',
        "malformed-directive", "pending"),
    "event-number-id": (
        PENDING_50, '2026-03-02 custom "adjustment" 42 "approve"\n  by: "bob"\n',
        "malformed-directive", "pending"),
    "event-amount-action": (
        PENDING_50, '2026-03-02 custom "adjustment" "ADJ-1" 10.00 USD\n  by: "bob"\n',
        "malformed-directive", "pending"),
    "event-by-number": (
        PENDING_50, '2026-03-02 custom "adjustment" "ADJ-1" "approve"\n  by: 12\n',
        "bad-metadata", "pending"),
}


def _without_position(entries: list[data.Directive]) -> list[str]:
    return [printer.format_entry(e) for e in entries]


@pytest.mark.parametrize("name", list(MISFITS))
def test_misfit_is_an_error_at_the_event_line_and_has_no_effect(name: str):
    setup, misfit, code, state = MISFITS[name]
    before = load(setup)
    after = load(setup + misfit)
    misfit_line = len(before.text.splitlines()) + 1
    assert after.line(misfit.splitlines()[0]) == misfit_line or misfit.count("\n") > 0

    assert before.errors == [], before.codes
    assert (misfit_line, code) in after.codes
    # Only errors from the misfit line (a missing `by:` may also fail as bad-metadata).
    assert {line for line, _ in after.codes} == {misfit_line}
    for error in after.errors:
        assert error.source["filename"] == "<string>"
        assert isinstance(error.source["lineno"], int)

    assert before.book is not None
    assert after.book is not None
    assert {k: str(a.state) for k, a in after.book.adjustments.items()} == {
        k: str(a.state) for k, a in before.book.adjustments.items()}
    assert after.state("ADJ-1") == state
    assert after.adj("ADJ-1").approvals == before.adj("ADJ-1").approvals
    misfit_entry = [e for e in after.entries if e.meta.get("lineno") == misfit_line]
    kept = [e for e in after.entries if e.meta.get("lineno") != misfit_line]
    assert len(misfit_entry) == 1
    assert _without_position(kept) == _without_position(before.entries)
    assert after.balance("Assets:Receivable") == before.balance("Assets:Receivable")


def test_misfit_error_messages_name_the_problem():
    loaded = load(REJECTED_50 + event("ADJ-1", "2026-03-05", "approve", "erin"))
    [error] = loaded.errors
    assert "ADJ-1" in error.message
    assert "rejected" in error.message
    assert error.entry is not None
    assert isinstance(error.entry, data.Custom)


def test_refused_event_is_recorded_in_history():
    loaded = load(PENDING_1500 + event("ADJ-1", "2026-03-02", "approve", "bob"))
    [record] = loaded.adj("ADJ-1").history
    assert record.accepted is False
    assert "limit" in record.note


def test_events_on_an_invalid_request_are_ignored_quietly():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00", customer="nobody")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-customer")]
    adj = loaded.adj("ADJ-1")
    assert adj.state == "invalid"
    assert [r.accepted for r in adj.history] == [False]
    assert loaded.balance("Assets:Receivable") == 0


def test_misfit_after_refused_event_does_not_block_later_good_events():
    loaded = load(PENDING_1500
                  + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-02", "approve", "erin")
                  + event("ADJ-1", "2026-03-03", "approve", "erin")
                  + event("ADJ-1", "2026-03-04", "approve", "carol"))
    assert [code for _, code in loaded.codes] == ["over-limit", "same-approver"]
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").approvers == ("erin", "carol")


def test_requester_may_cancel_applied_and_manager_may_cancel():
    for who in ("alice", "erin"):
        loaded = load(APPLIED_50 + event("ADJ-1", "2026-03-05", "cancel", who, reason="r"))
        assert loaded.errors == []
        assert loaded.state("ADJ-1") == "reversing"
        assert loaded.adj("ADJ-1").cancelled_by == who
