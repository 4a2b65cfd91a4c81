"""Review of round 53's batch writes (`writer.batch`): attacks on a write that decides
one adjustment several times. "Hole:" tests failed on the code they were written
against; "Holds:" ones held."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from beancount_adjustments.core.figures import figure
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, WriteRefused, batch, judging, write_decisions
from beancount_adjustments.writer.ledger import Ledger
from ledgers import BASE, load, load_file, request

CHAIN = [Decision("ADJ-1", Action.APPROVE, by="bob", seen_step="pending 0/1"),
         Decision("ADJ-1", Action.CANCEL, by="bob", reason="Duplicate",
                  seen_step="applied 1/1")]
"""An Approve of pending ADJ-1 and the Cancel that follows it (asks for a reversal)."""


def _ledger(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def _first_call_raises(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real = getattr(judging, name)
    calls: list[int] = []

    def once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("cannot go on\nat line 2")
        return real(*args, **kwargs)
    monkeypatch.setattr(judging, name, once)


@pytest.mark.parametrize("name", ["replay", "_check_beancount", "_read"])
def test_a_failure_inside_the_trial_write_is_a_one_line_refusal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Hole: an exception in judging the earlier decisions of a chain on trial (Beancount's
    balance check or the parser failing, not the replay) went out of `write_decisions`
    as a traceback (RuntimeError), and one in the replay as a refusal whose message
    carried the exception's line breaks. Now any failure in judging is refused in one
    line, "cannot be judged", and nothing is written."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-50")
            + "2030-01-01 balance Assets:Receivable:Customers -50 USD\n")
    path = _ledger(tmp_path, text)
    if name == "replay":
        monkeypatch.setattr(judging, "continued", lambda *args: "a full replay")
    _first_call_raises(monkeypatch, name)
    for partial in (False, True):
        with pytest.raises(WriteRefused) as refused:
            write_decisions(path, CHAIN, partial=partial)
        (only,) = refused.value.refusals
        assert "cannot be judged (RuntimeError: cannot go on at line 2)" in only.message
        assert "\n" not in only.message
        assert path.read_text() == text
        monkeypatch.undo()
        if name == "replay":
            monkeypatch.setattr(judging, "continued", lambda *args: "a full replay")
        _first_call_raises(monkeypatch, name)
    monkeypatch.undo()
    assert write_decisions(path, CHAIN).written == 2  # and the chain itself is fine


def test_a_batch_of_distinct_ids_pays_no_trial_write(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Holds: 60 decisions on 60 adjustments are judged once (no trial write of any);
    with one of them decided twice, once more for the second level only."""
    text = BASE + "".join(request(f"ADJ-{n}", "2026-11-01", "-50") for n in range(60))
    path = _ledger(tmp_path, text)
    trials: list[int] = []
    real = batch.judge

    def counted(led: Any, items: Any) -> Any:
        trials.append(len(items))
        return real(led, items)
    monkeypatch.setattr(batch, "judge", counted)
    distinct = [Decision(f"ADJ-{n}", Action.APPROVE, by="bob", seen_step="pending 0/1")
                for n in range(60)]
    assert write_decisions(path, distinct, dry_run=True).ids == tuple(
        f"ADJ-{n}" for n in range(60))
    assert trials == []
    chained = [*distinct, Decision("ADJ-7", Action.CANCEL, by="bob", reason="Duplicate",
                                   seen_step="applied 1/1")]
    assert len(write_decisions(path, chained, dry_run=True).ids) == 61
    assert trials == [60]


