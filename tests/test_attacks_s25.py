"""Twenty-fifth round of attacks: every door that takes an amount, an id or a date.

The CLI's options, the Python API, Fava's decide endpoint and statement page, the CSV
and Stripe imports and metadata written as text, each given the texts a person (or
an export) might type: exponents, other scripts' digits, grouping both ways, 30
decimals, look-alike currencies, `20260203`, `2026-2-3`, ISO week dates, ids with
spaces and look-alike letters. A test whose docstring says "Hole:" failed on the
code it was written against (the fix is named in the commit that added it); the
others held and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sample_ledgers import WRITER_LEDGER

from beancount_adjustments import api
from beancount_adjustments.cli import main
from beancount_adjustments.core import days
from ledgers import code_set, load

pytestmark = pytest.mark.usefixtures("no_tool_env")


@pytest.fixture
def ledger(writer_ledger: Path) -> Path:
    return writer_ledger


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _create(ledger: Path, amount: str, *extra: str) -> Any:
    return _run("create", "-f", str(ledger), "--as", "alice", "--type", "credit:refund",
                "--customer", "cust_123", "--reason", "Damaged", "--amount", amount, *extra)


def _one_line_refusal(result: Any, where: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"bean-adjust: refused: {where}"), lines
    assert "Traceback" not in result.output


# -- dates: one strict reading (`core.days`) ------------------------------------------------

LOOSE_DAYS = ["20260203", "2026-W05-2", "2026-2-3", "2026-02-30", "2026-02-03T25:00",
              "2026-02-03T10:00+05:00", "\u0662\u0660\u0662\u0666-02-03", "２０２６-02-03"]


@pytest.mark.parametrize("text", LOOSE_DAYS)
def test_the_one_day_reader_takes_only_yyyy_mm_dd(text: str) -> None:
    assert days.iso_day(text) is None
    assert days.iso_day(" 2026-02-03 ") == datetime.date(2026, 2, 3)


@pytest.mark.parametrize("option", ["--effective", "--aging-from", "--date"])
@pytest.mark.parametrize("text", ["20260203", "2026-W05-2", "2026-2-3"])
def test_a_cli_date_that_is_not_yyyy_mm_dd_is_a_one_line_refusal(
        ledger: Path, option: str, text: str) -> None:
    """Hole: `click.DateTime("%Y-%m-%d")` read `2026-2-3` (strptime takes one digit),
    and refused `20260203` with click's usage text and exit 2, while the API read it
    (and `2026-W05-2` as 2026-01-27). Every date option is `cli.common.DAY` now: the
    one reader, a one-line refusal naming the option, exit 1, nothing written."""
    before = ledger.read_bytes()
    result = _create(ledger, "5.00 USD", option, text)
    _one_line_refusal(result, f"{option}: {text!r} is not a date")
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("args", [
    ("report", "summary", "--from", "2024-3-1"),
    ("report", "summary", "--to", "20240301"),
    ("approve", "ADJ-2024-0001", "--as", "bob", "--effective", "2024-W10-1"),
    ("approve", "ADJ-2024-0001", "--as", "bob", "--date", "2024-3-10"),
    ("statement", "cust_123", "--from", "2024-W10-1"),
])
def test_every_date_option_reads_the_same_way(ledger: Path, args: tuple[str, ...]) -> None:
    """Hole: as above, on reports, decisions and statements (`--from`, `--to`,
    `--effective`, `--date`)."""
    before = ledger.read_bytes()
    name, rest = args[0], args[1:]
    result = _run(name, "-f", str(ledger), *rest)
    option = next(a for a in rest if a.startswith("--") and a != "--as")
    _one_line_refusal(result, f"{option}: ")
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("field", ["effective", "aging_from", "date"])
@pytest.mark.parametrize("text", ["20260203", "2026-W05-2"])
def test_the_api_refuses_a_compact_or_week_date(ledger: Path, field: str, text: str) -> None:
    """Hole: `api.create(effective="2026-W05-2")` wrote `effective: 2026-01-27` (Python
    3.11's `date.fromisoformat` reads ISO week dates and `20260203`): another day than
    any reader of the text would take it for, booked. Fava's `create` is this call."""
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError, match=f"{field} must be a date"):
        api.create(ledger, customer="cust_123", type="credit:refund", amount="5.00 USD",
                   reason="Damaged", as_user="alice", **{field: text})
    assert ledger.read_bytes() == before


