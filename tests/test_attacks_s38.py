"""Thirty-eighth round of attacks: the ways in other than the web UI.

The Stripe importer (beangulp prints what it extracts, appended by hand, outside the
one writer), CSV import, the CLI's `--as` and the Python API, given cells a person or
an export could hold: formulas, amounts written three ways, a BOM, CRLF, duplicated
or unknown columns, a full disk. A test whose docstring says "Hole:" failed on the
code it was written against; the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import csv
import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest
from beancount.parser import printer
from beangulp.exceptions import Error as BeangulpError  # type: ignore[import-untyped]
from click.testing import CliRunner

from beancount_adjustments import api
from beancount_adjustments.cli import main
from beancount_adjustments.core.amounts import AmountError, parse_money
from beancount_adjustments.intake.stripe_import import StripeImporter
from beancount_adjustments.writer import USER_ENV
from ledgers import BACKDATING, BASE, ledger, load

STRIPE_HEADER = ["id", "Type", "Created (UTC)", "Amount", "Currency", "Customer ID",
                 "Charge ID", "Reason", "Status"]


def stripe_file(tmp_path: Path, *rows: list[str]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([STRIPE_HEADER, *rows])
    path = tmp_path / "stripe.csv"
    path.write_text(buf.getvalue(), newline="")
    return path


def stripe_row(stripe_id: str = "re_1", *, reason: str = "requested_by_customer",
               customer: str = "cus_1", charge: str = "ch_1") -> list[str]:
    return [stripe_id, "refund", "2026-02-10", "30.00", "usd", customer, charge, reason,
            "succeeded"]


def importer(**kw: Any) -> StripeImporter:
    return StripeImporter(requested_by="alice", customers={"cus_1": "cust_123"}, **kw)


# -- the Stripe importer -----------------------------------------------------------------


def test_a_stripe_request_records_who_ran_the_import(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: the importer wrote `requested-by:` (its setting) and no `entered-by:`, so
    bob, running an import filed in alice's name, could approve what he entered, which
    every other tool refuses (`entered-by:` is a requester)."""
    export = stripe_file(tmp_path, stripe_row())
    monkeypatch.delenv(USER_ENV, raising=False)
    with pytest.raises(BeangulpError, match="who is acting"):
        importer().extract(str(export), [])
    monkeypatch.setenv(USER_ENV, "bob")
    (entry,) = importer().extract(str(export), [])
    assert entry.meta["entered-by"] == "bob"
    assert importer(entered_by="erin").extract(str(export), [])[0].meta["entered-by"] == "erin"
    # bob, who entered it, cannot approve it: the plugin counts him as its requester
    text = ledger(printer.format_entry(entry)
                  + '2026-02-11 custom "adjustment" "ADJ-re_1" "approve"\n  by: "bob"\n')
    loaded = load(text, base=False)
    assert "self-approval" in loaded.code_set
    assert loaded.state("ADJ-re_1") == "pending"


INJECTED = [
    # a tag and a second link on the request's line
    ("re_1 #adjustment ^ADJ-2026-0042", "id"),
    # metadata of the importer's choosing on the request
    ('re_1\n  adjustment-state: "applied"', "id"),
    # a whole other transaction, which no approval would ever judge
    ('re_1\n\n2026-02-10 * "x"\n  Assets:Bank  900.00 USD\n  Income:Sales  -900.00 USD\n\n'
     '2026-02-10 * "y"', "id"),
    ("re_1\u202e", "id"),
]


@pytest.mark.parametrize(("stripe_id", "what"), INJECTED)
def test_a_stripe_id_that_would_print_as_other_ledger_text_refuses_the_file(
        tmp_path: Path, stripe_id: str, what: str) -> None:
    """Hole: the Stripe id was printed bare as the request's link (`^ADJ-<id>`), so an
    export cell `re_1` + a line break + a transaction printed as that transaction:
    money moved by an entry no approval judged. Now the whole file is refused, one line
    naming the row, and nothing of it is extracted."""
    export = stripe_file(tmp_path, stripe_row("re_ok"), stripe_row(stripe_id))
    with pytest.raises(BeangulpError) as raised:
        importer(entered_by="alice").extract(str(export), [])
    message = str(raised.value)
    assert message.startswith(f"{export}:3: {what} ")
    assert "nothing extracted" in message
    assert "\n" not in message.split(": ", 2)[1]


@pytest.mark.parametrize(("row", "found"), [
    (stripe_row(reason="refund \u202eDSU 00.5"), "the reason holds the bidirectional"),
    (stripe_row(charge="ch_1\n  entered-by: \"x\""), "the charge id holds a line break"),
    (stripe_row(customer="cus_\x001"), "the customer holds a NUL byte"),
])
def test_stripe_text_the_writer_would_refuse_refuses_the_file(tmp_path: Path, row: list[str],
                                                              found: str) -> None:
    """Hole at the import (the plugin held: such a request is invalid): the importer
    printed text the writer refuses; now it refuses the file with the writer's message
    (`beans.metadata.control_problem`)."""
    export = stripe_file(tmp_path, row)
    with pytest.raises(BeangulpError, match=found):
        importer(entered_by="alice").extract(str(export), [])


