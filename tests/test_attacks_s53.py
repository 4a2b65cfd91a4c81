"""Round 53 of attacks: several decisions in one write.

alice (an agent) files requests and may approve nothing; bob (a manager, limit 1,000
USD), erin (a manager), carol (finance) and dave (CFO) decide them. Each tool that
writes more than one decision at once is tried: Fava's batch endpoint (with and
without the `step` each row showed), `bean-adjust approve ID ID ...`, and the writer
that the Python API and scripts call with a list. The same adjustment is decided
twice in one write (approve then cancel, approve then apply, cancel then approve,
a reversal asked for and approved, two levels by two people), under its id written
another way, and a batch with one bad item among good ones is checked to write
nothing at all. "Hole:" tests failed on the code they were written against (the
fix is named in the commit that added them); "Holds:" ones held.
"""

from __future__ import annotations

import datetime
import errno
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fava_env import DECIDE, Env
from sample_ledgers import invoice
from signing import KEYS, write_key

from beancount_adjustments.cli import main
from beancount_adjustments.core import signatures
from beancount_adjustments.core.lifecycle import step_shown
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions
from ledgers import BACKDATING, BASE, load, load_file, request

EUR_LIMIT = ('2026-01-01 commodity EUR\n2026-01-01 price EUR 1.25 USD\n'
             '2026-01-02 custom "adjustment-user" "carol" "finance"\n'
             '  limit: 5000.00 EUR\n')
"""carol's finance limit is in euros: an approval of hers records `limit-judged:`."""
BILLED = invoice(1, "cust_456", amount="100.00", date="2026-10-01")
"""INV-1: cust_456 billed 100 USD, what a billing correction (applied separately) names."""


def _ledger(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def _run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [args[0], "-f", str(path), *args[1:]],
                              catch_exceptions=False)


def _clean(path: Path) -> Any:
    """The ledger as bean-check loads it, asserting the plugin and Beancount report
    nothing."""
    loaded = load_file(path)
    assert loaded.book is not None
    assert not loaded.errors, [e.message for e in loaded.errors]
    return loaded


def _digest(path: Path, adj_id: str) -> str:
    return str(load_file(path).adj(adj_id).digest)


@pytest.fixture
def env(tmp_path: Path, poll_watcher: None) -> Env:
    return Env(tmp_path)


def _shown(env: Env, adj_id: str, action: str, *, step: bool = True,
           **extra: str) -> dict[str, str]:
    """A decision as a page posts it (its digest, and its step unless `step=False`)."""
    book = env.ext.book
    adj = book.get(adj_id) if book is not None else None
    assert adj is not None
    return {"id": adj_id, "action": action, "digest": adj.digest,
            **({"step": step_shown(adj)} if step else {}), **extra}


def _post(env: Env, decisions: list[dict[str, str]], user: str = "bob") -> Any:
    return env.client.post(DECIDE, headers={"X-Remote-User": user},
                           json={"decisions": decisions})


# -- Fava's batch: one adjustment twice -------------------------------------------------

@pytest.mark.parametrize("second_id", ["ADJ-2", " ADJ-2 "])
def test_a_stepless_approve_and_cancel_of_one_id_write_nothing(env: Env,
                                                              second_id: str) -> None:
    """Hole: a hand-written body with an Approve and a Cancel of pending ADJ-2 and no
    `step` wrote both (200, written 2): the Approve booked the credit and the Cancel,
    judged after it, filed a request to reverse it (ADJ-2 `reversing`), which no page
    ever offered; " ADJ-2 " (the id with blanks, the same adjustment once read) did
    the same. Now a batch that decides one adjustment twice without every decision
    naming its step is refused whole, saying which two, and nothing is written."""
    before = env.snapshot()
    answer = _post(env, [_shown(env, "ADJ-8", "approve"),
                         _shown(env, "ADJ-2", "approve", step=False),
                         {**_shown(env, "ADJ-2", "cancel", step=False, reason="Duplicate"),
                          "id": second_id}])
    body = answer.get_json()
    assert answer.status_code == 422, body
    assert body["written"] == 0
    assert "decisions 2 and 3 of the batch both decide ADJ-2" in body["message"]
    assert "\n" not in body["message"]
    assert env.snapshot() == before
    assert (env.state("ADJ-2"), env.state("ADJ-8")) == ("pending", "pending")


