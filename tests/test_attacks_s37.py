"""Thirty-seventh round of attacks: the decision events and how the replay judges them.

alice, an accountant who files requests, and a reviewer who trusts what the
ledger says, meet events that say more than they do: an `effective:` on an
event that books nothing, names that look like a user's, hand-written
`judged:`/`chain:`, odd `at:` stamps, and the duties around a reversal. A
test whose docstring says "Hole:" failed on the code it was written against
(the fix is named in the commit that added it); the others held and add
coverage no earlier test had.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from beancount.core import data
from click.testing import CliRunner

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import BACKDATING, BASE, event, load, load_file, request

EFFECTIVE = "  effective: 2026-03-20\n"

SMALL = request("ADJ-1", "2026-03-01", "-50.00")
"""A 50 USD refund: one manager approves it, and that approval books it."""
BIG = request("ADJ-2", "2026-03-01", "-1500.00")
"""A 1 500 USD refund: a manager, then finance."""
BILLING = ('2026-01-01 custom "adjustment-policy" "credit:account"\n  apply: "separate"\n'
           + request("ADJ-3", "2026-03-01", "-50.00", type="credit:account"))
"""A 50 USD account credit: approved by a manager, then booked by a separate apply."""
APPLIED = SMALL + event("ADJ-1", "2026-03-02", "approve", by="bob")
"""ADJ-1 approved and booked; its reversal needs a manager."""
TINY = request("ADJ-4", "2026-03-01", "-10.00")
"""A 10 USD refund, under every threshold: applied on arrival, reversed at the cancel."""
REVERSING = APPLIED + event("ADJ-1", "2026-03-05", "cancel", by="alice", reason="Mistake")


def _with_effective(text: str, marker: str) -> str:
    """`text` with `effective: 2026-03-20` on the (last) event whose header has `marker`."""
    head, _, tail = text.rpartition(marker)
    line_end = tail.index("\n") + 1
    return head + marker + tail[:line_end] + EFFECTIVE + tail[line_end:]


IGNORED = [
    # (case, ledger before the event, the event, adjustment, state it must keep)
    ("reject", BIG, event("ADJ-2", "2026-03-03", "reject", by="erin", reason="No"),
     "ADJ-2", State.PENDING),
    ("withdraw", BIG, event("ADJ-2", "2026-03-03", "cancel", by="alice", reason="Oops"),
     "ADJ-2", State.PENDING),
    ("first of two levels", BIG, event("ADJ-2", "2026-03-03", "approve", by="erin"),
     "ADJ-2", State.PENDING),
    ("approve left for an apply", BILLING, event("ADJ-3", "2026-03-03", "approve", by="bob"),
     "ADJ-3", State.PENDING),
    ("cancel asking for a reversal", APPLIED,
     event("ADJ-1", "2026-03-05", "cancel", by="alice", reason="Mistake"),
     "ADJ-1", State.APPLIED),
    ("cancel reversing at once", TINY,
     event("ADJ-4", "2026-03-05", "cancel", by="alice", reason="Mistake"),
     "ADJ-4", State.APPLIED),
    ("approve of a reversal", REVERSING, event("ADJ-1", "2026-03-06", "approve", by="erin"),
     "ADJ-1", State.REVERSING),
    ("reject of a reversal", REVERSING,
     event("ADJ-1", "2026-03-06", "reject", by="erin", reason="Keep it"),
     "ADJ-1", State.REVERSING),
]


@pytest.mark.parametrize(("case", "before", "decision", "adj_id", "state"), IGNORED,
                         ids=[case[0] for case in IGNORED])
def test_an_effective_date_on_an_event_that_books_nothing_is_an_error(
        case: str, before: str, decision: str, adj_id: str, state: State) -> None:
    """Hole: `effective:` on an event that books nothing (a reject, a withdrawal, an
    approval that does not complete the chain or leaves the request for an apply, a
    cancel asking for a reversal, a decision on a reversal, which is booked at its
    last approval) was ignored without a word: a reviewer reading the ledger
    believed the booking date set. It is an error `effective-ignored` at the event's
    line, and the event has no effect, as any event that says what cannot be done."""
    text = before + decision + EFFECTIVE
    loaded = load(text)
    line = loaded.line(decision.splitlines()[0])
    assert (line, "effective-ignored") in loaded.codes, loaded.errors
    [error] = [e for e in loaded.errors if e.source["lineno"] == line]
    assert "effective: 2026-03-20" in error.message
    assert loaded.adj(adj_id).state == state
    without = load(before + decision)
    assert without.errors == []
    assert without.adj(adj_id).state != state or case == "first of two levels"


@pytest.mark.parametrize("marker", ['"ADJ-1" "approve"', '"ADJ-3" "apply"', '"ADJ-2" "approve"'])
def test_an_effective_date_on_the_event_that_books_still_dates_it(marker: str) -> None:
    """Held: on the approval that books the request, or on its apply, `effective:`
    dates the booked entry as before."""
    text = (APPLIED + BILLING + event("ADJ-3", "2026-03-02", "approve", by="bob")
            + event("ADJ-3", "2026-03-03", "apply", by="bob")
            + BIG + event("ADJ-2", "2026-03-02", "approve", by="erin")
            + event("ADJ-2", "2026-03-03", "approve", by="carol"))
    loaded = load(_with_effective(text, marker))
    assert loaded.errors == []
    adj_id = marker.split(maxsplit=1)[0].strip('"')
    assert loaded.adj(adj_id).effective_date == datetime.date(2026, 3, 20)


def _ledger(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + BACKDATING + "\n" + text)
    return path


def test_the_cli_refuses_an_effective_date_the_approval_would_not_book(tmp_path: Path) -> None:
    """Hole: `bean-adjust approve --effective` on the first of two levels wrote the
    date on an approval that books nothing. The writer refuses what the plugin
    reports, with the same message, and writes nothing."""
    ledger = _ledger(tmp_path, BIG)
    before = ledger.read_bytes()
    result = CliRunner().invoke(main, ["approve", "-f", str(ledger), "--as", "erin",
                                       "--effective", "2026-03-20", "ADJ-2"],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "[effective-ignored]" in result.output
    assert "level 1 of 2" in result.output
    assert ledger.read_bytes() == before
    done = CliRunner().invoke(main, ["approve", "-f", str(ledger), "--as", "erin", "ADJ-2"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("action", [Action.REJECT, Action.CANCEL])
def test_the_writer_refuses_an_effective_date_on_a_reject_or_a_cancel(
        tmp_path: Path, action: Action) -> None:
    """Hole: the writer (Fava's decision form and the API pass `effective` through for
    any action) wrote `effective:` on a reject or a cancel, which book nothing."""
    ledger = _ledger(tmp_path, BIG)
    before = ledger.read_bytes()
    by = "erin" if action is Action.REJECT else "alice"
    with pytest.raises(WriteRefused) as refused:
        write_decisions(ledger, [Decision("ADJ-2", action, by=by, reason="No",
                                          effective=datetime.date(2026, 3, 20))])
    [refusal] = refused.value.refusals
    assert "[effective-ignored]" in refusal.message
    assert ledger.read_bytes() == before
    assert load_file(ledger).adj("ADJ-2").state == State.PENDING


def test_a_reversal_booked_at_its_approval_never_at_an_effective_date() -> None:
    """Held: with no `effective:`, the reversal lands on its last approval's day."""
    loaded = load(REVERSING + event("ADJ-1", "2026-03-06", "approve", by="erin"))
    assert loaded.errors == []
    reversals = [e for e in loaded.entries if isinstance(e, data.Transaction)
                 and "adjustment-reversal" in (e.tags or ())]
    assert [e.date for e in reversals] == [datetime.date(2026, 3, 6)]


