"""Templates and calculators: the right postings for each, nothing written on bad input."""

from __future__ import annotations

import datetime
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.intake import calculators
from beancount_adjustments.intake.calculators import CalcInput, CalculatorError
from beancount_adjustments.intake.templates import LedgerContext, TemplateError, build_request
from ledgers import BACKDATING, BASE, ROOT, load_file

TEMPLATES = """
2026-01-01 open Liabilities:Tax:Sales
2026-11-01 * "cust_123" "Invoice November"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers     120.00 USD
  Income:Sales                   -120.00 USD

2026-01-01 custom "adjustment-template" "late-fee"
  type: "debit:fee"
  category: "operational:billing-error"
  calculator: "percent-of-invoice"
  percent: 2
  offset-account: "Income:Fees"
  reason: "Late payment fee for {invoice}"

2026-01-01 custom "adjustment-template" "paper-fee"
  type: "debit:fee"
  amount: 3.00 USD
  offset-account: "Income:Fees"
  reason: "Paper invoice fee"
2026-07-01 custom "adjustment-template" "paper-fee"
  type: "debit:fee"
  amount: 4.00 USD
  offset-account: "Income:Fees"
  reason: "Paper invoice fee ({amount})"

2026-01-01 custom "adjustment-template" "discount"
  type: "billing:discount"
  calculator: "percent-of-invoice"
  offset-account: "Income:Sales"
  reason: "{percent}% discount on {invoice}"

2026-01-01 custom "adjustment-template" "price-fix"
  type: "billing:price-correction"
  calculator: "price-correction"
  offset-account: "Income:Sales"
  reason: "{quantity} units billed at {billed-price} instead of {correct-price}"

2026-01-01 custom "adjustment-template" "refund-incl-tax"
  type: "credit:refund"
  calculator: "plugins.tax_inclusive:split"
  rate: 20
  offset-account: "Income:Sales:Returns"
  tax-account: "Liabilities:Tax:Sales"
  reason: "Refund of {gross} incl. tax"

2026-01-01 custom "adjustment-template" "broken"
  calculator: "fixed"
  reason: "no type"
"""


def make_ledger(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + TEMPLATES + textwrap.dedent(extra))
    return path


def postings_of(request) -> set[tuple[str, Decimal, str]]:
    return set(request.postings)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LedgerContext:
    monkeypatch.chdir(ROOT)  # where `plugins/` lives, as when run from the repository
    return LedgerContext.load(make_ledger(tmp_path))


def build(ctx: LedgerContext, name: str, date: str = "2026-11-20", customer: str = "cust_123",
          **kwargs):
    day = datetime.date.fromisoformat(date)
    template = ctx.templates.on(name, day)
    assert template is not None
    return build_request(ctx, template, customer=customer, requested_by="alice", date=day,
                         **kwargs)


def broken_line(text: str) -> int:
    return text.splitlines().index('2026-01-01 custom "adjustment-template" "broken"') + 1


def test_the_plugin_reports_only_the_broken_template(tmp_path: Path) -> None:
    loaded = load_file(make_ledger(tmp_path))
    assert loaded.codes == [(broken_line(loaded.text), "bad-template")]


def test_bad_template_is_reported_not_fatal(ctx: LedgerContext) -> None:
    assert "broken" not in ctx.templates.names()
    assert [p.code for p in ctx.template_problems] == ["bad-template"]
    assert "`type:`" in ctx.template_problems[0].message


def test_fixed_amount_is_effective_dated(ctx: LedgerContext) -> None:
    early = build(ctx, "paper-fee", "2026-03-01")
    late = build(ctx, "paper-fee", "2026-08-01")
    assert postings_of(early) == {("Assets:Receivable:Customers", Decimal("3.00"), "USD"),
                                  ("Income:Fees", Decimal("-3.00"), "USD")}
    assert postings_of(late) == {("Assets:Receivable:Customers", Decimal("4.00"), "USD"),
                                 ("Income:Fees", Decimal("-4.00"), "USD")}
    assert late.reason == "Paper invoice fee (4.00 USD)"
    assert late.meta["template"] == "paper-fee"
    assert late.date == datetime.date(2026, 8, 1)


def test_percent_of_invoice_fee(ctx: LedgerContext) -> None:
    request = build(ctx, "late-fee", meta={"invoice": "INV-1"})
    assert postings_of(request) == {("Assets:Receivable:Customers", Decimal("2.40"), "USD"),
                                    ("Income:Fees", Decimal("-2.40"), "USD")}
    assert request.reason == "Late payment fee for INV-1"
    assert request.category == "operational:billing-error"
    assert request.meta["invoice"] == "INV-1"


def test_percent_discount_lowers_the_balance(ctx: LedgerContext) -> None:
    request = build(ctx, "discount", meta={"invoice": "INV-1"}, params={"percent": "12.5"})
    assert postings_of(request) == {("Assets:Receivable:Customers", Decimal("-15.00"), "USD"),
                                    ("Income:Sales", Decimal("15.00"), "USD")}
    assert request.reason == "12.5% discount on INV-1"


def test_price_correction(ctx: LedgerContext) -> None:
    request = build(ctx, "price-fix", meta={"invoice": "INV-1"},
                    params={"quantity": "10", "billed-price": "12.50", "correct-price": "11.00"})
    # Overcharged by 1.50 on 10 units: what the customer owes drops by 15.00.
    assert postings_of(request) == {("Assets:Receivable:Customers", Decimal("-15.00"), "USD"),
                                    ("Income:Sales", Decimal("15.00"), "USD")}
    up = build(ctx, "price-fix", meta={"invoice": "INV-1"},
               params={"quantity": "3", "billed-price": "10", "correct-price": "10.333"})
    assert ("Assets:Receivable:Customers", Decimal("1.00"), "USD") in up.postings


