"""Twenty-second round of attacks: one writing path, and the guard in a shared Fava.

Each test is one way tried to write what the controls would refuse, or to make
the evidence say something untrue: a seal written beside the writer, an
idempotence key answered without looking at what was asked, a second ledger of
the same Fava writing a guarded ledger's file, a template number read otherwise
than every other amount. A test whose docstring says "Hole:" failed on the code
it was written against (the fix is named in the commit that added it); the
others held and add coverage no earlier test had.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fava_env import HEADER_CONFIG, ledger_text, shared_fava
from sample_ledgers import WRITER_LEDGER

from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main
from beancount_adjustments.core import seals
from beancount_adjustments.writer import target as target_mod

INCLUDED = 'include "adjustments.beancount"\n'


pytestmark = pytest.mark.usefixtures("no_tool_env")


@pytest.fixture
def ledger(writer_ledger: Path) -> Path:
    return writer_ledger


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()
            if p.is_file() and not p.name.endswith((".lock", ".picklecache"))}


def _bean_check(path: Path) -> tuple[int, str]:
    done = subprocess.run([str(Path(sys.executable).with_name("bean-check")), str(path)],
                          capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env)


def _one_line_refusal(result: Any, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


# -- 1. the seal goes through the one writer ---------------------------------------------


def test_a_seal_waits_for_the_writers_lock_and_is_refused_when_it_stays_held(
        ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(target_mod.ledger_locked.__wrapped__, "__defaults__", (0.2,))
    before = _files(ledger.parent)
    with target_mod.locked(ledger):
        result = _run("seal", "-f", str(ledger), "--as", "carol", "--date", "2024-03-31")
    _one_line_refusal(result, "another writer has held the lock")
    assert _files(ledger.parent) == before


def test_a_seal_on_a_read_only_ledger_is_refused(ledger: Path) -> None:
    ledger.chmod(0o444)
    before = _files(ledger.parent)
    result = _run("seal", "-f", str(ledger), "--as", "carol", "--date", "2024-03-31")
    _one_line_refusal(result, "read-only")
    assert _files(ledger.parent) == before


def test_a_seal_on_a_full_disk_is_a_one_line_refusal(ledger: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = _files(ledger.parent)

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    result = _run("seal", "-f", str(ledger), "--as", "carol", "--date", "2024-03-31")
    _one_line_refusal(result, "no space left")
    assert _files(ledger.parent) == before


def test_a_seal_that_would_break_the_chain_is_refused(tmp_path: Path) -> None:
    """Hole: a second seal on the day of the last one, appended to an included file
    at a line before the first seal's line in the root file, sorts before it
    (Beancount orders one day's entries by line, whatever their file): the chain
    broke at once, `seal-broken`, and bean-check failed on the command's own write."""
    main_file = tmp_path / "main.beancount"
    padding = "".join(f"; note {i}\n" for i in range(60))
    main_file.write_text(WRITER_LEDGER.replace(
        'plugin "beancount_adjustments"\n',
        'plugin "beancount_adjustments"\n' + INCLUDED) + padding)
    (tmp_path / "adjustments.beancount").write_text("")
    first = _run("seal", "-f", str(main_file), "--as", "carol", "--date", "2024-03-31",
                 env={"BEAN_ADJUST_TARGET": str(main_file)})
    assert first.exit_code == 0, first.output
    assert _bean_check(main_file)[0] == 0
    before = _files(tmp_path)
    second = _run("seal", "-f", str(main_file), "--as", "carol", "--date", "2024-03-31")
    _one_line_refusal(second, "seal-broken")
    assert _files(tmp_path) == before
    assert _bean_check(main_file)[0] == 0


def test_a_seal_is_not_written_over_an_edit_saved_while_it_was_judged(
        ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: the seal was computed from a load, and the file read again after it to
    append to: a request saved in between was kept in the file but not in the seal,
    which was broken as written (the writer compares the file it judged with the one
    it replaces)."""
    real = seals.next_seal
    edit = ('\n2024-03-06 ! "cust_123" "Saved meanwhile" ^ADJ-2024-0009\n'
            '  adjustment-type: "credit:refund"\n  customer: "cust_123"\n'
            '  reason: "Saved meanwhile"\n  requested-by: "alice"\n'
            '  Income:Sales:Returns            5.00 USD\n'
            '  Assets:Receivable:Customers    -5.00 USD\n')

    def saved_meanwhile(*args: Any, **kwargs: Any) -> seals.SealPlan:
        plan = real(*args, **kwargs)
        with ledger.open("a") as handle:
            handle.write(edit)
        return plan

    monkeypatch.setattr(seals, "next_seal", saved_meanwhile)
    result = _run("seal", "-f", str(ledger), "--as", "carol", "--date", "2024-03-31")
    _one_line_refusal(result, "changed while")
    assert "custom \"adjustment-seal\"" not in ledger.read_text()
    assert _bean_check(ledger)[0] == 0


# -- 2. from-template --external-id: a retry or another request ----------------------


TEMPLATE_LEDGER = WRITER_LEDGER + """
2024-01-01 custom "adjustment-customer" "cust_9" "standard"
2024-01-01 custom "adjustment-template" "goodwill"
  type: "credit:refund"
  amount: 10.00 USD
  offset-account: "Income:Sales:Returns"
  reason: "Goodwill credit"
"""


def test_a_template_retry_under_its_external_id_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(TEMPLATE_LEDGER)
    args = ["from-template", "goodwill", "-f", str(path), "--as", "alice", "--customer",
            "cust_123", "--external-id", "gw-1"]
    assert _run(*args).exit_code == 0
    before = _files(tmp_path)
    again = _run(*args)
    assert again.exit_code == 0, again.output
    assert "wrote nothing" in again.output
    assert _files(tmp_path) == before


def test_another_template_request_under_a_used_external_id_is_refused(tmp_path: Path) -> None:
    """Hole: `from-template --external-id` answered "already in the ledger; wrote
    nothing" (exit 0) for a request for another customer under a used id: its
    caller took cust_123's credit for the cust_9 credit it asked for, which was
    never filed (the API and the CSV import compare, `writer.retries`)."""
    path = tmp_path / "main.beancount"
    path.write_text(TEMPLATE_LEDGER)
    first = _run("from-template", "goodwill", "-f", str(path), "--as", "alice", "--customer",
                 "cust_123", "--external-id", "gw-1")
    assert first.exit_code == 0, first.output
    before = _files(tmp_path)
    other = _run("from-template", "goodwill", "-f", str(path), "--as", "alice", "--customer",
                 "cust_9", "--external-id", "gw-1")
    _one_line_refusal(other, "gw-1", "cust_9")
    assert _files(tmp_path) == before
    reason = _run("from-template", "goodwill", "-f", str(path), "--as", "alice", "--customer",
                  "cust_123", "--external-id", "gw-1",
                  "--reason", "Another reason")
    _one_line_refusal(reason, "reason")
    assert _files(tmp_path) == before


# -- 3. a second ledger of the same Fava sharing a guarded ledger's file ----------------


OTHER_SHARING = 'option "title" "Other"\ninclude "adjustments.beancount"\n'
OTHER_APART = ('option "title" "Other"\n2024-01-01 open Assets:Cash\n')


def _put_source(client: Any, slug: str, path: Path, text: str) -> Any:
    got = client.get(f"/{slug}/api/source", query_string={"filename": str(path)})
    assert got.status_code == 200, got.get_data(as_text=True)
    sha = got.get_json()["data"]["sha256sum"]
    return client.put(f"/{slug}/api/source", json={"file_path": str(path), "source": text,
                                                    "sha256sum": sha},
                      headers={"X-Remote-User": "bob"})


FORGED = '\n2026-01-01 custom "adjustment" "ADJ-2" "approve"\n  by: "erin"\n'


@pytest.mark.parametrize("load", [True, False])
def test_a_second_ledger_cannot_write_a_guarded_ledgers_file(tmp_path: Path,
                                                             load: bool) -> None:
    """Hole: the guard ran only for the ledger that enables the extension: a second
    ledger of the same Fava including its adjustments.beancount wrote a forged
    approval into it through Fava's editor (/other/api/source), no identity asked."""
    app = shared_fava(tmp_path, OTHER_SHARING, load=load)
    client = app.test_client()
    shared = tmp_path / "adjustments.beancount"
    before = _files(tmp_path)
    response = _put_source(client, "other", shared, FORGED)
    assert response.status_code == 403, response.get_data(as_text=True)
    message = response.get_json()["error"]
    assert "adjustments.beancount" in message
    assert "Test Ledger" in message
    added = client.put("/other/api/add_entries", json={"entries": []},
                       headers={"X-Remote-User": "bob"})
    assert added.status_code == 403
    assert _files(tmp_path) == before


def test_a_second_ledger_that_is_the_same_file_cannot_write_it(tmp_path: Path) -> None:
    """Held: a ledger that includes the guarded root file reads its
    `fava-extension` line too, so it is guarded itself."""
    from fava.application import create_app

    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger_text(HEADER_CONFIG))
    (tmp_path / "other.beancount").write_text(
        'option "title" "Other"\ninclude "main.beancount"\n')
    app = create_app([str(main_file), str(tmp_path / "other.beancount")], load=True,
                     poll_watcher=True)
    app.testing = True
    client = app.test_client()
    before = _files(tmp_path)
    response = _put_source(client, "other", main_file, main_file.read_text() + FORGED)
    assert response.status_code == 403
    assert _files(tmp_path) == before


def test_a_second_ledger_apart_keeps_its_own_editor(tmp_path: Path) -> None:
    """The app's guard refuses only writes to a shared file: a ledger sharing none
    keeps Fava's editor."""
    app = shared_fava(tmp_path, OTHER_APART)
    client = app.test_client()
    other = tmp_path / "other.beancount"
    response = _put_source(client, "other", other, OTHER_APART + "; a note\n")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert other.read_text().endswith("; a note\n")


# -- 4. calculator numbers in the ledger read as every amount is -------------------------


def _template_ledger(tmp_path: Path, percent: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(WRITER_LEDGER + f"""
2024-01-01 open Income:Fees
2024-01-01 custom "adjustment-approval" "debit:*"  0.00 USD
2024-02-01 * "cust_123" "Invoice"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers     200.00 USD
  Income:Fees                    -200.00 USD

2024-01-01 custom "adjustment-template" "late-fee"
  type: "debit:fee"
  calculator: "percent-of-invoice"
  percent: {percent}
  offset-account: "Income:Fees"
  reason: "Late fee for {{invoice}}"
""")
    return path


def _template_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if '"adjustment-template"' in line)


@pytest.mark.parametrize("percent", ['"1,5"', '"٢"'])
def test_a_template_number_that_does_not_read_strictly_is_the_plugins_error(
        tmp_path: Path, percent: str) -> None:
    """Hole: a template's `percent: "1,5"` was read as 15 (the comma dropped), and
    `"٢"` (an Arabic-Indic two) as 2: `Decimal` directly, where every other amount
    is read by `amounts.parse_number`; now the plugin's error at the template's line."""
    path = _template_ledger(tmp_path, percent)
    _, errors, _ = loading.load_file(str(path))
    found = [e for e in errors if "[bad-template]" in e.message]
    assert found, [e.message for e in errors]
    assert found[0].source["lineno"] == _template_line(path)
    before = _files(tmp_path)
    result = _run("from-template", "late-fee", "-f", str(path), "--as", "alice",
                  "--customer", "cust_123", "--invoice", "INV-1")
    _one_line_refusal(result, "late-fee")
    assert _files(tmp_path) == before


@pytest.mark.parametrize("percent", ['"1e1"', '"NaN"', '"Infinity"'])
def test_a_template_number_with_an_exponent_or_no_value_is_refused(tmp_path: Path,
                                                                   percent: str) -> None:
    """Hole: `percent: "1e1"` made a 10 % fee, and `"NaN"` a traceback (Decimal reads
    both); now a one-line refusal naming the template."""
    path = _template_ledger(tmp_path, percent)
    before = _files(tmp_path)
    result = _run("from-template", "late-fee", "-f", str(path), "--as", "alice",
                  "--customer", "cust_123", "--invoice", "INV-1")
    _one_line_refusal(result, "percent")
    assert _files(tmp_path) == before
