"""On a ledger without adjustments (Beancount's example generator), the plugin
adds no error and changes no entry."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from beancount.parser import printer
from sample_ledgers import bean_example

import beancount_adjustments
from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book


@pytest.fixture(scope="module")
def example_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("example")
    plain = directory / "example.beancount"
    bean_example(plain)
    text = plain.read_text()
    assert len(text.splitlines()) > 500
    with_plugin = directory / "with-plugin.beancount"
    with_plugin.write_text('plugin "beancount_adjustments"\n' + text)
    return plain, with_plugin


def _printed(entries: list) -> list[str]:
    out = []
    for entry in entries:
        buffer = io.StringIO()
        printer.print_entry(entry, file=buffer)
        out.append(buffer.getvalue())
    return out


def test_plugin_changes_nothing_on_a_ledger_without_adjustments(example_ledger):
    plain, with_plugin = example_ledger
    entries, errors, _ = loading.load_file(str(plain))
    entries_p, errors_p, options_p = loading.load_file(str(with_plugin))
    assert len(errors_p) == len(errors)
    assert [e.message for e in errors_p] == [e.message for e in errors]
    assert len(entries_p) == len(entries)
    assert _printed(entries_p) == _printed(entries)
    # line numbers shift by the one plugin line, nothing else differs
    for before, after in zip(entries, entries_p, strict=True):
        assert type(before) is type(after)
        assert after.meta["lineno"] - before.meta["lineno"] in (0, 1)
    book = beancount_adjustments.book_of(options_p)
    assert isinstance(book, Book)
    assert book.adjustments == {}
    assert book.problems == ()


def test_plugin_function_returns_the_same_entries(example_ledger):
    plain, _ = example_ledger
    entries, _, options = loading.load_file(str(plain))
    out, errors = beancount_adjustments.adjustments(entries, dict(options))
    assert errors == []
    assert out is entries or out == entries