# -- the order of one day's decisions -----------------------------------------------------

APPROVED_AT_10 = event("ADJ-1", "2026-03-02", "approve", by="bob",
                       at="2026-03-02T10:00:00+01:00")
REJECTED_AT_9 = event("ADJ-1", "2026-03-02", "reject", by="erin", reason="No proof",
                      at="2026-03-02T09:00:00+01:00")
OTHER = request("ADJ-9", "2026-03-01", "-30.00")


@pytest.mark.parametrize("junk", ["2026-03-02Tjunk", "2026-13-02T10:00:00Z",
                                  "2026-03-02T10:00:00+24:00", "2026-03-02 10:00:00"])
def test_a_stamp_that_does_not_read_does_not_undo_the_days_order(junk: str) -> None:
    """Hole: erin rejected ADJ-1 at 09:00 and bob's approval of 10:00 sits on an earlier
    line; `at:` orders them, so the reject counts and nothing moves. alice then wrote
    any event of that day (a cancel of her own ADJ-9) with an `at:` that does not
    read: one unreadable stamp made the day fall back to line order, bob's approval
    came first and booked 50 USD, and erin's reject was the misfit. A stamp that does
    not read (`bad-metadata`, that event refused) orders nothing; the others keep
    their order."""
    text = SMALL + OTHER + APPROVED_AT_10 + REJECTED_AT_9
    clean = load(text)
    assert clean.adj("ADJ-1").state == State.REJECTED
    alice = event("ADJ-9", "2026-03-02", "cancel", by="alice", reason="Dup", at=junk)
    loaded = load(text + alice)
    assert loaded.adj("ADJ-1").state == State.REJECTED
    assert loaded.balance("Assets:Receivable:Customers") == 0
    assert {code for _, code in loaded.codes} == {"invalid-transition", "bad-metadata"}
    assert (loaded.line('"ADJ-9" "cancel"'), "bad-metadata") in loaded.codes


