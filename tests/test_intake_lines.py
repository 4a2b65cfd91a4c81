"""Template, schedule and rule lines: `bean-check` reports a bad one at its
file:line with the sentence the CLI prints for it (one reader), the CLI still
runs the good lines, and a bad line holds the template, schedule or rule it names."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments.beans.intake_lines import (
    parse_rules,
    parse_schedules,
    parse_templates,
)
from beancount_adjustments.cli import main
from ledgers import BACKDATING, BASE, load, load_file, request


def parsed(code: str, entries: list[Any]) -> tuple[list[str], list[Any]]:
    """The names the CLI's reader of that directive finds, and its problems."""
    if code == "bad-template":
        templates, problems = parse_templates(entries)
        return templates.names(), problems
    values, problems = (parse_schedules if code == "bad-schedule" else parse_rules)(entries)
    return [v.name for v in values], problems


BAD_LINES = [
    ("bad-template", 'custom "adjustment-template" "fee" "debit:fee"',
     'custom "adjustment-template" takes one name'),
    ("bad-template", 'custom "adjustment-template" "fee"\n  type: "fee"\n  amount: 3.00 USD\n'
     '  reason: "Fee"', "template fee: `type:` must be credit:, debit: or billing:"),
    ("bad-template", 'custom "adjustment-template" "fee"\n  type: "debit:fee"\n'
     "  amount: 3.00 USD", "template fee: `reason:` is required"),
    ("bad-template", 'custom "adjustment-template" "fee"\n  type: "debit:fee"\n'
     '  reason: "Fee"', "template fee: give a fixed `amount:` or a `calculator:`"),
    ("bad-schedule", 'custom "adjustment-schedule" "monthly"',
     'custom "adjustment-schedule" takes a name and a template'),
    ("bad-schedule", 'custom "adjustment-schedule" "monthly" "fee"\n  every: "fortnight"\n'
     '  customers: "cust_123"', "schedule monthly: `every:` is one of day, week"),
    ("bad-schedule", 'custom "adjustment-schedule" "monthly" "fee"\n  every: "month"\n'
     '  customers: "cust_123"\n  start: 2026-05-01\n  end: 2026-04-01',
     "schedule monthly: `end:` 2026-04-01 is before `start:` 2026-05-01"),
    ("bad-rule", 'custom "adjustment-rule" "fees" "late-fees"',
     'custom "adjustment-rule" takes a rule name and a kind (late-fee, sla-credit, loyalty)'),
    ("bad-rule", 'custom "adjustment-rule" "fees" "late-fee"\n  days: 30\n  amount: 25.00 USD',
     "rule fees (late-fee) needs `account:`"),
    ("bad-rule", 'custom "adjustment-rule" "fees" "late-fee"\n  days: -3\n'
     '  amount: 25.00 USD\n  account: "Income:Fees"',
     "rule fees: `days:` must be a whole number from 1 to 36600, not Decimal('-3')"),
    ("bad-rule", 'custom "adjustment-rule" "fees" "late-fee"\n  account: "Income:Fees"',
     "rule fees needs `amount:` or `percent:`"),
    ("bad-rule", 'custom "adjustment-rule" "vip" "loyalty"\n  tier: "vip"\n  months: 3\n'
     '  account: "Expenses:Promotions"\n  receivable: "Assets:Receivable:Customers"',
     "rule vip (loyalty) needs `amount:`"),
    ("bad-rule", 'custom "adjustment-rule" "vip" "loyalty"\n  tier: "vip"\n'
     '  amount: 20.00 USD\n  account: "Expenses:Promotions"\n'
     '  receivable: "Assets:Receivable:Customers"', "rule vip (loyalty) needs `months:`"),
    ("bad-rule", 'custom "adjustment-rule" "sla" "sla-credit"\n  tickets: "t.csv"\n'
     '  amount: -10.00 USD\n  account: "Expenses:Goodwill"\n'
     '  receivable: "Assets:Receivable:Customers"',
     "rule sla: `amount:` must be a positive amount such as 25.00 USD"),
    ("bad-rule", 'custom "adjustment-rule" "fees" "late-fee"\n  amount: 25.00 USD\n'
     '  account: "Income:Fees"\n  type: 3', "rule fees: `type:` must be a string"),
]


