"""Attacks on the controls: each test is one way tried to get money out without
the approvals the policy asks for, or to rewrite the past unnoticed, with
`bean-check` clean (or `check --since` saying the past is intact).

Every test here failed on the code it was written against; the fix is named
in the commit that added it.
"""

from __future__ import annotations

import datetime

import pytest
from beancount import loader
from repos import BOOK, REQUEST_2, Repo, assert_finding, assert_intact, check

import beancount_adjustments
from beancount_adjustments.core import signatures
from ledgers import BASE, block, decided, load

# -- what a request moves: every currency it moves counts --------------------------------

EUR_ACCOUNTS = block("""
    2026-01-01 open Expenses:Consulting
    2026-02-01 price EUR 1.10 USD
""")


def _hidden_pair(amount: str, price: str = "") -> str:
    """A 10 USD credit that also moves `amount` EUR out of the bank."""
    return block(f"""
        2026-03-01 ! "cust_456" "Small refund" ^ADJ-1
          adjustment-type: "credit:refund"
          customer: "cust_456"
          reason: "Small refund"
          requested-by: "alice"
          Income:Sales:Returns          10.00 USD
          Assets:Receivable:Customers  -10.00 USD
          Assets:Bank                  -{amount} EUR{price}
          Expenses:Consulting           {amount} EUR{price}
    """)


@pytest.mark.parametrize(("ledger", "chain", "code"), [
    # 1,000,000 EUR out of the bank rode along a 10 USD credit, approved automatically.
    (EUR_ACCOUNTS + _hidden_pair("1000000.00"), ("manager", "finance", "cfo"), None),
    # A price annotation on the legs does not make them small: weights cancel anyway.
    (EUR_ACCOUNTS + _hidden_pair("1000000.00", " @ 0.000001 USD"),
     ("manager", "finance", "cfo"), None),
    # Below the first threshold once converted: still automatic.
    (EUR_ACCOUNTS + _hidden_pair("5.00"), (), None),
    # No price for the other currency: never guessed, nothing is booked.
    (block("2026-01-01 open Expenses:Consulting\n") + _hidden_pair("1000000.00"), None,
     "missing-price"),
])
def test_legs_in_another_currency_are_judged(ledger: str, chain: tuple[str, ...] | None,
                                             code: str | None) -> None:
    loaded = load(ledger)
    if code is not None:
        assert code in loaded.code_set
        assert not loaded.tagged("adjustment", "ADJ-1")
        assert loaded.balance("Assets:Bank", "EUR") == 0
        return
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.chain == chain
    if chain:
        assert loaded.state("ADJ-1") == "pending"
        assert loaded.balance("Assets:Bank", "EUR") == 0


# -- check --since: nothing new is inserted before what REV decided --------------------

LOCKED = """
2026-04-05 custom "adjustment-lock" 2026-03-31
  by: "carol"

2026-04-01 ! "cust_456" "Other" ^ADJ-9
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Other refund"
  requested-by: "alice"
  Income:Sales:Returns            30.00 USD
  Assets:Receivable:Customers    -30.00 USD

2026-04-06 custom "adjustment" "ADJ-9" "approve"
  by: "bob"
"""

SMALL_MARCH = """
2026-03-10 ! "cust_456" "Quiet" ^ADJ-7
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Below every threshold"
  requested-by: "alice"
  Income:Sales:Returns            20.00 USD
  Assets:Receivable:Customers    -20.00 USD
"""


@pytest.mark.parametrize(("added", "marker"), [
    # ADJ-2 was pending at REV; an approval dated before the lock (declared after it,
    # at REV) books 40 USD into the closed March, with no `at:` so the plugin lets it.
    ('\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n', '"ADJ-2" "approve"'),
    # The same with an `at:` claiming it was written back then.
    ('\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
     '  at: "2026-03-06T10:00:00+01:00"\n', '"ADJ-2" "approve"'),
    # A new request below every threshold, dated in the closed month: applied on arrival.
    (SMALL_MARCH, "^ADJ-7"),
    # ADJ-10, pending at REV, edited below every threshold and into the closed month.
    (SMALL_MARCH.replace("ADJ-7", "ADJ-10"), "^ADJ-10"),
])
def test_new_entries_dated_before_revs_decisions_are_found(tmp_path, added: str,
                                                           marker: str) -> None:
    repo = Repo(tmp_path / "books")
    pending = SMALL_MARCH.replace("ADJ-7", "ADJ-10").replace("2026-03-10", "2026-04-10") \
        .replace("20.00 USD", "200.00 USD")
    repo.commit(BASE + REQUEST_2 + LOCKED + pending)
    repo.write(BASE + REQUEST_2 + LOCKED + (pending if "ADJ-10" not in added else "") + added)
    assert_finding(check(repo), "backdated-decision", repo.at(marker))


