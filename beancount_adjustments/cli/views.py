"""`bean-adjust list | queue | show | check`: read the book, change nothing.

    bean-adjust -f main.beancount list --state pending --type 'credit:*' --json
    bean-adjust queue --awaiting bob          # what bob may approve now
    bean-adjust queue --older-than 3          # open for more than 3 days
    bean-adjust show ADJ-2026-0042
    bean-adjust check                         # like bean-check, plus a summary

`list` shows every adjustment, `queue` only the open ones (pending,
approved, or `reversing`: a reversal awaiting approval), oldest first;
`--awaiting USER` keeps what `permissions.denial` (the replay's rule) lets
USER approve now, reversals included; overdue ones (past their type's `sla-days`) are
marked `!`. `show` prints the request, its postings, every event with who,
when and whether it counted (and whether its digest still matches), what
is still required and who may give it, and the entries the plugin generated.
`check` loads the ledger, prints every error as `file:line: message` and
exits with 1 if there is any.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from beancount.core import data
from beancount.parser import printer

from beancount_adjustments.beans import loading
from beancount_adjustments.beans.loading import load_uncached
from beancount_adjustments.cli.common import (
    Refused,
    emit_json,
    json_option,
    ledger_option,
    load,
    parse_money,
    today,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import OPEN_STATES, Adjustment, Record, State
from beancount_adjustments.core.policy import Rates
from beancount_adjustments.plugin import book_of
from beancount_adjustments.reports import history
from beancount_adjustments.reports.queries import (
    Filters,
    age_days,
    counts_by_state,
    customer_name,
    customer_text,
    eligible_approvers,
    is_overdue,
    requirements,
    row,
    rule_text,
    select,
)

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
             str(a.amount) if a.amount else "-", a.request.requested_by,
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
    on = today()
    chosen_states = ({State(s) for s in states} if states else default_states)
    filters = Filters(states=chosen_states, type=type_pattern, category=category,
                      customer=customer, requester=requester, older_than=older_than,
                      awaiting=awaiting,
                      below=parse_money(below, "--below") if below else None)
    found = select(book, filters, on, rates)
    if as_json:
        emit_json([{**row(a, book, on, rates),
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
    digest = record.event.digest
    if digest is None:
        return "no digest"
    return "digest matches" if digest == adj.digest else "digest STALE"


def _generated(entries: list[data.Directive], adj_id: str) -> list[data.Transaction]:
    return [e for e in entries if isinstance(e, data.Transaction)
            and adj_id in (e.links or ()) and e.tags
            and ({"adjustment", "adjustment-reversal"} & set(e.tags))]


def _show_json(adj: Adjustment, book: Book, entries: list[data.Directive],
               on: datetime.date, rates: Rates) -> dict[str, Any]:
    out = row(adj, book, on, rates)
    request = adj.request
    out.update({
        "payee": request.payee, "narration": request.narration, "ticket": request.ticket,
        "document": request.document,
        "effective": request.effective.isoformat() if request.effective else None,
        "customer_name": customer_name(book, request.customer, on) or None,
        "tier": adj.tier, "rule": rule_text(adj) if adj.chain or adj.rule else None,
        "postings": [{"account": p.account, "number": str(p.number), "currency": p.currency}
                     for p in request.postings],
        "events": [{"date": r.event.date.isoformat(), "action": str(r.event.action),
                    "by": r.event.by, "at": r.event.at, "reason": r.event.reason,
                    "comment": r.event.comment, "accepted": r.accepted, "stale": r.stale,
                    "note": r.note, "digest": r.event.digest,
                    "digest_matches": (None if r.event.digest is None
                                       else r.event.digest == adj.digest),
                    "file": r.event.source.filename, "line": r.event.source.lineno}
                   for r in adj.history],
        "problems": [{"code": p.code, "message": p.message, "file": p.source.filename,
                      "line": p.source.lineno} for p in adj.problems],
        "generated": [printer.format_entry(e) for e in _generated(entries, adj.id)],
        "approval_required": request.approval_required, "notes": request.notes,
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
    on = today()
    if as_json:
        emit_json(_show_json(adj, book, entries, on, rates))
        return
    request = adj.request
    echo = click.echo
    echo(f"{adj.id}  {request.type}  {adj.state}")
    echo(f"  at {request.source.filename}:{request.source.lineno}")
    echo(f"  customer: {customer_text(book, request.customer, on)}"
         + (f", tier {adj.tier}" if adj.tier else ""))
    echo(f"  requested by {request.requested_by} on {request.date}")
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
    echo(f"  rule: {rule_text(adj)}")
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
        who = eligible_approvers(book, adj, on)
        what = "the reversal" if adj.state is State.REVERSING else "next"
        echo(f"may approve {what} ({adj.next_role}): {', '.join(who) or 'nobody today'}")
    if adj.problems:
        echo("problems:")
        for problem in adj.problems:
            echo(f"  {problem.source.filename}:{problem.source.lineno}: {problem.message}")
    generated = _generated(entries, adj.id)
    echo("generated entries:" if generated else "generated entries: none")
    for entry in generated:
        for text_line in printer.format_entry(entry).rstrip("\n").splitlines():
            echo(f"  {text_line}")


@click.command("check")
@ledger_option
@click.option("--since", "since", metavar="REV", default=None,
              help="Also fail on anything that rewrites what the ledger at git revision "
                   "REV had decided (see the README: the past is append-only).")
@click.option("--pre-commit", "pre_commit", is_flag=True,
              help="With --since: judge uncommitted lines as the commit about to be made "
                   "(its author is git's user.email), as a pre-commit hook needs.")
@json_option
def check(ledger: Path, since: str | None, pre_commit: bool, as_json: bool) -> None:
    """Load the ledger; print its errors like bean-check, then a summary.

    With `--since REV`, also compare with the ledger at git revision REV
    (`beancount_adjustments.reports.history`) and fail on any rewrite of the past.
    """
    repo = None
    if since is not None:
        try:
            repo = history.open_repository(ledger, since, pre_commit=pre_commit)
        except history.HistoryError as exc:
            click.echo(f"bean-adjust: check --since {since}: {exc}", err=True)
            raise click.exceptions.Exit(1) from None
    entries, errors, options = loading.load_file(str(ledger))
    book = book_of(options)
    lines = []
    for error in errors:
        source = error.source or {}
        first, *rest = str(error.message).splitlines() or [""]
        lines.append(f"{source.get('filename', '<unknown>')}:{source.get('lineno', 0)}: "
                     f"{first}" + "".join(f"\n  {r}" for r in rest))
    counts = counts_by_state(book.adjustments.values()) if book else None
    read = [str(name) for name in options.get("include", ())]
    past = _since(repo, entries, book, read) if repo is not None else None
    if as_json:
        out: dict[str, Any] = {
            "errors": lines, "adjustments": counts,
            "warnings": [p.message for p in book.warnings] if book else []}
        if past is not None:
            out["since"] = past.json()
        emit_json(out)
    else:
        for line in lines:
            click.echo(line, err=True)
        if book is None:
            click.echo('the ledger does not enable plugin "beancount_adjustments"')
        else:
            total = sum(counts.values()) if counts else 0
            summary = ", ".join(f"{n} {s}" for s, n in (counts or {}).items() if n)
            click.echo(f"{total} adjustments" + (f": {summary}" if summary else ""))
            for warning in book.warnings:
                click.echo(f"warning: {warning.source.filename}:{warning.source.lineno}: "
                           f"{warning.message}")
            click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
        if past is not None:
            past.echo()
    if errors or (past is not None and past.failures):
        raise click.exceptions.Exit(1)


@dataclass(frozen=True)
class _Since:
    """What `check --since` found, for the text and the JSON output."""

    repo: history.Repository
    findings: list[history.Finding]
    rev_name: Callable[[str], str]
    note: str | None
    """Why nothing was compared (None: it was)."""
    decided: int = 0
    new: int = 0

    def summary(self) -> str:
        rev = f"{self.repo.rev} ({self.repo.sha[:12]})"
        if self.note is not None:
            return f"since {rev}: {self.note}"
        counted = (f"{_plural(self.decided, 'adjustment')} decided at {self.repo.rev}, "
                   f"{_plural(self.new, 'new decision')}")
        warnings = sum(1 for f in self.findings if f.warning)
        if warnings:
            counted += f"; {_plural(warnings, 'warning')} to look at"
        if self.failures:
            return (f"since {rev}: {_plural(len(self.failures), 'finding')}: the past is not "
                    f"append-only ({counted})")
        return f"since {rev}: the past is intact ({counted})"

    @property
    def failures(self) -> list[history.Finding]:
        """The findings that fail the check (warnings do not)."""
        return [f for f in self.findings if not f.warning]

    def echo(self) -> None:
        for finding in self.findings:
            click.echo(history.format_finding(finding, self.repo.rev, self.rev_name))
        click.echo(self.summary())

    def json(self) -> dict[str, Any]:
        return {"rev": self.repo.rev, "commit": self.repo.sha, "compared": self.note is None,
                "note": self.note, "decided_at_rev": self.decided, "new_decisions": self.new,
                "findings": [history.finding_json(f, self.rev_name) for f in self.findings],
                "summary": self.summary()}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _load_book(path: Path) -> tuple[list[data.Directive], Book | None]:
    entries, _errors, options = load_uncached(path)
    return entries, book_of(options)


def _since(repo: history.Repository, entries: list[data.Directive],
           book: Book | None, read: list[str]) -> _Since:
    """`read`: the files the load of the current ledger read."""
    old, rev_name = history.snapshot_at(repo, _load_book)
    if old is None:
        return _Since(repo, [], rev_name, note=(
            f"{repo.ledger} did not exist at {repo.rev}, or did not enable the plugin: "
            f"nothing was decided then, nothing to compare"))
    decided = sum(1 for a in old.book.adjustments.values() if history.decided(a))
    if book is None:
        finding = history.Finding(
            "plugin-removed", f"the ledger enabled the plugin at {repo.rev} and does not any "
            f"more: every decision {repo.rev} held would be dropped", str(_ledger_path(repo)), 0)
        return _Since(repo, [finding], rev_name, note=None, decided=decided)
    now = history.Snapshot(book=book, entries=entries)
    findings = repo.untracked(read)
    findings += history.compare(old, now, rev=repo.rev, commit_of=repo.commits_of)
    new = len(history.new_events(old.book.facts.events, book.facts.events))
    return _Since(repo, findings, rev_name, note=None, decided=decided, new=new)


def _ledger_path(repo: history.Repository) -> Path:
    return repo.top / repo.ledger


COMMANDS = [list_, queue, show, check]
