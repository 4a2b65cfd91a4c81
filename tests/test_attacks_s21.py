"""Attacks, round 21: what round 19 did not reach.

A decision is worth no more than it was on the day it was made: an approver
must hold the role and the limit on the event's date AND on the day it was
written (its `at:`), within `backdate-days`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from beancount.core import compare, data
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.core.lifecycle import step_shown
from beancount_adjustments.core.models import Action
from beancount_adjustments.fava_ext.detail import journal_hashes
from beancount_adjustments.reports import queries
from beancount_adjustments.reports.statement.rows import statement
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import (
    Loaded,
    balance,
    block,
    code_set,
    codes,
    decided,
    event,
    ledger,
    line_in,
    load,
    load_file,
    request,
)

ALLOW = """
2026-01-01 custom "adjustment-policy" "*"
  backdate-days: 5
"""
WRITTEN_LATE = {"at": "2026-03-10T10:00:00+01:00"}
"""Dated 03-09, written 03-10 (allowed by `backdate-days: 5`)."""


def _late_approval(change: str, amount: str = "-50.00", by: str = "bob") -> str:
    return ALLOW + change + request("ADJ-1", "2026-03-01", amount) + event(
        "ADJ-1", "2026-03-09", "approve", by, **WRITTEN_LATE)


def test_a_role_removed_before_the_approval_was_written_does_not_count() -> None:
    """bob lost the manager role on 03-10 and wrote an approval on 03-10 dated 03-09."""
    loaded = load(_late_approval('2026-03-10 custom "adjustment-user" "bob"\n'))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "missing-role")]
    assert loaded.state("ADJ-1") == "pending"
    assert balance(loaded.entries, "Income:Sales:Returns") == 0


def test_a_limit_lowered_before_the_approval_was_written_binds_it() -> None:
    loaded = load(_late_approval('2026-03-10 custom "adjustment-user" "bob" "manager"\n'
                                 '  limit: 10.00 USD\n'))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "over-limit")]
    assert loaded.state("ADJ-1") == "pending"


def test_a_user_declared_only_after_the_event_date_is_unknown_on_it() -> None:
    loaded = load(_late_approval('2026-03-10 custom "adjustment-user" "zed" "manager"\n',
                                 by="zed"))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "unknown-user")]


def test_a_role_held_on_both_days_counts() -> None:
    loaded = load(_late_approval('2026-03-10 custom "adjustment-user" "bob" "manager"\n'
                                 '  limit: 100.00 USD\n'))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)


def _written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(ALLOW + text))
    return path


def test_the_writer_refuses_a_back_dated_approval_by_a_role_removed_today(
        tmp_path: Path) -> None:
    path = _written(tmp_path, '2026-03-10 custom "adjustment-user" "bob"\n'
                    + request("ADJ-1", "2026-03-01", "-50.00"))
    before = path.read_bytes()
    decision = Decision("ADJ-1", Action.APPROVE, "bob", date=datetime.date(2026, 3, 9))
    with pytest.raises(WriteRefused) as refused:
        write_decisions(path, [decision], now=NOW)
    assert "missing-role" in str(refused.value) or "needs a manager" in str(refused.value)
    assert path.read_bytes() == before


def test_a_selection_dated_back_offers_nothing_a_role_removed_today_refuses(
        tmp_path: Path) -> None:
    """`approve --all-pending --date` chooses with the rule the plugin judges by."""
    path = _written(tmp_path, '2026-03-10 custom "adjustment-user" "bob"\n'
                    + request("ADJ-1", "2026-03-01", "-50.00"))
    book = load_file(path).book
    assert book is not None
    adj = book.get("ADJ-1")
    assert adj is not None
    day, today = datetime.date(2026, 3, 9), datetime.date(2026, 3, 10)
    assert queries.may(book, adj, "bob", Action.APPROVE, day)
    assert not queries.may(book, adj, "bob", Action.APPROVE, day, written=today)


def test_a_back_dated_cancel_needs_the_reversal_chain_of_the_day_it_was_written() -> None:
    """A row in force from 03-10 makes reversals of 20 USD need a manager; a cancel
    written on 03-10 dated 03-09 must not reverse at once under the rows of 03-09."""
    text = ALLOW + request("ADJ-1", "2026-03-01", "-20.00") + """
2026-03-10 custom "adjustment-approval" "credit:*" 10.00 USD "manager"
""" + event("ADJ-1", "2026-03-09", "cancel", "alice", reason="oops", **WRITTEN_LATE)
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.adj("ADJ-1").deciding_chain == ("manager",)


def test_a_back_dated_cancel_written_before_a_row_is_removed_keeps_its_chain() -> None:
    text = ALLOW + request("ADJ-1", "2026-03-01", "-30.00") + event(
        "ADJ-1", "2026-03-02", "approve", "bob") + """
