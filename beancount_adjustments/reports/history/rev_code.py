"""REV judged with REV's own code: while the ledger of REV's tree loads, the Python
modules it imports from the repository (a site check named by the `checks`
setting, a site's own Beancount plugin) come from REV's tree, not from the work
tree.

A module is imported once per process: the load of the work tree, made first,
left today's check in `sys.modules`, and REV's load reused it. A change to that
code then re-judged REV too, and whatever it changed (a refund refused since,
or let through) compared equal with itself. So, around REV's load, the modules
whose files lie in the repository are set aside, each path into the repository
(`sys.path`, the working directory) is pointed at the same place in REV's tree,
and afterwards whatever REV's load imported from there is dropped and today's
modules put back.

Whatever REV's load still imports from the work tree (an import hook maps a name
to a file whatever `sys.path` says: setuptools' editable install, `pip install -e .`)
is listed in the block's result: REV was then judged with today's code there, and
the caller reports it rather than compare.

Installed code is today's for both (a virtual environment inside the
repository, this package, Beancount): two versions of those in one process
would not know each other's types.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from beancount_adjustments.beans.site_code import installed, site_file


@contextmanager
def code_at(tree: Path, top: Path) -> Iterator[list[str]]:
    """Within the block, imports from the repository at `top` read REV's `tree`. The
    list it gives is filled, as the block ends, with the files of the work tree that
    were imported all the same (each `module (path in the repository)`)."""
    top, tree = top.resolve(), tree.resolve()
    path, cwd = list(sys.path), os.getcwd()
    aside: dict[str, ModuleType] = {}
    today: list[str] = []
    try:
        aside.update((name, module) for name, module in list(sys.modules.items())
                     if site_file(module, top))
        for name in aside:
            del sys.modules[name]
        moved_cwd = Path(_moved(cwd, top, tree))
        if moved_cwd != Path(cwd):
            # The checks are also looked for in the working directory ("" on the path):
            # REV's, even where REV had no such directory (then it held nothing there).
            moved_cwd.mkdir(parents=True, exist_ok=True)
            os.chdir(moved_cwd)
        sys.path[:] = [_moved(entry, top, tree) for entry in path]
        importlib.invalidate_caches()
        yield today
    finally:
        # Every work-tree module was set aside above: one here was imported in the block.
        today += [f"{name} ({Path(module.__file__ or '').resolve().relative_to(top)})"
                  for name, module in sorted(sys.modules.items())
                  if site_file(module, top) and not site_file(module, tree)]
        os.chdir(cwd)
        sys.path[:] = path
        for name, module in list(sys.modules.items()):
            if site_file(module, tree) or site_file(module, top):
                del sys.modules[name]
        sys.modules.update(aside)
        importlib.invalidate_caches()


def _moved(entry: str, top: Path, tree: Path) -> str:
    """A path into the repository, pointed at the same place in REV's tree; but where
    installed code lies (a virtual environment inside the repository, never committed,
    is not in REV's tree: what REV's load imports from it would not be found)."""
    if not entry:   # "" is the working directory, moved with it
        return entry
    real = Path(entry).resolve()
    if real.is_relative_to(top) and not real.is_relative_to(tree) and not installed(real):
        return str(tree / real.relative_to(top))
    return entry
