"""Fava's queue lists the open alerts, in a real Fava and headless Chromium
(screenshot in artifacts/screenshots/alerts.png)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from browser import playwright, shots
from fava_env import DEMO_CONFIG, ledger_text
from fava_server import serve

from ledgers import request

SHOTS = shots()
playwright()  # skips this module where Chromium or Playwright is missing


def test_the_queue_shows_open_alerts_with_links(tmp_path: Path, page: Any) -> None:
    today = datetime.date.today()
    start = (today - datetime.timedelta(days=400)).isoformat()
    days = [(today - datetime.timedelta(days=n)).isoformat() for n in (3, 2)]
    ledger = tmp_path / "main.beancount"
    ledger.write_text(ledger_text(DEMO_CONFIG) + f"""
{start} custom "adjustment-risk" "duplicates"
  notify: "role:manager"
{start} custom "adjustment-alert" "customer" 100.00 USD
  period: "all"
""" + request("DUP-1", days[0], "-70.00", reason="Lid <b>cracked</b>")
        + request("DUP-2", days[1], "-70.00", reason="Lid <b>cracked</b>"), encoding="utf-8")
    for base, _path in serve(ledger):
        page.goto(base)
        banner = page.locator("#adj-alerts")
        banner.wait_for()
        text = banner.inner_text()
        assert "open alert" in text
        assert 'same reason "Lid <b>cracked</b>"' in text  # shown as text, not markup
        assert "sent to role:manager" in text
        assert page.locator("#adj-alerts li[data-check='alert:customer']",
                            has_text="customer cust_456:").count() == 1
        page.screenshot(path=str(SHOTS / "alerts.png"), full_page=False)
        page.locator("#adj-alerts a", has_text="DUP-2").first.click()
        page.wait_for_url("**id=DUP-2**")
        assert "DUP-2" in page.content()
        assert page.errors == []
