"""Loading a ledger: with the loader's pickle cache to read, without it to write.

`beancount.loader.load_file` keeps a pickle of what it loaded beside the
ledger (`.main.beancount.picklecache`) and writes it anew after any load
that took over a second. A tool about to change the file gains nothing from
it: the cache is stale the moment the write lands, and writing it costs
seconds on a large ledger (a pickle of every entry). So the writer, and the
commands that write, load the way Fava does (`fava.beans.load`): the
loader's own pass, uncached. Reading commands keep the cache (`load_file`),
but only what this very code made: the loader renews its cache when a file
changes, not when the plugin does, and an upgraded plugin must not read the
book (or the entries) an older one judged.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.utils import encryption


def load_uncached(path: str | Path) -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    """What `loader.load_file(path)` returns, never read from or written to its cache."""
    # Absolute, as load_file makes it: entries carry this name as their filename.
    filename = os.path.abspath(os.path.expanduser(os.path.expandvars(str(path))))
    if encryption.is_encrypted_file(filename):
        return loader.load_file(filename)  # the loader never caches these
    # A private function, as in Fava: the one entry point that skips the cache.
    entries, errors, options = loader._load(
        [(filename, True)], None, None, None)
    return entries, errors, options


BOOK_KEY = "beancount_adjustments.book"
"""The options key where the plugin leaves its book."""
STAMP_KEY = "beancount_adjustments.code"
"""The options key where the plugin leaves `code_stamp()` beside its book."""


@functools.cache
def code_stamp() -> str:
    """A hash of this package's source: which code made a load's plugin output."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def made_here(options: dict[str, Any]) -> bool:
    """Whether the plugin output in `options` (if any) was made by this code."""
    return BOOK_KEY not in options or options.get(STAMP_KEY) == code_stamp()


def load_file(path: str | Path) -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    """`loader.load_file(path)`, cache and all, unless the cache holds what another
    version of this package made: then the ledger is loaded afresh."""
    entries, errors, options = loader.load_file(str(path))
    if made_here(options):
        return entries, errors, options
    return load_uncached(path)
