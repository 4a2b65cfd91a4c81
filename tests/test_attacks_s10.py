"""Tenth round of attacks on the controls (issue 11): lifecycle edges, amounts,
effective-dated policy, the tools' spellings, seals.

Each test is one way tried to move money without the approvals the policy asks
for, or to rewrite the past unnoticed, with `bean-check` clean; it asserts that
the control holds. A test whose docstring says "Hole:" failed on the code it was
written against (the fix is named in the commit that added it); the others held
and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from repos import Repo, assert_intact, check, findings
from sample_ledgers import OWN_ACCOUNTS

from beancount_adjustments.core.models import Action
from beancount_adjustments.core.permissions import denial
from ledgers import BASE, as_written, block, decided, event, load, load_file, request

# -- what a request moves, priced ----------------------------------------------------------

PRICED = block("""
    2026-01-01 open Expenses:Consulting
    2026-02-01 price EUR 1.10 USD
""")
HIDDEN_EUR = block("""
    2026-03-01 ! "cust_456" "Small refund" ^ADJ-1
      adjustment-type: "credit:refund"
      customer: "cust_456"
      reason: "Small refund"
      requested-by: "alice"
      Income:Sales:Returns          10.00 USD
      Assets:Receivable:Customers  -10.00 USD
      Assets:Bank                  -4000.00 EUR
      Expenses:Consulting           4000.00 EUR
""")
CHEAP_EUR = "2026-02-15 price EUR 0.2475 USD\n"
"""Dated before the request: the 4,000 EUR legs become 990 USD, the request 1,000 USD."""


def booked(loaded: object, adj_id: str) -> bool:
    return bool(loaded.tagged("adjustment", adj_id))  # type: ignore[attr-defined]


def test_a_price_added_later_cannot_bring_other_legs_under_a_limit() -> None:
    """Hole: a 10 USD credit moving 4,000 EUR (4,410 USD) besides needs manager and
    finance, and bob's 1,000 USD limit is too low for it. A EUR price added later,
    dated before the request, made it 1,000 USD: the same chain, so nothing went
    stale, and bob's approval counted. What a price converted the other legs to is
    now what the request was judged at (`judged:`), so the request, and approvals
    given before the price, go stale."""
    text = as_written(PRICED + HIDDEN_EUR, "ADJ-1")
    adj = load(text).adj("ADJ-1")
    assert adj.chain == ("manager", "finance")
    assert adj.judged is not None
    assert adj.judged.number == 4410
    loaded = load(text + CHEAP_EUR)
    assert (loaded.line("^ADJ-1"), "stale-price") in loaded.codes
    # Approved by erin and carol at 4,410 USD; the price added afterwards.
    approved = PRICED + HIDDEN_EUR
    approved += decided(approved, "ADJ-1", "2026-03-02", "approve", "erin")
    approved += decided(approved, "ADJ-1", "2026-03-03", "approve", "carol")
    assert booked(load(approved), "ADJ-1")
    loaded = load(approved + CHEAP_EUR)
    assert (loaded.line('"ADJ-1" "approve"', 1), "stale-approval") in loaded.codes
    assert not booked(loaded, "ADJ-1")


IMPLICIT_PRICES = 'plugin "beancount.plugins.implicit_prices"\n'


def test_a_requests_own_price_annotations_never_judge_it() -> None:
    """Hole: with Beancount's `implicit_prices` plugin on (before this one), a 10 USD
    credit moving 1,000,000 EUR out of the bank `@ 0.000001 USD` made its own price
    directive: judged at 11 USD and applied on arrival. The prices it implies are
    its own word, not the ledger's: no price converts EUR, nothing is booked."""
    legs = ("  Assets:Bank                  -1000000.00 EUR @ 0.000001 USD\n"
            "  Expenses:Consulting           1000000.00 EUR @ 0.000001 USD\n")
    request_text = HIDDEN_EUR.replace("  Assets:Bank                  -4000.00 EUR\n"
                                      "  Expenses:Consulting           4000.00 EUR\n", legs)
    accounts = "2026-01-01 open Expenses:Consulting\n"
    loaded = load(IMPLICIT_PRICES + BASE + accounts + request_text, base=False)
    assert (loaded.line("^ADJ-1"), "missing-price") in loaded.codes
    assert not booked(loaded, "ADJ-1")
    assert loaded.balance("Assets:Bank", "EUR") == 0
    # Legs at cost make the same prices (`from_cost`): the same answer.
    at_cost = request_text.replace("EUR @ 0.000001 USD", "EUR {0.000001 USD}")
    loaded = load(IMPLICIT_PRICES + BASE + accounts + at_cost, base=False)
    assert (loaded.line("^ADJ-1"), "missing-price") in loaded.codes
    assert not booked(loaded, "ADJ-1")
    # A price implied by an ordinary transaction is the ledger's: it judges.
    bought = ('2026-02-01 * "Bought euros"\n  Assets:Bank  100.00 EUR @ 1.10 USD\n'
              '  Assets:Bank  -110.00 USD\n')
    loaded = load(IMPLICIT_PRICES + BASE + accounts + bought + request_text, base=False)
    assert loaded.adj("ADJ-1").chain == ("manager", "finance", "cfo")
    assert not booked(loaded, "ADJ-1")


