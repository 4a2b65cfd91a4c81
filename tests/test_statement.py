"""Customer statements: the rows reconcile to the books in every format; what the
customer is shown (on-statement, aging-from, statement-text); CLI, Fava, Chromium."""

from __future__ import annotations

import csv
import datetime
import html.parser
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount.core import data
from browser import CHROMIUM, playwright, shots
from click.testing import CliRunner
from statements import number, receivable_balance

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main
from beancount_adjustments.core.book import Book
from beancount_adjustments.reports.statement import BUCKETS, render, statement
from ledgers import BACKDATING, DEMO, event, load, request

START, END = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)


@pytest.fixture(scope="module")
def demo() -> tuple[list[data.Directive], Book]:
    entries, _, options = loading.load_file(str(DEMO))
    book = book_of(options)
    assert book is not None
    return entries, book


class Cells(html.parser.HTMLParser):
    """The rows of every table in an HTML statement: (currency, row class, cells)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self.currency = ""
        self.cells: list[str] | None = None
        self.row_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-currency"):
            self.currency = found["data-currency"] or ""
        if tag == "tr":
            self.cells, self.row_class = [], found.get("class") or ""
        if tag == "td" and self.cells is not None:
            self.cells.append("")

    def handle_data(self, text: str) -> None:
        if self.cells:
            self.cells[-1] += text

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self.cells:
            self.rows.append((self.currency, self.row_class, self.cells))
            self.cells = None


def test_every_demo_customer_reconciles_in_every_format(demo: Any) -> None:
    entries, book = demo
    customers = sorted(book.directory.customers)
    assert len(customers) == 40
    for customer in customers:
        owed = receivable_balance(entries, customer, END)
        st = statement(entries, book, customer, START, END)
        assert {s.currency: s.closing for s in st.sections if s.closing} == owed, customer
        for s in st.sections:
            assert s.opening + sum(ln.amount for ln in s.lines) == s.closing
            assert sum(a.amount for a in s.aging) == s.closing
            if s.lines:
                assert s.lines[-1].balance == s.closing
        # csv: opening plus every line is the closing row, and the books' balance
        rows = list(csv.DictReader(io.StringIO(render(st, "csv"))))
        for currency, owes in owed.items():
            mine = [r for r in rows if r["currency"] == currency]
            opening = next(Decimal(r["balance"]) for r in mine if r["kind"] == "opening")
            closing = next(Decimal(r["balance"]) for r in mine if r["kind"] == "closing")
            lines = [Decimal(r["amount"]) for r in mine
                     if r["kind"] not in ("opening", "closing", "aging")]
            aged = [Decimal(r["amount"]) for r in mine if r["kind"] == "aging"]
            assert opening + sum(lines) == closing == owes
            assert sum(aged) == owes
            assert len(aged) == len(BUCKETS)
        # html: the amount cells add up to the closing row
        cells = Cells()
        cells.feed(render(st, "html"))
        for currency, owes in owed.items():
            mine = [(cls, c) for cur, cls, c in cells.rows if cur == currency]
            opening = next(number(c[4]) for cls, c in mine if cls == "opening")
            closing = next(number(c[4]) for cls, c in mine if "closing" in cls)
            lines = [number(c[3]) for cls, c in mine if cls.startswith("line")]
            assert opening + sum(lines) == closing == owes
        # table: the closing balance of each currency
        table = render(st, "table")
        for currency, owes in owed.items():
            section = table.split(f"\n{currency}\n", 1)[1]
            closing_line = next(ln for ln in section.splitlines() if "Closing balance" in ln)
            assert number(closing_line.split()[-1]) == owes


def test_statements_describe_adjustments_for_the_customer(demo: Any) -> None:
    entries, book = demo
    st = statement(entries, book, "cust_1023", START, END)
    lines = [ln for s in st.sections for ln in s.lines]
    adjustments = [ln for ln in lines if ln.kind in ("adjustment", "reversal")]
    assert adjustments
    internal = {book.adjustments[ln.reference].request.reason for ln in adjustments}
    for text in (render(st, fmt) for fmt in ("table", "csv", "html")):
        for reason in internal:
            assert reason not in text
    assert {"Account credit", "Refund credit (invoice INV-2026-0085)"} <= {
        ln.description for ln in adjustments}


def test_credit_left_per_invoice(demo: Any) -> None:
    entries, book = demo
    st = statement(entries, book, "cust_1023", START, END)
    invoice = next(ln for s in st.sections for ln in s.lines if ln.reference == "INV-2026-0085")
    assert invoice.amount == Decimal("2217.50")
    assert invoice.credit_left == Decimal("2217.50") - Decimal("10.81")


LEDGER = BACKDATING + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  statement-text: "Courtesy credit"

2026-01-10 * "Big Co" "January service"
  invoice-id: "INV-1"
  customer: "cust_456"
  Assets:Receivable:Customers  500.00 USD
  Income:Sales
"""


def statement_of(loaded: Any, start: str = "2026-01-01", end: str = "2026-06-30") -> Any:
    return statement(loaded.entries, loaded.book, "cust_456",
                     datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))


