"""Sixth round of attacks on the controls (issue 11): holes found after the others.

Each test is one way tried to move money without the approvals the policy asks
for, or to rewrite the past unnoticed, with `bean-check` clean. Every test here
failed on the code it was written against (the fix is named in the commit that
added it), unless its docstring says it held.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from beancount import loader
from repos import REQUEST_2, Repo, assert_finding, assert_intact, check
from sample_ledgers import DEBIT_ROWS
from signing import KEYS, digests, key_lines, seal, signed, write_key

import beancount_adjustments
from ledgers import BASE, as_written, decided, event, load, request

# -- a signed approval of the request replayed as an approval of its reversal ----------

SIGNED_DEBITS = '2026-01-01 custom "adjustment-policy" "debit:*"\n  signatures: "required"\n'
FEE = request("ADJ-1", "2026-03-01", "500.00", type="debit:fee", account="Income:Fees")


def test_a_signed_approval_cannot_be_copied_to_approve_the_reversal() -> None:
    """bob signs his approval of the 500 USD debit; the requester cancels it the same
    day and pastes bob's signed line again: the signature covered (id, action, by,
    date, digest), the same for the request and for its reversal."""
    text = SIGNED_DEBITS + key_lines("bob") + FEE
    approval = signed("ADJ-1", "2026-03-02", "bob", digests(text)["ADJ-1"])
    text += approval + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Oops")
    assert load(text).state("ADJ-1") == "reversing"
    loaded = load(text + approval)
    assert loaded.state("ADJ-1") == "reversing"
    assert not loaded.tagged("adjustment-reversal", "ADJ-1")
    assert (loaded.line('"ADJ-1" "approve"', 1), "bad-signature") in loaded.codes


def test_a_reversal_approval_signed_for_the_reversal_counts() -> None:
    from beancount_adjustments.core import signatures
    text = SIGNED_DEBITS + key_lines("bob") + FEE
    digest = digests(text)["ADJ-1"]
    text += signed("ADJ-1", "2026-03-02", "bob", digest)
    text += event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Oops")
    reversal = signatures.sign_with(KEYS["bob"], "ADJ-1", signatures.signed_action(
        "approve", reversal=1), "bob", datetime.date(2026, 3, 2), digest)
    loaded = load(text + event("ADJ-1", "2026-03-02", "approve", "bob", digest=digest,
                               signature=reversal))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversed"
    # ... and it is no approval of the request itself.
    fresh = SIGNED_DEBITS + key_lines("bob") + FEE
    loaded = load(fresh + event("ADJ-1", "2026-03-02", "approve", "bob", digest=digest,
                                signature=reversal))
    assert loaded.state("ADJ-1") == "pending"
    assert "bad-signature" in loaded.code_set


def test_the_cli_signs_a_reversal_approval_that_counts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    from ledgers import BACKDATING, ledger
    pem = tmp_path / "bob.pem"
    write_key(pem, KEYS["bob"])
    text = SIGNED_DEBITS + BACKDATING + key_lines("bob") + FEE
    text += signed("ADJ-1", "2026-03-02", "bob", digests(text)["ADJ-1"])
    text += event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Oops")
    path = tmp_path / "main.beancount"
    path.write_text(ledger(text))
    result = CliRunner().invoke(main, ["approve", "ADJ-1", "-f", str(path), "--as", "bob",
                                       "--sign", str(pem), "--date", "2026-03-03"])
    assert result.exit_code == 0, result.output
    from ledgers import load_file
    loaded = load_file(path)
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "reversed"


# -- a price appended on the day of a cancel -------------------------------------------


def test_a_price_of_the_cancel_day_does_not_shrink_the_reversals_chain() -> None:
    """A 9,000,000 EUR debit approved by three levels; its requester cancels it and
    adds a price of the same day (an append: nothing before REV changes) that makes
    it worth 9 USD: the reversal needed no approval and was booked at once."""
    big = request("ADJ-1", "2026-03-01", "9000000.00", type="debit:correction",
                  account="Income:Sales", by="frank", currency="EUR")
    text = as_written(DEBIT_ROWS + "2026-02-01 price EUR 1.08 USD\n" + big, "ADJ-1")
    for day, who in (("02", "erin"), ("03", "carol"), ("04", "dave")):
        text += decided(text, "ADJ-1", f"2026-03-{day}", "approve", who)
    assert load(text).state("ADJ-1") == "applied"
    text += "2026-03-10 price EUR 0.000001 USD\n"
    loaded = load(text + decided(text, "ADJ-1", "2026-03-10", "cancel", "frank",
                                 reason="Oops"))
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.adj("ADJ-1").reversal_chain == ("manager", "finance", "cfo")
    assert not loaded.tagged("adjustment-reversal", "ADJ-1")


# -- check --since: a file the repository does not hold ---------------------------------

REJECTED = '2026-03-06 custom "adjustment" "ADJ-2" "reject"\n  by: "bob"\n  reason: "No"\n'
APPROVED = '2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'


def test_decisions_in_a_file_outside_the_repository_are_a_finding(tmp_path: Path) -> None:
    """The ledger includes a file by an absolute path outside the repository: REV's
    tree and today's both read it as it is now, so turning bob's reject into an
    approval there changed nothing --since could see."""
    outside = tmp_path / "elsewhere" / "decisions.beancount"
    outside.parent.mkdir()
    outside.write_text(REJECTED)
    repo = Repo(tmp_path / "books")
    repo.commit(BASE + REQUEST_2 + f'\ninclude "{outside}"\n')
    outside.write_text(APPROVED)
    # At the include line that reads it (the message names the file).
    line = assert_finding(check(repo), "untracked-file", repo.at(f'include "{outside}"'))
    assert str(outside) in line
    assert "not tracked" in line


def test_decisions_in_a_file_git_does_not_track_are_a_finding(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "books")
    (repo.root / ".gitignore").write_text("decisions.beancount\n")
    side = repo.root / "decisions.beancount"
    side.write_text(REJECTED)
    repo.commit(BASE + REQUEST_2 + '\ninclude "decisions.beancount"\n')
    side.write_text(APPROVED)
    line = assert_finding(check(repo), "untracked-file", repo.at('include "decisions'))
    assert str(side) in line


def test_a_tracked_symlink_to_a_file_outside_the_repository_is_a_finding(
        tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.beancount"
    outside.write_text(REJECTED)
    repo = Repo(tmp_path / "books")
    (repo.root / "decisions.beancount").symlink_to(outside)
    repo.commit(BASE + REQUEST_2 + '\ninclude "decisions.beancount"\n')
    outside.write_text(APPROVED)
    line = assert_finding(check(repo), "untracked-file", repo.at('include "decisions'))
    assert "decisions.beancount," in line


def test_an_included_file_committed_with_the_ledger_is_fine(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "books")
    (repo.root / "decisions.beancount").write_text(REJECTED)
    repo.commit(BASE + REQUEST_2 + '\ninclude "decisions.beancount"\n')
    assert_intact(check(repo))


# -- git-identity: lines written into someone else's decision ---------------------------

ALICE = BASE.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n')
GIT_IDENTITY = ('\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n'
                '  git-identity: "required"\n')


def _digest_of(text: str, adj_id: str) -> str:
    """The digest of `adj_id` in a whole ledger's text (with its own preamble)."""
    _, _, options = loader.load_string(text)
    book = beancount_adjustments.book_of(options)
    assert book is not None
    return book.adjustments[adj_id].digest


