"""The "New request" form and the queue's sections in a real Fava and headless
Chromium (the pattern of test_fava_e2e.py): an agent files the seed's example
by the customer's name, sees what the policy will require, files it; a
manager approves it from "To approve" and applies from "To apply".
Screenshots go to artifacts/screenshots/form/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import act_as, playwright, shots
from fava_env import DEMO_CONFIG, FORM_EXTRA, ledger_text
from fava_server import serve

SHOTS = shots("form")
sync_api = playwright()


@pytest.fixture
def fava(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(ledger_text(DEMO_CONFIG) + FORM_EXTRA, encoding="utf-8")
    yield from serve(ledger)


def test_file_the_seeds_example_then_approve_and_apply_from_the_queue(
        fava: tuple[str, Path], page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url + "?view=new")
    expect(page.locator("#adj-new-submit")).to_be_disabled()  # nobody acts yet
    act_as(page, "alice")
    expect(page.locator("#adj-new-submit")).to_be_enabled()

    page.fill("#adj-new-customer", "Acme Corp")  # by name
    expect(page.locator("#adj-new-customer-picked")).to_contain_text("cust_123")
    page.select_option("#adj-new-type", "credit:refund")
    page.select_option("#adj-new-category", "customer-service:complaint-resolution")
    page.fill("#adj-new-amount", "50.00")
    page.select_option("#adj-new-currency", "USD")
    page.fill("#adj-new-reason", "Product return - damaged item")
    page.fill("#adj-new-order", "order_456")
    page.fill("#adj-new-notes", "Customer reported damaged packaging on arrival")
    page.check("#adj-new-approval-required")
    before = ledger.read_bytes()
    chain = page.locator("#adj-new-chain")
    expect(chain).to_contain_text("manager")
    expect(chain).to_contain_text("may be given by: bob, erin")
    expect(page.locator("#adj-new-preview")).to_contain_text("1 approval needed")
    assert ledger.read_bytes() == before  # the preview writes nothing
    page.screenshot(path=str(SHOTS / "new-request-preview.png"), full_page=True)

    page.click("#adj-new-submit")
    filed = page.locator("#adj-new-filed")
    expect(filed).to_contain_text("Filed ADJ-")
    expect(filed).to_contain_text("pending")
    expect(page.locator("#adj-new-submit")).to_be_disabled()  # one click files once
    adj_id = re.search(r"Filed (ADJ-\S+)", filed.inner_text())[1]  # type: ignore[index]
    text = ledger.read_text(encoding="utf-8")
    block = text[text.index(f"^{adj_id}"):]
    for line in ('customer: "cust_123"', 'order: "order_456"', "approval-required: TRUE",
                 'notes: "Customer reported damaged packaging on arrival"',
                 'requested-by: "alice"', 'entered-by: "alice"'):
        assert line in block
    page.screenshot(path=str(SHOTS / "new-request-filed.png"), full_page=True)

    page.click("#adj-new-open")
    expect(page.locator("#adj-detail-id")).to_have_text(adj_id)
    expect(page.locator("#adj-root")).to_contain_text("pending")
    page.screenshot(path=str(SHOTS / "new-request-detail.png"), full_page=True)

    # bob: the new item waits in "To approve"; what blocks him is written out.
    act_as(page, "bob")
    page.goto(url)
    approve = page.locator("#adj-section-approve")
    expect(approve.locator(f'tr[data-adj-row="{adj_id}"]')).to_be_visible()
    expect(page.locator('#adj-section-apply tr[data-adj-row="ADJ-4"]')).to_be_visible()
    expect(page.locator('tr[data-adj-row="ADJ-3"] .adj-why').first).to_have_text(
        "you requested it (segregation of duties)")
    expect(page.locator('tr[data-adj-row="ADJ-5"] .adj-why').first).to_have_text(
        "above your approval limit")
    page.screenshot(path=str(SHOTS / "queue-sections.png"), full_page=True)

    # Select all takes only what bob may approve: not his own ADJ-3, not ADJ-5.
    page.check("#adj-select-all")
    expect(page.locator("#adj-selected-count")).to_have_text("4 selected")
    expect(page.locator('input.adj-select[value="ADJ-3"]')).not_to_be_checked()
    expect(page.locator('input.adj-select[value="ADJ-5"]')).not_to_be_checked()
    expect(page.locator("#adj-selected-count-apply")).to_have_text("0 selected")
    page.uncheck("#adj-select-all")
    expect(page.locator("#adj-selected-count")).to_have_text("0 selected")

    page.check(f'input.adj-select[value="{adj_id}"]')
    page.click("#adj-batch-approve")
    expect(page.locator("#adj-flash")).to_contain_text(f"Recorded 1 decision as bob: {adj_id}")
    expect(page.locator(f'tr[data-adj-row="{adj_id}"]')).to_have_count(0)

    # "Apply selected" in "To apply" sends applies only.
    page.check("#adj-select-all-apply")
    expect(page.locator("#adj-selected-count-apply")).to_have_text("1 selected")
    page.screenshot(path=str(SHOTS / "queue-apply-selected.png"), full_page=True)
    page.click("#adj-batch-apply")
    page.click("#adj-apply-ok")  # no effective date: booked today
    expect(page.locator("#adj-flash")).to_contain_text("Recorded 1 decision as bob: ADJ-4")
    expect(page.locator("#adj-section-apply")).to_contain_text("Nothing approved awaits")
    text = ledger.read_text(encoding="utf-8")
    assert '"ADJ-4" "apply"' in text
    assert f'"{adj_id}" "approve"' in text
    page.screenshot(path=str(SHOTS / "queue-after-apply.png"), full_page=True)

    page.goto(url + f"?view=detail&id={adj_id}")
    expect(page.locator("#adj-root")).to_contain_text("applied")
    assert page.errors == []


def test_a_refusal_is_one_line_beside_the_button(fava: tuple[str, Path], page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url + "?view=new")
    act_as(page, "alice")
    page.fill("#adj-new-customer", "cust_999")
    page.select_option("#adj-new-type", "credit:refund")
    page.fill("#adj-new-amount", "20.00")
    page.fill("#adj-new-reason", "Goodwill")
    expect(page.locator("#adj-new-customer-picked")).to_contain_text("not in the list")
    expect(page.locator("#adj-new-preview")).to_contain_text("cust_999")
    before = ledger.read_bytes()
    page.click("#adj-new-submit")
    error = page.locator("#adj-new-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("cust_999")
    assert "\n" not in error.inner_text()
    assert ledger.read_bytes() == before
    page.screenshot(path=str(SHOTS / "new-request-refused.png"), full_page=True)
    assert page.errors == []
