"""Requests against the rest of the ledger: customers, direction, invoices,
orders, documents, period locks, currencies and digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from beancount_adjustments.core.digest import request_digest
from ledgers import BASE, block, event, load, load_file, request, with_settings

INVOICE = block("""
    2026-02-01 * "cust_456" "Invoice February"
      invoice-id: "INV-1"
      customer: "cust_456"
      Assets:Receivable:Customers  120.00 USD
      Income:Sales
    2026-02-02 * "cust_123" "Invoice VIP"
      invoice-id: "INV-VIP"
      customer: "cust_123"
      Assets:Receivable:Customers  300.00 USD
      Income:Sales
    2026-02-03 * "cust_456" "Invoice in euros"
      invoice-id: "INV-EUR"
      customer: "cust_456"
      Assets:Receivable:Customers  80.00 EUR
      Income:Sales
    2026-02-04 * "cust_456" "Order"
      order-id: "ORD-1"
      customer: "cust_456"
      Assets:Receivable:Customers  10.00 USD
      Income:Sales
""")


# -- who and which way ------------------------------------------------------------


def test_unknown_customer_is_invalid():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", customer="cust_999"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-customer")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable") == 0


def test_customer_declared_after_the_request_is_unknown():
    loaded = load('2026-04-01 custom "adjustment-customer" "late" "standard"\n'
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="late")
                  + request("ADJ-2", "2026-04-01", "-10.00", customer="late"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-customer")]
    assert loaded.state("ADJ-2") == "applied"


@pytest.mark.parametrize(("type_", "amount", "code"), [
    ("credit:refund", "10.00", "wrong-direction"),
    ("debit:fee", "-10.00", "wrong-direction"),
    ("credit:refund", "-10.00", None),
    ("debit:fee", "10.00", None),
])
def test_direction(type_: str, amount: str, code: str | None):
    loaded = load(request("ADJ-1", "2026-03-01", amount, type=type_, account="Income:Fees"))
    if code is None:
        assert loaded.errors == []
        assert loaded.state("ADJ-1") == "applied"
    else:
        assert loaded.codes == [(loaded.line("^ADJ-1"), code)]
        assert loaded.state("ADJ-1") == "invalid"
        assert loaded.balance("Assets:Receivable") == 0


@pytest.mark.parametrize("amount", ["10.00", "-10.00"])
def test_billing_may_go_either_way(amount: str):
    loaded = load(INVOICE + request("ADJ-1", "2026-03-01", amount, type="billing:tax",
                                    account="Liabilities:Tax", extra='invoice: "INV-1"'))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "approved"   # billing:* applies separately


def test_mixed_currencies_on_the_receivable():
    text = block("""
        2026-03-01 ! "cust_456" "Mixed" ^ADJ-1
          adjustment-type: "credit:refund"
          customer: "cust_456"
          reason: "Mixed"
          requested-by: "alice"
          Income:Sales:Returns         10.00 USD
          Assets:Receivable:Customers -10.00 USD
          Income:Sales:Returns         10.00 EUR
          Assets:Receivable:Customers -10.00 EUR
    """)
    loaded = load(text)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "mixed-currencies")]
    assert loaded.state("ADJ-1") == "invalid"


def test_no_receivable_effect():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", receivable="Expenses:Goodwill"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "no-customer-effect")]
    assert loaded.state("ADJ-1") == "invalid"


def test_receivable_setting_changes_the_root():
    text = with_settings("{'receivable': 'Expenses:Goodwill'}")
    loaded = load(text + request("ADJ-1", "2026-03-01", "-10.00",
                                 receivable="Expenses:Goodwill"), base=False)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


def test_duplicate_ids():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00")
                  + request("ADJ-1", "2026-03-02", "-20.00"))
    assert loaded.codes == [(loaded.line("^ADJ-1", 1), "duplicate-id")]
    assert loaded.adj("ADJ-1").amount.number == 10
    assert loaded.balance("Assets:Receivable") == -10
    # the duplicate stays visible, marked invalid
    second = [e for e in loaded.tagged("adjustment-request")
              if e.meta["lineno"] == loaded.line("^ADJ-1", 1)]
    assert len(second) == 1
    assert second[0].meta["adjustment-state"] == "invalid"
    assert "adjustment-invalid" in second[0].tags
    assert second[0].postings == []


def test_duplicate_id_same_day_second_in_file_is_the_duplicate():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00")
                  + request("ADJ-1", "2026-03-01", "-20.00"))
    assert loaded.codes == [(loaded.line("^ADJ-1", 1), "duplicate-id")]


@pytest.mark.parametrize(("extra", "code"), [
    ('category: "Goodwill"', "bad-category"),
    ('category: "customer-service:goodwill"', None),
    ('adjustment-id: "ADJ-X"', "bad-id"),
    ('adjustment-id: "ADJ-1"', None),
    ('effective: "someday"', "bad-metadata"),
    ("risk: 3", "bad-metadata"),
])
def test_request_metadata(extra: str, code: str | None):
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", extra=extra))
    if code is None:
        assert loaded.errors == []
    else:
        assert (loaded.line("^ADJ-1"), code) in loaded.codes


@pytest.mark.parametrize(("drop", "code"), [
    ("adjustment-type", None),            # not a request at all
    ("customer", "missing-metadata"),
    ("reason", "missing-metadata"),
    ("requested-by", "missing-metadata"),
])
def test_missing_request_fields(drop: str, code: str | None):
    text = "".join(line + "\n" for line in request("ADJ-1", "2026-03-01", "-10.00").splitlines()
                   if not line.strip().startswith(drop + ":"))
    loaded = load(text)
    if code is None:
        assert loaded.errors == []
        assert loaded.book.get("ADJ-1") is None
        assert loaded.balance("Assets:Receivable") == -10   # an ordinary transaction
    else:
        assert loaded.codes == [(loaded.line("^ADJ-1"), code)]
        assert loaded.book.get("ADJ-1") is None
        assert loaded.balance("Assets:Receivable") == 0
        [entry] = loaded.tagged("adjustment-request")
        assert entry.meta["adjustment-state"] == "invalid"


@pytest.mark.parametrize("type_", ["refund", "credit", "credit:", "credit:Refund", "loan:x", 5])
def test_bad_type(type_: object):
    text = request("ADJ-1", "2026-03-01", "-10.00").replace(
        '"credit:refund"', f'"{type_}"' if isinstance(type_, str) else str(type_))
    loaded = load(text)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "bad-type")]
    assert loaded.balance("Assets:Receivable") == 0


def test_request_without_link_or_with_several_links():
    no_link = request("ADJ-1", "2026-03-01", "-10.00").replace(" ^ADJ-1", "")
    loaded = load(no_link)
    assert loaded.codes == [(loaded.line('"Test adjustment"'), "bad-id")]
    two = request("ADJ-1", "2026-03-01", "-10.00").replace("^ADJ-1", "^ADJ-1 ^TICKET-9")
    loaded = load(two)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "bad-id")]
    loaded = load(two.replace('  customer:', '  adjustment-id: "ADJ-1"\n  customer:'))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


# -- invoices and orders --------------------------------------------------------


def test_billing_without_invoice():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", type="billing:discount"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "missing-invoice")]
    assert loaded.state("ADJ-1") == "invalid"


@pytest.mark.parametrize(("extra", "code"), [
    ('invoice: "INV-404"', "unknown-invoice"),
    ('order: "ORD-404"', "unknown-order"),
    ('invoice: "INV-VIP"', "invoice-customer"),
    ('invoice: "INV-EUR"', "invoice-currency"),
    ('invoice: "INV-1"', None),
    ('order: "ORD-1"', None),
])
def test_references(extra: str, code: str | None):
    loaded = load(INVOICE + request("ADJ-1", "2026-03-01", "-10.00", extra=extra))
    if code is None:
        assert loaded.errors == []
        assert loaded.state("ADJ-1") == "applied"
    else:
        assert loaded.codes == [(loaded.line("^ADJ-1"), code)]
        assert loaded.state("ADJ-1") == "invalid"


def test_invoice_and_order_are_in_the_book():
    loaded = load(INVOICE)
    assert loaded.errors == []
    invoice = loaded.book.invoices["INV-1"]
    assert (invoice.amount.number, invoice.amount.currency) == (120, "USD")
    assert invoice.customer == "cust_456"
    assert loaded.book.orders["ORD-1"].amount.number == 10


def test_duplicate_invoice_id():
    loaded = load(INVOICE + block("""
        2026-02-05 * "cust_456" "Invoice again"
          invoice-id: "INV-1"
          Assets:Receivable:Customers  1.00 USD
          Income:Sales
    """))
    assert loaded.codes == [(loaded.line('"Invoice again"'), "duplicate-reference")]
    assert loaded.book.invoices["INV-1"].amount.number == 120


def test_credits_may_not_exceed_the_invoice():
    text = (INVOICE
            + request("ADJ-1", "2026-03-01", "-100.00", extra='invoice: "INV-1"')
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + request("ADJ-2", "2026-03-03", "-20.00", extra='invoice: "INV-1"')
            + request("ADJ-3", "2026-03-04", "-0.01", extra='invoice: "INV-1"'))
    loaded = load(text)
    # 100 + 20 = 120 is exactly the invoice; one more cent is too much
    assert loaded.codes == [(loaded.line("^ADJ-3"), "exceeds-invoice")]
    assert loaded.state("ADJ-1") == loaded.state("ADJ-2") == "applied"
    assert loaded.state("ADJ-3") == "approved"
    assert loaded.balance("Assets:Receivable") == 120 + 10 - 120 + 300 - 0


def test_exceeding_credit_refused_at_the_approval_line():
    text = (INVOICE
            + request("ADJ-1", "2026-03-01", "-100.00", extra='invoice: "INV-1"')
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + request("ADJ-2", "2026-03-03", "-30.00", extra='invoice: "INV-1"')
            + event("ADJ-2", "2026-03-04", "approve", "erin"))
    loaded = load(text)
    assert loaded.codes == [(loaded.line('"ADJ-2" "approve"'), "exceeds-invoice")]
    assert "20" in loaded.errors[0].message   # what is left to credit
    assert loaded.state("ADJ-2") == "approved"
    assert loaded.tagged("adjustment", "ADJ-2") == []


def test_reversal_frees_the_credited_amount():
    text = (INVOICE
            + request("ADJ-1", "2026-03-01", "-100.00", extra='invoice: "INV-1"')
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + event("ADJ-1", "2026-03-05", "cancel", "bob", reason="Wrong amount")
            + event("ADJ-1", "2026-03-05", "approve", "erin")
            + request("ADJ-2", "2026-03-06", "-120.00", extra='invoice: "INV-1"')
            + event("ADJ-2", "2026-03-07", "approve", "erin"))
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversed"
    assert loaded.state("ADJ-2") == "applied"


def test_reversal_after_the_later_credit_is_too_late():
    # ADJ-2 is approved while ADJ-1 still holds the invoice; the later cancel does
    # not retroactively allow it.
    text = (INVOICE
            + request("ADJ-1", "2026-03-01", "-100.00", extra='invoice: "INV-1"')
            + event("ADJ-1", "2026-03-02", "approve", "bob")
            + request("ADJ-2", "2026-03-06", "-120.00", extra='invoice: "INV-1"')
            + event("ADJ-2", "2026-03-07", "approve", "erin")
            + event("ADJ-1", "2026-03-08", "cancel", "bob", reason="Wrong amount")
            + event("ADJ-1", "2026-03-08", "approve", "erin")
            + event("ADJ-2", "2026-03-09", "apply", "erin"))
    loaded = load(text)
    assert loaded.codes == [(loaded.line('"ADJ-2" "approve"'), "exceeds-invoice")]
    assert loaded.state("ADJ-2") == "applied"
    [applied] = loaded.tagged("adjustment", "ADJ-2")
    assert str(applied.date) == "2026-03-09"


def test_debits_against_an_invoice_do_not_use_up_credit():
    text = (INVOICE
            + request("ADJ-D", "2026-03-01", "500.00", type="debit:correction",
                      account="Income:Sales", extra='invoice: "INV-1"')
            + event("ADJ-D", "2026-03-02", "approve", "bob")
            + request("ADJ-C", "2026-03-03", "-120.00", extra='invoice: "INV-1"')
            + event("ADJ-C", "2026-03-04", "approve", "bob"))
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-C") == "applied"


# -- documents ------------------------------------------------------------------

DOC_POLICY = """
2026-01-01 custom "adjustment-policy" "credit:*"
  document-above: 500.00 USD
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ledger.beancount"
    path.write_text(BASE + DOC_POLICY + body)
    return path


