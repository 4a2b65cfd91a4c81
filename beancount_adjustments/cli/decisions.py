"""`bean-adjust approve | reject | apply | cancel`: decide on adjustments.

By id or by selection (`--all-pending`, `--all-approved`, narrowed by `--type`,
`--category`, `--customer`, `--below`); who may is `permissions.denial`, the
replay's own rule (`_chosen`). All decisions go in one write through the writer,
all or nothing unless `--skip-refused`. `--digest` is the request `show` printed
(`seen_digest`: refused if it changed since), `--step` is the step
the decider read (`show` prints it, `lifecycle.step_shown`): the writer refuses
an adjustment that has moved on since, so an approve meant for a pending credit
never approves the reversal of a credit booked and cancelled meanwhile. The
manual is README's "Requests and decisions".
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    as_date,
    date_option,
    emit_json,
    json_option,
    ledger_option,
    parse_money,
    refused,
    report_refusals,
    require_user,
    today,
    user_option,
    write_json,
    wrote,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.reports.queries import Filters, may, requirements, select
from beancount_adjustments.writer import Decision, WriteRefused, write_decisions, written_today

NOUNS = {Action.APPROVE: "approval", Action.REJECT: "rejection", Action.APPLY: "apply event",
         Action.CANCEL: "cancellation"}


def _selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
            click.option("--type", "type_pattern", default=None,
                         help="Only types matching this pattern (credit:*)."),
            click.option("--category", default=None, help="Only categories matching this."),
            click.option("--customer", default=None),
            click.option("--below", default=None, help='Only amounts below, like "50 USD".')]):
        func = option(func)
    return func


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--comment", default=None, help="Free text kept with the decision.")(func)
    func = click.option("--skip-refused", is_flag=True,
                        help="Write the acceptable decisions even if some are refused.")(func)
    func = click.option(
        "--step", default=None,
        help='The step each awaits, as `show` printed it ("pending 0/1"): refused if '
             "it has moved on since (approved, booked, cancelled: now its reversal)."
    )(func)
    func = click.option(
        "--digest", default=None,
        help="The digest of the one id given, as `show` printed it: refused if the "
             "request has changed since (what --step alone does not see)."
    )(func)
    func = date_option(func)
    func = json_option(func)
    func = user_option(func)
    return ledger_option(func)


def _given(ids: tuple[str, ...], *, select_all: bool,
           narrowing: dict[str, str | None], step: str | None = None,
           digest: str | None = None) -> list[str] | None:
    """The ids given on the command line, or None when a selection picks them."""
    if ids and select_all:
        raise Refused("give ids or a selection, not both")
    if select_all:
        if step is not None:
            raise Refused("--step names the step of the ids given (as `show` printed "
                          "it), not of a selection")
        if digest is not None:
            raise Refused("--digest names the content of one id given (as `show` "
                          "printed it), not of a selection")
        return None
    if digest is not None and len(set(ids)) != 1:
        raise Refused("--digest is the digest of one request: give one id with it")
    if not ids:
        raise Refused("which adjustments? give their ids (or a selection such as "
                      "--all-pending)")
    if any(narrowing.values()):
        raise Refused("--type, --category, --customer and --below narrow a selection "
                      "(--all-pending / --all-approved), not a list of ids")
    return list(dict.fromkeys(ids))


def _chosen(book: Book, user: str, action: Action, *,
            narrowing: dict[str, str | None], rates: Rates, on: datetime.date,
            signed: bool = False) -> list[str]:
    """What a selection (--all-pending, --all-approved and its narrowing) picks:
    what `permissions.denial` lets `user` do on `on` (`signed`: with --sign), written
    today (the writer's `at:`), so that --date picks nothing the plugin refuses."""
    below = parse_money(narrowing["below"], "--below") if narrowing["below"] else None
    states = {State.APPROVED} if action is Action.APPLY else {State.PENDING, State.REVERSING}
    filters = Filters(states=states, type=narrowing["type"], category=narrowing["category"],
                      customer=narrowing["customer"], below=below)
    written = written_today()  # once: a selection made across noon UTC is judged as one
    return [adj.id for adj in select(book, filters, on, rates)
            if may(book, adj, user, action, on, signed=signed, written=written)]


def _reversals(book: Book, ids: list[str], action: Action) -> dict[str, str]:
    """How the output names an approve or reject of a reversal, by id ("approved the
    reversal of ADJ-1 (level 1 of 1)"), read before the write: the id alone does
    not say that the money moves back."""
    if action not in (Action.APPROVE, Action.REJECT):
        return {}
    named: dict[str, str] = {}
    for adj_id in ids:
        adj = book.get(adj_id)
        if adj is None or adj.state is not State.REVERSING:
            continue
        if action is Action.REJECT:
            named[adj_id] = f"rejected the reversal of {adj_id}"
        else:
            level = f"level {len(adj.deciding_approvers) + 1} of {len(adj.deciding_chain)}"
            named[adj_id] = f"approved the reversal of {adj_id} ({level})"
    return named


def _decide(action: Action, ledger: Path, user: str | None, ids: tuple[str, ...], *,
            select_all: bool = False, narrowing: dict[str, str | None] | None = None,
            reason: str | None = None, comment: str | None = None,
            customer_reason: str | None = None, effective: datetime.datetime | None = None,
            on: datetime.datetime | None = None,
            skip_refused: bool = False, sign_with: Path | None = None,
            step: str | None = None, digest: str | None = None,
            as_json: bool = False) -> None:
    who = require_user(user)
    narrowing = narrowing or {"type": None, "category": None, "customer": None, "below": None}
    if action in (Action.REJECT, Action.CANCEL) and not (reason or "").strip():
        raise Refused(f"a {action} needs --reason")
    step = step.strip() if step is not None else None
    digest = digest.strip() if digest is not None else None
    given = _given(ids, select_all=select_all, narrowing=narrowing, step=step,
                   digest=digest)
    chosen: list[str] = []
    reversals: dict[str, str] = {}

    def decisions(entries: list[Any], book: Book) -> list[Decision]:
        # A selection is made on the writer's own load, under its lock: the
        # ledger is parsed once, and judged as it was chosen from.
        chosen.extend(given if given is not None else _chosen(
            book, who, action, narrowing=narrowing, rates=book.rules.rates,
            on=as_date(on) or today(), signed=sign_with is not None))
        reversals.update(_reversals(book, chosen, action))
        return [Decision(adjustment_id=i, action=action, by=who, reason=reason,
                         comment=comment, customer_reason=customer_reason,
                         effective=as_date(effective), date=as_date(on), sign_with=sign_with,
                         seen_step=step, seen_digest=digest)
                for i in chosen]

    try:
        result = write_decisions(ledger, decisions, partial=skip_refused)
    except WriteRefused as exc:
        if as_json:
            emit_json(write_json(None, exc.refusals))
            raise click.exceptions.Exit(1) from None
        raise refused(exc) from None
    if not chosen:
        if as_json:
            emit_json(write_json(None))
        else:
            click.echo(f"nothing to {action}")
        return
    if as_json:
        emit_json(write_json(result))
        if result.refused:
            raise click.exceptions.Exit(1)
        return
    wrote(result, NOUNS[action])
    for adj_id in result.ids:
        adj = result.book.get(adj_id) if result.book else None
        state = f"{adj.state} ({requirements(adj)})" if adj else "?"
        decided = reversals.get(adj_id, str(action))
        click.echo(f"{adj_id}: {decided} by {who}; now {state}")
    if result.refused:
        report_refusals(result.refused)
        raise click.exceptions.Exit(1)


@click.command("approve")
@_common_options
@click.argument("ids", nargs=-1)
@click.option("--all-pending", "select_all", is_flag=True,
              help="Every pending adjustment (and reversal awaiting approval) whose next "
                   "level you may approve.")
@_selection_options
@click.option("--effective", type=DAY, default=None,
              help="Date the applied entry (when this approval applies it).")
@click.option("--sign", "sign_with", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Sign each approval with this private key (bean-adjust keygen).")
def approve(*, ledger: Path, user: str | None, ids: tuple[str, ...], select_all: bool,
            type_pattern: str | None, category: str | None, customer: str | None,
            below: str | None, effective: datetime.datetime | None, comment: str | None,
            skip_refused: bool, on: datetime.datetime | None, sign_with: Path | None,
            step: str | None, digest: str | None, as_json: bool) -> None:
    """Approve adjustments (one approval level each)."""
    _decide(Action.APPROVE, ledger, user, ids, select_all=select_all,
            narrowing={"type": type_pattern, "category": category, "customer": customer,
                       "below": below},
            comment=comment, effective=effective, on=on, skip_refused=skip_refused,
            sign_with=sign_with, step=step, digest=digest, as_json=as_json)


@click.command("reject")
@_common_options
@click.argument("ids", nargs=-1)
@click.option("--reason", required=True, help="Why (required; staff only).")
@click.option("--customer-reason", default=None,
              help="What the customer is told (customer notices), never the --reason.")
@click.option("--all-pending", "select_all", is_flag=True,
              help="Every pending adjustment (and reversal awaiting approval) you may "
                   "reject.")
@_selection_options
def reject(*, ledger: Path, user: str | None, ids: tuple[str, ...], reason: str,
           customer_reason: str | None, select_all: bool, type_pattern: str | None,
           category: str | None, customer: str | None, below: str | None, comment: str | None,
           skip_refused: bool, on: datetime.datetime | None, step: str | None,
           digest: str | None, as_json: bool) -> None:
    """Reject pending adjustments."""
    _decide(Action.REJECT, ledger, user, ids, select_all=select_all,
            narrowing={"type": type_pattern, "category": category, "customer": customer,
                       "below": below},
            reason=reason, customer_reason=customer_reason, comment=comment, on=on,
            skip_refused=skip_refused, step=step, digest=digest, as_json=as_json)


@click.command("apply")
@_common_options
@click.argument("ids", nargs=-1)
@click.option("--all-approved", "select_all", is_flag=True,
              help="Every approved adjustment waiting for an apply.")
@_selection_options
@click.option("--effective", type=DAY, default=None,
              help="Date the applied entry.")
def apply(*, ledger: Path, user: str | None, ids: tuple[str, ...], select_all: bool,
          type_pattern: str | None, category: str | None, customer: str | None,
          below: str | None, effective: datetime.datetime | None, comment: str | None,
          skip_refused: bool, on: datetime.datetime | None, step: str | None,
          digest: str | None, as_json: bool) -> None:
    """Apply approved adjustments whose type applies separately."""
    _decide(Action.APPLY, ledger, user, ids, select_all=select_all,
            narrowing={"type": type_pattern, "category": category, "customer": customer,
                       "below": below},
            comment=comment, effective=effective, on=on, skip_refused=skip_refused,
            step=step, digest=digest, as_json=as_json)


@click.command("cancel")
@_common_options
@click.argument("ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why (required; staff only).")
@click.option("--customer-reason", default=None,
              help="What the customer is told (customer notices), never the --reason.")
def cancel(*, ledger: Path, user: str | None, ids: tuple[str, ...], reason: str,
           customer_reason: str | None, comment: str | None, skip_refused: bool,
           on: datetime.datetime | None, step: str | None, digest: str | None,
           as_json: bool) -> None:
    """Withdraw pending or approved adjustments, or reverse applied ones."""
    _decide(Action.CANCEL, ledger, user, ids, reason=reason, customer_reason=customer_reason,
            comment=comment, on=on, skip_refused=skip_refused, step=step, digest=digest,
            as_json=as_json)


COMMANDS = [approve, reject, apply, cancel]
