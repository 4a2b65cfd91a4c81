"""`bean-adjust check` as the gate CI and the pre-commit hook run, without `--since`.

Two ways around it were open: take the plugin line out (the requests'
postings are then booked as written, with no approval, and bean-check has
nothing to say), or commit a Beancount loader cache (a pickle, which the
loader unpickles, running its code, before it asks whether it is fresh).
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from click.testing import CliRunner

from beancount_adjustments.cli import main
from ledgers import BASE, event, request

PLUGIN_LINE = 'plugin "beancount_adjustments"\n'
BIG = request("ADJ-1", "2026-03-01", "-5000.00")
"""Needs three approvals; none is given."""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def _check(path: Path, *args: str):
    return CliRunner().invoke(main, ["check", "-f", str(path), *args])


def test_a_ledger_holding_requests_without_the_plugin_fails_the_check(tmp_path):
    """Hole: with the plugin line gone, the 5,000 USD credit was booked as written and
    `check` exited 0 ("the ledger does not enable plugin")."""
    text = BASE.replace(PLUGIN_LINE, "") + "\n" + BIG
    path = _write(tmp_path, text)
    result = _check(path)
    assert result.exit_code == 1, result.output
    # At the first directive the plugin would judge: the preamble's first user.
    line = next(number for number, written in enumerate(text.splitlines(), start=1)
                if 'custom "adjustment-user"' in written)
    assert f"{path}:{line}: " in result.output
    assert "[plugin-not-enabled]" in result.output
    as_json = _check(path, "--json")
    assert as_json.exit_code == 1
    assert any("plugin-not-enabled" in e for e in json.loads(as_json.output)["errors"])


def test_an_event_alone_without_the_plugin_fails_the_check_too(tmp_path):
    """Hole: decisions without the plugin that judges them passed as well."""
    text = (BASE.replace(PLUGIN_LINE, "") + "\n"
            + event("ADJ-1", "2026-03-02", "approve", by="bob"))
    result = _check(_write(tmp_path, text))
    assert result.exit_code == 1, result.output
    assert "[plugin-not-enabled]" in result.output


def test_a_ledger_with_no_adjustments_and_no_plugin_passes(tmp_path):
    """Held: nothing the product judges is in it, so nothing is walked around."""
    text = 'option "operating_currency" "USD"\n2026-01-01 open Assets:Bank\n'
    result = _check(_write(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert 'does not enable plugin "beancount_adjustments"' in result.output


class _Runs:
    """Unpickled, it makes the directory `marker`: code a committed cache runs."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (self.marker,))


def test_check_reads_no_loader_cache(tmp_path):
    """Hole: `check` loaded with Beancount's cache on, and a cache committed beside the
    ledger (`.main.beancount.picklecache`) ran its code in CI before anything was
    judged."""
    path = _write(tmp_path, BASE + "\n" + BIG)
    marker = tmp_path / "ran"
    (tmp_path / ".main.beancount.picklecache").write_bytes(pickle.dumps(_Runs(str(marker))))
    result = _check(path)
    assert not marker.exists()
    assert "1 adjustments: 1 pending" in result.output