def test_off_statement_adjustment_shows_as_an_account_adjustment_and_reconciles() -> None:
    loaded = load(LEDGER + request("ADJ-1", "2026-02-01", "20.00", type="debit:fee",
                                   account="Income:Fees", reason="Internal: penalty",
                                   extra="on-statement: FALSE\nnotes: \"secret note\""))
    assert loaded.codes == []
    st = statement_of(loaded)
    [section] = st.sections
    line = next(ln for ln in section.lines if ln.kind == "account-adjustment")
    assert (line.description, line.reference, line.amount) == (
        "Account adjustment", "", Decimal("20.00"))
    assert section.closing == loaded.balance("Assets:Receivable") == Decimal("520.00")
    for fmt in ("table", "csv", "html"):
        text = render(st, fmt)
        assert "ADJ-1" not in text
        assert "penalty" not in text
        assert "secret" not in text


def test_off_statement_adjustment_applied_and_reversed_in_the_period_is_not_shown() -> None:
    loaded = load(LEDGER + request("ADJ-1", "2026-02-01", "20.00", type="debit:fee",
                                   account="Income:Fees", extra="on-statement: FALSE")
                  + event("ADJ-1", "2026-02-05", "cancel", "bob", reason="Waived"))
    assert loaded.state("ADJ-1") == "reversed"
    [section] = statement_of(loaded).sections
    assert [ln.kind for ln in section.lines] == ["invoice"]
    # before the period, it is in the opening balance like anything else
    [later] = statement_of(loaded, "2026-02-03").sections
    assert later.opening == Decimal("520.00")
    assert [ln.description for ln in later.lines] == ["Account adjustment"]
    assert later.closing == Decimal("500.00")


def test_on_statement_is_approved_with_the_request() -> None:
    plain = load(LEDGER + request("ADJ-1", "2026-02-01", "-20.00", type="credit:goodwill"))
    hidden = load(LEDGER + request("ADJ-1", "2026-02-01", "-20.00", type="credit:goodwill",
                                   extra="on-statement: FALSE"))
    assert plain.adj("ADJ-1").digest != hidden.adj("ADJ-1").digest


def test_statement_text_and_reversal_lines() -> None:
    loaded = load(LEDGER + request("ADJ-1", "2026-02-01", "-20.00", type="credit:goodwill",
                                   reason="Agent felt bad", extra='invoice: "INV-1"')
                  + event("ADJ-1", "2026-03-01", "cancel", "bob", reason="Mistake"))
    [section] = statement_of(loaded).sections
    assert [(ln.kind, ln.description, ln.amount) for ln in section.lines[1:]] == [
        ("adjustment", "Courtesy credit (invoice INV-1)", Decimal("-20.00")),
        ("reversal", "Reversal: Courtesy credit (invoice INV-1)", Decimal("20.00"))]
    assert section.lines[0].credit_left == Decimal("500.00")  # the credit was reversed


def test_aging_buckets_and_aging_from() -> None:
    loaded = load(LEDGER + """
2026-03-15 * "Big Co" "March service"
  invoice-id: "INV-2"
  customer: "cust_456"
  Assets:Receivable:Customers  300.00 USD
  Income:Sales

2026-03-20 * "Big Co" "Payment"
  customer: "cust_456"
  invoice: "INV-2"
  Assets:Bank  300.00 USD
  Assets:Receivable:Customers
""" + request("ADJ-1", "2026-04-01", "40.00", type="debit:fee", account="Income:Fees")
                  + request("ADJ-2", "2026-04-01", "45.00", type="debit:fee",
                            account="Income:Fees", extra="aging-from: 2026-05-15"))
    assert loaded.codes == []
    [section] = statement_of(loaded, end="2026-05-10").sections
    aged = {a.bucket: a.amount for a in section.aging}
    # INV-2 is paid (the payment names it), INV-1 is 120 days old, the fee 39
    # days, and the fee aging from 2026-05-15 has not started aging.
    assert aged == {"current": Decimal("45.00"), "1-30": 0, "31-60": Decimal("40.00"),
                    "61-90": 0, "90+": Decimal("500.00")}
    assert sum(aged.values()) == section.closing


def test_html_is_escaped_and_self_contained() -> None:
    loaded = load('2026-01-01 custom "adjustment-customer" "cust_x" "standard"\n'
                  '  name: "<script>alert(1)</script> & Co"\n' + LEDGER.replace(
                      "cust_456", "cust_x").replace('"January service"',
                                                    '"<img src=x onerror=alert(1)>"'))
    st = statement(loaded.entries, loaded.book, "cust_x", START, END)
    text = render(st, "html")
    assert "<script>" not in text
    assert "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert "<style>" in text
    assert "<link" not in text
    assert "src=" not in text.replace(
        "&lt;img src=x", "")


def test_csv_neutralises_formulas() -> None:
    loaded = load(LEDGER.replace('"January service"', '"=HYPERLINK(1)"'))
    text = render(statement_of(loaded), "csv")
    assert "'=HYPERLINK(1)" in text


