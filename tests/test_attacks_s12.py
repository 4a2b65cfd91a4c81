"""Twelfth round of attacks on the controls (issue 11): what an apply may change,
policy tightened while a request waits, seals, customer notices.

Each test is one way tried to move money without the approvals the policy asks
for, or to rewrite the past unnoticed, with `bean-check` clean; it asserts that
the control holds. A test whose docstring says "Hole:" failed on the code it was
written against (the fix is named in the commit that added it); the others held
and add coverage no earlier test had.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest
from signing import seal

from beancount_adjustments.beans.notify_lines import parse_customer_notices
from beancount_adjustments.core import seals
from beancount_adjustments.core.models import Action
from beancount_adjustments.core.permissions import denial
from beancount_adjustments.notify.customers import customer_notices
from beancount_adjustments.notify.notices import notices as notices_for
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import BACKDATING, BASE, block, decided, event, ledger, load, load_file, request


def booked(loaded: object, adj_id: str) -> bool:
    return bool(loaded.tagged("adjustment", adj_id))  # type: ignore[attr-defined]


def booked_on(loaded: object, adj_id: str) -> list[str]:
    return [str(entry.date) for entry in loaded.tagged("adjustment", adj_id)]  # type: ignore[attr-defined]


# -- what an apply may change ----------------------------------------------------------------

SEPARATE = '2026-01-01 custom "adjustment-policy" "credit:*"\n  apply: "separate"\n'
DATED = request("ADJ-1", "2026-03-01", "-50.00", extra="effective: 2026-03-20")
"""50 USD, to be booked on 03-20: what bob approves (the digest covers it)."""


def test_an_apply_cannot_move_the_booking_date_that_was_approved() -> None:
    """Hole: ADJ-1 asks to be booked on 03-20 and bob approved exactly that (`effective:`
    is in the digest). Alice, its requester (an agent: a role, so she may apply), applied
    it with `effective: 2026-03-02`: booked on 03-02, another date than the one approved.
    An event's `effective:` may only move a request's own date out of a closed period."""
    text = SEPARATE + DATED
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    assert load(text).state("ADJ-1") == "approved"
    for by in ("alice", "carol"):
        moved = decided(text, "ADJ-1", "2026-03-03", "apply", by) + "  effective: 2026-03-02\n"
        loaded = load(text + moved)
        assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "effective-differs")]
        assert not booked(loaded, "ADJ-1")
        assert loaded.state("ADJ-1") == "approved"
    # The same date, or none, books it as approved.
    same = decided(text, "ADJ-1", "2026-03-03", "apply", "alice") + "  effective: 2026-03-20\n"
    for apply in (same, decided(text, "ADJ-1", "2026-03-03", "apply", "alice")):
        loaded = load(text + apply)
        assert loaded.errors == []
        assert booked_on(loaded, "ADJ-1") == ["2026-03-20"]


def test_the_last_approval_cannot_move_the_booking_date_either() -> None:
    """Hole: a 5,000 USD credit to be booked on 03-20, approved by erin; carol's final
    approval carried `effective: 2026-03-02` and booked it then. Refused like a lock:
    the approval counts, nothing is booked until an apply books it as approved."""
    big = request("ADJ-1", "2026-03-01", "-5000.00", extra="effective: 2026-03-20")
    text = big + decided(big, "ADJ-1", "2026-03-02", "approve", "erin")
    moved = decided(text, "ADJ-1", "2026-03-03", "approve", "carol") + "  effective: 2026-03-02\n"
    loaded = load(text + moved)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"', 1), "effective-differs")]
    assert not booked(loaded, "ADJ-1")
    assert loaded.state("ADJ-1") == "approved"


def test_an_apply_may_move_an_approved_date_out_of_a_closed_period() -> None:
    """Held: the documented way out of a lock. The date approved (03-20) was closed on
    03-25 before anyone applied; an apply dated after the lock books it."""
    lock = '2026-03-25 custom "adjustment-lock" 2026-03-24\n  by: "carol"\n'
    text = SEPARATE + DATED
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob") + lock
    late = decided(text, "ADJ-1", "2026-03-26", "apply", "carol")
    loaded = load(text + late)
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "closed-period")]
    loaded = load(text + late + "  effective: 2026-03-26\n")
    assert loaded.errors == []
    assert booked_on(loaded, "ADJ-1") == ["2026-03-26"]
    # Into the closed period: still a lock.
    loaded = load(text + late + "  effective: 2026-03-10\n")
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "closed-period")]


# -- a policy tightened while a request waits ----------------------------------------------

WAITING = request("ADJ-1", "2026-03-01", "-50.00")
"""Filed before the policies below (a manager approves it), decided after them."""
LATER_SEPARATE = '2026-03-05 custom "adjustment-policy" "credit:*"\n  apply: "separate"\n'
LATER_HOLD = '2026-03-05 custom "adjustment-policy" "credit:*"\n  hold-until-billed: TRUE\n'
INVOICE = block("""
    2026-03-08 * "cust_456" "March invoice"
      invoice-id: "INV-3"
      customer: "cust_456"
      Assets:Receivable:Customers   80.00 USD
      Income:Sales
