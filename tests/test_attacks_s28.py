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

from pathlib import Path
from typing import Any

import pytest
from site_plugins import INFLATE_APPLIED, site_plugin

from ledgers import BASE, event, load, load_file, request

pytestmark = pytest.mark.usefixtures("forget_site_plugins")


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
    line = f'plugin "{site_plugin(tmp_path, module)}"\n'
    head = 'option "insert_pythonpath" "TRUE"\n' + BASE
    path = tmp_path / "main.beancount"
    if included:
        (tmp_path / "other.beancount").write_text(line)
        path.write_text(head + 'include "other.beancount"\n' + body)
    else:
        path.write_text(head + line + body)
    return path


def test_a_plugin_after_ours_is_named_at_its_line_and_nothing_is_booked(
        tmp_path: Path) -> None:
    """Hole: a site plugin listed after ours multiplied the applied credit's postings
    by 100: the receivable moved 1,000 USD while the book (and every report, statement
    and export) said 10. Now a plugin that may change entries, listed after ours, is a
    [plugin-after] error at its plugin line naming it, and no request is booked."""
    path = _ledger(tmp_path, INFLATE_APPLIED, SMALL)
    loaded = load_file(path)
    assert loaded.balance("Assets:Receivable:Customers") == 0
    lines = path.read_text().splitlines()
    plugin_line = next(x for x in lines if x.startswith('plugin "site_plugin'))
    found = [e for e in loaded.errors if "[plugin-after]" in e.message]
    assert found, loaded.codes
    assert found[0].source["lineno"] == lines.index(plugin_line) + 1
    assert f'the plugin {plugin_line.split(" ", 1)[1]} is listed after' in found[0].message
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



