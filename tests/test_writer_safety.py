"""What the one writer refuses, and how: the issue's failures, one test each.

Writers to two files of one ledger share one lock; symlinks are written
through; read-only files and directories, a full disk, a too-large file and
a file that is not UTF-8 are refused in one line with the files untouched;
what is written passes Beancount's own checks (bean-check); control
characters never land in a ledger; amounts are read strictly and echoed as
written; seals come from a declared user holding a role, never from the
future.
"""

from __future__ import annotations

import datetime
import errno
import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sample_ledgers import WRITER_LEDGER
from tool_inputs import NOW, credit

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.beans.seal_directive import render_seal
from beancount_adjustments.cli import main
from beancount_adjustments.core import seals
from beancount_adjustments.core.models import Action
from beancount_adjustments.intake.csv_import import import_csv
from beancount_adjustments.writer import (
    Decision,
    WriteRefused,
    write_decisions,
    write_requests,
)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(WRITER_LEDGER)
    monkeypatch.setenv("BEAN_ADJUST_LEDGER", str(path))
    monkeypatch.delenv("BEAN_ADJUST_USER", raising=False)
    monkeypatch.delenv("BEAN_ADJUST_TARGET", raising=False)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.is_file() and not p.name.endswith(".lock")}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def assert_one_line_refusal(result, *words: str) -> None:
    """Exit 1, no traceback, the reason on stderr (one `bean-adjust:` line per refusal)."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.output
    assert "Traceback" not in text
    for word in words:
        assert word in text, text


def bean_check(path: Path) -> list[str]:
    _, errors, _ = loading.load_file(str(path))
    return [e.message for e in errors]


# -- one lock per ledger -------------------------------------------------------------


def test_writers_to_two_files_of_one_ledger_allocate_different_ids(tmp_path: Path) -> None:
    main_file = tmp_path / "main.beancount"
    main_file.write_text(WRITER_LEDGER + 'include "a.beancount"\ninclude "b.beancount"\n')
    (tmp_path / "a.beancount").write_text("")
    (tmp_path / "b.beancount").write_text("")
    other: dict[str, object] = {}

    def write_b() -> None:
        other["result"] = write_requests(main_file, [credit("10.00")], now=NOW,
                                         target=tmp_path / "b.beancount")

    def while_a_holds_its_load(entries, book):
        # A has loaded the ledger and is choosing; B writes meanwhile to the
        # other file. With one lock per ledger B waits for A.
        thread = threading.Thread(target=write_b)
        thread.start()
        thread.join(timeout=1.5)
        other["thread"] = thread
        return [credit("12.00")]

    first = write_requests(main_file, while_a_holds_its_load, now=NOW,
                           target=tmp_path / "a.beancount")
    thread = other["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=60)
    second = other["result"]
    assert first.ids != second.ids  # type: ignore[attr-defined]
    assert bean_check(main_file) == []


# -- symlinks, read-only files and directories ---------------------------------------


def test_a_symlinked_ledger_is_written_through_and_stays_a_symlink(tmp_path: Path) -> None:
    real_dir = tmp_path / "repo"
    real_dir.mkdir()
    real = real_dir / "main.beancount"
    real.write_text(WRITER_LEDGER)
    link = tmp_path / "main.beancount"
    link.symlink_to(real)
    result = write_requests(link, [credit("10.00")], now=NOW)
    assert link.is_symlink()
    assert result.ids[0] in real.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert bean_check(link) == []


def test_a_read_only_ledger_is_refused_in_one_line(ledger: Path) -> None:
    ledger.chmod(0o444)
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match="read-only"):
        write_requests(ledger, [credit("10.00")], now=NOW)
    assert snapshot(ledger.parent) == before
    result = run("approve", "ADJ-2024-0001", "--as", "bob")
    assert_one_line_refusal(result, "read-only")
    assert snapshot(ledger.parent) == before


def test_a_read_only_directory_is_refused_in_one_line(ledger: Path) -> None:
    before = snapshot(ledger.parent)
    ledger.parent.chmod(0o555)
    try:
        with pytest.raises(WriteRefused, match="directory"):
            write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                            now=NOW)
        result = run("seal", "--as", "carol", "--date", "2024-03-31")
        assert_one_line_refusal(result, "read-only")
    finally:
        ledger.parent.chmod(0o755)
    assert snapshot(ledger.parent) == before


# -- OS and decoding errors ----------------------------------------------------------


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "no space left"),
                                             (errno.EFBIG, "larger than the system allows")])
def test_a_full_disk_or_too_large_file_is_a_refusal(ledger: Path, monkeypatch, code: int,
                                                    words: str) -> None:
    before = snapshot(ledger.parent)

    def failing(fd: int, data: bytes) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(WriteRefused, match=words):
        write_requests(ledger, [credit("10.00")], now=NOW)
    assert snapshot(ledger.parent) == before
    result = run("create", "--as", "alice", "--type", "credit:refund", "--customer",
                 "cust_123", "--amount", "10.00 USD", "--reason", "r",
                 "--offset-account", "Income:Sales:Returns")
    assert_one_line_refusal(result, words)
    assert snapshot(ledger.parent) == before
    assert not [p for p in ledger.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failing_replace_is_a_refusal_through_the_cli(ledger: Path, monkeypatch) -> None:
    before = snapshot(ledger.parent)

    def failing(src: str, dst: str) -> None:
        raise OSError(errno.EACCES, "Permission denied", dst)

    monkeypatch.setattr(os, "replace", failing)
    result = run("approve", "ADJ-2024-0001", "--as", "bob")
    assert_one_line_refusal(result, "permission denied")
    assert snapshot(ledger.parent) == before


def test_a_latin1_ledger_is_refused_not_a_traceback(ledger: Path) -> None:
    ledger.write_bytes(WRITER_LEDGER.replace('reason: "Damaged item"', 'reason: "Damaged caf\xe9"')
                       .encode("latin-1"))
    assert b"caf\xe9" in ledger.read_bytes()
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match="not UTF-8"):
        write_requests(ledger, [credit("10.00")], now=NOW)
    result = run("create", "--as", "alice", "--type", "credit:refund", "--customer",
                 "cust_123", "--amount", "10.00 USD", "--reason", "r")
    assert_one_line_refusal(result, "UTF-8")
    assert snapshot(ledger.parent) == before


def test_a_latin1_csv_is_refused_not_a_traceback(ledger: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_bytes("type,customer,amount,currency,reason,external-id\n"
                         "credit:refund,cust_123,10.00,USD,Caf\xe9,x-1\n".encode("latin-1"))
    before = snapshot(ledger.parent)
    result = run("import", "--as", "alice", str(csv_file),
                 "--offset-account", "Income:Sales:Returns")
    assert_one_line_refusal(result)
    assert "UTF-8" in result.output or "utf-8" in result.output
    assert snapshot(ledger.parent) == before


def test_a_60_digit_amount_is_refused_everywhere(ledger: Path, tmp_path: Path) -> None:
    huge = "9" * 60
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match="digits"):
        write_requests(ledger, [credit(huge + ".00")], now=NOW)
    result = run("create", "--as", "alice", "--type", "credit:refund", "--customer",
                 "cust_123", "--amount", f"{huge} USD", "--reason", "r")
    assert_one_line_refusal(result, "digits")
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("type,customer,amount,currency,reason,external-id,offset-account\n"
                        f"credit:refund,cust_123,{huge},USD,r,x-1,Income:Sales:Returns\n")
    result = run("import", "--as", "alice", str(csv_file))
    assert_one_line_refusal(result, "digits")
    assert snapshot(ledger.parent) == {**before, "rows.csv": csv_file.read_bytes()}


# -- Beancount's own checks ----------------------------------------------------------


def test_a_posting_in_a_currency_the_account_refuses_is_not_written(ledger: Path) -> None:
    ledger.write_text(WRITER_LEDGER + "\n2024-01-01 price EUR 1.10 USD\n")
    assert bean_check(ledger) == []
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match=r"\[beancount\]"):
        write_requests(ledger, [credit("10.00", "EUR")], now=NOW)
    result = run("create", "--as", "alice", "--type", "credit:refund", "--customer",
                 "cust_123", "--amount", "10.00 EUR", "--reason", "r",
                 "--offset-account", "Income:Sales:Returns")
    assert_one_line_refusal(result, "EUR")
    assert snapshot(ledger.parent) == before
    # Pending (it needs a manager) it moves nothing yet, but could never be applied.
    with pytest.raises(WriteRefused, match="once applied"):
        write_requests(ledger, [credit("100.00", "EUR")], now=NOW)


def test_an_effective_date_before_the_accounts_open_is_not_written(ledger: Path) -> None:
    before = snapshot(ledger.parent)
    result = run("create", "--as", "alice", "--type", "credit:refund", "--customer",
                 "cust_123", "--amount", "10.00 USD", "--reason", "r",
                 "--offset-account", "Income:Sales:Returns", "--effective", "1990-01-01")
    assert_one_line_refusal(result, "1990-01-01")
    assert snapshot(ledger.parent) == before


def test_an_approval_that_would_book_before_the_accounts_open_is_refused(
        ledger: Path) -> None:
    ledger.write_text(WRITER_LEDGER.replace('  requested-by: "alice"\n  Income',
                                            '  requested-by: "alice"\n  effective: 1990-01-01\n'
                                            '  Income', 1))
    assert bean_check(ledger) == []  # pending: it books nothing yet
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match="bean-check"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                        now=NOW)
    assert snapshot(ledger.parent) == before


def test_a_booked_entry_that_breaks_a_balance_assertion_is_refused(ledger: Path) -> None:
    ledger.write_text(WRITER_LEDGER
                      + "\n2024-12-31 balance Assets:Receivable:Customers  0.00 USD\n")
    assert bean_check(ledger) == []
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match="balance assertion"):
        write_requests(ledger, [credit("10.00")], now=NOW)  # chain-free: applied at once
    assert snapshot(ledger.parent) == before


def test_what_is_written_passes_bean_check(ledger: Path) -> None:
    write_requests(ledger, [credit("10.00"), credit("100.00")], now=NOW)
    write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")], now=NOW)
    assert bean_check(ledger) == []


# -- control characters --------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\r"])
def test_control_characters_are_refused_in_any_text(ledger: Path, char: str) -> None:
    before = snapshot(ledger.parent)
    with pytest.raises(WriteRefused, match=r"control|NUL|DEL|carriage"):
        write_requests(ledger, [credit("10.00", reason=f"bad{char}reason")], now=NOW)
    with pytest.raises(WriteRefused, match=r"control|NUL|DEL|carriage"):
        write_requests(ledger, [credit("10.00", meta={"ticket": f"T{char}1"})], now=NOW)
    with pytest.raises(WriteRefused, match=r"control|NUL|DEL|carriage"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.REJECT, by="bob",
                                          reason=f"no{char}")], now=NOW)
    assert snapshot(ledger.parent) == before


def test_a_nul_byte_from_a_csv_cell_never_reaches_the_ledger(ledger: Path,
                                                             tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("type,customer,amount,currency,reason,external-id,offset-account\n"
                        "credit:refund,cust_123,10.00,USD,Bad\x00cell,x-1,Income:Sales:Returns\n")
    before = ledger.read_bytes()
    outcome = import_csv(ledger, csv_file, user="alice", now=NOW)
    assert outcome.result is None
    assert any("NUL" in str(e) and e.line == 2 for e in outcome.errors), outcome.errors
    result = run("import", "--as", "alice", str(csv_file))
    assert_one_line_refusal(result, "NUL")
    assert ledger.read_bytes() == before


def test_a_tab_or_newline_is_fine_in_a_reason_but_not_in_a_name(ledger: Path) -> None:
    write_requests(ledger, [credit("10.00", reason="two\tcolumns")], now=NOW)
    with pytest.raises(WriteRefused, match="tab"):
        write_requests(ledger, [credit("10.00", meta={"ticket": "T\t1"})], now=NOW)
    assert bean_check(ledger) == []


# -- amounts -------------------------------------------------------------------------


def create(*extra: str):
    return run("create", "--as", "alice", "--type", "credit:refund", "--customer", "cust_123",
               "--reason", "r", "--offset-account", "Income:Sales:Returns", *extra)


@pytest.mark.parametrize("amount", ["40,00 USD", "1.000,00 USD", "40.001 USD", "1,23 USD",
                                    "40.00 usd"])
def test_ambiguous_or_too_precise_amounts_are_refused(ledger: Path, amount: str) -> None:
    before = snapshot(ledger.parent)
    assert_one_line_refusal(create("--amount", amount))
    assert snapshot(ledger.parent) == before


@pytest.mark.parametrize(("amount", "written"), [("40,00 USD", "40.00"),
                                                 ("1.000,00 USD", "1000.00")])
def test_decimal_comma_reads_amounts_the_european_way(ledger: Path, amount: str,
                                                      written: str) -> None:
    result = create("--amount", amount, "--decimal-comma")
    assert result.exit_code == 0, result.output
    assert f"-{written} USD" in ledger.read_text().replace("  ", " ").replace("  ", " ")
    assert f"{written} USD" in result.output.replace(",", "")


def test_what_is_written_is_echoed_exactly(ledger: Path) -> None:
    result = create("--amount", "40.5 USD")
    assert result.exit_code == 0, result.output
    assert "credit:refund 40.5 USD for cust_123" in result.output
    assert "-40.5 USD" in ledger.read_text()
    result = create("--amount", "1,234.50 USD")
    assert result.exit_code == 0, result.output
    assert "1234.50 USD" in result.output
    result = create("--amount", "5 JPY")
    assert "5 JPY" in result.output or result.exit_code == 1


def test_csv_amounts_are_read_like_the_cli(ledger: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    header = "type,customer,amount,currency,reason,external-id,offset-account\n"
    csv_file.write_text(header + 'credit:refund,cust_123,"40,00",USD,r,x-1,Income:Sales:Returns\n'
                        "credit:refund,cust_123,40.001,USD,r,x-2,Income:Sales:Returns\n"
                        'credit:refund,cust_123,"1.000,00",USD,r,x-3,Income:Sales:Returns\n')
    before = ledger.read_bytes()
    outcome = import_csv(ledger, csv_file, user="alice", now=NOW)
    assert {e.line for e in outcome.errors} == {2, 3, 4}, outcome.errors
    assert ledger.read_bytes() == before
    csv_file.write_text(header + 'credit:refund,cust_123,"40,00",USD,r,x-1,Income:Sales:Returns\n'
                        'credit:refund,cust_123,"1.000,50",USD,r,x-3,Income:Sales:Returns\n')
    outcome = import_csv(ledger, csv_file, user="alice", now=NOW, decimal_comma=True)
    assert outcome.errors == []
    text = ledger.read_text()
    assert "40.00 USD" in text
    assert "1000.50 USD" in text
    csv_file.write_text(header + 'credit:refund,cust_123,"7,00",USD,r,x-9,Income:Sales:Returns\n')
    result = run("import", "--as", "alice", str(csv_file), "--decimal-comma")
    assert result.exit_code == 0, result.output
    assert "7.00 USD" in ledger.read_text()


def test_template_amount_params_are_read_strictly(ledger: Path) -> None:
    ledger.write_text(WRITER_LEDGER + """
