"""The detail and reports pages in a real Fava and headless Chromium: the
charts' text as rendered (not as written), the links into Fava's journal.
Screenshots go to artifacts/screenshots/ (detail-links.png, reports-charts.png).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser import playwright, shots
from fava_env import DEMO_CONFIG, EURO_REFUNDS, REVERSAL, ledger_text
from fava_server import serve

SHOTS = shots()
sync_api = playwright()

# The rendered size of each chart text: its font size times the scale the svg
# is drawn at (its width on the page over its viewBox width).
RENDERED_SIZES = """() => [...document.querySelectorAll('svg.adj-chart')].flatMap(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map(
    t => parseFloat(getComputedStyle(t).fontSize) * scale);
})"""


@pytest.fixture
def fava(tmp_path: Path) -> Any:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(ledger_text(DEMO_CONFIG) + EURO_REFUNDS + "\n" + REVERSAL, encoding="utf-8")
    yield from serve(ledger)


@pytest.mark.parametrize("width", [1400, 1000])
def test_reports_charts_read_at_11px_or_more(fava: tuple[str, Path], page: Any,
                                             width: int) -> None:
    url, _ = fava
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(url + "?view=reports")
    expect = sync_api.expect
    expect(page.locator("svg.adj-chart").first).to_be_visible()
    titles = page.eval_on_selector_all("svg.adj-chart > title", "ts => ts.map(t => t.textContent)")
    assert "Requested and applied amounts per month (EUR)" in titles
    assert "Requested and applied amounts per month (USD)" in titles
    sizes = page.evaluate(RENDERED_SIZES)
    assert sizes
    assert min(sizes) >= 11, sorted(sizes)[:5]
    page.screenshot(path=str(SHOTS / f"reports-summary-{width}.png"))
    # Fava scrolls its main column, not the page: one shot per section.
    for section in ("trends", "impact"):
        page.locator(f"#adj-report-{section}").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"reports-{section}-{width}.png"))
    assert not page.errors


def test_detail_links_open_favas_context_of_the_entries(fava: tuple[str, Path],
                                                        page: Any) -> None:
    url, _ = fava
    expect = sync_api.expect
    page.goto(url + "?view=detail&id=ADJ-7")
    expect(page.locator("#adj-rejection")).to_contain_text("Not justified")
    page.goto(url + "?view=detail&id=ADJ-6")
    expect(page.locator("#adj-journal-links")).to_be_visible()
    href = page.get_attribute("#adj-reversal-link", "href") or ""
    reversal_hash = href.rpartition("#context-")[2]
    page.screenshot(path=str(SHOTS / "detail-links.png"), full_page=True)
    page.click("#adj-reversal-link")
    expect(page).to_have_url(re.compile(r"/journal/\?filter=%5EADJ-6#context-" + reversal_hash))
    # Fava's context of a generated entry: where it comes from (the approval
    # that booked the reversal) and, under "Context", the balances it moved:
    # the 40.00 USD credit given back to the customer's receivable.
    expect(page.get_by_text("Location:")).to_be_visible()
    page.get_by_text("Context", exact=True).click()
    context = page.locator("details").first
    expect(context).to_contain_text("Assets:Receivable:Customers")
    expect(context).to_contain_text("80.00 USD")
    expect(context).to_contain_text("120.00 USD")
    page.screenshot(path=str(SHOTS / "detail-reversal-context.png"), full_page=True)
    assert not page.errors
