"""Review s13 of the change 225ad83..main: what a reviewer and an attacker found.

Each test is one way tried around a rule the change added or touched (signatures
v3, `check` as the gate, the one set of report rows, the queue's JSON). A test
whose docstring says "Hole:" failed on the code it was written against; "Held:"
ones held and add coverage no earlier test had.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from repos import Repo, check, findings
from signing import KEYS

from beancount_adjustments import reports
from beancount_adjustments.cli import main
from beancount_adjustments.core import signatures
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.json_api import row_json
from beancount_adjustments.fava_ext.queue_rows import queue_row
from ledgers import BASE, event, load, load_file, request

SIGNED = ('2026-01-01 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
          "  backdate-days: 5\n")
KEYED = f'2026-01-01 custom "adjustment-key" "erin" "{signatures.public_b64(KEYS["erin"])}"\n'
CREDIT = request("ADJ-1", "2026-03-05", "-1200.00", by="alice")
"""Chain "manager > finance": erin (a manager) alone does not book it."""
SHORTER = '2026-03-04 custom "adjustment-approval" "credit:refund" 0.00 USD "manager"\n'


def _old_signature(digest: str) -> str:
    """erin's signature of her first-level approval of ADJ-1 on 03-06, made by a tool of
    before v3 (on a branch never merged): it covers no `at:` and no `chain:`."""
    raw = KEYS["erin"].sign(signatures.message(
        "ADJ-1", "approve", "erin", datetime.date(2026, 3, 6), digest,
        tag=signatures.EFFECTIVE_TAG))
    return base64.b64encode(raw).decode("ascii")


def test_a_new_approval_signed_over_the_v2_message_is_no_downgrade(tmp_path: Path) -> None:
    """Hole: v3 made `chain:` part of what erin signs, yet a v2 signature still verified
    for a decision new in the change. alice holds one erin made before v3 for the first
    of two levels of ADJ-1 (filed on a branch never merged). She files ADJ-1 again
    with a row asking a manager only (REV had decided nothing: no rule of the past is
    rewritten) and that approval with `chain: "manager"`: 1,200 USD booked on erin's
    signature alone, and
    `check --since` said the past was intact. An old message now counts only for
    decisions of the past: the replay warns (`old-signature`), and a new one fails
    the check."""
    repo = Repo(tmp_path / "repo")
    rev = repo.commit(BASE + SIGNED + KEYED)
    repo.write(BASE + SIGNED + KEYED + SHORTER + CREDIT)
    adj = load_file(repo.ledger).adj("ADJ-1")
    approval = ('2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
                '  at: "2026-03-06T10:00:00+00:00"\n'
                f'  digest: "{adj.digest}"\n  chain: "manager"\n'
                f'  signature: "{_old_signature(adj.digest)}"\n')
    repo.write(BASE + SIGNED + KEYED + SHORTER + CREDIT + approval)
    loaded = load_file(repo.ledger)
    assert loaded.book is not None
    assert loaded.state("ADJ-1") == "applied", loaded.errors  # it counts, as the past does
    warned = [(w.source.lineno, w.code) for w in loaded.book.warnings]
    assert (repo.line('"ADJ-1" "approve"'), "old-signature") in warned
    result = check(repo, rev)
    assert result.exit_code == 1, result.output
    [line] = findings(result, "old-signature-since")
    assert repo.at('"ADJ-1" "approve"') in line, line


def test_the_queue_json_names_who_entered_a_request_as_every_tool_does() -> None:
    """Held (one home): the queue's JSON `entered_by` is `Request.entrant`, as the
    export's and the list's are, not a second reading of the requesters."""
    loaded = load(request("ADJ-1", "2026-03-05", "-1200.00", by="carol",
                          extra='entered-by: "alice"')
                  + request("ADJ-2", "2026-03-05", "-1200.00", by="alice",
                            extra='entered-by: "alice"'))
    assert loaded.book is not None
    index = BookIndex.build(loaded.book)
    day = datetime.date(2026, 3, 6)
    shown = {adj.id: row_json(queue_row(index, adj, today=day, written=day,
                                        user=None))["entered_by"]
             for adj in loaded.book.adjustments.values()}
    assert shown == {"ADJ-1": "alice", "ADJ-2": None}
    assert shown == {i: a.request.entrant for i, a in loaded.book.adjustments.items()}


PLUGIN_LINE = 'plugin "beancount_adjustments"\n'


@pytest.mark.parametrize("where", ["submodule", "included", "raw-mode-only-included"])
def test_a_plugin_line_that_runs_nothing_is_plugin_not_enabled(tmp_path: Path,
                                                               where: str) -> None:
    """Held: a plugin line Beancount reads and runs nothing for: naming the module
    `beancount_adjustments.plugin` (no `__plugins__`: skipped without a word), or
    written in an included file (Beancount reads plugin lines of the top file only).
    The 1,200 USD credit would book as written; `check` fails at its first directive."""
    text = BASE.replace(PLUGIN_LINE, "") + CREDIT
    main_file = tmp_path / "main.beancount"
    if where == "submodule":
        main_file.write_text('plugin "beancount_adjustments.plugin"\n' + text)
    else:
        (tmp_path / "adj.beancount").write_text(PLUGIN_LINE + text)
        mode = 'option "plugin_processing_mode" "raw"\n' if where.startswith("raw") else ""
        main_file.write_text(mode + 'include "adj.beancount"\n')
    result = CliRunner().invoke(main, ["check", "-f", str(main_file)])
    assert result.exit_code == 1, result.output
    assert "[plugin-not-enabled]" in result.output


def test_an_approved_request_withdrawn_before_its_apply_counts_as_approved() -> None:
    """Hole: under `apply: "separate"` bob's approval makes ADJ-1 `approved`; carol
    withdraws it before the apply. The trends row counted the decision (on bob's day)
    as not approved, so the approval rate read 0% where every request was approved,
    while a reversal, which undoes far more, keeps its approval counted."""
    separate = '2026-01-01 custom "adjustment-policy" "credit:refund"\n  apply: "separate"\n'
    book = load(separate + request("ADJ-1", "2026-03-02", "-400.00")
                + event("ADJ-1", "2026-03-04", "approve", "bob")
                + event("ADJ-1", "2026-03-06", "cancel", "carol", reason="Not needed")).book
    assert book is not None
    assert str(book.adjustments["ADJ-1"].state) == "withdrawn"
    (row,) = reports.trends(book, reports.Scope())
    assert (row.decided, row.approved, row.decision_days) == (1, 1, 2)
