"""Fixtures; the shared ledger text and helpers are in `ledgers.py`."""

from __future__ import annotations

import functools
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
def no_tool_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's environment (default ledger, user, target) unset for the test."""
    for name in ("BEAN_ADJUST_LEDGER", "BEAN_ADJUST_USER", "BEAN_ADJUST_TARGET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def writer_ledger(tmp_path: Path) -> Path:
    """`sample_ledgers.WRITER_LEDGER` in the test's `main.beancount`."""
    from sample_ledgers import WRITER_LEDGER

    path = tmp_path / "main.beancount"
    path.write_text(WRITER_LEDGER, encoding="utf-8")
    return path


@pytest.fixture
def forget_site_plugins() -> Iterator[None]:
    """The site plugins a test wrote (`site_plugins.site_plugin`) forgotten after it."""
    from site_plugins import forget

    yield
    forget()

@pytest.fixture(autouse=True)
def poll_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fava apps made in the tests' process use the polling watcher: the inotify one
    keeps an instance (and two threads) per app for the rest of the run, and past
    the user's limit (128, shared with every other process of that user) Fava's
    watcher threads fail with "Too many open files". Fava servers the e2e tests
    start in their own process keep Fava's default."""
    import fava.application

    monkeypatch.setattr(fava.application, "create_app",
                        functools.partial(fava.application.create_app, poll_watcher=True))


@pytest.fixture
def page() -> Iterator[Any]:
    """A headless Chromium tab (see `browser.py`); skipped where there is none."""
    from browser import open_page, playwright

    with open_page(playwright()) as tab:
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