""")


def test_apply_separate_from_a_later_date_binds_the_approvals_after_it() -> None:
    """Hole: `apply: "separate"` for credits from 03-05; bob's approval of 03-06 of a
    request filed on 03-01 booked it at once (the policy was read at the request's date
    only). Now it waits for an apply, which the book says (the tools offer it)."""
    text = LATER_SEPARATE + WAITING
    text += decided(text, "ADJ-1", "2026-03-06", "approve", "bob")
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "approved"
    assert not booked(loaded, "ADJ-1")
    assert loaded.adj("ADJ-1").separate_apply
    loaded = load(text + decided(text, "ADJ-1", "2026-03-07", "apply", "bob"))
    assert loaded.errors == []
    assert booked_on(loaded, "ADJ-1") == ["2026-03-07"]
    # Approved before the policy: booked at once, as before.
    early = LATER_SEPARATE + WAITING
    loaded = load(early + decided(early, "ADJ-1", "2026-03-04", "approve", "bob"))
    assert booked_on(loaded, "ADJ-1") == ["2026-03-04"]


def test_apply_on_approval_from_a_later_date_loosens_nothing_booked_or_pending() -> None:
    """Held: a request filed under `apply: "separate"`, loosened to "on-approval" on
    03-05: its approval of 03-06 still waits for an apply, and one applied before
    the loosening stays booked where it was."""
    loosened = (SEPARATE + '2026-03-05 custom "adjustment-policy" "credit:*"\n'
                '  apply: "on-approval"\n')
    text = loosened + WAITING
    text += decided(text, "ADJ-1", "2026-03-06", "approve", "bob")
    loaded = load(text)
    assert loaded.state("ADJ-1") == "approved"
    assert not booked(loaded, "ADJ-1")
    before = SEPARATE + WAITING
    before += decided(before, "ADJ-1", "2026-03-02", "approve", "bob")
    before += decided(before, "ADJ-1", "2026-03-03", "apply", "bob")
    assert booked_on(load(before), "ADJ-1") == ["2026-03-03"]
    loaded = load(before.replace(SEPARATE, loosened))
    assert loaded.errors == []
    assert booked_on(loaded, "ADJ-1") == ["2026-03-03"]


def test_hold_until_billed_from_a_later_date_binds_the_apply_after_it() -> None:
    """Hole: `hold-until-billed: TRUE` for credits from 03-05. A request filed on 03-01
    under `apply: "separate"` and approved on 03-02 was applied on 03-06 with no
    invoice since (the hold was read at the request's date only); approved on 03-06,
    one filed on 03-01 was booked at once. Both now wait for the customer's next bill,
    in the replay and in the tools' answer (`denial`)."""
    text = SEPARATE + LATER_HOLD + WAITING
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    loaded = load(text + decided(text, "ADJ-1", "2026-03-06", "apply", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]
    assert not booked(loaded, "ADJ-1")
    book = load(text).book
    assert book is not None
    adj = book.get("ADJ-1")
    assert adj is not None
    refused = denial(book.rules, adj, Action.APPLY, "bob", datetime.date(2026, 3, 6))
    assert refused is not None
    assert refused.code == "held-until-billed"
    billed = text + INVOICE
    loaded = load(billed + decided(billed, "ADJ-1", "2026-03-09", "apply", "bob"))
    assert loaded.errors == []
    assert booked_on(loaded, "ADJ-1") == ["2026-03-09"]
    # Approved after the hold came in force: it waits rather than being booked.
    text = LATER_HOLD + WAITING
    text += decided(text, "ADJ-1", "2026-03-06", "approve", "bob")
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "approved"
    assert not booked(loaded, "ADJ-1")
    loaded = load(text + decided(text, "ADJ-1", "2026-03-07", "apply", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]


def test_the_sign_hint_follows_a_signature_policy_from_a_later_date() -> None:
    """Hole (cosmetic): signatures required for credits from 03-05; the notice asking
    for the approval of a 5,000 USD credit filed on 03-01 and half approved on 03-06
    told its approver to approve without `--sign`, which the writer refuses."""
    big = request("ADJ-1", "2026-03-01", "-5000.00")
    policy = '2026-03-05 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
    text = policy + big
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "erin")
    book = load(text).book
    assert book is not None
    found = [n for n in notices_for(book, datetime.date(2026, 3, 6))
             if n.kind == "approval-needed" and n.recipient == "carol"]
    assert found
    assert all("--sign" in n.body for n in found)
    before = [n for n in notices_for(book, datetime.date(2026, 3, 4))
              if n.kind == "approval-needed" and n.recipient == "carol"]
    assert before
    assert not any("--sign" in n.body for n in before)


# -- seals ------------------------------------------------------------------------------------


def sealed(tmp_path: Path, text: str, date: str = "2026-03-31") -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BACKDATING + text))
    seal(path, date)
    return path


