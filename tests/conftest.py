"""Fixtures; the shared ledger text and helpers are in `ledgers.py`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write_ledger(tmp_path: Path) -> Callable[..., Path]:
    """Write a ledger's text to `main.beancount` (or `name`) in the test's folder."""

    def write(text: str, name: str = "main.beancount") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
