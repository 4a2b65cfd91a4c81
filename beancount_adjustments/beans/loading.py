"""Loading a ledger: cached to read, uncached to write, and when a load can be reused.

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

A `Snapshot` is a load together with what every file it read held (their
SHA-256) and what every `include` pattern matched. The writer judges against
a snapshot instead of parsing again only while `Snapshot.unchanged()` finds the
disk exactly so, under its lock. A snapshot is made only of a load whose
files were fingerprinted just before it and are the same just after it
(`disk_state` around the load; then `snapshot`): hashing after a load alone
cannot tell whether a file changed while the loader was reading it. After a
write, the state the writer left the files in (`replaced`: hashed under its
lock) is the fingerprint before, and their stats after the load stand for
their bytes until the next write hashes them again (`Snapshot.unchanged`
compares hashes and stats).
"""

from __future__ import annotations

import functools
import glob
import hashlib
import inspect
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from beancount import loader
from beancount.core import data
from beancount.utils import encryption

from beancount_adjustments.beans.collector import collector_paused
from beancount_adjustments.beans.include_lines import include_lines
from beancount_adjustments.beans.site_code import PACKAGE, site_file
from beancount_adjustments.core.errors import AdjustmentsError

__all__ = ["DiskState", "LoadStopped", "Snapshot", "disk_state", "load_uncached", "replaced",
           "snapshot"]


class LoadStopped(AdjustmentsError):
    code = "load-stopped"


@contextmanager
def _ran_to_the_end(filename: str) -> Iterator[None]:
    """A load, refused when code the ledger runs ended it: a module named on a plugin
    line runs at its import, and one that exits (a command-line `__main__` module
    does) would end the tool with the code it chose, 0 included, having judged
    nothing. bean-check is Beancount's and exits as it is told; the tools do not."""
    try:
        yield
    except SystemExit as exc:
        raise LoadStopped(
            f"{filename}: loading stopped before the ledger was judged: code it runs (a "
            f"module on a plugin line, or one it imports) ended the process with exit "
            f"code {exc.code!r}; nothing was judged or written. Remove that plugin line."
        ) from None


def load_uncached(path: str | Path) -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    """What `loader.load_file(path)` returns, never read from or written to its cache."""
    # Absolute, as load_file makes it: entries carry this name as their filename.
    filename = absolute(path)
    with collector_paused(), _ran_to_the_end(filename):
        if encryption.is_encrypted_file(filename):
            return loader.load_file(filename)  # the loader never caches these
        # A private function, as in Fava: the one entry point that skips the cache.
        entries, errors, options = loader._load(
            [(filename, True)], None, None, None)
    return entries, errors, options


class InternalFailure(NamedTuple):
    """The error the plugin returns when its pass failed internally: it judged
    nothing and no request moves money. The tools know it by its type."""

    source: dict[str, Any]
    message: str
    entry: Any


BOOK_KEY = "beancount_adjustments.core.book"
"""The options key where the plugin leaves its book."""
STAMP_KEY = "beancount_adjustments.code"
"""The options key where the plugin leaves `code_stamp()` beside its book."""


@functools.cache
def code_stamp() -> str:
    """A hash of this package's source (every module: the replay's rules in `core` as
    much as this adapter): which code made a load's plugin output."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class StaleCache(AdjustmentsError):
    """A pickle cache of a load made by another version of this package."""

    code = "stale-cache"


Sources = tuple[tuple[str, str], ...]
"""(file, SHA-256) of each module a site's check (the `checks` setting) came from."""


class Stamp(str):
    """`code_stamp()` as the plugin leaves it in the options, with the `sources` of the
    site's checks it ran: a pickle of it will not load under other code, or once one
    of those files changed, so Beancount's loader (bean-check's too) takes the cache
    for corrupted and loads the ledger afresh (its cache is renewed only when a
    ledger file changes: a stricter check would not judge a cached book)."""

    sources: Sources

    def __new__(cls, text: str, sources: Sources = ()) -> Stamp:
        made = super().__new__(cls, text)
        made.sources = sources
        return made

    def __reduce__(self) -> tuple[Any, tuple[str, Sources]]:
        return (_unpickled_stamp, (str(self), self.sources))


def _unpickled_stamp(text: str, sources: Sources = ()) -> Stamp:
    if text != code_stamp():
        raise StaleCache("it was made by another version of beancount_adjustments")
    for name, sha in sources:
        if _file_sha(name) != sha:
            raise StaleCache(f"the check module {name} changed since it was made")
    return Stamp(text, sources)


def _file_sha(name: str) -> str | None:
    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return None


