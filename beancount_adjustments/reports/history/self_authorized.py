"""`self-authorized`: under `git-identity`, a rule changed and acted under by one user
in one change. A rule dated after REV's last decision is an ordinary append (a
`rule-changed` note), and the reviewer of the change reads it; but alice, writing
roleless approval rows and filing a credit that books itself in the same change,
would need nobody else. Who wrote a line is `identity`'s answer (git blame, and the
user REV knew by that commit's e-mail).
"""

from __future__ import annotations

from beancount.core import data

from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.identity import (
    CommitOf,
    committed_by,
    requesters_of,
)
from beancount_adjustments.reports.history.rules import (
    directive_content,
    rule_subject,
    rules_written,
)
from beancount_adjustments.reports.history.snapshot import (
    Snapshot,
    describe_event,
    new_events,
    new_requests,
)


def self_authorized(old: Snapshot, new: Snapshot, commit_of: CommitOf, *,
                    rev: str = "REV") -> list[Finding]:
    """Rule lines new or changed since REV committed by a user who, since REV too, asked
    for or entered a request (new or edited) or made a decision dated on or after the
    rule's date: on any type, as a rule can change how any request is judged.

    Only where a type policy (at REV or now) requires git identity: elsewhere a
    commit says nothing about who a user is. A signing key is left out: it lets
    its user sign as themselves and nobody else, and under `git-identity` its line
    is theirs already (`identity_lines`). A removed rule leaves no line for git
    blame to name: it is a note only.
    """
    policies = [*old.book.facts.policies, *new.book.facts.policies]
    if not any(getattr(p, "git_identity", None) for p in policies):
        return []
    signed = any(getattr(p, "git_signed", None) for p in new.book.facts.policies)
    requests = new_requests(old.book.facts.requests, new.book.facts.requests)
    events = new_events(old.book.facts.events, new.book.facts.events)
    findings = []
    for entry in rules_written(old.entries, new.entries):
        if isinstance(entry, data.Custom) and entry.type == "adjustment-key":
            continue
        source = source_of(entry)
        commits = commit_of(source)
        if isinstance(commits, str):   # not committed: `git-identity` says so where it counts
            continue
        for user in committed_by(old.book, new.book, commits, entry.date, signed=signed):
            acts = [(r.id, f"asked for or entered {r.id} (dated {r.date})") for r in requests
                    if user in requesters_of(r) and r.date >= entry.date]
            acts += [(e.adjustment_id, describe_event(e)) for e in events
                     if e.by == user and e.date >= entry.date]
            content = directive_content(entry)
            if not acts or content is None:
                continue
            findings.append(Finding(
                "self-authorized",
                f"{user} committed {rule_subject(content)}, new or changed since {rev}, and "
                f"in the same change {_listed([what for _, what in acts])}: whoever "
                "changes a rule does not act under it in the same change; land the rule "
                "change on its own (reviewed), then act", source.filename, source.lineno,
                adjustment_id=acts[0][0]))
    return findings


def _listed(acts: list[str]) -> str:
    return acts[0] if len(acts) == 1 else ", ".join(acts[:-1]) + " and " + acts[-1]
