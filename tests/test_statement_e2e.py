"""Fava's statement page in headless Chromium: a demo customer picked by name, the
closing balance equal to Beancount's receivable balance, the printable HTML file
the page links to, on screen and in print. Screenshots go to
artifacts/screenshots/statement-page/."""

from __future__ import annotations

import datetime
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fava_env
import pytest
from browser import act_as, playwright, shots
from fava_env import DEMO_CONFIG, ledger_text
from fava_server import serve
from statements import number, receivable_balance

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.reports.statement import statement
from ledgers import DEMO

SHOTS = shots("statement-page")
sync_api = playwright()
START, END = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)


@pytest.fixture(scope="module")
def fava() -> Iterator[tuple[str, Path]]:
    for url, ledger in serve(DEMO):
        # `serve` names the tests' ledger; the demo's slug comes from its title.
        root = url.split("/test-ledger/")[0]
        with urllib.request.urlopen(root + "/") as response:
            slug = urllib.parse.urlparse(response.geturl()).path.strip("/").split("/")[0]
        yield url.replace("/test-ledger/", f"/{slug}/"), ledger




def test_statement_page_closing_balance_is_the_books_balance(fava: tuple[str, Path],
                                                             page: Any) -> None:
    url, _ledger = fava
    entries, _errors, options = loading.load_file(str(DEMO))
    book = book_of(options)
    assert book is not None
    owed = receivable_balance(entries, "cust_1003", END)
    expected = statement(entries, book, "cust_1003", START, END)

    page.goto(url + f"?view=statement&customer={quote('harbor studios co')}"
              f"&from={START}&to={END}")
    shown = page.locator("#adj-statement")
    sync_api.expect(shown).to_contain_text("Statement of account: Harbor Studios Co")
    sync_api.expect(shown).to_contain_text("Customer cust_1003")
    assert page.locator("#adj-statement-error").count() == 0
    for section in expected.sections:
        table = shown.locator(f'table[data-currency="{section.currency}"]')
        closing = table.locator("tr.closing td.num").first
        assert number(closing.inner_text()) == owed[section.currency] == section.closing
        # the running balance column ends on the closing balance too
        last = table.locator("tr.line td:nth-child(5)").last
        assert number(last.inner_text()) == section.closing
    aging = shown.locator("table.aging").first
    cells = [number(c) for c in aging.locator("td.num").all_inner_texts()]
    assert sum(cells, Decimal(0)) == owed[expected.sections[0].currency]
    # the figures line up and are readable: right-aligned, not clipped
    amount = shown.locator("td.amount").first
    assert amount.evaluate("e => getComputedStyle(e).textAlign") == "right"
    assert amount.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    page.screenshot(path=str(SHOTS / "statement-page.png"), full_page=True)
    shown.screenshot(path=str(SHOTS / "statement-page-table.png"))
    assert page.errors == []

    # the printable file the page links to: one self-contained file, on screen and in print
    href = page.locator("#adj-statement-html").get_attribute("href")
    assert href
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(urllib.parse.urljoin(page.url, href))
    assert page.title().startswith("Statement for Harbor Studios Co")
    closing = page.locator('table[data-currency="USD"] tr.closing td.num').first
    assert number(closing.inner_text()) == owed["USD"]
    page.screenshot(path=str(SHOTS / "statement-file.png"), full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(SHOTS / "statement-file-print.png"), full_page=True)
    assert len(fetched) == 1


@pytest.fixture
def demo_fava(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path / "main.beancount"
    credits = f"\n{fava_env.START} open Expenses:Adjustments:Credits\n"
    ledger.write_text(ledger_text(DEMO_CONFIG) + credits, encoding="utf-8")
    yield from serve(ledger)


def test_reject_dialog_and_new_request_form_write_the_customer_side(
        demo_fava: tuple[str, Path], page: Any) -> None:
    url, ledger = demo_fava
    expect = sync_api.expect
    page.goto(url)
    act_as(page, "bob")
    page.click('tr[data-adj-row="ADJ-8"] button[data-adj-action="reject"]')
    page.fill("#adj-reason-text", "INTERNAL: duplicate")
    page.fill("#adj-customer-reason-text", "this credit was already given")
    page.locator("#adj-reason-dialog").screenshot(path=str(SHOTS / "reject-dialog.png"))
    page.click("#adj-reason-ok")
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 1 decision as bob: ADJ-8")
    text = ledger.read_text()
    event = text[text.index('custom "adjustment" "ADJ-8" "reject"'):]
    assert 'reason: "INTERNAL: duplicate"' in event
    assert 'customer-reason: "this credit was already given"' in event

    page.goto(url + "?view=new")
    act_as(page, "alice")  # picking a user reloads the page: it lands first
    page.goto(url + "?view=new")
    page.fill("#adj-new-customer", "Acme Corp (cust_123)")
    page.select_option("#adj-new-type", "credit:refund")
    page.fill("#adj-new-amount", "12.00")
    page.fill("#adj-new-reason", "Late delivery")
    page.uncheck("#adj-new-on-statement")
    page.fill("#adj-new-aging-from", "2026-12-24")
    preview = page.locator("#adj-new-preview-body")
    expect(preview).to_contain_text("not itemised: shown as an account adjustment; ages from "
                                    "2026-12-24")
    page.screenshot(path=str(SHOTS / "new-request-off-statement.png"), full_page=True)
    page.click("#adj-new-submit")
    expect(page.locator("#adj-new-filed")).to_contain_text("Filed")
    text = ledger.read_text()
    assert "on-statement: FALSE" in text
    assert "aging-from: 2026-12-24" in text
    assert page.errors == []
