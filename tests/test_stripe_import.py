"""The Stripe importer: requests that pass bean-check, and reruns that import nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from beancount.parser import printer
from beangulp.exceptions import Error as BeangulpError  # type: ignore[import-untyped]

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


HEADER = "id,type,amount,currency,status,customer id,created (utc)\n"
GOOD_ROW = "re_ok,refund,5.00,usd,succeeded,cus_1,2026-11-01\n"


@pytest.mark.parametrize(("content", "where", "why"), [
    # a cell past the header's columns (csv.DictReader keeps it under None: a traceback)
    (HEADER + GOOD_ROW + "re_1,refund,5.00,usd,succeeded,cus_1,2026-11-01,extra\n", 3,
     "the row has more cells than the header has columns"),
    # two columns one name (one of them would win unseen)
    ("id,type,Amount,amount,currency,status,customer id,created (utc)\n"
     "re_1,refund,5.00,500.00,usd,succeeded,cus_1,2026-11-01\n", 1,
     "the column 'amount' is named twice"),
    # neither a refund nor a dispute: skipped, a refund spelled oddly was lost
    (HEADER + GOOD_ROW + "r\u0435_1,,5.00,usd,succeeded,cus_1,2026-11-01\n", 3,
     "is neither a refund (re_...) nor a dispute"),
    (HEADER + GOOD_ROW + "re_1,refund,5.00,usd,succeeded,,2026-11-01\n", 3,
     "re_1 names no customer"),
    (HEADER + GOOD_ROW + ",refund,5.00,usd,succeeded,cus_1,2026-11-01\n", 3, "the id is empty"),
])
def test_a_row_that_does_not_read_refuses_the_file_naming_its_line(
        tmp_path: Path, content: str, where: int, why: str) -> None:
    export = tmp_path / "stripe.csv"
    export.write_text(content, encoding="utf-8")
    with pytest.raises(BeangulpError) as raised:
        importer().extract(str(export), [])
    message = str(raised.value)
    assert message.startswith(f"{export}:{where}: ")
    assert why in message
    assert message.endswith("; nothing extracted from this file")


def test_a_file_that_is_not_utf8_text_is_one_line(tmp_path: Path) -> None:
    export = tmp_path / "stripe.csv"
    export.write_bytes((HEADER + GOOD_ROW).encode() + b"re_2,refund,5.00,\xff\n")
    with pytest.raises(BeangulpError, match=r"cannot be read as a CSV file \('utf-8' codec"):
        importer().extract(str(export), [])


def test_a_zero_refund_moved_nothing_and_is_skipped(tmp_path: Path) -> None:
    export = tmp_path / "stripe.csv"
    export.write_text(HEADER + GOOD_ROW + "re_0,refund,0.00,usd,succeeded,cus_1,2026-11-01\n",
                      encoding="utf-8")
    assert [e.meta["external-id"] for e in importer().extract(str(export), [])] == ["re_ok"]
