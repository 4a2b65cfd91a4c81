"""Notifications: who should hear what, derived from the book, delivered at least once
with a stable notice id so that receivers can drop a repeat.

    bean-adjust notify -f main.beancount                 # send what is new
    bean-adjust notify -f main.beancount --dry-run       # print it instead
    bean-adjust notify -f main.beancount --since HEAD~1  # CI: what this push changed

What is sent
------------

`notices(book, today)` derives every notice the ledger calls for, each with
a stable key `<id>:<what>:<recipient>` (`ADJ-2026-0042:approved-1:alice`):

`approval-needed-<level>`, to each user who may fill the level now
    (`queries.eligible_approvers`, i.e. `permissions.denial`, counting a
    signature as given: the CLI signs with `--sign` where the type's policy
    requires it) and to `role:<role>`: a request is pending at that level.
`reversal-needed-<cancel date>-<level>`, likewise: an applied adjustment
    was cancelled and its reversal awaits approval at that level (state
    `reversing`).
`reversal-refused-<date>`, to the requester: an approver refused the reversal.
`approved-<level>`, to the requester: an approver filled that level.
`rejected`, `applied`, `withdrawn`, `reversed`, to the requester: someone
    else rejected it, applied it with an `apply`, cancelled it, or cancelled
    it after it was applied (sent once the reversal is booked, state
    `reversed`, not while it awaits approval). (When the last approval applies it at once,
    the `approved-<level>` notice says so.)
`escalation-<n>`, to the users holding the role `n` steps above the awaited
    one and to `role:<that role>`: pending for more than `n` times its
    type's `sla-days` (or the plugin's `default-sla-days`; at most once per SLA period).
`completed`, to the approvers who took part except whoever acted last: it
    was applied, rejected or withdrawn after at least one approval.
Customer notices (`notify_customers`, opted into per type) and alerts
(`notify_alerts`, risk findings with `notify:`) are further `Notice`s that go
through the same `plan` and `run`.

Nobody is told about their own action, and a request approved and applied
automatically on arrival notifies no member of staff. The roles "above"
a role are those after it in the longest approval chain in force that holds
it (`manager > finance > cfo`); at the top, escalations go to that top role.

Channels
--------

Apprise URLs (`mailto://`, `mailtos://`, `slack://`, `msteams://`,
`json://`, ... any apprise scheme) per recipient, in the ledger:

    2026-01-01 custom "adjustment-channel" "bob" "mailtos://{env:SMTP_USER}:{env:SMTP_PASSWORD}@smtp.example.com?to=bob@example.com"
    2026-01-01 custom "adjustment-channel" "role:finance" "{env:FINANCE_SLACK_URL}"
    2026-01-01 custom "adjustment-channel" "*" "mailto://smtp.example.com?from=adjust@example.com&to={email}"
    2026-01-01 custom "adjustment-channel" "customer:*" "mailto://smtp.example.com?to={email}"

or in a TOML file given with `--config` (same targets, one URL or a list):

    [channels]
    bob = "json://hooks.example.com/bob"
    "role:finance" = ["{env:FINANCE_SLACK_URL}"]

A user's channels are those declared for them; a user without any gets the
`*` channels with `{email}` taken from their `adjustment-user` `email:`. A
customer's channels are theirs, else `customer:*` with `{email}` from its
`contact:`. `role:<name>` channels receive the role's notices once.

Secrets come only from the environment: `{env:NAME}` is replaced at send
time (URL-quoted inside a URL, verbatim when it is the whole URL; an unset
variable fails that channel). Every part of a channel URL that apprise itself
treats as private must be written as `{env:NAME}`: the tokens and arguments its
plugin for the scheme flags `'private': True` (what `url(privacy=True)` masks:
Slack's three webhook tokens or its OAuth token, Discord's webhook id and token,
Telegram's bot token, a Teams workflow's id and signature, a password in
`user:password@`, ...), and, whatever the scheme, query parameters named like a
secret (`token=`, `access_token=`, `key=`, `+Authorization=`, ... SECRET_KEYS;
apprise's `json://` does not mask those). A scheme the installed apprise has no
plugin for (`msteams://` with apprise 2.3, which has `workflows://` for Teams
instead) cannot be told apart, so there every part counts. A channel with a literal secret
is refused at its line, naming each part, and never used:

    ledger.beancount:12: channel for bob refused: a literal secret in the URL: Token B
    (`token_b`) (apprise masks it as private); secrets come only from the environment:
    write {env:NAME} in place of each (or the whole URL as {env:NAME}) ...

    2026-01-01 custom "adjustment-channel" "ops" "slack://{env:SLACK_A}/{env:SLACK_B}/{env:SLACK_C}"
    2026-01-01 custom "adjustment-channel" "ops" "tgram://{env:TG_BOT_TOKEN}/12315544"

At least once, with a stable id, and never silently dropped
------------------------------------------------------------

Each notice has an id, `n-` and 24 hex digits of the SHA-256 of its key, so the
same notice (same adjustment, kind with its level or date, recipient) always has
the same id, on every run and through each of the recipient's channels. It is the
last line of every message (`Notice id: n-...`) and, where the apprise plugin takes
`+Header=` arguments, a header: `X-Notice-Id` for e-mail, `X-Notice-Id` and
`Idempotency-Key` for `json://`, `xml://`, `form://` and other HTTP channels.
A receiver that keeps the ids it has seen can drop repeats.

The state file (default `.bean-adjust-notify.json` beside the ledger)
records, per key, the channels it was delivered to. For each delivery a run
first writes a "sending" mark for it to the state file, then sends, then records
the delivery as sent (clearing the mark); every write replaces the file
atomically (temporary file, fsync, rename, fsync of the directory). So:

- a delivery apprise reports as failed is not recorded (its mark is dropped),
  is reported, and the next run retries it (with the same id: a timeout, say,
  may still have reached the receiver); the command exits 1;
- a run that stops between the send and the record (a crash, a kill, a power
  cut) leaves the mark: the next run reports that delivery as one that *may
  have been sent* (`may have been sent` on stderr, `may_have_been_sent` in
  `--json`, with the notice id and when it was started) and sends it again
  with the same id. Where the notice is no longer due on that channel (its
  channel was removed, the request moved on, `--since` counts it as sent) it
  is reported once, not resent, and forgotten.

Delivery is therefore at least once: a receiver may see a notice twice after
such a crash (or a failure that did reach it), always with the same id. The whole run holds an
exclusive `flock` on `<state file>.lock`, so overlapping cron or CI runs queue up
instead of sending twice. `--baseline` records everything current as sent without
sending (first use on a ledger with history), and clears any "sending" marks.
A notice without any channel is reported and left unrecorded.

`--since REV` (a git revision) computes the notice set of the ledger as it
was at REV (the repository's tree at REV is extracted with `git archive`
into a temporary directory and loaded there, includes and all), as of REV's
commit date, and treats those notices as already sent: only what the
changes since REV (and the days since, for escalations) brought is sent.
That needs no state between runs, which suits CI jobs on each push; the
state file is still read and written if present, so a failed delivery is
retried by the next run (and the failing job can be re-run).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import re
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Action, Adjustment, Frozen, Source, State
from beancount_adjustments.reports.queries import (
    age_days,
    eligible_approvers,
    is_overdue,
    waiting_since,
)
from beancount_adjustments.writer.files import atomic_write, flocked

CHANNEL = "adjustment-channel"
STATE_VERSION = 2
LOCK_TIMEOUT = 60.0
SECRET_KEYS = frozenset({
    "pass", "password", "pwd", "secret", "token", "key", "apikey", "api_key", "apitoken",
    "api_token", "access_token", "accesstoken", "auth", "auth_token", "authorization",
    "bearer", "client_secret", "api_secret", "private_key", "signature", "sig",
    "x_api_key", "webhook_secret"})
"""Query parameter names (without apprise's `+`/`-`/`:` prefix, `-` read as `_`) whose
literal values are refused whatever the scheme."""
ENV_RE = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
SENTINEL_STYLES = ("9{0:04d}31415926", "9{0:04d}31415926:zq{0:04d}envx")
SENTINEL_RE = re.compile(r"9\d{4}31415926(?::zq\d{4}envx)?")


class Notice(Frozen):
    """One message to one recipient about one adjustment."""

    key: str
    kind: str
    recipient: str
    adjustment_id: str
    date: datetime.date
    subject: str
    body: str

    @property
    def id(self) -> str:
        """The notice's stable id (see `notice_id`)."""
        return notice_id(self.key)


def notice_id(key: str) -> str:
    """A stable id for the notice with this key: the same notice always gets the same id.

    The key names what the notice is about (adjustment id, kind with its level or
    date, recipient), so the id is the same on every run, on a resend after a crash
    and through each of the recipient's channels; receivers drop repeats by it.
    """
    return "n-" + hashlib.sha256(key.encode()).hexdigest()[:24]


class Channel(Frozen):
    """An apprise URL template for a target (`bob`, `role:finance`, `*`, `customer:*`)."""

    target: str
    url: str
    source: Source | None = None

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


# -- what to send -------------------------------------------------------------------


def _describe(adj: Adjustment) -> str:
    request = adj.request
    amount = f" {adj.amount}" if adj.amount else ""
    return f"{request.type}{amount} for {request.customer}"


def _details(adj: Adjustment) -> str:
    request = adj.request
    lines = [f"Adjustment {adj.id}: {_describe(adj)}",
             f"Requested by {request.requested_by} on {request.date}: {request.reason}"]
    if request.category:
        lines.append(f"Category: {request.category}")
    if adj.risk_flags:
        lines.append(f"Risk flags: {', '.join(adj.risk_flags)}")
    return "\n".join(lines)


def ladder(book: Book, role: str, date: datetime.date) -> tuple[str, ...]:
    """The longest approval chain in force holding `role` (the roles above it follow it)."""
    chains = [row.roles for row in book.matrix.rows_on(date) if role in row.roles]
    return max(chains, key=len, default=(role,))


def _accepted(adj: Adjustment, action: Action) -> list[Any]:
    return [r.event for r in adj.history if r.accepted and r.event.action is action]


def notices(book: Book, today: datetime.date) -> list[Notice]:
    """Every notice the book calls for on `today`, in a stable order."""
    out: list[Notice] = []
    for adj in book.adjustments.values():
        if adj.state is State.INVALID:
            continue
        out.extend(_for_adjustment(book, adj, today))
    out.sort(key=lambda n: (n.date, n.adjustment_id, n.key))
    return out


def escalations(book: Book, adj: Adjustment, role: str, today: datetime.date,
                notice: Callable[..., Notice], *, waited: str, kind: str) -> Iterator[Notice]:
    """Past its SLA (`queries.is_overdue`: the request, or its reversal, from the day
    its wait began), one notice per SLA period to the role that many steps up."""
    sla = adj.sla_days
    if not sla or not is_overdue(adj, today):
        return
    age = age_days(adj, today)
    periods = (age - 1) // sla
    steps = ladder(book, role, today)
    index = steps.index(role) if role in steps else 0
    up = steps[min(index + periods, len(steps) - 1)]
    due = waiting_since(adj) + datetime.timedelta(days=periods * sla + 1)
    body = (f"{adj.id} {waited} {age} days for a {role} (its type's SLA is {sla} days); "
            f"escalated to {up}.")
    requester = adj.request.requested_by
    users = [u for u in book.directory.users_with_role(up, today) if u != requester]
    for user in [*users, f"role:{up}"]:
        yield notice(f"{kind}-{periods}", user, due, f"overdue {age} days: {_describe(adj)}",
                     body, name="escalation")


def _for_adjustment(book: Book, adj: Adjustment, today: datetime.date) -> Iterator[Notice]:
    request = adj.request
    rid, requester = adj.id, request.requested_by

    def notice(kind: str, recipient: str, date: datetime.date, subject: str,
               body: str, *, name: str | None = None) -> Notice:
        return Notice(key=f"{rid}:{kind}:{recipient}", kind=name or (kind.rsplit("-", 1)[0]
                      if kind[-1:].isdigit() else kind), recipient=recipient,
                      adjustment_id=rid, date=date, subject=f"[{rid}] {subject}",
                      body=f"{body}\n\n{_details(adj)}")

    total = len(adj.chain)
    applied_by_approval = adj.applied_on is not None and not _accepted(adj, Action.APPLY)
    for approval in adj.approvals:
        final = approval.level == total
        done = ""
        if final:
            done = " It is fully approved"
            done += (f" and was applied on {adj.applied_on} (effective {adj.effective_date})."
                     if applied_by_approval else ".")
        yield notice(f"approved-{approval.level}", requester, approval.date,
                     ("approved and applied" if applied_by_approval else "approved")
                     if final else f"approved at level {approval.level} of {total}",
                     f"{approval.by} approved {rid} as {approval.role} (level {approval.level} "
                     f"of {total}).{done}")

    role = adj.next_role
    # Those told are who may approve with the CLI, which signs (`--sign`) where the
    # type's policy requires it.
    sign = " --sign <your key>" if adj.signatures_required else ""
    if role is not None and adj.state is State.REVERSING:
        # A reversal moves money too: its approvers hear of it as of a request.
        level = len(adj.reversal_approvals) + 1
        needed = len(adj.reversal_chain)
        cancels = _accepted(adj, Action.CANCEL)
        asked = cancels[-1].date if cancels else request.date
        since = adj.reversal_approvals[-1].date if adj.reversal_approvals else asked
        body = (f"{adj.cancelled_by or 'someone'} asked to reverse {rid}, which is applied; "
                f"the reversal awaits your approval as {role} (level {level} of {needed}).\n"
                f"Approve with: bean-adjust approve {rid} --as <you>{sign}")
        kind = f"reversal-needed-{asked.isoformat()}-{level}"
        for user in eligible_approvers(book, adj, today, signed=True):
            yield notice(kind, user, since, f"reversal approval needed: {_describe(adj)}", body,
                         name="reversal-needed")
        yield notice(kind, f"role:{role}", since,
                     f"reversal approval needed ({role}): {_describe(adj)}", body,
                     name="reversal-needed")
        yield from escalations(book, adj, role, today, notice, waited="its reversal has waited",
                               kind=f"escalation-reversal-{asked.isoformat()}")
    elif role is not None:
        level = adj.level + 1
        since = adj.approvals[-1].date if adj.approvals else request.date
        body = (f"{rid} awaits your approval as {role} (level {level} of {total}).\n"
                f"Approve with: bean-adjust approve {rid} --as <you>{sign}")
        for user in eligible_approvers(book, adj, today, signed=True):
            yield notice(f"approval-needed-{level}", user, since,
                         f"approval needed: {_describe(adj)}", body)
        yield notice(f"approval-needed-{level}", f"role:{role}", since,
                     f"approval needed ({role}): {_describe(adj)}", body)
        yield from escalations(book, adj, role, today, notice, waited="has waited",
                               kind="escalation")

    accepted = [r.event for r in adj.history if r.accepted]
    last_actor = accepted[-1].by if accepted else None
    cancelled = False  # an accepted cancel came before (a later reject refuses a reversal)
    for event in accepted:
        if event.action is Action.CANCEL:
            cancelled = True
            continue
        if event.by == requester or event.action not in (Action.REJECT, Action.APPLY):
            continue
        reason = f" Reason: {event.reason}" if event.reason else ""
        if event.action is Action.REJECT and cancelled:
            yield notice(f"reversal-refused-{event.date.isoformat()}", requester, event.date,
                         "reversal refused",
                         f"{event.by} refused the reversal of {rid}; it stays applied.{reason}",
                         name="reversal-refused")
            continue
        kind = "rejected" if event.action is Action.REJECT else "applied"
        yield notice(kind, requester, event.date, kind, f"{event.by} {kind} {rid}.{reason}")
    cancels = _accepted(adj, Action.CANCEL)
    if cancels and adj.state in (State.REVERSED, State.WITHDRAWN):
        # "reversed" only once the reversal is booked, not while it awaits approval.
        event = cancels[-1]
        kind = "reversed" if adj.state is State.REVERSED else "withdrawn"
        when = adj.reversed_on or event.date if kind == "reversed" else event.date
        if event.by != requester:
            yield notice(kind, requester, when, kind,
                         f"{event.by} cancelled {rid}"
                         + (" and its effect was reversed" if kind == "reversed" else "")
                         + f". Reason: {event.reason}")

    finished = adj.state in (State.APPLIED, State.REJECTED, State.WITHDRAWN)
    if finished and adj.approvals:
        finished_on = adj.applied_on or adj.decided_on or request.date
        for user in dict.fromkeys(adj.approvers):
            if user not in (requester, last_actor):
                yield notice("completed", user, finished_on, f"completed: {adj.state}",
                             f"{rid}, which you approved, is now {adj.state}.")


# -- channels -----------------------------------------------------------------------


class ChannelError(AdjustmentsError):
    """A channel could not be used: a literal secret, an unset variable, a bad URL."""

    code = "bad-channel"


def _probe(url: str, style: int) -> str:
    """`url` with each `{env:NAME}` replaced by a sentinel apprise's parsers accept
    (style 0: digits, as in Slack or Discord ids; style 1: `digits:letters`, as in a
    Telegram bot token) and `{email}` by an address."""
    counter = iter(range(10_000))
    fmt = SENTINEL_STYLES[style]
    probe = ENV_RE.sub(lambda _m: fmt.format(next(counter)), url)
    return probe.replace("{email}", "x@example.com")


def _literal(value: str) -> bool:
    """Whether `value` holds anything but `{env:...}` sentinels (and separators)."""
    rest = SENTINEL_RE.sub("", unquote(value)).replace("x@example.com", "")
    return bool(re.sub(r"[\s:/._\-@]", "", rest))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


@contextlib.contextmanager
def _quiet_apprise() -> Iterator[None]:
    """apprise's warnings about a sentinel it rejects are no news for the user."""
    logger = logging.getLogger("apprise")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _plugin(schema: str) -> Any:
    from apprise.apprise import N_MGR

    try:
        return N_MGR[schema]
    except KeyError:
        return None


def private_parts(url: str) -> list[str]:
    """The parts of `url` that apprise treats as private and that are written
    literally (not as `{env:NAME}`), by name; empty when none.

    apprise's plugin for the URL's scheme says which of its tokens and arguments
    are private (`template_tokens` / `template_args` with `'private': True`, the
    ones `url(privacy=True)` masks); the URL is parsed by that plugin with each
    `{env:NAME}` replaced by a sentinel, and each private value must consist of
    sentinels only. As a second opinion, where the plugin can be instantiated, every
    part that `url(privacy=True)` masks compared with `url(privacy=False)` must be a
    sentinel too. A scheme the installed apprise does not know cannot be told apart,
    so there every part (host, user, password, path segments, query values) counts.
    Query parameters named like a secret (`token=`, `access_token=`, `+Authorization=`,
    ... see SECRET_KEYS) count whatever the scheme (apprise itself does not mask
    them in `json://`, `xml://`, `form://`).
    """
    whole = url.strip()
    if ENV_RE.fullmatch(whole):
        return []
    found: list[str] = []

    def add(label: str) -> None:
        if label not in found:
            found.append(label)

    schema = whole.split("://", 1)[0].lower() if "://" in whole else ""
    plugin = _plugin(schema) if schema and not ENV_RE.search(schema) else None
    probe = _probe(whole, 0)
    if plugin is None:
        _unknown_scheme_parts(probe, add)
    else:
        _plugin_parts(plugin, whole, add)
    with contextlib.suppress(ValueError):
        query = urlsplit(probe).query.replace("+", "%2B")  # apprise's `+Header=`
        for key, raw in parse_qsl(query, keep_blank_values=True):
            name = key.lstrip("+-:").lower().replace("-", "_")
            value = re.sub(r"(?i)^(bearer|basic|token)\s+", "", raw)  # `Bearer {env:T}`
            if name in SECRET_KEYS and value and _literal(value):
                add(f"`{key}=`")
    return found


def _unknown_scheme_parts(probe: str, add: Callable[[str], None]) -> None:
    try:
        parts = urlsplit(probe)
        netloc = parts.netloc
    except ValueError:
        add("the whole URL (it does not parse)")
        return
    userinfo, _, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    for label, value in (("user", user), ("password", password), ("host", hostport)):
        if value and _literal(value):
            add(label)
    for number, segment in enumerate([s for s in parts.path.split("/") if s], 1):
        if _literal(segment):
            add(f"path segment {number}")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and _literal(value):
            add(f"`{key}=`")
    if parts.fragment and _literal(parts.fragment):
        add("fragment")


def _plugin_parts(plugin: Any, url: str, add: Callable[[str], None]) -> None:
    results: Any = None
    for style in range(len(SENTINEL_STYLES)):
        with _quiet_apprise(), contextlib.suppress(Exception):
            results = plugin.parse_url(_probe(url, style))
        if results:
            break
    if not results:
        add("the whole URL (apprise cannot parse it, so its secrets cannot be told apart)")
        return
    labels: dict[str, str] = {"password": "password"}
    for table in (getattr(plugin, "template_tokens", {}), getattr(plugin, "template_args", {})):
        for name, spec in table.items():
            if isinstance(spec, dict) and spec.get("private"):
                label = f"{spec.get('name', name)} (`{name}`)"
                labels.setdefault(name, label)
                if spec.get("map_to"):
                    labels.setdefault(str(spec["map_to"]), label)
    covered: set[str] = set()
    for key, label in labels.items():
        literal = [v for v in _strings(results.get(key)) if v and _literal(v)]
        if literal:
            add(label)
            covered.update(unquote(v) for v in literal)
    # Second opinion: what apprise masks in its own rendering of the URL.
    try:
        with _quiet_apprise():
            instance = plugin(**results)
            plain, private = instance.url(privacy=False), instance.url(privacy=True)
    except Exception:
        return
    split = re.compile(r"://|[/?&=@:]")
    plain_parts, private_parts_ = split.split(plain), split.split(private)
    if len(plain_parts) != len(private_parts_):
        return
    for shown, masked_ in zip(plain_parts, private_parts_, strict=True):
        value = unquote(shown)
        if shown != masked_ and _literal(shown) and not any(
                value == c or value.endswith(":" + c) for c in covered):
            add(f"a part apprise masks as `{masked_}`")


def literal_secret(url: str) -> str | None:
    """Why `url` holds a literal secret, or None (placeholders are fine)."""
    parts = private_parts(url)
    if not parts:
        return None
    if parts == ["password"]:
        return "a literal password in the URL"
    if len(parts) == 1 and parts[0].startswith("`"):
        return f"a literal {parts[0]} in the URL"
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    schema = url.strip().split("://", 1)[0].lower() if "://" in url else ""
    if schema and not ENV_RE.search(schema) and _plugin(schema) is None:
        import apprise

        return (f"a literal secret in the URL: {listed} (apprise {apprise.__version__} has no "
                f"plugin for `{schema}://`, so every part of it counts as secret)")
    return (f"a literal secret in the URL: {listed} "
            f"(apprise masks {'it' if len(parts) == 1 else 'them'} as private)")


def unknown_scheme(url: str) -> str | None:
    """Why apprise could never send to `url`: a scheme it has no plugin for."""
    whole = url.strip()
    if "://" not in whole or ENV_RE.search(whole.split("://", 1)[0]):
        return None  # the whole URL (or its scheme) comes from the environment
    schema = whole.split("://", 1)[0].lower()
    if _plugin(schema) is not None:
        return None
    import apprise

    return (f"apprise {apprise.__version__} has no plugin for `{schema}://`, so nothing "
            "could be sent through it; check the scheme against apprise's list of "
            "services (Microsoft Teams, for one, is `workflows://` now)")


def channel_problem(channel: Channel) -> str | None:
    where = (f"{channel.source.filename}:{channel.source.lineno}: "
             if channel.source else "")
    unknown = unknown_scheme(channel.url)
    if unknown is not None:
        return f"{where}channel for {channel.target} refused: {unknown}"
    reason = literal_secret(channel.url)
    if reason is None:
        return None
    return (f"{where}channel for {channel.target} refused: {reason}; secrets come only from "
            "the environment: write {env:NAME} in place of each (or the whole URL as "
            "{env:NAME}) and set NAME when notify runs")


def read_channels(entries: Sequence[Any]) -> tuple[list[Channel], list[str]]:
    """`custom "adjustment-channel" TARGET URL` directives, in ledger order, and a
    `file:line:` message for each line that is not one (the others still send)."""
    out: list[Channel] = []
    problems: list[str] = []
    for entry in entries:
        if getattr(entry, "type", None) != CHANNEL or not hasattr(entry, "values"):
            continue
        values = [v.value for v in entry.values or ()]
        meta = entry.meta or {}
        source = Source(filename=str(meta.get("filename", "<ledger>")),
                        lineno=int(meta.get("lineno", 0)))
        if len(values) != 2 or not all(isinstance(v, str) and v.strip() for v in values):
            problems.append(f"{source.filename}:{source.lineno}: custom \"{CHANNEL}\" takes a "
                            "target and an apprise URL: custom \"adjustment-channel\" "
                            "\"bob\" \"mailto://...\"; this line is skipped")
            continue
        out.append(Channel(target=values[0].strip(), url=values[1].strip(), source=source))
    return out, problems


def read_config(path: Path) -> tuple[list[Channel], list[str]]:
    """Channels from a TOML file's `[channels]` table, and what is wrong with any entry
    (that entry is skipped; a file that does not read stops the run)."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelError(f"{path}: cannot read the notify config ({exc})") from exc
    table = raw.get("channels", {})
    if not isinstance(table, dict):
        raise ChannelError(f"{path}: [channels] must be a table of target = URL(s)")
    out: list[Channel] = []
    problems: list[str] = []
    for target, urls in table.items():
        listed = [urls] if isinstance(urls, str) else urls if isinstance(urls, list) else [urls]
        for url in listed:
            if not isinstance(url, str) or not url.strip():
                problems.append(f"{path}: channel for {target} must be a URL string, not "
                                f"{url!r}; it is skipped")
                continue
            out.append(Channel(target=str(target), url=url.strip(),
                               source=Source(filename=str(path), lineno=0)))
    return out, problems


@dataclass(frozen=True)
class Route:
    """A channel resolved for one recipient: its template and `{email}`."""

    channel: Channel
    email: str | None = None

    @property
    def id(self) -> str:
        return self.channel.id if self.email is None else \
            hashlib.sha256(f"{self.channel.url}\x1f{self.email}".encode()).hexdigest()[:12]


def routes(recipient: str, channels: Sequence[Channel], book: Book,
           today: datetime.date) -> list[Route]:
    own = [Route(c) for c in channels if c.target == recipient]
    if own or recipient.startswith("role:"):
        return own
    if recipient.startswith("customer:"):
        record = book.directory.customer_on(recipient.split(":", 1)[1], today)
        wildcard, email = "customer:*", record.contact if record else None
    else:
        grants = book.directory.grants.get(recipient, [])
        emails = [g.email for g in grants if g.email and g.date <= today]
        wildcard, email = "*", emails[-1] if emails else None
    if not email:
        return []
    return [Route(c, email) for c in channels if c.target == wildcard]


def expand(route: Route, environ: Mapping[str, str]) -> str:
    """The URL to hand to apprise: placeholders replaced (raises ChannelError)."""
    template = route.channel.url
    whole = ENV_RE.fullmatch(template.strip())
    if whole:
        value = environ.get(whole.group(1))
        if not value:
            raise ChannelError(f"environment variable {whole.group(1)} is not set")
        return value

    def env(match: re.Match[str]) -> str:
        value = environ.get(match.group(1))
        if value is None:
            raise ChannelError(f"environment variable {match.group(1)} is not set")
        return quote(value, safe="")

    url = ENV_RE.sub(env, template)
    if route.email is not None:
        url = url.replace("{email}", quote(route.email, safe="@"))
    return url


Sender = Callable[[str, str, str], None]
"""send(url, title, body): deliver or raise ChannelError."""


def apprise_send(url: str, title: str, body: str) -> None:
    import apprise

    app = apprise.Apprise()
    if not app.add(url):
        raise ChannelError("apprise does not understand this URL (check the scheme and form)")
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:  # type: ignore[no-untyped-call]
        ok = app.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        text = log.getvalue() if hasattr(log, "getvalue") else ""
    if not ok:
        lines = [line.split(" - ", 2)[-1] for line in str(text).splitlines() if line.strip()]
        raise ChannelError("; ".join(lines) or "apprise reported a failure")


def stamped(url: str, nid: str) -> str:
    """`url` carrying the notice id as headers where its apprise plugin takes `+Header=`
    (`json://`, `xml://`, `form://`, e-mail, ...): `X-Notice-Id`, and for HTTP also
    `Idempotency-Key`. Other channels carry it in the body's last line only."""
    schema = url.split("://", 1)[0].lower() if "://" in url else ""
    plugin = _plugin(schema) if schema else None
    kwargs = getattr(plugin, "template_kwargs", {}) if plugin is not None else {}
    headers = kwargs.get("headers") if isinstance(kwargs, dict) else None
    if plugin is None or not (isinstance(headers, dict) and headers.get("prefix") == "+"):
        return url
    from apprise.plugins.email.base import NotifyEmail

    names = ["X-Notice-Id"] if issubclass(plugin, NotifyEmail) else [
        "X-Notice-Id", "Idempotency-Key"]
    base, hash_, fragment = url.partition("#")
    extra = "&".join(f"+{name}={nid}" for name in names)
    joined = f"{base}{'&' if '?' in base else '?'}{extra}"
    return joined + (hash_ + fragment if hash_ else "")


def with_id(body: str, nid: str) -> str:
    """The body with its notice id as the last line (every channel shows it)."""
    return f"{body}\n\nNotice id: {nid}"


# -- state ----------------------------------------------------------------------------


@dataclass
class SentState:
    """Which channels each notice key reached, and which deliveries were under way.

    `sent[key]` is `{"channels": [route id, ...], "at": ..., "id": notice id}`;
    `sending[key][route id]` is `{"at": ..., "id": ..., "channel": template}`, written
    before a send and removed when its outcome is recorded: one still there when a
    run starts is a delivery that may have been sent (the run stopped in between).
    """

    path: Path
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    sending: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> SentState:
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text() or "{}")
        except (OSError, ValueError) as exc:
            raise ChannelError(f"{path}: unreadable notify state ({exc}); fix or remove it "
                               "(removing it resends everything)") from exc
        return cls(path, dict(raw.get("sent", {})),
                   {k: dict(v) for k, v in dict(raw.get("sending", {})).items()})

    def reached(self, key: str) -> set[str]:
        return set(self.sent.get(key, {}).get("channels", []))

    def in_flight(self, key: str, route_id: str) -> dict[str, Any] | None:
        """The "sending" mark a previous run left for this delivery, if any."""
        return self.sending.get(key, {}).get(route_id)

    def mark_sending(self, key: str, route_id: str, when: str, channel: str) -> None:
        self.sending.setdefault(key, {})[route_id] = {
            "at": when, "id": notice_id(key), "channel": channel}

    def unmark(self, key: str, route_id: str,
               restore: dict[str, Any] | None = None) -> None:
        """Drop the "sending" mark (or put back the one an earlier run left)."""
        marks = self.sending.get(key, {})
        if restore is not None:
            marks[route_id] = restore
            self.sending[key] = marks
            return
        marks.pop(route_id, None)
        if not marks:
            self.sending.pop(key, None)

    def record(self, key: str, route_id: str, when: str) -> None:
        """Record a delivery as sent (clearing its "sending" mark)."""
        item = self.sent.setdefault(key, {"channels": [], "at": when})
        if route_id not in item["channels"]:
            item["channels"].append(route_id)
        item["at"] = when
        item["id"] = notice_id(key)
        self.unmark(key, route_id)

    def write(self) -> None:
        """Replace the state file atomically and durably: the new content is fsynced
        before the rename, and the directory after it."""
        data = json.dumps({"version": STATE_VERSION, "sent": self.sent,
                           "sending": self.sending}, indent=1, sort_keys=True)
        atomic_write(self.path, data.encode())