@pytest.mark.parametrize(("amount", "document", "exists", "code"), [
    ("-499.99", None, False, None),
    ("-500.00", None, False, "missing-document"),
    ("-600.00", "docs/proof.pdf", True, None),
    ("-600.00", "docs/missing.pdf", False, "document-not-found"),
    ("-10.00", "docs/missing.pdf", False, "document-not-found"),
])
def test_document_above(tmp_path: Path, amount: str, document: str | None, exists: bool,
                        code: str | None):
    (tmp_path / "docs").mkdir()
    if exists:
        (tmp_path / "docs" / "proof.pdf").write_bytes(b"%PDF-1.4\n")
    extra = f'document: "{document}"' if document else ""
    path = _write(tmp_path, request("ADJ-1", "2026-03-01", amount, extra=extra))
    loaded = load_file(path)
    if code is None:
        assert loaded.errors == []
        assert loaded.state("ADJ-1") in ("applied", "pending")
    else:
        assert loaded.codes == [(loaded.line("^ADJ-1"), code)]
        assert loaded.errors[0].source["filename"] == str(path)
        assert loaded.state("ADJ-1") == "invalid"


def test_document_relative_to_the_included_file(tmp_path: Path):
    sub = tmp_path / "sub"
    (sub / "docs").mkdir(parents=True)
    (sub / "docs" / "proof.pdf").write_bytes(b"x")
    (sub / "requests.beancount").write_text(
        request("ADJ-1", "2026-03-01", "-600.00", extra='document: "docs/proof.pdf"'))
    path = _write(tmp_path, 'include "sub/requests.beancount"\n')
    loaded = load_file(path)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "pending"


