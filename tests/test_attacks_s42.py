"""Round 42 of attacks: `check --since REV` on repositories git itself rewrites
locally, and findings an auditor can follow to a line.

alice (an agent with commit rights) wants her own approval "by bob" of ADJ-2
under `git-identity: "required"` to pass for his. git reads history through a
grafts file (`.git/info/grafts`, still honoured by git 2.39 even with
`--no-replace-objects`) and, in a shallow clone, stops at the clone's cut and
hands every older line to the commit at the cut. A test whose docstring says
"Hole:" failed on the code it was written against.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from repos import BOOK, REQUEST_1, REQUEST_2, Repo, check, findings

from ledgers import load

IDENTITY = BOOK.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n') + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  git-identity: "required"
"""

DECISIONS = "decisions.beancount"


def _approval(text: str) -> str:
    """bob's approval of ADJ-2 as a tool writes it, bound by its digest to `text`."""
    digest = load(text, base=False).book.adjustments["ADJ-2"].digest
    return (f'\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
            f'  at: "2026-03-06T10:00:00+00:00"\n  digest: "{digest}"\n')


def _bobs_side_branch(repo: Repo, base: str, text: str) -> str:
    """A commit by bob on a branch of its own, holding `text` (never merged)."""
    repo.git("checkout", "-q", "-b", "draft", base)
    side = repo.commit(text, email="bob@example.com")
    repo.git("checkout", "-q", "main")
    return side


def test_a_grafts_file_does_not_hand_alices_lines_to_bob(tmp_path: Path) -> None:
    """Hole: bob drafted his approval of ADJ-2 on a branch he never merged (he had
    not decided). alice commits the same text on main herself, then writes
    `.git/info/grafts` giving her commit bob's draft as its parent: blame then
    finds the approval's lines in bob's commit, and the check passed them as his."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(IDENTITY + REQUEST_2)
    text = IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2)
    side = _bobs_side_branch(repo, base, text)
    head = repo.commit(text)
    [line] = findings(check(repo, base), "git-identity")   # hers, as committed
    (repo.root / ".git" / "info").mkdir(exist_ok=True)
    (repo.root / ".git" / "info" / "grafts").write_text(f"{head} {side}\n")
    assert side in repo.git("log", "--format=%H", head)   # git reads the graft
    result = check(repo, base)
    [line] = findings(result, "git-identity")
    assert repo.at('"ADJ-2" "approve"') in line, result.output
    assert "alice@example.com" in line
    assert result.exit_code == 1


def test_a_shallow_clone_is_refused_where_blame_is_needed(tmp_path: Path) -> None:
    """Hole: alice commits bob's approval on a branch, bob commits an unrelated line
    on top of it, and the branch is merged. A CI job fetching a shallow history
    (`fetch-depth: 2`) holds REV but cuts the branch below bob's commit: git blame
    gives every line older than the cut to the commit at the cut, bob's, so the
    check passed alice's approval for his. Where blame is needed, a shallow
    repository cannot be judged: one line, exit 1, saying how to fetch it whole."""
    origin = Repo(tmp_path / "origin")
    base = origin.commit(IDENTITY + REQUEST_2)
    text = IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2)
    origin.git("checkout", "-q", "-b", "side")
    origin.commit(text)                                            # alice's
    origin.commit(text + "\n; reviewed\n", email="bob@example.com")  # bob's, on top
    origin.git("checkout", "-q", "main")
    origin.git("merge", "-q", "--no-ff", "-m", "merge", "side")
    assert findings(check(origin, base), "git-identity")   # whole history: hers
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{origin.root}", str(clone)],
                   check=True, capture_output=True)
    shallow = Repo.__new__(Repo)
    shallow.root, shallow.ledger = clone, clone / "main.beancount"
    assert shallow.git("rev-parse", "--is-shallow-repository").strip() == "true"
    assert shallow.git("cat-file", "-t", base).strip() == "commit"   # REV is there
    result = check(shallow, base)
    assert result.exit_code == 1, result.output
    assert not findings(result)   # no verdict either way
    [message] = [line for line in result.output.splitlines() if line.strip()]
    assert "shallow clone" in message, message
    assert "fetch-depth: 0" in message
    assert "Traceback" not in result.output


def test_a_shallow_clone_still_compares_without_git_identity(tmp_path: Path) -> None:
    """Without `git-identity` nothing is blamed: a shallow clone holding REV is
    compared as any other (CI jobs fetching a little history keep working)."""
    origin = Repo(tmp_path / "origin")
    base = origin.commit(BOOK + REQUEST_2)
    origin.commit(BOOK.replace("50.00", "900.00") + REQUEST_2)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{origin.root}", str(clone)],
                   check=True, capture_output=True)
    shallow = Repo.__new__(Repo)
    shallow.root, shallow.ledger = clone, clone / "main.beancount"
    result = check(shallow, base)
    assert findings(result, "edited-request"), result.output
    assert result.exit_code == 1


# -- findings about files: at the line that reads them ---------------------------------------


def test_an_untracked_include_is_reported_at_its_include_line(tmp_path: Path) -> None:
    """A file the ledger reads that git does not hold was reported at `FILE:0`, a line
    no editor opens; the finding is at the `include` line that reads it."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit(BOOK)
    (repo.root / DECISIONS).write_text(REQUEST_2)
    repo.write(BOOK + f'\ninclude "{DECISIONS}"\n')
    repo.git("add", "main.beancount")
    repo.git("commit", "-q", "-m", "include")
    result = check(repo, base)
    [line] = findings(result, "untracked-file")
    assert repo.at(f'include "{DECISIONS}"') in line, line
    assert DECISIONS in line
    assert result.exit_code == 1