def test_lines_added_after_a_comment_in_a_decision_are_blamed_too(tmp_path: Path) -> None:
    """bob commits his approval of alice's 40 USD goodwill credit. alice then makes it
    900 USD (her own pending request) and adds, after an indented comment, a second
    `digest:` of what she wrote: Beancount keeps the last value of a key on a
    custom entry, and the blame of bob's decision stopped at the comment, so it
    was still all bob's."""
    at_rev = ALICE + GIT_IDENTITY + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    first = (f'\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
             f'  at: "2026-03-06T10:00:00+01:00"\n  digest: "{_digest_of(at_rev, "ADJ-2")}"\n')
    repo.commit(at_rev + first, email="bob@example.com")
    edited = at_rev.replace("40.00 USD", "900.00 USD").replace("-40.00", "-900.00")
    forged = first + f'  ; checked\n  digest: "{_digest_of(edited, "ADJ-2")}"\n'
    repo.commit(edited + forged, email="alice@example.com")
    _, _, options = loader.load_string(edited + forged)
    book = beancount_adjustments.book_of(options)
    assert book is not None
    assert book.adjustments["ADJ-2"].state == "applied"  # what the plugin sees
    line = assert_finding(check(repo, "HEAD~2"), "git-identity",
                          repo.at('"ADJ-2" "approve"'))
    assert "alice@example.com" in line