2026-03-10 custom "adjustment-approval" "credit:*" 25.00 USD
""" + event("ADJ-1", "2026-03-09", "cancel", "alice", reason="oops", **WRITTEN_LATE)
    loaded = load(text)
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.adj("ADJ-1").deciding_chain == ("manager",)


def test_a_lock_in_force_on_the_written_day_closes_a_back_dated_approval() -> None:
    loaded = load(ALLOW + request("ADJ-1", "2026-03-01", "-50.00") + """
2026-03-10 custom "adjustment-lock" 2026-03-09
  by: "carol"
""" + event("ADJ-1", "2026-03-09", "approve", "bob", **WRITTEN_LATE))
    assert code_set(loaded.errors) == {"closed-period"}
    assert balance(loaded.entries, "Income:Sales:Returns") == 0


# 2. `offset-accounts:` variants: every leg off the customer's side is judged by its
# account alone, whatever its amount, currency, price or cost says.

OFFSETS = """
2026-01-01 commodity EUR
2026-01-01 commodity STOCK
2026-01-01 open Income:Sales:Returns:Evil
2026-01-01 open Income:SALES:Returns
2026-01-01 custom "adjustment-policy" "credit:*"
  offset-accounts: "Income:Sales:Returns"
"""


def _legs(*legs: str) -> str:
    return OFFSETS + block("""
    2026-02-02 ! "cust_456" "Test" ^ADJ-1
      adjustment-type: "credit:refund"
      customer: "cust_456"
      reason: "Test"
      requested-by: "alice"
      Income:Sales:Returns  20.00 USD
      Assets:Receivable:Customers  -20.00 USD
    """) + "".join(f"  {leg}\n" for leg in legs)


def _refused(loaded: Loaded, account: str = "Assets:Bank") -> None:
    assert (loaded.line("^ADJ-1"), "offset-not-allowed") in codes(loaded.errors), loaded.errors
    assert account in next(e.message for e in loaded.errors
                           if "offset-not-allowed" in e.message)
    assert balance(loaded.entries, account) == 0
    assert balance(loaded.entries, account, "EUR") == 0
    assert loaded.state("ADJ-1") == "invalid"


def test_a_sub_account_of_an_allowed_account_is_not_allowed() -> None:
    """README: patterns as in type patterns; an account without `*` names that account
    only (`Income:Sales:Returns:*` allows those under it)."""
    _refused(load(_legs("Income:Sales:Returns:Evil  5.00 USD",
                        "Assets:Receivable:Customers  -5.00 USD")),
             "Income:Sales:Returns:Evil")


def test_an_account_differing_only_in_case_is_not_allowed() -> None:
    _refused(load(_legs("Income:SALES:Returns  5.00 USD",
                        "Assets:Receivable:Customers  -5.00 USD")), "Income:SALES:Returns")


def test_a_leg_in_a_second_currency_is_judged_too() -> None:
    _refused(load(_legs("Assets:Bank  -10.00 EUR", "Income:Sales:Returns  10.00 EUR")))


def test_a_price_annotated_leg_is_judged_by_its_account() -> None:
    _refused(load(_legs("Assets:Bank  -10.00 EUR @ 1.10 USD",
                        "Assets:Receivable:Customers  11.00 USD")))


def test_a_total_price_leg_is_judged_by_its_account() -> None:
    _refused(load(_legs("Assets:Bank  -10.00 EUR @@ 11.00 USD",
                        "Assets:Receivable:Customers  11.00 USD")))


def test_a_cost_leg_is_judged_by_its_account() -> None:
    _refused(load(_legs("Assets:Bank  -1 STOCK {11.00 USD}",
                        "Assets:Receivable:Customers  11.00 USD")))


def test_an_interpolated_leg_is_judged_by_its_account() -> None:
    _refused(load(_legs("Income:Sales:Returns  7.00 USD", "Assets:Bank")))


def test_a_zero_leg_on_an_account_not_allowed_is_refused() -> None:
    _refused(load(_legs("Assets:Bank  0.00 USD")))


def test_a_leg_on_the_receivable_root_is_the_customers_side() -> None:
    loaded = load(_legs("Assets:Receivable:Customers  -3.00 USD",
                        "Income:Sales:Returns  3.00 USD"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


# 3. The step a page showed, across lifecycles: the only state an adjustment comes back
# to is `reversing` (a reversal refused, then asked for again).


def test_an_approve_shown_for_a_refused_reversal_does_not_approve_the_next_one(
        tmp_path: Path) -> None:
    """Hole: erin's page showed the reversal alice asked for ("reversing 0/1"). bob
    rejects it, and alice asks for a reversal again, with another reason: the page's
    Approve, posting the same digest and step, approved the second reversal, which
    erin never saw (nor that the first was refused). The step names the reversal."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("ADJ-1", "2026-02-02", "-50")
                           + event("ADJ-1", "2026-02-02", "approve", "bob")
                           + event("ADJ-1", "2026-02-03", "cancel", "alice", reason="Wrong")))
    now = datetime.datetime(2026, 2, 4, 10, 0, tzinfo=datetime.UTC)
    shown = load_file(path).adj("ADJ-1")
    digest, step = shown.digest, step_shown(shown)
    assert step == "reversing 0/1"
    write_decisions(path, [Decision("ADJ-1", Action.REJECT, "bob", reason="Keep it")], now=now)
    write_decisions(path, [Decision("ADJ-1", Action.CANCEL, "alice", reason="Other")], now=now)
    again = load_file(path).adj("ADJ-1")
    assert str(again.state) == "reversing"
    assert step_shown(again) != step
    before = path.read_bytes()
    with pytest.raises(WriteRefused) as refused:
        write_decisions(path, [Decision("ADJ-1", Action.APPROVE, "erin", seen_digest=digest,
                                        seen_step=step)], now=now)
    assert "moved on since it was shown" in str(refused.value)
    assert path.read_bytes() == before
    write_decisions(path, [Decision("ADJ-1", Action.APPROVE, "erin", seen_digest=digest,
                                    seen_step=step_shown(again))], now=now)
    assert load_file(path).state("ADJ-1") == "reversed"


