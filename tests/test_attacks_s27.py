"""Round 27: requests dated ahead of their writing.

A decision dated after the day of its `at:` is `dated-ahead`; a request was not:
`bean-adjust create --date 9999-12-31` wrote ADJ-9999-0001, judged by whatever
rows and policies a ledger dates for that day, approved automatically and
booked in year 9999. Use `effective:` to book later; a request is dated the day
it is written.
"""

from __future__ import annotations

import datetime

from click.testing import CliRunner

from beancount_adjustments.cli import main
from ledgers import TOOLS_BASE, load, request

TODAY = datetime.date.today()


def test_a_request_dated_after_its_writing_is_dated_ahead() -> None:
    written = (TODAY - datetime.timedelta(days=40)).isoformat()
    ahead = (TODAY - datetime.timedelta(days=10)).isoformat()
    loaded = load(request("ADJ-1", ahead, "-5.00", customer="cust_123",
                          extra=f'at: "{written}T10:00:00+00:00"'))
    assert (loaded.line("^ADJ-1"), "dated-ahead") in loaded.codes
    assert str(loaded.book.adjustments["ADJ-1"].state) == "invalid"
    # Dated the day it was written, the same request is booked.
    loaded = load(request("ADJ-1", written, "-5.00", customer="cust_123",
                          extra=f'at: "{written}T10:00:00+00:00"'))
    assert loaded.codes == []
    assert str(loaded.book.adjustments["ADJ-1"].state) == "applied"


def test_the_cli_cannot_date_a_request_ahead(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE)
    before = path.read_bytes()
    ahead = (TODAY + datetime.timedelta(days=30)).isoformat()
    result = CliRunner().invoke(main, [
        "create", "-f", str(path), "--as", "alice", "--customer", "cust_123",
        "--type", "credit:refund", "--amount", "5.00 USD", "--reason", "Later",
        "--date", ahead])
    assert result.exit_code == 1, result.output
    assert "[dated-ahead]" in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


def test_a_request_written_by_the_tools_is_paid_by_the_customers_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The tools wrote the customer's id as the payee: Fava's journal, the income
    statement's payees and every export read "cust_1" for Acme Corp. The declared
    name on the request's date is the payee (the id where none is declared)."""
    from beancount_adjustments import api
    from ledgers import NAMED
    path = tmp_path / "main.beancount"
    path.write_text(NAMED, encoding="utf-8")
    named = api.create(path, customer="cust_1", type="credit:refund", amount="5.00 USD",
                       reason="Damaged item", as_user="alice")
    bare = api.create(path, customer="cust_beta", type="credit:refund", amount="5.00 USD",
                      reason="Damaged item", as_user="alice")
    text = path.read_text(encoding="utf-8")
    assert f'"Acme Corp" "Damaged item" ^{named.id}' in text
    assert f'"cust_beta" "Damaged item" ^{bare.id}' in text



def test_a_customer_id_holding_an_invisible_character_is_refused() -> None:
    """A user name with a zero-width space is refused; a customer id was not: a
    declaration and an invoice for "cust\\u200b_123" made a customer that reads as
    cust_123 on every page and statement, and a credit to it only warned."""
    from ledgers import code_set
    hidden = "cust\u200b_123"
    declared = load(f'2026-01-01 custom "adjustment-customer" "{hidden}" "vip"\n')
    assert "malformed-directive" in code_set(declared.errors)
    loaded = load(f'2026-02-01 * "{hidden}" "Invoice"\n  invoice-id: "INV-9"\n'
                  f'  customer: "{hidden}"\n  Assets:Receivable:Customers  50.00 USD\n'
                  '  Income:Sales  -50.00 USD\n'
                  + request("ADJ-1", "2026-03-01", "-5.00", customer=hidden))
    assert (loaded.line("^ADJ-1"), "bad-metadata") in loaded.codes
    assert "ADJ-1" not in loaded.book.adjustments  # read as nothing: it moves no money
    assert loaded.balance("Assets:Receivable:Customers") == 50


def test_the_reason_shown_to_a_cancellers_alias_names_the_duty_the_rule_found(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The rule counts people (`Directory.same_person`); the Approve button's reason
    compared names: "Carol", an alias of carol who asked for the reversal, read
    "you requested it". Both now ask `permissions.own_duty`."""
    from fava_env import START, Env, ago

    from beancount_adjustments.fava_ext.actions import action_hints
    extra = (f'{START} custom "adjustment-user" "Carol" "manager"\n'
             f'{ago(18)} custom "adjustment" "ADJ-6" "cancel"\n  by: "carol"\n'
             '  reason: "Charged twice"\n')
    env = Env(tmp_path, extra=extra)
    index = env.ext.index()
    assert index is not None
    adj = index.book.adjustments["ADJ-6"]
    assert str(adj.state) == "reversing"
    (approve,) = [h for h in action_hints(index, adj, "Carol", TODAY, written=TODAY)
                  if h.action == "approve"]
    assert not approve.allowed
    assert approve.why_not.startswith("you asked for its reversal")
    assert '"Carol" reads as "carol"' in approve.why_not