def test_a_step_on_the_first_decision_only_does_not_let_the_second_through(
        env: Env) -> None:
    """Hole: the earlier fix (a second decision of a batch on one adjustment is
    refused when it names its step) was passed by leaving the step off the second:
    Approve ADJ-2 (step "pending 0/1") and Cancel ADJ-2 (no step) were both written,
    ADJ-2 left `reversing`. Now refused whole, nothing written."""
    before = env.snapshot()
    answer = _post(env, [_shown(env, "ADJ-2", "approve"),
                         _shown(env, "ADJ-2", "cancel", step=False, reason="Duplicate")])
    assert answer.status_code == 422, answer.get_json()
    assert "both decide ADJ-2" in answer.get_json()["message"]
    assert env.snapshot() == before


def test_approve_then_apply_in_one_stepless_batch_by_one_person(tmp_path: Path) -> None:
    """Hole: a billing correction applies by a separate step; the page offers bob its
    Approve only. A body with Approve and Apply of it and no steps wrote both:
    approved and booked in one click. Now refused whole; with the steps the two
    follow one another ("pending 0/1", then "approved 1/1") both are written, and the
    ledger passes bean-check."""
    text = BASE + BILLED + request("ADJ-1", "2026-11-01", "-50",
                                   type="billing:invoice-correction",
                                   extra='invoice: "INV-1"')
    path = _ledger(tmp_path, text)
    digest = _digest(path, "ADJ-1")
    stepless = [Decision("ADJ-1", Action.APPROVE, by="bob", seen_digest=digest),
                Decision("ADJ-1", Action.APPLY, by="bob", seen_digest=digest)]
    with pytest.raises(WriteRefused, match="decisions 1 and 2 of the batch both decide "
                                           "ADJ-1") as refused:
        write_decisions(path, stepless, partial=True)
    assert [r.index for r in refused.value.refusals] == [1]
    assert path.read_text() == text
    stepped = [Decision("ADJ-1", Action.APPROVE, by="bob", seen_digest=digest,
                        seen_step="pending 0/1"),
               Decision("ADJ-1", Action.APPLY, by="bob", seen_digest=digest,
                        seen_step="approved 1/1")]
    result = write_decisions(path, stepped)
    assert result.written == 2
    assert _clean(path).state("ADJ-1") == "applied"


def test_a_reversal_asked_for_and_approved_in_one_write(tmp_path: Path) -> None:
    """Hole: through the writer (a script's list), carol's Cancel of applied ADJ-1 and
    bob's Approve, no steps, were written together and reversed the credit in one
    write: bob approved a reversal no one had shown him, since it did not exist when
    the batch was made. Now refused whole; named steps ("applied 1/1", then the
    reversal's "reversing 0/1") chain, and the reversal is approved as such."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-300")
            + '2026-11-02 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n')
    path = _ledger(tmp_path, text)
    stepless = [Decision("ADJ-1", Action.CANCEL, by="carol", reason="Charged twice"),
                Decision("ADJ-1", Action.APPROVE, by="bob")]
    with pytest.raises(WriteRefused, match="both decide ADJ-1"):
        write_decisions(path, stepless)
    assert path.read_text() == text
    stepped = [Decision("ADJ-1", Action.CANCEL, by="carol", reason="Charged twice",
                        seen_step="applied 1/1"),
               Decision("ADJ-1", Action.APPROVE, by="bob", seen_step="reversing 0/1")]
    assert write_decisions(path, stepped).written == 2
    loaded = _clean(path)
    assert loaded.state("ADJ-1") == "reversed"
    assert loaded.tagged("adjustment-reversal", "ADJ-1")


def test_two_levels_by_two_people_in_one_write_record_the_level_each_approved(
        tmp_path: Path) -> None:
    """Hole: ADJ-1 (2,000 USD) needs a manager, then finance. erin's and carol's
    approvals in one list, no steps, were both written, carol's rendered as if she
    approved level 1 (the step the ledger held before the batch): without the
    `limit-judged: 1600.00 EUR` her euro limit is checked at, which the same
    approval written on its own carries. With steps ("pending 0/2", "pending 1/2")
    the second was refused, saying it "awaited pending 1/2, now pending 0/2". Now
    the stepless list is refused, and the stepped one writes carol's approval as
    judged after erin's."""
    text = BASE + EUR_LIMIT + request("ADJ-1", "2026-11-01", "-2000")
    path = _ledger(tmp_path, text)
    with pytest.raises(WriteRefused, match="both decide ADJ-1"):
        write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="erin"),
                               Decision("ADJ-1", Action.APPROVE, by="carol")])
    assert path.read_text() == text
    result = write_decisions(path, [
        Decision("ADJ-1", Action.APPROVE, by="erin", seen_step="pending 0/2"),
        Decision("ADJ-1", Action.APPROVE, by="carol", seen_step="pending 1/2")])
    assert result.written == 2
    carols = result.text.split("\n\n")[1]
    assert 'by: "carol"' in carols
    assert "limit-judged: 1600.00 EUR" in carols
    assert _clean(path).state("ADJ-1") == "applied"


