"""The decisions of one write judged against each other.

A write decides an adjustment once, or up to `EACH_AT_MOST` times when each of
those decisions names the step it was shown (`Decision.seen_step`) and each names
the step the one before leaves. Judged one after the other without steps, a later
decision acts on what the earlier ones leave, which no page showed (an Approve and
a Cancel of a pending credit booked it and asked for its reversal). A later
decision is rendered on a trial write of the earlier ones (its `chain:`,
`limit-judged:` and signature are those of the level it fills); `judging` refuses
it when one it follows is not written.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

from beancount_adjustments.writer.items import decision_item, unwritten_before
from beancount_adjustments.writer.judging import judge
from beancount_adjustments.writer.ledger import Item, Ledger
from beancount_adjustments.writer.results import Decision, Refusal, WriteRefused

EACH_AT_MOST = 10
"""Decisions one write may make on one adjustment (each later one is judged on a trial
write of those before it): more than any chain of levels, its apply and a reversal's."""


def decision_items(led: Ledger, decisions: Sequence[Decision]) -> list[Item]:
    """`items.decision_item` of each decision, a later one on the same adjustment
    judged on the book the earlier ones of the write leave; `WriteRefused` (even
    for a partial write: the write is not what any page showed) when one decides an
    adjustment an earlier one decides and either names no step."""
    before = _earlier(led, decisions)
    unchained = [Refusal(
        decisions[i].adjustment_id.strip(),
        f"decisions {j + 1} and {i + 1} of the batch both decide "
        f"{decisions[i].adjustment_id.strip()}: a batch decides an adjustment once, unless "
        "each of its decisions names the step it was shown (step, --step, seen_step) and "
        "each names the step the one before leaves; nothing was written", i)
        for i, j in before.items()
        if decisions[i].seen_step is None or decisions[j].seen_step is None]
    if unchained:
        raise WriteRefused(unchained)
    depth: dict[int, int] = {}
    for i in range(len(decisions)):
        depth[i] = depth[before[i]] + 1 if i in before else 0
        if depth[i] == EACH_AT_MOST:
            adj_id = decisions[i].adjustment_id
            raise WriteRefused([Refusal(adj_id, (
                f"decision {i + 1} of the batch decides {adj_id} for the "
                f"{EACH_AT_MOST + 1}th time: a batch decides an adjustment at most "
                f"{EACH_AT_MOST} times; nothing was written"), i)])
    items: dict[int, Item] = {}
    view = trial_led = led
    unwritten: set[int] = set()
    for level in range(max(depth.values(), default=-1) + 1):
        if level == 1:
            # What judging on trial records stays off `led`. Shallow copies made once
            # `led` has indexed its entries share that index (`dataclasses.replace`
            # would make each copy index them again).
            led.by_type  # noqa: B018
            trial_led = copy.copy(led)
        if level:
            # What the decisions so far leave, as the writer would judge them written.
            trial = _copies([items[i] for i in sorted(items)])
            view = copy.copy(led)
            view.book = judge(trial_led, trial)
            unwritten = {it.index for it in trial if it.refusal is not None}
        for i in (i for i, d in depth.items() if d == level):
            earlier = before.get(i)
            if earlier in unwritten:
                item = Item(i, decisions[i].adjustment_id, "", step=decisions[i].seen_step,
                            refusal=unwritten_before(decisions[i].adjustment_id, i, earlier,
                                                     decisions[i].seen_step),
                            code="changed")
            else:
                item = decision_item(view, i, decisions[i], after=earlier)
            if earlier is not None:
                item.follows = items[earlier]
                _dated_after(led, decisions, item, earlier)
            items[i] = item
    return [items[i] for i in range(len(decisions))]


def _dated_after(led: Ledger, decisions: Sequence[Decision], item: Item, earlier: int) -> None:
    """Refuse `item` (`changed`) when it is dated before the decision it follows: the
    replay would judge it first, not on the step that one leaves."""
    day, then = (decisions[item.index].date or led.today), (decisions[earlier].date or led.today)
    if item.refusal is None and day < then:
        item.refusal = (f"decision {item.index + 1} of the batch is dated {day}, before "
                        f"decision {earlier + 1} ({then}), which it follows: it would be "
                        "judged first, not at the step it names")
        item.code = "changed"


def _earlier(led: Ledger, decisions: Sequence[Decision]) -> dict[int, int]:
    """For each decision on an adjustment an earlier one of `decisions` decides, the
    index of the last such one. Adjustments are told apart as the book finds them
    (an id that names none is refused on its own)."""
    last: dict[str, int] = {}
    before: dict[int, int] = {}
    for i, decision in enumerate(decisions):
        adj = led.book.get(decision.adjustment_id)
        if adj is None:
            continue
        if adj.id in last:
            before[i] = last[adj.id]
        last[adj.id] = i
    return before


def _copies(items: list[Item]) -> list[Item]:
    """`items` to judge on trial: judging marks what it reads and refuses on them."""
    copied = {id(it): dataclasses.replace(it) for it in items}
    for it in copied.values():
        if it.follows is not None:
            it.follows = copied[id(it.follows)]
    return list(copied.values())