# -- another customer's money ----------------------------------------------------------------


def test_a_request_cannot_move_a_sub_account_of_another_customers_account() -> None:
    """Hole: with `customer-account: Assets:Receivable:{customer}`, a 20 USD goodwill
    credit "for Ghost" (standard tier: none needed) on `Assets:Receivable:Acme:Disputes`
    was applied on arrival, lowering vip Acme's account (whose goodwill credits need a
    manager) and missing from Acme's statement. The accounts under a customer's own
    account are theirs."""
    text = (OWN_ACCOUNTS + "2026-01-01 open Assets:Receivable:Acme:Disputes\n"
            + request("ADJ-1", "2026-03-01", "-20.00", type="credit:goodwill",
                      customer="Ghost", account="Expenses:Goodwill",
                      receivable="Assets:Receivable:Acme:Disputes"))
    loaded = load(text, base=False)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "customer-account")]
    assert loaded.balance("Assets:Receivable:Acme") == 0
    own = load(text.replace('customer: "Ghost"', 'customer: "Acme"')
               .replace('"Ghost" "Test', '"Acme" "Test'), base=False)
    assert own.errors == []
    assert own.adj("ADJ-1").chain == ("manager",)


# -- effective-dated policy ----------------------------------------------------------------

WAITING = request("ADJ-1", "2026-03-01", "-50.00")
"""Filed before the policies below, decided after them."""


def test_require_at_from_a_later_date_binds_the_decisions_after_it() -> None:
    """Hole: `require-at: TRUE` from 03-05, and a hand-written approval without `at:`
    dated 03-06 of a request filed 03-01: it counted, as every decision on a request
    filed before the policy would, forever (the policy was read at the request's
    date only)."""
    policy = '2026-03-05 custom "adjustment-policy" "credit:*"\n  require-at: TRUE\n'
    loaded = load(policy + WAITING + event("ADJ-1", "2026-03-06", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "missing-at")]
    assert not booked(loaded, "ADJ-1")
    before = load(policy + WAITING + event("ADJ-1", "2026-03-04", "approve", "bob"))
    assert before.errors == []
    assert booked(before, "ADJ-1")


def test_backdate_days_tightened_later_binds_the_decisions_after_it() -> None:
    """Hole: `backdate-days: 30` until 03-05, 0 from then: an approval dated 03-06 (or
    03-02) and written on 03-20 counted for a request filed on 03-01. The policy of
    the day it was written binds it; a later loosening loosens nothing the request's
    own date was stricter about."""
    tightened = block("""
        2026-01-01 custom "adjustment-policy" "credit:*"
          backdate-days: 30
        2026-03-05 custom "adjustment-policy" "credit:*"
          backdate-days: 0
    """)
    text = tightened + WAITING
    late = decided(text, "ADJ-1", "2026-03-06", "approve", "bob", at="2026-03-20T10:00:00+00:00")
    loaded = load(text + late)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "backdated")]
    assert not booked(loaded, "ADJ-1")
    loosened = ('2026-03-05 custom "adjustment-policy" "credit:*"\n  backdate-days: 30\n'
                + WAITING)
    late = decided(loosened, "ADJ-1", "2026-03-06", "approve", "bob",
                   at="2026-03-20T10:00:00+00:00")
    assert "backdated" in load(loosened + late).code_set
    # Dated before the tightening, written after it: judged by the day it was written.
    early = decided(text, "ADJ-1", "2026-03-02", "approve", "bob", at="2026-03-20T10:00:00+00:00")
    loaded = load(text + early)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "backdated")]
    assert "at most 0 days" in loaded.errors[0].message


