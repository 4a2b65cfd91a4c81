"""The queue and the form in a real Fava and headless Chromium, on the demo
dated to today (what `make demo` serves): the three sections line up, show
customer names with the id on hover and page on their own; "Apply selected"
asks for the effective date as the single-row Apply does; the form's invoice
and order suggestions are the chosen customer's. Screenshots go to
artifacts/screenshots/queue/; with REFRESH_SCREENSHOTS=1
the README's screenshots in docs/screenshots/ are retaken too.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import act_as, playwright, shots
from fava_server import serve

from beancount_adjustments.demo import generate_ledger
from ledgers import ROOT

SHOTS = shots("queue")
sync_api = playwright()
README_SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def fava(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path_factory.mktemp("queue-e2e") / "demo.beancount"
    ledger.write_text(generate_ledger(today=datetime.date.today()), encoding="utf-8")
    for url, path in serve(ledger):
        yield url.replace("/test-ledger/", "/brightwave-analytics-demo/"), path




COLUMN_WIDTHS = """() => Array.from(document.querySelectorAll("table.adj-queue-table")).map(
  (t) => Array.from(t.querySelectorAll("thead th")).map(
    (th) => th.getBoundingClientRect().width))"""


def section_ids(tab: Any, key: str) -> list[str]:
    return [str(x) for x in tab.locator(f"#adj-section-{key} tr[data-adj-row]").evaluate_all(
        "rows => rows.map((r) => r.dataset.adjRow)")]


def test_sections_line_up_show_names_and_page_on_their_own(
        fava: tuple[str, Path], page: Any) -> None:
    url, _ = fava
    expect = sync_api.expect
    page.goto(url + "?per_page=5")
    act_as(page, "dave")
    expect(page.locator("#adj-section-reversal tr[data-adj-row]")).to_have_count(5)
    widths = page.evaluate(COLUMN_WIDTHS)
    assert len(widths) == 3
    assert all(len(w) == 10 for w in widths)
    for column in range(10):
        assert max(w[column] for w in widths) - min(w[column] for w in widths) < 1, widths
    shown = page.locator("#adj-queue td .adj-customer").first
    assert re.fullmatch(r"cust_\d+", shown.get_attribute("title") or "")
    assert not (shown.text_content() or "").startswith("cust_")  # the name, not the id
    page.screenshot(path=str(SHOTS / "queue-sections.png"))
    for key in ("approve", "apply", "reversal"):
        page.locator(f"#adj-section-{key}").screenshot(path=str(SHOTS / f"section-{key}.png"))
    if os.environ.get("REFRESH_SCREENSHOTS"):
        page.screenshot(path=str(README_SHOTS / "queue.png"))

    approve, apply = section_ids(page, "approve"), section_ids(page, "apply")
    reversals = section_ids(page, "reversal")
    page.click("#adj-pages-reversal [data-page-next]")
    expect(page.locator("#adj-pages-reversal")).to_contain_text("page 2 of")
    assert "page_reversal=2" in page.url
    assert section_ids(page, "approve") == approve
    assert section_ids(page, "apply") == apply
    assert not set(section_ids(page, "reversal")) & set(reversals)
    page.click("#adj-pages-approve [data-page-next]")
    expect(page.locator("#adj-pages-approve")).to_contain_text("page 2 of")
    expect(page.locator("#adj-pages-reversal")).to_contain_text("page 2 of")  # kept
    assert not page.errors


def test_apply_selected_asks_for_the_effective_date(fava: tuple[str, Path], page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url)
    act_as(page, "dave")
    first = page.locator('#adj-section-apply input.adj-select[data-allowed="1"]').first
    adj_id = first.get_attribute("value") or ""
    first.check()
    before = ledger.read_text(encoding="utf-8")
    page.click("#adj-batch-apply")
    dialog = page.locator("#adj-apply-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#adj-apply-title")).to_have_text("Apply selected: 1")
    page.screenshot(path=str(SHOTS / "apply-selected-dialog.png"))
    page.click("#adj-apply-cancel")  # Back writes nothing
    expect(dialog).to_be_hidden()
    assert ledger.read_text(encoding="utf-8") == before

    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    page.click("#adj-batch-apply")
    page.fill("#adj-effective-date", day)
    page.fill("#adj-apply-comment", "Booked with the month's corrections")
    page.click("#adj-apply-ok")
    expect(page.locator(f'tr[data-adj-row="{adj_id}"]')).to_have_count(0)
    added = ledger.read_text(encoding="utf-8")[len(before):]
    assert f'"{adj_id}" "apply"' in added
    assert f"effective: {day}" in added
    assert "Booked with the month's corrections" in added
    assert not page.errors


def suggestions(tab: Any, list_id: str) -> list[str]:
    return [str(x) for x in tab.locator(f"#{list_id} option").evaluate_all(
        "options => options.map((o) => o.dataset.customerId)")]


def test_the_forms_references_are_the_chosen_customers(fava: tuple[str, Path],
                                                        page: Any) -> None:
    url, _ = fava
    expect = sync_api.expect
    page.goto(url + "?view=new")
    act_as(page, "alice")
    everything = {"adj-invoices": suggestions(page, "adj-invoices"),
                  "adj-orders": suggestions(page, "adj-orders")}
    customers = [c for c in everything["adj-invoices"] if c]
    assert len(set(customers)) > 3
    chosen = max(set(customers), key=customers.count)
    label = page.locator(f'#adj-customers option[data-customer-id="{chosen}"]')
    name = label.get_attribute("data-customer-name") or ""
    assert name
    page.fill("#adj-new-customer", name)
    expect(page.locator("#adj-new-customer-picked")).to_contain_text(chosen)
    for list_id, full in everything.items():
        narrowed = suggestions(page, list_id)
        assert narrowed, list_id
        assert set(narrowed) <= {chosen, ""}, (list_id, set(narrowed))
        assert len(narrowed) == sum(1 for c in full if c in (chosen, ""))
    page.click("#adj-new-invoice")
    page.screenshot(path=str(SHOTS / "form-invoices.png"), full_page=True)
    other = next(c for c in customers if c != chosen)
    page.fill("#adj-new-customer", other)
    expect(page.locator("#adj-new-customer-picked")).to_contain_text(other)
    assert set(suggestions(page, "adj-invoices")) <= {other, ""}
    page.fill("#adj-new-customer", "")
    assert suggestions(page, "adj-invoices") == everything["adj-invoices"]
    assert not page.errors
