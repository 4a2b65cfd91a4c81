"""`bean-adjust import | from-template | run-schedules | templates`: many requests at once.

Each command checks everything first and writes all its requests in one write
through the writer, or nothing (the reasons on stderr, exit 1). The work is in
`intake` (`csv_import`, `templates`, `schedules`); the manual is README's "CSV
import" and "Templates, calculators and schedules", with docs/csv-import.md and
docs/templates.md.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from beancount_adjustments.beans.intake_lines import parse_schedules
from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    as_date,
    decimal_comma_option,
    emit_json,
    json_option,
    ledger_option,
    problem_line,
    report_refusals,
    require_user,
    user_option,
    write_json,
    wrote,
)
from beancount_adjustments.core import amounts
from beancount_adjustments.core.amounts import AmountError
from beancount_adjustments.core.models import Kind
from beancount_adjustments.intake import calculators
from beancount_adjustments.intake.calculators import ParamValue
from beancount_adjustments.intake.csv_import import import_csv, preview_requests
from beancount_adjustments.intake.csv_rows import RowError
from beancount_adjustments.intake.postings import DEFAULT_OFFSET
from beancount_adjustments.intake.schedules import due, filing_day
from beancount_adjustments.intake.templates import LedgerContext, TemplateError, build_request
from beancount_adjustments.writer import (
    NewRequest,
    WriteRefused,
    WriteResult,
    retries,
    write_requests,
)

SHOW_TEXT_UP_TO = 20
"""A write of at most this many entries echoes them; longer ones print ids only."""

PROGRESS_FROM = 500
"""Rows from which `import` shows a progress bar."""


def _offset_defaults() -> dict[Kind, str]:
    # The same per-kind offsets `create` uses, so a row without an offset
    # account lands where a hand-made request would.
    return dict(DEFAULT_OFFSET)


def _load(ledger: Path) -> LedgerContext:
    try:
        return LedgerContext.load(ledger, cache=False)  # its callers write (or preview one)
    except TemplateError as exc:
        raise Refused(str(exc)) from None


def _fail(errors: Sequence[RowError | str], what: str, *, as_json: bool = False) -> None:
    """Nothing written: say why (with `--json`, as `{"errors": [...]}` on stdout)."""
    if as_json:
        emit_json({**write_json(None), "errors": [str(e) for e in errors]})
    else:
        for error in errors:
            click.echo(f"bean-adjust: {what}: {error}", err=True)
    raise click.exceptions.Exit(1)


def _nothing(message: str, *, as_json: bool) -> None:
    """Nothing to write, and that is fine."""
    if as_json:
        emit_json(write_json(None))
    else:
        click.echo(message)


def _report(result: WriteResult, *, dry_run: bool, what: str = "request",
            as_json: bool = False) -> None:
    """Say what was written (or would be) and where."""
    if as_json:
        emit_json(write_json(result, dry_run=dry_run))
        return
    count = len(result.ids)
    if dry_run:
        plural = "s" if count != 1 else ""
        click.echo(f"dry run: would write {count} {what}{plural} to {result.path}; "
                   "nothing written")
    else:
        wrote(result, what)
    if not count:
        return
    if count <= SHOW_TEXT_UP_TO:
        click.echo(f"ids: {', '.join(result.ids)}")
        click.echo("")
        click.echo(result.text.rstrip("\n"))
    else:
        click.echo(f"ids: {result.ids[0]} .. {result.ids[-1]}")


def _write(ledger: Path, requests: Sequence[NewRequest], *, dry_run: bool,
           now: datetime.datetime | None = None, as_json: bool = False) -> WriteResult:
    try:
        if dry_run:
            result = preview_requests(ledger, requests, now=now)
            if result.refused:
                raise WriteRefused(result.refused)
            return result
        return write_requests(ledger, requests, now=now)
    except WriteRefused as exc:
        if as_json:
            emit_json(write_json(None, exc.refusals, dry_run=dry_run))
        else:
            report_refusals(exc.refusals)
        raise click.exceptions.Exit(1) from None


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A progress bar on stderr for long inputs; a no-op for short ones."""
    if total < PROGRESS_FROM:
        yield None
        return
    with click.progressbar(length=total, label="checking rows", file=sys.stderr) as bar:
        yield bar


# -- import -------------------------------------------------------------------------