def check_sources(functions: Iterable[object]) -> Sources:
    """The files the site's checks `functions` come from, each with its SHA-256: the
    module each is defined in, and every site module loaded from under the folder
    it was imported from (a check importing its limits from a helper module is
    changed by an edit there too). This package's own modules aside (`code_stamp`
    covers them), and installed helpers (`site_code`)."""
    roots: set[Path] = set()
    names: list[str] = []
    for function in functions:
        try:
            name = inspect.getsourcefile(function)  # type: ignore[arg-type]
        except TypeError:  # a built-in or a callable object: no file to tell by
            continue
        if name is None or Path(name).resolve().is_relative_to(PACKAGE):
            continue
        names.append(name)
        roots.add(_import_root(name, getattr(function, "__module__", "") or ""))
    for module in list(sys.modules.values()) if roots else ():
        file = getattr(module, "__file__", None)
        if (isinstance(file, str) and file.endswith(".py")
                and any(site_file(module, root) for root in roots)):
            names.append(file)
    found: dict[str, str] = {}
    for name in names:
        sha = _file_sha(name)
        if sha is not None:
            found.setdefault(name, sha)
    return tuple(sorted(found.items()))


def _import_root(file: str, module: str) -> Path:
    """The folder `module` (defined in `file`) was imported from: `a/b/c.py` as `a.b.c`
    was found in the folder holding `a`."""
    depth = module.count(".") + (1 if os.path.basename(file) == "__init__.py" else 0)
    parents = Path(file).resolve().parents
    return parents[min(depth, len(parents) - 1)]


def made_here(options: dict[str, Any]) -> bool:
    """Whether the plugin output in `options` (if any) was made by this code."""
    return BOOK_KEY not in options or options.get(STAMP_KEY) == code_stamp()


def load_file(path: str | Path) -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    """`loader.load_file(path)`, cache and all, unless the cache holds what another
    version of this package made: then the ledger is loaded afresh."""
    with collector_paused(), _ran_to_the_end(absolute(path)):
        entries, errors, options = loader.load_file(str(path))
    if made_here(options):
        return entries, errors, options
    return load_uncached(path)


def absolute(path: str | Path) -> str:
    """The name the loader gives `path` (and its entries' `filename`)."""
    return os.path.abspath(os.path.expanduser(os.path.expandvars(str(path))))


Stat = tuple[int, int, int, int, int]
"""(device, inode, size, mtime_ns, ctime_ns): any write to a file changes one."""


def stat_of(st: os.stat_result) -> Stat:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class DiskState:
    """What a ledger's files hold now: each file's SHA-256 and stat, and each
    `include` pattern with the files it matches now (the loader globs them,
    so a file can join a ledger without any file changing)."""

    root: str
    files: tuple[tuple[str, str, Stat], ...]
    """(name as the loader gives it, SHA-256, stat), in the order given."""
    includes: tuple[tuple[str, frozenset[str]], ...] | None
    """(absolute pattern, the files it matches), in the order found; None when the
    files were not read for them (`disk_state(includes_too=False)`)."""

    def hashes(self) -> dict[str, str]:
        return {name: sha for name, sha, _ in self.files}


def _state_of(root: str, names: Iterable[str], *, includes_too: bool = True,
              known: Mapping[str, tuple[str, Stat]] | None = None) -> DiskState | None:
    """`known`: (SHA-256, stat) of files already read, by real path (no includes
    are read from them)."""
    files: list[tuple[str, str, Stat]] = []
    includes: list[tuple[str, frozenset[str]]] = []
    for name in names:
        found = known.get(os.path.realpath(name)) if known else None
        if found is not None:
            files.append((name, *found))
            continue
        try:
            with open(name, "rb") as handle:
                raw = handle.read()
                st = os.fstat(handle.fileno())
        except OSError:
            return None  # a file that cannot be read cannot be vouched for
        if encryption.is_encrypted_file(name):
            return None
        files.append((name, hashlib.sha256(raw).hexdigest(), stat_of(st)))
        if includes_too:
            folder = os.path.dirname(name)
            lines = include_lines(raw, folder)
            if lines is None:
                return None
            includes += [(os.path.join(folder, line.written), line.reads) for line in lines]
    return DiskState(root, tuple(files), tuple(includes) if includes_too else None)


def disk_state(options: dict[str, Any], *, includes_too: bool = True) -> DiskState | None:
    """The state of the files a load read (`options` is what it returned), or
    None when one of them cannot be read (or is encrypted). Without
    `includes_too`, only the files' hashes and stats (enough to compare with
    a state taken later)."""
    root = options.get("filename")
    names = options.get("include")
    if not isinstance(root, str) or not names:
        return None
    return _state_of(root, [str(n) for n in names], includes_too=includes_too)


