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
