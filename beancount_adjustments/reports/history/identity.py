"""`git-identity`: decisions, keys and `git:` e-mails new since REV committed by the
user they name. Pure: the commits come from a `CommitOf` (`Repository.commits_of`).
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import (
    Event,
    Request,
    Source,
    UserGrant,
)
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.snapshot import (
    NOWHERE,
    Snapshot,
    describe_event,
    event_content,
    new_events,
    new_requests,
)


class Commit(NamedTuple):
    """What `git-identity` reads of a commit."""

    sha: str
    author_email: str
    signature: str
    """`%G?`: G good, B bad, U good but untrusted, N none, ..."""
    signer: str
    """`%GS`: the signer's identity (a GPG user id, an SSH principal)."""


NOT_COMMITTED = "not committed"
"""What `commit_of` returns for an event whose lines are not committed yet."""


UNCOMMITTED = "the commit about to be made"
"""The `sha` of the pending commit `--pre-commit` judges uncommitted lines as."""


CommitOf = Callable[[Source], "Sequence[Commit] | str"]
"""The commits after REV that wrote the lines of the entry at a source, or `NOT_COMMITTED`."""


EMAIL_RE = re.compile(r"[^\s<>]+@[^\s<>]+")


def commit_matches(commit: Commit, email: str, *, signed: bool = False) -> bool:
    """The commit's author is `email`, or it has a good signature by `email`.

    `signed` (`git-identity: "signed"`): only the signature counts, since an
    author e-mail is whatever the committer typed; the commit about to be made
    (`--pre-commit`) has none yet and is judged by its author, CI by its signature.
    """
    wanted = email.strip().lower()
    if (not signed or commit.sha == UNCOMMITTED) and \
            commit.author_email.strip().lower() == wanted:
        return True
    return commit.signature == "G" and signer_email(commit.signer) == wanted


def signer_email(signer: str) -> str:
    """The e-mail a signature is by: a GPG user id's `<address>` ("Bob (note)
    <bob@example.com>"), or an SSH principal as a whole. Only that one: the rest of
    a user id is free text, and "Bob carol@example.com <bob@...>" is not carol's."""
    found = re.findall(r"<([^<>]*)>", signer)
    return (found[-1] if found else signer).strip().lower()


def git_identity_of(book: Book, adj_type: str, date: datetime.date) -> tuple[bool, bool]:
    """Whether the policy in force for `adj_type` on `date` requires git identity, and
    whether only signatures count (`git-identity: "signed"`)."""
    settings = book.policies.settings(adj_type, date)
    return settings.git_identity, settings.git_signed


def git_email_of(book: Book, user: str, date: datetime.date) -> str | None:
    """The `git:` e-mail of `user` on `date`: from their latest lines on or before it."""
    lines = [g for g in book.facts.grants if g.user == user and g.date <= date]
    if not lines:
        return None
    latest = max(g.date for g in lines)
    emails = [g.git for g in lines if g.date == latest and g.git]
    return emails[0] if emails else None


def trusted_email(old: Book, new: Book, user: str, date: datetime.date) -> str | None:
    """The `git:` e-mail whose commits decide as `user` on `date`, or None: the one the
    ledger gives now, provided REV's gave them one. Who a user is in git is what the
    reviewed ledger says: a first address written in the change itself would vouch
    for the very commits its writer makes with it. One REV's ledger gives, changed
    since, is trusted only when the line changing it is committed by REV's address
    (`identity_lines`)."""
    if git_email_of(old, user, date) is None:
        return None
    return git_email_of(new, user, date)


def committed_by(old: Book, new: Book, commits: Sequence[Commit], date: datetime.date, *,
                 signed: bool = False) -> list[str]:
    """The users one of `commits` is by (`commit_matches`), each by their `git:` e-mail on
    `date` as REV knew it, else (REV gave them none) the one now: an address written
    in the change then only ties its writer's own commits to a user."""
    users = []
    for user in dict.fromkeys([*old.directory.grants, *new.directory.grants]):
        email = git_email_of(old, user, date) or git_email_of(new, user, date)
        if email and any(commit_matches(c, email, signed=signed) for c in commits):
            users.append(user)
    return users


_UNTRUSTED = ("an address given since vouches for nothing until the change that gives it "
              "has landed (a first address is a `new-identity` warning there)")


def _holder_of(book: Book, email: str, date: datetime.date, *, but: str) -> str | None:
    """Another user than `but` whose `git:` e-mail on `date` is `email` (as
    `commit_matches` compares them), or None."""
    wanted = email.strip().lower()
    for user in book.directory.grants:
        if user != but and (git_email_of(book, user, date) or "").strip().lower() == wanted:
            return user
    return None


