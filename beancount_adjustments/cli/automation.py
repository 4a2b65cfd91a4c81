"""`bean-adjust risk | notify | automate`.

`risk` lists `reports.risk` findings (exit 0: it is a report); `notify` reads
the channels and customer-notice lines (`beans.notify_lines`), plans and sends
through `notify` (exit 1 when a channel failed or a line is wrong); `automate`
writes what `intake.automation` works out from the rules (`beans.intake_lines`)
through the writer. The manual is README's "Risk, notifications and automation"
and docs/.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Any

import click

from beancount_adjustments import notify
from beancount_adjustments.beans.intake_lines import parse_rules
from beancount_adjustments.beans.notify_lines import (
    CUSTOMER_NOTICE,
    parse_channels,
    parse_customer_notices,
)
from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    emit_json,
    json_option,
    ledger_option,
    load,
    of_the_ledger,
    problem_line,
    report_refusals,
    require_user,
    user_option,
    write_json,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.intake import automation
from beancount_adjustments.notify import alerts as notify_alerts
from beancount_adjustments.notify import customers as notify_customers
from beancount_adjustments.reports import risk
from beancount_adjustments.writer import (
    NewRequest,
    WriteRefused,
    write_requests,
    written_today,
)


@click.command("risk")
@ledger_option
@click.option("--as-of", "as_of", type=DAY, default=None,
              help="Judge as of this date (default: the ledger's last adjustment date).")
@click.option("--check", "checks", multiple=True, metavar="NAME",
              help="Only this check (repeatable; alerts are `alert:<dimension>`).")
@json_option
def risk_command(ledger: Path, as_of: datetime.datetime | None, checks: tuple[str, ...],
                 as_json: bool) -> None:
    """Threshold alerts and suspicious patterns, each with the adjustments behind it."""
    _entries, _errors, _options, book = load(ledger)
    found = risk.findings(book, as_of.date() if as_of else None)
    if checks:
        found = [f for f in found if f.check in checks]
    if as_json:
        emit_json([f.as_json() for f in found])
        return
    if not found:
        click.echo("no findings")
        return
    for finding in found:
        click.echo(f"[{finding.check}] {finding.message}")
        click.echo(f"    ids: {', '.join(finding.ids)}")
        if finding.notify:
            click.echo(f"    sent by notify to: {', '.join(finding.notify)}")
    counts = ", ".join(f"{n} {check}" for check, n in sorted(risk.summarize(found).items()))
    click.echo(f"{len(found)} finding{'s' if len(found) != 1 else ''} ({counts})")


@click.command("notify")
@ledger_option
@click.option("--state-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sent notice keys (default: .bean-adjust-notify.json beside the ledger).")
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path),
              default=None, help="A TOML file with a [channels] table.")
@click.option("--ledger-variable", "ledger_variables", metavar="NAME", multiple=True,
              help="An environment variable a ledger's channel line may place inside a URL "
                   "(repeatable): only a value that is no secret, since the line chooses "
                   "where it goes.")
@click.option("--require-destinations", is_flag=True,
              help="Refuse to run unless the notify config has a [destinations] allow-list "
                   "(for cron and CI: the ledger's editor must not choose where notices go).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.option("--since", "since", metavar="REV", default=None,
              help="Treat the notices of the ledger at git revision REV as already sent.")
@click.option("--baseline", is_flag=True,
              help="Record every current notice as sent without sending (first use).")
@click.option("--today", "today", type=DAY, default=None,
              help="The day escalations are judged on (default: today).")
@json_option
def notify_command(ledger: Path, *, state_file: Path | None, config: Path | None,
                   ledger_variables: tuple[str, ...], require_destinations: bool,
                   dry_run: bool,
                   since: str | None, baseline: bool,
                   today: datetime.datetime | None, as_json: bool) -> None:
    """Send approval requests, status updates, escalations, completion notices,
    customer notices (types opted in with `adjustment-customer-notice`) and alerts
    (risk findings whose directive has `notify:`).

    Delivery is at least once: each notice carries a stable id (`Notice id:` in
    its last line, `X-Notice-Id`/`Idempotency-Key` headers where the channel takes
    headers) so receivers can drop a repeat. A delivery a previous run started
    but never recorded (it stopped between sending and recording) is reported as
    "may have been sent" and sent again with the same id.

    Exit status 0 when everything due was delivered, 1 when a channel failed
    or was refused, or a channel or customer-notice line is wrong (reported at
    its file:line; the rest is still sent, the failed notices retried by the
    next run).
    """
    day = today.date() if today else datetime.date.today()
    # Who is told to approve is who the writer lets approve now: a decision written
    # now counts as written on this day too (tomorrow, after noon on a UTC machine).
    written = written_today()
    entries, errors, options, book = load(ledger, cached=since is None)
    if state_file is not None and of_the_ledger(state_file, options["include"]):
        raise Refused(f"--state-file {state_file} is a file of the ledger; keep notify's "
                      "state in a file of its own")
    if errors:
        click.echo(f"bean-adjust: warning: the ledger has {len(errors)} error(s); invalid "
                   "adjustments notify nobody", err=True)
    try:
        channels, wrong_lines = parse_channels(entries)
        problems = [problem_line(p) for p in wrong_lines]
        destinations = None
        if config is not None:
            read = notify.read_config(config)
            channels += read.channels
            problems += read.problems
            destinations = read.destinations
        if require_destinations and destinations is None:
            raise notify.ChannelError(
                f"{config or 'no --config given'}: no [destinations] allow-list, and "
                "--require-destinations is set: list where the ledger's channels may send "
                "(docs/notify.md, Channels)")
        found, setup = _due(book, entries, day, problems, written)
        if not setup.notices and any(c.target.startswith("customer:") for c in channels):
            click.echo(f"bean-adjust: warning: customer channels are declared but no type "
                       f"sends customer notices; opt in with custom "
                       f"\"{CUSTOMER_NOTICE}\"", err=True)
        already: frozenset[str] = frozenset()
        if since is not None:
            old_book, old_day, old_entries = notify.book_at_revision(ledger, since)
            old, _setup = _due(old_book, old_entries, old_day, [], written)
            already = frozenset(n.key for n in old)
        path = state_file or ledger.parent / ".bean-adjust-notify.json"
        with notify.locked(path):
            state = notify.SentState.read(path)
            outcome = notify.plan(found, channels, book, today=day, state=state,
                                  already=already,
                                  ledger_variables=frozenset(ledger_variables),
                                  destinations=destinations, environ=os.environ)
            # A bad line is reported at its file:line; the others still send.
            outcome.refused[:0] = problems
            mode = "dry-run" if dry_run else "baseline" if baseline else "send"
            if dry_run:
                if not as_json:
                    _print_plan(outcome)
            elif baseline:
                stamp = _now()
                for delivery in outcome.planned:
                    state.record(delivery.notice.key, delivery.route.id, stamp)
                for item in outcome.unsettled:
                    state.unmark(item.key, item.route_id)
                state.write()
                if not as_json:
                    click.echo(f"recorded {len(outcome.planned)} deliveries as sent "
                               "(baseline)")
            else:
                notify.run(outcome, state, notify.apprise_send, os.environ, _now)
                if not as_json:
                    _print_run(outcome)
    except notify.ChannelError as exc:
        raise Refused(str(exc)) from None
    if as_json:
        emit_json(_outcome_json(outcome, mode))
    elif outcome.unsettled:
        _print_unsettled(outcome, mode)
    for problem in outcome.refused:
        click.echo(f"bean-adjust: error: {problem}", err=True)
    if outcome.failed or outcome.refused:
        sys.exit(1)


def _due(book: Book, entries: list[Any], day: datetime.date, problems: list[str],
         written: datetime.date) -> tuple[list[notify.Notice], notify_customers.CustomerSetup]:
    """Every notice due on `day`, approvals written on `written`: staff, customers,
    alerts (what is wrong with the customer-notice lines goes to `problems`)."""
    setup, wrong = parse_customer_notices(entries)
    problems += [problem_line(p) for p in wrong]
    found = (notify.notices(book, day, written=written)
             + notify_customers.customer_notices(book, day, setup)
             + notify_alerts.alert_notices(book, day))
    return found, setup


def _outcome_json(outcome: notify.Outcome, mode: str) -> dict[str, object]:
    """`notify --json`: every delivery by what became of it (channel URL templates
    only: secrets come from the environment and never appear)."""
    def delivery(item: notify.Delivery) -> dict[str, object]:
        notice = item.notice
        out: dict[str, object] = {
            "key": notice.key, "notice_id": notice.id, "kind": notice.kind,
            "recipient": notice.recipient, "adjustment_id": notice.adjustment_id,
            "channel": item.route.channel.url, "subject": notice.subject}
        if item.error is not None:
            out["error"] = item.error
        if item.in_flight is not None:
            out["may_have_been_sent"] = True
        return out

    def unsettled(item: notify.Unsettled) -> dict[str, object]:
        return {"key": item.key, "notice_id": item.notice_id, "channel": item.channel,
                "marked_at": item.at, "resend": item.resend}

    return {
        "mode": mode,
        "planned": [delivery(d) for d in outcome.planned] if mode != "send" else [],
        "sent": [delivery(d) for d in outcome.sent],
        "failed": [delivery(d) for d in outcome.failed],
        "no_channel": [{"key": n.key, "recipient": n.recipient} for n in outcome.no_channel],
        "refused": list(outcome.refused),
        "may_have_been_sent": [unsettled(u) for u in outcome.unsettled],
    }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _print_unsettled(outcome: notify.Outcome, mode: str) -> None:
    """Deliveries a previous run started and never recorded (stderr, never silent)."""
    sent = {(d.notice.key, d.route.id) for d in outcome.sent}
    for item in outcome.unsettled:
        then = ("would resend it with the same id" if mode == "dry-run" else
                "recorded as sent" if mode == "baseline" else
                "resent with the same id" if (item.key, item.route_id) in sent else
                "resending it failed (retried with the same id by the next run)")
        if not item.resend:
            then = "no longer due: not resent" + ("" if mode == "dry-run" else ", forgotten")
        click.echo(f"bean-adjust: warning: {item.key} via {item.channel} may have been sent "
                   f"(notice id {item.notice_id}; a run stopped after starting it at "
                   f"{item.at} and before recording it); {then}", err=True)


def _print_plan(outcome: notify.Outcome) -> None:
    for delivery in outcome.planned:
        notice = delivery.notice
        click.echo(f"would send {notice.key} to {notice.recipient} via "
                   f"{delivery.route.channel.url}"
                   + (f" ({{email}}={delivery.route.email})" if delivery.route.email else ""))
        click.echo(f"    {notice.subject} (notice id {notice.id})")
    for notice in outcome.no_channel:
        click.echo(f"no channel for {notice.recipient}: {notice.key}")
    click.echo(f"{len(outcome.planned)} deliveries due (dry run: nothing sent)")


def _print_run(outcome: notify.Outcome) -> None:
    for delivery in outcome.sent:
        click.echo(f"sent {delivery.notice.key} via {delivery.route.channel.url}"
                   + (" (again: it may have been sent before)" if delivery.in_flight else ""))
    for delivery in outcome.failed:
        click.echo(f"bean-adjust: error: {delivery.notice.key} via "
                   f"{delivery.route.channel.url}: {delivery.error} (will retry)", err=True)
    for notice in outcome.no_channel:
        click.echo(f"no channel for {notice.recipient}: {notice.key}")
    click.echo(f"sent {len(outcome.sent)}, failed {len(outcome.failed)}")


@click.command("automate")
@ledger_option
@user_option
@click.option("--through", type=DAY, required=True,
              help="Create what the rules call for up to and including this day.")
@click.option("--dry-run", is_flag=True, help="Print the requests; write nothing.")
@json_option
def automate_command(*, ledger: Path, user: str | None, through: datetime.datetime,
                     dry_run: bool, as_json: bool) -> None:
    """Create the requests the ledger's `adjustment-rule`s call for, each exactly once.

    A rule line that does not read is reported at its file:line and not used (exit
    status 1); the other rules still run. A feed that cannot be read stops the run.
    """
    who = require_user(user)
    wrong_lines: list[str] = []

    def due_in(entries: list[Any], book: Book) -> list[automation.Occurrence]:
        rules, problems = parse_rules(entries)
        wrong_lines[:] = [problem_line(p) for p in problems]
        try:
            return automation.pending(book, automation.occurrences(book, entries, rules,
                                                                   through.date(), who))
        except automation.FeedError as exc:
            raise Refused(str(exc)) from None

    if dry_run:
        entries, _errors, _options, book = load(ledger)
        _print_due(due_in(entries, book), through.date(), as_json=as_json)
        _report_lines(wrong_lines)
        return
    due: list[automation.Occurrence] = []

    def requests(entries: list[Any], book: Book) -> list[NewRequest]:
        # Worked out on the writer's own load, under its lock: one parse.
        due.extend(due_in(entries, book))
        return [item.request for item in due]

    try:
        result = write_requests(ledger, requests, partial=True)
    except WriteRefused as exc:
        if as_json:
            emit_json(write_json(None, exc.refusals))
        else:
            report_refusals(exc.refusals)
        _report_lines(wrong_lines)
        sys.exit(1)
    if not due:
        if as_json:
            emit_json({**write_json(None), "due": []})
        else:
            click.echo("nothing to create: every occurrence through "
                       f"{through.date()} is in the ledger")
        _report_lines(wrong_lines)
        return
    if as_json:
        emit_json(write_json(result))
    else:
        refused = {r.index for r in result.refused}
        ids = iter(result.ids)
        for index, item in enumerate(due):
            if index not in refused:
                click.echo(f"created {next(ids, '?')} for {item.external_id}")
        report_refusals(result.refused)
        click.echo(f"wrote {result.written} request{'s' if result.written != 1 else ''} to "
                   f"{result.path}" if result.written else f"wrote nothing to {result.path}")
    _report_lines(wrong_lines)
    if result.refused:
        sys.exit(1)


def _report_lines(lines: list[str]) -> None:
    """The rule lines that do not read, each as `file:line: message` (as bean-check
    says it); exit status 1 when there are any."""
    for line in lines:
        click.echo(f"bean-adjust: error: {line}", err=True)
    if lines:
        sys.exit(1)


def _print_due(due: list[automation.Occurrence], through: datetime.date, *,
               as_json: bool) -> None:
    """What `automate --dry-run` would create."""
    if as_json:
        emit_json({**write_json(None, dry_run=True), "due": [
            {"external_id": item.external_id, "type": item.request.type,
             "customer": item.request.customer, "date": item.request.date,
             "amount": abs(item.request.postings[0][1]),
             "currency": item.request.postings[0][2]} for item in due]})
        return
    if not due:
        click.echo(f"nothing to create: every occurrence through {through} is in the ledger")
        return
    for item in due:
        request = item.request
        _account, number, currency = request.postings[0]
        click.echo(f"would create {item.external_id}: {request.type} {abs(number)} "
                   f"{currency} for {request.customer} on {request.date}")
    click.echo(f"{len(due)} request{'s' if len(due) != 1 else ''} due (dry run)")


COMMANDS: list[click.Command] = [risk_command, notify_command, automate_command]
