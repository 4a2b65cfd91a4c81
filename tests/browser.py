"""Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven
by Playwright, never a downloaded browser; where screenshots go; acting as a
user on the extension's page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ledgers import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Generous waits: CI machines are slow and shared; a wait that passes returns at once.
EXPECT_TIMEOUT_MS = 20_000
ACTION_TIMEOUT_MS = 30_000
SHOTS = ROOT / "artifacts" / "screenshots"


def playwright() -> Any:
    """Playwright's sync API; where Chromium or Playwright is missing, the test
    module calling this at import (or the test, from a fixture) is skipped."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


def shots(folder: str = "") -> Path:
    """The screenshots' folder (artifacts/screenshots/, or its sub-folder `folder`), made."""
    path = SHOTS / folder if folder else SHOTS
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def open_page(sync_api: Any) -> Iterator[Any]:
    """A fresh browser tab (1400 x 1000, downloads allowed) whose page errors are
    collected in `tab.errors`."""
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      accept_downloads=True)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.errors = errors
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def act_as(tab: Any, user: str) -> None:
    """Pick `user` in the demo-mode user picker and wait until the page acts as them."""
    expect = playwright().expect
    # The picker acts through the page's script: picked before it is bound (a
    # loaded machine), the choice did nothing and the page stayed read-only.
    expect(tab.locator('#adj-root[data-bound="1"]')).to_have_count(1)
    tab.select_option("#adj-demo-user", user)
    expect(tab.locator("#adj-acting-user")).to_have_text(user)
    # the page's script is bound (before that, typing fires no preview)
    expect(tab.locator('#adj-root[data-bound="1"]')).to_have_count(1)