# -- period locks ---------------------------------------------------------------

LOCK = """
2026-11-05 custom "adjustment-lock" 2026-10-31
  by: "carol"
"""


def test_lock_forbids_an_effective_date_inside_the_closed_period():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00", extra="effective: 2026-10-31")
                  + event("ADJ-1", "2026-11-06", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "closed-period")]
    assert loaded.state("ADJ-1") == "approved"
    assert loaded.balance("Assets:Receivable") == 0


def test_lock_allows_an_effective_date_after_the_period():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00", extra="effective: 2026-11-01")
                  + event("ADJ-1", "2026-11-06", "approve", "bob"))
    assert loaded.errors == []
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    assert str(applied.date) == "2026-11-01"


def test_application_after_the_lock_is_dated_at_the_application():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00")
                  + event("ADJ-1", "2026-11-06", "approve", "bob"))
    assert loaded.errors == []
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    assert str(applied.date) == "2026-11-06"


def test_effect_booked_before_the_lock_stands():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00")
                  + event("ADJ-1", "2026-10-21", "approve", "bob")
                  + request("ADJ-2", "2026-10-25", "-10.00"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == loaded.state("ADJ-2") == "applied"


def test_effect_decided_on_the_lock_day_is_checked():
    loaded = load(LOCK + request("ADJ-1", "2026-11-05", "-10.00", extra="effective: 2026-10-30"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "closed-period")]
    assert loaded.balance("Assets:Receivable") == 0


def test_closed_period_then_apply_with_effective_after():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00", extra="effective: 2026-10-31")
                  + event("ADJ-1", "2026-11-06", "approve", "bob")
                  + event("ADJ-1", "2026-11-07", "apply", "bob", effective="2026-11-07"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "closed-period")]
    assert loaded.state("ADJ-1") == "applied"
    [applied] = loaded.tagged("adjustment", "ADJ-1")
    assert str(applied.date) == "2026-11-07"