# -- seals: what a sealed request and its approvals recorded ----------------------------


def _sealed(tmp_path: Path, text: str, date: str = "2026-03-31") -> Path:
    from ledgers import BACKDATING, ledger
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BACKDATING + text))
    seal(path, date)
    return path


BIG_EUR = request("ADJ-1", "2026-03-01", "-9000000.00", currency="EUR")


def test_a_sealed_requests_recorded_chain_and_amount_are_sealed(tmp_path: Path) -> None:
    """The tools record on a request the converted amount and chain it was judged at,
    so a price edited later makes it stale; the seal covered neither, so editing the
    price, `judged:` and `chain:` of a sealed pending request booked 9,000,000 EUR
    automatically, seal intact."""
    from ledgers import load_file
    path = _sealed(tmp_path, as_written("2026-02-01 price EUR 1.08 USD\n" + BIG_EUR, "ADJ-1"))
    text = path.read_text()
    assert load_file(path).errors == []
    recorded = (text.replace("judged: 9720000.0000 USD", "judged: 9.000000000 USD")
                .replace('chain: "manager > finance > cfo"', 'chain: "automatic"'))
    path.write_text(recorded)
    loaded = load_file(path)
    # (and the recorded amount is no longer what the price converts it to)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "seal-broken"),
                            (loaded.line("^ADJ-1"), "stale-price")]
    assert "request ADJ-1" in loaded.errors[0].message
    # With the price edited too, the seal (version 4 covers prices) breaks at the price.
    path.write_text(recorded.replace("price EUR 1.08 USD", "price EUR 0.000001 USD"))
    loaded = load_file(path)
    assert loaded.codes == [(loaded.line("price EUR"), "seal-broken")]


@pytest.mark.parametrize(("old", "new"), [
    # A sealed approval's recorded chain and converted amount.
    ('chain: "manager"', 'chain: "manager > finance"'),
    ("judged: 540.0000 USD", "judged: 541.0000 USD"),
    # A sealed policy's settings beyond the four version 1 covered.
    ("hold-until-billed: TRUE", "hold-until-billed: FALSE"),
    ('manual-chain: "manager > finance"', 'manual-chain: "manager"'),
    # A sealed user's git e-mail (what git-identity trusts).
    ('git: "bob@example.com"', 'git: "mallory@example.com"'),
])
def test_what_a_seal_covers_now(tmp_path: Path, old: str, new: str) -> None:
    from ledgers import block, load_file
    rules = block("""
        2026-01-01 custom "adjustment-user" "bob" "manager"
          limit: 1000.00 USD
          git: "bob@example.com"
        2026-01-01 custom "adjustment-policy" "credit:goodwill"
          hold-until-billed: TRUE
          manual-chain: "manager > finance"
        2026-02-01 price EUR 1.08 USD
    """)
    text = rules + request("ADJ-1", "2026-03-01", "-500.00", currency="EUR")
    text += decided(text, "ADJ-1", "2026-03-02", "approve", "bob")
    assert old in text
    path = _sealed(tmp_path, text)
    assert load_file(path).errors == []
    path.write_text(path.read_text().replace(old, new))
    assert "seal-broken" in load_file(path).code_set