def check_git_identity(old: Snapshot, new: Snapshot, commit_of: CommitOf, *,
                       rev: str = "REV") -> list[Finding]:
    """New decisions under a `git-identity: "required"` policy not committed by their
    user, and new requests not committed by one of their requesters."""
    findings = _requests_not_committed_by_requesters(old, new, commit_of, rev)
    for event in _contested_events(old, new):
        adj = new.book.adjustments.get(event.adjustment_id)
        if adj is None:
            continue
        required, signed = git_identity_of(new.book, adj.request.type, event.date)
        if not required:
            continue
        about = (f"{describe_event(event)}: the policy for {adj.request.type} requires "
                 f"git identity")
        source = event.source
        email = trusted_email(old.book, new.book, event.by, event.date)
        if email is None:
            findings.append(Finding(
                "git-identity", f"{about}, and {event.by} has no `git:` e-mail on "
                f"{event.date} at {rev}: {_UNTRUSTED}", source.filename, source.lineno))
            continue
        finding = _not_committed_by(about, {event.by: email}, source, commit_of, signed=signed)
        if finding is not None:
            findings.append(finding)
    return findings


def _contested_events(old: Snapshot, new: Snapshot) -> list[Event]:
    """The events that may be new since REV: those `new_events` finds, and every event
    alike (the same content) to one of them. Of events alike, which one REV held is a
    guess by ledger order; git knows which lines are old. A copy of erin's approval
    written above hers, with a cancel between, would pass as the approval REV held,
    and her own lines, committed by her before REV, as a new one approving the
    reversal: so each of them is judged by the commits that wrote it."""
    events = new.book.facts.events
    fresh = {event_content(e) for e in new_events(old.book.facts.events, events)}
    return [e for e in events if event_content(e) in fresh]


def _requests_not_committed_by_requesters(old: Snapshot, new: Snapshot, commit_of: CommitOf,
                                          rev: str) -> list[Finding]:
    """Requests new (or edited) since REV under git identity whose lines someone other
    than their requesters committed: whoever files a request in alice's name could
    otherwise approve it themselves, every decision committed as its own."""
    findings = []
    facts = new.book.facts
    at_rev = {r.id: r for r in reversed(old.book.facts.requests)}
    for request in new_requests(old.book.facts.requests, facts.requests):
        required, signed = git_identity_of(new.book, request.type, request.date)
        if not required:
            continue
        requesters = requesters_of(request)
        about = (f"the request {request.id} is new since {rev}: the policy for {request.type} "
                 f"requires git identity, so it is committed by who entered it or asked "
                 f"for it ({' or '.join(requesters)})")
        earlier = at_rev.get(request.id)
        dropped = [u for u in requesters_of(earlier) if u not in requesters] if earlier else []
        if dropped:
            # A removed `entered-by:` line leaves no line for git blame to name, and
            # who entered the request could then approve it.
            findings.append(Finding(
                "git-identity", f"{about}; it no longer names {' or '.join(dropped)}, who "
                f"entered it or asked for it at {rev}: a request's requesters are not "
                "dropped (a removed line leaves no commit to check); restore the line, or "
                "withdraw the request and file a new one", request.source.filename,
                request.source.lineno, adjustment_id=request.id))
            continue
        emails = {user: email for user in requesters
                  if (email := trusted_email(old.book, new.book, user, request.date))
                  is not None}
        if not emails:
            findings.append(Finding(
                "git-identity", f"{about}, and none of them has a `git:` e-mail on "
                f"{request.date} at {rev}: {_UNTRUSTED}",
                request.source.filename, request.source.lineno, adjustment_id=request.id))
            continue
        finding = _not_committed_by(about, emails, request.source, commit_of, signed=signed)
        if finding is not None:
            findings.append(finding._replace(adjustment_id=request.id))
    return findings


def requesters_of(request: Request) -> tuple[str, ...]:
    """Who entered `request` and who asked for it (neither may approve it)."""
    return tuple(dict.fromkeys(r for r in (request.entered_by, request.requested_by) if r))