def test_tax_inclusive_split_from_plugins(ctx: LedgerContext) -> None:
    request = build(ctx, "refund-incl-tax", params={"gross": "120.00 USD"})
    assert postings_of(request) == {
        ("Assets:Receivable:Customers", Decimal("-120.00"), "USD"),
        ("Income:Sales:Returns", Decimal("100.00"), "USD"),
        ("Liabilities:Tax:Sales", Decimal("20.00"), "USD")}
    odd = build(ctx, "refund-incl-tax", params={"gross": "10.00 USD", "rate": "7"})
    # 10.00 / 1.07 = 9.345... -> 9.35 net; the tax takes the rest, so it balances.
    assert postings_of(odd) == {("Assets:Receivable:Customers", Decimal("-10.00"), "USD"),
                                ("Income:Sales:Returns", Decimal("9.35"), "USD"),
                                ("Liabilities:Tax:Sales", Decimal("0.65"), "USD")}


def test_calculator_from_the_ledgers_directory(tmp_path: Path) -> None:
    (tmp_path / "site_calcs_for_test.py").write_text(textwrap.dedent("""
        from decimal import Decimal
        def flat(inp):
            value = inp.decimal("value")
            return [(inp.receivable_account, -value, "USD"), (inp.offset(), value, "USD")]
    """))
    ledger = make_ledger(tmp_path, """
        2026-01-01 custom "adjustment-template" "site"
          type: "credit:goodwill"
          calculator: "site_calcs_for_test.flat"
          value: 7.25
          offset-account: "Expenses:Goodwill"
          reason: "Site credit"
    """)
    ctx = LedgerContext.load(ledger)
    request = build(ctx, "site")
    assert ("Expenses:Goodwill", Decimal("7.25"), "USD") in request.postings


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("late-fee", {}, "pass --invoice"),
    ("late-fee", {"meta": {"invoice": "INV-9"}}, "invoice 'INV-9' is not in the ledger"),
    ("discount", {"meta": {"invoice": "INV-1"}}, "needs `percent`"),
    ("price-fix", {"params": {"quantity": "1", "billed-price": "x", "correct-price": "2"},
                   "meta": {"invoice": "INV-1"}}, "`billed-price` must be a number"),
    ("paper-fee", {"reason": "Fee for {ticket}"}, "uses {ticket}"),
])
def test_bad_input_is_an_error(ctx: LedgerContext, name: str, kwargs: dict,
                               message: str) -> None:
    with pytest.raises(TemplateError, match=None) as info:
        build(ctx, name, **kwargs)
    assert message in str(info.value)


def test_unknown_calculator() -> None:
    with pytest.raises(CalculatorError, match="unknown calculator"):
        calculators.get("nope")
    with pytest.raises(CalculatorError, match="cannot import module"):
        calculators.get("no_such_module_xyz:f")
    assert {"fixed", "percent-of-invoice", "price-correction"} <= set(calculators.names())


def test_registered_calculator_and_direction() -> None:
    @calculators.register("test-double")
    def double(inp: CalcInput) -> calculators.Postings:
        n = 2 * inp.decimal("n")
        return [(inp.receivable_account, inp.direction * n, "USD"),
                (inp.offset(), -inp.direction * n, "USD")]

    inp = CalcInput(template="t", type="billing:tax", customer="c",
                    date=datetime.date(2026, 1, 1), receivable_account="Assets:Receivable",
                    offset_account="Income:Tax", params={"n": "2", "direction": "raise"})
    assert calculators.get("test-double")(inp)[0] == ("Assets:Receivable", Decimal(4), "USD")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_from_template_writes_and_says_where(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    ledger = make_ledger(tmp_path)
    code, out, err = run("from-template", "-f", str(ledger), "--as", "alice", "late-fee",
                         "-c", "cust_123", "--invoice", "INV-1", "--date", "2026-11-20",
                         "--external-id", "fee-INV-1")
    assert code == 0, err
    assert f"wrote 1 request to {ledger}" in out
    assert "ADJ-2026-0001" in out
    loaded = load_file(ledger)
    assert loaded.codes == [(broken_line(loaded.text), "bad-template")]  # as before the write
    assert loaded.adj("ADJ-2026-0001").request.external_id == "fee-INV-1"
    before = ledger.read_bytes()
    code, out, _ = run("from-template", "-f", str(ledger), "--as", "alice", "late-fee",
                       "-c", "cust_123", "--invoice", "INV-1", "--external-id", "fee-INV-1")
    assert code == 0
    assert "already in the ledger" in out
    assert ledger.read_bytes() == before


def test_cli_from_template_refuses_and_writes_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    before = ledger.read_bytes()
    code, _, err = run("from-template", "-f", str(ledger), "--as", "alice", "late-fee",
                       "-c", "cust_123")
    assert code == 1
    assert "pass --invoice" in err
    code, _, err = run("from-template", "-f", str(ledger), "--as", "alice", "paper-fee",
                       "-c", "cust_999", "--date", "2026-11-20")
    assert code == 1
    assert "cust_999" in err
    code, out, _ = run("from-template", "-f", str(ledger), "--as", "alice", "paper-fee",
                       "-c", "cust_123", "-c", "cust_456", "--dry-run")
    assert code == 0
    assert "would write 2 requests" in out
    assert ledger.read_bytes() == before


def test_cli_templates_lists_and_flags_problems(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    code, out, err = run("templates", "-f", str(ledger))
    assert code == 1  # the broken template
    assert "late-fee: debit:fee via percent-of-invoice" in out
    assert "`type:`" in err