def test_declaring_a_sealed_requests_type_afterwards_breaks_the_seal(tmp_path: Path) -> None:
    """Hole: a 10 USD credit of an undeclared type (`unknown-type`: invalid, nothing
    booked) was sealed; declaring the type afterwards, dated before the request, made
    it valid, approved on arrival and booked on its sealed day, the seal intact
    (declarations were not sealed)."""
    path = sealed(tmp_path, request("ADJ-1", "2026-03-02", "-10.00", type="credit:courtesy"))
    assert load_file(path).code_set == {"unknown-type"}
    path.write_text(path.read_text()
                    + '2026-01-01 custom "adjustment-type" "credit:courtesy"\n')
    loaded = load_file(path)
    assert "seal-broken" in loaded.code_set
    assert "declared" in next(e.message for e in loaded.errors if "seal-broken" in e.message)


DUPLICATES_ROW = block("""
    2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"
      risk: "duplicates"
""")


def test_turning_off_a_risk_check_under_a_seal_breaks_it(tmp_path: Path) -> None:
    """Hole: two 10 USD credits alike, the second flagged a duplicate (a manager must
    approve it) and pending when sealed. Turning the duplicates check off, dated before
    them, booked the second on its sealed day with no approval, the seal intact (risk
    settings were not sealed). Its parameters are sealed too."""
    text = (DUPLICATES_ROW + request("D-1", "2026-03-02", "-10.00", reason="Same")
            + request("D-2", "2026-03-03", "-10.00", reason="Same"))
    path = sealed(tmp_path, text)
    loaded = load_file(path)
    assert loaded.errors == []
    assert loaded.state("D-2") == "pending"
    written = path.read_text()
    for change in ('2026-01-01 custom "adjustment-risk" "duplicates"\n  enabled: FALSE\n',
                   '2026-01-01 custom "adjustment-risk" "duplicates"\n  days: 0\n'):
        path.write_text(written.replace(DUPLICATES_ROW, DUPLICATES_ROW + change))
        assert "seal-broken" in load_file(path).code_set


def test_a_seals_by_line_is_sealed(tmp_path: Path) -> None:
    """Hole: a seal's `by:` was outside its hash: carol's seal edited to read "dave"
    (a user with a role) verified, so who vouched for the past could be changed."""
    path = sealed(tmp_path, WAITING)
    written = path.read_text()
    assert load_file(path).errors == []
    path.write_text(written.replace('  by: "carol"\n  count:', '  by: "dave"\n  count:'))
    loaded = load_file(path)
    assert loaded.codes == [(loaded.line('"adjustment-seal"'), "seal-broken")]