# -- the command ---------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_statement_by_name_and_formats(tmp_path: Path) -> None:
    result = run("statement", "-f", str(DEMO), "harbor studios co", "--from", "2026-11-01",
                 "--to", "2026-11-30")
    assert result.exit_code == 0, result.output
    assert "Statement for Harbor Studios Co (cust_1003), 2026-11-01 to 2026-11-30" in result.output
    out = tmp_path / "st.html"
    result = run("statement", "-f", str(DEMO), "cust_1003", "--format", "html", "-o", str(out),
                 "--from", "2026-11-01", "--to", "2026-11-30")
    assert result.exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_cli_statement_refuses_an_unknown_customer_in_one_line() -> None:
    result = run("statement", "-f", str(DEMO), "Harbor Studio", "--to", "2026-11-30")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "did you mean cust_1003 (Harbor Studios Co)" in result.output


def test_cli_statement_refuses_a_period_backwards() -> None:
    result = run("statement", "-f", str(DEMO), "cust_1003", "--from", "2026-11-30",
                 "--to", "2026-11-01")
    assert result.exit_code == 1
    assert "after it ends" in result.output



def test_cli_statement_refuses_a_period_ending_after_today() -> None:
    """A statement to a day that has not come aged every item to it: `--to` a year
    ahead put last month's invoices in the 90+ bucket of a closing balance dated
    then (the CLI and Fava's page share the rule, `statement_period`)."""
    ahead = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    result = run("statement", "-f", str(DEMO), "cust_1003", "--to", ahead)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert f"ends {ahead}, after today" in result.output


# -- Fava ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fava_client() -> Any:
    from fava.application import create_app

    app = create_app([str(DEMO)], load=True)
    app.testing = True
    return app.test_client()


def test_fava_statement_page_shows_the_same_rows(fava_client: Any, demo: Any) -> None:
    entries, book = demo
    base = _base(fava_client)
    response = fava_client.get(base + "?view=statement&customer=Harbor+Studios+Co"
                               "&from=2026-11-01&to=2026-11-30")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    st = statement(entries, book, "cust_1003", datetime.date(2026, 11, 1),
                   datetime.date(2026, 11, 30))
    for ln in st.sections[0].lines:
        assert ln.description in text
    assert f"{st.sections[0].closing:,.2f}" in text
    csv_response = fava_client.get(base + "statement?customer=cust_1003&from=2026-11-01"
                                   "&to=2026-11-30&format=csv")
    assert csv_response.status_code == 200
    assert csv_response.get_data(as_text=True) == render(st, "csv")
    html_response = fava_client.get(base + "statement?customer=cust_1003&from=2026-11-01"
                                    "&to=2026-11-30&format=html")
    assert html_response.get_data(as_text=True) == render(st, "html")
    # Served inline on Fava's origin: sandboxed as a ledger's own files are.
    assert html_response.headers["Content-Security-Policy"].startswith("sandbox")
    assert html_response.headers["X-Content-Type-Options"] == "nosniff"


def test_fava_statement_page_names_an_unknown_customer(fava_client: Any) -> None:
    response = fava_client.get(_base(fava_client) + "?view=statement&customer=Nobody+Inc")
    assert response.status_code == 200
    assert "is not known" in response.get_data(as_text=True)



def test_fava_statement_page_refuses_a_period_ending_after_today(fava_client: Any) -> None:
    ahead = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    base = _base(fava_client)
    response = fava_client.get(base + f"?view=statement&customer=cust_1003&to={ahead}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"ends {ahead}, after today" in text
    assert "Closing balance" not in text
    download = fava_client.get(base + f"statement?customer=cust_1003&to={ahead}&format=csv")
    assert download.status_code == 400
    assert f"ends {ahead}, after today" in download.get_json()["error"]


def _base(client: Any) -> str:
    response = client.get("/")
    location = response.headers.get("Location", "")
    slug = re.search(r"/([^/]+)/", location)
    assert slug, location
    return f"/{slug.group(1)}/extension/AdjustmentsExtension/"


# -- Chromium ------------------------------------------------------------------------


def test_html_statement_in_headless_chromium(demo: Any, tmp_path: Path) -> None:
    sync_api = playwright()
    entries, book = demo
    st = statement(entries, book, "cust_1023", datetime.date(2026, 10, 1), END)
    path = tmp_path / "statement.html"
    path.write_text(render(st, "html"), encoding="utf-8")
    folder = shots("statement")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        assert page.title().startswith("Statement for Lumen Software Corp")
        closing = page.locator('table[data-currency="EUR"] tr.closing td.num').first
        assert closing.inner_text() == f"{st.sections[0].closing:,.2f}"
        align = page.locator('table[data-currency="EUR"] td.amount').first.evaluate(
            "e => getComputedStyle(e).textAlign")
        assert align == "right"
        page.screenshot(path=str(folder / "statement.png"), full_page=True)
        page.emulate_media(media="print")
        page.screenshot(path=str(folder / "statement-print.png"), full_page=True)
        browser.close()
    assert requests == [path.as_uri()]  # one self-contained file: nothing else is fetched
