"""CSV import: all or nothing, row-level reasons, idempotent through external-id."""

from __future__ import annotations

import datetime
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.intake.csv_import import import_csv, plan_import
from beancount_adjustments.intake.csv_rows import read_rows
from beancount_adjustments.intake.templates import LedgerContext
from ledgers import BACKDATING, BASE, DEMO, ROOT, load_file

EXTRA = """
2026-01-01 open Expenses:Adjustments:Credits
2026-11-01 * "cust_123" "Invoice November"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers     120.00 USD
  Income:Sales                   -120.00 USD
"""

HEADER = "type,customer,amount,currency,reason,external-id,offset-account,invoice,date\n"

GOOD = HEADER + textwrap.dedent("""\
    credit:refund,cust_123,20.00,USD,Damaged item,crm-1,Income:Sales:Returns,INV-1,2026-11-20
    debit:fee,cust_456,5.00,USD,Paper invoice fee,crm-2,Income:Fees,,2026-11-20
    billing:discount,cust_123,-3.00,USD,Volume discount,crm-3,Income:Sales,INV-1,2026-11-21
    """)


def make_ledger(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + EXTRA + textwrap.dedent(extra))
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.name.endswith((".lock", ".picklecache"))}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def import_(ledger: Path, csv: Path, *more: str) -> tuple[int, str, str]:
    return run("import", "-f", str(ledger), "--as", "alice", str(csv), *more)