def test_the_trial_write_does_not_index_the_ledger_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: the trial write and the book after it were copies of the write's ledger made
    with `dataclasses.replace`, which drops what it had indexed once per load (its
    entries by type, for Beancount's checks and the accounts' open dates): a chain of
    two decisions grouped every entry of the ledger three times, of ten, nineteen
    times (0.02 s a time at 100k transactions). Now once."""
    path = _ledger(tmp_path, BASE + request("ADJ-1", "2026-11-01", "-50")
                   + "2030-01-01 balance Assets:Receivable:Customers -50 USD\n")
    real = Ledger.__dict__["by_type"].func
    grouped: list[int] = []

    def counting(self: Ledger) -> Any:
        grouped.append(1)
        return real(self)
    prop = cached_property(counting)
    prop.__set_name__(Ledger, "by_type")
    monkeypatch.setattr(Ledger, "by_type", prop)
    assert write_decisions(path, CHAIN, dry_run=True).ids == ("ADJ-1", "ADJ-1")
    assert len(grouped) == 1


@pytest.mark.parametrize("other", ["ADJ-1 ", "adj-1", "^ADJ-1", "ADJ\u20111", "ADJ-01"])
def test_an_id_spelled_another_way_is_no_second_decision(tmp_path: Path, other: str) -> None:
    """Holds: the Cancel that follows the Approve under the id written another way
    (blanks, case, a link's caret, a look-alike hyphen, a zero) names no adjustment:
    refused as such, never paired with the Approve nor judged on its own at the step
    the ledger holds."""
    text = BASE + request("ADJ-1", "2026-11-01", "-50")
    path = _ledger(tmp_path, text)
    decisions = [CHAIN[0], Decision(other, Action.CANCEL, by="bob", reason="Duplicate",
                                    seen_step="pending 0/1")]
    result = write_decisions(path, decisions, partial=True)
    assert result.ids == ("ADJ-1",)
    assert [(r.index, r.message) for r in result.refused] == [
        (1, f"no request has the id {other!r}; check the spelling")]
    assert load_file(path).state("ADJ-1") == "applied"


def test_a_balance_assertion_that_refuses_the_first_refuses_the_chain(tmp_path: Path) -> None:
    """Holds: the Approve of ADJ-1 books an entry a later balance assertion forbids; the
    Cancel following it (rendered on a trial where the Approve is refused) is refused
    as `changed`; an Approve of another id in the batch, judged with them, too (the
    assertion fails on the two together), and with `partial` nothing is written."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-50") + request("ADJ-2", "2026-11-01", "-50")
            + "2030-01-01 balance Assets:Receivable:Customers 0 USD\n")
    path = _ledger(tmp_path, text)
    decisions = [CHAIN[0], Decision("ADJ-2", Action.APPROVE, by="bob", seen_step="pending 0/1"),
                 CHAIN[1]]
    result = write_decisions(path, decisions, partial=True)
    assert result.written == 0
    assert [(r.index, r.code) for r in result.refused] == [
        (0, "refused"), (1, "refused"), (2, "changed")]
    assert "balance assertion" in result.refused[0].message
    assert path.read_text() == text


CROSS_CURRENCY = '''
2026-01-01 commodity EUR
2026-01-01 open Income:Sales:EU EUR
2026-01-01 price USD 0.9 EUR

2026-11-01 ! "cust_456" "Refund, part in euros" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "cust_456"
  requested-by: "alice"
  reason: "Refund"
  Assets:Receivable:Customers  -50.00 USD
  Income:Sales:EU  60.00 EUR
  Income:Sales  -16.67 USD
'''
"""ADJ-1 moves 60 EUR, converted at the inverse of `price USD 0.9 EUR`: 66.67 USD,
computed as 66.67000000000000000000000000."""


def test_a_converted_amount_reads_without_the_zeros_the_division_leaves() -> None:
    """Hole: since amounts show every digit (`figure`, round 54), ADJ-1's amount, which a
    price converted, read "66.67000000000000000000000000 USD" on every page, notice and
    refusal: the zeros a division leaves are no booked digits. Trailing zeros past the
    cents are dropped now (the number is the same); every other digit stays, past
    Decimal's 28 too."""
    loaded = load(CROSS_CURRENCY)
    adj = loaded.book.get("ADJ-1") if loaded.book is not None else None
    assert adj is not None
    assert adj.amount is not None
    assert str(adj.amount) == "66.67 USD"
    assert figure(Decimal("1.500")) == "1.50"
    assert figure(Decimal("0.000")) == figure(Decimal("0E-10")) == "0.00"
    assert figure(Decimal("-2500.0040")) == "-2,500.004"
    assert figure(Decimal("1000.0000000000000000000000000004")) == (
        "1,000.0000000000000000000000000004")