def _not_committed_by(about: str, users: dict[str, str], source: Source, commit_of: CommitOf,
                      *, why: str = "", signed: bool = False) -> Finding | None:
    """The finding when the lines at `source` are not (all) committed by one of `users`
    (user -> their `git:` e-mail); `signed`: by a good signature of theirs."""
    named = " or ".join(f"{user} ({email})" for user, email in users.items())
    commits = commit_of(source)
    if isinstance(commits, str):
        return Finding("git-identity", f"{about}; it is not committed yet: "
                       f"{named} must commit it", source.filename, source.lineno)
    wrong = [c for c in commits
             if not any(commit_matches(c, e, signed=signed) for e in users.values())]
    if not wrong:
        return None
    who = ", ".join(sorted({c.author_email for c in wrong}))
    commit = ("the commit about to be made" if wrong[0].sha == UNCOMMITTED
              else f"commit {wrong[0].sha[:12]}")
    if signed:
        return Finding("git-identity", f"{about}, signed (`git-identity: \"signed\"`); {why}"
                       f"{commit} (author {who}) carries no good signature of {named}: an "
                       "author e-mail can be typed, a signature cannot", source.filename,
                       source.lineno)
    return Finding("git-identity", f"{about}; {why}{commit} is by {who}, not {named}, "
                   "and carries no good signature of theirs", source.filename, source.lineno)


def identity_lines(old: Book, new: Book, cutoff: datetime.date | None,
                   commit_of: CommitOf | None, *, rev: str = "REV") -> list[Finding]:
    """Signing keys and `git:` e-mails new since REV, dated after its last decision
    (those on or before it are `compare_directives`'s).

    A key signs "by" its user and a `git:` e-mail is who `git-identity` trusts, so
    such a line, an ordinary append, would let anyone who edits the ledger decide
    as that user. Where any policy requires git identity, the line must be
    committed by the user it names as REV knew them (their `git:` e-mail at REV,
    else the one now); anywhere else a new key is a warning an auditor sees. A
    new `git:` e-mail another user holds is a finding whoever commits it: git
    cannot tell the two users apart.
    """
    held_keys = Counter((k.date, k.user, k.key) for k in old.facts.keys)
    held_grants = Counter(replace(g, source=NOWHERE) for g in old.facts.grants)
    lines: list[tuple[str, str, datetime.date, Source]] = []
    for key in new.facts.keys:
        content = (key.date, key.user, key.key)
        if held_keys[content] > 0:
            held_keys[content] -= 1
        elif cutoff is None or key.date > cutoff:
            lines.append(("adjustment-key", key.user, key.date, key.source))
    shared: list[Finding] = []
    first: list[UserGrant] = []
    for grant in new.facts.grants:
        line = replace(grant, source=NOWHERE)
        if held_grants[line] > 0:
            held_grants[line] -= 1
            continue
        if not grant.git or (cutoff is not None and grant.date <= cutoff):
            continue
        then = git_email_of(old, grant.user, grant.date)
        if then is None:
            first.append(grant)
        elif then != grant.git:
            lines.append(("adjustment-user `git:`", grant.user, grant.date, grant.source))
        other = _holder_of(new, grant.git, grant.date, but=grant.user)
        if other is not None:
            shared.append(Finding(
                "git-identity", f"the adjustment-user line for {grant.user} dated {grant.date} "
                f"is new since {rev} and gives the `git:` e-mail {grant.git.strip()}, which "
                f"{other} holds: git-identity cannot tell their commits apart, so either "
                "could decide as the other; give each user an e-mail of their own",
                grant.source.filename, grant.source.lineno))
    required = commit_of is not None and any(
        getattr(policy, "git_identity", None) for policy in new.facts.policies)
    # Where any type asks for signatures, so do the lines that say who a signer is.
    signed = any(getattr(policy, "git_signed", None) for policy in new.facts.policies)
    findings = shared if required else []
    if required:
        findings += [Finding(
            "new-identity", f"the adjustment-user line for {grant.user} dated {grant.date} "
            f"is new since {rev} and gives {grant.user} a first `git:` e-mail, "
            f"{grant.git.strip()}: once it has landed, commits by it decide as "
            f"{grant.user}; check that {grant.user} gave it", grant.source.filename,
            grant.source.lineno, warning=True) for grant in first if grant.git]
    for what, user, date, source in lines:
        about = (f"the {what} line for {user} dated {date} is new since {rev}: it lets "
                 f"whoever holds it decide as {user}")
        if not required or commit_of is None:
            if what == "adjustment-key":
                findings.append(Finding(
                    "new-key", f"{about} (approvals signed with the key count as {user}'s); "
                    f"check that {user} registered it", source.filename, source.lineno,
                    warning=True))
            continue
        email = git_email_of(old, user, date)
        if email is None:
            findings.append(Finding(
                "git-identity", f"{about}, and git-identity is required while {user} has no "
                f"`git:` e-mail at {rev}: {_UNTRUSTED}", source.filename, source.lineno))
            continue
        finding = _not_committed_by(about, {user: email}, source, commit_of,
                                    why="git-identity is required, and ", signed=signed)
        if finding is not None:
            findings.append(finding)
    return findings
