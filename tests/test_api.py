"""`beancount_adjustments.api`: the seed's `crm.adjustments.create(...)` from Python.

Every call goes through the one writer; a refused call raises `ApiError`
with a code and leaves the ledger byte-identical; a retry with the same
`external_id` returns the first result and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sample_ledgers import API_LEDGER
from tool_inputs import SEED

from beancount_adjustments import api
from beancount_adjustments.cli import main


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(API_LEDGER)
    return path


def test_the_seeds_example_through_the_python_api(ledger: Path) -> None:
    adj = api.create(ledger, **SEED, external_id="crm-1", as_user="alice")
    assert adj.type == "credit:refund"
    assert adj.category is None
    assert adj.state == "pending"
    assert adj.next_role == "manager"
    assert adj.amount is not None
    assert adj.amount.number == Decimal("50")
    assert adj.amount.currency == "USD"
    assert "a manager" in adj.requires
    assert adj.notes == SEED["notes"]
    assert adj.approval_required
    assert not adj.existing
    text = ledger.read_text()
    for line in ('entered-by: "alice"', 'requested-by: "alice"', 'order: "order_456"',
                 "approval-required: TRUE", f'notes: "{SEED["notes"]}"',
                 'external-id: "crm-1"', "Expenses:Adjustments:Credits",
                 "Assets:Receivable:Customers"):
        assert line in text
    assert api.get(ledger, adj.id) == adj
    assert [a.id for a in api.list(ledger, state="pending", customer="cust_123")] == [adj.id]
    assert api.list(ledger, type="debit:*") == []
    done = api.approve(ledger, adj.id, as_user="bob", seen_digest=adj.digest)
    assert done.state == "applied"
    assert done.notes == SEED["notes"]


def test_a_retry_with_the_same_external_id_returns_the_first_result(ledger: Path) -> None:
    first = api.create(ledger, **SEED, external_id="crm-1", as_user="alice")
    before = ledger.read_bytes()
    again = api.create(ledger, **{**SEED, "amount": "50.00 USD"}, external_id="crm-1",
                       as_user="alice")
    assert again.existing
    assert again.id == first.id
    assert again == first
    assert ledger.read_bytes() == before


@pytest.mark.parametrize(("amount", "words"), [
    ("40,00", "decimal comma"), ("40.001 USD", "decimals"), (True, "number"),
    (0.1 + 0.2, "decimals"), ("abc", "not a number"), (Decimal("NaN"), "not a number")])
def test_a_bad_amount_is_refused_with_a_message(ledger: Path, amount: object,
                                                words: str) -> None:
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError) as info:
        api.create(ledger, customer="cust_123", type="credit:refund", amount=amount,
                   reason="r", as_user="alice")  # type: ignore[arg-type]
    assert info.value.code == "invalid"
    assert info.value.status == 400
    assert words in info.value.message
    assert ledger.read_bytes() == before


def test_amounts_strict_but_exact(ledger: Path) -> None:
    adj = api.create(ledger, customer="cust_123", type="credit:refund",
                     amount=Decimal("30.00"), reason="r", as_user="alice")
    assert adj.amount is not None
    assert str(adj.amount.number) == "30.00"
    adj = api.create(ledger, customer="cust_123", type="credit:refund", amount="USD 1,200.50",
                     reason="r", as_user="alice")
    assert adj.amount is not None
    assert adj.amount.number == Decimal("1200.50")
    assert adj.chain == ("manager", "finance")


@pytest.mark.parametrize(("kwargs", "code", "words"), [
    ({"type": "credit"}, "invalid", "credit:refund"),
    ({"type": "credit", "category": "customer-service:goodwill"}, "invalid", "full type"),
    ({"type": "credit", "category": "nonsense"}, "invalid", "credit:goodwill"),
    ({"type": "refund"}, "invalid", "debit:fee"),
    ({"customer": ""}, "invalid", "customer is required"),
    ({"notes": "two\nlines"}, "invalid", "line break"),
    ({"effective": "next week"}, "invalid", "YYYY-MM-DD"),
    ({"customer": "nobody"}, "refused", "nobody"),
    ({"as_user": "mallory"}, "refused", "mallory"),
])
def test_bad_input_is_an_api_error_with_a_code(ledger: Path, kwargs: dict[str, object],
                                               code: str, words: str) -> None:
    before = ledger.read_bytes()
    call: dict[str, object] = {"customer": "cust_123", "type": "credit:refund",
                               "amount": "10.00 USD", "reason": "r", "as_user": "alice",
                               **kwargs}
    with pytest.raises(api.ApiError) as info:
        api.create(ledger, **call)  # type: ignore[arg-type]
    assert info.value.code == code, info.value.message
    assert words in info.value.message
    assert ledger.read_bytes() == before


def test_decisions_and_their_errors(ledger: Path) -> None:
    adj = api.create(ledger, **SEED, as_user="alice")
    with pytest.raises(api.ApiError) as info:
        api.approve(ledger, adj.id, as_user="alice")
    assert info.value.code == "refused"
    assert info.value.status == 422
    with pytest.raises(api.ApiError) as info:
        api.approve(ledger, adj.id, as_user="bob", seen_digest="v2-not-what-was-shown")
    assert info.value.code == "changed"
    assert info.value.status == 409
    with pytest.raises(api.ApiError) as info:
        api.reject(ledger, adj.id, as_user="bob", reason="")
    assert info.value.code == "invalid"
    with pytest.raises(api.ApiError) as info:
        api.cancel(ledger, "ADJ-0000-9999", as_user="alice", reason="x")
    assert info.value.code == "not-found"
    assert api.reject(ledger, adj.id, as_user="bob", reason="No proof").state == "rejected"
    with pytest.raises(api.ApiError) as info:
        api.get(ledger, "ADJ-0000-9999")
    assert info.value.code == "not-found"
    with pytest.raises(api.ApiError) as info:
        api.list(ledger, state="lost")
    assert info.value.code == "invalid"


def test_an_approve_meant_for_the_credit_does_not_approve_its_reversal(ledger: Path) -> None:
    """The digest stays the same when a credit is approved, booked and cancelled: a
    caller passing only `seen_digest` approved the reversal it never read. The step
    it read (`step`, passed back as `seen_step`) refuses it."""
    adj = api.create(ledger, **SEED, as_user="alice")
    read = api.get(ledger, adj.id)
    assert read.step == "pending 0/1"
    assert api.approve(ledger, adj.id, as_user="bob", seen_digest=read.digest,
                       seen_step=read.step).state == "applied"
    assert api.cancel(ledger, adj.id, as_user="alice", reason="Wrong customer").state == (
        "reversing")
    with pytest.raises(api.ApiError) as info:
        api.approve(ledger, adj.id, as_user="bob", seen_digest=read.digest,
                    seen_step=read.step)
    assert (info.value.code, info.value.status) == ("changed", 409)
    assert "now reversing 0/1" in info.value.message
    now = api.get(ledger, adj.id)
    assert (now.state, now.step, now.as_json()["step"]) == (
        "reversing", "reversing 0/1", "reversing 0/1")


def test_the_cli_and_the_api_derive_the_same_postings(ledger: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.beancount"
    other.write_text(API_LEDGER)
    api.create(ledger, customer="cust_123", type="debit:fee", amount="12.00 USD",
               reason="Fee", as_user="alice")
    result = CliRunner().invoke(main, ["create", "-f", str(other), "--as", "alice", "--type",
                                       "debit:fee", "--customer", "cust_123", "--amount",
                                       "12.00 USD", "--reason", "Fee"])
    assert result.exit_code == 0, result.output

    def postings(path: Path) -> list[str]:
        return [line.split()[0] + " " + line.split()[1] for line in path.read_text().splitlines()
                if line.startswith("  ") and line.split()[0][:1].isupper()
                and line.split()[0] in ("Income:Adjustments:Debits",
                                        "Assets:Receivable:Customers")][-2:]
    assert postings(ledger) == postings(other) == [
        "Income:Adjustments:Debits -12.00", "Assets:Receivable:Customers 12.00"]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_notes_are_shown_by_show_and_the_exports(ledger: Path) -> None:
    adj = api.create(ledger, **SEED, as_user="alice")
    notes = SEED["notes"]
    text = run("show", "-f", str(ledger), adj.id)
    assert f"notes: {notes}" in text
    assert "approval required: yes" in text
    shown = json.loads(run("show", "-f", str(ledger), adj.id, "--json"))
    assert shown["notes"] == notes
    assert shown["approval_required"] is True
    lines = [json.loads(x) for x in run("export", "-f", str(ledger)).splitlines()]
    record = next(x for x in lines if x.get("id") == adj.id)
    assert record["notes"] == notes
    assert record["approval_required"] is True
    table = list(csv.DictReader(io.StringIO(run("export", "-f", str(ledger), "--format",
                                                "csv"))))
    assert table[0]["notes"] == notes
    assert table[0]["approval_required"] == "true"
    fields = list(table[0])  # new fields at the end: these two came after `source`
    assert fields[fields.index("source") + 1:][:2] == ["approval_required", "notes"]


def test_cli_create_writes_notes_and_approval_required(ledger: Path) -> None:
    run("create", "-f", str(ledger), "--as", "alice", "--type", "credit:refund", "--customer",
        "cust_123", "--amount", "10.00 USD", "--reason", "r", "--notes", "See ticket",
        "--approval-required")
    text = ledger.read_text()
    assert 'notes: "See ticket"' in text
    assert "approval-required: TRUE" in text


def test_an_adjustment_says_its_dates_and_references(ledger: Path) -> None:
    """`get`, `list` and `GET adjustments` gave a request's id, amount and state but
    not when it was filed, when it books (`effective:`) or what it refers to: a ticket
    system could not show "booked on" nor link the order it filed it for."""
    import datetime

    from beancount_adjustments.api.results import Adjustment
    later = datetime.date.today() + datetime.timedelta(days=29)
    adj = api.create(ledger, **SEED, external_id="crm-1", ticket="T-9",
                     effective=later.isoformat(), as_user="alice")
    got = api.get(ledger, adj.id)
    assert isinstance(got, Adjustment)
    assert got.date == datetime.date.today()
    assert got.effective == later
    assert (got.order, got.ticket, got.invoice, got.document) == ("order_456", "T-9", None, None)
    shown = got.as_json()
    assert (shown["date"], shown["effective"]) == (datetime.date.today().isoformat(),
                                                   later.isoformat())
    assert (shown["order"], shown["ticket"]) == ("order_456", "T-9")
