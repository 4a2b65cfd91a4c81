"""The site's own code the ledger's load runs (the checks of the `checks` setting and
the site modules beside them, `loading.check_sources`) changed since REV: a
`rule-changed` note at each such file. A check rewritten to pass everything judges
every request from then on, as a rule changed would.
"""

from __future__ import annotations

from pathlib import Path

from beancount_adjustments.beans.loading import Sources
from beancount_adjustments.beans.site_code import installed
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.repository import Repository


def site_checks_changed(repo: Repository, sources: Sources) -> list[Finding]:
    """A note for each file of `sources` (the current load's) in the repository whose
    bytes are not REV's, or that REV did not hold."""
    notes = []
    for name, _sha in sources:
        path = Path(name).resolve()
        if not path.is_relative_to(repo.top) or installed(path):
            continue   # installed code is no change of the ledger's repository
        relative = path.relative_to(repo.top).as_posix()
        held = repo.git("cat-file", "blob", f"{repo.sha}:{relative}", check=False)
        try:
            same = held.returncode == 0 and held.stdout == path.read_bytes()
        except OSError:
            same = False
        if same:
            continue
        done = "changed" if held.returncode == 0 else "new"
        notes.append(Finding(
            "rule-changed", f"the site code {relative}, which the plugin runs as a check "
            f"(the `checks` setting) or beside one, is {done} since {repo.rev}: it judges "
            f"every request from the start; read its change (git diff {repo.rev} -- "
            f"{relative})", name, 1, note=True))
    return notes
