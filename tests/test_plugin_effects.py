"""What the plugin puts in the ledger: request entries, applied and reversing
transactions, their tags, links and metadata, and the balances they move."""

from __future__ import annotations

import gc
import pickle
import re
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data, realization
from beancount.core.number import D
from sample_ledgers import EVERY_STATE, INVOICE_1

import beancount_adjustments
from ledgers import DEMO, block, event, load, request

# The state of each adjustment in EVERY_STATE.
STATES = {
    "ADJ-PEND": "pending", "ADJ-APPR": "approved", "ADJ-APPL": "applied",
    "ADJ-REJ": "rejected", "ADJ-WDR": "withdrawn", "ADJ-INV": "invalid",
    "ADJ-REV": "reversed", "ADJ-RVG": "reversing", "ADJ-AUTO": "applied",
}


@pytest.fixture(scope="module")
def every_state():
    loaded = load(EVERY_STATE)
    assert loaded.codes == [(loaded.line("^ADJ-INV"), "wrong-direction")]
    return loaded


def _realized(entries: list[data.Directive], account: str) -> Decimal:
    real = realization.realize(entries)
    node = realization.get(real, account)
    return node.balance.get_currency_units("USD").number


def test_states(every_state):
    assert {k: str(a.state) for k, a in every_state.book.adjustments.items()} == STATES


def test_only_applied_adjustments_move_balances(every_state):
    receivable = _realized(every_state.entries, "Assets:Receivable:Customers")
    # the reversing one is still on the books until its reversal is approved
    assert receivable == D("1000.00") - D("1500.00") - D("5.00") - D("30.00")
    assert _realized(every_state.entries, "Expenses:Goodwill") == D("1500.00")
    assert _realized(every_state.entries, "Income:Sales:Returns") == D("35.00")


def test_every_request_stays_visible_with_its_state(every_state):
    requests = every_state.tagged("adjustment-request")
    by_id = {next(iter(e.links)): e for e in requests}
    assert set(by_id) == set(STATES)
    for adj_id, state in STATES.items():
        entry = by_id[adj_id]
        assert entry.postings == []
        assert entry.meta["adjustment-state"] == state
        assert f"adjustment-{state}" in entry.tags
        assert "adjustment-request" in entry.tags
        assert entry.meta["lineno"] == every_state.line(f"^{adj_id}")
        attention = state in ("pending", "approved", "reversing", "invalid")
        assert entry.flag == ("!" if attention else "*"), (adj_id, entry.flag)
    assert by_id["ADJ-APPL"].meta["approved-by"] == "erin,carol"
    assert by_id["ADJ-APPL"].meta["adjustment-id"] == "ADJ-APPL"


def test_applied_entry(every_state):
    [applied] = every_state.tagged("adjustment", "ADJ-APPL")
    assert str(applied.date) == "2026-03-04"
    assert applied.flag == "*"
    assert "adjustment" in applied.tags
    assert "adjustment-request" not in applied.tags
    assert "adjustment-reversal" not in applied.tags
    assert "ADJ-APPL" in applied.links
    meta = applied.meta
    assert meta["adjustment-id"] == "ADJ-APPL"
    assert meta["adjustment-state"] == "applied"
    assert meta["adjustment-type"] == "credit:goodwill"
    assert meta["adjustment-category"] == "customer-service:goodwill"
    assert meta["customer"] == "cust_456"
    assert meta["requested-by"] == "alice"
    assert meta["approved-by"] == "erin,carol"
    # it points at the event that applied it
    assert meta["lineno"] == every_state.line('2026-03-04 custom "adjustment" "ADJ-APPL"')
    assert [(p.account, p.units.number, p.units.currency) for p in applied.postings] == [
        ("Expenses:Goodwill", D("1500.00"), "USD"),
        ("Assets:Receivable:Customers", D("-1500.00"), "USD")]


def test_automatic_entry_is_dated_at_the_request_and_points_at_it(every_state):
    [applied] = every_state.tagged("adjustment", "ADJ-AUTO")
    assert str(applied.date) == "2026-03-03"
    assert applied.meta["lineno"] == every_state.line("^ADJ-AUTO")
    assert "approved-by" not in applied.meta