def test_favas_own_linking_plugins_after_ours_are_no_error(tmp_path: Path) -> None:
    """Fava's `link_documents` (its documented way to link a request's `document:`
    to the file) and `tag_discovered_documents` add links and tags, never
    postings: listed after ours they were a `plugin-after` error and nothing was
    booked, in every Fava ledger that used them."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "return.pdf").write_bytes(b"%PDF-1.4\n")
    text = (BASE + 'plugin "fava.plugins.link_documents"\n'
            'plugin "fava.plugins.tag_discovered_documents"\n'
            + SMALL.replace('  reason: "', '  document: "docs/return.pdf"\n  reason: "', 1)
            + f'2026-01-02 document Assets:Receivable:Customers "{tmp_path}/docs/return.pdf"\n')
    path = tmp_path / "main.beancount"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path)
    assert "plugin-after" not in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == -10


def test_a_plugin_line_in_an_included_file_does_not_run(tmp_path: Path) -> None:
    """Held: Beancount 3 runs only the top file's plugin lines; an included file's
    plugin line changes nothing, and is no error of ours."""
    loaded = load_file(_ledger(tmp_path, INFLATE_APPLIED, SMALL, included=True))
    assert "plugin-after" not in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == -10
    assert loaded.state("ADJ-1") == "applied"


def _impact_matches_ledger(loaded: object, start: str, end: str) -> None:
    """The impact report of [start, end] is what the booked entries dated in it move."""
    import datetime
    from collections import defaultdict
    from decimal import Decimal

    from beancount.core import data

    from beancount_adjustments.reports import Scope
    from beancount_adjustments.reports.tables import impact

    first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in loaded.entries:  # type: ignore[attr-defined]
        if (isinstance(entry, data.Transaction) and "adjustment-id" in entry.meta
                and first <= entry.date <= last):
            for posting in entry.postings:
                moved[(posting.account, posting.units.currency)] += posting.units.number
    rows = impact(loaded.book, Scope(start=first, end=last))  # type: ignore[attr-defined]
    reported = {(r.account, r.currency): r.net for r in rows if r.net}
    assert reported == {key: value for key, value in moved.items() if value}


def test_impact_at_the_period_edges_is_what_the_ledger_moves() -> None:
    """Held: a credit filed on 31 March and booked (`effective:`) on 3 April, and one
    applied on 30 December and cancelled (reversed at once) on 2 January: each
    period's impact is what the entries dated in it move, both edges inclusive, and
    the compliance report holds each in every period that holds anything of it."""
    from beancount_adjustments.reports import Scope, compliance

    text = (request("ADJ-1", "2026-03-31", "-10.00", extra="effective: 2026-04-03")
            + request("ADJ-2", "2026-12-30", "-10.00", customer="cust_123")
            + event("ADJ-2", "2027-01-02", "cancel", "alice", reason="wrong customer"))
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied", loaded.codes
    assert loaded.state("ADJ-2") == "reversed", loaded.codes
    for start, end in (("2026-03-01", "2026-03-31"), ("2026-04-01", "2026-04-03"),
                       ("2026-04-03", "2026-04-30"), ("2026-12-01", "2026-12-31"),
                       ("2027-01-01", "2027-01-02"), ("2026-12-30", "2027-01-02")):
        _impact_matches_ledger(loaded, start, end)
    import datetime as dt
    for start, end, ids in (("2026-03-31", "2026-03-31", {"ADJ-1"}),
                            ("2026-04-03", "2026-04-03", {"ADJ-1"}),
                            ("2026-04-04", "2026-12-29", set()),
                            ("2027-01-02", "2027-01-02", {"ADJ-2"})):
        scope = Scope(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))
        assert {row.id for row in compliance(loaded.book, scope)} == ids, (start, end)


def test_compliance_csv_and_json_are_the_report_rows() -> None:
    """Held: the compliance report's CSV and JSON hold the table's rows, each once,
    with who approved (the reversal's approvers too) and the step."""
    import csv
    import io
    import json

    from beancount_adjustments.reports import Scope, report_text

    text = request("ADJ-1", "2026-03-02", "-500.00")
    text += (event("ADJ-1", "2026-03-03", "approve", "bob")
             + event("ADJ-1", "2026-03-03", "approve", "carol")
             + request("ADJ-2", "2026-03-04", "-10.00", customer="cust_123")
             + event("ADJ-2", "2026-03-05", "cancel", "alice", reason="dup"))
    loaded = load(text)
    scope = Scope()
    as_csv = list(csv.DictReader(io.StringIO(report_text("compliance", loaded.book, scope,
                                                         "csv"))))
    as_json = json.loads(report_text("compliance", loaded.book, scope, "json"))
    rows = as_json if isinstance(as_json, list) else as_json["rows"]
    assert [r["id"] for r in as_csv] == [r["id"] for r in rows]
    assert sorted(r["id"] for r in rows) == ["ADJ-1", "ADJ-2"]
    for from_csv, from_json in zip(as_csv, rows, strict=True):
        assert from_csv["approvers"] == from_json["approvers"]
        assert from_csv["policy"] == from_json["policy"]
        assert from_csv["state"] == from_json["state"]


def test_views_tell_one_day_across_two_files_in_the_replay_order(tmp_path: Path) -> None:
    """Held: two decisions of one day, one in an included file and stamped earlier
    in another time zone, one without `at:`: the history the replay judged, the audit
    report, the event export and Fava's timeline all list them in one order."""
    from beancount_adjustments.fava_ext.detail import timeline
    from beancount_adjustments.reports import Scope, audit
    from beancount_adjustments.reports.export import event_records

    (tmp_path / "other.beancount").write_text(
        event("ADJ-1", "2026-03-03", "approve", "carol", at="2026-03-03T09:00:00+00:00")
        + event("ADJ-1", "2026-03-03", "approve", "erin"))
    (tmp_path / "main.beancount").write_text(
        BASE + 'include "other.beancount"\n' + request("ADJ-1", "2026-03-02", "-500.00")
        + event("ADJ-1", "2026-03-03", "approve", "bob", at="2026-03-03T10:30:00+02:00"))
    loaded = load_file(tmp_path / "main.beancount")
    adj = loaded.adj("ADJ-1")
    judged = [(r.event.by, str(r.event.action)) for r in adj.history]
    assert len(judged) == 3, judged
    assert all(who for who, _ in judged)
    told = [(row.who, row.action) for row in audit(loaded.book, Scope())
            if row.action == "approve"]
    assert told == judged
    exported = [(r.get("by"), r.get("action")) for r in event_records(loaded.book)
                if r.get("action") == "approve"]
    assert exported == judged
    shown = [(item.by, item.what) for item in timeline(loaded.book, adj)
             if item.what == "approve"]
    assert shown == judged


def test_without_a_plugin_after_ours_the_pass_reads_no_file(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """The check for plugins after ours read the whole ledger file on every load to
    find their lines, when there were none: 0.3 s and the file's text (8 MiB of peak
    memory at 30k transactions) for nothing."""
    import builtins

    from beancount import loader

    from beancount_adjustments import plugin
    path = tmp_path / "main.beancount"
    path.write_text(BASE + SMALL, encoding="utf-8")
    entries, _, options = loader.load_file(str(path))
    opened: list[str] = []
    real_open = builtins.open

    def recording(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording)
    plugin.adjustments(list(entries), dict(options), None)
    assert str(path) not in opened


def test_a_fava_package_beside_the_ledger_is_not_favas_linking_plugin(tmp_path: Path) -> None:
    """`fava.plugins.link_documents` may follow ours because Fava's own adds links
    only. With `insert_pythonpath`, a `fava/` folder beside the ledger is imported in
    its place by bean-check (and by any tool that has not imported Fava yet): its
    "link_documents" multiplied the booked credit by 100, trusted by its name."""
    import subprocess
    import sys

    shadow = tmp_path / "fava" / "plugins"
    shadow.mkdir(parents=True)
    (tmp_path / "fava" / "__init__.py").write_text("")
    (shadow / "__init__.py").write_text("")
    (shadow / "link_documents.py").write_text(INFLATE_APPLIED)
    path = tmp_path / "main.beancount"
    path.write_text('option "insert_pythonpath" "TRUE"\n' + BASE
                    + 'plugin "fava.plugins.link_documents"\n' + SMALL, encoding="utf-8")
    bean_check = Path(sys.executable).with_name("bean-check")
    done = subprocess.run([str(bean_check), str(path)], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[plugin-after]" in done.stdout + done.stderr
    # Without the shadow, Fava's own may follow ours, under bean-check too.
    import shutil
    shutil.rmtree(tmp_path / "fava")
    done = subprocess.run([str(bean_check), str(path)], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