def test_a_seal_written_before_version_2_still_verifies(tmp_path: Path) -> None:
    from beancount_adjustments.core import seals
    from ledgers import BACKDATING, ledger, load_file
    text = ledger(BACKDATING + as_written("2026-02-01 price EUR 1.08 USD\n" + BIG_EUR,
                                          "ADJ-1"))
    book = load(text, base=False).book
    assert book is not None
    items = seals.sealed_items(book.facts, 1)
    old = seals.chain("", [it.hash for it in items], 1)
    written = (f'2026-03-31 custom "adjustment-seal" "{old}"\n  by: "carol"\n'
               f"  count: {len(items)}\n")
    path = tmp_path / "main.beancount"
    path.write_text(text + written)
    assert load_file(path).errors == []
    # It covered what version 1 covered: the request's reason, say.
    path.write_text(text.replace('reason: "Test adjustment"', 'reason: "Other"') + written)
    assert "seal-broken" in load_file(path).code_set


def test_a_request_in_someone_elses_name_is_a_git_identity_finding(tmp_path: Path) -> None:
    """Under git-identity every decision is committed by whom it names, but the
    request was not: erin (a manager) files a credit "requested by alice" and
    approves it herself, both in her own commit; segregation of duties was void."""
    at_rev = ALICE + GIT_IDENTITY
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    repo.commit(at_rev + REQUEST_2 + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n'
                '  by: "erin"\n', email="erin@example.com")
    line = assert_finding(check(repo, "HEAD~1"), "git-identity", repo.at("^ADJ-2"))
    assert "alice" in line
    assert "erin@example.com" in line


def test_a_request_committed_by_who_entered_it_is_fine(tmp_path: Path) -> None:
    at_rev = ALICE + GIT_IDENTITY
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    repo.commit(at_rev + REQUEST_2, email="alice@example.com")
    repo.commit(at_rev + REQUEST_2 + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n'
                '  by: "erin"\n', email="erin@example.com")
    assert_intact(check(repo, "HEAD~2"))


# -- an approver's limit in another currency -------------------------------------------


def test_a_price_added_later_cannot_lift_an_amount_under_an_approvers_limit() -> None:
    """gus (a manager) may approve up to 900 EUR; a 5,000 USD credit is worth 4,500 EUR,
    so his approval is refused. A price dated before the request (a back-dated one:
    only --since sees it) makes it 0.50 EUR, and his approval counts: the thresholds
    are in USD, so no `judged:` binds the conversion."""
    from ledgers import block
    rules = block("""
        2026-01-01 custom "adjustment-user" "gus" "manager"
          limit: 900.00 EUR
        2026-01-01 price USD 0.90 EUR
    """)
    text = rules + request("ADJ-1", "2026-03-01", "-5000.00")
    loaded = load(text + event("ADJ-1", "2026-03-02", "approve", "gus"))
    assert "over-limit" in loaded.code_set
    repriced = text.replace("price USD 0.90 EUR",
                            "price USD 0.90 EUR\n2026-02-28 price USD 0.0001 EUR")
    # What a tool writes for gus now, judged with the price as it stands then.
    approval = decided(text, "ADJ-1", "2026-03-02", "approve", "gus")
    loaded = load(repriced + approval)
    assert loaded.adj("ADJ-1").approvers == ()


def test_the_tools_bind_an_approvers_limit_in_another_currency(tmp_path: Path) -> None:
    """What the writer writes: bob (limit 1,000.00 EUR) approves 500 USD at 0.90 EUR
    and the approval records `limit-judged: 450.00 EUR`; a price dated before the
    request added afterwards makes it stale: it no longer counts, nor books."""
    from beancount_adjustments import api
    from ledgers import TOOLS_BASE
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE.replace("limit: 1000.00 USD", "limit: 1000.00 EUR")
                    + "2024-01-01 price USD 0.90 EUR\n")
    adj = api.create(path, customer="cust_123", type="credit:refund", amount="500.00",
                     currency="USD", reason="Damaged", as_user="alice")
    api.approve(path, adj.id, as_user="bob")
    text = path.read_text()
    assert "limit-judged: 450.00 EUR" in text
    assert api.get(path, adj.id).state == "applied"  # bob's approval counts
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    path.write_text(text + f"{yesterday} price USD 0.50 EUR\n")
    _entries, _errors, options = loader.load_file(str(path))
    book = beancount_adjustments.book_of(options)
    assert book is not None
    assert book.adjustments[adj.id].approvers == ()
    assert book.adjustments[adj.id].state == "pending"  # not booked any more
    assert any(p.code == "stale-approval" and "limit was checked with the amount at "
               "450.00 EUR" in p.message for p in book.problems)