# -- lifecycle edges ------------------------------------------------------------------------

BIG = request("ADJ-1", "2026-03-01", "-5000.00")
"""5,000 USD: manager and finance, for the request and for its reversal."""


def test_a_reversal_once_booked_cannot_be_rejected_or_cancelled_again() -> None:
    """Held: erin and carol approve ADJ-1; alice asks for its reversal, which needs
    manager and finance too (erin, then carol). Half approved, nothing is reversed;
    after its last approval it is booked at once, so a reject or a second cancel of
    the same day is refused and the reversal stays booked, once."""
    text = BIG + decided(BIG, "ADJ-1", "2026-03-02", "approve", "erin")
    text += decided(text, "ADJ-1", "2026-03-03", "approve", "carol")
    text += event("ADJ-1", "2026-03-04", "cancel", "alice", reason="Shipped after all")
    text += decided(text, "ADJ-1", "2026-03-05", "approve", "erin")
    loaded = load(text)
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.balance("Assets:Receivable:Customers") == -5000
    text += decided(text, "ADJ-1", "2026-03-05", "approve", "carol")
    for late in (event("ADJ-1", "2026-03-05", "reject", "dave", reason="No"),
                 event("ADJ-1", "2026-03-05", "cancel", "alice", reason="Again")):
        loaded = load(text + late)
        assert loaded.state("ADJ-1") == "reversed"
        assert loaded.codes == [(loaded.line("2026-03-05 custom", 2), "invalid-transition")]
        assert loaded.balance("Assets:Receivable:Customers") == 0
        assert len(loaded.tagged("adjustment-reversal", "ADJ-1")) == 1


# -- same-day order ------------------------------------------------------------------------


def test_at_orders_a_day_across_time_zones() -> None:
    """Hole: bob (in UTC) rejects at 09:00 UTC; erin, five hours west, approves at
    08:00-05:00 (13:00 UTC), and a merge (or an earlier included file) puts her lines
    first. The stamps sorted as text, so ledger order stood: her later approval
    applied the credit and bob's earlier reject was refused. `at:` orders them as
    moments."""
    erin = decided(WAITING, "ADJ-1", "2026-03-02", "approve", "erin",
                   at="2026-03-02T08:00:00-05:00")
    bob = decided(WAITING, "ADJ-1", "2026-03-02", "reject", "bob",
                  at="2026-03-02T09:00:00+00:00", reason="Not due")
    # The same without seconds: "08:00-05:00" and "09:00+00:00" end alike.
    short = (erin.replace("08:00:00-05:00", "08:00-05:00"),
             bob.replace("09:00:00+00:00", "09:00+00:00"))
    for text in (WAITING + erin + bob, WAITING + bob + erin, WAITING + "".join(short)):
        loaded = load(text)
        assert loaded.state("ADJ-1") == "rejected"
        assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "invalid-transition")]
        assert not booked(loaded, "ADJ-1")


# -- check --since: decisions moved between files ------------------------------------------

REJECTED_2 = request("ADJ-2", "2026-03-05", "-50.00")
REJECT_2 = event("ADJ-2", "2026-03-06", "reject", "bob", reason="Not due")
APPROVE_2 = event("ADJ-2", "2026-03-06", "approve", "erin")
INCLUDE = 'include "other.beancount"\n'


def test_a_decision_moved_unchanged_to_a_later_file_is_found(tmp_path: Path) -> None:
    """At REV bob's reject comes before erin's approval of the same day (ledger order):
    ADJ-2 is rejected. Moving the reject, unchanged, into an included file (read after
    the main one) puts the approval first and applies ADJ-2: not append-only."""
    repo = Repo(tmp_path / "books")
    (repo.root / "other.beancount").write_text("")
    repo.commit(BASE + INCLUDE + REJECTED_2 + REJECT_2 + APPROVE_2)
    (repo.root / "other.beancount").write_text(REJECT_2)
    repo.write(BASE + INCLUDE + REJECTED_2 + APPROVE_2)
    assert load_file(repo.ledger).state("ADJ-2") == "applied"
    result = check(repo)
    assert result.exit_code == 1
    found = findings(result, "backdated-decision")
    assert len(found) == 1
    assert repo.at('"ADJ-2" "approve"') in found[0]


