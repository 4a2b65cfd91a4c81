"""Rule-based automation: late fees, SLA service credits, loyalty credits; each
occurrence written once through the writer, and the requests go through approval."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from beancount import loader
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.intake import automation
from ledgers import BACKDATING, load_file
from ledgers import ledger as base_ledger


def ledger(text: str) -> str:
    """The test ledger; its entries are dated in the past on purpose."""
    return base_ledger(BACKDATING + text)


RULES = """
2026-01-01 open Expenses:Service-Credits
2026-01-01 open Expenses:Loyalty

2026-01-01 custom "adjustment-rule" "late-fee" "late-fee"
  days: 30
  amount: 25.00 USD
  account: "Income:Fees"

2026-01-01 * "cust_456" "Invoice January"
  invoice-id: "INV-1"
  customer: "cust_456"
  due: 2026-02-01
  Assets:Receivable:Customers     120.00 USD
  Income:Sales

2026-01-05 * "cust_123" "Invoice paid in time"
  invoice-id: "INV-2"
  customer: "cust_123"
  due: 2026-02-05
  Assets:Receivable:Customers     80.00 USD
  Income:Sales

2026-02-20 * "cust_123" "Payment INV-2"
  invoice: "INV-2"
  Assets:Bank                      80.00 USD
  Assets:Receivable:Customers

2026-02-20 * "cust_456" "Partial payment INV-1"
  invoice: "INV-1"
  Assets:Bank                      100.00 USD
  Assets:Receivable:Customers
"""


def cli(path: Path, *args: str):
    return CliRunner().invoke(main, ["automate", "-f", str(path), "--as", "alice", *args])


def test_late_fee_is_created_once_and_goes_through_approval(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES))
    early = cli(path, "--through", "2026-03-02")
    assert early.exit_code == 0, early.output
    assert "nothing to create" in early.output

    first = cli(path, "--through", "2026-03-31")
    assert first.exit_code == 0, first.output
    assert "for late-fee:INV-1" in first.output
    assert "INV-2" not in first.output  # paid in full before the fee fell due
    loaded = load_file(path)
    assert not loaded.errors, loaded.errors
    assert loaded.book is not None
    (fee,) = [a for a in loaded.book.adjustments.values()
              if a.request.external_id == "late-fee:INV-1"]
    assert fee.request.type == "debit:fee"
    assert fee.request.date == datetime.date(2026, 3, 3)
    assert fee.request.invoice == "INV-1"
    assert fee.request.requested_by == "alice"
    assert str(fee.amount) == "25.00 USD"
    assert fee.state.value == "applied"  # below the 50.00 USD debit threshold: automatic

    again = cli(path, "--through", "2026-03-31")
    assert again.exit_code == 0, again.output
    assert "nothing to create" in again.output
    assert path.read_text().count("late-fee:INV-1") == 1


def test_automate_reports_in_json(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES))
    plan = cli(path, "--through", "2026-03-31", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    body = json.loads(plan.output)
    assert body["written"] == 0
    assert [d["external_id"] for d in body["due"]] == ["late-fee:INV-1"]
    assert body["due"][0]["amount"] == "25.00"
    made = cli(path, "--through", "2026-03-31", "--json")
    assert made.exit_code == 0, made.output
    body = json.loads(made.output)
    assert body["written"] == 1
    assert body["adjustments"][0]["state"] == "applied"
    again = json.loads(cli(path, "--through", "2026-03-31", "--json").output)
    assert (again["written"], again["due"]) == (0, [])


def test_automate_parses_the_ledger_once(tmp_path, monkeypatch):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES))
    parses = []
    real = loader._load
    monkeypatch.setattr(loader, "_load", lambda *a, **k: parses.append(1) or real(*a, **k))
    made = cli(path, "--through", "2026-03-31")
    assert made.exit_code == 0, made.output
    assert "for late-fee:INV-1" in made.output
    assert parses == [1]  # the writer's load: the rules are worked out on it


def test_late_fee_above_threshold_waits_for_a_manager(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES.replace("amount: 25.00 USD", "percent: 50")))
    assert cli(path, "--through", "2026-03-31").exit_code == 0
    loaded = load_file(path)
    (fee,) = [a for a in loaded.book.adjustments.values() if a.request.external_id]
    assert str(fee.amount) == "60.00 USD"
    assert fee.state.value == "pending"
    assert fee.chain == ("manager",)



SLA_RULE = """
2026-01-01 open Expenses:Service-Credits
2026-01-01 custom "adjustment-rule" "sla" "sla-credit"
  tickets: "tickets.csv"
  amount: 10.00 USD
  account: "Expenses:Service-Credits"
  receivable: "Assets:Receivable:Customers"
