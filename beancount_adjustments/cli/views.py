"""`bean-adjust list | queue | show`: read the book, change nothing.

`list` and `queue` (the open ones) select with `reports.queries.select`
(`--awaiting` is `permissions.denial`, the replay's rule) and mark overdue items
`!` (`queries.is_overdue`); `show` prints one adjustment's whole story. The
manual is README's "Requests and decisions".
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click
from beancount.core import data
from beancount.parser import printer

from beancount_adjustments.beans.effects import own_effect
from beancount_adjustments.cli.common import (
    Refused,
    emit_json,
    json_option,
    ledger_option,
    load,
    parse_money,
    problem_line,
    today,
)
from beancount_adjustments.core import digest as digests
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.lifecycle import step_shown
from beancount_adjustments.core.models import OPEN_STATES, Adjustment, Record, State
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.reports.queries import (
    Filters,
    age_days,
    customer_name,
    customer_text,
    eligible_approvers,
    is_overdue,
    requester_text,
    requirements,
    row,
    rule_text,
    select,
)
from beancount_adjustments.writer import written_today

STATE_CHOICE = click.Choice([s.value for s in State])


def _filter_options(func: Any) -> Any:
    for option in reversed([
            click.option("--state", "states", multiple=True, type=STATE_CHOICE,
                         help="Only this state (repeatable)."),
            click.option("--type", "type_pattern", default=None,
                         help="Only types matching this pattern (credit:*)."),
            click.option("--category", default=None, help="Only categories matching this."),
            click.option("--customer", default=None),
            click.option("--requester", default=None),
            click.option("--older-than", type=click.IntRange(min=0), default=None,
                         metavar="DAYS", help="Only requests older than DAYS."),
            click.option("--awaiting", default=None, metavar="USER",
                         help="Only those USER may approve next."),
            click.option("--below", default=None, help='Only amounts below, like "50 USD".')]):
        func = option(func)
    return func


def _table(book: Book, adjustments: list[Adjustment], on: datetime.date) -> None:
    if not adjustments:
        click.echo("no adjustments match")
        return
    rows = [(("!" if is_overdue(a, on) else " ") + a.id, a.request.date.isoformat(),
             str(a.state), a.request.type, customer_text(book, a.request.customer, on),
             str(a.amount) if a.amount else "-", requester_text(a.request),
             f"{age_days(a, on)}d", requirements(a)) for a in adjustments]
    head = (" ID", "DATE", "STATE", "TYPE", "CUSTOMER", "AMOUNT", "BY", "AGE", "REQUIRES")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    for line in [head, *rows]:
        cells = [cell.rjust(w) if i in (5, 7) else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(line, widths, strict=False))]
        click.echo("  ".join([*cells, line[-1]]).rstrip())


def _list(default_states: frozenset[State] | None, *, ledger: Path,
          states: tuple[str, ...] | None, type_pattern: str | None,
          category: str | None, customer: str | None, requester: str | None,
          older_than: int | None, awaiting: str | None, below: str | None,
          as_json: bool) -> None:
    _entries, _errors, _options, book = load(ledger)
    rates = book.rules.rates
    on, written = today(), written_today()
    chosen_states = ({State(s) for s in states} if states else default_states)
    filters = Filters(states=chosen_states, type=type_pattern, category=category,
                      customer=customer, requester=requester, older_than=older_than,
                      awaiting=awaiting, written=written,
                      below=parse_money(below, "--below") if below else None)
    found = select(book, filters, on, rates)
    if as_json:
        emit_json([{**row(a, book, on, rates, written=written),
                    "customer_name": customer_name(book, a.request.customer, on) or None}
                   for a in found])
    else:
        _table(book, found, on)


@click.command("list")
@ledger_option
@_filter_options
@json_option
def list_(*, ledger: Path, states: tuple[str, ...], type_pattern: str | None,
          category: str | None, customer: str | None, requester: str | None,
          older_than: int | None, awaiting: str | None, below: str | None,
          as_json: bool) -> None:
    """List adjustments, oldest first."""
    _list(None, ledger=ledger, states=states, type_pattern=type_pattern, category=category,
          customer=customer, requester=requester, older_than=older_than, awaiting=awaiting,
          below=below, as_json=as_json)


@click.command("queue")
@ledger_option
@_filter_options
@json_option
def queue(*, ledger: Path, states: tuple[str, ...], type_pattern: str | None,
          category: str | None, customer: str | None, requester: str | None,
          older_than: int | None, awaiting: str | None, below: str | None,
          as_json: bool) -> None:
    """List open adjustments (pending, approved or reversing), oldest first."""
    _list(OPEN_STATES, ledger=ledger, states=states, type_pattern=type_pattern, category=category,
          customer=customer, requester=requester, older_than=older_than, awaiting=awaiting,
          below=below, as_json=as_json)


def _digest_status(record: Record, adj: Adjustment) -> str:
    bound = digests.bound_to(record.event.digest, adj.request, adj.digest)
    if bound is None:
        return "no digest"
    return "digest matches" if bound else "digest STALE"


def _generated(entries: list[data.Directive], adj: Adjustment) -> list[data.Transaction]:
    """The entries the plugin generated for `adj` (`effects.own_effect`): not a
    transaction written with its tag and link (`forged-effect`)."""
    return [e for e in entries if isinstance(e, data.Transaction)
            and own_effect(e, adj) is not None]


def _show_json(adj: Adjustment, book: Book, entries: list[data.Directive],
               on: datetime.date, rates: Rates, *, written: datetime.date) -> dict[str, Any]:
    out = row(adj, book, on, rates, written=written)
    request = adj.request
    out.update({
        "payee": request.payee, "narration": request.narration, "ticket": request.ticket,
        "document": request.document,
        "effective": request.effective.isoformat() if request.effective else None,
        "customer_name": customer_name(book, request.customer, on) or None,
        "tier": adj.tier, "rule": rule_text(adj, book) if adj.chain or adj.rule else None,
        "postings": [{"account": p.account, "number": str(p.number), "currency": p.currency}
                     for p in request.postings],
        "events": [{"date": r.event.date.isoformat(), "action": str(r.event.action),
                    "by": r.event.by, "at": r.event.at, "reason": r.event.reason,
                    "comment": r.event.comment, "accepted": r.accepted, "stale": r.stale,
                    "note": r.note, "digest": r.event.digest,
                    "digest_matches": digests.bound_to(r.event.digest, request,
                                                       adj.digest),
                    "file": r.event.source.filename, "line": r.event.source.lineno}
                   for r in adj.history],
        **{key: [{"code": p.code, "message": p.message, "file": p.source.filename,
                  "line": p.source.lineno} for p in found]
           for key, found in (("problems", adj.problems),
                              ("warnings", book.warnings_of(request.id)))},
        "generated": [printer.format_entry(e) for e in _generated(entries, adj)],
        "approval_required": request.approval_required, "notes": request.notes,
        "step": step_shown(adj),
    })
    return out


@click.command("show")
@ledger_option
@click.argument("adjustment_id", metavar="ID")
@json_option
def show(ledger: Path, adjustment_id: str, as_json: bool) -> None:
    """Everything about one adjustment."""
    entries, _errors, _options, book = load(ledger)
    adj = book.get(adjustment_id)
    if adj is None:
        raise Refused(f"no request has the id {adjustment_id!r}")
    rates = book.rules.rates
    on, written = today(), written_today()
    if as_json:
        emit_json(_show_json(adj, book, entries, on, rates, written=written))
        return
    request = adj.request
    echo = click.echo
    echo(f"{adj.id}  {request.type}  {adj.state}")
    echo(f"  at {request.source.filename}:{request.source.lineno}")
    echo(f"  customer: {customer_text(book, request.customer, on)}"
         + (f", tier {adj.tier}" if adj.tier else ""))
    echo(f"  requested by {requester_text(request)} on {request.date}")
    echo(f"  reason: {request.reason}")
    for label, value in (("category", request.category), ("invoice", request.invoice),
                         ("order", request.order), ("ticket", request.ticket),
                         ("document", request.document), ("effective", request.effective),
                         ("approval required", "yes (asked by the requester)"
                          if request.approval_required else None),
                         ("notes", request.notes)):
        if value:
            echo(f"  {label}: {value}")
    echo(f"  amount: {adj.amount if adj.amount else '-'}")
    echo(f"  digest: {adj.digest}")
    echo(f"  step: {step_shown(adj)}")
    echo(f"  rule: {rule_text(adj, book)}")
    echo("postings:")
    width = max((len(p.account) for p in request.postings), default=0)
    for posting in request.postings:
        echo(f"  {posting.account:<{width}}  {posting.number:>12} {posting.currency}")
    echo("events:")
    if not adj.history:
        echo("  none")
    for record in adj.history:
        event = record.event
        verdict = "counted" if record.accepted else "REFUSED"
        if record.stale:
            verdict = "STALE" if not record.accepted else "counted (stale digest)"
        line = (f"  {event.date} {event.action} by {event.by}: {verdict}; "
                f"{_digest_status(record, adj)}")
        if event.at:
            line += f"; at {event.at}"
        echo(line)
        for label, value in (("reason", event.reason), ("comment", event.comment),
                             ("note", record.note)):
            if value:
                echo(f"      {label}: {value}")
    stale = [r for r in adj.history if r.stale]
    if stale:
        echo("stale approvals (given for other content; they do not count):")
        for record in stale:
            echo(f"  {record.event.date} {record.event.by} at "
                 f"{record.event.source.filename}:{record.event.source.lineno}")
    if adj.reversal_chain or adj.cancelled_by:
        echo(f"reversal asked by {adj.cancelled_by or '-'}; needs "
             f"{' > '.join(adj.reversal_chain) or 'no approval'}")
        for approval in adj.reversal_approvals:
            echo(f"  level {approval.level} ({approval.role}): {approval.by} on {approval.date}")
    echo(f"requires: {requirements(adj)}")
    if adj.next_role:
        who = eligible_approvers(book, adj, on, written=written)
        what = "the reversal" if adj.state is State.REVERSING else "next"
        echo(f"may approve {what} ({adj.next_role}): {', '.join(who) or 'nobody today'}")
    for heading, found in (("problems", adj.problems), ("warnings", book.warnings_of(adj.id))):
        if found:
            echo(f"{heading}:")
            for problem in found:
                echo(f"  {problem_line(problem)}")
    generated = _generated(entries, adj)
    echo("generated entries:" if generated else "generated entries: none")
    for entry in generated:
        for text_line in printer.format_entry(entry).rstrip("\n").splitlines():
            echo(f"  {text_line}")


COMMANDS = [list_, queue, show]
