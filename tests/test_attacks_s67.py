"""Round 67: the plain-posting rules under a seal.

Rounds 58 and 59 added `custom "adjustment-reserved"` and `custom
"adjustment-receivable"` (with its `payment-accounts:`), which decide whether a
plain transaction may move money at all. Seals of version 4 covered every other
rule directive but not these: alice, who can edit the file, deleted a sealed
reserved line (or narrowed the payment accounts) and then booked a plain 5,000
USD "goodwill" credit on a sealed day, `bean-check` clean and every seal intact.
Where git history is not at hand (or was rewritten), the seal is the evidence.
Seals of version 5 cover both directives; a version 4 seal still verifies as
what it covered. And `check --since` judged the plain postings of a change by a
receivable rule REV held only when the change removed it altogether: a change
widening the rule's `payment-accounts:` (a later line, or REV's line edited) and
paying 5,000 USD off a customer's account into the newly named account passed
as "the past is intact"; now such a posting is `unruled-posting`, as for a rule
removed. "Hole:" tests failed on the code they were written against.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from click.testing import Result
from repos import (
    APPROVE_2,
    BOOK,
    REQUEST_2,
    RULES_REV,
    Repo,
    assert_finding,
    assert_intact,
    check,
    rule_notes,
    rules_rev,
)
from signing import seal

from beancount_adjustments.beans.seal_directive import render_seal
from beancount_adjustments.core import seals
from ledgers import BASE, ledger, load, load_file, request

RULES = """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
  payment-accounts: "Assets:Bank"
"""

PAYOUT = """
2026-02-10 * "cust_123" "Goodwill"
  Assets:Bank                   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
"""
"""5,000 USD paid out of the bank as a credit, with no request."""

FAKE_PAYMENT = """
2026-02-10 * "cust_123" "Payment"
  Assets:Receivable:Customers   -5000.00 USD
  Liabilities:Tax                5000.00 USD
"""
"""The customer's account lowered by 5,000 USD against the tax liability: no payment
went through the bank."""


def _sealed(tmp_path: Path, version: int = seals.VERSION) -> Path:
    """The rules, sealed through 2026-02-28 by carol (with `version`'s hashes)."""
    path = tmp_path / "main.beancount"
    path.write_text(ledger(RULES))
    if version == seals.VERSION:
        seal(path, "2026-02-28")
        return path
    book = load_file(path).book
    assert book is not None
    items = seals.sealed_items(book.facts, version, book.settings)
    hashes = [it.hash for it in items if it.date <= datetime.date(2026, 2, 28)]
    path.write_text(path.read_text() + "\n" + render_seal(seals.SealPlan(
        date=datetime.date(2026, 2, 28), hash=seals.chain("", hashes, version, "carol"),
        count=len(hashes), span=len(hashes), fingerprints="", by="carol")))
    return path


def _edited(path: Path, old: str, new: str, added: str = "") -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new) + added)
    return path.read_text()


def _only_broken(path: Path) -> str:
    """The one error at the load, which must be the broken seal: without it the plain
    posting would pass unseen."""
    loaded = load_file(path)
    assert [code for _, code in loaded.codes] == ["seal-broken"], loaded.errors
    return str(loaded.errors[0].message)


def test_holds_the_sealed_rules_load_clean(tmp_path: Path) -> None:
    assert load_file(_sealed(tmp_path)).errors == []


def test_hole_a_sealed_reserved_line_deleted_then_a_plain_credit(tmp_path: Path) -> None:
    """Hole: deleting the sealed `adjustment-reserved` line and adding a plain 5,000 USD
    payout to the reserved account on a sealed day loaded with no error."""
    path = _sealed(tmp_path)
    _edited(path, '2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"\n', "",
            added=PAYOUT)
    assert "a sealed entry was deleted" in _only_broken(path)


def test_hole_a_sealed_reserved_pattern_narrowed(tmp_path: Path) -> None:
    """Hole: narrowing the sealed pattern to an account nobody uses (so the plain
    credit escapes it) left the seal intact."""
    path = _sealed(tmp_path)
    _edited(path, '"Expenses:Adjustments:*"', '"Expenses:Adjustments:Unused"', added=PAYOUT)
    message = _only_broken(path)
    assert message.startswith("sealed entry changed: accounts reserved "
                              "(Expenses:Adjustments:Unused) on 2026-01-01"), message


