"""Controls that hold: each attempt seen to get money out without the approvals.

Every test writes the ledger as the tools write it (decisions carry `at:`,
`digest:`, `chain:` and, where a price converted the amount, `judged:`), then
makes the edit an attacker made, and checks that nothing is booked without
the approvals the policy asks for and that `bean-check` is not clean.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from sample_ledgers import DEBIT_ROWS

from beancount_adjustments import plugin
from beancount_adjustments.core.models import Action
from ledgers import BASE, as_written, block, decided, event, load, request, with_settings


def booked(loaded, adj_id: str) -> bool:
    return bool(loaded.tagged("adjustment", adj_id))


# -- an approval binds to everything it was judged on ------------------------------

GOODWILL_ROW = block("""
    2026-01-01 custom "adjustment-approval" "credit:*" 1000.00 USD "manager" "finance" "cfo"
      category: "customer-service:goodwill"
""")
GOODWILL = request("ADJ-1", "2026-03-01", "-5000.00", type="credit:goodwill",
                   account="Expenses:Goodwill",
                   extra='category: "customer-service:goodwill"')


def _approved_by_three(text: str) -> str:
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "erin")
    text += decided(text, "ADJ-1", "2026-03-03", "approve", "carol")
    return text + decided(text, "ADJ-1", "2026-03-04", "approve", "dave")


def test_approvals_given_to_a_three_level_chain_hold():
    loaded = load(_approved_by_three(GOODWILL_ROW + GOODWILL))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").chain == ("manager", "finance", "cfo")


def test_moving_the_category_after_approval_books_nothing():
    # One approval was given to the three-level chain; moving the category would
    # make that one approval enough.
    text = GOODWILL_ROW + GOODWILL
    first = decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    moved = text.replace('category: "customer-service:goodwill"',
                         'category: "operational:billing-error"')
    loaded = load(moved.replace("-5000.00", "-500.00").replace("5000.00", "500.00") + first)
    assert not booked(loaded, "ADJ-1")
    assert loaded.state("ADJ-1") == "pending"
    assert (loaded.line('"ADJ-1" "approve"'), "stale-approval") in loaded.codes


def test_an_approval_records_the_chain_and_goes_stale_when_the_chain_changes():
    # No digest to catch it (a hand-written approval), but the chain it was given to.
    text = GOODWILL_ROW + GOODWILL
    by_hand = event("ADJ-1", "2026-03-02", "approve", "erin", chain="manager")
    loaded = load(text + by_hand)
    adj = loaded.adj("ADJ-1")
    assert adj.level == 0
    assert adj.history[0].stale
    # It completed the chain it was given to, so it booked the adjustment: an error.
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "stale-approval")]
    assert not booked(loaded, "ADJ-1")


def test_removing_a_risk_flag_after_approval_books_nothing():
    rows = block("""
        2026-01-01 custom "adjustment-approval" "credit:*" 1000.00 USD "manager" "finance" "cfo"
          risk: "vip-review"
    """)
    flagged = request("ADJ-1", "2026-03-01", "-5000.00", extra='risk: "vip-review"')
    text = rows + flagged
    approval = decided(text, "ADJ-1", "2026-03-02", "approve", "erin")
    approval += decided(text + approval, "ADJ-1", "2026-03-03", "approve", "carol")
    unflagged = text.replace('  risk: "vip-review"\n  customer', '  customer')
    unflagged = rows + flagged.replace('  risk: "vip-review"\n', "")
    loaded = load(unflagged + approval)
    assert loaded.adj("ADJ-1").chain == ("manager", "finance")
    assert not booked(loaded, "ADJ-1")
    assert "stale-approval" in loaded.code_set


def test_moving_the_request_date_before_a_stricter_row_books_nothing():
    rows = '2026-03-01 custom "adjustment-approval" "credit:*" 1000.00 USD "manager"\n'
    text = rows + request("ADJ-1", "2026-03-05", "-5000.00")
    approval = decided(text, "ADJ-1", "2026-03-06", "approve", "erin")
    assert load(text + approval).state("ADJ-1") == "applied"
    earlier = text.replace("2026-03-05 !", "2026-02-27 !")  # before the laxer row
    loaded = load(earlier + approval)
    assert loaded.adj("ADJ-1").chain == ("manager", "finance")
    assert not booked(loaded, "ADJ-1")


def test_a_back_dated_row_makes_the_approval_stale():
    text = request("ADJ-1", "2026-03-05", "-50.00")
    approval = decided(text, "ADJ-1", "2026-03-06", "approve", "bob")
    stricter = '2026-02-01 custom "adjustment-approval" "credit:refund" 0.00 USD "manager" "cfo"\n'
    loaded = load(stricter + text + approval)
    assert loaded.adj("ADJ-1").chain == ("manager", "cfo")
    assert not booked(loaded, "ADJ-1")
    assert "stale-approval" in loaded.code_set


def test_a_signature_policy_added_for_the_request_date_is_enforced():
    text = request("ADJ-1", "2026-03-05", "-50.00")
    approval = decided(text, "ADJ-1", "2026-03-06", "approve", "bob")
    policy = '2026-03-01 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
    loaded = load(policy + text + approval)
    assert not booked(loaded, "ADJ-1")
    assert "unsigned-approval" in loaded.code_set


def test_editing_an_applied_requests_effective_or_invoice_is_an_error():
    invoice = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  500.00 USD\n'
               '  Income:Sales\n'
               '2026-02-02 * "cust_456" "Invoice"\n  invoice-id: "INV-2"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  500.00 USD\n'
               '  Income:Sales\n')
    text = invoice + request("ADJ-1", "2026-03-01", "-50.00",
                             extra='effective: 2026-03-10\ninvoice: "INV-1"')
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    assert load(text).errors == []
    for edit in (("effective: 2026-03-10", "effective: 2026-04-30"),
                 ('  invoice: "INV-1"\n  Income', '  invoice: "INV-2"\n  Income')):
        edited = load(text.replace(*edit))
        assert edited.text != load(text).text
        assert not booked(edited, "ADJ-1"), edit
        assert "stale-approval" in edited.code_set


# -- a price or a risk setting changed afterwards -----------------------------------

EUR = block("""
    2026-01-01 commodity EUR
    2026-02-01 price EUR 1.08 USD