def test_no_generated_entries_for_unapplied(every_state):
    for adj_id in ("ADJ-PEND", "ADJ-APPR", "ADJ-REJ", "ADJ-WDR", "ADJ-INV"):
        assert every_state.tagged("adjustment", adj_id) == []
        assert every_state.tagged("adjustment-reversal", adj_id) == []


def test_reversal_is_the_exact_negation(every_state):
    [applied] = every_state.tagged("adjustment", "ADJ-REV")
    [reversal] = every_state.tagged("adjustment-reversal", "ADJ-REV")
    assert str(applied.date) == "2026-03-02"
    assert str(reversal.date) == "2026-03-10"
    assert reversal.flag == "*"
    assert "ADJ-REV" in reversal.links
    assert "adjustment" not in reversal.tags
    assert reversal.meta["reverses"] == "ADJ-REV"
    assert reversal.meta["adjustment-state"] == "reversed"
    # it points at the approval that booked the reversal
    assert reversal.meta["lineno"] == every_state.line(
        '2026-03-10 custom "adjustment" "ADJ-REV" "approve"')
    assert [(p.account, -p.units) for p in applied.postings] == [
        (p.account, p.units) for p in reversal.postings]
    assert applied.meta["adjustment-state"] == "reversed"


def test_balances_after_reversal_equal_before():
    before = load(INVOICE_1)
    after = load(INVOICE_1 + request("ADJ-1", "2026-03-01", "-40.00", extra='invoice: "INV-1"')
                 + event("ADJ-1", "2026-03-02", "approve", "bob")
                 + event("ADJ-1", "2026-03-10", "cancel", "carol", reason="r")
                 + event("ADJ-1", "2026-03-10", "approve", "erin"))
    assert after.errors == []
    for account in ("Assets:Receivable:Customers", "Income:Sales"):
        assert _realized(after.entries, account) == _realized(before.entries, account)
    assert _realized(after.entries, "Income:Sales:Returns") == 0
    during = [e for e in after.entries if str(e.date) < "2026-03-10"]
    assert _realized(during, "Assets:Receivable:Customers") == D("960.00")


def test_effective_date_dates_the_applied_entry():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00", extra="effective: 2026-02-15")
                  + event("ADJ-1", "2026-03-05", "approve", "bob"))
    assert loaded.errors == []
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    assert str(applied.date) == "2026-02-15"
    adj = loaded.adj("ADJ-1")
    assert str(adj.applied_on) == "2026-03-05"
    assert str(adj.effective_date) == "2026-02-15"


def test_effective_on_the_approving_event_dates_a_request_without_one():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00")
                  + event("ADJ-1", "2026-03-05", "approve", "bob", effective="2026-03-20"))
    assert loaded.errors == []
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    assert str(applied.date) == "2026-03-20"
    # The request's own date was approved with it: another one on the event is refused
    # (tests/test_attacks_s12.py).
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00", extra="effective: 2026-02-15")
                  + event("ADJ-1", "2026-03-05", "approve", "bob", effective="2026-03-20"))
    assert loaded.code_set == {"effective-differs"}
    assert not loaded.tagged("adjustment", "ADJ-1")


def test_request_tags_and_links_carry_over():
    text = request("ADJ-1", "2026-03-01", "-50.00").replace(
        "^ADJ-1", "#promo ^ADJ-1")
    loaded = load(text + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-03", "cancel", "bob", reason="r")
                  + event("ADJ-1", "2026-03-03", "approve", "erin"))
    assert loaded.errors == []
    [request_entry] = loaded.tagged("adjustment-request")
    assert request_entry.tags == {"promo", "adjustment-request", "adjustment-reversed"}
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    [reversal] = loaded.tagged("adjustment-reversal", "ADJ-1")
    assert "promo" in applied.tags
    assert "promo" in reversal.tags