def test_a_request_re_filed_under_its_id_does_not_keep_an_old_approval() -> None:
    """erin's approval (level 1 of 2, with the digest a tool writes) of ADJ-1; the
    request rejected, then its line edited into another filed under the same id: the
    approval is stale (the digest covers the date and every field), it fills no level."""
    first = request("ADJ-1", "2026-02-02", "-1500")
    approval = decided(first, "ADJ-1", "2026-02-03", "approve", "erin")
    refiled = request("ADJ-1", "2026-02-02", "-1500", reason="Refiled")
    loaded = load(refiled + approval + event("ADJ-1", "2026-02-04", "approve", "carol"))
    assert loaded.state("ADJ-1") == "pending"
    assert [r.stale for r in loaded.adj("ADJ-1").history][:1] == [True]
    assert balance(loaded.entries, "Income:Sales:Returns") == 0


# 4. Segregation: one person, one level, whatever names they approve under.

ALIASES = """
2026-01-01 custom "adjustment-user" "Erin" "finance"
2026-01-01 custom "adjustment-user" "robert" "finance"
  git: "ERIN@example.com"
2026-01-01 custom "adjustment-user" "gina" "agent"
  email: "gina@example.com"
2026-01-01 custom "adjustment-user" "gee" "manager"
  email: "Gina@Example.com"
2026-01-01 custom "adjustment-user" "Frank" "manager"
"""


def _two_levels(second: str) -> Loaded:
    return load(ALIASES + request("ADJ-1", "2026-02-02", "-1500")
                + event("ADJ-1", "2026-02-03", "approve", "erin")
                + event("ADJ-1", "2026-02-03", "approve", second))


def test_a_name_differing_only_in_case_does_not_fill_a_second_level() -> None:
    """"erin" and "Erin" (a `lookalike-user` warning, kept a warning) read as one
    person on every page: they may not both approve one request."""
    loaded = _two_levels("Erin")
    assert codes(loaded.errors) == [(loaded.line('"approve"', 1), "same-approver")]
    assert '"Erin" reads as "erin"' in loaded.errors[0].message
    assert loaded.state("ADJ-1") == "pending"
    assert balance(loaded.entries, "Income:Sales:Returns") == 0


def test_a_user_sharing_an_approvers_git_e_mail_does_not_fill_a_second_level() -> None:
    loaded = _two_levels("robert")
    assert codes(loaded.errors) == [(loaded.line('"approve"', 1), "same-approver")]
    assert "ERIN@example.com" in loaded.errors[0].message
    assert loaded.state("ADJ-1") == "pending"


def test_two_different_people_fill_two_levels() -> None:
    loaded = _two_levels("carol")
    assert code_set(loaded.errors) <= {"lookalike-user"}
    assert loaded.state("ADJ-1") == "applied"


def test_a_requester_does_not_approve_under_a_second_name_with_their_e_mail() -> None:
    loaded = load(ALIASES + request("ADJ-1", "2026-02-02", "-50", by="gina")
                  + event("ADJ-1", "2026-02-03", "approve", "gee"))
    assert codes(loaded.errors) == [(loaded.line('"approve"'), "self-approval")]
    assert loaded.state("ADJ-1") == "pending"