def test_import_reports_in_json(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    code, out, _err = import_(ledger, csv, "--dry-run", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["dry_run"] is True
    assert body["written"] == 0
    assert [a["id"] for a in body["adjustments"]] == [
        "ADJ-2026-0001", "ADJ-2026-0002", "ADJ-2026-0003"]
    code, out, _err = import_(ledger, csv, "--json")
    assert code == 0
    body = json.loads(out)
    assert body["written"] == 3
    assert all(a["state"] for a in body["adjustments"])
    code, out, _err = import_(ledger, csv, "--json")  # everything imported already
    assert code == 0
    assert json.loads(out)["written"] == 0
    broken = tmp_path / "broken.csv"
    broken.write_text(GOOD.replace("credit:refund", "credit:nonsense!", 1))
    before = snapshot(tmp_path)
    code, out, _err = import_(ledger, broken, "--json")
    assert code == 1
    body = json.loads(out)
    assert body["written"] == 0
    assert body["errors"]
    assert all(e.startswith("line ") for e in body["errors"])
    assert snapshot(tmp_path) == before


def test_good_file_writes_every_row_once(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    code, out, err = import_(ledger, csv)
    assert code == 0, err
    assert f"wrote 3 requests to {ledger}" in out
    assert "ADJ-2026-0001, ADJ-2026-0002, ADJ-2026-0003" in out
    loaded = load_file(ledger)
    assert loaded.errors == []
    requests = {r.external_id: r for r in loaded.book.facts.requests}
    assert set(requests) == {"crm-1", "crm-2", "crm-3"}
    refund = requests["crm-1"]
    assert refund.date == datetime.date(2026, 11, 20)
    assert refund.invoice == "INV-1"
    assert refund.requested_by == "alice"
    assert {(p.account, p.number) for p in refund.postings} == {
        ("Assets:Receivable:Customers", Decimal("-20.00")),
        ("Income:Sales:Returns", Decimal("20.00"))}
    fee = requests["crm-2"]
    assert ("Assets:Receivable:Customers", Decimal("5.00")) in {
        (p.account, p.number) for p in fee.postings}
    discount = requests["crm-3"]
    assert ("Assets:Receivable:Customers", Decimal("-3.00")) in {
        (p.account, p.number) for p in discount.postings}


def test_reimport_writes_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    assert import_(ledger, csv)[0] == 0
    before = snapshot(tmp_path)
    code, out, _ = import_(ledger, csv)
    assert code == 0
    assert "skipped 3 row(s) already imported" in out
    assert "wrote nothing" in out
    assert snapshot(tmp_path) == before


def test_grown_file_adds_only_new_rows(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    assert import_(ledger, csv)[0] == 0
    csv.write_text(GOOD + "debit:fee,cust_123,7.50,USD,Courier fee,crm-4,Income:Fees,,2026-11-22\n")
    code, out, _ = import_(ledger, csv)
    assert code == 0
    assert "skipped 3 row(s)" in out
    assert "wrote 1 request to" in out
    assert "ADJ-2026-0004" in out
    assert ledger.read_text().count('external-id: "crm-4"') == 1


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    before = snapshot(tmp_path)
    code, out, _ = import_(ledger, csv, "--dry-run")
    assert code == 0
    assert f"would write 3 requests to {ledger}" in out
    assert 'external-id: "crm-2"' in out  # shows the entries
    assert snapshot(tmp_path) == before


BAD = HEADER + textwrap.dedent("""\
    credit:refund,cust_123,20.00,USD,Fine row,ok-1,Income:Sales:Returns,,2026-11-20
    credit:refund,cust_999,20.00,USD,Unknown customer,bad-2,Income:Sales:Returns,,2026-11-20
    credit:nonsense,cust_123,20.00,USD,Unknown type,bad-3,Income:Sales:Returns,,2026-11-20
    credit:refund,cust_123,20.00,USD,Unknown account,bad-4,Income:Nowhere,,2026-11-20
    credit:refund,cust_123,-20.00,USD,Wrong direction,bad-5,Income:Sales:Returns,,2026-11-20
    debit:fee,cust_123,abc,USD,Not a number,bad-6,Income:Fees,,2026-11-20
    debit:fee,cust_123,5.00,USD,Bad date,bad-7,Income:Fees,,2026-13-01
    debit:fee,cust_123,5.00,USD,No external id,,Income:Fees,,2026-11-20
    debit:fee,cust_123,5.00,USD,Twice,ok-1,Income:Fees,,2026-11-20
    credit:refund,cust_123,5.00,USD,Unknown invoice,bad-10,Income:Sales:Returns,INV-9,2026-11-20
    credit:promotional,cust_123,500.00,USD,Over invoice,bad-11,Expenses:Promotions,INV-1,2026-11-20
    """)


def test_bad_file_lists_every_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "bad.csv"
    csv.write_text(BAD)
    before = snapshot(tmp_path)
    code, _out, err = import_(ledger, csv)
    assert code == 1
    assert "nothing written" in err
    assert snapshot(tmp_path) == before
    expected = {
        3: "unknown customer 'cust_999'",
        4: "unknown type 'credit:nonsense'",
        5: "account Income:Nowhere is not opened",
        6: "is negative",
        7: "amount 'abc' is not a number",
        8: "date '2026-13-01' is not a date",
        9: "external-id is empty",
        10: "external-id 'ok-1' is also on line 2",
        11: "unknown invoice 'INV-9'",
        12: "more than the invoice",  # the writer's judgement: credits exceed the invoice
    }
    for line, reason in expected.items():
        assert any(f"line {line}: " in row and reason in row for row in err.splitlines()), (
            line, reason, err)
    assert "line 2:" not in err  # the good row is not blamed


def test_header_problems_are_refused(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "bad.csv"
    csv.write_text("type,customer,amount,currency,reason,extrenal-id\n"
                   "debit:fee,cust_123,5.00,USD,Fee,x-1\n")
    before = snapshot(tmp_path)
    code, _, err = import_(ledger, csv)
    assert code == 1
    assert "line 1: unknown column(s) 'extrenal-id'" in err
    assert "missing column(s) external-id" in err
    assert snapshot(tmp_path) == before


def test_requested_by_column_and_defaults(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    ctx = LedgerContext.load(ledger)
    rows, errors = read_rows(
        "Type,Customer,Amount,Currency,Reason,External_ID,Requested-By\n"
        "debit:fee,cust_123,5.00 ,USD,Fee,x-1,frank\n"
        "\n"
        "debit:fee,cust_123,6.00 USD,,Fee,x-2,\n"
        '"debit:fee",cust_123,"1,234.50",USD,"Fee,\nsecond line",x-3,nobody\n')
    assert errors == []
    assert [line for line, _ in rows] == [2, 4, 5]
    calls: list[int] = []
    plan = plan_import(ctx, rows, user="alice", today=datetime.date(2026, 11, 20),
                       offset_account="Income:Fees", on_row=lambda: calls.append(1))
    assert len(calls) == 3
    assert [(e.line, e.message) for e in plan.errors] == [
        (5, "requested-by 'nobody' is not a user on 2026-11-20")]
    assert [r.requested_by for r in plan.requests] == ["frank", "alice"]
    assert plan.requests[1].postings[0] == ("Assets:Receivable:Customers", Decimal("6.00"),
                                            "USD")
    assert plan.requests[0].date == datetime.date(2026, 11, 20)


def test_library_dry_run_and_write(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text(GOOD)
    before = ledger.read_bytes()
    dry = import_csv(ledger, csv, user="alice", dry_run=True)
    assert dry.errors == []
    assert dry.result is not None
    assert dry.result.written == 0
    assert len(dry.result.ids) == 3
    assert ledger.read_bytes() == before
    done = import_csv(ledger, csv, user="alice")
    assert done.result is not None
    assert done.result.written == 3
    assert done.result.ids == dry.result.ids


@pytest.mark.parametrize("name", ["adjustments.csv", "bad-adjustments.csv"])
def test_samples_against_demo_ledger(tmp_path: Path, name: str) -> None:
    """The sample files do what their names say against the demo ledger."""
    if not DEMO.is_file():
        pytest.skip("no demo ledger")
    ledger = tmp_path / "demo.beancount"
    # The good sample's rows carry no date (written today, as README runs it);
    # the bad one's fixed dates are in the past by now.
    extra = BACKDATING if name == "bad-adjustments.csv" else ""
    ledger.write_bytes(DEMO.read_bytes() + extra.encode())
    before = snapshot(tmp_path)
    code, out, err = import_(ledger, ROOT / "ledgers" / "samples" / name, "--dry-run")
    assert snapshot(tmp_path) == before
    if name == "adjustments.csv":
        assert code == 0, err
        assert "would write" in out
    else:
        assert code == 1
        assert err.count("line ") >= 5


def test_library_dry_run_refuses_like_the_write(tmp_path: Path) -> None:
    # The dry run is the writer's own dry run: the same judgement, the same text.
    ledger = make_ledger(tmp_path)
    csv = tmp_path / "in.csv"
    over = ("credit:promotional,cust_123,500.00,USD,Over invoice,bad-4,Expenses:Promotions,"
            "INV-1,2026-11-20\n")
    csv.write_text(GOOD + over)
    before = snapshot(tmp_path)
    dry = import_csv(ledger, csv, user="alice", dry_run=True)
    assert snapshot(tmp_path) == before
    assert [e.line for e in dry.errors] == [5]
    assert "more than the invoice" in dry.errors[0].message
    assert dry.result is not None
    assert dry.result.written == 0
    assert len(dry.result.ids) == 3  # what the good rows would be
    real = import_csv(ledger, csv, user="alice")
    assert real.errors == dry.errors
    assert real.result is None
    assert snapshot(tmp_path) == before
    csv.write_text(GOOD)
    # One moment for both: the text carries `at:`, and a run may cross a second.
    moment = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    preview = import_csv(ledger, csv, user="alice", dry_run=True, now=moment)
    done = import_csv(ledger, csv, user="alice", now=moment)
    assert preview.result is not None
    assert done.result is not None
    assert done.result.text == preview.result.text
    assert done.result.ids == preview.result.ids
