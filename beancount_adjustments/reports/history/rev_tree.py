"""REV's ledger loaded: REV's tree written as git holds it into a temporary
directory, and loaded there with REV's own code (`rev_code`), as `check --since`
and `notify --since` compare with it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from beancount.loader import LoadError

from beancount_adjustments.beans.loading import load_uncached
from beancount_adjustments.core.models import Source
from beancount_adjustments.plugin import book_of
from beancount_adjustments.reports.history.includes import (
    Include,
    Sited,
    includes_in,
    site_of,
    site_of_unmatched,
)
from beancount_adjustments.reports.history.repository import HistoryError, Repository
from beancount_adjustments.reports.history.rev_code import code_at
from beancount_adjustments.reports.history.snapshot import Snapshot


def snapshot_at(repo: Repository) -> tuple[Snapshot | None, Callable[[str], str]]:
    """The ledger as it was at REV, loaded uncached, and a function naming its files.

    The repository's whole tree at REV is written (`_write_tree`) into a
    temporary directory, so includes, documents and plugins resolve as they
    did then. None: the ledger did not exist at REV, or did not enable the
    plugin (nothing was decided). The naming function turns a file name of that
    tree into its path in the repository.
    """
    with tempfile.TemporaryDirectory(prefix="bean-adjust-since-") as tmp:
        root = Path(tmp).resolve() / "tree"

        def name(filename: str) -> str:
            try:
                return Path(filename).resolve().relative_to(root).as_posix()
            except ValueError:
                return filename

        present = repo.git("cat-file", "-e", f"{repo.sha}:{repo.ledger.as_posix()}",
                           check=False)
        if present.returncode != 0:
            return None, name
        root.mkdir()
        _write_tree(repo, root)
        with code_at(root, repo.top) as today:
            try:
                entries, errors, options = load_uncached(root / repo.ledger)
            except (Exception, SystemExit) as exc:   # REV's site code, run as REV held it
                # Beancount lets all but an ImportError out of a plugin's import.
                raise HistoryError(
                    f"the ledger at {repo.rev} cannot be loaded: its code raised "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    " (a site check or plugin as REV held it); compare with a revision "
                    "whose ledger loads") from None
        read = [str(file) for file in options.get("include", ())]
        leaving = [file for file in read if not _inside(Path(os.path.realpath(file)), root)]
        failed = [e for e in errors if isinstance(e, LoadError)]
        # Every file read again, only when a finding needs the line that includes one.
        includes = includes_in(read) if leaving or failed else []
        outside = tuple(Sited(name(file), site_of(file, includes)) for file in leaving)
        unread = tuple(_unread(e, includes, root, root / repo.ledger) for e in failed)
        # REV judged with today's code there: as if REV's own could not be read.
        unread += tuple(Sited(f"its code {module} was imported from the work tree, not from "
                              f"{repo.rev}'s tree (an import hook such as an editable install)",
                              Source(str(root / repo.ledger), 0)) for module in today)
    book = book_of(options)
    if book is None:
        return None, name
    return Snapshot(book=book, entries=entries, options=options, outside=outside,
                    unread=unread), name


_UNMATCHED = re.compile(r'File glob "(.*)" does not match any files')


def _unread(error: LoadError, includes: list[Include], root: Path, ledger: Path) -> Sited:
    """A loader error at REV, at the include line it is about (else at REV's ledger),
    its message without the temporary tree's path."""
    message = str(error.message).splitlines()[0]
    written = _UNMATCHED.fullmatch(message)
    site = site_of_unmatched(written.group(1), includes) if written else None
    return Sited(message.replace(f"{root}{os.sep}", ""),
                 site or Source(str(ledger), 0))


def _write_tree(repo: Repository, root: Path) -> None:
    """REV's tree written under `root` as git holds it: every blob's bytes, and each
    symbolic link that stays inside the tree (one leading out reads what is not REV's,
    and the ledger reading it now is an `untracked-file` finding of its own).

    Not `git archive`: it obeys the `.gitattributes` committed in the tree, so a line
    `main.beancount export-ignore` (or `export-subst`, `working-tree-encoding`) that
    an earlier change slipped in left REV's ledger out or rewrote it, and whatever
    REV had decided was compared with nothing.
    """
    listed = repo.git("ls-tree", "-r", "-z", "--full-tree", repo.sha).stdout
    items: list[tuple[bytes, bytes, str]] = []
    for item in filter(None, listed.split(b"\0")):
        head, _, raw = item.partition(b"\t")
        mode, kind, obj = head.split()
        if kind == b"blob":   # not a submodule's commit: it has no content here
            items.append((mode, obj, os.fsdecode(raw)))
    batch = repo.git("cat-file", "--batch",
                     stdin=b"".join(obj + b"\n" for _mode, obj, _name in items)).stdout
    top, at = root.resolve(), 0
    links = []
    for mode, _obj, name in items:
        end = batch.index(b"\n", at)
        header = batch[at:end].split()
        if len(header) < 3:   # "<sha> missing": nothing to write
            at = end + 1
            continue
        content = batch[end + 1:end + 1 + int(header[2])]
        at = end + 2 + int(header[2])
        path = top / name
        if not _inside(path, top):
            continue
        if mode == b"120000":
            links.append((path, os.fsdecode(content)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    # Links last, so no file is written through one; judged by where they really lead
    # (a chain of links can climb out where each link alone seems to stay inside).
    for path, target in links:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    for path, _target in links:
        if not _inside(Path(os.path.realpath(path)), top):
            path.unlink()


def _inside(path: Path, top: Path) -> bool:
    return Path(os.path.normpath(path)).is_relative_to(top)