def test_an_include_rev_could_not_read_is_reported_at_revs_include_line(
        tmp_path: Path) -> None:
    """REV's ledger included a file REV's tree lacks (`unread-at-rev`): the finding names
    the include line of REV's ledger, where Beancount itself says `<load>:0`."""
    repo = Repo(tmp_path / "repo")
    repo.write(BOOK.replace(REQUEST_1, "") + f'include "{DECISIONS}"\n')
    base = repo.commit()
    (repo.root / DECISIONS).write_text(REQUEST_1.replace("50.00", "900.00"))
    repo.commit()
    result = check(repo, base)
    [line] = findings(result, "unread-at-rev")
    include = repo.at(f'include "{DECISIONS}"')
    assert line.startswith(f"{include}(at {base}) "), line


# -- the code REV was judged with -----------------------------------------------------------


def _guarded(module: str) -> str:
    """The history book, its plugin line running the site check `module.check`."""
    return BOOK.replace('plugin "beancount_adjustments"\n',
                        f'plugin "beancount_adjustments" "{{\'checks\': [\'{module}.check\']}}"\n',
                        1)


ALLOW = "def check(request, amount):\n    return None\n"
REFUSE_REFUNDS = ("def check(request, amount):\n"
                  "    return 'no refunds' if request.type == 'credit:refund' else None\n")


def _check_changed(tmp_path: Path, module: str, at_rev: str, now: str) -> tuple[Repo, str]:
    """A repository whose ledger runs the site check `module`, committed as `at_rev`
    (REV, returned) and changed to `now` since."""
    repo = Repo(tmp_path / "repo")
    (repo.root / f"{module}.py").write_text(at_rev)
    base = repo.commit(_guarded(module))
    (repo.root / f"{module}.py").write_text(now)
    repo.commit()
    return repo, base


def test_rev_is_judged_with_the_site_check_it_held(tmp_path: Path) -> None:
    """Hole: a site check (the plugin's `checks` setting) lives in the repository. At
    REV it let bob's 50 USD refund through (applied); alice's change makes it refuse
    refunds, so the refund is booked no more. REV was loaded with the check as it
    is now (imported once per process, and found first on the path), so REV
    "had" the refund refused too, and un-booking it passed for intact."""
    repo, base = _check_changed(tmp_path, "s42_guard_a", ALLOW, REFUSE_REFUNDS)
    result = check(repo, base)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "rejudged")
    assert "ADJ-1 was applied at" in line
    assert "counted at" in line
    assert "is refused now" in line


def test_rev_judged_with_its_own_check_code_and_now_with_todays(tmp_path: Path) -> None:
    """Hole, the other way round: a check refused bob's approved refund at REV (invalid,
    nothing booked); alice loosens it, and the refund is booked on bob's approval of
    a request REV had refused, with nobody deciding anything since. REV's load now
    runs REV's code (refused), today's runs today's (applied), the process keeps
    today's module afterwards, and a request REV refused that books money with no
    new decision is `rejudged`."""
    import importlib
    import sys

    module = "s42_guard_b"
    repo, base = _check_changed(tmp_path, module, REFUSE_REFUNDS, ALLOW)
    sys.path.insert(0, str(repo.root))
    try:
        importlib.invalidate_caches()
        today = importlib.import_module(module)
        result = check(repo, base)
        assert sys.modules[module] is today   # the REV load's copy is gone again
    finally:
        sys.path.remove(str(repo.root))
        sys.modules.pop(module, None)
    assert "1 applied" in result.stdout   # today's code judged today's load
    assert "0 adjustments decided at" in result.stdout   # REV's code refused it at REV
    [line] = findings(result, "rejudged")
    assert "ADJ-1 was invalid at" in line
    assert "no new decision" in line
    assert result.exit_code == 1, result.output


