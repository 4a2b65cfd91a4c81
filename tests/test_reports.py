"""Reports and export: every report in every format, from a small ledger and the demo."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments import reports
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import State
from beancount_adjustments.reports import Scope
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.reports.csv_cells import csv_cell
from ledgers import DEMO, event, ledger, load, load_file, request

D = Decimal

BODY = (
    request("ADJ-1", "2026-02-02", "-50", reason="Damaged item")
    + event("ADJ-1", "2026-02-03", "approve", "bob")
    + request("ADJ-2", "2026-02-10", "-2000", type="credit:goodwill",
              account="Expenses:Goodwill", reason="Outage apology",
              extra='category: "customer-service:goodwill"')
    + event("ADJ-2", "2026-02-11", "approve", "erin")
    + event("ADJ-2", "2026-02-12", "approve", "carol")
    + event("ADJ-2", "2026-03-05", "cancel", "alice", reason="Duplicate credit")
    + event("ADJ-2", "2026-03-05", "approve", "erin")
    + event("ADJ-2", "2026-03-05", "approve", "carol")
    + request("ADJ-3", "2026-03-01", "60", type="debit:fee", account="Income:Fees",
              reason="Late fee")
    + event("ADJ-3", "2026-03-02", "approve", "alice")
    + request("ADJ-4", "2026-03-03", "-30", reason="=HYPERLINK(\\\"http://evil\\\")")
    + event("ADJ-4", "2026-03-04", "reject", "bob", reason="<script>alert(1)</script>")
    + request("ADJ-5", "2026-03-06", "-1500", reason="Wrong size")
    + event("ADJ-5", "2026-03-07", "approve", "erin", digest="deadbeef")
    + request("ADJ-6", "2026-03-08", "-20", customer="cust_999", reason="Unknown customer")
    + request("ADJ-7", "2026-03-09", "-10", type="credit:promotional",
              account="Expenses:Promotions", reason="Spring promo")
)


@pytest.fixture(scope="module")
def book():
    loaded = load(BODY)
    assert loaded.book is not None
    return loaded.book


def rows_by(rows, **match):
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]


def test_summary_counts_and_amounts(book) -> None:
    rows = reports.summary(book, Scope())
    states = {r.key: r.count for r in rows if r.dimension == "state"}
    assert states == {"applied": 2, "reversed": 1, "pending": 2, "rejected": 1, "invalid": 1}
    refund = rows_by(rows, dimension="type", key="credit:refund", currency="USD")[0]
    assert refund.count == 4  # ADJ-1, ADJ-4, ADJ-5, ADJ-6 (valid amount: ADJ-6 too)
    assert refund.amount == D("1600")
    assert refund.net == D("-1600")
    months = {r.key: r.count for r in rows if r.dimension == "month"}
    assert months == {"2026-02": 2, "2026-03": 5}
    fee = rows_by(rows, dimension="type", key="debit:fee")[0]
    assert fee.net == D("60")


def test_scope_filters(book) -> None:
    feb = reports.summary(book, Scope(start=datetime.date(2026, 2, 1),
                                      end=datetime.date(2026, 2, 28)))
    assert sum(r.count for r in feb if r.dimension == "state") == 2
    vip = reports.summary(book, Scope(type="credit:goodwill"))
    assert {r.key for r in vip if r.dimension == "type"} == {"credit:goodwill"}
    pending = reports.summary(book, Scope(state=State.PENDING))
    assert {r.key for r in pending if r.dimension == "state"} == {"pending"}
    assert reports.summary(book, Scope(customer="cust_123")) == []


def test_trends_per_month_and_kind(book) -> None:
    rows = reports.trends(book, Scope())
    march_credit = rows_by(rows, month="2026-03", kind="credit")[0]
    assert march_credit.requested == 4
    assert march_credit.applied == 1
    assert march_credit.applied_amount == D("10")
    assert rows_by(rows, month="2026-03", kind="debit")[0].requested == 1
    assert rows_by(rows, month="2026-02", kind="credit")[0].requested_amount == D("2050")


def test_impact_of_applied_and_reversed(book) -> None:
    rows = reports.impact(book, Scope())
    receivable = rows_by(rows, account="Assets:Receivable:Customers")[0]
    assert receivable.group == "receivable"
    assert receivable.applied == D("-2060")  # ADJ-1, ADJ-2, ADJ-7
    assert receivable.reversed == D("2000")  # ADJ-2 cancelled
    assert receivable.net == D("-60")
    assert rows[0].group == "receivable"
    returns = rows_by(rows, account="Income:Sales:Returns")[0]
    assert returns.group == "income"
    assert returns.net == D("50")
    # The reversal falls in March, the application in February.
    feb = reports.impact(book, Scope(end=datetime.date(2026, 2, 28)))
    assert rows_by(feb, account="Expenses:Goodwill")[0].reversed == 0
    march = reports.impact(book, Scope(start=datetime.date(2026, 3, 1)))
    goodwill = rows_by(march, account="Expenses:Goodwill")[0]
    assert goodwill.applied == 0
    assert goodwill.reversed == D("-2000")


def test_compliance_evidence(book) -> None:
    rows = reports.compliance(book, Scope(), today=datetime.date(2026, 3, 31))
    by_id = {r.id: r for r in rows}
    exceptional = [r.id for r in rows if r.exceptions]
    assert rows[: len(exceptional)] == [r for r in rows if r.exceptions]
    assert set(exceptional) == {"ADJ-3", "ADJ-5", "ADJ-6"}
    assert "self-approval" in by_id["ADJ-3"].exceptions
    assert "overdue" in by_id["ADJ-3"].exceptions or by_id["ADJ-3"].exceptions
    assert by_id["ADJ-5"].evidence == "stale"
    assert "unknown-customer" in by_id["ADJ-6"].exceptions
    adj2 = by_id["ADJ-2"]
    assert adj2.approvers == ("erin (manager, 2026-02-11); carol (finance, 2026-02-12); "
                              "erin (manager, reversal, 2026-03-05); "
                              "carol (finance, reversal, 2026-03-05)")
    # Decisions written by hand (no `at:`) are listed as such.
    assert adj2.unstamped == 5
    assert adj2.sod == "ok"
    assert adj2.requester == "alice"
    assert adj2.days_to_decision == 2
    assert adj2.policy == "credit:* from 1,000.00 USD: manager > finance"
    assert adj2.evidence == "unbound"
    assert adj2.documentation == "not-required"
    assert by_id["ADJ-7"].policy.startswith("credit:promotional")
    assert by_id["ADJ-7"].evidence == "none"
    assert by_id["ADJ-7"].days_to_decision == 0


def test_audit_is_the_history_in_order(book) -> None:
    rows = reports.audit(book, Scope())
    assert [r.date for r in rows] == sorted(r.date for r in rows)
    first = rows[0]
    assert (first.adjustment_id, first.action, first.who) == ("ADJ-1", "request credit:refund",
                                                              "alice")
    refused = rows_by(rows, adjustment_id="ADJ-3", action="approve")[0]
    assert refused.accepted is False
    assert "segregation of duties" in refused.note
    cancel = rows_by(rows, adjustment_id="ADJ-2", action="cancel (reversal)")[0]
    assert cancel.why == "Duplicate credit"
    assert cancel.accepted
    invalid = rows_by(rows, adjustment_id="ADJ-6")[0]
    assert invalid.accepted is False
    assert "cust_999" in invalid.note
    assert rows_by(rows, adjustment_id="ADJ-5", action="approve")[0].accepted is False


@pytest.mark.parametrize("kind", reports.REPORTS)
@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_every_report_in_every_format(book, kind: str, fmt: str) -> None:
    text = reports.report_text(kind, book, Scope(), fmt)
    rows = reports.build(kind, book, Scope())
    assert rows
    columns = [f.name for f in dataclasses.fields(reports.MODELS[kind])]
    if fmt == "table":
        assert text.splitlines()[0].split() == columns
        assert len(text.splitlines()) == len(rows) + 2
    elif fmt == "csv":
        parsed = list(csv.reader(io.StringIO(text)))
        assert parsed[0] == columns
        assert len(parsed) == len(rows) + 1
        for line in parsed[1:]:
            for cell in line:
                assert not cell.startswith(("=", "@", "+")) or cell.startswith("'")
    elif fmt == "json":
        parsed = json.loads(text)
        assert len(parsed) == len(rows)
        assert list(parsed[0]) == columns
    else:
        assert text.startswith("<!DOCTYPE html>")
        assert "@media print" in text
        assert "<style>" in text
        for external in ("<script", "<link", "src=", "href=", "url("):
            assert external not in text
        assert text.count("<tr") == len(rows) + 1
        assert ("<svg" in text) == (kind == "trends")


def test_csv_neutralises_formulas_and_html_escapes(book) -> None:
    audit_csv = reports.report_text("audit", book, Scope(), "csv")
    assert "'=HYPERLINK" in audit_csv
    assert "\n=HYPERLINK" not in audit_csv
    assert ",=HYPERLINK" not in audit_csv
    assert ",-50" not in audit_csv  # numbers only appear in the impact report
    impact_csv = reports.report_text("impact", book, Scope(), "csv")
    assert ",-2060," in impact_csv  # a plain negative number is not a formula
    page = reports.report_text("audit", book, Scope(), "html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("+1+2") == "'+1+2"
    assert csv_cell("\t=cmd") == "'\t'=cmd"  # a tab-separated import splits at the tab
    assert csv_cell("\r=cmd") == "'\r'=cmd"  # a `;` spreadsheet starts a row after \r
    # The type decides, not the look: ledger text reading -12.50 is quoted,
    # an amount the report computed is a number.
    assert csv_cell("-12.50") == "'-12.50"
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert [csv_cell(v) for v in (None, True, False, 3, datetime.date(2026, 1, 2))] == [
        "", "yes", "no", "3", "2026-01-02"]


def test_trends_html_has_charts_per_currency(book) -> None:
    page = reports.report_text("trends", book, Scope(), "html")
    assert page.count("<svg") == 2  # counts, and amounts in USD
    assert "Requested and applied amounts per month (USD)" in page
    assert "Amount (USD)" in page  # the y axis, as on the Fava reports page
    assert "<rect" in page


def test_empty_report_renders(book) -> None:
    scope = Scope(customer="nobody")
    for fmt in reports.FORMATS:
        text = reports.report_text("compliance", book, scope, fmt)
        assert text
    assert json.loads(reports.report_text("audit", book, scope, "json")) == []


def test_export_schema(book) -> None:
    lines = [json.loads(x) for x in exporting.export(book, "jsonl").splitlines()]
    adjustments = [x for x in lines if x["record"] == "adjustment"]
    events = [x for x in lines if x["record"] == "event"]
    assert len(adjustments) == 7
    assert lines[: len(adjustments)] == adjustments
    assert all(list(x) == list(exporting.ADJUSTMENT_FIELDS) for x in adjustments)
    assert all(list(x) == list(exporting.EVENT_FIELDS) for x in events)
    adj2 = next(x for x in adjustments if x["id"] == "ADJ-2")
    assert adj2["amount"] == "2000"
    assert adj2["net"] == "-2000"
    assert adj2["state"] == "reversed"
    assert adj2["approvers"] == "erin;carol"
    assert adj2["chain"] == "manager;finance"
    assert adj2["reversed_on"] == "2026-03-05"
    refused = next(x for x in events if x["adjustment_id"] == "ADJ-3")
    assert refused["accepted"] is False
    assert refused["note"]
    table = list(csv.DictReader(io.StringIO(exporting.export(book, "csv", "events"))))
    assert len(table) == len(events)
    assert table[0]["record"] == "event"
    with pytest.raises(ValueError, match="one kind"):
        exporting.export(book, "csv", "all")


def test_export_csv_quotes_number_like_text_but_not_amounts() -> None:
    loaded = load(request("ADJ-1", "2026-03-01", "-20.00", reason="-12.50"))
    assert loaded.errors == []
    row = next(csv.DictReader(io.StringIO(exporting.export(loaded.book, "csv", "adjustments"))))
    assert row["reason"] == "'-12.50"  # text, though it reads like a number
    assert row["net"] == "-20.00"
    assert row["amount"] == "20.00"
    assert row["date"] == "2026-03-01"
    record = json.loads(exporting.export(loaded.book, "jsonl").splitlines()[0])
    assert (record["reason"], record["net"], record["date"]) == ("-12.50", "-20.00", "2026-03-01")


def test_cli_report_and_export(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BODY))
    runner = CliRunner()
    result = runner.invoke(main, ["report", "summary", "-f", str(path), "--type", "credit:*",
                                  "--from", "2026-03-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["key"] for r in rows if r["dimension"] == "type"} == {"credit:refund",
                                                                   "credit:promotional"}
    out = tmp_path / "compliance.html"
    result = runner.invoke(main, ["report", "compliance", "-f", str(path), "--format", "html",
                                  "-o", str(out), "--state", "pending"])
    assert result.exit_code == 0, result.output
    assert "ADJ-5" in out.read_text()
    assert "ADJ-1" not in out.read_text()
    result = runner.invoke(main, ["export", "-f", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("record,id,date,type")
    result = runner.invoke(main, ["export", "-f", str(path), "--format", "csv",
                                  "--records", "all"])
    assert result.exit_code == 1




@pytest.mark.skipif(not DEMO.is_file(), reason="ledgers/demo.beancount not generated")
def test_every_report_of_the_demo_ledger() -> None:
    loaded = load_file(DEMO)
    assert loaded.book is not None
    for kind in reports.REPORTS:
        rows = reports.build(kind, loaded.book, Scope())
        assert rows, kind
        for fmt in reports.FORMATS:
            assert reports.report_text(kind, loaded.book, Scope(), fmt)
    assert exporting.export(loaded.book, "jsonl")
