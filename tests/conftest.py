"""Fixtures; the shared ledger text and helpers are in `ledgers.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def write_ledger(tmp_path: Path) -> Callable[..., Path]:
    """Write a ledger's text to `main.beancount` (or `name`) in the test's folder."""

    def write(text: str, name: str = "main.beancount") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def page() -> Iterator[Any]:
    """A headless Chromium tab (see `browser.py`); skipped where there is none."""
    from browser import CHROMIUM, open_page

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with open_page(sync_api) as tab:
        yield tab


@pytest.fixture
def smtp() -> Iterator[tuple[Any, int]]:
    """A local SMTP server (aiosmtpd) and its port: (mailbox, port)."""
    from aiosmtpd.controller import Controller
    from receivers import Mailbox, free_port

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def hooks() -> Iterator[Any]:
    """A local HTTP server recording what is posted to it (`receivers.Hooks`)."""
    from receivers import Hooks

    server = Hooks()
    try:
        yield server
    finally:
        server.close()