@dataclass(frozen=True)
class Snapshot:
    """A load (entries, errors, options as the loader returned them) and the
    state of the files it read."""

    entries: list[data.Directive]
    errors: list[Any]
    options: dict[str, Any]
    state: DiskState

    @property
    def root(self) -> str:
        return self.state.root

    def unchanged(self, known: Mapping[str, tuple[str, Stat]] | None = None,
                  ) -> DiskState | str:
        """The files' state now when every file holds the same bytes (with the
        same stat) and every include pattern matches the same files as this
        load read; else why not. Hashes the whole ledger
        (but the files in `known`: (SHA-256, stat) by real path, as the caller
        read them): call it under the writer's lock, where no other writer can
        change a file after it."""
        expected = {name: (sha, st) for name, sha, st in self.state.files}
        # Same bytes, same include lines: only what their patterns match can differ.
        now = _state_of(self.root, expected, includes_too=False, known=known)
        if now is None:
            return "a file of the ledger cannot be read"
        for name, sha, st in now.files:
            # The stat too: after a write it is what vouched for the bytes the reload
            # read (`snapshot`), so bytes changed then and changed back since show.
            if (sha, st) != expected[name]:
                return f"{name} changed since it was loaded"
        for pattern, matched in self.state.includes or ():
            matches = frozenset(os.path.normpath(p) for p in glob.glob(pattern, recursive=True))
            if matches != matched:
                added = sorted(matches - matched)
                return (f"{added[0]} is new (include {pattern!r})" if added else
                        f"include {pattern!r} matches fewer files than when it was loaded")
        # The same bytes hold the same include lines, whose patterns match the same files.
        return DiskState(now.root, now.files, self.state.includes)


def replaced(state: DiskState, real: str, sha256: str) -> DiskState | None:
    """`state` after the file at the real path `real` was replaced by content
    hashing to `sha256`, its stat read now (None if it cannot be). A writer
    that hashed the files under its lock hands this to the reload after its
    write instead of hashing them all again: a file changed since is caught
    by `snapshot` (its stat differs after the load) or by the next write's
    `Snapshot.unchanged` (its hash or its stat differs)."""
    try:
        st = os.stat(real)
    except OSError:
        return None
    stat = stat_of(st)
    written = [os.path.realpath(name) == real for name, _, _ in state.files]
    if not any(written):
        return None
    return DiskState(state.root, tuple((name, sha256, stat) if was else (name, sha, old)
                                       for was, (name, sha, old) in zip(written, state.files,
                                                                        strict=True)),
                     state.includes)


def snapshot(entries: list[data.Directive], errors: list[Any], options: dict[str, Any],
             before: DiskState | None) -> Snapshot | None:
    """The load just made (what the loader returned) as a `Snapshot`, if what it
    read is known: `before` is the files' state just before the load began
    (`disk_state` of the previous load's files, or the state a write left them
    in, `replaced`). None, and so a full load by the writer, on any doubt: no
    state before, a file read that was not fingerprinted before or differs now
    from then, includes this module reads otherwise than the loader did, or a
    plugin that did not judge.

    A `before` with its includes read (a writer's, `replaced`) is not read
    again: each file's stat now must be the one the writer left (any write
    since changes it), and the next write hashes every file again under its
    lock. Otherwise the files are read and hashed again after the load.
    """
    if before is None:
        return None
    # The plugin leaves no book when it failed internally (it judged nothing).
    if options.get(BOOK_KEY) is None or not made_here(options):
        return None
    after = disk_state(options) if before.includes is None else _restated(before, options)
    if after is None or after.root != before.root or after.includes is None:
        return None
    seen = {name: (sha, st) for name, sha, st in before.files}
    if any(seen.get(name) != (sha, st) for name, sha, st in after.files):
        return None
    matched = {name for _, names in after.includes for name in names}
    if {name for name, _, _ in after.files} != {after.root, *matched}:
        return None
    return Snapshot(entries, errors, options, after)


def _restated(before: DiskState, options: dict[str, Any]) -> DiskState | None:
    """`before` for the files the load read (`options`), each with its stat now
    (None if one cannot be read): their hashes are `before`'s, vouched for by
    those stats being `before`'s (`snapshot` compares them)."""
    names = options.get("include")
    if options.get("filename") != before.root or not isinstance(names, list | tuple):
        return None
    known = {name: sha for name, sha, _ in before.files}
    files: list[tuple[str, str, Stat]] = []
    for name in (str(n) for n in names):
        try:
            st = os.stat(name)
        except OSError:
            return None
        files.append((name, known.get(name, ""), stat_of(st)))
    return DiskState(before.root, tuple(files), before.includes)