def test_elided_amount_is_filled_before_the_plugin():
    loaded = load(block("""
        2026-03-01 ! "cust_456" "Elided" ^ADJ-1
          adjustment-type: "credit:refund"
          customer: "cust_456"
          reason: "Elided"
          requested-by: "alice"
          Income:Sales:Returns  10.00 USD
          Assets:Receivable:Customers
    """))
    assert loaded.errors == []
    assert loaded.balance("Assets:Receivable") == -10


def test_generated_entries_are_checked_by_beancount_at_the_event_line():
    loaded = load(request("ADJ-1", "2026-03-01", "-50.00", account="Expenses:Nowhere")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    event_line = loaded.line('"ADJ-1" "approve"')
    assert loaded.errors, "the unopened account must be reported"
    assert {line for line, _ in loaded.codes} == {event_line}
    assert all(code is None for _, code in loaded.codes)   # Beancount's own error


def test_entries_are_sorted():
    loaded = load(EVERY_STATE)
    keys = [data.entry_sortkey(e) for e in loaded.entries]
    assert keys == sorted(keys)


def test_request_with_price_annotation_reverses_exactly():
    loaded = load('2026-02-01 price EUR 1.10 USD\n' + block("""
        2026-03-01 ! "cust_456" "Converted refund" ^ADJ-1
          adjustment-type: "credit:refund"
          customer: "cust_456"
          reason: "Converted"
          requested-by: "alice"
          Income:Sales:Returns          11.00 USD
          Assets:Receivable:Customers  -10.00 EUR @ 1.10 USD
    """) + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="r"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversed"
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    [reversal] = loaded.tagged("adjustment-reversal", "ADJ-1")
    assert [(-p.units, p.price) for p in applied.postings] == [
        (p.units, p.price) for p in reversal.postings]
    assert loaded.balance("Assets:Receivable", "EUR") == 0


def test_effects_are_placed_in_order_without_a_resort():
    """The plugin puts each generated entry after its cause (or, dated elsewhere
    by `effective:`, where it sorts), so its output is sorted as it comes."""
    text = DEMO.read_text(encoding="utf-8")
    plain, removed = re.subn(r'^plugin "beancount_adjustments".*\n', "", text, flags=re.M)
    assert removed == 1
    entries, errors, options_map = loader.load_string(plain)
    assert not errors
    out, plugin_errors = beancount_adjustments.adjustments(entries, options_map)
    assert not plugin_errors
    generated = [e for e in out if isinstance(e, data.Transaction)
                 and {"adjustment", "adjustment-reversal"} & e.tags]
    elsewhere = [e for e in generated if e.meta["adjustment-state"] in ("applied", "reversed")
                 and e.date != next(x.date for x in entries if x.meta["lineno"] == e.meta["lineno"]
                                    and x.meta["filename"] == e.meta["filename"])]
    assert generated
    assert elsewhere, "the demo should have effects dated by `effective:`"
    assert out == sorted(out, key=data.entry_sortkey)
    assert len(out) == len(entries) + len(generated)

    # The lazy book reads the same after a round trip through the loader's cache.
    book = beancount_adjustments.book_of(options_map)
    assert book is not None
    copy = pickle.loads(pickle.dumps(book))
    assert list(copy.adjustments) == list(book.adjustments)
    assert [copy.adjustments[k] for k in copy.adjustments] == list(book.adjustments.values())


GC_LEDGER = request("ADJ-GC", "2026-03-01", "-50.00") + event(
    "ADJ-GC", "2026-03-02", "approve", "bob")


def test_the_pass_leaves_the_collector_as_it_found_it():
    """The pass turns cyclic GC off while it runs and hands what it made to the
    oldest generation; it never keeps objects a host froze itself, nor freezes any."""
    text = GC_LEDGER
    assert gc.isenabled()
    load(text)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

    gc.freeze()  # as a pre-fork server would
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        load(text)
        # Not released, and nothing of the pass added (a frozen object the
        # loads drop leaves the permanent generation, so it may shrink a little).
        assert frozen - 100 <= gc.get_freeze_count() <= frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()

    gc.disable()  # a host that runs without the collector keeps it off
    try:
        load(text)
        assert not gc.isenabled()
    finally:
        gc.enable()