def test_a_version_2_seal_still_verifies_as_what_it_covered(tmp_path: Path) -> None:
    """A seal written before version 3 keeps verifying (it did not cover declarations,
    nor its `by:`); what it covered still breaks it."""
    text = ledger(BACKDATING + WAITING)
    book = load(text, base=False).book
    assert book is not None
    items = seals.sealed_items(book.facts, 2)
    old = seals.chain("", [it.hash for it in items], 2)
    written = (f'2026-03-31 custom "adjustment-seal" "{old}"\n  by: "carol"\n'
               f"  count: {len(items)}\n")
    path = tmp_path / "main.beancount"
    path.write_text(text + written)
    assert load_file(path).errors == []
    path.write_text(text + written.replace('"carol"', '"dave"'))
    assert load_file(path).errors == []
    path.write_text(text.replace('reason: "Test adjustment"', 'reason: "Other"') + written)
    assert "seal-broken" in load_file(path).code_set


def test_a_sealed_day_stays_sealed_from_another_file(tmp_path: Path) -> None:
    """Held: an approval dated on a sealed day, written in an included file (read after
    the main one), or a policy dated before the seal added there: the seal breaks."""
    path = sealed(tmp_path, WAITING)
    other = tmp_path / "other.beancount"
    path.write_text(path.read_text() + 'include "other.beancount"\n')
    for late in (event("ADJ-1", "2026-03-10", "approve", "bob"),
                 '2026-02-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 99\n'):
        other.write_text(late)
        assert "seal-broken" in load_file(path).code_set


# -- customer notices -----------------------------------------------------------------------

NOTICES = '2026-01-01 custom "adjustment-customer-notice" "credit:*" "*"\n'
HIDDEN = block("""
    2026-03-01 ! "cust_456" "Small refund" ^ADJ-1
      adjustment-type: "credit:refund"
      customer: "cust_456"
      reason: "Small refund"
      requested-by: "alice"
      Income:Sales:Returns           10.00 USD
      Assets:Receivable:Customers  -5000.00 USD
      Assets:Receivable:Customers   4990.00 USD
""")
"""Moves 5,000 USD (what is judged: manager and finance), and 10 USD off what the
customer owes (what the customer's account and statement show)."""


def customer_texts(text: str, today: str) -> list[str]:
    loaded = load(text)
    assert loaded.book is not None
    setup, wrong = parse_customer_notices(loaded.entries)
    assert wrong == []
    return [n.subject + "\n" + n.body for n in
            customer_notices(loaded.book, datetime.date.fromisoformat(today), setup)]


def test_a_customer_notice_announces_what_moved_on_the_customers_account() -> None:
    """Hole: the notices said "an adjustment of 5,000.00 USD (credit) was applied to your
    account" of a request lowering what the customer owes by 10 USD (legs that cancel
    on the receivable): a credit never booked, announced. They name the customer's own
    move, as the statement does."""
    text = NOTICES + HIDDEN
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "erin")
    text += decided(text, "ADJ-1", "2026-03-03", "approve", "carol")
    assert load(text).adj("ADJ-1").amount.number == 5000
    found = customer_texts(text, "2026-03-10")
    assert len(found) == 2  # received, applied
    assert all("10.00 USD" in t and "5,000" not in t for t in found)
    # Pending, or with its approval gone stale, nothing is announced as applied.
    assert not any("applied" in t for t in customer_texts(NOTICES + HIDDEN, "2026-03-10"))
    stale = text.replace("10.00 USD\n  Assets:Receivable:Customers  -5000.00",
                         "11.00 USD\n  Assets:Receivable:Customers  -5001.00")
    assert stale != text
    assert not any("applied to your account" in t for t in customer_texts(stale, "2026-03-10"))
    # Approved under `apply: "separate"` and not applied yet: only "received".
    waiting = SEPARATE + NOTICES + HIDDEN
    waiting += decided(waiting, "ADJ-1", "2026-03-02", "approve", "erin")
    waiting += decided(waiting, "ADJ-1", "2026-03-03", "approve", "carol")
    assert load(waiting).state("ADJ-1") == "approved"
    assert [t.splitlines()[0] for t in customer_texts(waiting, "2026-03-10")] == [
        "We received your adjustment request ADJ-1"]