def test_who_entered_a_request_does_not_approve_it_under_a_look_alike_name() -> None:
    loaded = load(ALIASES + request("ADJ-1", "2026-02-02", "-50", extra='entered-by: "frank"')
                  + event("ADJ-1", "2026-02-03", "approve", "Frank"))
    assert (loaded.line('"approve"'), "self-approval") in codes(loaded.errors)
    assert loaded.state("ADJ-1") == "pending"


def test_the_canceller_does_not_approve_the_reversal_under_a_second_name() -> None:
    loaded = load(ALIASES + """
2026-01-01 custom "adjustment-user" "Bob" "manager"
""" + request("ADJ-1", "2026-02-02", "-50") + event("ADJ-1", "2026-02-02", "approve", "erin")
                  + event("ADJ-1", "2026-02-03", "cancel", "bob", reason="Wrong")
                  + event("ADJ-1", "2026-02-04", "approve", "Bob"))
    assert (loaded.line('"approve"', 1), "self-approval") in codes(loaded.errors)
    assert loaded.state("ADJ-1") == "reversing"


def test_an_approver_does_not_approve_their_own_reversal_request_as_requester() -> None:
    loaded = load(request("ADJ-1", "2026-02-02", "-50") + event("ADJ-1", "2026-02-02",
                                                                 "approve", "bob")
                  + event("ADJ-1", "2026-02-03", "cancel", "erin", reason="Wrong")
                  + event("ADJ-1", "2026-02-04", "approve", "alice"))
    assert codes(loaded.errors) == [(loaded.line('"approve"', 1), "self-approval")]
    assert loaded.state("ADJ-1") == "reversing"


# 5. Forged effects seen from the pages: a transaction with the request's link, its
# `#adjustment` tag and the plugin's metadata (`forged-effect`), even with a
# `filename:`/`lineno:` written to pass for the plugin's own.

FORGED = request("ADJ-1", "2026-02-02", "-50") + block("""
    2026-02-03 * "cust_456" "Refund" ^ADJ-1 #adjustment
      adjustment-id: "ADJ-1"
      adjustment-state: "applied"
      customer: "cust_456"
      filename: "<string>"
      lineno: LINE
      Income:Sales:Returns  500.00 USD
      Assets:Receivable:Customers  -500.00 USD
    """) + event("ADJ-1", "2026-02-03", "approve", "bob")


def _forged() -> Loaded:
    return load(FORGED.replace("LINE", str(line_in(ledger(FORGED), '"approve"'))))


def _own(loaded: Loaded) -> data.Transaction:
    (own,) = [e for e in loaded.tagged("adjustment", "ADJ-1")
              if e.postings[0].units is not None and e.postings[0].units.number == 50]
    return own


def test_the_forgery_is_an_error_and_the_book_holds_the_plugins_own_effect() -> None:
    loaded = _forged()
    assert "forged-effect" in code_set(loaded.errors)
    assert loaded.state("ADJ-1") == "applied"


def test_the_detail_page_links_the_plugins_own_entry_not_a_forgery() -> None:
    loaded = _forged()
    booked, reversal = journal_hashes(loaded.entries, loaded.adj("ADJ-1"))
    assert booked == compare.hash_entry(_own(loaded))
    assert reversal is None


def test_a_forgery_alone_is_linked_as_nothing() -> None:
    """A pending request and a forged effect on its day: no booked entry to link."""
    loaded = load(FORGED.replace("LINE", "1").replace(
        event("ADJ-1", "2026-02-03", "approve", "bob"), ""))
    assert loaded.state("ADJ-1") == "pending"
    assert journal_hashes(loaded.entries, loaded.adj("ADJ-1")) == (None, None)


def test_the_statement_does_not_show_a_forgery_as_the_adjustment() -> None:
    """It moves the receivable, so the statement shows it, as the ledger holds it:
    a plain payment, not as ADJ-1 (the approved credit of 50)."""
    loaded = _forged()
    assert loaded.book is not None
    shown = statement(loaded.entries, loaded.book, "cust_456", datetime.date(2026, 2, 1),
                      datetime.date(2026, 2, 28))
    lines = [line for section in shown.sections for line in section.lines]
    adjustments = [(line.kind, line.amount) for line in lines if line.reference == "ADJ-1"]
    assert adjustments == [("adjustment", -50)]
    assert ("payment", -500) in [(line.kind, line.amount) for line in lines]


def test_show_lists_the_plugins_own_entries_only(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(FORGED.replace("LINE", str(line_in(ledger(FORGED), '"approve"')))))
    shown = CliRunner().invoke(main, ["show", "-f", str(path), "ADJ-1", "--json"])
    assert shown.exit_code == 0, shown.output
    generated = json.loads(shown.output)["generated"]
    assert len(generated) == 1
    assert "500" not in generated[0]
