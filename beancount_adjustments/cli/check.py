"""`bean-adjust check [--since REV]`: load the ledger like bean-check, print every
error as `file:line: message` and a summary, exit 1 if there is any; with
`--since`, also fail on any rewrite of what REV had decided (`reports.history`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from beancount.core import data

from beancount_adjustments.beans import loading
from beancount_adjustments.beans.as_written import adjustment_directives
from beancount_adjustments.beans.metadata import source_meta, source_of
from beancount_adjustments.cli.common import emit_json, json_option, ledger_option, problem_line
from beancount_adjustments.core.book import Book
from beancount_adjustments.plugin import AdjustmentError, book_of
from beancount_adjustments.reports import history
from beancount_adjustments.reports.queries import counts_by_state


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
            _refuse(since, exc)
    # Never from Beancount's cache: the gate CI runs would unpickle, and so run, a
    # cache committed beside the ledger before it is judged fresh.
    entries, errors, options = loading.load_uncached(str(ledger))
    book = book_of(options)
    unjudged = _unjudged(entries) if book is None else None
    if unjudged is not None:
        errors = [*errors, unjudged]
    lines = []
    for error in errors:
        source = error.source or {}
        first, *rest = str(error.message).splitlines() or [""]
        lines.append(f"{source.get('filename', '<unknown>')}:{source.get('lineno', 0)}: "
                     f"{first}" + "".join(f"\n  {r}" for r in rest))
    counts = counts_by_state(book.adjustments.values()) if book else None
    read = [str(name) for name in options.get("include", ())]
    try:
        past = _since(repo, entries, book, read, options) if repo is not None else None
    except history.HistoryError as exc:
        _refuse(since, exc)
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
                click.echo(f"warning: {problem_line(warning)}")
            click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
        if past is not None:
            past.echo()
    if errors or (past is not None and past.failures):
        raise click.exceptions.Exit(1)


def _unjudged(entries: list[data.Directive]) -> AdjustmentError | None:
    """The error at the first adjustment directive of a ledger that does not enable the
    plugin, or None: nothing judges them, and each request's postings are booked as
    written, with no approval, while bean-check has nothing to say."""
    first = next(adjustment_directives(entries), None)
    if first is None:
        return None
    return AdjustmentError(source_meta(source_of(first)),
                     'the ledger holds adjustment directives and does not enable plugin '
                     '"beancount_adjustments": nothing judges them, and a request\'s postings '
                     'are booked as written, with no approval; add the plugin line '
                     '[plugin-not-enabled]', first)


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
        notes = sum(1 for f in self.findings if f.note)
        if notes:
            counted += f"; {_plural(notes, 'rule change')} to read"
        if self.failures:
            return (f"since {rev}: {_plural(len(self.failures), 'finding')}: the past is not "
                    f"append-only ({counted})")
        return f"since {rev}: the past is intact ({counted})"

    @property
    def failures(self) -> list[history.Finding]:
        """The findings that fail the check (warnings and notes do not)."""
        return [f for f in self.findings if f.kind == "finding"]

    def echo(self) -> None:
        for finding in self.findings:
            click.echo(history.format_finding(finding, self.repo.rev, self.rev_name))
        click.echo(self.summary())

    def json(self) -> dict[str, Any]:
        return {"rev": self.repo.rev, "commit": self.repo.sha, "compared": self.note is None,
                "note": self.note, "decided_at_rev": self.decided, "new_decisions": self.new,
                "findings": [history.finding_json(f, self.rev_name) for f in self.findings],
                "summary": self.summary()}


def _refuse(since: str | None, exc: history.HistoryError) -> NoReturn:
    """REV cannot be compared with (no repository, a shallow clone, REV's code
    failing): one line, exit 1."""
    click.echo(f"bean-adjust: check --since {since}: {exc}", err=True)
    raise click.exceptions.Exit(1) from None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _since(repo: history.Repository, entries: list[data.Directive],
           book: Book | None, read: list[str], options: dict[str, Any]) -> _Since:
    """`read`: the files the load of the current ledger read; `options`: its options."""
    old, rev_name = history.snapshot_at(repo)
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
    now = history.Snapshot(book=book, entries=entries, options=options)
    findings = repo.committed_caches() + repo.untracked(read, at_rev=old)
    # The site code the current load's checks ran (the plugin's stamp holds it).
    findings += history.site_checks_changed(
        repo, getattr(options.get(loading.STAMP_KEY), "sources", ()))
    findings += history.compare(old, now, rev=repo.rev, commit_of=repo.commits_of,
                                writers_of=functools.partial(repo.writers_of, read),
                                removers_of=functools.partial(repo.removers_of, rev_name),
                                forked_at=repo.forked_at)
    new = len(history.new_events(old.book.facts.events, book.facts.events))
    return _Since(repo, findings, rev_name, note=None, decided=decided, new=new)


def _ledger_path(repo: history.Repository) -> Path:
    return repo.top / repo.ledger


COMMANDS = [check]