def test_what_the_stripe_importer_prints_is_one_pending_request_per_row(
        tmp_path: Path) -> None:
    """Held: a good export prints as requests the plugin judges (pending, the chain of
    its type), never as an effect: no `#adjustment` tag, no `adjustment-state:`."""
    export = stripe_file(tmp_path, stripe_row("re_a", reason="=cmd|' /C calc'!A0"),
                         stripe_row("re_b"))
    entries = importer(entered_by="erin").extract(str(export), [])
    text = ledger("\n".join(printer.format_entry(e) for e in entries))
    loaded = load(text, base=False)
    assert loaded.errors == []
    assert [loaded.state(f"ADJ-re_{x}") for x in "ab"] == ["pending", "pending"]
    assert all("adjustment" not in e.tags and "adjustment-state" not in e.meta
               for e in entries)


# -- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.500 USD", "1.000 USD", "-1.000 USD", "40.100 USD",
                                  "1.000 JPY", "1.500 EUR"])
def test_three_decimals_ending_in_zeros_are_ambiguous(text: str) -> None:
    """Hole: `1.500 USD` was read as 1.50 USD (the zero past USD's two decimals let
    through), where a person grouping thousands with a dot meant 1500: the `1,000`
    the reader refuses, the other way round."""
    with pytest.raises(AmountError, match="ambiguous"):
        parse_money(text)


@pytest.mark.parametrize(("text", "number"), [("1.250 KWD", "1.250"), ("0.500 USD", "0.500"),
                                              ("1000.000 USD", "1000.000"),
                                              ("1,000.00 USD", "1000.00")])
def test_unambiguous_amounts_still_read(text: str, number: str) -> None:
    assert str(parse_money(text).number) == number


# -- CSV import through the CLI ----------------------------------------------------------

HEADER = "type,customer,amount,currency,reason,external-id,offset-account,date\n"


def row(amount: str = "5.00", reason: str = "Damaged") -> str:
    return (f"credit:refund,cust_123,{amount},USD,{reason},x-1,Income:Sales:Returns,"
            "2026-01-05\n")


def ledger_dir(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING)
    return path


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.is_file() and not p.name.endswith((".lock", ".picklecache"))}


def run_import(tmp_path: Path, content: bytes, user: str = "alice") -> tuple[int, str, bool]:
    main_file = ledger_dir(tmp_path)
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    before = main_file.read_bytes()
    result = CliRunner().invoke(main, ["import", "-f", str(main_file), "--as", user,
                                       str(source)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr, main_file.read_bytes() != before


REFUSED_CSV = [
    ('"1.000,00"', "line 2: amount '1.000,00' looks like it uses a decimal comma"),
    ('"1,000"', "line 2: amount '1,000' is ambiguous"),
    ("1.500", "line 2: amount '1.500' is ambiguous"),
    ("1E+3", "line 2: amount '1E+3' is not a number"),
    ("NaN", "line 2: amount 'NaN' is not a number"),
    ("Infinity", "line 2: amount 'Infinity' is not a number"),
    ("-Infinity", "line 2: amount '-Infinity' is not a number"),
    ("-0", "line 2: amount is zero"),
]


@pytest.mark.parametrize(("amount", "message"), REFUSED_CSV)
def test_a_csv_amount_that_reads_two_ways_or_none_is_refused_naming_the_row(
        tmp_path: Path, amount: str, message: str) -> None:
    code, err, changed = run_import(tmp_path, (HEADER + row(amount)).encode())
    assert (code, changed) == (1, False)
    assert message in err


@pytest.mark.parametrize(("content", "message"), [
    ((HEADER.replace("reason", "reason,reason").rstrip() + "\n"
      + row().replace("Damaged", "a,b")).encode(), "line 1: column(s) reason appear more"),
    ((HEADER.rstrip() + ",extra\n" + row().rstrip() + ",z\n").encode(),
     "line 1: unknown column(s) 'extra'"),
])
def test_a_csv_header_with_a_column_twice_or_unknown_is_refused(tmp_path: Path,
                                                                content: bytes,
                                                                message: str) -> None:
    code, err, changed = run_import(tmp_path, content)
    assert (code, changed) == (1, False)
    assert message in err


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbf" + (HEADER + row()).encode(),
    (HEADER + row()).replace("\n", "\r\n").encode(),
    b"\xef\xbb\xbf" + (HEADER + row()).replace("\n", "\r\n").encode(),
])
def test_a_bom_and_crlf_line_ends_read_as_the_same_file(tmp_path: Path,
                                                        content: bytes) -> None:
    code, _err, changed = run_import(tmp_path, content)
    assert (code, changed) == (0, True)
    text = (tmp_path / "main.beancount").read_text()
    assert "\r" not in text
    assert "\ufeff" not in text
    assert 'external-id: "x-1"' in text