def test_two_decisions_stamped_alike_in_two_files_keep_the_files_order(tmp_path: Path) -> None:
    """Held: two decisions of one day with the same `at:` in two included files are
    taken in the order Beancount lists the files (the top-level file first, then the
    included ones by path; the sort by `at:` is stable), whatever order the
    `include` lines are in or the lines the decisions sit on: the same each load, in
    the plugin and the writer alike."""
    stamp = "2026-03-02T10:00:00+01:00"
    (tmp_path / "a.beancount").write_text(
        "\n" * 40 + event("ADJ-1", "2026-03-02", "reject", by="erin", reason="No", at=stamp))
    (tmp_path / "b.beancount").write_text(
        event("ADJ-1", "2026-03-02", "approve", by="bob", at=stamp))
    for first, second in (("b", "a"), ("a", "b")):
        main_file = tmp_path / f"main-{first}.beancount"
        main_file.write_text(BASE + SMALL + f'include "{first}.beancount"\n'
                             f'include "{second}.beancount"\n')
        loaded = load_file(main_file)
        assert loaded.adj("ADJ-1").state == State.REJECTED
        assert loaded.codes == [(1, "invalid-transition")]


# -- who decides a reversal ---------------------------------------------------------------

PROMOTED = '2026-02-01 custom "adjustment-user" "alice" "agent" "manager"\n'
"""alice, who files requests, is a manager too from February."""


def _reversal_asked(by: str, entered_by: str | None = None) -> str:
    """ADJ-1 (alice's 50 USD refund, entered by `entered_by`) approved by a manager
    with no other duty on it, and its reversal asked for by `by`."""
    extra = f'entered-by: "{entered_by}"' if entered_by else ""
    approver = "erin" if "bob" in (by, entered_by) else "bob"
    return (PROMOTED + request("ADJ-1", "2026-03-01", "-50.00", extra=extra)
            + event("ADJ-1", "2026-03-02", "approve", by=approver)
            + event("ADJ-1", "2026-03-05", "cancel", by=by, reason="Refunded twice"))


REVERSAL_REJECTS = [
    # (case, ledger, who rejects, refused)
    ("the requester, another asked for it", _reversal_asked("carol"), "alice", True),
    ("the requester's look-alike", _reversal_asked("carol")
     + '2026-01-01 custom "adjustment-user" "Alice" "manager"\n', "Alice", True),
    ("who entered it, another asked for it", _reversal_asked("carol", entered_by="bob"),
     "bob", True),
    ("the requester who asked for it", _reversal_asked("alice"), "alice", False),
    ("the canceller", _reversal_asked("bob"), "bob", False),
    ("someone else", _reversal_asked("carol"), "erin", False),
]


@pytest.mark.parametrize(("case", "text", "by", "refused"), REVERSAL_REJECTS,
                         ids=[case[0] for case in REVERSAL_REJECTS])
def test_the_requester_does_not_refuse_the_reversal_of_their_own_adjustment(
        case: str, text: str, by: str, refused: bool) -> None:
    """Hole: carol (finance) found alice's refund paid twice and asked for its reversal;
    alice, a manager by then, rejected it and her refund stayed booked. The requester
    (or who entered the request, or a name that reads as theirs) cannot approve its
    reversal; refusing it decides it just as much, so they cannot reject it either
    (`self-rejection`), unless they asked for it themselves (withdrawing their own
    ask moves nothing back). Whoever asked for a reversal may still reject it, and
    anyone else holding a role of its chain."""
    rejected = event("ADJ-1", "2026-03-06", "reject", by=by, reason="Keep it")
    loaded = load(text + rejected)
    line = loaded.line('"ADJ-1" "reject"')
    if refused:
        assert loaded.codes == [(line, "self-rejection")], loaded.errors
        assert loaded.adj("ADJ-1").state == State.REVERSING
        assert "reversal" in loaded.errors[0].message
    else:
        assert loaded.errors == []
        assert loaded.adj("ADJ-1").state == State.APPLIED


# -- what held ------------------------------------------------------------------------------

ALIASES = [
    ("case", "Alice"), ("full width", "ａｌｉｃｅ"), ("trailing full stop", "alice."),
    ("compatibility ligature", "ﬁnn"),
]