@pytest.mark.parametrize(("code", "line", "message"), BAD_LINES)
def test_bean_check_reports_a_bad_line_at_its_line(code: str, line: str, message: str) -> None:
    loaded = load(f"2026-01-01 {line}\n" + request("A-1", "2026-03-02", "-50.00"))
    lineno = loaded.line(line.splitlines()[0])
    assert loaded.codes == [(lineno, code)]
    (error,) = loaded.errors
    assert message in error.message
    assert loaded.state("A-1") == "pending"  # the rest of the ledger is judged as ever
    # the same sentence the CLI prints, from the same reader
    names, problems = parsed(code, loaded.entries)
    assert names == []
    assert [(p.code, p.source.lineno, p.message) for p in problems] == [
        (code, lineno, error.message.removesuffix(f" [{code}]"))]


def test_a_second_rule_of_a_name_is_reported_and_holds_both() -> None:
    rule = ('2026-01-01 custom "adjustment-rule" "fees" "late-fee"\n  amount: 25.00 USD\n'
            '  account: "Income:Fees"\n')
    loaded = load(rule + rule.replace("25.00", "30.00"))
    lineno = loaded.line('"adjustment-rule"', 1)
    assert loaded.codes == [(lineno, "bad-rule")]
    assert "rule fees: a rule of this name is already declared at <string>:" in str(
        loaded.errors[0].message)
    rules, problems = parse_rules(loaded.entries)
    assert rules == []  # which one was meant? neither runs until one is removed
    assert [p.source.lineno for p in problems] == [lineno]


def test_good_lines_do_not_upset_the_plugin() -> None:
    loaded = load(GOOD + RULES)
    assert loaded.errors == []
    templates, problems = parse_templates(loaded.entries)
    assert templates.names() == ["credit", "fee"]
    assert problems == []
    schedules, problems = parse_schedules(loaded.entries)
    assert [s.name for s in schedules] == ["monthly"]
    assert problems == []
    rules, problems = parse_rules(loaded.entries)
    assert [(r.name, r.kind) for r in rules] == [("fees", "late-fee")]
    assert problems == []


# -- the CLI runs the good lines ------------------------------------------------------

GOOD = """
2026-01-01 custom "adjustment-template" "fee"
  type: "debit:fee"
  amount: 3.00 USD
  offset-account: "Income:Fees"
  reason: "Paper invoice fee"

2026-01-01 custom "adjustment-template" "credit"
  type: "credit:promotional"
  amount: 5.00 USD
  offset-account: "Expenses:Promotions"
  reason: "Credit"

2026-01-01 custom "adjustment-schedule" "monthly" "fee"
  customers: "cust_123"
  every: "month"
  start: 2026-01-31
"""