def test_a_new_entry_inside_a_period_locked_at_rev_is_found(tmp_path) -> None:
    """Dated after REV's last decision yet before the lock REV held was declared,
    with no `at:`: the plugin takes it as decided before the lock."""
    repo = Repo(tmp_path / "books")
    lock = '\n2026-04-05 custom "adjustment-lock" 2026-03-31\n  by: "carol"\n'
    repo.commit(BASE + REQUEST_2 + lock)
    repo.write(BASE + REQUEST_2 + lock
               + '\n2026-03-20 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n')
    line = assert_finding(check(repo), "backdated-decision", repo.at('"ADJ-2" "approve"'))
    assert "closed through 2026-03-31" in line


def test_new_entries_written_after_revs_decisions_are_appends(tmp_path) -> None:
    repo = Repo(tmp_path / "books")
    repo.commit(BASE + REQUEST_2 + LOCKED)
    repo.write(BASE + REQUEST_2 + LOCKED + SMALL_MARCH.replace("2026-03-10", "2026-04-07")
               + '\n2026-04-08 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n')
    assert_intact(check(repo))


# -- check --since: a key registered back then signs for its user ----------------------


def test_a_backdated_key_is_found(tmp_path) -> None:
    """Mallory registers her own key for bob, dated with bob's: bob's old signatures
    still verify, and so do hers "by bob" (keys of one day: any of them)."""
    bob, mallory = signatures.generate_private_key(), signatures.generate_private_key()
    policy = ('\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n'
              '  signatures: "required"\n'
              f'2026-01-01 custom "adjustment-key" "bob" "{signatures.public_b64(bob)}"\n')
    at_rev = BOOK + policy + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    _, _, options = loader.load_string(at_rev)
    book = beancount_adjustments.book_of(options)
    assert book is not None
    digest = book.adjustments["ADJ-2"].digest
    forged = signatures.sign_with(mallory, "ADJ-2", "approve", "bob",
                                  datetime.date(2026, 3, 6), digest,
                                  recorded=signatures.Recorded(at="2026-03-06T10:00:00+01:00"))
    now = at_rev.replace(
        policy, policy + f'2026-01-01 custom "adjustment-key" "bob" '
                         f'"{signatures.public_b64(mallory)}"\n') + (
        f'\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
        f'  at: "2026-03-06T10:00:00+01:00"\n  digest: "{digest}"\n  signature: "{forged}"\n')
    repo.write(now)
    assert_finding(check(repo), "backdated-directive", repo.at(signatures.public_b64(mallory)))


# -- an approval binds the prices and costs it books -------------------------------------

PRICED = block("""
    2026-01-01 open Expenses:Consulting
    2026-02-01 price EUR 1.10 USD
    2026-03-01 ! "cust_456" "Priced" ^ADJ-1
      adjustment-type: "credit:refund"
      customer: "cust_456"
      reason: "Priced refund"
      requested-by: "alice"
      Income:Sales:Returns          5.00 EUR @ 2 USD
      Expenses:Consulting           5.00 EUR @ 8 USD
      Assets:Receivable:Customers -50.00 USD
""")


@pytest.mark.parametrize("edit", [
    # Both prices moved, the weights still balance: the same units, other bookings.
    lambda text: text.replace("@ 2 USD", "@ 9 USD").replace("@ 8 USD", "@ 1 USD"),
    # A cost instead of a price on one leg, the same weight.
    lambda text: text.replace("5.00 EUR @ 8 USD", "5.00 EUR {8 USD}"),
])
def test_an_approval_binds_the_prices_on_the_postings(edit) -> None:
    approved = PRICED + decided(PRICED, "ADJ-1", "2026-03-02", "approve", "bob")
    assert load(approved).state("ADJ-1") == "applied"
    loaded = load(edit(approved))
    assert "stale-approval" in loaded.code_set
    assert not loaded.tagged("adjustment", "ADJ-1")


def test_a_v2_digest_of_a_priced_request_written_before_v3_still_counts() -> None:
    from beancount_adjustments.core import digest
    approved = PRICED + decided(PRICED, "ADJ-1", "2026-03-02", "approve", "bob")
    request = load(approved).adj("ADJ-1").request
    written = load(approved).adj("ADJ-1").digest
    assert written.startswith("v3-")
    older = approved.replace(written, digest.request_digest(request._replace(annotations=())))
    loaded = load(older)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