def test_reversal_of_a_locked_period_adjustment_is_dated_after_the_lock():
    loaded = load(LOCK + request("ADJ-1", "2026-10-20", "-50.00")
                  + event("ADJ-1", "2026-10-21", "approve", "bob")
                  + event("ADJ-1", "2026-11-10", "cancel", "bob", reason="Wrong")
                  + event("ADJ-1", "2026-11-10", "approve", "erin"))
    assert loaded.errors == []
    [reversal] = loaded.tagged("adjustment-reversal", "ADJ-1")
    assert str(reversal.date) == "2026-11-10"


@pytest.mark.parametrize("lock", [
    '2026-11-05 custom "adjustment-lock" 2026-11-05\n',
    '2026-11-05 custom "adjustment-lock" 2026-12-01\n',
    '2026-11-05 custom "adjustment-lock" "2026-10-31"\n',
    '2026-11-05 custom "adjustment-lock" 2026-10-31 2026-10-30\n',
])
def test_malformed_lock(lock: str):
    loaded = load(lock)
    assert loaded.codes == [(loaded.line("adjustment-lock"), "malformed-directive")]


# -- multi-currency -------------------------------------------------------------


def test_eur_adjustment_moves_eur_only():
    loaded = load(INVOICE + '2026-02-01 price EUR 1.10 USD\n'
                  + request("ADJ-1", "2026-03-01", "-50.00", currency="EUR",
                            extra='invoice: "INV-EUR"')
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.balance("Assets:Receivable", "EUR") == 30
    assert loaded.balance("Assets:Receivable", "USD") == 430
    assert loaded.adj("ADJ-1").amount.currency == "EUR"


def test_eur_credits_capped_by_eur_invoice():
    loaded = load(INVOICE + '2026-02-01 price EUR 1.10 USD\n'
                  + request("ADJ-1", "2026-03-01", "-80.01", currency="EUR",
                            extra='invoice: "INV-EUR"')
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "exceeds-invoice")]


