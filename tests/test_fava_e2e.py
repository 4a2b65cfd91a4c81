"""The reviewer's workspace end to end: a real Fava in a subprocess, headless
Chromium (Debian's /usr/bin/chromium, never a downloaded browser) driven by
Playwright. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import act_as, playwright, shots
from fava_env import DEMO_CONFIG, HEADER_CONFIG, ledger_text
from fava_server import serve

SHOTS = shots()
sync_api = playwright()


@pytest.fixture
def fava(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(ledger_text(DEMO_CONFIG), encoding="utf-8")
    yield from serve(ledger)


REQUESTS_FILE = """
{date} ! "cust_456" "Refund kept in another file" ^ADJ-X
  adjustment-type: "credit:refund"
  category: "customer-service:goodwill"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  30.00 USD
  Assets:Receivable:Customers  -30.00 USD
"""


@pytest.fixture
def guarded_fava(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Identities from X-Remote-User (so Fava's editor is closed), and one
    request (ADJ-X, 30 USD) in an included file."""
    ledger = tmp_path / "main.beancount"
    date = (datetime.date.today() - datetime.timedelta(days=2)).isoformat()
    (tmp_path / "requests.beancount").write_text(REQUESTS_FILE.format(date=date),
                                                 encoding="utf-8")
    ledger.write_text(ledger_text(HEADER_CONFIG) + '\ninclude "requests.beancount"\n',
                      encoding="utf-8")
    yield from serve(ledger)


def test_queue_batch_approve_detail_and_export(fava: tuple[str, Path], page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url)
    expect(page.locator("#adj-demo-banner")).to_contain_text("Demo mode")
    expect(page.locator("#adj-readonly")).to_be_visible()
    expect(page.locator("#adj-batch-approve")).to_be_disabled()

    # act as bob (demo mode: picked on the page, kept in a cookie)
    act_as(page, "bob")
    expect(page.locator("#adj-acting-user")).to_have_text("bob")
    expect(page.locator('tr[data-adj-row="ADJ-1"]')).to_be_visible()
    page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)

    before = ledger.read_bytes()
    page.check('input.adj-select[value="ADJ-1"]')
    page.check('input.adj-select[value="ADJ-2"]')
    expect(page.locator("#adj-selected-count")).to_have_text("2 selected")
    page.click("#adj-batch-approve")
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 2 decisions as bob")
    expect(page.locator('tr[data-adj-row="ADJ-1"]')).to_have_count(0)
    expect(page.locator('tr[data-adj-row="ADJ-2"]')).to_have_count(0)
    expect(page.locator('tr[data-adj-row="ADJ-3"]')).to_have_count(1)
    assert ledger.read_bytes() != before
    page.screenshot(path=str(SHOTS / "queue-after-batch.png"), full_page=True)

    # a refused item is listed with the reason, nothing written
    before = ledger.read_bytes()
    page.check('input.adj-select[value="ADJ-3"]')  # bob's own request
    page.click("#adj-batch-approve")
    expect(page.locator("#adj-flash")).to_contain_text("requester")
    assert ledger.read_bytes() == before
    page.screenshot(path=str(SHOTS / "queue-refused.png"), full_page=True)

    # reject with a reason from the queue's quick action
    page.click('tr[data-adj-row="ADJ-8"] button[data-adj-action="reject"]')
    page.fill("#adj-reason-text", "Duplicate of an earlier credit")
    page.click("#adj-reason-ok")
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 1 decision as bob: ADJ-8")
    expect(page.locator('tr[data-adj-row="ADJ-8"]')).to_have_count(0)

    # the detail page, through Fava's client-side navigation
    page.click('tr[data-adj-row="ADJ-5"] td.id a')
    expect(page.locator("#adj-detail-id")).to_have_text("ADJ-5")
    expect(page.locator("#adj-timeline")).to_be_visible()
    expect(page.locator("#adj-requirements")).to_contain_text("finance")
    page.screenshot(path=str(SHOTS / "detail.png"), full_page=True)
    page.goto(url + "?view=detail&id=ADJ-1")
    expect(page.locator("#adj-timeline")).to_contain_text("approve")
    expect(page.locator("#adj-narration")).to_contain_text("<script>alert(1)</script>")
    page.screenshot(path=str(SHOTS / "detail-applied.png"), full_page=True)

    # reports with charts, and a CSV export
    page.goto(url + "?view=reports")
    expect(page.locator("svg.adj-chart").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "reports.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#adj-export-compliance")
    download = info.value
    assert download.suggested_filename == "adjustments-compliance.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("id,date,type")
    assert "ADJ-1" in text
    assert "bob (manager, " in text
    assert page.errors == []


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_queue_fits_a_laptop_screen(fava: tuple[str, Path], page: Any, width: int) -> None:
    """Every column, the quick actions included, is on screen without scrolling sideways."""
    url, _ = fava
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    act_as(page, "bob")
    row = page.locator('tr[data-adj-row="ADJ-2"]')
    sync_api.expect(row).to_be_visible()
    for locator in (page.locator("#adj-queue thead th").last,
                    row.locator('button[data-adj-action="approve"]')):
        box = locator.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, (width, box)
    overflow = page.evaluate("(() => { const box = document.querySelector('.adj-scroll');"
                             " return box.scrollWidth - box.clientWidth; })()")
    assert overflow <= 0
    page.screenshot(path=str(SHOTS / f"queue-{width}px.png"), full_page=False)
    assert page.errors == []


