"""Loading a ledger that is about to be written: the loader without its pickle cache.

`beancount.loader.load_file` keeps a pickle of what it loaded beside the
ledger (`.main.beancount.picklecache`) and writes it anew after any load
that took over a second. A tool about to change the file gains nothing from
it: the cache is stale the moment the write lands, and writing it costs
seconds on a large ledger (a pickle of every entry). So the writer, and the
commands that write, load the way Fava does (`fava.beans.load`): the
loader's own pass, uncached. Reading commands keep the cache.
"""

from __future__ import annotations

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