def test_hole_sealed_payment_accounts_widened(tmp_path: Path) -> None:
    """Hole: adding `Liabilities:*` to the sealed rule's `payment-accounts:` made a fake
    "payment" against the tax liability (a credit with no request) pass, the seal
    intact."""
    path = _sealed(tmp_path)
    _edited(path, 'payment-accounts: "Assets:Bank"',
            'payment-accounts: "Assets:Bank, Liabilities:*"', added=FAKE_PAYMENT)
    message = _only_broken(path)
    assert message.startswith("sealed entry changed: the receivable rule on 2026-01-01"), message


def test_hole_sealed_payment_accounts_removed(tmp_path: Path) -> None:
    """Hole: removing `payment-accounts:` (then any asset or liability account takes
    payments) did the same."""
    path = _sealed(tmp_path)
    _edited(path, '  payment-accounts: "Assets:Bank"\n', "", added=FAKE_PAYMENT)
    assert "the receivable rule on 2026-01-01" in _only_broken(path)


def test_hole_a_sealed_receivable_rule_deleted(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    _edited(path, '2026-01-01 custom "adjustment-receivable" "invoices-and-payments"\n'
            '  payment-accounts: "Assets:Bank"\n', "", added=FAKE_PAYMENT)
    assert "1 sealed entry was deleted after accounts reserved" in _only_broken(path)


def test_holds_a_rule_added_after_the_seal_is_free(tmp_path: Path) -> None:
    path = _sealed(tmp_path)
    path.write_text(path.read_text()
                    + '\n2026-03-01 custom "adjustment-reserved" "Income:Adjustments:*"\n')
    assert load_file(path).errors == []


def test_holds_a_version_4_seal_verifies_as_what_it_covered(tmp_path: Path) -> None:
    """A seal written before version 5 still verifies: it never covered these lines,
    so editing them does not break it (README says what each version covers)."""
    path = _sealed(tmp_path, version=4)
    assert load_file(path).errors == []
    _edited(path, '"Expenses:Adjustments:*"', '"Expenses:Adjustments:Unused"')
    assert load_file(path).errors == []


# -- `check --since`: the receivable rule loosened in the change that uses it ----------

RULE_REV = BOOK + ("2026-01-01 open Assets:Prepaid\n"
                   '2026-06-01 custom "adjustment-receivable" "invoices-and-payments"\n'
                   '  payment-accounts: "Assets:Bank"\n')
"""REV: the receivable rule, payments through the bank only."""

WIDER = ('2026-12-04 custom "adjustment-receivable" "invoices-and-payments"\n'
         '  payment-accounts: "Assets:Bank, Assets:Prepaid"\n')
"""A later line of the rule that lets `Assets:Prepaid` take payments too."""

INTO_PREPAID = """
2026-12-05 * "cust_456" "Prepaid"
  Assets:Receivable:Customers   -5000.00 USD
  Assets:Prepaid                 5000.00 USD

2026-12-06 * "Spent"
  Assets:Prepaid                -5000.00 USD
  Expenses:Goodwill              5000.00 USD
"""
"""5,000 USD off cust_456's account as a "payment" into prepaid, then spent from there:
a credit no request asked for."""


def _unruled(tmp_path: Path, changed: str, marker: str = '"Prepaid"') -> str:
    repo = Repo(tmp_path / "books")
    rev = repo.commit(RULE_REV)
    repo.commit(changed)
    result = check(repo, rev)
    found = assert_finding(result, "unruled-posting", repo.at(marker))
    assert "[rule-changed]" in result.output, result.output
    return found


def test_hole_a_later_line_widening_the_payment_accounts(tmp_path: Path) -> None:
    """Hole: a later line of the rule adding `Assets:Prepaid` to the payment accounts, and
    a plain "payment" into it, in one change: `check --since` said the past was intact
    (the new line only a note), and the credit was booked with no request."""
    found = _unruled(tmp_path, RULE_REV + WIDER + INTO_PREPAID)
    assert "moves Assets:Receivable:Customers, the customer's account" in found, found
    assert "loosened" in found, found


def test_hole_rev_s_line_widened_in_place(tmp_path: Path) -> None:
    """Hole: the same with REV's own line edited to name `Assets:Prepaid` too."""
    _unruled(tmp_path, RULE_REV.replace('"Assets:Bank"\n', '"Assets:Bank, Assets:Prepaid"\n')
             + INTO_PREPAID)


def test_hole_rev_s_payment_accounts_removed(tmp_path: Path) -> None:
    """Hole: REV's `payment-accounts:` removed (any asset or liability account then takes
    payments), and a "payment" against the tax liability."""
    changed = RULE_REV.replace('  payment-accounts: "Assets:Bank"\n', "") + """
2026-12-05 * "cust_456" "Tax"
  Assets:Receivable:Customers   -5000.00 USD
  Liabilities:Tax                5000.00 USD
"""
    _unruled(tmp_path, changed, '"Tax"')


def test_holds_a_bank_payment_beside_a_widening_is_none(tmp_path: Path) -> None:
    """Held: a payment into the bank, which REV's line took too, is no finding."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(RULE_REV)
    repo.commit(RULE_REV + WIDER + INTO_PREPAID.split("\n\n", maxsplit=1)[0].replace(
        "Assets:Prepaid ", "Assets:Bank    ") + "\n")
    assert_intact(check(repo, rev))


def test_hole_a_widening_landed_on_its_own_then_used(tmp_path: Path) -> None:
    """Held: the widening reviewed and landed on its own, a later change paying into
    prepaid is judged by the rule as it now is. Hole: read from before the widening,
    the range did not name the payment that passes only because of it."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(RULE_REV)
    widened = repo.commit(RULE_REV + WIDER)
    repo.commit(RULE_REV + WIDER + INTO_PREPAID)
    assert_intact(check(repo, widened))
    assert_finding(check(repo, rev), "unruled-posting", repo.at('"Prepaid"'))


# -- `check --since`: the plugin's own settings changed in the change ----------------

def _settings(text: str, settings: str) -> str:
    line = 'plugin "beancount_adjustments"\n'
    assert line in text
    return text.replace(line, f'plugin "beancount_adjustments" "{settings}"\n', 1)


BARE_RULE = RULE_REV.replace(BOOK, BASE)
"""The receivable rule with no request: nothing decided that a setting could re-judge."""

GONE = """
2026-12-05 * "cust_456" "Gone"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Goodwill              5000.00 USD
"""


def test_hole_the_receivable_setting_moved_off_the_customers_account(tmp_path: Path) -> None:
    """Hole: the plugin line's `receivable` pointed at an account nobody uses: the
    receivable rule then judged that one, a plain 5,000 USD credit off the real
    customers' account passed, and `check --since` said the past was intact, not a
    word about the setting."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BARE_RULE)
    repo.commit(_settings(BARE_RULE, "{'receivable': 'Assets:Receivable:Customers:Vip'}")
                + GONE)
    result = check(repo, rev)
    found = assert_finding(result, "unruled-posting", repo.at('"Gone"'))
    assert "moves Assets:Receivable:Customers, the customer's account" in found, found
    (note,) = rule_notes(result)
    assert (f"{repo.at('plugin')}note: the plugin's setting receivable is "
            f"Assets:Receivable:Customers:Vip since {rev}") in note, note
    assert "(before: Assets:Receivable)" in note, note


def test_hole_a_site_check_dropped_is_a_note(tmp_path: Path) -> None:
    """Hole: the site's check (credits of 500 USD or more need a ticket) dropped from the
    plugin line in the change that files a 600 USD credit without one: no word of it."""
    checked = _settings(BOOK, "{'checks': ['plugins.require_ticket.check']}")
    repo = Repo(tmp_path / "books")
    rev = repo.commit(checked)
    repo.commit(BOOK + request("ADJ-9", "2026-12-04", "-600.00"))
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    (note,) = rule_notes(result)
    assert "the plugin's setting checks is none since" in note, note
    assert "(before: plugins.require_ticket.check)" in note, note


def test_holds_the_same_settings_written_otherwise_are_no_note(tmp_path: Path) -> None:
    """Held: the settings spelled out as their defaults are the same settings."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BOOK)
    repo.commit(_settings(BOOK, "{'receivable': 'Assets:Receivable', 'id-prefix': 'ADJ'}"))
    result = check(repo, rev)
    assert_intact(result)
    assert rule_notes(result) == []


INTERNAL = ('2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD\n'
            '  customer-tier: "internal"\n')
"""A row REV held: credits to the company's own test accounts (tier internal) need no
approval."""

NEW_CUSTOMER = """
2026-03-09 * "cust_777" "Invoice"
  invoice-id: "INV-777"
  customer: "cust_777"
  Assets:Receivable:Customers    60000.00 USD
  Income:Sales                  -60000.00 USD
""" + request("ADJ-9", "2026-03-10", "-50000.00", customer="cust_777")
"""An invoice naming a customer no line declares, and alice's 50,000 USD credit to it."""


def test_hole_the_default_tier_changed_by_whoever_profits(tmp_path: Path) -> None:
    """Hole: under `git-identity: "required"`, alice set the plugin's `default-tier` to
    "internal" in the commit that files her 50,000 USD credit to an undeclared customer:
    the credit booked itself with no approval, and `check --since` had not a word
    (a roleless approval row, the same move, is `self-authorized` since round 55)."""
    repo, rev = rules_rev(tmp_path, RULES_REV + INTERNAL)
    now = _settings(RULES_REV + INTERNAL, "{'default-tier': 'internal'}") + NEW_CUSTOMER
    assert load(now, base=False).adj("ADJ-9").state.value == "applied"
    repo.commit(now, email="alice@example.com")
    result = check(repo, rev)
    found = assert_finding(result, "self-authorized", repo.at("plugin"))
    assert "alice committed the plugin's settings" in found, found
    assert "asked for or entered ADJ-9" in found, found
    (note,) = rule_notes(result)
    assert "the plugin's setting default-tier is internal" in note, note


def test_holds_settings_changed_by_someone_else_are_a_note(tmp_path: Path) -> None:
    """Held: the same settings committed by bob, and alice's credit in a commit of her
    own: the reviewer's note, no finding (bob acts under nothing)."""
    repo, rev = rules_rev(tmp_path, RULES_REV + INTERNAL)
    changed = _settings(RULES_REV + INTERNAL, "{'default-tier': 'internal'}")
    repo.commit(changed, email="bob@example.com")
    repo.commit(changed + NEW_CUSTOMER, email="alice@example.com")
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    assert len(rule_notes(result)) == 1, result.output


# -- `check --since`: the site's check weakened in the change ------------------------

TICKET = '''def check(request, amount):
    if amount.number >= 500 and not request.ticket:
        return "credits of 500 or more need the support ticket they answer; add `ticket:`"
    return None
'''
WEAKENED = "def check(request, amount):\n    return None\n"


def _site_check(tmp_path: Path, module: str, now: str, filed: str) -> Result:
    """REV runs the check `module` (beside the ledger, `TICKET`); the change writes
    `now` into its file and files `filed`; `check --since REV`."""
    repo = Repo(tmp_path / "books")
    code = repo.root / f"{module}.py"
    code.write_text(TICKET)
    text = _settings(BOOK, f"{{'checks': ['{module}.check']}}")
    rev = repo.commit(text)
    code.write_text(now)
    repo.commit(text + filed)
    try:
        return check(repo, rev)
    finally:
        sys.modules.pop(module, None)


def test_hole_a_site_check_weakened_in_the_change_is_a_note(tmp_path: Path) -> None:
    """Hole: the site's check (credits of 500 USD or more need a ticket) rewritten to pass
    everything, in the change that files a 600 USD credit with no ticket: the credit
    went to the approvers unflagged, and `check --since` had not a word of the code."""
    result = _site_check(tmp_path, "s67_weakened", WEAKENED,
                         request("ADJ-9", "2026-12-04", "-600.00"))
    assert result.exit_code == 0, result.output
    (note,) = rule_notes(result)
    assert "s67_weakened.py:1: note: the site code s67_weakened.py" in note, note
    assert "changed since" in note, note


def test_holds_site_code_unchanged_is_no_note(tmp_path: Path) -> None:
    result = _site_check(tmp_path, "s67_same", TICKET, request("ADJ-9", "2026-12-04", "-60.00"))
    assert_intact(result)
    assert rule_notes(result) == [], result.output


# -- `check --since`: the Fava extension's line changed in the change ---------------

FAVA = ('2026-01-01 custom "fava-extension" "beancount_adjustments.fava_ext" '
        "\"{'user-header': 'X-Remote-User', 'read-only': True}\"\n")


def test_hole_the_fava_extension_line_changed_is_a_note(tmp_path: Path) -> None:
    """Hole: the reviewers' Fava reads who acts from the header its line names. alice
    pointed it at a header the proxy neither sets nor strips (`X-Alice`), and made the
    read-only page writable, in a change `check --since` called intact without a word:
    merged, anyone sending that header acts as whoever they name."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BOOK + FAVA)
    repo.commit(BOOK + FAVA.replace("X-Remote-User", "X-Alice").replace("True", "False"))
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    (note,) = rule_notes(result)
    assert repo.at('"fava-extension"') + "note: the Fava extension line of " in note, note
    assert "'user-header': 'X-Alice'" in note, note
    assert "(before: {'user-header': 'X-Remote-User'" in note, note


# -- a reserved pattern that reserves nothing ---------------------------------------

def test_hole_a_reserved_pattern_with_a_typo_says_so() -> None:
    """Hole: `"Expenses:Adjustment:*"` (one letter short) reserved no account the ledger
    has, and said nothing: the plain credit to `Expenses:Adjustments:Credits` it was
    written to stop passed, and the reader of the ledger believed it reserved. Now a
    warning at the line, as an approval row whose pattern matches no type has."""
    loaded = load('2026-01-01 open Expenses:Adjustments:Credits\n'
                  '2026-01-01 custom "adjustment-reserved" "Expenses:Adjustment:*"\n' + PAYOUT)
    assert loaded.errors == []
    assert loaded.book is not None
    (warning,) = loaded.book.warnings
    assert warning.code == "unknown-pattern", warning
    assert warning.source.lineno == loaded.line('"adjustment-reserved"'), warning
    assert ('reserved account pattern "Expenses:Adjustment:*" matches no account the ledger '
            "opens") in warning.message, warning.message


def test_holds_a_pattern_matching_an_account_under_it_is_no_warning() -> None:
    """Held: a pattern naming the parent of the opened accounts reserves them."""
    loaded = load('2026-01-01 open Expenses:Adjustments:Credits\n'
                  '2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments"\n')
    assert loaded.book is not None
    assert loaded.book.warnings == ()


# -- `check --since`: Beancount's own options changed in the change -----------------

def test_hole_a_tolerance_option_added_is_a_note(tmp_path: Path) -> None:
    """Hole: `option "tolerance_multiplier"` widened (every transaction then balances
    within thousands, and a bank `balance` assertion meant to catch a fake payment
    passes) in a change `check --since` called intact without a word of it."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BOOK)
    repo.commit(BOOK.replace('option "operating_currency" "USD"\n',
                             'option "operating_currency" "USD"\n'
                             'option "tolerance_multiplier" "500000"\n'
                             'option "inferred_tolerance_default" "USD:5000"\n'))
    result = check(repo, rev)
    assert result.exit_code == 0, result.output
    notes = rule_notes(result)
    assert len(notes) == 2, result.output
    assert any(repo.at('"tolerance_multiplier"') + "note: the ledger's option "
               "tolerance_multiplier is 500000 since" in note and "(before: 0.5)" in note
               for note in notes), notes
    assert any("option inferred_tolerance_default is USD:5000 since" in note
               and "(before: none)" in note for note in notes), notes


def test_holds_options_as_before_are_no_note(tmp_path: Path) -> None:
    """Held: the options written again in another order, and a title changed, say the
    same of every transaction: no note."""
    text = BOOK.replace('option "operating_currency" "USD"\n',
                        'option "title" "Books"\noption "operating_currency" "USD"\n')
    repo = Repo(tmp_path / "books")
    rev = repo.commit(text)
    repo.commit(text.replace('"Books"', '"The books"'))
    assert rule_notes(check(repo, rev)) == []


# -- `check --since`: a decision claiming to be older than REV's commit --------------

ERIN_LEAVES = REQUEST_2 + ('2026-06-01 custom "adjustment-user" "erin" "agent"\n'
                           '  git: "erin@example.com"\n')
"""REV: alice's 40 USD goodwill credit ADJ-2 waits for a manager; erin was one until
2026-06-01."""

ERIN_APPROVES = '2026-05-15 custom "adjustment" "ADJ-2" "approve"\n  by: "erin"\n'


def _late(tmp_path: Path, approval: str) -> tuple[Repo, str, Result]:
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BOOK + ERIN_LEAVES, date="2026-12-01T09:00:00+00:00")
    now = BOOK + ERIN_LEAVES + approval
    assert load(now, base=False).adj("ADJ-2").state.value == "applied"
    repo.commit(now, date="2026-12-04T09:00:00+00:00")
    return repo, rev, check(repo, rev)


