"""What every `bean-adjust` command shares: the ledger, the identity, output.

- `--ledger/-f FILE` (or the environment variable `BEAN_ADJUST_LEDGER`): the
  ledger's main file.
- `--as USER` (or `BEAN_ADJUST_USER`): who is acting. A command that writes
  refuses to run without one.
- `--json`: machine-readable output on commands that list or show, and on
  the commands that write (`write_json`: what was written, what was refused).

A refusal prints `bean-adjust: refused: ...` on stderr and exits with 1.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from beancount_adjustments.beans import loading
from beancount_adjustments.core import amounts, days
from beancount_adjustments.core.amounts import AmountError
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Money, Problem
from beancount_adjustments.plugin import book_of
from beancount_adjustments.reports.queries import requirements
from beancount_adjustments.writer import (
    USER_ENV,
    Refusal,
    WriteRefused,
    WriteResult,
)
from beancount_adjustments.writer.files import atomic_write, real_file
from beancount_adjustments.writer.target import os_refusal

F = TypeVar("F", bound=Callable[..., Any])

LEDGER_ENV = "BEAN_ADJUST_LEDGER"


class Refused(click.ClickException):
    """A refusal: message on stderr, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(f"bean-adjust: refused: {line}", err=True)


def problem_line(problem: Problem) -> str:
    """A problem as the tools print it: `file:line: message [code]`, as bean-check does."""
    return f"{problem.source.filename}:{problem.source.lineno}: {problem.message} [{problem.code}]"


def ledger_option(func: F) -> F:
    return click.option(
        "--ledger", "-f", "ledger", envvar=LEDGER_ENV, required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"The ledger's main file [env: {LEDGER_ENV}].")(func)


def user_option(func: F) -> F:
    return click.option(
        "--as", "user", envvar=USER_ENV, default=None, metavar="USER",
        help=f"Who is acting [env: {USER_ENV}].")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON instead of text.")(func)


if TYPE_CHECKING:  # generic only from click 8.2; the package asks for click>=8
    _ParamType = click.ParamType[datetime.datetime, Any]
else:
    _ParamType = click.ParamType


class Day(_ParamType):
    """A `YYYY-MM-DD` option read as every tool reads a day (`core.days`: no
    `20260203`, no `2026-2-3`, no week date), given as midnight of that day (as
    `click.DateTime` did, so `as_date` reads it); another text is a refusal."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return value
        day = days.iso_day(str(value))
        if day is None:
            where = max(param.opts, key=len) if param is not None and param.opts else "date"
            raise Refused(f"{where}: {days.day_problem(str(value))}")
        return datetime.datetime.combine(day, datetime.time())


DAY = Day()


def date_option(func: F) -> F:
    return click.option(
        "--date", "on", type=DAY, default=None,
        help="Date the written entries (default: today).")(func)


def require_user(user: str | None) -> str:
    if user is None or not user.strip():
        raise Refused(f"who is acting? pass --as USER or set {USER_ENV}")
    return user.strip()


def as_date(value: datetime.datetime | None) -> datetime.date | None:
    return value.date() if value is not None else None


def today() -> datetime.date:
    return datetime.date.today()


def load(ledger: Path, *, cached: bool = True
         ) -> tuple[list[Any], list[Any], dict[str, Any], Book]:
    """Load the ledger to read it; the book the plugin left (refused if it did
    not run). Commands that write let the writer load it instead (`FromLedger`).
    `cached=False` for jobs judging history in CI: Beancount's cache is a pickle,
    read before it is judged fresh, and one a change committed would run its code."""
    load_ = loading.load_file if cached else loading.load_uncached
    entries, errors, options = load_(str(ledger))
    book = book_of(options)
    if book is None:
        raise Refused(f'{ledger} does not enable the plugin; add plugin "beancount_adjustments"')
    return entries, errors, options, book


def parse_money(text: str, what: str = "amount", *, decimal_comma: bool = False) -> Money:
    """`50.00 USD` (also `USD 50.00`) as Money, read strictly (`amounts`): an
    ambiguous `40,00` or `1.000,00` is refused unless `decimal_comma`, and so is
    more decimals than the currency has."""
    parts = text.split()
    if len(parts) == 2 and parts[0][:1].isalpha():
        text = f"{parts[1]} {parts[0]}"
    try:
        return amounts.parse_money(text, decimal_comma=decimal_comma)
    except AmountError as exc:
        raise Refused(f"{what}: {exc}") from None


def decimal_comma_option(func: F) -> F:
    return click.option(
        "--decimal-comma", is_flag=True,
        help="Amounts are written with a decimal comma (1.234,56 EUR).")(func)


def money_text(money: Money) -> str:
    """An amount exactly as written to the ledger (every decimal it has)."""
    return f"{amounts.number_text(money.number)} {money.currency}"


def refused(exc: WriteRefused) -> Refused:
    return Refused("\n".join(str(r) for r in exc.refusals))


def of_the_ledger(path: Path, ledger_files: Sequence[str]) -> bool:
    """Whether `path` (or the file it links to) is one of `ledger_files`, the ledger's
    own files as loaded (`options["include"]`): a tool's own file written there
    (a report, notify's state) would replace part of the ledger."""
    real = real_file(path)
    return any(real == real_file(Path(name)) for name in ledger_files)


def write_output(output: Path, text: str, ledger_files: Sequence[str] = ()) -> None:
    """Write a command's `--output` file all or nothing (a full disk or a kill leaves
    the file there as it was), refused when it is one of `ledger_files`. As
    written: a CSV's CRLF line ends are its own."""
    if of_the_ledger(output, ledger_files):
        raise Refused(f"{output} is a file of the ledger; write the output to another file")
    try:
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise refused(os_refusal(output, exc, "write")) from None


def report_refusals(refusals: Sequence[Refusal]) -> None:
    for refusal in refusals:
        click.echo(f"bean-adjust: refused: {refusal}", err=True)


def wrote(result: WriteResult, what: str) -> None:
    """Every write says what it wrote and where."""
    if result.written:
        click.echo(f"wrote {result.written} {what}{'s' if result.written != 1 else ''} "
                   f"to {result.path}")
    else:
        click.echo(f"wrote nothing to {result.path}")


def write_json(result: WriteResult | None, refusals: Sequence[Refusal] = (), *,
               dry_run: bool = False) -> dict[str, Any]:
    """What a write did, for `--json`: the file, each adjustment written (with
    its state after the write and what it still needs) and each refusal.

    `result` is None when the whole write was refused (then `refusals` says why).
    """
    book = result.book if result is not None else None
    written = []
    for adj_id in result.ids if result is not None else ():
        adj = book.get(adj_id) if book is not None else None
        written.append({"id": adj_id, "state": str(adj.state) if adj else None,
                        "requires": requirements(adj) if adj else None})
    refused = [*(result.refused if result is not None else ()), *refusals]
    return {
        "file": str(result.path) if result is not None else None,
        "dry_run": dry_run,
        "written": result.written if result is not None else 0,
        "adjustments": written,
        "refused": [{"id": r.key, "reason": str(r)} for r in refused],
        "sha256": result.sha256 if result is not None else None,
    }


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_default, ensure_ascii=False))


