"""Customers known from the ledger, picked by id or name; hold-until-billed."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sample_ledgers import HOLD_UNTIL_BILLED, invoice

from beancount_adjustments import api, writer
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Action
from ledgers import BACKDATING, NAMED, event, load, request, with_settings

# -- known from the ledger ---------------------------------------------------------


def test_a_customer_an_invoice_names_needs_no_declaration() -> None:
    loaded = load(invoice(1, "cust_new") + request("ADJ-1", "2026-03-01", "-10.00",
                                                   customer="cust_new"))
    assert loaded.codes == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").tier == "standard"


def test_the_default_tier_is_a_setting() -> None:
    loaded = load(with_settings("{'default-tier': 'bronze'}")
                  + invoice(1, "cust_new")
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="cust_new"), base=False)
    assert loaded.codes == []
    assert loaded.adj("ADJ-1").tier == "bronze"


def test_a_declaration_adds_the_tier_from_its_date() -> None:
    loaded = load(invoice(1, "cust_new")
                  + '2026-04-01 custom "adjustment-customer" "cust_new" "vip"\n'
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="cust_new")
                  + request("ADJ-2", "2026-04-02", "-10.00", customer="cust_new"))
    assert loaded.adj("ADJ-1").tier == "standard"
    assert loaded.adj("ADJ-2").tier == "vip"


def test_a_request_alone_does_not_make_its_customer_known() -> None:
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", customer="cust_ghost")
                  + request("ADJ-2", "2026-03-02", "-10.00", customer="cust_ghost"))
    assert {code for _, code in loaded.codes} == {"unknown-customer"}


def test_a_transaction_off_the_receivable_names_no_customer() -> None:
    loaded = load("""
2026-02-01 * "Bank fee"
  customer: "cust_new"
  Assets:Bank  -1.00 USD
  Income:Fees