def test_fava_decide_refuses_a_week_date_as_effective() -> None:
    """Hole: Fava's `decide` body read `"effective": "2024-W10-1"` as 2024-03-04."""
    from beancount_adjustments.fava_ext.writes import parse_decisions

    item = {"id": "ADJ-2024-0001", "action": "apply", "digest": "x"}
    decisions, error = parse_decisions([{**item, "effective": "2024-W10-1"}], "bob")
    assert decisions == []
    assert error == "decision 1: effective must be a date (YYYY-MM-DD)"
    decisions, error = parse_decisions([{**item, "effective": "2024-03-04"}], "bob")
    assert error == ""
    assert decisions[0].effective == datetime.date(2024, 3, 4)


def test_fava_statement_page_refuses_a_compact_date() -> None:
    """Hole: the statement page read `?to=20240331` as a day."""
    from beancount_adjustments.fava_ext.statement_page import _day

    today = datetime.date(2024, 3, 10)
    assert _day("20240331", today) == (today, days.day_problem("20240331"))
    assert _day("2024-03-31", today) == (datetime.date(2024, 3, 31), "")


def test_a_week_date_written_as_text_in_metadata_is_an_error() -> None:
    """Hole: `effective: "2026-W05-2"` (a string on the request) was read as 2026-01-27
    and booked on it; it is `bad-metadata` at the request's line now."""
    text = WRITER_LEDGER.replace('  reason: "Damaged item"\n',
                                 '  reason: "Damaged item"\n  effective: "2024-W10-2"\n')
    loaded = load(text, base=False)
    assert "bad-metadata" in code_set(loaded.errors)
    assert any("`effective:` must be a date" in e.message for e in loaded.errors)


def test_a_csv_row_with_a_compact_date_is_refused(ledger: Path, tmp_path: Path) -> None:
    """Hole: the CSV import read `date` 20240310 and `effective` 2024-W11-1 as days."""
    rows = tmp_path / "rows.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id,effective\n"
                    "credit:refund,cust_123,10.00,USD,Refund,x-1,2024-W11-1\n",
                    encoding="utf-8")
    before = ledger.read_bytes()
    result = _run("import", "-f", str(ledger), "--as", "alice", str(rows))
    assert result.exit_code == 1, result.output
    assert "effective '2024-W11-1' is not a date: write it as YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output
    assert ledger.read_bytes() == before


# -- amounts -----------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [
    "1e3 USD", "0x10 USD", "\u0661\u0660\u0660 USD", "１００ USD", "1_000 USD", "--5 USD",
    "5. USD", ".5 USD", "5,00 USD", "1.000,00 USD", "NaN USD", "Infinity USD", "-0 USD",
    "123456789012345678 USD", "5 usd", "5 US D", "5 U\u0405D", "5USD", "5 USD USD"])
def test_an_amount_that_does_not_read_strictly_is_a_one_line_refusal(
        ledger: Path, amount: str) -> None:
    before = ledger.read_bytes()
    _one_line_refusal(_create(ledger, amount), "--amount: ")
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("amount", [
    "1.000000000000000000000000000000 USD", "5.0000000000000 USD"])
def test_thirty_decimals_are_refused_not_written_shortened(ledger: Path, amount: str) -> None:
    """Hole: `--amount "1.000000000000000000000000000000 USD"` (zeros only after the
    cents, so the precision check let it through) was echoed with its 30 decimals
    but written `1.000000000000000000000000000 USD`: `Decimal` computes 28 digits.
    More than 12 decimals are refused (`amounts.MAX_DECIMALS`)."""
    before = ledger.read_bytes()
    _one_line_refusal(_create(ledger, amount), "--amount: ")
    assert "more than 12 digits after the decimal point" in _create(ledger, amount).output
    assert ledger.read_bytes() == before


def test_the_api_refuses_a_decimal_with_thirty_places(ledger: Path) -> None:
    """Hole: as above through `api.create(amount=Decimal(...))`."""
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError, match="more than 12 digits after"):
        api.create(ledger, customer="cust_123", type="credit:refund",
                   amount=Decimal("5." + "0" * 30), currency="USD", reason="Damaged",
                   as_user="alice")
    assert ledger.read_bytes() == before


def test_an_amount_with_nbsp_and_grouping_is_written_as_typed(ledger: Path) -> None:
    result = _create(ledger, "\u00a01,000.00\u00a0 USD")
    assert result.exit_code == 0, result.output
    text = ledger.read_text(encoding="utf-8")
    assert "1000.00 USD" in text
    assert "-1000.00 USD" in text


# -- Stripe ------------------------------------------------------------------------------

