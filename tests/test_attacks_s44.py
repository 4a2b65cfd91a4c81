"""Round 44 of attacks: REV judged with REV's own code, and the notify destination
allow-list.

alice (an agent with commit rights) wants a request REV had refused booked with
no new decision, or REV's judgement taken from today's code, with `check --since`
exiting 0; and a ledger channel that sends notices outside the deployment's
`[destinations]`. A test whose docstring says "Hole:" failed on the code it was
written against (the fix is named in the commit that added it); the others held.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from repos import BOOK, Repo, check, findings

from beancount_adjustments.cli import main

ALLOW = "def check(request, amount):\n    return None\n"
REFUSE_REFUNDS = ("def check(request, amount):\n"
                  "    return 'no refunds' if request.type == 'credit:refund' else None\n")


def _guarded(name: str, text: str = BOOK) -> str:
    """`text`, its plugin line running the site check `name` (a dotted path)."""
    return text.replace('plugin "beancount_adjustments"\n',
                        f'plugin "beancount_adjustments" "{{\'checks\': [\'{name}\']}}"\n', 1)


@contextmanager
def _modules_kept(*prefixes: str) -> Iterator[None]:
    """Whatever the block imports under `prefixes` is dropped afterwards, and
    `sys.path` and the working directory are what they were."""
    path, cwd = list(sys.path), os.getcwd()
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in [n for n in sys.modules if n.split(".")[0] in prefixes]:
            del sys.modules[name]
        importlib.invalidate_caches()


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _refused_at_rev(tmp_path: Path, name: str, before: dict[str, str],
                    after: dict[str, str], text: str = BOOK) -> tuple[Repo, str]:
    """A repository whose check (`name`) refused bob's approved refund ADJ-1 at REV
    (`before`: the site's files then) and lets it through now (`after`)."""
    repo = Repo(tmp_path / "repo")
    _write(repo.root, before)
    base = repo.commit(_guarded(name, text))
    _write(repo.root, after)
    repo.commit()
    return repo, base


def _assert_rejudged(result: object, adj_id: str = "ADJ-1") -> None:
    out = getattr(result, "output", "")
    assert getattr(result, "exit_code", None) == 1, out
    lines = [line for line in out.splitlines() if line.endswith("[rejudged]")]
    assert lines, out
    assert adj_id in lines[0], out


# -- A. REV judged with REV's own code -------------------------------------------------------


def test_a_trivially_edited_refused_request_does_not_book_on_revs_approval(
        tmp_path: Path) -> None:
    """Hole: a site check refused bob's approved refund at REV (invalid, nothing
    booked). alice loosens the check and adds a full stop to the request's reason:
    an edited request REV refused counts as filed anew, so no `rejudged`; she dates
    it on the day of REV's last decision (bob's approval), so it is not back-dated
    either. But bob's approval carries no `digest:` (hand-written, accepted), so it
    binds to nothing and still counts for the edited request: 50 USD booked on an
    approval REV had refused, with nobody deciding anything since."""
    module = "s44_edit_guard"
    with _modules_kept(module):
        repo, base = _refused_at_rev(tmp_path, f"{module}.check",
                                     {f"{module}.py": REFUSE_REFUNDS}, {f"{module}.py": ALLOW})
        repo.commit(repo.ledger.read_text().replace('2026-03-01 ! "cust_456"',
                                                    '2026-03-02 ! "cust_456"'))
        result = check(repo, base)
    assert "1 applied" in result.stdout, result.output
    _assert_rejudged(result)


def test_an_edited_refused_request_with_only_new_approvals_is_filed_anew(
        tmp_path: Path) -> None:
    """Held (the rule above stays narrow): the request REV refused is edited and
    bob approves it again since, with the digest of what he approved: booked on a
    new decision, no finding."""
    module = "s44_edit_anew"
    with _modules_kept(module):
        repo, base = _refused_at_rev(tmp_path, f"{module}.check",
                                     {f"{module}.py": REFUSE_REFUNDS}, {f"{module}.py": ALLOW})
        from ledgers import load
        edited = repo.ledger.read_text().replace('reason: "Damaged item"',
                                                 'reason: "Damaged item."')
        sys.path.insert(0, str(repo.root))
        digest = load(edited, base=False).book.adjustments["ADJ-1"].digest
        repo.commit(edited + f'\n2026-03-10 custom "adjustment" "ADJ-1" "approve"\n'
                    f'  by: "bob"\n  digest: "{digest}"\n')
        result = check(repo, base)
    assert "1 applied" in result.stdout, result.output
    assert not findings(result, "rejudged"), result.output


def test_a_check_package_and_its_helper_are_revs(tmp_path: Path) -> None:
    """Held: the check is a package's submodule (`s44pkg/__init__.py`, `s44pkg/rules.py`)
    that imports a helper module of the repository (`s44help.py`); only the helper
    changed since REV. REV's load imports all three from REV's tree, and today's
    copies are back afterwards."""
    rules = "from s44help import verdict\n\ndef check(request, amount):\n" \
            "    return verdict(request)\n"
    strict = "def verdict(request):\n    return 'no' if request.type == 'credit:refund' else None\n"
    loose = "def verdict(request):\n    return None\n"
    with _modules_kept("s44pkg", "s44help"):
        repo, base = _refused_at_rev(
            tmp_path, "s44pkg.rules.check",
            {"s44pkg/__init__.py": "", "s44pkg/rules.py": rules, "s44help.py": strict},
            {"s44help.py": loose})
        sys.path.insert(0, str(repo.root))
        importlib.invalidate_caches()
        today = importlib.import_module("s44pkg.rules")
        result = check(repo, base)
        assert sys.modules["s44pkg.rules"] is today
        assert sys.modules["s44help"].verdict(None) is None   # today's helper again
    _assert_rejudged(result)


def test_a_namespace_package_check_is_revs(tmp_path: Path) -> None:
    """A check in a namespace package (`s44ns/` without `__init__.py`): the package
    module has no `__file__`, only a `__path__` into the work tree."""
    with _modules_kept("s44ns"):
        repo, base = _refused_at_rev(tmp_path, "s44ns.rules.check",
                                     {"s44ns/rules.py": REFUSE_REFUNDS},
                                     {"s44ns/rules.py": ALLOW})
        sys.path.insert(0, str(repo.root))
        importlib.invalidate_caches()
        importlib.import_module("s44ns.rules")
        result = check(repo, base)
    _assert_rejudged(result)


def test_a_check_found_through_the_working_directory_is_revs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held: the ledger lives in `books/`, the check at the repository's top, found
    because the CLI runs there (`cd repo && bean-adjust check -f books/main.beancount`)."""
    module = "s44_cwd_guard"
    with _modules_kept(module):
        repo = Repo(tmp_path / "repo")
        (repo.root / f"{module}.py").write_text(REFUSE_REFUNDS)
        (repo.root / "books").mkdir()
        (repo.root / "books" / "main.beancount").write_text(_guarded(f"{module}.check"))
        base = repo.commit()
        (repo.root / f"{module}.py").write_text(ALLOW)
        repo.commit()
        monkeypatch.chdir(repo.root)
        result = CliRunner().invoke(main, ["check", "-f", "books/main.beancount",
                                           "--since", base], catch_exceptions=False)
        assert os.getcwd() == str(repo.root)
    _assert_rejudged(result)


class _EditableFinder(importlib.abc.MetaPathFinder):
    """What setuptools' editable install (`pip install -e .`) puts on `sys.meta_path`:
    a map from a module name to its file in the work tree, whatever `sys.path` says."""

    def __init__(self, mapping: dict[str, Path]) -> None:
        self.mapping = mapping

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.mapping.get(fullname)
        return None if file is None else importlib.util.spec_from_file_location(fullname, file)


def test_a_check_installed_editable_is_not_judged_with_todays_code(tmp_path: Path) -> None:
    """Hole: the site's checks are installed editable (`pip install -e .`): an import
    hook maps the module to its file in the work tree, so REV's load imported today's
    check, which lets the refund through; REV "had" it applied and the refund booked
    now on a decision REV refused passed for intact."""
    module = "s44_editable"
    with _modules_kept(module):
        repo, base = _refused_at_rev(tmp_path, f"{module}.check",
                                     {f"sub/{module}.py": REFUSE_REFUNDS},
                                     {f"sub/{module}.py": ALLOW})
        finder = _EditableFinder({module: repo.root / "sub" / f"{module}.py"})
        sys.meta_path.insert(0, finder)
        try:
            result = check(repo, base)
        finally:
            sys.meta_path.remove(finder)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "unread-at-rev")
    assert line.startswith("main.beancount:0: "), line
    assert f"sub/{module}.py" in line, line


def test_revs_site_plugin_raising_on_import_is_one_line(tmp_path: Path) -> None:
    """Hole: a site's Beancount plugin (`plugin "s44_siteplug"`) raised at import at
    REV (a bug fixed since). Beancount lets any import error but ImportError out of
    the loader, and REV's load now runs REV's code: `check --since` ended in a
    traceback."""
    module = "s44_siteplug"
    plugin_line = f'plugin "{module}"\nplugin "beancount_adjustments"\n'
    text = BOOK.replace('plugin "beancount_adjustments"\n', plugin_line, 1)
    fine = "__plugins__ = ('run',)\n\ndef run(entries, options):\n    return entries, []\n"
    with _modules_kept(module):
        repo = Repo(tmp_path / "repo")
        (repo.root / f"{module}.py").write_text("raise RuntimeError('half-written')\n")
        base = repo.commit(text)
        (repo.root / f"{module}.py").write_text(fine)
        repo.commit()
        sys.path.insert(0, str(repo.root))
        path, cwd = list(sys.path), os.getcwd()
        result = CliRunner().invoke(main, ["check", "-f", str(repo.ledger), "--since", base])
        assert sys.path == path
        assert os.getcwd() == cwd
        assert hasattr(sys.modules[module], "run")   # today's plugin, as today's load left it
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "half-written" in result.output


# -- B. The notify destination allow-list ----------------------------------------------------

SYNOLOGY = """\
[destinations]
allow = ["synologys://chat.example.com"]
mail-to = ["example.com"]
"""


def test_a_synology_path_glued_to_the_host_is_refused(tmp_path: Path) -> None:
    """Hole: apprise's Synology plugin cuts the token off its path by the token's
    unquoted length, and writes what is left right after the host
    (`https://HOST` + path + `/webapi/entry.cgi`). With five `%23` (`#`, kept quoted
    in the path) the cut stops short and leaves `@evil.com.`: the service holds
    host chat.example.com, the one allowed, and apprise posts the notice to
    `https://chat.example.com@evil.com./webapi/...`: evil.com."""
    import tomllib

    from beancount_adjustments.notify import destinations as nd

    allowed = nd.parse_destinations(tomllib.loads(SYNOLOGY)["destinations"],
                                    tmp_path / "notify.toml")
    assert nd.url_problem("synologys://chat.example.com/TOKEN/chat", allowed) is None
    why = nd.url_problem("synologys://chat.example.com/%23%23%23%23%23@evil.com.", allowed)
    assert why is not None
    assert "path" in why
