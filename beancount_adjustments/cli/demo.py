"""`bean-adjust demo`: write the demo ledger of a small subscription business.

    bean-adjust demo -o demo.beancount                  # the bundled demo (~3000 transactions)
    bean-adjust demo -o big.beancount --transactions 100000 --seed 7
    bean-adjust demo -o .demo/demo.beancount --dated-to today   # what `make demo` serves

The output is deterministic: the same options give the same file, byte for
byte (`--dated-to today`: the same file all day). Dated to a day, the ledger
ends on it and its open requests have waited as a live queue's have: most
within their SLA, a few overdue. It passes bean-check, and holds adjustments
of every type and category in every state, with valid decisions.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from beancount_adjustments.cli.common import Refused, write_output
from beancount_adjustments.core.days import iso_day
from beancount_adjustments.demo import generate_ledger


@click.command("demo")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (overwritten).")
@click.option("--transactions", type=click.IntRange(min=10), default=3000, show_default=True,
              help="About how many transactions in all; about 20% are adjustment requests.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@click.option("--dated-to", "dated_to", default=None, metavar="DATE|today",
              help="End the ledger on this day, with open items of realistic ages.")
def demo(output: Path, transactions: int, seed: int, dated_to: str | None) -> None:
    """Write a generated demo ledger."""
    day = None if dated_to is None else _day(dated_to)
    write_output(output, generate_ledger(transactions=transactions, seed=seed, today=day))
    dated = f", dated to {day}" if day else ""
    click.echo(f"wrote {output} ({transactions} transactions, seed {seed}{dated})")


def _day(text: str) -> datetime.date:
    if text.strip().lower() == "today":
        return datetime.date.today()
    day = iso_day(text)
    if day is None:
        raise Refused(f"--dated-to: {text!r} is not a date (YYYY-MM-DD) or 'today'")
    return day


COMMANDS = [demo]
