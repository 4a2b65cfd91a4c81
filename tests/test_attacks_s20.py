"""Twentieth round of attacks: the tools and the shared web workspace.

Each test is one way tried to act without being allowed, to act as someone else,
or to make the ledger say something other than what was asked, through Fava's
endpoints, the CLI, the Python API and the importers. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the commit
that added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fava_env import CREATE_EXTRA, Env

from beancount_adjustments import api
from beancount_adjustments.cli import main
from beancount_adjustments.core import amounts
from beancount_adjustments.intake.csv_import import import_csv
from ledgers import TOOLS_BASE

FAVA = "/test-ledger/extension/AdjustmentsExtension/"


pytestmark = pytest.mark.usefixtures("poll_watcher")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE + '2024-01-01 custom "adjustment-customer" "cust_9" "standard"\n'
                    '2024-01-01 custom "adjustment-category" "operational:other"\n')
    return path


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()
            if p.is_file() and not p.name.endswith((".lock", ".picklecache"))}


def _bean_check(path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("bean-check")), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# -- digits of other scripts ----------------------------------------------------------------

# Bengali four (U+09EA) reads as an 8, Arabic-Indic digits, fullwidth and mathematical digits,
# and Latin digits mixed with any of them: Python's `\d` and `Decimal` take them all.
OTHER_DIGITS = ["৪00", "١٠٠", "1٠0", "１００", "𝟗9", "2,৪00.00"]


@pytest.mark.parametrize("text", OTHER_DIGITS)
def test_digits_of_other_scripts_are_not_an_amount(text: str) -> None:
    """Hole: "\u09ea00" (a Bengali four, drawn like an 8) was read as 400, and any mix of
    Unicode digits as the number Python's `Decimal` makes of them: the reviewer of a
    ticket reading "800" approved a request the tool filed for 400 (or the reverse)."""
    with pytest.raises(amounts.AmountError) as raised:
        amounts.parse_number(text)
    assert "0-9" in str(raised.value)
    with pytest.raises(amounts.AmountError):
        amounts.parse_number(text, decimal_comma=True)


def test_an_amount_in_other_digits_writes_nothing_through_any_tool(ledger: Path,
                                                                  tmp_path: Path) -> None:
    before = _files(tmp_path)
    with pytest.raises(api.ApiError) as raised:
        api.create(ledger, customer="cust_123", type="credit:refund", amount="৪00 USD",
                   reason="Damaged", as_user="alice")
    assert raised.value.code == "invalid"
    result = CliRunner().invoke(main, ["create", "-f", str(ledger), "--as", "alice",
                                       "--customer", "cust_123", "--type", "credit:refund",
                                       "--amount", "১০.00 USD", "--reason", "Damaged"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    csv = tmp_path / "in.csv"
    csv.write_text("type,customer,amount,currency,reason,external-id\n"
                   "credit:refund,cust_123,৪00,USD,Damaged,crm-1\n", encoding="utf-8")
    done = import_csv(ledger, csv, user="alice")
    assert done.errors
    assert _files(tmp_path) == {**before, "in.csv": csv.read_bytes()}


# -- what a retry under an external id asks for ----------------------------------------------

FIRST: dict[str, Any] = {"customer": "cust_123", "type": "credit:refund",
                         "amount": "500.00 USD", "reason": "Damaged", "external_id": "crm-20"}


@pytest.mark.parametrize("change", [
    {"effective": "2024-06-01"},
    {"category": "operational:other"},
    {"approval_required": True},
    {"reason": "Goodwill for the outage"},
    {"order": "order_9"},
    {"notes": "Refund to the card instead"},
    {"on_statement": False},
])
def test_an_external_id_retried_with_other_fields_is_a_conflict(
        ledger: Path, change: dict[str, Any]) -> None:
    """Hole: a retry under a used external id was compared on its customer, type and
    postings only: a call asking for the credit booked on another date, under another
    category (another approval row), with approval required (the first one was approved
    at once), or for another reason was answered with the first request (`existing`), so
    the caller took it for what it asked and what it asked was never filed."""
    first = api.create(ledger, **FIRST, as_user="alice")
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError) as raised:
        api.create(ledger, **{**FIRST, **change}, as_user="alice")
    assert raised.value.code == "conflict"
    assert first.id in raised.value.message
    assert ledger.read_bytes() == before
    again = api.create(ledger, **FIRST, as_user="alice")
    assert again.existing
    assert again.id == first.id


def test_a_retry_giving_what_the_first_call_left_to_defaults_is_the_same_request(
        ledger: Path) -> None:
    """The currency defaulted, the type spelled as kind and category: still a retry."""
    first = api.create(ledger, **{**FIRST, "amount": "500.00", "currency": "USD"},
                       as_user="alice")
    again = api.create(ledger, **{**FIRST, "type": "credit", "category": "refund"},
                       as_user="alice")
    assert again.existing
    assert again.id == first.id


CSV_HEAD = "type,customer,amount,currency,reason,external-id\n"
OFFSET = "Expenses:Adjustments:Credits"


@pytest.mark.parametrize("row", [
    "credit:refund,cust_9,20.00,USD,Damaged,crm-1",
    "credit:refund,cust_123,20.00,USD,Damaged,crm-1",
    "credit:goodwill,cust_123,500.00,USD,Damaged,crm-1",
])
def test_a_csv_row_reusing_an_external_id_for_another_request_is_refused(
        ledger: Path, tmp_path: Path, row: str) -> None:
    """Hole: a row whose external-id the ledger held was skipped as "already imported"
    whatever it asked for: a 20 USD credit to cust_9 typed with the id of cust_123's
    500 USD one was never filed, and the import said it had been before."""
    csv = tmp_path / "in.csv"
    csv.write_text(CSV_HEAD + "credit:refund,cust_123,500.00,USD,Damaged,crm-1\n")
    assert import_csv(ledger, csv, user="alice", offset_account=OFFSET).errors == []
    before = ledger.read_bytes()
    csv.write_text(CSV_HEAD + row + "\n")
    done = import_csv(ledger, csv, user="alice", offset_account=OFFSET)
    assert [e.line for e in done.errors] == [2]
    assert "crm-1" in done.errors[0].message
    assert ledger.read_bytes() == before
    # The same row again is a re-import: skipped, nothing written.
    csv.write_text(CSV_HEAD + "credit:refund,cust_123,500.00,USD,Damaged,crm-1\n")
    again = import_csv(ledger, csv, user="alice", offset_account=OFFSET)
    assert again.errors == []
    assert ledger.read_bytes() == before


# -- Fava: create's fields reach the ledger as they were sent ---------------------------------

TRICKY = [
    'Line one\n2024-01-01 custom "adjustment" "ADJ-1" "approve"\n  by: "bob"',
    'He said "refund" \\ then; left',
    'include "other.beancount"',
    "x" * 5000,
]


@pytest.mark.parametrize("reason", TRICKY)
def test_a_reason_that_spells_directives_stays_one_reason(tmp_path: Path, reason: str) -> None:
    env = Env(tmp_path, extra=CREATE_EXTRA)
    body = {"customer": "cust_456", "type": "credit:refund", "amount": "30.00 USD",
            "reason": reason}
    response = env.client.post(FAVA + "create", json=body, headers={"X-Remote-User": "alice"})
    assert response.status_code == 201, response.get_json()
    adj_id = response.get_json()["id"]
    _bean_check(env.path)
    assert api.get(env.path, adj_id).reason == reason
    # Nothing was approved by the text: ADJ-1 is still pending.
    assert env.state("ADJ-1") == "pending"


@pytest.mark.parametrize("field", ["offset_account", "currency", "order", "id"])
def test_a_line_break_in_a_one_line_field_writes_nothing(tmp_path: Path, field: str) -> None:
    env = Env(tmp_path, extra=CREATE_EXTRA)
    before = _files(tmp_path)
    values = {"offset_account": "Expenses:Adjustments:Credits\n2024-01-01 open Assets:X",
              "currency": "USD\n2024-01-01 open Assets:X", "order": "order_456\n; x",
              "id": "ADJ-9\n2024-01-01 open Assets:X"}
    body = {"customer": "cust_456", "type": "credit:refund", "amount": "30.00",
            "reason": "Because", field: values[field]}
    if field != "currency":
        body["currency"] = "USD"
    response = env.client.post(FAVA + "create", json=body, headers={"X-Remote-User": "alice"})
    assert response.status_code in (400, 422), response.get_json()
    assert "\n" not in response.get_json()["message"]
    assert _files(tmp_path) == before


@pytest.mark.parametrize("amount", ["-0", "-0.00", "0x10", "1e3", "Infinity", "1.000,00"])
def test_an_amount_that_is_no_plain_number_writes_nothing(tmp_path: Path, amount: str) -> None:
    env = Env(tmp_path, extra=CREATE_EXTRA)
    before = _files(tmp_path)
    body = {"customer": "cust_456", "type": "credit:refund", "amount": f"{amount} USD",
            "reason": "Because"}
    response = env.client.post(FAVA + "create", json=body, headers={"X-Remote-User": "alice"})
    assert response.status_code in (400, 422), response.get_json()
    assert _files(tmp_path) == before


# -- the CLI's dates ---------------------------------------------------------------------------

def test_cli_create_with_a_date_in_other_digits_is_refused(ledger: Path, tmp_path: Path) -> None:
    before = _files(tmp_path)
    result = CliRunner().invoke(main, ["create", "-f", str(ledger), "--as", "alice",
                                       "--customer", "cust_123", "--type", "credit:refund",
                                       "--amount", "10.00 USD", "--reason", "Damaged",
                                       "--date", "٢٠٢٤-٠٦-٠١"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert _files(tmp_path) == before




@pytest.mark.parametrize("amount", ["৪00.00", "1.000,00", "1e3", "0x10", "1,0,0"])
def test_a_stripe_row_whose_amount_does_not_read_strictly_refuses_the_file(
        tmp_path: Path, amount: str) -> None:
    """Hole: the Stripe importer read amounts with `Decimal` after dropping commas:
    "1.000,00" (a thousand, with a decimal comma) became a 1.00000 USD refund, "1e3"
    1000, "\u09ea00.00" 400.00; each is now read as every other tool reads an amount
    (`amounts.parse_number`), and a row that does not read refuses the file, naming
    its line (it was skipped)."""
    from beangulp.exceptions import Error as BeangulpError

    from beancount_adjustments.intake.stripe_import import StripeImporter

    export = tmp_path / "stripe.csv"
    export.write_text("id,type,amount,currency,status,customer id,created (utc)\n"
                      're_2,refund,"1,234.50",usd,succeeded,cus_1,2026-11-01\n'
                      f're_1,refund,"{amount}",usd,succeeded,cus_1,2026-11-01\n',
                      encoding="utf-8")
    importer = StripeImporter(requested_by="alice", customers={"cus_1": "cust_123"},
                              entered_by="alice")
    with pytest.raises(BeangulpError, match=f"^{re.escape(str(export))}:3: Amount and "
                       "Currency: .*; nothing extracted from this file$"):
        importer.extract(str(export), [])
    export.write_text("\n".join(export.read_text(encoding="utf-8").splitlines()[:2]) + "\n",
                      encoding="utf-8")
    found = importer.extract(str(export), [])
    assert [e.meta["external-id"] for e in found] == ["re_2"]
    assert {str(p.units) for p in found[0].postings} == {"1234.50 USD", "-1234.50 USD"}


# -- Fava: a full disk, a double click, odd identities ---------------------------------------

def test_a_full_disk_during_a_fava_decision_is_one_line_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    env = Env(tmp_path)
    before = _files(tmp_path)

    def failing(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", failing)
    response = env.decide([{"id": "ADJ-2", "action": "approve"}])
    monkeypatch.undo()
    assert response.status_code >= 400
    body = response.get_json()
    text = body.get("message") or body.get("error") or str(body)
    assert "no space left" in text.lower()
    assert "\n" not in text
    assert "Traceback" not in text
    assert _files(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert env.state("ADJ-2") == "pending"


def test_a_double_click_on_approve_is_one_approval(tmp_path: Path) -> None:
    env = Env(tmp_path)
    adj = env.ext.book.get("ADJ-5") if env.ext.book is not None else None
    assert adj is not None
    from beancount_adjustments.core.lifecycle import step_shown

    click = [{"id": "ADJ-5", "action": "approve", "digest": adj.digest,
              "step": step_shown(adj)}]
    assert env.decide(click, user="erin").status_code == 200
    again = env.decide(click, user="erin")
    assert again.status_code == 409
    assert env.path.read_text().count('custom "adjustment" "ADJ-5" "approve"') == 1


@pytest.mark.parametrize("name", ["bob\u200b", "b\u043eb", "bob\u2028", "\u202ebob",
                                  "bob\u00a0", "BOB"])
def test_a_header_name_that_reads_as_a_user_acts_as_nobody_declared(tmp_path: Path,
                                                                    name: str) -> None:
    env = Env(tmp_path)
    before = _files(tmp_path)
    body = {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]}
    response = env.client.post(FAVA + "decide", json=body,
                               headers={"X-Remote-User": name.encode().decode("latin-1")})
    assert response.status_code in (403, 422), response.get_json()
    assert _files(tmp_path) == before