@pytest.mark.parametrize(("case", "alias"), ALIASES, ids=[a[0] for a in ALIASES])
def test_a_by_that_reads_as_the_requester_is_self_approval(case: str, alias: str) -> None:
    """Held: a manager declared under a name that differs from the requester's only by
    case, width, a trailing full stop or a compatibility form (NFKC) is the requester
    as far as segregation of duties goes (`self-approval`), and nothing moves."""
    requester = "finn" if alias == "ﬁnn" else "alice"
    text = (f'2026-01-01 custom "adjustment-user" "{alias}" "manager"\n'
            '2026-01-01 custom "adjustment-user" "finn" "agent"\n'
            + request("ADJ-1", "2026-03-01", "-50.00", by=requester)
            + event("ADJ-1", "2026-03-02", "approve", by=alias))
    loaded = load(text)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "self-approval")]
    assert f'"{alias}" reads as "{requester}"' in loaded.errors[0].message
    assert loaded.balance("Assets:Receivable:Customers") == 0


def _digest_of(text: str, adj_id: str) -> str:
    digest: str = load(text).adj(adj_id).digest
    return digest


HELD = [
    # (case, ledger, adjustment, expected error codes, state it must be in)
    ("Erin fills erin's second level",
     '2026-01-01 custom "adjustment-user" "Erin" "finance"\n' + BIG
     + event("ADJ-2", "2026-03-02", "approve", by="erin")
     + event("ADJ-2", "2026-03-03", "approve", by="Erin"),
     "ADJ-2", {"same-approver"}, State.PENDING),
    ("another request's digest",
     SMALL + OTHER + event("ADJ-1", "2026-03-02", "approve", by="bob",
                           digest=_digest_of(OTHER, "ADJ-9")),
     "ADJ-1", {"stale-approval"}, State.PENDING),
    ("role removed that day, on a later line",
     SMALL + event("ADJ-1", "2026-03-02", "approve", by="bob")
     + '2026-03-02 custom "adjustment-user" "bob"\n',
     "ADJ-1", {"missing-role"}, State.PENDING),
    ("limit lowered that day, on a later line",
     SMALL + event("ADJ-1", "2026-03-02", "approve", by="bob")
     + '2026-03-02 custom "adjustment-user" "bob" "manager"\n  limit: 10.00 USD\n',
     "ADJ-1", {"over-limit"}, State.PENDING),
    ("a cancel of a reversal awaiting approval",
     REVERSING + event("ADJ-1", "2026-03-06", "cancel", by="alice", reason="Again"),
     "ADJ-1", {"invalid-transition"}, State.REVERSING),
    ("a hand-written judged: on an amount no price converts",
     BIG + event("ADJ-2", "2026-03-02", "approve", by="erin") + "  judged: 10.00 USD\n"
     + event("ADJ-2", "2026-03-03", "approve", by="carol"),
     "ADJ-2", {"missing-role"}, State.PENDING),
    ("a hand-written limit-judged: in the amount's own currency",
     BIG + event("ADJ-2", "2026-03-02", "approve", by="erin") + "  limit-judged: 1.00 USD\n"
     + event("ADJ-2", "2026-03-03", "approve", by="carol"),
     "ADJ-2", {"missing-role"}, State.PENDING),
    ("a chain: shorter than the one in force",
     BIG + event("ADJ-2", "2026-03-02", "approve", by="erin", chain="manager"),
     "ADJ-2", {"stale-approval"}, State.PENDING),
    ("an at: far in the future",
     SMALL + event("ADJ-1", "2026-03-02", "approve", by="bob", at="9999-12-30T23:59:59Z"),
     "ADJ-1", {"backdated"}, State.PENDING),
    ("an at: with an offset of 24 hours",
     SMALL + event("ADJ-1", "2026-03-02", "approve", by="bob",
                   at="2026-03-02T10:00:00+24:00"),
     "ADJ-1", {"bad-metadata"}, State.PENDING),
]


@pytest.mark.parametrize(("case", "text", "adj_id", "errors", "state"), HELD,
                         ids=[h[0] for h in HELD])
def test_decisions_that_claim_more_than_they_are_count_for_nothing(
        case: str, text: str, adj_id: str, errors: set[str], state: State) -> None:
    """Held: a look-alike of the first approver is the same person; another request's
    digest makes an approval stale (and the approval that would book it an error);
    a role removed or a limit lowered on the approval's day binds it whatever line it
    sits on; a reversal awaiting approval cannot be cancelled again; `judged:`,
    `limit-judged:` or `chain:` written by hand to differ from what the replay finds
    make the approval stale, never fresh (the next approver then fills the first
    level's role, or cannot); an `at:` that does not read, or that is far after the
    event's date, is refused. Nothing moves."""
    loaded = load(text)
    assert {code for _, code in loaded.codes} == errors, loaded.errors
    assert loaded.adj(adj_id).state == state
    assert loaded.balance("Assets:Receivable:Customers") == (
        -50 if state == State.REVERSING else 0)