def test_apply_asks_for_an_optional_effective_date(fava: tuple[str, Path], page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url)
    act_as(page, "bob")
    apply = page.locator('tr[data-adj-row="ADJ-4"] button[data-adj-action="apply"]')
    expect(apply).to_be_enabled()

    # Back writes nothing.
    before = ledger.read_bytes()
    apply.click()
    expect(page.locator("#adj-apply-dialog")).to_be_visible()
    page.click("#adj-apply-cancel")
    expect(page.locator("#adj-apply-dialog")).to_be_hidden()
    assert ledger.read_bytes() == before

    effective = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    apply.click()
    page.fill("#adj-effective-date", effective)
    page.fill("#adj-apply-comment", "Booked with the month's corrections")
    page.screenshot(path=str(SHOTS / "apply-dialog.png"))
    page.click("#adj-apply-ok")
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 1 decision as bob: ADJ-4")
    written = ledger.read_text(encoding="utf-8")
    block = written[written.index('"ADJ-4" "apply"'):]
    assert f"effective: {effective}" in block
    assert 'comment: "Booked with the month\'s corrections"' in block
    page.goto(url + "?view=detail&id=ADJ-4")
    expect(page.locator("#adj-root")).to_contain_text("applied")
    expect(page.locator("#adj-root")).to_contain_text(effective)
    assert page.errors == []


def test_fava_editing_closed_and_a_changed_request_refused(
        guarded_fava: tuple[str, Path], page: Any) -> None:
    """Behind a proxy (the header set on every request, as nginx would): the page
    says Fava's editor is closed; a request edited in another file after the
    page was rendered is refused with 409 and a reload button, nothing written."""
    url, ledger = guarded_fava
    expect = sync_api.expect
    page.context.set_extra_http_headers({"X-Remote-User": "bob"})
    page.goto(url)
    note = page.locator("#adj-fava-editing")
    expect(note).to_contain_text("Fava editing is closed")
    expect(page.locator("#adj-acting-user")).to_have_text("bob")
    page.screenshot(path=str(SHOTS / "fava-editing-closed.png"), full_page=False)
    note.screenshot(path=str(SHOTS / "fava-editing-closed-note.png"))

    other = ledger.parent / "requests.beancount"
    other.write_text(other.read_text(encoding="utf-8").replace("30.00 USD", "990.00 USD"),
                     encoding="utf-8")
    before = {p.name: p.read_bytes() for p in ledger.parent.glob("*.beancount")}
    page.click('tr[data-adj-row="ADJ-X"] button[data-adj-action="approve"]')
    flash = page.locator("#adj-flash")
    expect(flash).to_contain_text("ADJ-X changed since this page showed it")
    expect(flash.locator("button")).to_have_text("Reload the page")
    page.screenshot(path=str(SHOTS / "changed-409.png"), full_page=False)
    flash.screenshot(path=str(SHOTS / "changed-409-message.png"))
    assert {p.name: p.read_bytes() for p in ledger.parent.glob("*.beancount")} == before

    # After the reload the page shows 990 USD and its new digest: that goes through.
    flash.locator("button").click()
    row = page.locator('tr[data-adj-row="ADJ-X"]')
    expect(row).to_contain_text("990.00")
    row.locator('button[data-adj-action="approve"]').click()
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 1 decision as bob: ADJ-X")
    assert page.errors == []