def test_a_reversal_approved_in_the_write_that_asks_for_it_is_signed_as_one(
        tmp_path: Path) -> None:
    """Hole: where credits need signed approvals, bob's signed approval listed after
    carol's Cancel of applied ADJ-1 was signed as an approval of the credit (the step
    the ledger held before the write), so the writer refused its own entry as
    `bad-signature` ("forged, copied from another decision"); with steps it was
    refused as `changed`. Now, with steps, it is signed as the reversal's approval,
    verifies, and the credit is reversed."""
    keyed = ('2026-01-01 custom "adjustment-policy" "credit:*"\n  signatures: "required"\n'
             + "".join(f'2026-01-01 custom "adjustment-key" "{who}" '
                       f'"{signatures.public_b64(KEYS[who])}"\n' for who in ("bob", "erin")))
    pem = {}
    for who in ("bob", "erin"):
        pem[who] = tmp_path / f"{who}.pem"
        write_key(pem[who], KEYS[who])
    path = _ledger(tmp_path, BASE + keyed + request("ADJ-1", "2026-11-01", "-300"))
    write_decisions(path, [Decision("ADJ-1", Action.APPROVE, by="erin", sign_with=pem["erin"])])
    assert _clean(path).state("ADJ-1") == "applied"
    result = write_decisions(path, [
        Decision("ADJ-1", Action.CANCEL, by="carol", reason="Charged twice",
                 seen_step="applied 1/1"),
        Decision("ADJ-1", Action.APPROVE, by="bob", sign_with=pem["bob"],
                 seen_step="reversing 0/1")])
    assert result.written == 2
    assert "signature:" in result.text.split("\n\n")[1]
    assert _clean(path).state("ADJ-1") == "reversed"


def test_a_chain_of_a_thousand_steps_on_one_adjustment_is_refused_at_once(
        env: Env) -> None:
    """Hole: in the chaining this round adds, bob may cancel an applied credit and
    withdraw that ask (reject the reversal) again and again, each step following
    the one before ("applied 1/1", "reversing 0/1", "applied 1/1", "reversing 0/1
    #2", ...). Each later decision is judged on a trial write of those before it,
    a cost growing with the square of the chain: a body of a thousand such steps
    held the writer's lock for 11 s, Fava's limit of 5,000 for minutes. A batch
    decides one adjustment at most 10 times: the eleventh is refused, whole and at
    once."""
    body = [_shown(env, "ADJ-6", "cancel", reason="Loop")]
    for n in range(1, 1000):
        body.append({**body[0], "action": "reject" if n % 2 else "cancel",
                     "step": "applied 1/1" if n % 2 == 0 else (
                         "reversing 0/1" if n == 1 else f"reversing 0/1 #{(n + 1) // 2}")})
    before = env.snapshot()
    answer = _post(env, body)
    message = answer.get_json()["message"]
    assert answer.status_code == 422, message
    assert "decision 11 of the batch decides ADJ-6 for the 11th time" in message
    assert env.snapshot() == before
    ten = _post(env, body[:10])
    assert ten.status_code == 200, ten.get_json()
    assert ten.get_json()["written"] == 10
    assert env.state("ADJ-6") == "applied"


