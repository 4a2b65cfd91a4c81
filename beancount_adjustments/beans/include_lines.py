"""The `include` lines of a ledger file as Beancount's loader reads them: what each
names and the files it reads (relative to the including file's folder, as a
recursive glob, normalized). The one reading of includes for the tools that must
know which files a load read (`loading.disk_state`) and where a file is included
(`check --since`'s findings about files).
"""

from __future__ import annotations

import glob
import os
import re
from typing import NamedTuple

# An include as the loader's grammar has it (the keyword first on its line,
# checked apart: a `^` in a multi-line pattern makes the search ten times
# slower). A line this misses (or wrongly takes) makes `snapshot` find another
# set of files than the loader read, and so no snapshot: never a wrong one.
_INCLUDE = re.compile(rb'include[ \t]+"((?:[^"\\\n]|\\.)*)"')


class IncludeLine(NamedTuple):
    lineno: int
    written: str
    """The name as written (escapes read), as the loader's messages quote it."""
    reads: frozenset[str]


def include_lines(raw: bytes, folder: str) -> list[IncludeLine] | None:
    """The include lines of a file's bytes `raw`, the file lying in `folder`; None when
    a name does not decode (the loader could not read it either)."""
    found = []
    lineno, at = 1, 0
    for match in _INCLUDE.finditer(raw):
        if raw[raw.rfind(b"\n", 0, match.start()) + 1:match.start()].strip(b" \t"):
            continue
        lineno += raw.count(b"\n", at, match.start())
        at = match.start()
        try:
            written = re.sub(rb"\\(.)", rb"\1", match.group(1)).decode("utf-8")
        except UnicodeDecodeError:
            return None
        pattern = os.path.join(folder, written)  # an absolute pattern stays itself
        found.append(IncludeLine(lineno, written, frozenset(
            os.path.normpath(p) for p in glob.glob(pattern, recursive=True))))
    return found
