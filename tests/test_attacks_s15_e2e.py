"""Attacks, round 15, in headless Chromium: the Approve a reviewer clicks posts the
step the page showed, so a credit cancelled since is not approved as its reversal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import act_as, playwright
from fava_env import DEMO_CONFIG, ledger_text
from fava_server import serve

from beancount_adjustments import writer
from beancount_adjustments.core.models import Action
from ledgers import load_file

sync_api = playwright()


@pytest.fixture
def fava(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(ledger_text(DEMO_CONFIG), encoding="utf-8")
    yield from serve(ledger)


def test_an_approve_on_a_page_from_before_a_cancel_is_refused(fava: tuple[str, Path],
                                                               page: Any) -> None:
    url, ledger = fava
    expect = sync_api.expect
    page.goto(url)
    act_as(page, "bob")
    expect(page.locator('tr[data-adj-row="ADJ-2"]')).to_be_visible()
    # Meanwhile erin approves ADJ-2 (booked) and alice cancels it: a reversal awaits.
    for decision in (writer.Decision(adjustment_id="ADJ-2", action=Action.APPROVE, by="erin"),
                     writer.Decision(adjustment_id="ADJ-2", action=Action.CANCEL, by="alice",
                                     reason="Wrong customer")):
        assert writer.write_decisions(ledger, [decision]).written == 1
    page.click('tr[data-adj-row="ADJ-2"] button[data-adj-action="approve"]')
    expect(page.locator("#adj-flash")).to_contain_text("moved on since it was shown to you")
    page.check('input.adj-select[value="ADJ-2"]')
    page.click("#adj-batch-approve")
    expect(page.locator("#adj-flash")).to_contain_text("moved on since it was shown to you")
    loaded = load_file(ledger)
    assert loaded.book is not None
    assert str(loaded.book.adjustments["ADJ-2"].state) == "reversing"
