"""`bean-adjust demo`: write the demo ledger of a small subscription business.

    bean-adjust demo -o demo.beancount                  # the bundled demo (~3000 transactions)
    bean-adjust demo -o big.beancount --transactions 100000 --seed 7

The output is deterministic: the same options give the same file, byte for
byte. It passes bean-check, and holds adjustments of every type and category
in every state, with valid decisions.
"""

from __future__ import annotations

from pathlib import Path

import click

from beancount_adjustments.demo import write_ledger


@click.command("demo")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (overwritten).")
@click.option("--transactions", type=click.IntRange(min=10), default=3000, show_default=True,
              help="About how many transactions in all; about 20% are adjustment requests.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
def demo(output: Path, transactions: int, seed: int) -> None:
    """Write a generated demo ledger."""
    write_ledger(output, transactions=transactions, seed=seed)
    click.echo(f"wrote {output} ({transactions} transactions, seed {seed})")


COMMANDS = [demo]
