"""Files the tools write: exclusive locks, and replacing a file all or nothing.

The writer (ledger files) and notify (its state file) both use these, so a
crash or a second run never leaves a half-written file or two writers at once.
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


def atomic_write(target: Path, content: bytes | Sequence[bytes]) -> None:
    """Replace the real file of `target` by `content` (or its parts one after
    the other: a writer appending to a large file need not copy it into one
    string), all or nothing (a symlink stays a symlink: the file it points to
    is replaced), durably: the content is fsynced before the rename, and the
    directory after it."""
    target = real_file(target)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    parts = (content,) if isinstance(content, bytes) else content
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # The rename is durable only once the directory is on disk too (where the
    # file system can say so: some refuse fsync on a directory).
    with suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
