"""The file a write appends to, its locks, and reading it as it was judged."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from beancount_adjustments.beans.loading import Stat, stat_of
from beancount_adjustments.writer.files import flocked
from beancount_adjustments.writer.results import Refusal, WriteRefused

TARGET_ENV = "BEAN_ADJUST_TARGET"
DEFAULT_TARGET_NAME = "adjustments.beancount"
LOCK_TIMEOUT = 120.0
"""Seconds a writer waits for the lock before giving up."""

def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_INCLUDE_RE = re.compile(r'^\s*include\s+"([^"]+)"', re.MULTILINE)


def resolve_target(ledger: Path, target: Path | None = None) -> Path:
    """The file a write to `ledger` appends to (README: One writer)."""
    ledger = Path(ledger)
    if target is None and os.environ.get(TARGET_ENV):
        target = Path(os.environ[TARGET_ENV])
    if target is not None:
        target = Path(target)
        return target if target.is_absolute() else ledger.parent / target
    default = ledger.parent / DEFAULT_TARGET_NAME
    if ledger.name != DEFAULT_TARGET_NAME and default.is_file():
        try:
            includes = _INCLUDE_RE.findall(ledger.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):  # the write says why it cannot read it
            includes = []
        if any(_same_file(ledger.parent / name, default) for name in includes):
            return default
    return ledger


def _same_file(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def lock_path(target: Path) -> Path:
    """The sidecar lock file of `target` (of its real file, symlinks resolved)."""
    real = Path(os.path.realpath(target))
    return real.parent / f".{real.name}.lock"


@contextmanager
def locked(*paths: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive locks of `paths` (README: One writer), taken in
    one order (their real paths sorted) so that two writers never deadlock."""
    reals = sorted({os.path.realpath(p) for p in paths})
    owners = {lock_path(Path(real)): real for real in reals}

    def busy(lock: Path) -> WriteRefused:
        return WriteRefused([Refusal(owners[lock], f"another writer has held the lock {lock} "
                                     f"for {timeout:.0f} s; try again")])

    with flocked(list(owners), timeout=timeout, busy=busy):
        yield


@contextmanager
def ledger_locked(ledger: Path, target: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """The lock every writer of `ledger` takes, whatever file of it it writes:
    the lock of the ledger's real root file, and the target's own (so that two
    ledgers including one file do not lose each other's entries either)."""
    with locked(ledger, target, timeout=timeout):
        yield


def writable_problem(path: Path) -> str | None:
    """Why `path` (a real file) cannot be replaced, or None (said after the file's
    name, as a `Refusal` prints it): a read-only file
    (no write permission bit, whoever runs the tool: a 0444 ledger is read-only
    for root too), a directory where no file can be created, a read-only mount."""
    try:
        mode = path.stat().st_mode
        dir_mode = path.parent.stat().st_mode
        read_only_mount = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError as exc:
        return f"cannot write it: {exc.strerror or exc}"
    if read_only_mount:
        return "cannot write it: it is on a read-only file system"
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not mode & writable or not os.access(path, os.W_OK):
        return "cannot write it: the file is read-only (make it writable to add entries)"
    if not dir_mode & writable or not os.access(path.parent, os.W_OK | os.X_OK):
        return (f"cannot write it: its directory {path.parent} is read-only, and an "
                "atomic write needs a new file there (make the directory writable)")
    return None


def os_refusal(path: Path, exc: OSError | UnicodeDecodeError, doing: str) -> WriteRefused:
    """An OS or decoding error as one line: what failed, on which file, why."""
    if isinstance(exc, UnicodeDecodeError):
        why = (f"it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
               f"{exc.start}); Beancount reads UTF-8: convert the file, e.g. with iconv")
    else:
        why = {errno.ENOSPC: "no space left on the device",
               errno.EDQUOT: "the disk quota is exceeded",
               errno.EFBIG: "the file would be larger than the system allows",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only"}.get(
                   exc.errno or 0, exc.strerror or str(exc))
    return WriteRefused([Refusal(str(path), f"cannot {doing} it: {why}; nothing was "
                                 "written, the files are as they were")])


def file_identity(path: Path) -> Stat:
    """What tells a file apart from itself changed or replaced (`loading.stat_of`:
    its change time too, which no program saving it can set back as it can the
    modification time, `cp -p` or `touch -r`)."""
    return stat_of(os.stat(path))


def read_with_stat(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its stat as they were read (one open file)."""
    with path.open("rb") as handle:
        found = os.fstat(handle.fileno())
        raw = handle.read()
    return raw, found


def remove_stray_temporaries(target: Path) -> None:
    """Temporaries left by a writer killed mid-write (we hold the lock, so
    no live writer owns one)."""
    for stray in target.parent.glob(f".{target.name}.*.tmp"):
        with suppress(FileNotFoundError):
            stray.unlink()

