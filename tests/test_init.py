"""`bean-adjust init` on a ledger Beancount's example generator wrote: then the
two commands it prints (`create`, `approve`) work as printed, and the ledger
passes bean-check."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sample_ledgers import bean_example

import beancount_adjustments
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main


@pytest.fixture(scope="module")
def example_text(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("example") / "example.beancount"
    bean_example(path)  # pinned seed and dates: deterministic
    return path.read_bytes()


@pytest.fixture
def ledger(tmp_path: Path, example_text: bytes) -> Path:
    path = tmp_path / "main.beancount"
    path.write_bytes(example_text)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, AssertionError | TypeError), result.output
    return result.exit_code, result.output


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    bean_check = Path(sys.executable).parent / "bean-check"
    command = [str(bean_check)] if bean_check.exists() else [
        sys.executable, "-m", "beancount.scripts.check"]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


INIT = ("--user", "alice:agent", "--user", "bob:manager", "--customer", "cust_1")


def test_init_then_create_then_approve_applies(ledger: Path, example_text: bytes):
    code, out = run("init", "-f", str(ledger), *INIT)
    assert code == 0, out
    adjustments = ledger.parent / "adjustments.beancount"
    assert adjustments.is_file()
    # the ledger is as it was, plus the plugin and include lines
    after = ledger.read_bytes()
    assert after.startswith(example_text)
    assert after[len(example_text):] == (
        b'plugin "beancount_adjustments"\ninclude "adjustments.beancount"\n')
    written = adjustments.read_text()
    for line in ('custom "adjustment-user" "alice" "agent"',
                 'custom "adjustment-user" "bob" "manager"',
                 'custom "adjustment-customer" "cust_1" "standard"',
                 'custom "fava-extension" "beancount_adjustments.fava_ext"',
                 "open Assets:Receivable USD", "open Expenses:Adjustments:Credits USD",
                 "open Income:Adjustments:Debits USD", "open Income:Adjustments:Billing USD"):
        assert line in written
    for pattern in ("credit:*", "debit:*", "billing:*"):
        assert re.search(rf'"adjustment-approval" "{re.escape(pattern)}" +[\d.]+ USD "manager"',
                         written)
    # dated on the ledger's first open, before any transaction
    assert all(line.startswith("1980-05-12 ") for line in written.splitlines()
               if line[:1].isdigit())
    check = bean_check(ledger)
    assert check.returncode == 0, check.stdout + check.stderr

    # the two commands it prints, run as printed
    steps = out.split("next:\n", 1)[1].splitlines()
    create, approve = (shlex.split(step)[1:] for step in steps[:2])
    assert create[:1] == ["create"]
    assert "alice" in create
    assert "cust_1" in create
    assert approve[:1] == ["approve"]
    assert "bob" in approve
    code, out = run(*create)
    assert code == 0, out
    adj_id = re.search(r"(ADJ-\d{4}-\d{4}): credit:goodwill 50.00 USD for cust_1", out)
    assert adj_id, out
    assert "pending" in out
    assert "manager" in out
    assert adj_id[1] == approve[-1]
    code, out = run(*approve)
    assert code == 0, out
    assert "now applied" in out

    _, errors, options = loading.load_file(str(ledger))
    assert errors == []
    book = beancount_adjustments.book_of(options)
    assert book is not None
    assert str(book.adjustments[adj_id[1]].state) == "applied"
    check = bean_check(ledger)
    assert check.returncode == 0, check.stdout + check.stderr


def test_create_by_hand_with_the_readme_flags(ledger: Path):
    assert run("init", "-f", str(ledger), *INIT)[0] == 0
    code, out = run("create", "-f", str(ledger), "--as", "alice", "--type", "credit:refund",
                    "--customer", "cust_1", "--amount", "50.00 USD", "--reason", "Damaged item")
    assert code == 0, out
    code, out = run("approve", "-f", str(ledger), "--as", "bob", "ADJ-" + out.split("ADJ-")[1][:9])
    assert code == 0, out
    assert "now applied" in out


def test_init_twice_is_refused_and_changes_nothing(ledger: Path):
    assert run("init", "-f", str(ledger), *INIT)[0] == 0
    adjustments = ledger.parent / "adjustments.beancount"
    before = ledger.read_bytes(), adjustments.read_bytes()
    code, out = run("init", "-f", str(ledger), *INIT)
    assert code == 1
    assert out.count("\n") == 1
    assert "already" in out
    assert "init runs once" in out
    assert (ledger.read_bytes(), adjustments.read_bytes()) == before


def test_a_ledger_that_already_includes_it_is_refused(ledger: Path, example_text: bytes):
    ledger.write_bytes(example_text + b'include "adjustments.beancount"\n')
    code, out = run("init", "-f", str(ledger), *INIT)
    assert code == 1
    assert "already includes" in out
    assert not (ledger.parent / "adjustments.beancount").exists()


def test_a_ledger_with_the_plugin_gets_no_second_plugin_line(ledger: Path, example_text: bytes):
    ledger.write_bytes(b'plugin "beancount_adjustments"\n' + example_text)
    code, out = run("init", "-f", str(ledger), *INIT)
    assert code == 0, out
    text = ledger.read_text()
    assert text.count('plugin "beancount_adjustments"') == 1
    assert text.endswith('\ninclude "adjustments.beancount"\n')
    assert bean_check(ledger).returncode == 0


def test_no_receivable_account_opens_one(tmp_path: Path):
    ledger = tmp_path / "small.beancount"
    ledger.write_bytes(b'option "operating_currency" "EUR"\n'
                       b"2024-03-01 open Assets:Bank EUR\n"
                       b"2024-03-01 open Equity:Opening EUR\n"
                       b'2024-03-02 * "Opening"\n  Assets:Bank  100.00 EUR\n  Equity:Opening\n'
                       b"; no newline at the end")
    original = ledger.read_bytes()
    code, out = run("init", "-f", str(ledger), "--user", "ann:agent",
                    "--user", "ben:manager,finance", "--user", "cy:finance,cfo",
                    "--customer", "acme:vip")
    assert code == 0, out
    written = (tmp_path / "adjustments.beancount").read_text()
    assert "2024-03-01 open Assets:Receivable EUR" in written
    assert 'custom "adjustment-customer" "acme" "vip"' in written
    # one approving role per user: manager, then finance (ben's first, cy's first free)
    assert re.search(r'"credit:\*" +1000.00 EUR "manager" "finance"\n', written)
    assert "cfo" not in written.split("Approval matrix")[1]
    assert ledger.read_bytes() == (original + b'\nplugin "beancount_adjustments"\n'
                                   b'include "adjustments.beancount"\n')
    assert bean_check(ledger).returncode == 0
    code, out = run("create", "-f", str(ledger), "--as", "ann", "--type", "debit:fee",
                    "--customer", "acme", "--amount", "1200.00 EUR", "--reason", "Late fee")
    assert code == 0, out
    assert "manager, then finance" in out


def test_an_existing_receivable_root_is_used(tmp_path: Path):
    ledger = tmp_path / "ar.beancount"
    ledger.write_text('option "operating_currency" "USD"\n'
                      "2024-01-01 open Assets:AccountsReceivable:Acme USD\n"
                      "2024-01-01 open Assets:AccountsReceivable:Globex USD\n"
                      "2024-01-01 open Expenses:Adjustments:Credits\n")
    code, out = run("init", "-f", str(ledger), "--user", "alice:agent", "--user", "bob:manager",
                    "--customer", "globex", "--customer", "acme")
    assert code == 0, out
    written = (tmp_path / "adjustments.beancount").read_text()
    assert "open Assets:" not in written
    assert "open Expenses:Adjustments:Credits" not in written  # already open
    assert "plugin \"beancount_adjustments\" \"{'receivable': 'Assets:AccountsReceivable'}\"" in (
        ledger.read_text())
    assert bean_check(ledger).returncode == 0
    create = shlex.split(out.split("next:\n")[1].splitlines()[0])[1:]
    assert "--receivable-account" not in create  # the account named after the customer
    code, out = run(*create)
    assert code == 0, out
    assert "for globex" in out


@pytest.mark.parametrize("bad", ["alice", "alice:", ":agent", "alice:Agent", "al ice:agent",
                                 'al"ice:agent', "alice:agent,,manager"])
def test_bad_user_syntax_is_one_line_exit_1(ledger: Path, example_text: bytes, bad: str):
    code, out = run("init", "-f", str(ledger), "--user", bad, "--user", "bob:manager",
                    "--customer", "cust_1")
    assert code == 1
    assert out.count("\n") == 1
    assert out.startswith("bean-adjust: refused: --user")
    assert "NAME:ROLE" in out
    assert ledger.read_bytes() == example_text
    assert not (ledger.parent / "adjustments.beancount").exists()


def test_bad_customer_and_no_approver_are_refused(ledger: Path, example_text: bytes):
    code, out = run("init", "-f", str(ledger), "--user", "bob:manager", "--customer", "a b")
    assert code == 1
    assert "ID[:TIER]" in out
    code, out = run("init", "-f", str(ledger), "--user", "alice:agent", "--customer", "c")
    assert code == 1
    assert "no user can approve" in out
    assert ledger.read_bytes() == example_text
    assert not (ledger.parent / "adjustments.beancount").exists()


def test_a_symlinked_ledger_stays_a_symlink(tmp_path: Path, example_text: bytes):
    real = tmp_path / "real.beancount"
    real.write_bytes(example_text)
    link = tmp_path / "main.beancount"
    link.symlink_to(real.name)
    assert run("init", "-f", str(link), *INIT)[0] == 0
    assert link.is_symlink()
    assert real.read_bytes().endswith(b'include "adjustments.beancount"\n')
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", "check.beancount"))]


@pytest.mark.skipif(shutil.which("bean-adjust") is None and not (
    Path(sys.executable).parent / "bean-adjust").exists(), reason="no console script")
def test_the_console_script_has_init():
    script = Path(sys.executable).parent / "bean-adjust"
    done = subprocess.run([str(script), "init", "--help"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0
    assert "--user" in done.stdout
    assert "--customer" in done.stdout


def test_a_stray_adjustments_file_is_refused(ledger: Path, example_text: bytes):
    stray = ledger.parent / "adjustments.beancount"
    stray.write_text("; mine\n")
    code, out = run("init", "-f", str(ledger), *INIT)
    assert code == 1
    assert "does not include it" in out
    assert stray.read_text() == "; mine\n"
    assert ledger.read_bytes() == example_text