RULES = """
2026-01-01 custom "adjustment-rule" "fees" "late-fee"
  days: 30
  amount: 25.00 USD
  account: "Income:Fees"

2026-01-01 * "cust_456" "Invoice January"
  invoice-id: "INV-1"
  customer: "cust_456"
  due: 2026-02-01
  Assets:Receivable:Customers     120.00 USD
  Income:Sales
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + text)
    return path


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def the_line(path: Path, code: str) -> str:
    """The one error bean-check reports, as the CLI prints it: `file:line: message [code]`."""
    loaded = load_file(path)
    (error,) = loaded.errors
    message = str(error.message)
    assert message.endswith(f" [{code}]"), message
    return f"{error.source['filename']}:{error.source['lineno']}: {message}"


def test_templates_lists_the_good_ones_and_prints_the_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n2026-01-01 custom "adjustment-template" "broken"\n'
                 '  type: "debit:fee"\n  amount: 3.00 USD\n')
    bad = the_line(path, "bad-template")
    result = cli("templates", "-f", str(path))
    assert result.exit_code == 1
    assert "fee: debit:fee via fixed" in result.stdout
    assert "credit: credit:promotional via fixed" in result.stdout
    assert result.stderr.splitlines() == [bad]


def test_from_template_uses_a_good_template_beside_a_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n2026-01-01 custom "adjustment-template" "broken"\n')
    result = cli("from-template", "-f", str(path), "--as", "alice", "fee", "-c", "cust_123",
                 "--date", "2026-03-01")
    assert result.exit_code == 0, result.output
    assert "wrote 1 request" in result.stdout


def test_a_bad_later_line_holds_its_template(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n2026-07-01 custom "adjustment-template" "fee"\n'
                 '  type: "debit:fee"\n  amount: "4.00 USD"\n  offset-account: "Income:Fees"\n'
                 '  reason: "Paper invoice fee"\n')
    bad = the_line(path, "bad-template")
    before = path.read_bytes()
    for day in ("2026-03-01", "2026-08-01"):  # the whole name: which line was meant?
        result = cli("from-template", "-f", str(path), "--as", "alice", "fee",
                     "-c", "cust_123", "--date", day)
        assert result.exit_code == 1
        assert f"bean-adjust: refused: {bad}" in result.stderr.splitlines()
    assert path.read_bytes() == before
    # a schedule using it skips its occurrences (the line says why) and the rest run
    result = cli("run-schedules", "-f", str(path), "--as", "alice", "--through", "2026-02-28")
    assert result.exit_code == 1
    assert f"bean-adjust: error: {bad}" in result.stderr.splitlines()
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


def test_run_schedules_runs_the_good_schedules_and_prints_the_bad_line(
        tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n2026-01-01 custom "adjustment-schedule" "weekly" "fee"\n'
                 '  customers: "cust_123"\n  every: "fortnight"\n')
    bad = the_line(path, "bad-schedule")
    result = cli("run-schedules", "-f", str(path), "--as", "alice", "--through", "2026-02-28")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"bean-adjust: error: {bad}"]
    assert f"wrote 2 requests to {path}" in result.stdout
    requests = load_file(path).book.facts.requests  # type: ignore[union-attr]
    assert sorted(r.external_id or "" for r in requests) == [
        "schedule:monthly:cust_123:2026-01-31", "schedule:monthly:cust_123:2026-02-28"]


def test_a_bad_later_line_holds_its_schedule(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n2026-01-01 custom "adjustment-schedule" "weekly" "credit"\n'
                 '  customers: "cust_123"\n  every: "month"\n  start: 2026-01-15\n'
                 '\n2026-02-01 custom "adjustment-schedule" "monthly" "fee"\n'
                 '  customers: "cust_123"\n  every: "month"\n  start: 2026-01-31\n'
                 '  end: "2026-03-31"\n')
    bad = the_line(path, "bad-schedule")
    result = cli("run-schedules", "-f", str(path), "--as", "alice", "--through", "2026-06-30")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"bean-adjust: error: {bad}"]
    requests = load_file(path).book.facts.requests  # type: ignore[union-attr]
    # `monthly` would run on past the end it was meant to get: it is held
    assert {(r.external_id or "").rsplit(":", 2)[0] for r in requests} == {"schedule:weekly"}
    named = cli("run-schedules", "-f", str(path), "--as", "alice", "--through", "2026-06-30",
                "--schedule", "monthly")
    assert named.exit_code == 1
    assert f"bean-adjust: error: {bad}" in named.stderr.splitlines()


def test_automate_runs_the_good_rules_and_prints_the_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, RULES + '\n2026-01-01 custom "adjustment-rule" "vip" "loyalty"\n'
                 '  tier: "vip"\n  months: 3\n  account: "Expenses:Promotions"\n')
    bad = the_line(path, "bad-rule")
    for args in (["--dry-run"], []):
        result = cli("automate", "-f", str(path), "--as", "alice", "--through", "2026-03-31",
                     *args)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [f"bean-adjust: error: {bad}"]
        assert "fees:INV-1" in result.stdout
    (fee,) = load_file(path).book.facts.requests  # type: ignore[union-attr]
    assert (fee.external_id, fee.date) == ("fees:INV-1", datetime.date(2026, 3, 3))