def test_a_user_cannot_be_named_as_a_customer_or_role_recipient() -> None:
    """Hole: a user declared as "customer:cust_456" (a manager) was sent the staff
    notices a manager gets, routed as the customer's (their own channel, or their
    `contact:` through `customer:*`): cust_456 received cust_123's credit awaiting
    approval. "role:..." and "*" name other recipients the same way. Such a user line
    is malformed."""
    for name in ("customer:cust_456", "role:manager", "*"):
        text = (f'2026-01-01 custom "adjustment-user" "{name}" "manager"\n'
                + request("ADJ-1", "2026-03-01", "-50.00", customer="cust_123"))
        loaded = load(text)
        assert loaded.codes == [(loaded.line(f'"{name}"'), "malformed-directive")]
        book = loaded.book
        assert book is not None
        assert not any(n.recipient == name for n in notices_for(book, datetime.date(2026, 3, 2))
                       if n.kind == "approval-needed" and "(manager)" not in n.subject)


def test_a_policy_dated_after_a_seal_that_refuses_a_sealed_decision_says_so(
        tmp_path: Path) -> None:
    """Held: an approval dated 03-30 and written on 04-01 (`backdate-days: 5`), sealed
    through 03-31; a policy dated 04-01 (after the seal, so free) sets `backdate-days: 0`.
    The approval is now judged by the day it was written and un-books the credit, the
    seal intact, but not silently: it is an error at the approval."""
    policy = '2026-01-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 5\n'
    text = policy + WAITING
    text += decided(text, "ADJ-1", "2026-03-30", "approve", "bob",
                    at="2026-04-01T10:00:00+00:00")
    path = tmp_path / "main.beancount"
    path.write_text(ledger(text))
    seal(path, "2026-03-31")
    assert load_file(path).errors == []
    path.write_text(path.read_text()
                    + '2026-04-01 custom "adjustment-policy" "credit:*"\n  backdate-days: 0\n')
    loaded = load_file(path)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "backdated")]


def test_the_plugins_settings_are_sealed(tmp_path: Path) -> None:
    """Hole: with `default-tier: vip`, a 20 USD goodwill credit to a customer the ledger
    only names needs a manager (the vip row); it was pending when sealed. Setting the
    default tier to standard on the plugin line booked it on its sealed day with no
    approval, the seal intact (the plugin's settings were not sealed)."""
    base = BASE.replace('plugin "beancount_adjustments"',
                        'plugin "beancount_adjustments" "{\'default-tier\': \'vip\'}"')
    named = ('2026-02-01 * "Ghost" "Sale"\n  customer: "ghost"\n'
             "  Assets:Receivable:Customers  100 USD\n  Income:Sales\n")
    path = tmp_path / "main.beancount"
    path.write_text(base + BACKDATING + named + request(
        "ADJ-1", "2026-03-02", "-20.00", type="credit:goodwill", customer="ghost",
        account="Expenses:Goodwill"))
    seal(path, "2026-03-31")
    loaded = load_file(path)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "pending"
    path.write_text(path.read_text().replace("'vip'}", "'standard'}"))
    loaded = load_file(path)
    assert loaded.state("ADJ-1") == "applied"
    broken = [e for e in loaded.errors if "seal-broken" in e.message]
    assert len(broken) == 1
    assert "the plugin's settings" in broken[0].message


def test_the_writer_refuses_an_apply_moving_the_approved_date(tmp_path: Path) -> None:
    """Held with the fix: `apply --effective` of another date than the request's own is
    refused by the writer with the plugin's message, and nothing is written."""
    now = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=datetime.UTC)
    text = SEPARATE + DATED
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BACKDATING + text))
    before = path.read_bytes()
    decision = Decision("ADJ-1", Action.APPLY, "alice", effective=datetime.date(2026, 3, 2),
                        date=datetime.date(2026, 3, 3))
    with pytest.raises(WriteRefused) as refused:
        write_decisions(path, [decision], now=now)
    assert "approved to be booked on its own `effective: 2026-03-20`" in str(refused.value)
    assert path.read_bytes() == before
    write_decisions(path, [dataclasses.replace(decision, effective=None)], now=now)
    assert booked_on(load_file(path), "ADJ-1") == ["2026-03-20"]