@pytest.mark.parametrize("formula", ["=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+1", "-1+1"])
def test_a_formula_reason_is_ledger_text_and_every_csv_export_neutralises_it(
        tmp_path: Path, formula: str) -> None:
    """Held: the reason is written to the ledger as it is (it is text there), and
    `bean-adjust export --format csv` gives it back with a leading `'`."""
    cell = '"' + formula.replace('"', '""') + '"'
    code, _err, changed = run_import(tmp_path, (HEADER + row(reason=cell)).encode())
    assert (code, changed) == (0, True)
    result = CliRunner().invoke(main, ["export", "-f", str(tmp_path / "main.beancount"),
                                       "--format", "csv"])
    assert result.exit_code == 0
    cells = [c for r in csv.reader(io.StringIO(result.stdout)) for c in r]
    assert "'" + formula in cells
    assert formula not in cells


@pytest.mark.parametrize("user", ["mallory", "Alice", "al\u0456ce", "bob\u200b"])
def test_acting_as_someone_who_is_not_a_user_writes_nothing(tmp_path: Path,
                                                           user: str) -> None:
    """Held: `--as` a name no user line holds (another case, a Cyrillic letter, an
    invisible character) files nothing, even when the CSV names a real requester."""
    header = HEADER.rstrip() + ",requested-by\n"
    code, err, changed = run_import(tmp_path, (header + row().rstrip() + ",alice\n").encode(),
                                    user=user)
    assert (code, changed) == (1, False)
    assert "not a user" in err
    assert "Traceback" not in err


# -- the API: a reused external id, a full disk -------------------------------------------

REQUEST = {"customer": "cust_123", "type": "credit:refund", "amount": "30.00 USD",
           "reason": "Damaged", "offset_account": "Income:Sales:Returns"}


@pytest.mark.parametrize("other", [{"amount": "31.00 USD"}, {"customer": "cust_456"},
                                   {"reason": "Another"}, {"effective": "2026-12-31"},
                                   {"type": "credit:goodwill",
                                    "offset_account": "Expenses:Goodwill"}])
def test_an_external_id_reused_for_another_request_is_a_conflict(tmp_path: Path,
                                                                 other: dict[str, str]) -> None:
    """Held: README promises a retry answers with the request filed only when it asks
    for the same one; another request under the id is refused (`conflict`) and
    nothing is written."""
    main_file = ledger_dir(tmp_path)
    first = api.create(main_file, **REQUEST, external_id="crm-1", as_user="alice")
    again = api.create(main_file, **REQUEST, external_id="crm-1", as_user="alice")
    assert (again.id, again.existing) == (first.id, True)
    before = files(tmp_path)
    with pytest.raises(api.ApiError) as raised:
        api.create(main_file, **{**REQUEST, **other}, external_id="crm-1", as_user="alice")
    assert raised.value.code == "conflict"
    assert first.id in str(raised.value)
    assert files(tmp_path) == before


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def write(fd: int, data: Any) -> int:
        if fd > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


CLI_WRITES = [
    ["create", "--as", "alice", "--type", "credit:refund", "--customer", "cust_123",
     "--amount", "5.00 USD", "--reason", "r", "--offset-account", "Income:Sales:Returns"],
    ["import", "--as", "alice", "{csv}"],
    ["approve", "--as", "bob", "ADJ-2026-0001"],
    ["reject", "--as", "bob", "ADJ-2026-0001", "--reason", "no"],
    ["cancel", "--as", "alice", "ADJ-2026-0001", "--reason", "no"],
]


@pytest.mark.parametrize("args", CLI_WRITES, ids=lambda a: a[0])
def test_a_full_disk_writes_nothing_and_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    main_file = ledger_dir(tmp_path)
    source = tmp_path / "in.csv"
    source.write_text(HEADER + row())
    api.create(main_file, **REQUEST, as_user="alice")
    before = files(tmp_path)
    _full_disk(monkeypatch)
    given = [a.replace("{csv}", str(source)) for a in args]
    result = CliRunner().invoke(main, [given[0], "-f", str(main_file), *given[1:]])
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if "no space left" in line]
    assert len(lines) == 1
    assert "nothing was written" in lines[0]
    assert files(tmp_path) == before  # no temporary file left either


def test_a_full_disk_through_the_api_is_an_api_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    main_file = ledger_dir(tmp_path)
    api.create(main_file, **REQUEST, as_user="alice")
    before = files(tmp_path)
    _full_disk(monkeypatch)
    with pytest.raises(api.ApiError, match="no space left"):
        api.approve(main_file, "ADJ-2026-0001", as_user="bob")
    monkeypatch.undo()
    assert files(tmp_path) == before
