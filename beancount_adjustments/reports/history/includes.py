"""Where a ledger's files are included: the `include` line that reads each file a
load read, so that a finding about a file (not tracked by git, read from outside
REV's tree, not found at REV) points at a line an editor can open. Beancount
itself says `<load>:0` for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

from beancount_adjustments.beans.include_lines import include_lines
from beancount_adjustments.core.models import Source


class Sited(NamedTuple):
    """A file a load read, or a loader's message, and the line it is about."""

    what: str
    site: Source


class Include(NamedTuple):
    """One `include` line: where it is, the name as written, and the files it reads
    (as the loader names them: absolute and normalized)."""

    site: Source
    written: str
    reads: tuple[str, ...]


def includes_in(files: Iterable[str]) -> list[Include]:
    """The `include` lines of `files` (the files a load read), each expanded as
    Beancount's loader expands it (`beans.include_lines`)."""
    found = []
    for filename in files:
        try:
            with open(filename, "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        for line in include_lines(raw, os.path.dirname(filename)) or ():
            found.append(Include(Source(filename, line.lineno), line.written,
                                 tuple(sorted(line.reads))))
    return found


def site_of(file: str, includes: Iterable[Include]) -> Source:
    """The first include line that reads `file`, or the file itself at line 0 (the
    top-level ledger, which nothing includes)."""
    wanted = os.path.normpath(file)
    for include in includes:
        if wanted in include.reads:
            return include.site
    return Source(file, 0)


def site_of_unmatched(written: str, includes: Iterable[Include]) -> Source | None:
    """The first include line written as `written` that reads nothing (the loader's
    'File glob "..." does not match any files')."""
    for include in includes:
        if include.written == written and not include.reads:
            return include.site
    return None
