"""Twenty-eighth round of attacks: what round 26 did not reach.

A plugin listed after this one is handed the entries this one booked: it can
rewrite the postings of an applied adjustment, drop a reversal, or add a
transaction carrying the marks this plugin gives its own. The balances then
differ from the book the reports, statements and exports read. Then the
compliance report and its exports at a period's edges, and the audit
timeline's order. A test whose docstring says "Hole:" failed on the code it
was written against (the fix is named in the commit that added it); the
others held and add coverage no earlier test had.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgers import BASE, event, load, load_file, request

_names = itertools.count()

INFLATE_APPLIED = '''
from beancount.core import data
from beancount.core.amount import Amount

__plugins__ = ["inflate"]


def inflate(entries, options_map):
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction) and "adjustment" in entry.tags:
            entry = entry._replace(postings=[
                p._replace(units=Amount(p.units.number * 100, p.units.currency))
                for p in entry.postings])
        out.append(entry)
    return out, []
'''

HARMLESS = '''
import datetime
from beancount.core import data

__plugins__ = ["note"]


def note(entries, options_map):
    meta = data.new_metadata("<harmless>", 1)
    return list(entries) + [data.Open(meta, datetime.date(2026, 1, 1), "Expenses:Other",
                                      None, None)], []
'''

SMALL = request("ADJ-1", "2026-03-01", "-10.00")
"""A 10 USD credit: under every threshold, it is applied as written."""


def _ledger(tmp_path: Path, module: str, body: str, *, included: bool = False) -> Path:
    """main.beancount with the site plugin `module` (written beside it) listed after
    ours (or, `included`, on a plugin line of an included file)."""
    name = f"site_plugin_s28_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(module)
    line = f'plugin "{name}"\n'
    head = 'option "insert_pythonpath" "TRUE"\n' + BASE
    path = tmp_path / "main.beancount"
    if included:
        (tmp_path / "other.beancount").write_text(line)
        path.write_text(head + 'include "other.beancount"\n' + body)
    else:
        path.write_text(head + line + body)
    return path


@pytest.fixture(autouse=True)
def _forget_site_plugins() -> Iterator[None]:
    yield
    for name in [n for n in sys.modules if n.startswith("site_plugin_s28_")]:
        del sys.modules[name]


def test_a_plugin_after_ours_is_named_at_its_line_and_nothing_is_booked(
        tmp_path: Path) -> None:
    """Hole: a site plugin listed after ours multiplied the applied credit's postings
    by 100: the receivable moved 1,000 USD while the book (and every report, statement
    and export) said 10. Now a plugin that may change entries, listed after ours, is a
    [plugin-after] error at its plugin line naming it, and no request is booked."""
    path = _ledger(tmp_path, INFLATE_APPLIED, SMALL)
    loaded = load_file(path)
    assert loaded.balance("Assets:Receivable:Customers") == 0
    line = path.read_text().splitlines().index(next(
        x for x in path.read_text().splitlines() if x.startswith('plugin "site_plugin'))) + 1
    found = [e for e in loaded.errors if "[plugin-after]" in e.message]
    assert found and found[0].source["lineno"] == line, loaded.codes
    assert "site_plugin_s28_" in found[0].message
    assert loaded.state("ADJ-1") != "applied"


def test_a_harmless_plugin_after_ours_still_books_nothing(tmp_path: Path) -> None:
    """Held with the fix (the rule is the order, not what the plugin did this time):
    this plugin cannot see what a later one will do to what it booked, so any plugin
    that may change entries must run before it."""
    loaded = load_file(_ledger(tmp_path, HARMLESS, SMALL))
    assert "plugin-after" in loaded.code_set
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_beancounts_own_checking_plugins_after_ours_are_no_error() -> None:
    """Held: Beancount's own plugins that only check (and pad and balance, which
    Beancount runs after every plugin line) may follow ours."""
    text = BASE + 'plugin "beancount.plugins.check_commodity"\n' + SMALL
    loaded = load(text, base=False)
    assert "plugin-after" not in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == -10


def test_a_plugin_line_in_an_included_file_does_not_run(tmp_path: Path) -> None:
    """Held: Beancount 3 runs only the top file's plugin lines; an included file's
    plugin line changes nothing, and is no error of ours."""
    loaded = load_file(_ledger(tmp_path, INFLATE_APPLIED, SMALL, included=True))
    assert "plugin-after" not in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == -10
    assert loaded.state("ADJ-1") == "applied"
