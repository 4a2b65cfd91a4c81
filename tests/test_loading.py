"""A cached load made by other code of this package is never read as this code's."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from beancount import loader

import beancount_adjustments
from beancount_adjustments import book_of, plugin
from beancount_adjustments.beans import loading
from ledgers import BASE, ledger, request


def test_a_cache_made_by_other_code_is_loaded_afresh(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_load_file", loader.pickle_cache_function(  # cache every load
        functools.partial(loader.get_cache_filename, loader.PICKLE_CACHE_FILENAME), 0.0,
        loader._uncached_load_file))
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "2024-03-05", "-10.00")), encoding="utf-8")
    _, _, options = loading.load_file(path)
    assert book_of(options) is not None
    assert (tmp_path / ".main.beancount.picklecache").exists()

    # The package is upgraded: the ledger's files did not change, so Beancount
    # would hand back the old pickle, book and entries as the older code made them.
    for module in (loading, plugin):
        monkeypatch.setattr(module, "code_stamp", lambda: "upgraded")
    # Beancount's own loader (bean-check's) refuses the pickle and loads afresh:
    # the stamp in it does not unpickle under other code.
    _, _, reloaded = loader.load_file(str(path))
    assert reloaded[loading.STAMP_KEY] == "upgraded"
    assert book_of(reloaded) is not None

    # And a cache whose stamp reads back (written without the guard) is still not
    # taken for this code's: `book_of` refuses it and `load_file` loads afresh.
    for module in (loading, plugin):
        monkeypatch.setattr(module, "code_stamp", lambda: "upgraded again")
    monkeypatch.setattr(loading, "_unpickled_stamp", lambda text, sources=(): text)
    _, _, cached = loader.load_file(str(path))
    assert cached[loading.STAMP_KEY] == "upgraded"
    assert book_of(cached) is None, "a book judged by other code must not be read"

    fresh: list[Path] = []
    uncached = loading.load_uncached
    monkeypatch.setattr(loading, "load_uncached",
                        lambda p: fresh.append(Path(p)) or uncached(p))
    _, _, options = loading.load_file(path)
    assert fresh == [path]
    assert options[loading.STAMP_KEY] == "upgraded again"
    assert book_of(options) is not None


def test_the_stamp_covers_the_package_source(tmp_path: Path) -> None:
    """Every module, the replay's rules too: a cache made when `core` judged otherwise
    (before a control was added) must not be read as this code's book."""
    import shutil
    import subprocess
    import sys
    stamp = loading.code_stamp()
    assert len(stamp) == 16
    assert stamp == loading.code_stamp()
    package = Path(beancount_adjustments.__file__).resolve().parent
    copy = tmp_path / "beancount_adjustments"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def stamp_of_copy() -> str:
        done = subprocess.run(
            [sys.executable, "-c", "from beancount_adjustments.beans.loading import "
             "code_stamp; print(code_stamp())"],
            cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True,
            check=True)
        return done.stdout.strip()

    before = stamp_of_copy()
    with (copy / "core" / "replay_events.py").open("a") as rules:
        rules.write("\n# a rule changed\n")
    assert stamp_of_copy() != before
    assert BASE  # the shared preamble loads with the plugin enabled


def test_a_pass_that_failed_after_judging_leaves_no_book(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The book is made before the effects are placed; if placing them fails, the
    book is not what the ledger amounts to, and no tool may judge with it."""
    import datetime

    from beancount_adjustments import writer
    from beancount_adjustments.core.models import Action

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(plugin, "_with_effects", broken)
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "2024-03-05", "-100.00")), encoding="utf-8")
    _, errors, options = loading.load_uncached(path)
    assert any("failed internally" in e.message for e in errors)
    assert book_of(options) is None
    before = path.read_bytes()
    with pytest.raises(writer.WriteRefused, match="failed internally"):
        writer.write_decisions(path, [writer.Decision("ADJ-1", Action.APPROVE, by="bob",
                                                      date=datetime.date(2024, 3, 6))])
    assert path.read_bytes() == before



def test_another_plugins_error_naming_an_internal_failure_is_not_ours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer knows the plugin's internal failure by its error's type, not by
    words of its message: a site plugin reporting "... failed internally ..." on a
    ledger that does not enable this plugin gets the refusal that says so."""
    import datetime

    from beancount_adjustments import writer
    from beancount_adjustments.core.models import Action

    (tmp_path / "site_noise.py").write_text(
        "import collections\n"
        "E = collections.namedtuple('E', 'source message entry')\n"
        "__plugins__ = ('noise',)\n"
        "def noise(entries, options_map):\n"
        "    return entries, [E({'filename': '<site>', 'lineno': 0},\n"
        "                       'the exporter failed internally at x.py:1', None)]\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "main.beancount"
    text = ledger(request("ADJ-1", "2024-03-05", "-100.00"))
    path.write_text(text.replace('plugin "beancount_adjustments"', 'plugin "site_noise"'),
                    encoding="utf-8")
    with pytest.raises(writer.WriteRefused, match="does not enable the plugin"):
        writer.write_decisions(path, [writer.Decision("ADJ-1", Action.APPROVE, by="bob",
                                                      date=datetime.date(2024, 3, 6))])

def test_a_dropped_load_is_freed_without_the_cyclic_collector() -> None:
    """The book the plugin leaves holds the replay; a cycle in it (a table of the
    replay's bound methods) made every dropped load, entries and all, garbage only a
    full collection frees: seconds of each reload of a large ledger in Fava."""
    import gc

    from ledgers import event, ledger
    text = ledger(request("ADJ-1", "2026-03-01", "-100.00")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    gc.collect()
    entries, errors, options = loader.load_string(text)
    assert errors == []
    assert book_of(options) is not None
    del entries, errors, options
    assert gc.collect() == 0