# -- digests: stale approvals and changes after application -----------------------


def _digest(text: str, adj_id: str) -> str:
    loaded = load(text)
    return request_digest(loaded.adj(adj_id).request)


WRONG = "0" * 32


def test_book_digest_is_the_request_digest():
    loaded = load(request("ADJ-1", "2026-03-01", "-1500.00"))
    adj = loaded.adj("ADJ-1")
    assert adj.digest == request_digest(adj.request)


def test_stale_middle_approval_is_a_warning_and_does_not_count():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    good = _digest(base, "ADJ-1")
    loaded = load(base + event("ADJ-1", "2026-03-02", "approve", "erin", digest=WRONG)
                  + event("ADJ-1", "2026-03-03", "approve", "carol", digest=good))
    # carol (finance) cannot fill the manager level the stale approval left open
    assert loaded.codes == [(loaded.line('2026-03-03 custom "adjustment"'), "missing-role")]
    [warning] = loaded.book.warnings
    assert warning.code == "stale-approval"
    assert warning.source.lineno == loaded.line('2026-03-02 custom "adjustment"')
    adj = loaded.adj("ADJ-1")
    assert adj.state == "pending"
    assert adj.level == 0
    assert adj.history[0].stale is True
    assert adj.history[0].accepted is False
    assert adj.history[1].accepted is False
    assert loaded.balance("Assets:Receivable") == 0


