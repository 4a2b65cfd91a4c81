"""Ninth round of attacks on the controls (issue 11): keys, locks, rows, statements.

Each test is one way tried to move money without the approvals the policy asks
for, or to rewrite the past unnoticed, with `bean-check` clean; it asserts that
the control holds. A test whose docstring says "Hole:" failed on the code it was
written against (the fix is named in the commit that added it); the others held
and add coverage no earlier test had.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from repos import BOOK, Repo, assert_finding, check
from signing import digests, key_lines, signed
from tool_inputs import NOW

from beancount_adjustments.beans.loading import disk_state, load_uncached, snapshot
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, write_decisions
from ledgers import TOOLS_BASE, as_written, block, decided, load, load_file, request

SIGNED = '2026-01-01 custom "adjustment-policy" "debit:*"\n  signatures: "required"\n'
FEE = request("ADJ-1", "2026-03-01", "500.00", type="debit:fee", account="Income:Fees")


def booked(loaded: object, adj_id: str) -> bool:
    return bool(loaded.tagged("adjustment", adj_id))  # type: ignore[attr-defined]


# -- signing keys --------------------------------------------------------------------------


def test_a_key_rotated_later_keeps_the_old_signatures_and_refuses_the_old_key() -> None:
    """bob rotates his key after signing: his approval signed before the rotation
    still counts; one signed with the retired key after it does not."""
    text = SIGNED + key_lines("bob") + FEE
    digest = digests(text)["ADJ-1"]
    text += signed("ADJ-1", "2026-03-02", "bob", digest)
    rotated = text + key_lines("mallory", date="2026-03-05").replace('"mallory"', '"bob"')
    assert load(rotated).state("ADJ-1") == "applied"
    second = request("ADJ-2", "2026-03-06", "500.00", type="debit:fee", account="Income:Fees")
    stale = rotated + second
    stale += signed("ADJ-2", "2026-03-07", "bob", digests(stale)["ADJ-2"])
    loaded = load(stale)
    assert loaded.state("ADJ-2") == "pending"
    assert (loaded.line('"ADJ-2" "approve"'), "bad-signature") in loaded.codes


def test_a_rotation_back_dated_before_a_booked_approval_is_an_error_there() -> None:
    """A new key for bob dated before his signed approval that booked ADJ-1: the
    approval no longer verifies, and the ledger says so at the approval (no silent
    un-booking)."""
    text = SIGNED + key_lines("bob") + FEE
    text += signed("ADJ-1", "2026-03-02", "bob", digests(text)["ADJ-1"])
    back = text + key_lines("mallory", date="2026-02-01").replace('"mallory"', '"bob"')
    loaded = load(back)
    assert not booked(loaded, "ADJ-1")
    assert (loaded.line('"ADJ-1" "approve"'), "bad-signature") in loaded.codes


def test_a_key_registered_for_one_user_cannot_sign_for_another() -> None:
    """erin's own, registered key signs an approval "by bob": it verifies as erin's,
    not bob's, so it does not count."""
    text = SIGNED + key_lines("bob", "erin") + FEE
    loaded = load(text + signed("ADJ-1", "2026-03-02", "bob", digests(text)["ADJ-1"],
                                key="erin"))
    assert loaded.state("ADJ-1") == "pending"
    assert "bad-signature" in loaded.code_set


# -- period locks --------------------------------------------------------------------------

LOCK = '2026-03-10 custom "adjustment-lock" 2026-02-28\n  by: "carol"\n'
BACKDATE = '2026-01-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 30\n'
EARLY = request("ADJ-1", "2026-02-10", "-50.00")
INSIDE = request("ADJ-1", "2026-03-05", "-50.00", extra="effective: 2026-02-15")


def test_a_lock_declared_later_leaves_what_was_booked_before_it() -> None:
    """A lock dated after ADJ-1 was booked inside the period it closes: the effect
    stands (README, Period locks), with no error."""
    text = BACKDATE + EARLY
    text += decided(text, "ADJ-1", "2026-02-12", "approve", "bob")
    loaded = load(text + LOCK)
    assert loaded.errors == []
    assert booked(loaded, "ADJ-1")


def test_a_decision_written_on_the_locks_day_in_any_zone_is_inside_it() -> None:
    """An approval dated the day before the lock but written on the lock's day, with
    the writer's offset far east or west: it is refused (`closed-period`)."""
    text = BACKDATE + INSIDE + LOCK
    for at in ("2026-03-10T00:30:00+14:00", "2026-03-10T23:30:00-12:00"):
        late = decided(text, "ADJ-1", "2026-03-09", "approve", "bob", at=at)
        loaded = load(text + late)
        assert (loaded.line('"ADJ-1" "approve"'), "closed-period") in loaded.codes, at
        assert not booked(loaded, "ADJ-1")


