"""Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven
by Playwright, never a downloaded browser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Generous waits: CI machines are slow and shared; a wait that passes returns at once.
EXPECT_TIMEOUT_MS = 20_000
ACTION_TIMEOUT_MS = 30_000


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
