"""The Stripe importer: requests that pass bean-check, and reruns that import nothing."""

from __future__ import annotations

from decimal import Decimal

from beancount.parser import printer

from beancount_adjustments.intake.stripe_import import StripeImporter
from ledgers import ROOT, ledger, load

SAMPLE = ROOT / "tests" / "data" / "stripe_sample.csv"


def importer() -> StripeImporter:
    return StripeImporter(requested_by="alice", entered_by="erin",
                          chargeback_account="Assets:Bank",
                          customers={"cus_NffrFeUfNV2Hib": "cust_123",
                                     "cus_OpqrStUvWxYz01": "cust_456"})


def test_identify_and_account() -> None:
    assert importer().identify(str(SAMPLE))
    assert not importer().identify(str(ROOT / "pyproject.toml"))
    assert importer().account(str(SAMPLE)) == "Assets:Receivable:Customers"


def test_refunds_and_disputes_become_requests_once() -> None:
    entries = importer().extract(str(SAMPLE), [])
    ids = [e.meta["external-id"] for e in entries]
    # the failed refund and the won dispute are skipped, the repeated row imported once
    assert ids == ["re_3MtwBwLkdIwHu7ix0a1b2c3d", "re_3MtwBwLkdIwHu7ix4e5f6g7h",
                   "dp_1MtwCxLkdIwHu7ixAbCdEfGh", "du_1MtwCxLkdIwHu7ixQrStUvWx"]
    refund, plain, dispute, big = entries
    assert refund.meta["adjustment-type"] == "credit:refund"
    assert refund.meta["customer"] == "cust_123"
    assert refund.links == frozenset({"ADJ-re_3MtwBwLkdIwHu7ix0a1b2c3d"})
    assert refund.postings[0].units.number == Decimal("-50.00")
    assert plain.meta["reason"] == "Stripe refund re_3MtwBwLkdIwHu7ix4e5f6g7h"
    assert dispute.meta["adjustment-type"] == "debit:chargeback"
    assert dispute.postings[0].units.number == Decimal("120.00")
    assert big.postings[0].units.number == Decimal("1250.00")


def test_appended_requests_pass_bean_check_and_a_rerun_adds_nothing() -> None:
    first = importer().extract(str(SAMPLE), [])
    text = ledger("") + "\n" + "\n".join(printer.format_entry(e) for e in first)
    loaded = load(text, base=False)
    assert loaded.errors == []
    assert loaded.book is not None
    assert {a.request.external_id for a in loaded.book.adjustments.values()} == {
        e.meta["external-id"] for e in first}
    assert loaded.state("ADJ-re_3MtwBwLkdIwHu7ix0a1b2c3d") == "pending"
    assert importer().extract(str(SAMPLE), loaded.entries) == []