""" + request("ADJ-1", "2026-03-01", "-10.00", customer="cust_new"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-customer")]


def test_a_customer_named_before_its_first_naming_is_unknown() -> None:
    loaded = load(invoice(1, "cust_new", date="2026-05-01")
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="cust_new"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-customer")]


def test_a_receivable_sub_account_pattern_names_customers() -> None:
    loaded = load(with_settings("{'customer-account': 'Assets:Receivable:{customer}'}")
                  + "2026-01-01 open Assets:Receivable:Acme\n"
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="Acme",
                            receivable="Assets:Receivable:Acme"), base=False)
    assert loaded.codes == []
    assert loaded.state("ADJ-1") == "applied"


def test_a_bad_customer_account_setting_is_an_error() -> None:
    loaded = load(with_settings("{'customer-account': 'Assets:R'}"), base=False)
    assert any("customer-account" in e.message for e in loaded.errors)


def test_unknown_customer_suggests_the_nearest_known() -> None:
    loaded = load('2026-01-01 custom "adjustment-customer" "cust_777" "standard"\n'
                  '  name: "Acme Corp"\n'
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="cust_778"))
    [error] = loaded.errors
    assert "[unknown-customer]" in error.message
    assert "Did you mean cust_777 (Acme Corp)" in error.message


def test_a_name_written_as_the_customer_says_to_write_the_id() -> None:
    loaded = load('2026-01-01 custom "adjustment-customer" "cust_777" "standard"\n'
                  '  name: "Acme Corp"\n'
                  + request("ADJ-1", "2026-03-01", "-10.00", customer="Acme Corp"))
    [error] = loaded.errors
    assert "is the name of cust_777; write the id" in error.message
    assert 'custom "adjustment-customer" "Acme Corp"' not in error.message


# -- picked by name in the tools ---------------------------------------------------

@pytest.fixture
def tools(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(NAMED + BACKDATING, encoding="utf-8")
    return path


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_create_picks_the_customer_by_name(tools: Path) -> None:
    result = cli("create", "-f", str(tools), "--as", "alice", "--type", "credit:refund",
                 "--customer", "acme corp", "--amount", "20.00 USD", "--reason", "Late",
                 "--date", "2026-02-01")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert 'customer: "cust_1"' in tools.read_text()
    assert "for cust_1" in result.output  # type: ignore[attr-defined]


def test_create_refuses_an_ambiguous_name(tools: Path) -> None:
    before = tools.read_bytes()
    result = cli("create", "-f", str(tools), "--as", "alice", "--type", "credit:refund",
                 "--customer", "Twin Ltd", "--amount", "20.00 USD", "--reason", "Late")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "ambiguous" in result.output
    assert "cust_2, cust_3" in result.output
    assert tools.read_bytes() == before


def test_create_for_a_customer_only_an_invoice_names(tools: Path) -> None:
    result = cli("create", "-f", str(tools), "--as", "alice", "--type", "credit:refund",
                 "--customer", "cust_beta", "--amount", "20.00 USD", "--reason", "Late",
                 "--date", "2026-02-01")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "adjustment-customer\" \"cust_beta" not in tools.read_text()


def test_create_for_a_customer_named_nowhere_suggests_not_declares(tools: Path) -> None:
    before = tools.read_bytes()
    result = cli("create", "-f", str(tools), "--as", "alice", "--type", "credit:refund",
                 "--customer", "cust_bet", "--amount", "20.00 USD", "--reason", "Late",
                 "--date", "2026-02-01")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "[unknown-customer]" in result.output  # type: ignore[attr-defined]
    assert "Did you mean cust_beta" in result.output  # type: ignore[attr-defined]
    assert tools.read_bytes() == before


def test_api_create_picks_the_customer_by_name(tools: Path) -> None:
    adj = api.create(tools, customer="Acme Corp", type="credit:refund", amount="5.00 USD",
                     reason="Late", as_user="alice", date="2026-02-01")
    assert adj.customer == "cust_1"
    with pytest.raises(api.ApiError, match="ambiguous"):
        api.create(tools, customer="twin ltd", type="credit:refund", amount="5.00 USD",
                   reason="Late", as_user="alice", date="2026-02-01")


# -- hold until billed ---------------------------------------------------------------


def test_hold_until_billed_refuses_an_apply_before_the_next_invoice() -> None:
    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                  + event("ADJ-1", "2026-02-15", "apply", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]
    assert loaded.state("ADJ-1") == "approved"
    assert loaded.balance("Assets:Receivable") == 100


def test_hold_until_billed_does_not_apply_on_approval() -> None:
    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-100.00", type="credit:goodwill")
                  + event("ADJ-1", "2026-02-11", "approve", "bob")
                  + invoice(2, "cust_456", date="2026-03-01"))
    assert loaded.codes == []
    assert loaded.state("ADJ-1") == "approved"


def test_hold_until_billed_applies_after_the_next_invoice() -> None:
    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                  + invoice(2, "cust_456", date="2026-03-01")
                  + event("ADJ-1", "2026-03-01", "apply", "bob"))
    assert loaded.codes == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.balance("Assets:Receivable") == 190


def test_an_invoice_of_another_customer_does_not_release_the_hold() -> None:
    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                  + invoice(2, "cust_123", date="2026-03-01")
                  + event("ADJ-1", "2026-03-02", "apply", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]



def test_the_bills_a_hold_waits_for_are_the_customers_invoices_in_date_order() -> None:
    refund = ('2026-02-15 * "cust_456" "Credit note"\n  invoice-id: "INV-9"\n'
              '  customer: "cust_456"\n  Assets:Receivable:Customers  -5.00 USD\n'
              '  Income:Sales\n')
    loaded = load(invoice(2, "cust_456", date="2026-03-01") + invoice(1, "cust_456")
                  + invoice(3, "cust_123", date="2026-02-10") + refund)
    assert loaded.book is not None
    rules = loaded.book.rules
    assert list(rules.invoices_of("cust_456")) == [
        (datetime.date(2026, 2, 1), "INV-1"), (datetime.date(2026, 3, 1), "INV-2")]
    assert list(rules.invoices_of("cust_123")) == [(datetime.date(2026, 2, 10), "INV-3")]
    assert list(rules.invoices_of("cust_nobody")) == []
    assert list(load("").book.rules.invoices_of("cust_456")) == []  # a ledger with none

def test_the_writer_refuses_an_early_apply_with_the_plugins_reason(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    held = request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
    path.write_text(load(HOLD_UNTIL_BILLED + held).text, encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(writer.WriteRefused) as refused:
        writer.write_decisions(path, [writer.Decision("ADJ-1", Action.APPLY, by="bob",
                                                      date=datetime.date(2026, 2, 20))])
    message = str(refused.value)
    assert "[held-until-billed]" in message
    assert "no invoice for cust_456 is dated after 2026-02-10" in message
    assert path.read_bytes() == before
    path.write_text(path.read_text() + invoice(2, "cust_456", date="2026-03-01"))
    result = writer.write_decisions(path, [writer.Decision(
        "ADJ-1", Action.APPLY, by="bob", date=datetime.date(2026, 3, 2))])
    assert result.written == 1
    assert result.book is not None
    assert str(result.book.adjustments["ADJ-1"].state) == "applied"


def test_every_tool_asks_the_one_rule_about_a_held_apply() -> None:
    """The Fava button and the CLI's selection get the replay's answer, so a page
    never offers the apply the writer will refuse."""
    from beancount_adjustments.core.permissions import denial
    from beancount_adjustments.fava_ext import actions
    from beancount_adjustments.fava_ext.index import BookIndex

    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                  + invoice(2, "cust_456", date="2026-03-01"))
    assert loaded.book is not None
    adj = loaded.adj("ADJ-1")
    assert adj.hold_until_billed
    early = denial(loaded.book.rules, adj, Action.APPLY, "bob", datetime.date(2026, 2, 20))
    assert early is not None
    assert early.code == "held-until-billed"
    assert "the next one is INV-2 on 2026-03-01" in early.message
    assert denial(loaded.book.rules, adj, Action.APPLY, "bob",
                  datetime.date(2026, 3, 1)) is None
    index = BookIndex.build(loaded.book, rates=loaded.book.rules.rates)
    early_day, bill_day = datetime.date(2026, 2, 20), datetime.date(2026, 3, 1)
    hints = {h.action: h for h in actions.action_hints(index, adj, "bob", early_day,
                                                      written=early_day)}
    assert not hints["apply"].allowed
    assert "billed" in hints["apply"].why_not
    later = {h.action: h for h in actions.action_hints(index, adj, "bob", bill_day,
                                                      written=bill_day)}
    assert later["apply"].allowed