def test_a_refused_request_fixed_since_is_judged_as_filed_anew(tmp_path: Path) -> None:
    """Not a rewrite: a promotional credit automatic under its row, refused at REV for
    naming a customer nobody knows, then fixed (the request edited to name the
    right one): booked now with no new decision, as a request filed today would be."""
    auto = BOOK + '\n2026-01-01 custom "adjustment-approval" "credit:promotional" ' \
        '100.00 USD\n'
    refused = ('\n2026-03-05 ! "cust_999" "Promo" ^ADJ-3\n  adjustment-type: "credit:promotional"\n'
               '  customer: "cust_999"\n  reason: "Promo"\n  requested-by: "alice"\n'
               '  Expenses:Promotions             5.00 USD\n'
               '  Assets:Receivable:Customers    -5.00 USD\n')
    repo = Repo(tmp_path / "repo")
    base = repo.commit(auto + refused)
    assert load(auto + refused, base=False).book.adjustments["ADJ-3"].state.value == "invalid"
    fixed = refused.replace("cust_999", "cust_456")
    assert load(auto + fixed, base=False).book.adjustments["ADJ-3"].state.value == "applied"
    repo.commit(auto + fixed)
    result = check(repo, base)
    assert not findings(result, "rejudged"), result.output


def test_a_refused_request_edited_only_where_its_approvals_do_not_bind_is_rejudged(
        tmp_path: Path) -> None:
    """Hole: as above, REV's check refused bob's approved refund; alice loosens it and
    edits only the request's narration (which no digest binds, so bob's approval
    still holds). The edit made the request "filed anew", and REV's approval booked
    it with nobody deciding anything since: the past passed for intact."""
    module = "s42_guard_c"
    repo = Repo(tmp_path / "repo")
    (repo.root / f"{module}.py").write_text(REFUSE_REFUNDS)
    # Approved the day it was filed: a request edited since is then no back-dated one.
    text = _guarded(module).replace('2026-03-02 custom "adjustment" "ADJ-1" "approve"',
                                    '2026-03-01 custom "adjustment" "ADJ-1" "approve"')
    base = repo.commit(text)
    (repo.root / f"{module}.py").write_text(ALLOW)
    repo.commit(text.replace('"cust_456" "Refund" ^ADJ-1', '"cust_456" "Refund again" ^ADJ-1'))
    try:
        result = check(repo, base)
    finally:
        sys.modules.pop(module, None)
    assert "1 applied" in result.stdout, result.output
    [line] = findings(result, "rejudged")
    assert "ADJ-1 was invalid at" in line
    assert result.exit_code == 1, result.output


def test_an_installed_check_in_a_virtual_environment_inside_the_repository_loads_at_rev(
        tmp_path: Path) -> None:
    """Hole: REV's ledger ran a site check installed in the repository's own (ignored,
    uncommitted) virtual environment; today's names none. Around REV's load every
    path into the repository was pointed at REV's tree, the environment's
    site-packages too, where it does not exist: the check could not be loaded,
    REV "refused" the refund its approvals had booked, and the check reported it
    `rejudged`. Installed code is today's for both, wherever it is installed."""
    module = "s42_installed"
    repo = Repo(tmp_path / "repo")
    site = repo.root / ".venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / f"{module}.py").write_text(ALLOW)
    (repo.root / ".gitignore").write_text(".venv/\n")
    base = repo.commit(_guarded(module))
    repo.commit(BOOK)
    sys.path.insert(0, str(site))
    try:
        result = check(repo, base)
    finally:
        sys.path.remove(str(site))
        sys.modules.pop(module, None)
    assert "1 adjustment decided at" in result.stdout, result.output
    # The check dropped since REV is the reviewer's note (round 67), and no finding.
    assert [f for f in findings(result) if not f.endswith("[rule-changed]")] == []
    assert "the plugin's setting checks is none" in result.stdout, result.output
    assert result.exit_code == 0, result.output


def _load_failing_inside(block: Any, tree: Path) -> None:
    """What REV's load sees within `code_at`, then a failure of that load."""
    import importlib
    import os
    import sys

    with block:
        assert Path(os.getcwd()) == (tree / "tools").resolve()
        assert "s42_guard_d" not in sys.modules
        with pytest.raises(ImportError):
            importlib.import_module("s42_guard_d")   # REV had no such module
        raise RuntimeError("REV's load failed")