@click.command("import")
@ledger_option
@user_option
@click.argument("csv_file", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and show, write nothing.")
@click.option("--offset-account", default=None,
              help="Offset account for rows without one.")
@click.option("--receivable-account", default=None,
              help="Customer account for rows without one.")
@click.option("--decimal-comma", is_flag=True,
              help='The amount column uses a decimal comma ("1.234,56"; quote such cells).')
@json_option
def import_cmd(*, ledger: Path, user: str | None, csv_file: Path, dry_run: bool,
               offset_account: str | None, receivable_account: str | None,
               as_json: bool, decimal_comma: bool) -> None:
    """Import adjustment requests from a CSV file, all or nothing."""
    user = require_user(user)
    ctx = _load(ledger)
    try:
        rows = csv_file.read_bytes().count(b"\n")  # for the progress bar only
    except OSError as exc:
        raise Refused(f"cannot read {csv_file}: {exc.strerror or exc}") from None
    with _progress(0 if as_json else rows) as bar:
        outcome = import_csv(
            ledger, csv_file, user=user, dry_run=dry_run, offset_account=offset_account,
            receivable_account=receivable_account, offset_by_kind=_offset_defaults(),
            ctx=ctx, on_row=(lambda: bar.update(1)) if bar is not None else None,
            decimal_comma=decimal_comma)
    plan = outcome.plan
    if outcome.errors:
        if not as_json:
            click.echo(f"{csv_file}: {len(outcome.errors)} problem(s); nothing written",
                       err=True)
        _fail(outcome.errors, str(csv_file), as_json=as_json)
    if plan.skipped and not as_json:
        click.echo(f"skipped {len(plan.skipped)} row(s) already imported "
                   f"(external-id in the ledger)")
    if outcome.result is None:
        _nothing(f"nothing new to import from {csv_file}; wrote nothing", as_json=as_json)
        return
    _report(outcome.result, dry_run=dry_run, as_json=as_json)


# -- templates ------------------------------------------------------------------------

def _params(values: Sequence[str], *, decimal_comma: bool = False) -> dict[str, ParamValue]:
    """`--param key=value` pairs. A value that reads as an amount (`120.00 USD`) or a
    number (`2.5`) is read strictly, as `create --amount` reads amounts: an
    ambiguous `40,00` is refused unless `--decimal-comma`; other values stay text."""
    params: dict[str, ParamValue] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"--param takes key=value, not {value!r}")
        try:
            params[key.strip()] = amounts.read_param(text, decimal_comma=decimal_comma)
        except AmountError as exc:
            raise Refused(f"--param {key.strip()}: {exc}") from None
    return params


@click.command("from-template")
@ledger_option
@user_option
@click.argument("name")
@click.option("--customer", "-c", "customers", multiple=True, required=True,
              help="Customer id; repeat for one request per customer.")
@click.option("--invoice", default=None, help="The invoice it concerns (its invoice-id).")
@click.option("--order", default=None)
@click.option("--ticket", default=None)
@click.option("--document", default=None, help="Path relative to the file written to.")
@click.option("--effective", type=DAY, default=None, help="Book the applied entry on this date.")
@click.option("--date", "on", type=DAY, default=None, help="The request's date (default: today).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A template parameter (percent=3, gross=\"120.00 USD\"); repeatable.")
@click.option("--reason", default=None, help="Override the template's reason.")
@click.option("--external-id", default=None,
              help="Idempotence key: not written again if already in the ledger.")
@click.option("--id", "adj_id", default=None, help="Default: the next free id.")
@click.option("--dry-run", is_flag=True, help="Compute and show, write nothing.")
@decimal_comma_option
@json_option
def from_template(*, ledger: Path, user: str | None, name: str, customers: tuple[str, ...],
                  invoice: str | None, order: str | None, ticket: str | None,
                  document: str | None, effective: datetime.datetime | None,
                  on: datetime.datetime | None, params: tuple[str, ...], reason: str | None,
                  external_id: str | None, adj_id: str | None, dry_run: bool,
                  as_json: bool, decimal_comma: bool) -> None:
    """Create requests from a ledger template."""
    if not user or not user.strip():
        raise Refused("who is acting? pass --as USER or set BEAN_ADJUST_USER")
    if len(customers) > 1 and (adj_id or external_id):
        raise Refused("--id and --external-id name one request; give one --customer")
    ctx = _load(ledger)
    date = on.date() if on else datetime.date.today()
    template = ctx.templates.on(name, date)
    if template is None:
        known = ", ".join(ctx.templates.names()) or "none"
        head = (f"template {name!r} is not used until its line that does not read is fixed"
                if name in ctx.templates.held
                else f"no template {name!r} on {date} (templates: {known})")
        raise Refused("\n".join([head, *map(problem_line, ctx.template_problems)]))
    meta = {"invoice": invoice, "order": order, "ticket": ticket, "document": document,
            "effective": effective.date().isoformat() if effective else None,
            "external-id": external_id}
    requests = []
    errors = []
    given = _params(params, decimal_comma=decimal_comma)
    for customer in customers:
        try:
            requests.append(build_request(
                ctx, template, customer=customer, requested_by=user.strip(), date=date,
                params=given, reason=reason, request_id=adj_id,
                meta={k: v for k, v in meta.items() if v}, entered_by=user.strip()))
        except TemplateError as exc:
            errors.append(f"{customer}: {exc}")
    if errors:
        _fail(errors, "refused", as_json=as_json)
    filed = ctx.filed_requests().get(external_id) if external_id else None
    if filed is not None:
        # Nothing written only for a retry of that very request (`writer.retries`, as
        # the API and the CSV import answer): another one under a used id is refused.
        # The date counts only when given (a retry the next day is still a retry).
        found = retries.differences(filed, replace(requests[0], date=as_date(on)))
        if found:
            raise Refused(retries.conflict_message(ctx.book, filed, found,
                                                   field="external-id"))
        _nothing(f"external-id {external_id!r} is already in the ledger as {filed.id}, "
                 "the same request; wrote nothing", as_json=as_json)
        return
    _report(_write(ledger, requests, dry_run=dry_run, as_json=as_json), dry_run=dry_run,
            as_json=as_json)


