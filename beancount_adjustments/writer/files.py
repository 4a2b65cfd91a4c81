"""Files the tools write: exclusive locks, and writing a file all or nothing.

Every tool that writes a file uses these: the writer (ledger files), notify (its
state file), init, the output files of statement, report, export and demo, and
keygen's private key. So a crash, a full disk or a second run never leaves a
half-written file or two writers at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path


def real_file(path: Path) -> Path:
    """The file a write to `path` changes: symlinks resolved (the link is kept)."""
    return Path(os.path.realpath(path))


def _open_lock(lock: Path) -> int:
    """A descriptor to `flock` for `lock`, or, where the lock file cannot be created
    (a read-only directory), its directory itself."""
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        return os.open(lock.parent, os.O_RDONLY)


@contextmanager
def flocked(locks: Sequence[Path], *, timeout: float,
            busy: Callable[[Path], Exception]) -> Iterator[None]:
    """Hold exclusive `flock`s on `locks`, taken in the order given (callers sort
    them, so that two writers never deadlock); `busy(lock)` is raised when one is
    still held by another process after `timeout` seconds."""
    fds: list[int] = []
    try:
        deadline = time.monotonic() + timeout
        for lock in locks:
            fd = _open_lock(lock)
            fds.append(fd)
            pause = 0.002
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() > deadline:
                        raise busy(lock) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
        yield
    finally:
        for fd in fds:
            os.close(fd)  # closing the descriptor releases the lock


def temporary(beside: Path, content: bytes | Sequence[bytes], *, mode: int = 0o600,
              tag: str = "") -> Path:
    """A new file beside `beside` holding `content` (or its parts one after the
    other: a writer appending to a large file need not copy it into one string),
    fsynced, with `mode`; named `.<name>.<tag><random>.tmp`, so the next writer of
    `beside` removes it if a kill left it (`target.remove_stray_temporaries`).
    Created, never opened by name: a link planted there cannot redirect it. A failed
    write (a full disk) removes it again."""
    parts = (content,) if isinstance(content, bytes) else content
    fd, name = tempfile.mkstemp(dir=beside.parent, prefix=f".{beside.name}.{tag}",
                                suffix=".tmp")
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(name, mode)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name)


def atomic_write(target: Path, content: bytes | Sequence[bytes]) -> None:
    """Replace the real file of `target` by `content` (see `temporary`), all or
    nothing (a symlink stays a symlink: the file it points to is replaced),
    durably: the content is fsynced before the rename, and the directory after it."""
    target = real_file(target)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    tmp = temporary(target, content, mode=mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(target.parent)


def create_new(target: Path, content: bytes, *, mode: int) -> None:
    """Create `target` holding `content` with `mode`, all or nothing, never replacing
    anything there (a file, or a symlink, dangling or not: FileExistsError). The
    whole file is written aside first and then linked in under its name, so a kill
    or a full disk never leaves half of it (an empty key file would block the next
    try for good: what is there is never overwritten)."""
    tmp = temporary(target, content, mode=mode)
    try:
        os.link(tmp, target)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    # A rename or a link is durable only once the directory is on disk too (where
    # the file system can say so: some refuse fsync on a directory).
    with suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
