"""`manual-chain:` on a type policy: the chain a request asking for review
(`approval-required: TRUE`) needs when the matrix would approve it
automatically. In the plugin, the writer (the chain it stamps on requests
and approvals), the CLI and the pages alike; misfits are reported where
rows' misfits are.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.reports import queries
from ledgers import BACKDATING, BASE, event, ledger, load, request

POLICY = '''
2026-01-01 custom "adjustment-policy" "credit:*"
  manual-chain: "manager > finance"
'''
ASKED = 'approval-required: TRUE'


def test_a_request_asking_for_review_needs_the_manual_chain() -> None:
    loaded = load(POLICY + request("ADJ-1", "2026-03-02", "-10", extra=ASKED))
    adj = loaded.adj("ADJ-1")
    assert not loaded.errors
    assert (str(adj.state), adj.chain) == ("pending", ("manager", "finance"))
    assert loaded.book is not None
    assert queries.rule_text(adj, loaded.book) == ("approval asked by the requester: the policy's "
                                      "manual chain manager > finance")
    loaded = load(POLICY + request("ADJ-1", "2026-03-02", "-10", extra=ASKED)
                  + event("ADJ-1", "2026-03-03", "approve", "bob")
                  + event("ADJ-1", "2026-03-04", "approve", "carol"))
    assert loaded.state("ADJ-1") == "applied"
    assert not loaded.errors


def test_without_the_ask_or_above_a_threshold_the_matrix_decides() -> None:
    loaded = load(POLICY + request("ADJ-1", "2026-03-02", "-10")
                  + request("ADJ-2", "2026-03-02", "-50", extra=ASKED))
    assert loaded.state("ADJ-1") == "applied"  # below every threshold, not asked
    assert loaded.adj("ADJ-2").chain == ("manager",)  # the row from 25.00 USD
    assert loaded.book is not None
    assert queries.rule_text(loaded.adj("ADJ-2"), loaded.book) == "credit:* from 25.00 USD: manager"


def test_without_a_manual_chain_the_first_level_of_the_lowest_row() -> None:
    loaded = load(request("ADJ-1", "2026-03-02", "-10", extra=ASKED))
    adj = loaded.adj("ADJ-1")
    assert adj.chain == ("manager",)
    assert loaded.book is not None
    assert queries.rule_text(adj, loaded.book) == ("approval asked by the requester: the "
                                                   "first level "
                                      "of credit:* from 25.00 USD: manager")


def test_a_manual_chain_reviews_a_type_no_row_staffs() -> None:
    # credit:promotional has only a row without roles (pre-approved).
    base = "".join(line + "\n" for line in BASE.splitlines() if '"credit:*"' not in line)
    promo = request("ADJ-1", "2026-03-02", "-10", type="credit:promotional",
                    account="Expenses:Promotions", extra=ASKED)
    assert "no-reviewer" in load(base + promo, base=False).code_set
    loaded = load(base + '2026-01-01 custom "adjustment-policy" "credit:promotional"\n'
                  '  manual-chain: "finance"\n' + promo, base=False)
    assert not loaded.errors
    assert loaded.adj("ADJ-1").chain == ("finance",)


def test_the_more_specific_policy_sets_the_manual_chain() -> None:
    loaded = load(POLICY + '2026-01-01 custom "adjustment-policy" "credit:refund"\n'
                  '  manual-chain: "finance"\n'
                  + request("ADJ-1", "2026-03-02", "-10", extra=ASKED)
                  + request("ADJ-2", "2026-03-02", "-10", type="credit:goodwill",
                            account="Expenses:Goodwill", extra=ASKED))
    assert loaded.adj("ADJ-1").chain == ("finance",)
    assert loaded.adj("ADJ-2").chain == ("manager", "finance")


def test_a_role_nobody_holds_is_a_warning_at_the_policy() -> None:
    text = ('2026-01-01 custom "adjustment-policy" "credit:*"\n'
            '  manual-chain: "manager > auditor"\n')
    loaded = load(text)
    assert loaded.book is not None
    warnings = [w for w in loaded.book.warnings if w.code == "unheld-role"]
    assert len(warnings) == 1
    assert warnings[0].source.lineno == loaded.line('"adjustment-policy" "credit:*"')
    assert "auditor" in warnings[0].message
    assert "manual-chain" in warnings[0].message


def test_a_malformed_manual_chain_is_an_error_at_the_policy() -> None:
    for value in ('"manager > manager"', '"automatic"', '"  "', "5"):
        loaded = load('2026-01-01 custom "adjustment-policy" "credit:*"\n'
                      f"  manual-chain: {value}\n"
                      + request("ADJ-1", "2026-03-02", "-10", extra=ASKED))
        line = loaded.line('"adjustment-policy" "credit:*"')
        found = [e for e in loaded.errors if e.source["lineno"] == line]
        assert found, value
        assert "manual-chain" in found[0].message
        # The setting is ignored, not half-used: the default fallback applies.
        assert loaded.adj("ADJ-1").chain == ("manager",)


def test_a_manual_chain_added_later_makes_the_written_chain_stale() -> None:
    # Written (by a tool) when the chain was "manager"; a back-dated policy would
    # change what it needs: refused, as a back-dated row is.
    loaded = load(POLICY + request("ADJ-1", "2026-03-02", "-10",
                                   extra=ASKED + '\nchain: "manager"'))
    assert "stale-chain" in loaded.code_set


def test_create_and_approve_stamp_the_manual_chain(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BACKDATING + POLICY + '''
2026-01-01 open Expenses:Adjustments:Credits
'''), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["create", "-f", str(path), "--as", "alice", "--type",
                                  "credit:refund", "--customer", "cust_456", "--amount",
                                  "10.00 USD", "--reason", "Please check", "--id", "ADJ-9",
                                  "--approval-required", "--json"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert (made["state"], made["chain"]) == ("pending", ["manager", "finance"])
    text = path.read_text()
    assert 'chain: "manager > finance"' in text
    result = runner.invoke(main, ["show", "-f", str(path), "ADJ-9"])
    assert "rule: approval asked by the requester: the policy's manual chain" in result.output
    today = datetime.date.today().isoformat()
    result = runner.invoke(main, ["approve", "-f", str(path), "ADJ-9", "--as", "bob"])
    assert result.exit_code == 0, result.output
    written = path.read_text()
    decision = written[written.index(f'{today} custom "adjustment" "ADJ-9" "approve"'):]
    assert 'chain: "manager > finance"' in decision
    assert not load(written, base=False).errors