@contextlib.contextmanager
def locked(state_path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive flock on `<state>.lock` (waits up to `timeout` seconds)."""

    def busy(lock: Path) -> ChannelError:
        return ChannelError(f"another notify run holds {lock}; gave up after {timeout:.0f} s")

    with flocked([state_path.with_name(state_path.name + ".lock")], timeout=timeout,
                 busy=busy):
        yield


# -- a run ------------------------------------------------------------------------------


@dataclass
class Delivery:
    notice: Notice
    route: Route
    error: str | None = None
    in_flight: dict[str, Any] | None = None
    """The "sending" mark a previous run left: this delivery may have been sent."""


@dataclass
class Unsettled:
    """A delivery a previous run started and never recorded: it may have been sent.

    `resend` says whether this run delivers it again (with the same notice id):
    it does when the notice is still due on that channel; otherwise (the notice or
    channel is gone, or `--since` counts it as sent) it is reported and forgotten.
    """

    key: str
    route_id: str
    notice_id: str
    channel: str
    at: str
    resend: bool


@dataclass
class Outcome:
    sent: list[Delivery] = field(default_factory=list)
    failed: list[Delivery] = field(default_factory=list)
    planned: list[Delivery] = field(default_factory=list)
    no_channel: list[Notice] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unsettled: list[Unsettled] = field(default_factory=list)


def plan(found: Sequence[Notice], channels: Sequence[Channel], book: Book, *,
         today: datetime.date, state: SentState,
         already: frozenset[str] = frozenset()) -> Outcome:
    """What remains to deliver: every (notice, route) not yet reached, and every
    delivery a previous run may have sent (`Outcome.unsettled`)."""
    outcome = Outcome()
    usable = []
    for channel in channels:
        problem = channel_problem(channel)
        if problem:
            outcome.refused.append(problem)
        else:
            usable.append(channel)
    refused_targets = {c.target for c in channels} - {c.target for c in usable}
    for item in found:
        if item.key in already:
            continue
        chosen = routes(item.recipient, usable, book, today)
        if not chosen:
            if item.recipient not in refused_targets and not item.recipient.startswith(
                    ("role:", "customer:")):
                outcome.no_channel.append(item)
            continue
        done = state.reached(item.key)
        outcome.planned.extend(Delivery(item, r, in_flight=state.in_flight(item.key, r.id))
                               for r in chosen if r.id not in done)
    due = {(d.notice.key, d.route.id) for d in outcome.planned}
    for key, marks in sorted(state.sending.items()):
        for route_id, mark in sorted(marks.items()):
            outcome.unsettled.append(Unsettled(
                key=key, route_id=route_id, notice_id=str(mark.get("id", notice_id(key))),
                channel=str(mark.get("channel", "")), at=str(mark.get("at", "")),
                resend=(key, route_id) in due))
    return outcome


def run(outcome: Outcome, state: SentState, send: Sender,
        environ: Mapping[str, str], now: Callable[[], str]) -> Outcome:
    """Deliver what `plan` found, at least once.

    Before each send a "sending" mark is written to the state (atomically and
    durably); after it the delivery is recorded as sent, or, when apprise reports a
    failure, the mark is dropped and the failure kept for the next run. A run that
    stops between the send and the record leaves the mark: the next run reports the
    delivery as one that may have been sent and delivers it again with the same
    notice id (in the body's last line and, where the channel takes headers, in
    `X-Notice-Id` / `Idempotency-Key`), so the receiver can drop the repeat.
    Marks for deliveries no longer due are reported (by `plan`) and forgotten.
    """
    gone = [u for u in outcome.unsettled if not u.resend]
    if gone:
        for item in gone:
            state.unmark(item.key, item.route_id)
        state.write()
    for delivery in outcome.planned:
        notice, route = delivery.notice, delivery.route
        try:
            url = stamped(expand(route, environ), notice.id)
        except ChannelError as exc:
            delivery.error = str(exc)
            outcome.failed.append(delivery)
            continue
        state.mark_sending(notice.key, route.id, now(), route.channel.url)
        state.write()
        try:
            send(url, notice.subject, with_id(notice.body, notice.id))
        except Exception as exc:  # a channel must never stop the others
            delivery.error = str(exc) if isinstance(exc, ChannelError) else \
                f"{type(exc).__name__}: {exc}"
            outcome.failed.append(delivery)
            state.unmark(notice.key, route.id, restore=delivery.in_flight)
            state.write()
            continue
        state.record(notice.key, route.id, now())
        state.write()
        outcome.sent.append(delivery)
    return outcome


# -- --since REV --------------------------------------------------------------------------


def book_at_revision(ledger: Path, rev: str) -> tuple[Book, datetime.date, list[Any]]:
    """The book of the ledger as it was at git revision `rev`, that commit's date and
    the entries (the notify directives in them say which notices were due)."""

    from beancount_adjustments.plugin import book_of

    ledger = ledger.resolve()

    def git(*args: str) -> bytes:
        try:
            return subprocess.run(["git", "-C", str(ledger.parent), *args], check=True,
                                  capture_output=True, timeout=120).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            raise ChannelError(f"git {' '.join(args)} failed: "
                               f"{err.decode(errors='replace').strip() or exc}") from exc

    top = Path(git("rev-parse", "--show-toplevel").decode().strip())
    relative = ledger.relative_to(top.resolve())
    day = datetime.date.fromisoformat(git("log", "-1", "--format=%cs", rev).decode().strip())
    with tempfile.TemporaryDirectory(prefix="bean-adjust-since-") as tmp:
        archive = Path(tmp) / "tree.tar"
        archive.write_bytes(git("archive", "--format=tar", rev))
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        old = Path(tmp) / "tree" / relative
        if not old.exists():
            raise ChannelError(f"{relative} does not exist at {rev}")
        entries, _errors, options = loading.load_file(str(old))
    book = book_of(options)
    if book is None:
        raise ChannelError(f"the ledger at {rev} does not enable the plugin")
    return book, day, entries
