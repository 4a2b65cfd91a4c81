"""The next seal as one item of a write (`write.write_seal`): chosen from the ledger
as the writer loaded it under its lock, and judged as the plugin will read it."""

from __future__ import annotations

import datetime

from beancount_adjustments.beans.metadata import control_problem
from beancount_adjustments.beans.seal_directive import render_seal
from beancount_adjustments.core import seals
from beancount_adjustments.writer.ledger import Item, Ledger


def seal_item(led: Ledger, by: str, date: datetime.date,
              today: datetime.date | None = None) -> tuple[Item, seals.SealPlan | None]:
    """The item that appends the seal `by` makes over everything dated up to `date`,
    and its plan; refused (no plan): a date after today (a seal dated ahead would
    refuse every decision until then), a sealer who is not a declared user holding
    a role on the seal's date and today, a seal before the last one or over a broken one."""
    item = Item(0, f"seal of {date}", "")
    today = today or led.today
    book = led.book
    why = control_problem("by", by)
    if why is None and date > today:
        why = (f"a seal cannot be dated after today ({date} > {today}): it would seal "
               "days that have not happened and refuse every decision until then")
    # On the seal's date and on the day it is written: a seal dated back to a day
    # its author still held a role is made by no one holding one (as a decision's
    # author must hold the role on both days, `permissions.denial`).
    for day in dict.fromkeys((date, today)):
        problem = seals.sealer_problem(book.directory, by, day) if why is None else None
        if problem is not None:
            why = (f"{by} may not seal: {problem}; a seal is made by a declared user "
                   f"holding a role on its date and on the day it is written (today, {today})")
    plan = None
    if why is None:
        try:
            plan = seals.next_seal(book.facts, book.facts.seals, date, by,
                                   settings=book.settings)
        except ValueError as exc:
            why = str(exc)
    if plan is None:
        item.refusal = why
        return item, None
    item.text = render_seal(plan)
    return item, plan
