"""`self-authorized`: under `git-identity`, a rule changed and acted under by one user
in one change. A rule dated after REV's last decision is an ordinary append (a
`rule-changed` note), and the reviewer of the change reads it; but alice, writing
roleless approval rows and filing a credit that books itself in the same change,
would need nobody else. Who wrote a line is `identity`'s answer (the commits since
REV that wrote or touched it, and the user REV knew by that commit's e-mail).
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from beancount.core import data

from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.core.models import Source
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.identity import (
    CommitOf,
    committed_by,
    requesters_of,
)
from beancount_adjustments.reports.history.plugin_settings import plugin_line
from beancount_adjustments.reports.history.rule_words import rule_subject
from beancount_adjustments.reports.history.rules import directive_content, rules_diff
from beancount_adjustments.reports.history.snapshot import (
    Snapshot,
    describe_event,
    new_events,
    new_requests,
)

_FIX = ("whoever changes a rule does not act under it in the same change; land the rule "
        "change on its own (reviewed), then act")


def self_authorized(old: Snapshot, new: Snapshot, writers_of: CommitOf, *,
                    removers_of: CommitOf | None = None, rev: str = "REV") -> list[Finding]:
    """Rule lines new, changed or removed since REV by a user who, since REV too, asked
    for or entered a request (new or edited) or made a decision dated on or after the
    rule's date: on any type, as a rule can change how any request is judged.

    `writers_of`: the commits since REV that wrote or touched a rule line;
    `removers_of`: those that removed one REV held (None: removals are notes only).
    Only where a type policy (at REV or now) requires git identity: elsewhere a
    commit says nothing about who a user is. There, a rule line one of whose
    commits git ties to no user (an author e-mail nobody's `git:` line gives,
    typed at will; an unsigned commit where signatures are asked for) is a finding
    whenever anyone acts in the change: it may be theirs. A signing key is left
    out: it lets its user sign as themselves and nobody else, and under
    `git-identity` its line is theirs already (`identity_lines`).
    """
    policies = [*old.book.facts.policies, *new.book.facts.policies]
    if not any(getattr(p, "git_identity", None) for p in policies):
        return []
    signed = any(getattr(p, "git_signed", None) for p in new.book.facts.policies)
    requests = new_requests(old.book.facts.requests, new.book.facts.requests)
    events = new_events(old.book.facts.events, new.book.facts.events)
    findings = []
    for rule in _rules(old, new, removers_of is not None):
        # Every act of the change dated on or after the rule, with who made it.
        acts = [_Act(r.id, f"asked for or entered {r.id} (dated {r.date})", requesters_of(r),
                     r.date) for r in requests if r.date >= rule.date]
        acts += [_Act(e.adjustment_id, describe_event(e), (e.by,), e.date, named=True)
                 for e in events if e.date >= rule.date]
        if not acts:   # nobody acted under it: git is not asked
            continue
        # Who a commit is by, by the `git:` e-mails of the rule's date; the plugin line
        # has none (it holds from the start): those of the first act under it.
        known_on = (rule.date if rule.date > datetime.date.min
                    else min(act.date for act in acts))
        source, gone = rule.source, rule.gone
        subject = (f"{rule.subject}, which {rev} held" if gone
                   else f"{rule.subject}, new or changed since {rev}")
        commits = (removers_of if gone and removers_of is not None else writers_of)(source)
        if isinstance(commits, str):   # not committed: `git-identity` says so where it counts
            continue
        verb = "removed" if gone else "committed"
        where = (source.filename, source.lineno)
        for user in committed_by(old.book, new.book, commits, known_on, signed=signed):
            own = [act for act in acts if user in act.by]
            if own:
                findings.append(Finding(
                    "self-authorized", f"{user} {verb} {subject}, and in the same change "
                    f"{_listed([act.what for act in own])}: {_FIX}", *where, at_rev=gone,
                    adjustment_id=own[0].adjustment_id))
        unknown = [c for c in commits
                   if not committed_by(old.book, new.book, [c], known_on, signed=signed)]
        if unknown or not commits:
            who = (", ".join(sorted({c.author_email for c in unknown}))
                   or "no commit git can find (its text is still in the repository)")
            tie = (" nor a good signature of one, which `git-identity: \"signed\"` asks for"
                   if signed else "")
            changed = (f"{rule.subject}, which {rev} held, was removed by {who}" if gone
                       else f"{rule.subject} is new or changed since {rev}, written by {who}")
            findings.append(Finding(
                "self-authorized", f"{changed}, which git ties to no user (no user's `git:` "
                f"e-mail{tie}), and in the same change {_listed([a.told() for a in acts])}: "
                "who changed the rule cannot be told, so it may be whoever acted; land the "
                "rule change on its own (reviewed), committed by a user git knows, then act",
                *where, at_rev=gone, adjustment_id=acts[0].adjustment_id))
    return findings


class _Rule(NamedTuple):
    """A rule line changed since REV: what the findings call it, the day from which it
    judges, where it is (REV's line when `gone`: removed)."""

    subject: str
    date: datetime.date
    source: Source
    gone: bool


def _rules(old: Snapshot, new: Snapshot, removals: bool) -> list[_Rule]:
    """The rule directives written since REV (and removed, with `removals`), a signing
    key's aside, and the plugin line when its settings changed (they judge from the
    start)."""
    written, removed = rules_diff(old.entries, new.entries)
    rules = []
    for entry, gone in [*((e, False) for e in written),
                        *((e, True) for e in removed if removals)]:
        content = directive_content(entry)
        if content is None or (isinstance(entry, data.Custom) and entry.type == "adjustment-key"):
            continue
        rules.append(_Rule(rule_subject(content), entry.date, source_of(entry), gone))
    files = new.book.facts.files
    line = plugin_line(files[0]) if files else 0
    if old.book.settings != new.book.settings and line:
        rules.append(_Rule("the plugin's settings (its line)", datetime.date.min,
                           Source(files[0], line), False))
    return rules


class _Act(NamedTuple):
    """A request or decision of the change, and who made it."""

    adjustment_id: str
    what: str
    by: tuple[str, ...]
    date: datetime.date
    named: bool = False
    """`what` names who made it already ("the approve of ADJ-9 by alice")."""

    def told(self) -> str:
        return self.what if self.named else f"{' or '.join(self.by)} {self.what}"


def _listed(acts: list[str]) -> str:
    return acts[0] if len(acts) == 1 else ", ".join(acts[:-1]) + " and " + acts[-1]