def test_stale_then_renewed_approval_counts():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    good = _digest(base, "ADJ-1")
    loaded = load(base + event("ADJ-1", "2026-03-02", "approve", "erin", digest=WRONG)
                  + event("ADJ-1", "2026-03-03", "approve", "erin", digest=good)
                  + event("ADJ-1", "2026-03-04", "approve", "carol", digest=good))
    assert loaded.errors == []
    assert len(loaded.book.warnings) == 1
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").approvers == ("erin", "carol")


def test_digest_ignores_posting_order_and_number_format():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    good = _digest(base, "ADJ-1")
    lines = base.splitlines()
    reordered = "\n".join([*lines[:-2], lines[-1].replace("-1500.00", "-1500"),
                           lines[-2].replace("1500.00", "1500.0")]) + "\n"
    assert _digest(reordered, "ADJ-1") == good
    changed = base.replace("1500.00", "1400.00")
    assert _digest(changed, "ADJ-1") != good


def test_changed_after_apply_is_an_error():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    good = _digest(base, "ADJ-1")
    edited = base.replace("1500.00", "1400.00")   # the request was edited later
    loaded = load(edited + event("ADJ-1", "2026-03-02", "approve", "erin",
                                 digest=_digest(edited, "ADJ-1"))
                  + event("ADJ-1", "2026-03-03", "approve", "carol", digest=good))
    # The approval that would book it was given to other content: it does not
    # count, nothing is booked, and it is an error (not a warning).
    assert loaded.codes == [(loaded.line('2026-03-03 custom "adjustment"'), "stale-approval")]
    assert loaded.book.warnings == ()
    assert loaded.state("ADJ-1") == "pending"
    assert loaded.balance("Assets:Receivable") == 0


def test_changed_after_separate_apply_is_an_error():
    base = INVOICE + request("ADJ-1", "2026-03-01", "-100.00", type="billing:discount",
                             extra='invoice: "INV-1"')
    good = _digest(base, "ADJ-1")
    edited = base.replace("100.00", "90.00")
    loaded = load(edited + event("ADJ-1", "2026-03-02", "approve", "bob",
                                 digest=_digest(edited, "ADJ-1"))
                  + event("ADJ-1", "2026-03-03", "apply", "bob", digest=good))
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "changed-after-approval")]
    assert loaded.state("ADJ-1") == "approved"
    assert loaded.tagged("adjustment", "ADJ-1") == []


def test_matching_digests_are_silent():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    good = _digest(base, "ADJ-1")
    loaded = load(base + event("ADJ-1", "2026-03-02", "approve", "erin", digest=good)
                  + event("ADJ-1", "2026-03-03", "approve", "carol", digest=good))
    assert loaded.errors == []
    assert loaded.book.warnings == ()
    assert all(not record.stale for record in loaded.adj("ADJ-1").history)


def test_changed_after_apply_with_two_levels():
    base = request("ADJ-1", "2026-03-01", "-1500.00")
    old = _digest(base, "ADJ-1")
    edited = base.replace("1500.00", "1400.00")
    loaded = load(edited + event("ADJ-1", "2026-03-02", "approve", "erin", digest=old)
                  + event("ADJ-1", "2026-03-03", "approve", "carol", digest=old))
    assert loaded.codes == [(loaded.line('2026-03-03 custom "adjustment"'), "stale-approval")]
    [warning] = loaded.book.warnings  # the first stale approval, which booked nothing
    assert warning.source.lineno == loaded.line('2026-03-02 custom "adjustment"')
    assert loaded.state("ADJ-1") == "pending"
    assert loaded.tagged("adjustment", "ADJ-1") == []
