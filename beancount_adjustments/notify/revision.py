"""`notify --since REV`: the book as it was at a git revision, whose notices count as sent.

REV's tree is extracted with `git archive` and loaded there, so includes resolve
as they did; no state is kept between runs.
"""

from __future__ import annotations

import datetime
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book
from beancount_adjustments.notify.channels import ChannelError


def book_at_revision(ledger: Path, rev: str) -> tuple[Book, datetime.date, list[Any]]:
    """The book of the ledger as it was at git revision `rev`, that commit's date and
    the entries (the notify directives in them say which notices were due)."""

    from beancount_adjustments.plugin import book_of

    ledger = ledger.resolve()

    def git(*args: str) -> bytes:
        try:
            return subprocess.run(["git", "-C", str(ledger.parent), *args], check=True,
                                  capture_output=True, timeout=120).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            raise ChannelError(f"git {' '.join(args)} failed: "
                               f"{err.decode(errors='replace').strip() or exc}") from exc

    top = Path(git("rev-parse", "--show-toplevel").decode().strip())
    relative = ledger.relative_to(top.resolve())
    day = datetime.date.fromisoformat(git("log", "-1", "--format=%cs", rev).decode().strip())
    with tempfile.TemporaryDirectory(prefix="bean-adjust-since-") as tmp:
        archive = Path(tmp) / "tree.tar"
        archive.write_bytes(git("archive", "--format=tar", rev))
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        old = Path(tmp) / "tree" / relative
        if not old.exists():
            raise ChannelError(f"{relative} does not exist at {rev}")
        entries, _errors, options = loading.load_file(str(old))
    book = book_of(options)
    if book is None:
        raise ChannelError(f"the ledger at {rev} does not enable the plugin")
    return book, day, entries
