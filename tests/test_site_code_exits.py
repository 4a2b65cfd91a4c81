"""Code a ledger runs that ends the process: a site check, a check's message, a plugin line.

A ledger names code that runs while it loads: the `checks` setting's
functions, and any importable module on a `plugin` line. Code that raises
`SystemExit` (a `sys.exit()` in a helper, a command-line `__main__` module
named as a plugin) ended `bean-check` and every tool with the code it chose:
0, with every error of the ledger unsaid. The plugin judges nothing it cannot
judge and never lets such an exit through; the tools refuse a load that was
ended before it finished. Only the user's Ctrl-C (KeyboardInterrupt) still
stops a run, as it should.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments.beans import loading
from beancount_adjustments.cli import main
from ledgers import BASE, INTERNAL, load_file, request, with_settings

BEAN_CHECK = Path(sys.executable).with_name("bean-check")
SMALL = request("ADJ-1", "2026-03-01", "-10.00")
"""Below every threshold: applied on arrival when nothing stops it."""


def _ledger(tmp_path: Path, module: str, code: str, *, check: bool = True) -> Path:
    """A ledger beside the module `module` holding `code`, naming it as its site check
    (`check`) or on a plugin line before the adjustments plugin."""
    (tmp_path / f"{module}.py").write_text(code)
    text = (with_settings(f"{{'checks': ['{module}.judge']}}") if check
            else f'plugin "{module}"\n' + BASE)
    path = tmp_path / "main.beancount"
    path.write_text(text + "\n" + SMALL)
    return path


def _bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True,
                          check=False, cwd=path.parent, timeout=120)


def test_a_check_ending_the_process_is_a_check_error(tmp_path):
    """Hole: bean-check exited 0, printing nothing, and the request was never judged."""
    path = _ledger(tmp_path, "stopping_check", "def judge(request, amount):\n"
                   "    raise SystemExit(0)\n")
    done = _bean_check(path)
    assert done.returncode == 1
    assert "check-error" in done.stdout + done.stderr
    loaded = load_file(path)
    assert loaded.code_set == {"check-error"}
    assert loaded.codes == [(loaded.line("^ADJ-1"), "check-error")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable") == 0


def test_a_check_module_ending_the_process_on_import_books_nothing(tmp_path):
    """Hole: the import's exit ended the load before anything was judged."""
    path = _ledger(tmp_path, "stopping_module", "raise SystemExit(0)\n")
    done = _bean_check(path)
    assert done.returncode == 1
    loaded = load_file(path)
    assert any("cannot be loaded (SystemExit" in e.message for e in loaded.errors)
    assert loaded.balance("Assets:Receivable") == 0


def test_a_message_ending_the_process_when_written_fails_closed(tmp_path):
    """Hole: the exit came from the check's answer, outside the call the plugin guards."""
    path = _ledger(tmp_path, "stopping_message",
                   "class Said(str):\n"
                   "    def __str__(self):\n"
                   "        raise SystemExit(0)\n"
                   "    __format__ = lambda self, spec: str(self)\n"
                   "def judge(request, amount):\n"
                   "    return [Said('no')]\n")
    done = _bean_check(path)
    assert done.returncode == 1
    loaded = load_file(path)
    assert any(INTERNAL in e.message for e in loaded.errors)
    assert not [e for e in loaded.tagged("adjustment-request") if e.postings]
    assert loaded.balance("Assets:Receivable") == 0


def test_a_check_raising_its_own_base_exception_is_a_check_error(tmp_path):
    """Hole: an exception class of the site's own, derived from BaseException, went
    through the plugin (which never raises) and ended the load with a traceback."""
    path = _ledger(tmp_path, "escaping_check", "class Stop(BaseException):\n    pass\n"
                   "def judge(request, amount):\n    raise Stop('out')\n")
    loaded = load_file(path)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "check-error")]
    assert loaded.balance("Assets:Receivable") == 0


def test_ctrl_c_in_a_check_still_stops_the_load(tmp_path):
    """Held (and kept): the user's interrupt is no failure to judge around."""
    path = _ledger(tmp_path, "interrupted_check", "def judge(request, amount):\n"
                   "    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        loading.load_uncached(path)


@pytest.mark.parametrize("args", [["check"], ["list"],
                                  ["approve", "ADJ-1", "--as", "bob", "--date", "2026-03-01"]])
def test_a_plugin_line_ending_the_load_is_refused_by_the_tools(tmp_path, monkeypatch, args):
    """Hole: a module named on a plugin line that exits on import (as a command-line
    `__main__` module does) ended `bean-adjust check` with exit 0, and the writer with
    0 having written nothing; bean-check itself is Beancount's and exits as it is told."""
    path = _ledger(tmp_path, "stopping_plugin", "raise SystemExit(0)\n", check=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "stopping_plugin", raising=False)
    monkeypatch.setenv("BEANCOUNT_DISABLE_LOAD_CACHE", "1")
    before = path.read_text()
    result = CliRunner().invoke(main, [*args, "-f", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "loading stopped" in lines[0]
    assert str(path) in lines[0]
    assert path.read_text() == before