""")
BIG_EUR = request("ADJ-1", "2026-03-01", "-9000000.00", currency="EUR")


def test_a_price_added_later_cannot_make_a_large_credit_small():
    text = as_written(EUR + BIG_EUR, "ADJ-1")
    written = load(text)
    assert written.errors == []
    assert written.adj("ADJ-1").chain == ("manager", "finance", "cfo")
    assert written.adj("ADJ-1").judged.number == Decimal("9720000.0000")
    # Someone adds a price dated before the request: 9,000,000 EUR "is" 9 USD.
    later = text.replace("2026-02-01 price EUR 1.08 USD",
                         "2026-02-01 price EUR 1.08 USD\n2026-02-28 price EUR 0.000001 USD")
    loaded = load(later)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "stale-price")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable", "EUR") == 0


def test_an_approval_records_the_converted_amount_it_was_shown():
    text = EUR + request("ADJ-1", "2026-03-01", "-500.00", currency="EUR")
    approval = decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    assert "judged: 540.0000 USD" in approval
    assert load(text + approval).state("ADJ-1") == "applied"
    repriced = text.replace("price EUR 1.08 USD", "price EUR 1.10 USD")
    loaded = load(repriced + approval)
    assert not booked(loaded, "ADJ-1")
    assert "stale-approval" in loaded.code_set


def test_turning_off_a_risk_check_after_the_fact_books_nothing():
    rows = block("""
        2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager" "cfo"
          risk: "duplicates"
    """)
    first = request("ADJ-0", "2026-03-01", "-40.00")
    second = request("ADJ-1", "2026-03-02", "-40.00")
    text = as_written(rows + first + second, "ADJ-1")
    written = load(text)
    assert written.adj("ADJ-1").chain == ("manager", "cfo")
    assert written.errors == []
    off = '2026-01-01 custom "adjustment-risk" "duplicates"\n  enabled: FALSE\n'
    loaded = load(off + text)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "stale-chain")]
    assert not booked(loaded, "ADJ-1")


def test_a_back_dated_row_cannot_silently_unbook_a_booked_adjustment():
    text = as_written(request("ADJ-1", "2026-03-01", "-10.00"), "ADJ-1")
    assert load(text).state("ADJ-1") == "applied"
    row = '2026-02-01 custom "adjustment-approval" "credit:*" 0.00 USD "cfo"\n'
    loaded = load(row + text)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "stale-chain")]


# -- reversals are approved ---------------------------------------------------------

BIG_DEBIT = request("ADJ-1", "2026-03-01", "41416.00", type="debit:correction",
                    account="Income:Sales", by="frank")
def _applied_debit() -> str:
    text = DEBIT_ROWS + BIG_DEBIT
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "erin")
    text += decided(text, "ADJ-1", "2026-03-03", "approve", "carol")
    return text + decided(text, "ADJ-1", "2026-03-04", "approve", "dave")


def test_the_requester_alone_cannot_reverse_an_applied_adjustment():
    text = _applied_debit()
    text += decided(text, "ADJ-1", "2026-03-10", "cancel", "frank", reason="Oops")
    loaded = load(text)
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.state == "reversing"
    assert adj.reversal_chain == ("manager", "finance", "cfo")
    assert loaded.tagged("adjustment-reversal", "ADJ-1") == []
    assert loaded.balance("Assets:Receivable") == Decimal("41416.00")
    # The requester (and the canceller) cannot approve the reversal.
    tried = load(text + decided(text, "ADJ-1", "2026-03-11", "approve", "frank"))
    assert "self-approval" in tried.code_set
    assert tried.state("ADJ-1") == "reversing"


def test_a_reversal_needs_the_whole_chain_and_is_dated_at_its_last_approval():
    text = _applied_debit()
    text += decided(text, "ADJ-1", "2026-03-10", "cancel", "erin", reason="Wrong customer")
    canceller = load(text + decided(text, "ADJ-1", "2026-03-11", "approve", "erin"))
    assert "self-approval" in canceller.code_set
    over = load(text + decided(text, "ADJ-1", "2026-03-11", "approve", "bob"))
    assert "over-limit" in over.code_set  # limits hold for reversals too
    text += decided(text, "ADJ-1", "2026-03-11", "approve", "gina")
    text += decided(text, "ADJ-1", "2026-03-12", "approve", "carol")
    assert load(text).state("ADJ-1") == "reversing"
    text += decided(text, "ADJ-1", "2026-03-13", "approve", "dave")
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversed"
    [reversal] = loaded.tagged("adjustment-reversal", "ADJ-1")
    assert str(reversal.date) == "2026-03-13"
    assert loaded.balance("Assets:Receivable") == 0


def test_a_rejected_reversal_leaves_the_adjustment_applied():
    text = _applied_debit()
    text += decided(text, "ADJ-1", "2026-03-10", "cancel", "frank", reason="Oops")
    text += decided(text, "ADJ-1", "2026-03-11", "reject", "bob", reason="It was right")
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.balance("Assets:Receivable") == Decimal("41416.00")


def test_withdrawing_what_moved_nothing_needs_no_approval():
    text = DEBIT_ROWS + BIG_DEBIT
    loaded = load(text + decided(text, "ADJ-1", "2026-03-02", "cancel", "frank", reason="r"))
    assert loaded.state("ADJ-1") == "withdrawn"


# -- no back-dating -----------------------------------------------------------------

def test_an_approval_dated_before_the_role_was_removed_does_not_count():
    removed = '2026-03-10 custom "adjustment-user" "erin" "agent"\n'
    text = request("ADJ-1", "2026-03-01", "-50.00")
    backdated = decided(text, "ADJ-1", "2026-03-05", "approve", "erin",
                        at="2026-03-12T09:00:00+01:00")
    loaded = load(removed + text + backdated)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "backdated")]
    assert not booked(loaded, "ADJ-1")


def test_backdate_days_allows_what_the_policy_says():
    policy = '2026-01-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 7\n'
    text = policy + request("ADJ-1", "2026-03-01", "-50.00")
    within = decided(text, "ADJ-1", "2026-03-05", "approve", "bob", at="2026-03-12T09:00:00+01:00")
    assert load(text + within).state("ADJ-1") == "applied"
    beyond = decided(text, "ADJ-1", "2026-03-04", "approve", "bob", at="2026-03-12T09:00:00+01:00")
    assert "backdated" in load(text + beyond).code_set


def test_an_effect_inside_a_period_closed_when_the_decision_was_written_is_refused():
    lock = '2026-03-08 custom "adjustment-lock" 2026-03-07\n'
    policy = '2026-01-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 30\n'
    text = lock + policy + request("ADJ-1", "2026-03-01", "-50.00")
    late = decided(text, "ADJ-1", "2026-03-05", "approve", "bob", at="2026-03-09T09:00:00+01:00")
    loaded = load(text + late)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "closed-period")]
    assert not booked(loaded, "ADJ-1")


def test_hand_written_events_without_at_stay_valid_unless_the_policy_requires_it():
    text = request("ADJ-1", "2026-03-01", "-50.00")
    by_hand = event("ADJ-1", "2026-03-02", "approve", "bob")
    assert load(text + by_hand).state("ADJ-1") == "applied"
    policy = '2026-01-01 custom "adjustment-policy" "*"\n  require-at: TRUE\n'
    loaded = load(policy + text + by_hand)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "missing-at")]


# -- the amount judged is what the request moves --------------------------------------

def test_legs_that_cancel_on_the_receivable_do_not_hide_a_large_posting():
    text = block("""
        2026-01-01 open Assets:Receivable:Other
        2026-03-01 ! "cust_456" "Small fix" ^ADJ-1
          adjustment-type: "credit:account"
          customer: "cust_456"
          reason: "Small fix"
          requested-by: "alice"
          Assets:Receivable:Customers  -5000.00 USD
          Assets:Receivable:Other       4990.00 USD
          Expenses:Goodwill               10.00 USD
    """)
    loaded = load(text)
    adj = loaded.adj("ADJ-1")
    assert adj.amount.number == Decimal("5000.00")
    assert adj.chain == ("manager", "finance")
    assert adj.state == "pending"
    assert not booked(loaded, "ADJ-1")


# -- who entered a request is a requester ---------------------------------------------

def test_who_entered_a_request_cannot_approve_it():
    text = request("ADJ-1", "2026-03-01", "-50.00", extra='entered-by: "bob"')
    loaded = load(text + decided(text, "ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "self-approval")]
    assert not booked(loaded, "ADJ-1")


# -- fail safe -------------------------------------------------------------------------

def test_a_row_with_a_typo_in_its_pattern_or_role_is_a_warning_at_the_row():
    rows = block("""
        2026-01-01 custom "adjustment-approval" "crdit:*" 0.00 USD "manager"
        2026-01-01 custom "adjustment-approval" "debit:fee" 0.00 USD "manger"
    """)
    loaded = load(rows)
    warnings = {(w.source.lineno, w.code) for w in loaded.book.warnings}
    assert warnings == {(loaded.line('"crdit:*"'), "unknown-pattern"),
                        (loaded.line('"manger"'), "unheld-role")}


def test_unknown_types_and_categories_are_errors_unless_declared():
    text = request("ADJ-1", "2026-03-01", "-50.00", type="credit:courtesy",
                   extra='category: "ops:one-off"')
    loaded = load(text)
    assert {code for _, code in loaded.codes} == {"unknown-type", "unknown-category"}
    assert loaded.state("ADJ-1") == "invalid"
    declared = load('2026-01-01 custom "adjustment-type" "credit:courtesy"\n'
                    '2026-01-01 custom "adjustment-category" "ops:one-off"\n' + text)
    assert declared.errors == []
    assert declared.state("ADJ-1") == "pending"


# -- same-day order ---------------------------------------------------------------------

def test_a_request_filed_later_the_same_day_is_blamed_not_the_earlier_approval():
    invoice = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  100.00 USD\n'
               '  Income:Sales\n')
    first = request("ADJ-1", "2026-03-01", "-80.00", extra='invoice: "INV-1"')
    text = invoice + first
    text += decided(text, "ADJ-1", "2026-03-01", "approve", "bob")
    text += request("ADJ-2", "2026-03-01", "-20.01", extra='invoice: "INV-1"')
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied"
    [(line, code)] = loaded.codes
    assert code == "exceeds-invoice"
    assert line == loaded.line("^ADJ-2")


# -- fail closed --------------------------------------------------------------------------

def test_an_internal_failure_books_nothing_and_names_the_entry(monkeypatch):
    text = request("ADJ-1", "2026-03-01", "-10.00") + request("ADJ-2", "2026-03-02", "-50.00")
    text += event("ADJ-2", "2026-03-03", "approve", "bob")
    original = plugin.replay

    def broken(*args, **kwargs):
        from beancount_adjustments.core.replay import Replay
        real_handle = Replay.handle

        def handle(self, event):
            raise RuntimeError("boom")
        monkeypatch.setattr(Replay, "handle", handle)
        try:
            return original(*args, **kwargs)
        finally:
            monkeypatch.setattr(Replay, "handle", real_handle)

    monkeypatch.setattr(plugin, "replay", broken)
    loaded = load(text)
    [error] = loaded.errors
    assert "failed internally" in error.message
    assert error.source["lineno"] == loaded.line('"ADJ-2" "approve"')
    assert loaded.balance("Assets:Receivable") == 0
    assert not [e for e in loaded.tagged("adjustment-request") if e.postings]


# -- site checks --------------------------------------------------------------------------

CHECKED = with_settings("{'checks': ['plugins.require_ticket.check']}")


def test_the_checks_setting_runs_on_every_request():
    text = CHECKED + "\n" + request("ADJ-1", "2026-03-01", "-600.00") + request(
        "ADJ-2", "2026-03-01", "-600.00", extra='ticket: "TCK-1"') + request(
        "ADJ-3", "2026-03-01", "-10.00")
    loaded = load(text, base=False)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "check-failed")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.state("ADJ-2") == "pending"
    assert loaded.state("ADJ-3") == "applied"


def test_a_check_that_cannot_be_loaded_books_nothing():
    text = with_settings("{'checks': ['no.such.check']}")
    loaded = load(text + "\n" + request("ADJ-1", "2026-03-01", "-10.00"), base=False)
    assert "check-failed" in loaded.code_set
    assert any("cannot be loaded" in e.message for e in loaded.errors)
    assert loaded.balance("Assets:Receivable") == 0


# -- the writer judges as the plugin does -------------------------------------------------

def _ledger_file(tmp_path, text: str):
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def test_the_writer_runs_the_sites_checks_too(tmp_path):
    from beancount_adjustments.writer import NewRequest, WriteRefused, write_requests
    path = _ledger_file(tmp_path, CHECKED)
    before = path.read_text()
    big = NewRequest(type="credit:refund", customer="cust_456", requested_by="alice",
                     reason="Refund", postings=(("Income:Sales:Returns", Decimal(600), "USD"),
                                                ("Assets:Receivable:Customers",
                                                 Decimal(-600), "USD")),
                     date=datetime.date(2026, 3, 1))
    with pytest.raises(WriteRefused, match="check-failed"):
        write_requests(path, [big], now=datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC))
    assert path.read_text() == before


def test_the_writer_refuses_what_it_cannot_judge(tmp_path, monkeypatch):
    from beancount_adjustments import writer
    from beancount_adjustments.core.replay import Replay
    path = _ledger_file(tmp_path, BASE + "\n" + request("ADJ-1", "2026-03-01", "-50.00"))
    before = path.read_text()

    def broken(self, event):
        raise RuntimeError("boom")

    monkeypatch.setattr(Replay, "handle", broken)
    decision = writer.Decision("ADJ-1", Action.APPROVE, by="bob",
                               date=datetime.date(2026, 3, 2))
    with pytest.raises(writer.WriteRefused, match="cannot be judged"):
        writer.write_decisions(path, [decision],
                               now=datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC))
    assert path.read_text() == before


def test_the_writer_refuses_a_ledger_the_plugin_cannot_judge(tmp_path, monkeypatch):
    from beancount_adjustments import writer
    from beancount_adjustments.core.replay import Replay
    text = BASE + "\n" + request("ADJ-1", "2026-03-01", "-50.00") + event(
        "ADJ-1", "2026-03-02", "approve", "bob")
    path = _ledger_file(tmp_path, text)

    def broken(self, event):
        raise RuntimeError("boom")

    monkeypatch.setattr(Replay, "handle", broken)
    decision = writer.Decision("ADJ-1", Action.CANCEL, by="alice", reason="r",
                               date=datetime.date(2026, 3, 3))
    line = text.splitlines().index('2026-03-02 custom "adjustment" "ADJ-1" "approve"') + 1
    with pytest.raises(writer.WriteRefused, match=f"failed internally at {path}:{line}"):
        writer.write_decisions(path, [decision])
    assert path.read_text() == text


def test_a_decision_binds_to_the_digest_the_decider_was_shown(tmp_path):
    from beancount_adjustments import writer
    shown = request("ADJ-1", "2026-03-01", "-30.00")
    path = _ledger_file(tmp_path, BASE + "\n" + shown)
    seen = load(shown).adj("ADJ-1").digest
    # Edited (30 -> 990) between the page and the click, in whatever file.
    path.write_text(BASE + "\n" + shown.replace("30.00", "990.00"))
    before = path.read_text()
    decision = writer.Decision("ADJ-1", Action.APPROVE, by="erin", seen_digest=seen,
                               date=datetime.date(2026, 3, 2))
    with pytest.raises(writer.WriteRefused, match="changed since it was shown") as refused:
        writer.write_decisions(path, [decision],
                               now=datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC))
    assert refused.value.refusals[0].code == "changed"
    assert path.read_text() == before


def test_a_document_outside_the_ledgers_folder_is_refused_without_looking(tmp_path):
    (tmp_path / "books").mkdir()
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"x")
    for document in ("../secret.pdf", "../nothing-here.pdf", str(secret)):
        path = tmp_path / "books" / "main.beancount"
        path.write_text(BASE + "\n" + request("ADJ-1", "2026-03-01", "-50.00",
                                              extra=f'document: "{document}"'))
        from ledgers import load_file
        loaded = load_file(path)
        # The same answer whether the file exists or not.
        assert loaded.codes == [(loaded.line("^ADJ-1"), "document-outside")], document
        assert "exist" not in loaded.errors[0].message


def test_same_day_order_across_files_is_file_order_then_line(tmp_path):
    main = tmp_path / "main.beancount"
    decisions = tmp_path / "decisions.beancount"
    # The approval sits on line 1 of the included file, the request far down the
    # main file: Beancount's own order (by line) would put the approval first.
    decisions.write_text(event("ADJ-1", "2026-03-01", "approve", "bob"))
    main.write_text(BASE + 'include "decisions.beancount"\n' + "\n" * 40
                    + request("ADJ-1", "2026-03-01", "-50.00"))
    from ledgers import load_file
    loaded = load_file(main)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


def test_a_reversal_awaiting_approval_ages_from_when_it_was_asked():
    from beancount_adjustments.reports.queries import age_days, is_overdue
    policy = '2026-01-01 custom "adjustment-policy" "credit:*"\n  sla-days: 3\n'
    text = policy + request("ADJ-1", "2026-01-01", "-50.00")
    text += event("ADJ-1", "2026-01-02", "approve", "bob")
    text += event("ADJ-1", "2026-03-01", "cancel", "alice", reason="Wrong customer")
    adj = load(text).adj("ADJ-1")
    assert adj.state == "reversing"
    assert age_days(adj, datetime.date(2026, 3, 2)) == 1
    assert not is_overdue(adj, datetime.date(2026, 3, 2))
    assert is_overdue(adj, datetime.date(2026, 3, 10))


def test_approval_required_forces_a_review_below_every_threshold():
    small = request("ADJ-1", "2026-03-01", "-10.00")  # below the 25 USD manager row
    assert load(small).state("ADJ-1") == "applied"
    asked = request("ADJ-1", "2026-03-01", "-10.00", extra="approval-required: TRUE")
    loaded = load(asked)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "pending"
    assert loaded.adj("ADJ-1").chain == ("manager",)
    assert not booked(loaded, "ADJ-1")
    # Dropping the flag after the review was asked for changes the digest.
    assert load(small).adj("ADJ-1").digest != loaded.adj("ADJ-1").digest
    done = load(asked + decided(asked, "ADJ-1", "2026-03-02", "approve", "bob"))
    assert done.state("ADJ-1") == "applied"


def test_approval_required_with_no_role_to_review_is_an_error():
    text = block("""
        plugin "beancount_adjustments"
        2026-01-01 open Assets:Receivable:Customers
        2026-01-01 open Income:Sales:Returns
        2026-01-01 custom "adjustment-user" "alice" "agent"
        2026-01-01 custom "adjustment-customer" "cust_456" "standard"
        2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD
    """) + request("ADJ-1", "2026-03-01", "-10.00", extra="approval-required: TRUE")
    loaded = load(text, base=False)  # the only row for credits names no role
    assert loaded.codes == [(loaded.line("^ADJ-1"), "no-reviewer")]
    assert not booked(loaded, "ADJ-1")
    bad = load(request("ADJ-2", "2026-03-01", "-10.00", extra='approval-required: "yes"'))
    assert bad.codes == [(bad.line("^ADJ-2"), "bad-metadata")]