"""
"""A service credit for each ticket of tickets.csv resolved after its `sla-hours`."""

def test_sla_credit_for_breached_tickets_only(tmp_path):
    (tmp_path / "tickets.csv").write_text(
        "id,customer,opened,resolved,sla-hours\n"
        "T-1,cust_456,2026-03-01T09:00:00,2026-03-03T10:00:00,24\n"   # breached
        "T-2,cust_456,2026-03-01T09:00:00,2026-03-01T12:00:00,24\n"   # in time
        "T-3,cust_123,2026-03-05T09:00:00,,48\n"                      # open, breached 03-07
        "T-4,cust_123,2026-03-09T09:00:00,,48\n")                     # open, not yet
    path = tmp_path / "main.beancount"
    path.write_text(ledger(SLA_RULE))
    result = cli(path, "--through", "2026-03-10")
    assert result.exit_code == 0, result.output
    loaded = load_file(path)
    assert not loaded.errors, loaded.errors
    credits = sorted((a.request.external_id, a.request.ticket, a.request.date.isoformat(),
                      a.request.customer, str(a.amount), a.request.category)
                     for a in loaded.book.adjustments.values())
    assert credits == [
        ("sla:T-1", "T-1", "2026-03-02", "cust_456", "10.00 USD",
         "customer-service:service-recovery"),
        ("sla:T-3", "T-3", "2026-03-07", "cust_123", "10.00 USD",
         "customer-service:service-recovery"),
    ]
    assert "nothing to create" in cli(path, "--through", "2026-03-10").output


def test_loyalty_credit_every_n_months_for_the_tier(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger("""
2026-01-01 open Expenses:Loyalty
2026-01-01 custom "adjustment-rule" "vip-loyalty" "loyalty"
  tier: "vip"
  months: 3
  amount: 30.00 USD
  account: "Expenses:Loyalty"
  receivable: "Assets:Receivable:Customers"
2026-05-15 custom "adjustment-customer" "cust_123" "standard"
"""))
    dry = cli(path, "--through", "2026-12-31", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "would create vip-loyalty:cust_123:2026-04-01: credit:account 30.00 USD for cust_123 "
        "on 2026-04-01",
        "1 request due (dry run)",
    ]
    assert "external-id" not in path.read_text()  # a dry run writes nothing
    assert cli(path, "--through", "2026-12-31").exit_code == 0
    loaded = load_file(path)
    (credit,) = list(loaded.book.adjustments.values())
    assert credit.request.external_id == "vip-loyalty:cust_123:2026-04-01"
    assert credit.request.category == "customer-service:loyalty"
    # 30.00 USD is above the 25.00 USD credit threshold: it waits for a manager
    assert credit.state.value == "pending"
    assert credit.chain == ("manager",)


def test_bad_rule_is_reported_at_its_line(tmp_path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger("""
2026-01-01 custom "adjustment-rule" "late-fee" "late-fee"
  days: 30
"""))
    result = cli(path, "--through", "2026-03-31")
    assert result.exit_code == 1
    assert "rule late-fee (late-fee) needs `account:`" in result.output


def test_add_months_clamps_to_month_end():
    assert automation.add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    assert automation.add_months(datetime.date(2026, 11, 30), 3) == datetime.date(2027, 2, 28)


@pytest.mark.parametrize("hours", ["NaN", "1e9", "٢٤", "-5", "24h"])
def test_a_ticket_whose_sla_hours_do_not_read_is_one_line(tmp_path, hours):
    """`sla-hours` was read with a bare Decimal: "NaN" ended in a traceback from
    timedelta, "1e9" and Arabic-Indic digits were read as hours."""
    (tmp_path / "tickets.csv").write_text(
        "id,customer,opened,resolved,sla-hours\n"
        f"T-1,cust_456,2026-03-01T09:00:00,2026-03-03T10:00:00,{hours}\n")
    path = tmp_path / "main.beancount"
    path.write_text(ledger(SLA_RULE))
    before = path.read_bytes()
    result = cli(path, "--through", "2026-03-10")
    assert result.exit_code == 1, result.output
    assert "tickets.csv:2" in result.output
    assert "sla-hours" in result.output
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0
    assert path.read_bytes() == before


def test_a_late_fee_run_late_is_filed_the_day_it_is_written(tmp_path):
    """Hole: without a `backdate-days:` allowance, the fee due on 2026-03-03 was
    written dated that day and refused as `backdated` on every later run."""
    path = tmp_path / "main.beancount"
    path.write_text(base_ledger(RULES))
    today = datetime.date.today()
    result = cli(path, "--through", today.isoformat())
    assert result.exit_code == 0, result.output
    loaded = load_file(path)
    assert not loaded.errors, loaded.errors
    (fee,) = [a for a in loaded.book.adjustments.values()
              if a.request.external_id == "late-fee:INV-1"]
    assert fee.request.date == today
    again = cli(path, "--through", today.isoformat())
    assert "nothing to create" in again.output
