"""`bean-adjust report | export | seal | keygen`: evidence out of the ledger.

`report` renders `reports.tables` (`reports.renderers`), `export` writes
`reports.export`, `seal` appends the next `core.seals` seal through the writer,
and `keygen` makes an Ed25519 key pair (`core.signatures`). The manual is
README's "Reports, export and seals", with docs/reports.md, docs/export.md and
docs/seals.md.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import click

from beancount_adjustments import reports
from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    as_date,
    ledger_option,
    load,
    refused,
    require_user,
    today,
    user_option,
    write_output,
)
from beancount_adjustments.core import signatures
from beancount_adjustments.core.customers import CustomerError, pick_customer
from beancount_adjustments.core.models import State
from beancount_adjustments.reports import export as exporting
from beancount_adjustments.writer import WriteRefused, write_seal
from beancount_adjustments.writer.files import create_new
from beancount_adjustments.writer.target import os_refusal


def _output(text: str, output: Path | None, options: dict[str, Any]) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text, options["include"])
        click.echo(f"wrote {output}", err=True)


@click.command("report")
@click.argument("kind", type=click.Choice(reports.REPORTS))
@ledger_option
@click.option("--from", "start", type=DAY, default=None, help="First day of the period.")
@click.option("--to", "end", type=DAY, default=None, help="Last day of the period.")
@click.option("--type", "adj_type", default=None, help="A type or pattern, like 'credit:*'.")
@click.option("--customer", default=None)
@click.option("--state", type=click.Choice([s.value for s in State]), default=None)
@click.option("--format", "fmt", type=click.Choice(reports.FORMATS), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
def report(*, kind: str, ledger: Path, start: datetime.datetime | None,
           end: datetime.datetime | None, adj_type: str | None, customer: str | None,
           state: str | None, fmt: str, output: Path | None) -> None:
    """Print a report: summary, trends, impact, effects, compliance or audit."""
    _, _, options, book = load(ledger)
    if customer is not None:
        # By id or name, as `statement` takes it: a name or a typo must not read as a
        # customer with nothing booked.
        try:
            customer = pick_customer(book.directory, customer)
        except CustomerError as exc:
            raise Refused(str(exc)) from None
    scope = reports.Scope(start=as_date(start), end=as_date(end), type=adj_type, customer=customer,
                          state=State(state) if state else None)
    _output(reports.report_text(kind, book, scope, fmt, today()), output, options)


@click.command("export")
@ledger_option
@click.option("--format", "fmt", type=click.Choice(("csv", "jsonl")), default="jsonl",
              show_default=True)
@click.option("--records", type=click.Choice(exporting.RECORDS), default=None,
              help="Which records (jsonl default: all; csv default: adjustments).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export(*, ledger: Path, fmt: str, records: str | None, output: Path | None) -> None:
    """Export adjustments and events (schema: beancount_adjustments.reports.export)."""
    _entries, _, options, book = load(ledger)
    chosen = records or ("adjustments" if fmt == "csv" else "all")
    try:
        text = exporting.export(book, fmt, chosen)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    _output(text, output, options)


@click.command("seal")
@ledger_option
@user_option
@click.option("--date", "on", type=DAY, default=None,
              help="Seal everything dated up to this day (default: today).")
def seal(*, ledger: Path, user: str | None, on: datetime.datetime | None) -> None:
    """Append a seal fixing every adjustment directive dated up to --date."""
    by = require_user(user)
    date = as_date(on) or datetime.date.today()
    try:
        _, plan = write_seal(ledger, by, date)
    except WriteRefused as exc:
        raise refused(exc) from None
    click.echo(f"sealed {plan.count} entries up to {plan.date} ({plan.span} new): {plan.hash}")


@click.command("keygen")
@user_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Where to write the private key (PEM, mode 0600).")
@click.option("--date", "on", type=DAY, default=None,
              help="Date of the key directive (default: today).")
def keygen(*, user: str | None, output: Path, on: datetime.datetime | None) -> None:
    """Create a signing key; print the `adjustment-key` directive to add."""
    name = require_user(user)
    exists = Refused(f"{output} exists; a private key is never overwritten")
    if os.path.lexists(output):
        raise exists
    key = signatures.generate_private_key()
    try:
        create_new(output, signatures.private_pem(key), mode=0o600)
    except FileExistsError:
        raise exists from None  # another keygen got there first
    except OSError as exc:
        raise refused(os_refusal(output, exc, "write")) from None
    click.echo(f"wrote the private key of {name} to {output} (keep it secret)", err=True)
    click.echo(signatures.key_directive(name, signatures.public_b64(key),
                                        as_date(on) or datetime.date.today()), nl=False)


COMMANDS = [report, export, seal, keygen]