@pytest.mark.parametrize("at", ["2026-03-10T10:00:00+00:00", "2026-03-10T10:00:00Z"])
def test_a_decision_stamped_in_utc_on_the_locks_day_is_inside_it(at: str) -> None:
    """Hole: on a server in UTC, `approve --date` the day before the lock (backdate-days
    allows it) wrote `at: 2026-03-10T10:00:00+00:00` on the lock's day; the locks took
    the earliest day a UTC stamp can name (03-09) and booked the credit into the
    closed February. The lock now counts from the latest such day."""
    text = BACKDATE + INSIDE + LOCK
    loaded = load(text + decided(text, "ADJ-1", "2026-03-09", "approve", "bob", at=at))
    assert (loaded.line('"ADJ-1" "approve"'), "closed-period") in loaded.codes
    assert not booked(loaded, "ADJ-1")


def test_an_effective_date_inside_a_lock_is_refused_on_an_apply() -> None:
    """A billing request (apply: separate), approved, then applied after the lock with
    `effective:` inside the closed period: refused."""
    billing = request("ADJ-1", "2026-03-11", "-50.00", type="billing:invoice-correction",
                      extra='effective: 2026-02-15\ninvoice: "INV-1"')
    invoice = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n'
               '  customer: "cust_456"\n  Assets:Receivable:Customers  100.00 USD\n'
               '  Income:Sales\n')
    text = LOCK + invoice + billing
    text += decided(text, "ADJ-1", "2026-03-11", "approve", "bob")
    loaded = load(text + decided(text, "ADJ-1", "2026-03-12", "apply", "bob"))
    assert "closed-period" in loaded.code_set
    assert not booked(loaded, "ADJ-1")


# -- arrival risk flags --------------------------------------------------------------------

DUPLICATE_ROW = block("""
    2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager" "cfo"
      risk: "duplicates"
""")


def test_a_risk_row_added_later_cannot_silently_unbook_a_flagged_request() -> None:
    """Two 10 USD credits, the second a duplicate, booked automatically while no row
    used the flag (flags worked out lazily); a `risk:` row added afterwards, dated
    before them, changes the second one's chain: `stale-chain` at it, not silence."""
    first = request("ADJ-0", "2026-03-01", "-10.00")
    second = request("ADJ-1", "2026-03-02", "-10.00")
    text = as_written(as_written(first + second, "ADJ-0"), "ADJ-1")
    assert load(text).state("ADJ-1") == "applied"
    loaded = load(DUPLICATE_ROW + text)
    assert (loaded.line("^ADJ-1"), "stale-chain") in loaded.codes
    assert not booked(loaded, "ADJ-1")
    assert booked(loaded, "ADJ-0")


def test_a_duplicate_with_the_reason_retyped_is_still_a_duplicate() -> None:
    """Hole: the same 40 USD credit filed again with the reason in other case,
    spacing and punctuation ("Late delivery" / "late delivery!") escaped the
    `duplicates` flag and its stricter row."""
    first = request("ADJ-0", "2026-03-01", "-40.00", reason="Late delivery")
    second = request("ADJ-1", "2026-03-02", "-40.00", reason="late  delivery!")
    loaded = load(DUPLICATE_ROW + first + second)
    assert loaded.adj("ADJ-1").chain == ("manager", "cfo")
    other = request("ADJ-1", "2026-03-02", "-40.00", reason="Damaged parcel")
    assert load(DUPLICATE_ROW + first + other).adj("ADJ-1").chain == ("manager",)


# -- approval rows -------------------------------------------------------------------------


def test_a_catch_all_row_does_not_loosen_the_typed_rows() -> None:
    """A `*` row with no roles (approve everything) next to the `credit:*` rows: the
    longer pattern wins, so a 5,000 USD credit still needs manager and finance."""
    row = '2026-01-01 custom "adjustment-approval" "*" 0.00 USD\n'
    loaded = load(row + request("ADJ-1", "2026-03-01", "-5000.00"))
    assert loaded.adj("ADJ-1").chain == ("manager", "finance")
    assert loaded.state("ADJ-1") == "pending"