def test_hole_an_ex_manager_s_approval_written_now_dated_back(tmp_path: Path) -> None:
    """Hole: in December erin (a manager until June) wrote an approval of ADJ-2 dated in
    May, with no `at:`: it counted (she was a manager that day), booked the credit, and
    `check --since` said the past was intact (May is after REV's last decision, in
    March). REV was committed on 2026-12-01: what it did not hold was written since."""
    repo, _rev, result = _late(tmp_path, ERIN_APPROVES)
    found = assert_finding(result, "backdated-decision", repo.at('"ADJ-2" "approve"'))
    assert "before the change that wrote it forked from" in found, found


def test_hole_the_same_with_a_forged_at(tmp_path: Path) -> None:
    """Hole: the same with `at:` written by hand to match the date."""
    repo, _rev, result = _late(tmp_path, ERIN_APPROVES + '  at: "2026-05-15T10:00:00Z"\n')
    found = assert_finding(result, "backdated-decision", repo.at('"ADJ-2" "approve"'))
    assert "written at 2026-05-15T10:00:00Z" in found, found


def test_holds_a_decision_written_the_day_rev_was_committed(tmp_path: Path) -> None:
    """Held: an approval written on REV's commit day (the reviewer approved, committed
    other work, then this) is an append, with or without `at:`."""
    repo = Repo(tmp_path / "books")
    rev = repo.commit(BOOK + REQUEST_2, date="2026-03-05T18:00:00+00:00")
    repo.commit(BOOK + REQUEST_2 + APPROVE_2.replace("2026-03-06", "2026-03-05"),
                date="2026-03-06T09:00:00+00:00")
    assert_intact(check(repo, rev))