def test_code_at_points_the_working_directory_into_rev_and_restores_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Around REV's load the working directory (where checks are looked for too) is
    REV's, even where REV had no such directory (an empty one then: REV held nothing
    there), today's site modules are set aside, and all of it comes back even when
    the load fails."""
    import importlib
    import os
    import sys

    from beancount_adjustments.reports.history.rev_code import code_at

    top, tree = tmp_path / "repo", tmp_path / "tree"
    (top / "tools").mkdir(parents=True)
    tree.mkdir()
    (top / "tools" / "s42_guard_d.py").write_text(ALLOW)
    monkeypatch.chdir(top / "tools")
    monkeypatch.syspath_prepend(str(top / "tools"))
    importlib.invalidate_caches()
    today = importlib.import_module("s42_guard_d")
    path = list(sys.path)
    try:
        with pytest.raises(RuntimeError):
            _load_failing_inside(code_at(tree, top), tree)
        assert Path(os.getcwd()) == (top / "tools").resolve()
        assert sys.path == path
        assert sys.modules["s42_guard_d"] is today
    finally:
        sys.modules.pop("s42_guard_d", None)


# -- a loader cache committed to the repository ------------------------------------------


class _Runs:
    """A pickle that runs code when it is read: what a `.picklecache` file can hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_a_committed_loader_cache_is_never_read_and_is_a_finding(tmp_path: Path) -> None:
    """Hole: Beancount's loader reads `.main.beancount.picklecache` beside the ledger
    before it judges whether the cache is fresh, and a pickle is code. alice commits
    one: the CI job's `check --since` ran her code (it could have printed "the past
    is intact" and exited 0), then failed with a traceback. The check loads the
    ledger without the cache, and a cache file git tracks is a finding."""
    import pickle

    repo = Repo(tmp_path / "repo")
    base = repo.commit(BOOK)
    marker = tmp_path / "ran"
    (repo.root / ".main.beancount.picklecache").write_bytes(pickle.dumps(_Runs(marker)))
    repo.commit()
    result = check(repo, base)
    assert not marker.exists()
    assert "Traceback" not in result.output
    [line] = findings(result, "committed-cache")
    assert ".main.beancount.picklecache" in line
    assert result.exit_code == 1, result.output


def test_notify_since_never_reads_a_committed_cache(tmp_path: Path) -> None:
    """The same cache in a CI job sending notices (`notify --since REV`): it loads
    the ledger without the cache, and alice's code does not run."""
    import pickle

    from click.testing import CliRunner

    from beancount_adjustments.cli import main

    repo = Repo(tmp_path / "repo")
    base = repo.commit(BOOK)
    marker = tmp_path / "ran"
    (repo.root / ".main.beancount.picklecache").write_bytes(pickle.dumps(_Runs(marker)))
    repo.commit()
    result = CliRunner().invoke(main, ["notify", "-f", str(repo.ledger), "--since", base,
                                       "--dry-run", "--state-file", str(tmp_path / "s.json")])
    assert not marker.exists()
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output


# -- the loader cache and a check's helper modules -------------------------------------------


def test_a_cache_made_before_a_checks_helper_module_changed_is_loaded_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: the cache's stamp covered the file a check function is defined in, not the
    site modules it imports: a refund limit made stricter in `s42_pkg/rules.py` (the
    check in `s42_pkg/check.py` unchanged) left Beancount's cache handing back the
    book the old limit judged, the refund still booked."""
    import functools

    from beancount import loader

    from ledgers import load_file, request, with_settings

    monkeypatch.setattr(loader, "_load_file", loader.pickle_cache_function(  # cache every load
        functools.partial(loader.get_cache_filename, loader.PICKLE_CACHE_FILENAME), 0.0,
        loader._uncached_load_file))
    monkeypatch.syspath_prepend(str(tmp_path))
    package = tmp_path / "s42_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text("LIMIT = 1000\n")
    (package / "check.py").write_text(
        "from s42_pkg import rules\n\n"
        "def check(request, amount):\n"
        "    return 'over the limit' if amount.number > rules.LIMIT else None\n")
    path = tmp_path / "main.beancount"
    path.write_text(with_settings("{'checks': ['s42_pkg.check.check']}")
                    + request("ADJ-1", "2026-03-01", "-10.00"))
    try:
        assert load_file(path).state("ADJ-1") == "applied"
        assert (tmp_path / ".main.beancount.picklecache").exists()
        (package / "rules.py").write_text("LIMIT = 5\n")
        for name in ("s42_pkg", "s42_pkg.rules", "s42_pkg.check"):
            sys.modules.pop(name, None)
        assert load_file(path).state("ADJ-1") == "invalid"
    finally:
        for name in ("s42_pkg", "s42_pkg.rules", "s42_pkg.check"):
            sys.modules.pop(name, None)