def test_a_file_of_past_decisions_renamed_is_no_rewrite(tmp_path: Path) -> None:
    """The file holding REV's decisions renamed (and staged), its include with it: the
    same decisions in the same order, so the past is intact."""
    repo = Repo(tmp_path / "books")
    (repo.root / "other.beancount").write_text(APPROVE_2.replace("erin", "bob"))
    repo.commit(BASE + INCLUDE + REJECTED_2)
    repo.git("mv", "other.beancount", "past.beancount")
    repo.write(BASE + INCLUDE.replace("other", "past") + REJECTED_2)
    repo.git("add", "-A")
    assert load_file(repo.ledger).state("ADJ-2") == "applied"
    assert_intact(check(repo))


def test_signatures_required_from_a_later_date_bind_the_approvals_after_it() -> None:
    """Hole: `signatures: "required"` for credits from 03-05; an unsigned approval
    dated 03-06 of a request filed 03-01 counted (the policy was read at the request's
    date only), and the tools offered it to who cannot sign."""
    policy = '2026-03-05 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
    text = policy + WAITING
    loaded = load(text + decided(text, "ADJ-1", "2026-03-06", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "unsigned-approval")]
    assert not booked(loaded, "ADJ-1")
    book = load(text).book
    assert book is not None
    adj, day = book.get("ADJ-1"), datetime.date(2026, 3, 6)
    assert adj is not None
    refused = denial(book.rules, adj, Action.APPROVE, "bob", day, signed=False)
    assert refused is not None
    assert refused.code == "unsigned-approval"
    assert denial(book.rules, adj, Action.APPROVE, "bob", day - datetime.timedelta(2),
                  signed=False) is None


# -- effects the plugin did not book ---------------------------------------------------------

FORGED = block("""
    2026-03-02 * "cust_456" "Refund" #adjustment ^ADJ-1
      adjustment-id: "ADJ-1"
      customer: "cust_456"
      requested-by: "alice"
      approved-by: "bob"
      Income:Sales:Returns            5000.00 USD
      Assets:Receivable:Customers    -5000.00 USD
""")


def test_a_hand_written_applied_entry_is_a_forged_effect() -> None:
    """Hole: beside ADJ-1 (50 USD, approved by bob), a plain transaction written like
    its applied entry (#adjustment, its link and `adjustment-id:`, "approved-by: bob")
    moved 5,000 USD off the customer's account with no error: the statement showed it
    as a second ADJ-1 credit and the README's queries counted it as applied."""
    text = WAITING + decided(WAITING, "ADJ-1", "2026-03-02", "approve", "bob")
    assert load(text).errors == []
    for forged in (FORGED,
                   FORGED.replace(" #adjustment", " #adjustment-reversal"),
                   FORGED.replace(" #adjustment", "").replace(
                       '  approved-by: "bob"\n', '  adjustment-state: "applied"\n')):
        loaded = load(text + forged)
        assert loaded.codes == [(loaded.line('"Refund" '), "forged-effect")]
    # A payment linked to the adjustment, with none of the marks, is bookkeeping.
    payment = FORGED.replace(" #adjustment", "").replace('  adjustment-id: "ADJ-1"\n', "")
    assert load(text + payment).errors == []


def test_a_request_written_with_the_plugins_tags_does_not_keep_them() -> None:
    """Hole: a 50 USD refund written with `#adjustment-reversal` (tags are outside the
    digest, so added after approval too) was booked with it: the customer's statement
    read "Reversal: ..." and queries for reversals counted a credit. Only the plugin
    gives its tags."""
    tagged = WAITING.replace("^ADJ-1", "#adjustment-reversal #adjustment-rejected ^ADJ-1")
    loaded = load(tagged + decided(tagged, "ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.errors == []
    assert not loaded.tagged("adjustment-reversal")
    applied = loaded.tagged("adjustment", "ADJ-1")
    assert [entry.tags for entry in applied] == [frozenset({"adjustment"})]
    requests = loaded.tagged("adjustment-request", "ADJ-1")
    assert [entry.tags for entry in requests] == [
        frozenset({"adjustment-request", "adjustment-applied"})]
    # Tags of the site's own stay on both.
    desk = WAITING.replace("^ADJ-1", "#vip-desk ^ADJ-1")
    own = load(desk + decided(desk, "ADJ-1", "2026-03-02", "approve", "bob")).tagged(
        "adjustment", "ADJ-1")
    assert own[0].tags == frozenset({"adjustment", "vip-desk"})