def test_holds_a_branch_waiting_while_the_base_moved_on(tmp_path: Path) -> None:
    """Held: bob's approval written on a branch in March, merged after main moved on in
    April: the branch forked before it, so it is an append (REV, main's tip, was
    committed later)."""
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK + REQUEST_2, date="2026-03-05T18:00:00+00:00")
    repo.git("checkout", "-q", "-b", "review")
    repo.commit(BOOK + REQUEST_2 + APPROVE_2 + '  at: "2026-03-06T10:00:00Z"\n',
                date="2026-03-06T10:05:00+00:00")
    repo.git("checkout", "-q", "main")
    rev = repo.commit(BOOK + REQUEST_2 + "\n2026-04-20 open Assets:Petty\n",
                      date="2026-04-20T09:00:00+00:00")
    repo.git("checkout", "-q", "review")
    assert_intact(check(repo, rev))


PETTY = BOOK.replace('option "operating_currency" "USD"\n',
                     'option "operating_currency" "USD"\n2026-01-01 open Assets:Petty\n')
"""Main's own change meanwhile, far from the branch's lines."""


def test_holds_the_same_checked_out_as_the_pull_request_s_merge_commit(
        tmp_path: Path) -> None:
    """Held: CI checks out the pull request merged into the base (HEAD a merge commit
    whose first parent is REV): the approval was still written on the branch, forked
    in March."""
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK + REQUEST_2, date="2026-03-05T18:00:00+00:00")
    repo.git("checkout", "-q", "-b", "review")
    repo.commit(BOOK + REQUEST_2 + APPROVE_2 + '  at: "2026-03-06T10:00:00Z"\n',
                date="2026-03-06T10:05:00+00:00")
    repo.git("checkout", "-q", "main")
    rev = repo.commit(PETTY + REQUEST_2, date="2026-04-20T09:00:00+00:00")
    repo.git("merge", "-q", "--no-edit", "review", date="2026-04-21T09:00:00+00:00")
    assert_intact(check(repo, rev))


def test_hole_the_reviewers_page_shows_the_ledgers_own_warnings(tmp_path: Path) -> None:
    """Hole: README said a rule that can never apply is a warning "on Fava's pages",
    but the page showed only warnings about one adjustment: the reviewer never saw
    that the reserved pattern (or an approval row) did nothing. Now the queue shows
    each (escaped, as every ledger string) at its file and line."""
    from fava_env import BASE as PAGE
    from fava_env import START, Env

    env = Env(tmp_path, extra=f'\n{START} custom "adjustment-reserved" '
                              '"Expenses:Adjustment:*"\n')
    page = env.get(PAGE).get_data(as_text=True)
    assert 'id="adj-rule-warnings"' in page
    assert ("reserved account pattern &#34;Expenses:Adjustment:*&#34; matches no "
            "account the ledger opens") in page, page[page.find("adj-rule-warnings"):][:600]
    assert "main.beancount:" in page[page.find("adj-rule-warnings"):][:800]
