"""`bean-adjust check --since REV`: what rewrites the past REV had decided.

`compare` takes two snapshots and returns findings, pure; `decisions`, `rules`,
`plain_postings` and `identity` hold the comparisons, `repository` the git plumbing. Why the rule
accepts every honest append and nothing else is in docs/check-since.md; the user
manual is README's "The past is append-only". The names below are the package's
public API.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from beancount_adjustments.core.models import Source
from beancount_adjustments.reports.history.decisions import (
    backdated_items,
    compare_adjustments,
    compare_events,
    old_signatures,
)
from beancount_adjustments.reports.history.findings import Finding, finding_json, format_finding
from beancount_adjustments.reports.history.identity import (
    CommitOf,
    check_git_identity,
    identity_lines,
)
from beancount_adjustments.reports.history.plain_postings import (
    backdated_postings,
    judges,
    loosened_judges,
    opened_payment_accounts,
    unruled_postings,
)
from beancount_adjustments.reports.history.plugin_settings import (
    options_changed,
    settings_changed,
)
from beancount_adjustments.reports.history.repository import (
    HistoryError,
    Repository,
    open_repository,
)
from beancount_adjustments.reports.history.rev_tree import snapshot_at
from beancount_adjustments.reports.history.rules import (
    changed_references,
    compare_directives,
    reopened_periods,
    rules_changed,
)
from beancount_adjustments.reports.history.self_authorized import self_authorized
from beancount_adjustments.reports.history.site_checks import site_checks_changed
from beancount_adjustments.reports.history.snapshot import (
    Snapshot,
    decided,
    last_decision,
    new_events,
)

__all__ = [
    "Finding",
    "HistoryError",
    "Repository",
    "Snapshot",
    "compare",
    "decided",
    "finding_json",
    "format_finding",
    "new_events",
    "open_repository",
    "site_checks_changed",
    "snapshot_at",
]


def compare(old: Snapshot, new: Snapshot, *, rev: str = "REV",
            commit_of: CommitOf | None = None, writers_of: CommitOf | None = None,
            removers_of: CommitOf | None = None,
            forked_at: Callable[[Source], datetime.datetime | None] | None = None
            ) -> list[Finding]:
    """Every way `new` rewrites what `old` (the ledger at `rev`) had decided.

    With `commit_of`, decisions new since `old` are also checked against
    `git-identity` policies, and rule lines against the requests and decisions of
    whoever wrote them (`self_authorized`: `writers_of`, every commit since REV that
    touched a rule line, else `commit_of`; `removers_of`, those that removed one REV
    held, else removals are notes only). Rule changes dated after REV's last
    decision are notes (`Finding.note`). Plain postings (no request's) written since
    REV are judged as made now (`backdated_postings`). `forked_at`: when the
    entry at a source can first have been written (what is new since REV was written
    after the commit it forked from REV's history at).
    `rev` only names the revision in the messages.
    """
    findings = compare_events(old.book.facts.events, new.book.facts.events, rev=rev)
    touched = {f.adjustment_id for f in findings}
    findings += compare_adjustments(old, new, rev=rev,
                                    skip_history_of={t for t in touched if t})
    cutoff = last_decision(old.book)
    if cutoff is not None:
        findings += compare_directives(old.entries, new.entries, cutoff, rev=rev)
        seen = {(f.filename, f.lineno) for f in findings}
        findings += [f for f in backdated_items(old.book, new.book, cutoff, rev=rev,
                                                forked_at=forked_at)
                     if (f.filename, f.lineno) not in seen]
    seen = {(f.filename, f.lineno) for f in findings}  # an edited one is found as such
    findings += [f for f in old_signatures(old.book, new.book, rev=rev)
                 if (f.filename, f.lineno) not in seen]
    findings += reopened_periods(old.book, new.book, cutoff, rev=rev)
    findings += changed_references(old.book, new.book, rev=rev)
    findings += backdated_postings(old.entries, new.entries, judges(new.book), rev=rev)
    findings += unruled_postings(old.entries, new.entries, loosened_judges(old.book, new.book),
                                 rev=rev)
    if commit_of is not None:
        findings += check_git_identity(old, new, commit_of, rev=rev)
    findings += identity_lines(old.book, new.book, cutoff, commit_of, rev=rev)
    told = {(f.filename, f.lineno, f.at_rev) for f in findings}
    findings += rules_changed(old.entries, new.entries, cutoff, rev=rev, told=told)
    findings += opened_payment_accounts(old.entries, new.entries, new.book, rev=rev)
    files = new.book.facts.files
    top = files[0] if files else None
    findings += settings_changed(old.book.settings, new.book.settings, top, rev=rev)
    findings += options_changed(old.options, new.options, top, rev=rev)
    if commit_of is not None:
        findings += self_authorized(old, new, writers_of or commit_of,
                                    removers_of=removers_of, rev=rev)
    return findings