@pytest.mark.parametrize(("currency", "amount", "created"), [
    ("US D", "5.00", "2026-11-01"),
    ("u\u0455d", "5.00", "2026-11-01"),  # Cyrillic dze for the s
    ("usd", "5.005", "2026-11-01"),
    ("usd", "5.00", "2026-W44-7"),
    ("usd", "5.00", "20261101"),
    ("usd", "5.00", "2026-11-01garbage"),
])
def test_a_stripe_row_with_a_bad_currency_precision_or_date_refuses_the_file(
        tmp_path: Path, currency: str, amount: str, created: str) -> None:
    """Hole: the Stripe importer wrote any currency text it was given (`US D`, a
    Cyrillic look-alike: lines Beancount cannot parse), `5.005 USD` unrounded with
    more decimals than USD has, and read `2026-W44-7` as 2026-11-01 and
    `2026-11-01garbage` as a date. The amount is `amounts.parse_money` in the row's
    currency now, the date `core.days`; a row that does not read refuses the file,
    naming its line (it was skipped)."""
    from beangulp.exceptions import Error as BeangulpError

    from beancount_adjustments.intake.stripe_import import StripeImporter

    export = tmp_path / "stripe.csv"
    good = "re_2,refund,7.50,usd,succeeded,cus_1,2026-11-01 14:03:22\n"
    export.write_text("id,type,amount,currency,status,customer id,created (utc)\n" + good
                      + f"re_1,refund,{amount},{currency},succeeded,cus_1,{created}\n",
                      encoding="utf-8")
    importer = StripeImporter(requested_by="alice", customers={"cus_1": "cust_123"},
                              entered_by="alice")
    with pytest.raises(BeangulpError) as raised:
        importer.extract(str(export), [])
    assert str(raised.value).startswith(f"{export}:3: ")
    assert str(raised.value).endswith("; nothing extracted from this file")
    export.write_text("id,type,amount,currency,status,customer id,created (utc)\n" + good,
                      encoding="utf-8")
    found = importer.extract(str(export), [])
    assert [e.meta["external-id"] for e in found] == ["re_2"]
    assert found[0].date == datetime.date(2026, 11, 1)
    assert {str(p.units) for p in found[0].postings} == {"7.50 USD", "-7.50 USD"}


# -- ids and retries (held) --------------------------------------------------------------

@pytest.mark.parametrize("adj_id", ["ADJ-2024-0001 ", " ADJ-2024-0001", "adj-2024-0001",
                                    "ADJ-2024-OOO1", "ＡＤＪ-2024-0001"])
def test_an_id_that_is_almost_an_adjustments_is_not_it(ledger: Path, adj_id: str) -> None:
    before = ledger.read_bytes()
    result = _run("approve", "-f", str(ledger), "--as", "bob", adj_id)
    assert result.exit_code == 1
    assert "no request has the id" in result.output
    assert "Traceback" not in result.output
    assert ledger.read_bytes() == before


def test_a_differing_api_retry_names_what_differs(ledger: Path) -> None:
    first = api.create(ledger, customer="cust_123", type="credit:refund", amount="5.00 USD",
                       reason="Damaged", as_user="alice", external_id="X-1")
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError, match="postings") as caught:
        api.create(ledger, customer="cust_123", type="credit:refund", amount="6.00 USD",
                   reason="Damaged", as_user="alice", external_id="X-1 ")
    assert caught.value.code == "conflict"
    assert first.id in str(caught.value)
    with pytest.raises(api.ApiError, match="effective"):
        api.create(ledger, customer="cust_123", type="credit:refund", amount="5.00 USD",
                   reason="Damaged", as_user="alice", external_id="X-1",
                   effective="2026-12-31")
    assert ledger.read_bytes() == before


def test_a_differing_cli_create_under_a_used_external_id_names_what_differs(
        ledger: Path) -> None:
    """Hole: `create --external-id X-1` a second time was refused "already recorded as
    ADJ-...; not importing twice" whether it was the same request or one for another
    amount: the caller could not tell a duplicate from another request under a reused
    id. The writer's refusal names what differs (`retries.differences`)."""
    assert _create(ledger, "5.00 USD", "--external-id", "X-1").exit_code == 0
    before = ledger.read_bytes()
    same = _create(ledger, "5.00 USD", "--external-id", "X-1")
    assert same.exit_code == 1
    assert "asks for" not in same.output
    other = _create(ledger, "6.00 USD", "--external-id", "X-1 ")
    _one_line_refusal(other, "")
    assert "and this one asks for postings" in other.output
    assert "6.00 USD" in other.output
    assert ledger.read_bytes() == before