# -- a decision dated ahead of when it was written ------------------------------------


@pytest.mark.parametrize(("at", "counts"), [
    ("2026-03-02T10:00:00+01:00", False),  # written in March, dated June
    ("2026-06-01T09:00:00+02:00", True),   # written the day it is dated
    ("2026-05-31T20:00:00+00:00", True),   # UTC: already June 1 east of Greenwich
    ("2026-05-31T08:00:00+00:00", False),  # UTC: May 31 everywhere
])
def test_a_decision_dated_ahead_of_its_writing_is_judged_when_written(
        at: str, counts: bool) -> None:
    """gina becomes a manager on 2026-06-01. In March she approves a pending credit
    and dates her approval June 1, under the role she does not hold yet: judged on
    its date it would count. A decision is dated the day it is taken."""
    from ledgers import block
    text = (block("""
        2026-06-01 custom "adjustment-user" "gina" "manager"
    """) + request("ADJ-1", "2026-03-01", "-100.00")
            + event("ADJ-1", "2026-06-01", "approve", "gina", at=at))
    loaded = load(text)
    assert (loaded.adj("ADJ-1").approvers == ("gina",)) is counts
    assert ("dated-ahead" in loaded.code_set) is not counts
    if not counts:
        assert (loaded.line('"ADJ-1" "approve"'), "dated-ahead") in loaded.codes


def test_a_signed_reversal_approval_does_not_approve_a_later_reversal() -> None:
    """bob signs his approval of ADJ-1's first reversal; carol rejects that reversal and
    alice asks for it again the same day: bob's signed line, pasted again, covered the
    same (id, action, by, date, digest) and filled the second reversal's first level."""
    from beancount_adjustments.core import signatures
    text = (SIGNED_DEBITS + key_lines("bob", "erin")
            + '2026-01-01 custom "adjustment-user" "erin" "manager" "finance"\n'
            + '2026-01-01 custom "adjustment-approval" "debit:*" 100.00 USD "manager" '
              '"finance"\n' + FEE)
    digest = digests(text)["ADJ-1"]
    text += (signed("ADJ-1", "2026-03-02", "bob", digest)
             + signed("ADJ-1", "2026-03-02", "erin", digest)
             + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Oops"))
    first = signatures.sign_with(KEYS["bob"], "ADJ-1", signatures.signed_action(
        "approve", reversal=1), "bob", datetime.date(2026, 3, 2), digest)
    reversal = event("ADJ-1", "2026-03-02", "approve", "bob", digest=digest, signature=first)
    text += reversal
    assert load(text).adj("ADJ-1").reversal_approvals[0].by == "bob"
    text += (event("ADJ-1", "2026-03-02", "reject", "carol", reason="Not agreed")
             + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Again"))
    loaded = load(text + reversal)
    assert loaded.state("ADJ-1") == "reversing"
    assert loaded.adj("ADJ-1").reversal_approvals == ()
    assert (loaded.line('"ADJ-1" "approve"', 3), "bad-signature") in loaded.codes
    # Signed for the second reversal, it counts.
    second = signatures.sign_with(KEYS["bob"], "ADJ-1", signatures.signed_action(
        "approve", reversal=2), "bob", datetime.date(2026, 3, 2), digest)
    loaded = load(text + event("ADJ-1", "2026-03-02", "approve", "bob", digest=digest,
                               signature=second))
    assert [a.by for a in loaded.adj("ADJ-1").reversal_approvals] == ["bob"]
