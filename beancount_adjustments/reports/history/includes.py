"""Where a ledger's files are included: the `include` line that reads each file a
load read, so that a finding about a file (not tracked by git, read from outside
REV's tree, not found at REV) points at a line an editor can open. Beancount
itself says `<load>:0` for them.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from typing import NamedTuple

from beancount_adjustments.core.models import Source

_INCLUDE = re.compile(r'include\s+"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")


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
    Beancount's loader expands it: relative to the including file's directory,
    as a recursive glob."""
    found = []
    for filename in files:
        try:
            text = open(filename, encoding="utf-8", errors="replace").read()  # noqa: SIM115
        except OSError:
            continue
        # Lines as Beancount counts them (at "\n" only), and an include starts one.
        for lineno, line in enumerate(text.split("\n"), 1):
            match = _INCLUDE.match(line)
            if match is None:
                continue
            written = _ESCAPE.sub(r"\1", match.group(1))
            pattern = (written if os.path.isabs(written)
                       else os.path.join(os.path.dirname(filename), written))
            reads = tuple(os.path.normpath(name) for name in glob.glob(pattern, recursive=True))
            found.append(Include(Source(filename, lineno), written, reads))
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