2024-01-01 custom "adjustment-template" "goodwill"
  type: "credit:refund"
  calculator: "fixed"
  offset-account: "Income:Sales:Returns"
  reason: "Goodwill"
""")
    before = snapshot(ledger.parent)
    result = run("from-template", "goodwill", "--as", "alice", "--customer", "cust_123",
                 "--param", "amount=40,00 USD")
    assert_one_line_refusal(result, "decimal comma")
    assert snapshot(ledger.parent) == before
    result = run("from-template", "goodwill", "--as", "alice", "--customer", "cust_123",
                 "--param", "amount=12,50 USD", "--decimal-comma")
    assert result.exit_code == 0, result.output
    assert "12.50 USD" in ledger.read_text()


# -- seals ---------------------------------------------------------------------------


def test_a_seal_by_an_undeclared_or_roleless_user_is_refused(ledger: Path) -> None:
    before = snapshot(ledger.parent)
    for who in ("mallory", "gone"):
        result = run("seal", "--as", who, "--date", "2024-03-31")
        assert_one_line_refusal(result, who)
        assert snapshot(ledger.parent) == before
    result = run("seal", "--as", "carol", "--date", "2024-03-31")
    assert result.exit_code == 0, result.output


def test_a_seal_dated_in_the_future_is_refused(ledger: Path) -> None:
    before = snapshot(ledger.parent)
    result = run("seal", "--as", "carol", "--date", "2099-12-31")
    assert_one_line_refusal(result, "after today")
    assert snapshot(ledger.parent) == before


def test_the_plugin_reports_a_seal_by_someone_without_a_role(ledger: Path) -> None:
    _, _, options = loading.load_file(str(ledger))
    book = book_of(options)
    assert book is not None

    def sealed_by(who: str) -> str:
        plan = seals.next_seal(book.facts, [], datetime.date(2024, 3, 31), who,
                               settings=book.settings)
        return WRITER_LEDGER + "\n" + render_seal(plan)

    for who in ("mallory", "gone"):
        ledger.write_text(sealed_by(who))
        _, errors, _ = loading.load_file(str(ledger))
        messages = [(e.source["lineno"], e.message) for e in errors]
        seal_line = WRITER_LEDGER.count("\n") + 2
        assert [line for line, m in messages if "[bad-seal]" in m] == [seal_line], messages
        assert not any("[seal-broken]" in m for _, m in messages)
    ledger.write_text(sealed_by("carol"))
    assert bean_check(ledger) == []


def test_the_files_mode_is_kept(ledger: Path) -> None:
    ledger.chmod(0o640)
    write_requests(ledger, [credit("10.00")], now=NOW)
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o640