def test_a_threshold_in_a_currency_without_a_price_books_nothing() -> None:
    """A row priced in EUR with no EUR/USD price: a 50,000 USD credit cannot be
    compared to it, and it is not approved on the cheaper USD rows alone."""
    row = '2026-01-01 custom "adjustment-approval" "credit:refund" 100.00 EUR "cfo"\n'
    loaded = load(row + request("ADJ-1", "2026-03-01", "-50000.00"))
    assert not booked(loaded, "ADJ-1")
    assert loaded.state("ADJ-1") != "applied"


def test_a_request_before_its_types_declaration_is_an_unknown_type() -> None:
    """A site type declared on 2026-06-01 and a row for it: a request of that type
    dated before the declaration is `unknown-type` and books nothing."""
    site = ('2026-06-01 custom "adjustment-type" "credit:courtesy"\n'
            '2026-06-01 custom "adjustment-approval" "credit:courtesy" 0.00 USD\n')
    loaded = load(site + request("ADJ-1", "2026-03-01", "-10.00", type="credit:courtesy"))
    assert "unknown-type" in loaded.code_set
    assert not booked(loaded, "ADJ-1")
    later = load(site + request("ADJ-1", "2026-06-02", "-10.00", type="credit:courtesy"))
    assert later.errors == []
    assert booked(later, "ADJ-1")


# -- money off the receivable --------------------------------------------------------------


def test_a_request_that_never_touches_the_receivable_books_nothing() -> None:
    """A "credit" for cust_456 paid straight out of the bank, no receivable leg: it
    moves nothing the customer owes, so it is `no-customer-effect` and books nothing
    (not an automatic approval of an amount of zero)."""
    loaded = load(request("ADJ-1", "2026-03-01", "-5000.00", receivable="Assets:Bank"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "no-customer-effect")]
    assert not booked(loaded, "ADJ-1")
    assert not loaded.tagged("adjustment")


CREDIT = """
2024-03-05 ! "cust_123" "Damaged item" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD
"""


# -- the writer going on from Fava's load --------------------------------------------------


def test_an_edit_keeping_size_and_mtime_makes_the_writer_load_afresh(tmp_path: Path) -> None:
    """The requester raises her pending credit from 50.00 to 90.00 USD by hand (the same
    size) and puts the file's mtime back: the writer's reuse of Fava's load compares
    the files' bytes (SHA-256), so bob's approval is judged against the 90 USD credit,
    not the 50 USD one he was shown."""
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE + CREDIT, encoding="utf-8")
    before = disk_state(load_uncached(path)[2], includes_too=False)
    snap = snapshot(*load_uncached(path), before)
    assert snap is not None
    stat = path.stat()
    path.write_text(path.read_text().replace("50.00 USD", "90.00 USD"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    result = write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="bob")],
                             partial=True, now=NOW, loaded=snap)
    assert result.full_load == f"{path} changed since it was loaded"
    assert load_file(path).adj("ADJ-1").amount.number == Decimal("90.00")


# -- check --since: site declarations and risk settings added back-dated -------------------


@pytest.mark.parametrize("added", [
    # A site type, declared "since January", with a row approving it automatically.
    '\n2026-01-01 custom "adjustment-type" "credit:courtesy"\n',
    # The duplicates check turned off "since January".
    '\n2026-01-01 custom "adjustment-risk" "duplicates"\n  enabled: FALSE\n',
    # A risk row making every flagged credit need the CFO "since February".
    '\n2026-02-01 custom "adjustment-approval" "credit:*" 0.00 USD "cfo"\n'
    '  risk: "duplicates"\n',
])
def test_a_declaration_or_risk_setting_dated_before_revs_decisions_is_found(
        tmp_path: Path, added: str) -> None:
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK)
    repo.write(BOOK + added)
    assert_finding(check(repo), "backdated-directive", repo.at(added.strip().splitlines()[0]))


SPLITTING_ROW = block("""
    2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager" "cfo"
      risk: "splitting"
    2026-01-01 price EUR 1.10 USD
""")


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_credits_split_in_another_currency_than_the_rows_are_splitting(currency: str) -> None:
    """Hole: two 20 EUR credits (22 USD each, under the 25 USD threshold, 44 USD
    together) by one requester for one customer were never weighed against the USD
    thresholds (the window kept only rows in the request's currency): applied on
    arrival. As for USD, the second is flagged and needs the `risk:` row's chain."""
    text = (SPLITTING_ROW
            + request("ADJ-1", "2026-03-01", "-20.00", currency=currency, reason="One")
            + request("ADJ-2", "2026-03-02", "-20.00", currency=currency, reason="Two"))
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-2").chain == ("manager", "cfo")
    assert loaded.state("ADJ-2") == "pending"
