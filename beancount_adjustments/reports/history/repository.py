"""The git side of `check --since` and `notify --since`: the repository and REV,
REV's tree loaded as a snapshot, and who committed a line (`git blame`) for
`git-identity`.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Source
from beancount_adjustments.reports.history.entry_lines import entry_lines
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.identity import (
    EMAIL_RE,
    NOT_COMMITTED,
    UNCOMMITTED,
    Commit,
)
from beancount_adjustments.reports.history.includes import (
    Include,
    includes_in,
    site_of,
)
from beancount_adjustments.reports.history.snapshot import Snapshot


class HistoryError(AdjustmentsError):
    """REV cannot be compared with: not a repository, an unknown revision, ..."""

    code = "bad-revision"


@dataclass
class Repository:
    """The git repository holding a ledger, and the revision to compare with."""

    top: Path
    ledger: Path
    """The ledger's path relative to `top`."""
    rev: str
    sha: str
    pending_author: str | None = None
    """With `--pre-commit`: the author e-mail of the commit about to be made, which
    uncommitted lines are judged as (None: they are "not committed yet")."""
    _blames: dict[str, dict[int, str]] = field(default_factory=dict)
    _commits: dict[str, Commit] = field(default_factory=dict)
    _old: dict[str, bool] = field(default_factory=dict)
    _signers: bool | None = None
    _shallow: bool | None = None
    _files: set[str] | None = None

    def git(self, *args: str, check: bool = True,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return _git(self.top, *args, check=check, stdin=stdin)

    def commit_day(self) -> datetime.date:
        """The day REV was committed (what `notify --since` takes as REV's today)."""
        out = self.git("log", "-1", "--format=%cs", self.sha).stdout
        return datetime.date.fromisoformat(out.decode().strip())

    # -- git-identity: who committed a line ------------------------------------------

    def commits_of(self, source: Source) -> Sequence[Commit] | str:
        """The commits after REV that wrote the lines of the entry at `source` (`CommitOf`)."""
        path = Path(source.filename)
        try:
            relative = path.resolve().relative_to(self.top)
        except ValueError:
            return NOT_COMMITTED
        lines = entry_lines(path, source.lineno)
        blame = self._blame(relative.as_posix())
        shas = [blame.get(n) for n in lines]
        uncommitted = any(sha is None or set(sha) == {"0"} for sha in shas)
        written = [sha for sha in dict.fromkeys(shas) if sha and set(sha) != {"0"}]
        fresh = [sha for sha in written if not self._before_rev(sha)]
        # The entry is new since REV, so something after REV wrote it. If nothing
        # did, its text sat in the repository before REV outside the ledger (a
        # draft or sample file newly included): who wrote it is who committed it
        # then, not nobody (skipping those commits let anyone's old text pass).
        commits = [self._commit(sha) for sha in (fresh if fresh or uncommitted else written)]
        if uncommitted:
            if self.pending_author is None:
                return NOT_COMMITTED
            commits.append(Commit(UNCOMMITTED, self.pending_author, "N", ""))
        return commits

    def _blame(self, relative: str) -> dict[int, str]:
        found = self._blames.get(relative)
        if found is None:
            self._refuse_shallow()
            found = {}
            # `--ignore-revs-file=` drops the deployment's `blame.ignoreRevsFile`: that
            # list is a file in the repository, and a commit listed in it hands its
            # lines to an older one (before REV: judged by nobody).
            done = self.git("blame", "--porcelain", "--ignore-revs-file=", "--", relative,
                            check=False)
            if done.returncode == 0:
                for line in done.stdout.decode(errors="replace").splitlines():
                    parts = line.split()
                    if (not line.startswith("\t") and len(parts) >= 3 and len(parts[0]) >= 40
                            and all(c in "0123456789abcdef" for c in parts[0])):
                        found[int(parts[2])] = parts[0]
            self._blames[relative] = found
        return found

    def _refuse_shallow(self) -> None:
        """A shallow clone's history stops at its cut, and git blame gives every line
        older than the cut to the commit at the cut: alice's approval, committed on a
        branch under bob's next commit, read as bob's once a CI job fetched too little
        of that branch. Who wrote a line cannot be told there."""
        if self._shallow is None:
            done = self.git("rev-parse", "--is-shallow-repository", check=False)
            self._shallow = done.stdout.decode(errors="replace").strip() == "true"
        if self._shallow:
            raise HistoryError(
                "the repository is a shallow clone: git blame hands every line older than "
                "its cut to the commit at the cut, so who committed a decision "
                "(`git-identity`) cannot be told; fetch the whole history (`git fetch "
                "--unshallow`, or `fetch-depth: 0` in CI)")

    def _commit(self, sha: str) -> Commit:
        found = self._commits.get(sha)
        if found is None:
            # `--no-use-mailmap`: a `.mailmap` is a file in the repository, and would
            # let whoever commits one say whose their commits are.
            out = self.git("show", "-s", "--no-use-mailmap", "--format=%ae%x00%G?%x00%GS",
                           sha).stdout
            fields = out.decode(errors="replace").rstrip("\n").split("\0")
            email, signature, signer = [*fields, "", ""][:3]
            if signature == "G" and self._signers_in_repository():
                signature = "U"   # good, but vouched for by nobody the deployment trusts
            found = self._commits[sha] = Commit(sha, email, signature, signer)
        return found

    def _signers_in_repository(self) -> bool:
        """Whether git's list of trusted SSH signers (`gpg.ssh.allowedSignersFile`) is a
        file of the repository itself: whoever writes the repository could then add
        their key as carol's, and their signature would be "good" as hers."""
        if self._signers is None:
            done = self.git("config", "--path", "--get", "gpg.ssh.allowedSignersFile",
                            check=False)
            named = done.stdout.decode(errors="replace").strip()
            path = Path(named) if Path(named).is_absolute() else self.top / named
            try:
                path.resolve().relative_to(self.top.resolve())
                self._signers = bool(named)
            except ValueError:
                self._signers = False
        return self._signers

    # -- what git holds ---------------------------------------------------------------

    def untracked(self, files: Iterable[str], at_rev: Snapshot | None = None
                  ) -> list[Finding]:
        """An `untracked-file` finding for each of `files` (the files a load read)
        whose content git does not hold: outside the repository, reached through a
        link leading out of it, or not added to it; and for each file the load
        `at_rev` read from outside REV's tree (`Snapshot.outside`) not found so
        already: named by an absolute path, or one climbing out with `..`, a
        tracked file is read at REV as it is now. An `unread-at-rev` finding for
        each error the loader gave at REV (`Snapshot.unread`: an include REV's
        tree cannot give, a plugin that failed).

        REV's tree and the work tree would both read such a file as it is now, so
        whatever it changed (a reject turned into an approval) would compare equal;
        and a view of REV missing a file's decisions would pass any rewrite of them.
        """
        tracked = self._tracked()
        top = self.top.resolve()
        files = list(files)
        includes: list[Include] | None = None   # read only when a finding needs its line
        findings = []
        flagged = set()
        for name in files:
            real = Path(name).resolve()
            try:
                held = real.relative_to(top).as_posix() in tracked
            except ValueError:
                held = False
            if not held:
                flagged.add(real)
                includes = includes_in(files) if includes is None else includes
                site = site_of(name, includes)
                findings.append(Finding(
                    "untracked-file",
                    f"the ledger reads {name}, which is not tracked by git in {top} (outside "
                    "the repository, a link out of it, or never added): what it held at "
                    f"{self.rev} cannot be compared, so its decisions could be rewritten "
                    "unnoticed; keep it in the repository and commit it",
                    site.filename, site.lineno))
        outside = {read.what: read.site for read in (at_rev.outside if at_rev else ())}
        findings += [Finding(
            "untracked-file",
            f"the ledger at {self.rev} reads {name} by a path that leaves the repository's "
            f"tree (an absolute include, or one climbing out with `..`): it reads the file "
            f"as it is now, not as {self.rev} held it, so its decisions could be rewritten "
            "unnoticed; include it by a path inside the repository, relative to the ledger",
            site.filename, site.lineno, at_rev=True)
            for name, site in outside.items() if Path(name).resolve() not in flagged]
        findings += [Finding(
            "unread-at-rev",
            f"the ledger at {self.rev} cannot be loaded whole from what git held then "
            f"({unread.what}): what it decided there cannot be compared, so it could be "
            "rewritten unnoticed; commit what it names, or compare with a revision whose "
            "ledger loads", unread.site.filename, unread.site.lineno, at_rev=True)
            for unread in (at_rev.unread if at_rev else ())]
        return findings

    def committed_caches(self) -> list[Finding]:
        """A `committed-cache` finding for each Beancount loader cache git tracks. The
        loader unpickles a `.LEDGER.picklecache` beside the ledger before it judges
        whether it is fresh, and a pickle runs whatever code it holds: whoever can
        commit would run theirs in every `bean-check`, Fava and tool that loads the
        ledger with the cache on (`check --since` itself loads without it)."""
        return [Finding(
            "committed-cache",
            f"{name} is a Beancount loader cache committed to the repository: bean-check, "
            "Fava and the tools unpickle it before judging it, and a pickle runs whatever "
            "code it holds; remove it from git (`git rm --cached`) and ignore "
            "`.*.picklecache`", str(self.top / name), 0)
            for name in sorted(self._tracked()) if name.endswith(".picklecache")]

    def _tracked(self) -> set[str]:
        if self._files is None:
            listed = self.git("ls-files", "-z").stdout.decode(errors="replace").split("\0")
            self._files = {name for name in listed if name}
        return self._files

    def _before_rev(self, sha: str) -> bool:
        found = self._old.get(sha)
        if found is None:
            found = self._old[sha] = self.git(
                "merge-base", "--is-ancestor", sha, self.sha, check=False).returncode == 0
        return found


def _git(cwd: Path, *args: str, check: bool = True,
         stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        # `--no-replace-objects`: a `git replace` ref (a ref like any other, pushed and
        # fetched) hands another object's bytes wherever one is asked for: REV's blob
        # read as alice's new text, her commit read as a copy authored by bob.
        # `GIT_GRAFT_FILE`: `.git/info/grafts` (not versioned, but anyone with the clone
        # can write it) gives commits other parents, even with `--no-replace-objects`:
        # alice's commit given bob's unmerged draft as parent, and blame read her
        # lines in his commit.
        done = subprocess.run(["git", "--no-replace-objects", "-C", str(cwd), *args],
                              capture_output=True, timeout=300, check=False, input=stdin,
                              env={**os.environ, "GIT_GRAFT_FILE": os.devnull})
    except (OSError, subprocess.SubprocessError) as exc:
        raise HistoryError(f"cannot run git: {exc}") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise HistoryError(f"git {args[0]} failed: {message[0] if message else done.returncode}")
    return done


def open_repository(ledger: Path, rev: str, *, pre_commit: bool = False) -> Repository:
    """The repository holding `ledger`, with `rev` resolved to a commit (or HistoryError).

    `pre_commit`: uncommitted lines are judged as the commit about to be made,
    by the author git would record now (`git var GIT_AUTHOR_IDENT`).
    """
    ledger = ledger.resolve()
    done = _git(ledger.parent, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise HistoryError(f"{ledger.parent} is not inside a git repository")
    top = Path(done.stdout.decode().strip()).resolve()
    try:
        relative = ledger.relative_to(top)
    except ValueError:
        raise HistoryError(f"{ledger} is not inside the git repository {top}") from None
    if not rev or rev.startswith("-"):
        raise HistoryError(f"{rev!r} is not a git revision")
    found = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options",
                 f"{rev}^{{commit}}", check=False)
    if found.returncode != 0:
        raise HistoryError(f"{rev!r} is not a commit of the repository {top}")
    author = None
    if pre_commit:
        ident = _git(top, "var", "GIT_AUTHOR_IDENT").stdout.decode(errors="replace")
        emails = EMAIL_RE.findall(ident)
        if not emails:
            raise HistoryError("git has no author e-mail for the commit about to be made "
                               "(set user.email)")
        author = emails[0]
    return Repository(top=top, ledger=relative, rev=rev, sha=found.stdout.decode().strip(),
                      pending_author=author)