def test_a_chained_decision_is_refused_when_the_one_before_it_is(tmp_path: Path) -> None:
    """Holds: in a partial write, bob's approval of 2,000 USD is over his limit and
    refused; carol's, naming "pending 1/2" (the step after bob's), is refused as
    `changed` (it would approve level 1), and the other request is written."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-2000")
            + request("ADJ-2", "2026-11-01", "-50"))
    path = _ledger(tmp_path, text)
    result = write_decisions(path, [
        Decision("ADJ-1", Action.APPROVE, by="bob", seen_step="pending 0/2"),
        Decision("ADJ-2", Action.APPROVE, by="bob", seen_step="pending 0/1"),
        Decision("ADJ-1", Action.APPROVE, by="carol", seen_step="pending 1/2")],
        partial=True)
    assert result.ids == ("ADJ-2",)
    assert [(r.index, r.code, r.rule) for r in result.refused] == [
        (0, "refused", "over-limit"), (2, "changed", "")]
    loaded = _clean(path)
    assert (loaded.state("ADJ-1"), loaded.state("ADJ-2")) == ("pending", "applied")


def test_a_chained_decision_dated_before_the_one_it_follows(tmp_path: Path) -> None:
    """Holds: with back-dating allowed, a Cancel naming "applied 1/1" (the step after
    the Approve before it in the list) but dated the day before that Approve would be
    replayed first and withdraw the pending request instead: it is refused as
    `changed` (a whole write writes nothing, a partial one the Approve alone)."""
    text = BASE + BACKDATING + request("ADJ-1", "2026-11-01", "-50")
    path = _ledger(tmp_path, text)
    today = datetime.date.today()
    decisions = [
        Decision("ADJ-1", Action.APPROVE, by="bob", seen_step="pending 0/1", date=today),
        Decision("ADJ-1", Action.CANCEL, by="bob", reason="Duplicate",
                 seen_step="applied 1/1", date=today - datetime.timedelta(days=1))]
    with pytest.raises(WriteRefused) as refused:
        write_decisions(path, decisions)
    assert [(r.index, r.code) for r in refused.value.refusals] == [(1, "changed")]
    assert path.read_text() == text
    result = write_decisions(path, decisions, partial=True)
    assert [(r.index, r.code) for r in result.refused] == [(1, "changed")]
    assert result.written == 1
    assert _clean(path).state("ADJ-1") == "applied"


BOTH_ROLES = ('2026-01-01 custom "adjustment-user" "erin" "finance"\n'
              '2026-01-01 custom "adjustment-user" "carol" "manager"\n')
"""erin and carol each hold manager and finance: either may fill either level."""


def test_a_back_dated_step_before_a_written_decision(tmp_path: Path) -> None:
    """Hole: ADJ-1 (12,000 USD) needs a manager, finance and the cfo; erin's level-1
    approval is written, dated yesterday, and back-dating is allowed. `approve ADJ-1
    --as carol --step "pending 1/3" --date` the day before was written: it passed the
    step check (the ledger awaits "pending 1/3") but is replayed before erin's, so
    carol filled level 1, not the finance level her step named. Now refused
    (`changed`, naming erin's approval and its line), and a chain after it in one
    write (dave at "pending 2/3") with it; nothing written."""
    today = datetime.date.today()
    yesterday, before = today - datetime.timedelta(days=1), today - datetime.timedelta(days=2)
    text = (BASE + BACKDATING + BOTH_ROLES + request("ADJ-1", "2026-11-01", "-12000")
            + f'{yesterday} custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n')
    path = _ledger(tmp_path, text)
    alone = _run(path, "approve", "ADJ-1", "--as", "carol", "--step", "pending 1/3",
                 "--date", before.isoformat())
    assert alone.exit_code == 1, alone.output
    assert f"before its approve at {path}:{len(text.splitlines()) - 1}" in alone.output
    assert path.read_text() == text
    decisions = [
        Decision("ADJ-1", Action.APPROVE, by="carol", seen_step="pending 1/3", date=before),
        Decision("ADJ-1", Action.APPROVE, by="dave", seen_step="pending 2/3", date=today)]
    result = write_decisions(path, decisions, partial=True)
    assert [(r.index, r.code) for r in result.refused] == [(0, "changed"), (1, "changed")]
    assert result.written == 0
    assert path.read_text() == text
    stepless = _run(path, "approve", "ADJ-1", "--as", "carol", "--date", before.isoformat())
    assert stepless.exit_code == 0, stepless.output  # no step named: judged where it falls
    assert step_shown(_clean(path).adj("ADJ-1")) == "pending 2/3"


def test_an_approve_and_a_cancel_naming_one_step_write_the_first(env: Env) -> None:
    """Holds (round 35's fix, still): both shown "pending 0/1", the Cancel is refused as
    `changed` (after the Approve ADJ-2 awaits "applied 1/1"), the Approve written."""
    answer = _post(env, [_shown(env, "ADJ-2", "approve"),
                         _shown(env, "ADJ-2", "cancel", reason="Duplicate")])
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert [(r["id"], r["code"]) for r in body["refused"]] == [("ADJ-2", "changed")]
    assert "pending 0/1" in body["refused"][0]["message"]
    assert env.state("ADJ-2") == "applied"


def test_cancel_then_approve_again_never_approves(env: Env) -> None:
    """Holds: Cancel then Approve of pending ADJ-2, both with the step shown: the
    Cancel withdraws it and the Approve is refused (`changed`: it is withdrawn);
    nothing approves a withdrawn request."""
    answer = _post(env, [_shown(env, "ADJ-2", "cancel", reason="Filed twice"),
                         _shown(env, "ADJ-2", "approve")])
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert [(r["id"], r["code"]) for r in body["refused"]] == [("ADJ-2", "changed")]
    assert env.state("ADJ-2") == "withdrawn"
    assert '"ADJ-2" "approve"' not in env.path.read_text()


# -- all or nothing ----------------------------------------------------------------------

FIVE = BASE + "".join(request(f"ADJ-{i}", "2026-11-01", "-50",
                              by="bob" if i == 3 else "alice") for i in range(1, 6))
"""Five pending 50 USD credits; ADJ-3 is bob's own."""
FIVE_IDS = [f"ADJ-{i}" for i in range(1, 6)]


def test_item_3_of_5_refused_writes_nothing_and_names_it(tmp_path: Path) -> None:
    """Holds: `approve ADJ-1 ... ADJ-5 --as bob` with ADJ-3 bob's own: exit 1, one line
    naming ADJ-3 and the rule, the file byte for byte as it was; `--skip-refused`
    writes the four others and the ledger passes bean-check."""
    path = _ledger(tmp_path, FIVE)
    before = path.read_bytes()
    result = _run(path, "approve", *FIVE_IDS, "--as", "bob")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("bean-adjust: refused: ADJ-3 approve by bob")
    assert "[self-approval]" in lines[0]
    assert path.read_bytes() == before
    skipped = _run(path, "approve", *FIVE_IDS, "--as", "bob", "--skip-refused")
    assert skipped.exit_code == 1
    assert "wrote 4 approvals" in skipped.output
    assert _clean(path).state("ADJ-3") == "pending"


def test_a_repeated_id_at_item_3_of_5_in_a_list_writes_nothing(tmp_path: Path) -> None:
    """Hole: a script's list deciding ADJ-1 to ADJ-4 with ADJ-2 cancelled as third item
    (after its approve) wrote all five, ADJ-2 left `reversing`. Now nothing is
    written, even with `partial=True`, and the refusal is one line naming the third
    decision and the one it repeats."""
    path = _ledger(tmp_path, FIVE)
    before = path.read_bytes()
    decisions = [Decision("ADJ-1", Action.APPROVE, by="erin"),
                 Decision("ADJ-2", Action.APPROVE, by="erin"),
                 Decision("ADJ-2", Action.CANCEL, by="erin", reason="Oops"),
                 Decision("ADJ-4", Action.APPROVE, by="erin"),
                 Decision("ADJ-5", Action.APPROVE, by="erin")]
    for partial in (False, True):
        with pytest.raises(WriteRefused) as refused:
            write_decisions(path, decisions, partial=partial)
        [only] = refused.value.refusals
        assert (only.key, only.index) == ("ADJ-2", 2)
        assert str(only).startswith("ADJ-2: decisions 2 and 3 of the batch both decide "
                                    "ADJ-2")
        assert "\n" not in str(only)
        assert path.read_bytes() == before


def test_a_full_disk_in_a_batch_of_five_writes_nothing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Holds: the disk fills while the five approvals are written: one line, exit 1,
    the file as it was and no temporary file left."""
    path = _ledger(tmp_path, FIVE)
    before = path.read_bytes()

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    result = _run(path, "approve", "ADJ-1", "ADJ-2", "ADJ-4", "ADJ-5", "--as", "bob")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "no space left" in result.output.lower()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
        "main.beancount"]


# -- the CLI's many ids ------------------------------------------------------------------

def test_the_same_id_twice_or_in_another_spelling_on_the_command_line(tmp_path: Path) -> None:
    """Holds: `approve ADJ-1 ADJ-1` writes one approval; `approve ADJ-1 adj-1` (no such
    id) and `approve ADJ-1 "ADJ-1 "` are refused whole, naming the id as given."""
    path = _ledger(tmp_path, FIVE)
    before = path.read_bytes()
    for other in ("adj-1", "ADJ-1 ", "ADJ\u20111"):
        result = _run(path, "approve", "ADJ-1", other, "--as", "bob")
        assert result.exit_code == 1, other
        assert f"no request has the id {other!r}" in result.output
        assert path.read_bytes() == before
    twice = _run(path, "approve", "ADJ-1", "ADJ-1", "--as", "bob")
    assert twice.exit_code == 0, twice.output
    assert path.read_text().count('"ADJ-1" "approve"') == 1
    _clean(path)


def test_two_as_options_are_one_person_approving_one_level(tmp_path: Path) -> None:
    """Holds: `approve ADJ-1 --as erin --as carol` on a 2,000 USD credit (manager, then
    finance) is not two levels by two people: one `--as` acts (the last, as every
    option given twice), carol holds no manager role, and nothing is written."""
    text = BASE + request("ADJ-1", "2026-11-01", "-2000")
    path = _ledger(tmp_path, text)
    result = _run(path, "approve", "ADJ-1", "--as", "erin", "--as", "carol")
    assert result.exit_code == 1
    assert "carol" in result.output
    assert "[missing-role]" in result.output
    assert path.read_text() == text


def test_credits_against_one_invoice_are_judged_together(tmp_path: Path) -> None:
    """Holds: two 60 USD credits against a 100 USD invoice, each within it alone: the
    batch refuses the second (`exceeds-invoice`), the CLI writes nothing, and with
    `--skip-refused` only the first is booked."""
    text = (BASE + BILLED + request("ADJ-1", "2026-11-01", "-60", extra='invoice: "INV-1"')
            + request("ADJ-2", "2026-11-01", "-60", extra='invoice: "INV-1"'))
    path = _ledger(tmp_path, text)
    result = _run(path, "approve", "ADJ-1", "ADJ-2", "--as", "bob")
    assert result.exit_code == 1
    assert "ADJ-2" in result.output
    assert "[exceeds-invoice]" in result.output
    assert path.read_text() == text
    assert _run(path, "approve", "ADJ-1", "ADJ-2", "--as", "bob",
                "--skip-refused").exit_code == 1
    loaded = _clean(path)
    assert (loaded.state("ADJ-1"), loaded.state("ADJ-2")) == ("applied", "pending")
    assert load(path.read_text(), base=False).adj("ADJ-2").approvals == ()