# -- schedules ------------------------------------------------------------------------

@click.command("run-schedules")
@ledger_option
@user_option
@click.option("--through", type=DAY, default=None,
              help="Create occurrences up to this day (default: today).")
@click.option("--schedule", "names", multiple=True, help="Only this schedule; repeatable.")
@click.option("--dry-run", is_flag=True, help="Show what is due, write nothing.")
@json_option
def run_schedules(*, ledger: Path, user: str | None, through: datetime.datetime | None,
                  names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Create every due scheduled request not yet in the ledger (safe to rerun).

    A template or schedule line that does not read is reported at its file:line
    (exit status 1) and what it names is not used; the other schedules still run.
    """
    who = require_user(user)
    ctx = _load(ledger)
    today = datetime.date.today()
    last = through.date() if through else today
    schedules, problems = parse_schedules(ctx.entries)
    wrong_lines = [problem_line(p) for p in (*ctx.template_problems, *problems)]
    for line in wrong_lines:
        click.echo(f"bean-adjust: error: {line}", err=True)
    if names:
        unknown = sorted(set(names) - {s.name for s in schedules})
        if unknown:
            raise Refused(f"no schedule {', '.join(unknown)} in the ledger")
        schedules = [s for s in schedules if s.name in names]
    errors = []
    requests = []
    for occurrence in due(schedules, last, ctx.book.directory, ctx.external_ids()):
        schedule = occurrence.schedule
        where = f"{schedule.source.filename}:{schedule.source.lineno}: schedule {schedule.name}"
        template = ctx.templates.on(schedule.template, occurrence.date)
        requester = schedule.requested_by or who
        if template is None and schedule.template in ctx.templates.held:
            continue  # its template's bad line is reported above
        if template is None:
            errors.append(f"{where}: no template {schedule.template!r} on {occurrence.date}")
            continue
        if not requester:
            errors.append(f"{where}: who requests it? set `requested-by:` on the schedule or "
                          "pass --as")
            continue
        day = filing_day(ctx.book.rules, template.type, occurrence.date, today)
        try:
            requests.append(build_request(
                ctx, template, customer=occurrence.customer, requested_by=requester,
                date=occurrence.date, params=schedule.params,
                meta={"external-id": occurrence.external_id, "schedule": schedule.name},
                entered_by=who, filed_on=day))
        except TemplateError as exc:
            errors.append(f"{where}, {occurrence.customer} on {occurrence.date}: {exc}")
    if errors:
        _fail(sorted(dict.fromkeys(errors)), "refused", as_json=as_json)
    if not requests:
        _nothing(f"nothing due through {last} that is not in the ledger already; "
                 "wrote nothing", as_json=as_json)
    else:
        _report(_write(ledger, requests, dry_run=dry_run, as_json=as_json), dry_run=dry_run,
                as_json=as_json)
    if wrong_lines:
        raise click.exceptions.Exit(1)


# -- listing ------------------------------------------------------------------------------

@click.command("templates")
@ledger_option
@json_option
def templates_cmd(ledger: Path, as_json: bool) -> None:
    """List the ledger's templates, schedules and calculators."""
    ctx = _load(ledger)
    schedules, schedule_problems = parse_schedules(ctx.entries)
    problems = [*ctx.template_problems, *schedule_problems]
    if as_json:
        emit_json({
            "templates": [{"name": t.name, "date": t.date, "type": t.type,
                           "calculator": t.calculator, "category": t.category,
                           "description": t.description, "reason": t.reason,
                           "params": {k: str(v) for k, v in t.params.items()}}
                          for t in ctx.templates.latest()],
            "schedules": [{"name": s.name, "template": s.template, "every": s.every,
                           "interval": s.interval, "start": s.start, "end": s.end,
                           "customers": list(s.customers), "tier": s.tier}
                          for s in schedules],
            "calculators": calculators.names(),
            "problems": [{"file": p.source.filename, "line": p.source.lineno,
                          "message": p.message} for p in problems]})
        return
    click.echo("templates:" if ctx.templates.names() else "templates: none")
    for t in ctx.templates.latest():
        about = f" - {t.description}" if t.description else ""
        click.echo(f"  {t.name}: {t.type} via {t.calculator} (since {t.date}){about}")
    click.echo("schedules:" if schedules else "schedules: none")
    for s in schedules:
        who = f"tier {s.tier}" if s.tier else ", ".join(s.customers)
        every = s.every if s.interval == 1 else f"{s.interval} {s.every}s"
        until = f" to {s.end}" if s.end else ""
        click.echo(f"  {s.name}: {s.template} every {every} from {s.start}{until} for {who}")
    click.echo(f"calculators: {', '.join(calculators.names())} (or module:function)")
    for p in problems:
        click.echo(problem_line(p), err=True)
    if problems:
        raise click.exceptions.Exit(1)


COMMANDS = [import_cmd, from_template, run_schedules, templates_cmd]
