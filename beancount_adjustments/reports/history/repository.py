"""The git side of `check --since` and `notify --since`: the repository and REV,
REV's tree loaded as a snapshot, and who committed a line (`git blame`) for
`git-identity`.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Source
from beancount_adjustments.reports.history.entry_lines import entry_lines, entry_span
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
    _origins: dict[str, dict[int, tuple[int, str]]] = field(default_factory=dict)
    """Per file, per line: its line number and file name in the commit blame names."""
    _commits: dict[str, Commit] = field(default_factory=dict)
    _old: dict[str, bool] = field(default_factory=dict)
    _signers: bool | None = None
    _shallow: bool | None = None
    _files: set[str] | None = None

    def git(self, *args: str, check: bool = True,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return _git(self.top, *args, check=check, stdin=stdin)

    def forked_at(self, source: Source) -> datetime.datetime | None:
        """When the entry at `source` can first have been written: the committer date
        of the last commit REV shares with the commit that wrote it (`commits_of`; the
        work tree's HEAD for one not committed yet): REV itself on a branch of it, or
        the commit a pull request branched off, whatever the base did since (CI
        checking out the pull request's merge commit too). The earliest, when several
        commits wrote its lines; None when no commit is shared."""
        found = self.commits_of(source)
        shas = (["HEAD"] if isinstance(found, str)
                else [c.sha if c.sha != UNCOMMITTED else "HEAD" for c in found] or ["HEAD"])
        moments = []
        for sha in dict.fromkeys(shas):
            base = self.git("merge-base", self.sha, sha, check=False)
            if base.returncode != 0:
                continue
            out = self.git("log", "-1", "--format=%cI", base.stdout.decode().strip()).stdout
            moments.append(datetime.datetime.fromisoformat(out.decode().strip()))
        return min(moments, default=None)

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
            origins: dict[int, tuple[int, str]] = {}
            names: dict[str, str] = {}   # porcelain names a commit's file once, then on change
            header: list[str] = []
            # `--ignore-revs-file=` drops the deployment's `blame.ignoreRevsFile`: that
            # list is a file in the repository, and a commit listed in it hands its
            # lines to an older one (before REV: judged by nobody).
            done = self.git("blame", "--porcelain", "--ignore-revs-file=", "--", relative,
                            check=False)
            if done.returncode == 0:
                for line in done.stdout.decode(errors="replace").split("\n"):
                    parts = line.split(" ")
                    if (not line.startswith("\t") and len(parts) >= 3 and len(parts[0]) >= 40
                            and all(c in "0123456789abcdef" for c in parts[0])):
                        found[int(parts[2])] = parts[0]
                        header = parts[:3]
                        if parts[0] in names:
                            origins[int(parts[2])] = (int(parts[1]), names[parts[0]])
                    elif line.startswith("filename ") and header:
                        names[header[0]] = line[len("filename "):]
                        origins[int(header[2])] = (int(header[1]), names[header[0]])
            self._blames[relative] = found
            self._origins[relative] = origins
        return found

    # -- self-authorized: who wrote or removed a rule line ----------------------------

    def writers_of(self, files: Sequence[str], source: Source, *,
                   _seen: frozenset[str] = frozenset()) -> Sequence[Commit] | str:
        """Every commit since REV that wrote or touched a line of the entry at `source`
        (`files`: the files the load read), for `self_authorized`: git blame names only
        each line's last commit, and bob re-spacing alice's approval row would hide her.
        Text older than REV newly read (a draft committed before REV, included since)
        is brought in by whoever moved its file or wrote the include line reading it."""
        found = self.commits_of(source)
        if isinstance(found, str):
            return found
        path = Path(source.filename)
        relative = path.resolve().relative_to(self.top).as_posix()   # `commits_of` did
        ranges: dict[str, list[str]] = {}   # blame's commit -> the lines it wrote, as -L
        for number in entry_lines(path, source.lineno):
            sha = self._blames[relative].get(number)
            origin = self._origins[relative].get(number)
            if sha is not None and set(sha) != {"0"} and not self._before_rev(sha):
                ranges.setdefault(sha, [])
                if origin is not None:
                    ranges[sha].append(f"-L{origin[0]},{origin[0]}:{origin[1]}")
        shas: dict[str, None] = dict.fromkeys(ranges)
        for sha, lines in ranges.items():
            if lines:
                done = self.git("log", "--format=%H", "-s", *lines, f"{self.sha}..{sha}",
                                check=False)
                shas.update(dict.fromkeys(done.stdout.decode(errors="replace").split()))
        pending = [c for c in found if c.sha == UNCOMMITTED]
        if not shas and not pending:
            shas.update(dict.fromkeys(self.git(
                "log", "--format=%H", f"{self.sha}..HEAD", "--", relative,
                check=False).stdout.decode(errors="replace").split()))
            site = site_of(str(path), includes_in(files))
            if site.lineno and site.filename not in _seen:
                brought = self.writers_of(files, site, _seen=_seen | {str(path)})
                if isinstance(brought, str):
                    return brought
                if shas or brought:
                    return [*(self._commit(sha) for sha in shas if sha not in
                              {c.sha for c in brought}), *brought]
            if not shas:
                return found
        return [*(self._commit(sha) for sha in shas), *pending]

    def removers_of(self, rev_name: Callable[[str], str], source: Source
                    ) -> Sequence[Commit] | str:
        """The commits since REV that removed the text of REV's entry at `source`
        (`rev_name`: a file of REV's tree as the repository names it), for
        `self_authorized`: a removed line leaves nothing for git blame, but its text,
        read at REV, is what `git log -S` finds (each commit changing how often the
        repository holds it); the commit about to be made too, when the work tree
        changes that. None found (the text is still in the repository, in a file no
        longer read): an empty list, nobody known."""
        relative = rev_name(source.filename)
        shown = self.git("show", f"{self.sha}:{relative}", check=False)
        if Path(relative).is_absolute() or shown.returncode != 0:
            return []
        text = shown.stdout.decode("utf-8", errors="replace").split("\n")
        block = "\n".join(text[n - 1] for n in entry_span(text, source.lineno)
                          if n <= len(text))
        done = self.git("log", "--format=%H", f"-S{block}", f"{self.sha}..HEAD", check=False)
        commits = [self._commit(sha) for sha in done.stdout.decode(errors="replace").split()]
        if self.git("diff", "HEAD", "--name-only", f"-S{block}", check=False).stdout.strip():
            if self.pending_author is None:
                return NOT_COMMITTED
            commits.append(Commit(UNCOMMITTED, self.pending_author, "N", ""))
        return commits

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
