"""`bean-adjust statement`: a customer's statement of account.

    bean-adjust -f main.beancount statement "Acme Corp" --from 2026-01-01 --to 2026-03-31
    bean-adjust -f main.beancount statement cust_123 --format html -o statement.html

The rows are `beancount_adjustments.reports.statement.statement` (Fava's statement
page shows the same); `--format` picks the renderer.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    as_date,
    ledger_option,
    load,
    today,
    write_output,
)
from beancount_adjustments.core.customers import CustomerError, pick_customer
from beancount_adjustments.reports.statement import (
    FORMATS,
    PeriodError,
    render,
    statement,
    statement_period,
)


@click.command("statement")
@ledger_option
@click.argument("customer")
@click.option("--from", "start", type=DAY, default=None,
              help="First day of the period (default: the first of --to's month).")
@click.option("--to", "end", type=DAY, default=None,
              help="Last day of the period, and the day balances are aged to (default: today).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write it to this file instead of printing it.")
def statement_command(*, ledger: Path, customer: str, start: datetime.datetime | None,
                      end: datetime.datetime | None, fmt: str, output: Path | None) -> None:
    """Print a customer's statement (CUSTOMER: an id or a name)."""
    try:
        first, last = statement_period(as_date(start), as_date(end), today())
    except PeriodError as exc:
        raise Refused(f"{exc} (--from, --to)") from None
    entries, _, options, book = load(ledger)
    try:
        customer_id = pick_customer(book.directory, customer)
    except CustomerError as exc:
        raise Refused(str(exc)) from None
    text = render(statement(entries, book, customer_id, first, last), fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text, options["include"])
    click.echo(f"wrote the statement of {customer_id} to {output}")


COMMANDS = [statement_command]
