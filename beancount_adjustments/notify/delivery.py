"""Delivery: what remains to send (`plan`) and sending it at least once (`run`).

`run` marks each delivery in the state before sending and records it after, so a
crash between the two is seen by the next run; the notice id rides in the body's
last line and, where apprise takes `+Header=`, in headers (`stamped`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.notice_lines import Channel
from beancount_adjustments.notify.channels import (
    ChannelError,
    Route,
    address_problem,
    apprise_plugin,
    expand,
    routes,
)
from beancount_adjustments.notify.destinations import (
    Destinations,
    destination_problem,
    placeholder_free,
)
from beancount_adjustments.notify.notices import Notice, notice_id
from beancount_adjustments.notify.secrets import channel_problem
from beancount_adjustments.notify.state import SentState

Sender = Callable[[str, str, str], None]
"""send(url, title, body): deliver or raise ChannelError."""


LIVE_MARKUP = re.compile(
    r"(?i)@(?=(?:everyone|here|channel|all)\b)"  # mentions that ping a whole chat
    r"|<(?=[!@#]|[a-z][a-z0-9+.-]*:)"  # Slack's <!channel>, <@U1>, <https://..|text>
    r"|\](?=\()")  # a Markdown link's [text](url)
"""Where a chat would read a notice's text (a reason, a name) as markup: apprise
hands Discord, among others, TEXT as it is, and Discord pings and draws links."""


def as_text(text: str) -> str:
    """`text` with a zero-width space breaking each `LIVE_MARKUP`: every word still
    shows, none pings a chat or hides a link behind other words."""
    return LIVE_MARKUP.sub(lambda m: m.group() + "\u200b", text)


def apprise_send(url: str, title: str, body: str) -> None:
    import apprise

    app = apprise.Apprise()
    if not app.add(url):
        raise ChannelError("apprise does not understand this URL (check the scheme and form)")
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:  # type: ignore[no-untyped-call]
        ok = app.notify(title=as_text(title), body=as_text(body),
                        body_format=apprise.NotifyFormat.TEXT)
        text = log.getvalue() if hasattr(log, "getvalue") else ""
    if not ok:
        lines = [line.split(" - ", 2)[-1] for line in str(text).splitlines() if line.strip()]
        raise ChannelError("; ".join(lines) or "apprise reported a failure")


def stamped(url: str, nid: str) -> str:
    """`url` carrying the notice id as headers where its apprise plugin takes `+Header=`
    (`json://`, `xml://`, `form://`, e-mail, ...): `X-Notice-Id`, and for HTTP also
    `Idempotency-Key`. Other channels carry it in the body's last line only."""
    schema = url.split("://", 1)[0].lower() if "://" in url else ""
    plugin = apprise_plugin(schema) if schema else None
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
    destinations: Destinations | None = None
    """The allow-list `plan` judged by; `run` judges each URL it sends by it again."""


def plan(found: Sequence[Notice], channels: Sequence[Channel], book: Book, *,
         today: datetime.date, state: SentState,
         already: frozenset[str] = frozenset(),
         ledger_variables: frozenset[str] = frozenset(),
         destinations: Destinations | None = None,
         environ: Mapping[str, str] | None = None) -> Outcome:
    """What remains to deliver: every (notice, route) not yet reached, and every
    delivery a previous run may have sent (`Outcome.unsettled`). `ledger_variables`:
    see `secrets.channel_problem`; `destinations`: the deployment's allow-list, judged
    with the placeholders filled from `environ` (`destinations.destination_problem`)."""
    outcome = Outcome(destinations=destinations)
    env = environ or {}
    usable = []
    for channel in channels:
        problem = channel_problem(channel, ledger_variables)
        if problem is None and "{email}" not in channel.url:
            # Judged once per channel (reported even when nothing is due through it);
            # a channel with {email} is judged per recipient, below.
            whole = Route(channel)
            url = placeholder_free(whole, env)
            problem = None if url is None else destination_problem(
                whole, url, destinations, channel.target)
        if problem:
            outcome.refused.append(problem)
        else:
            usable.append(channel)
    refused_targets = {c.target for c in channels} - {c.target for c in usable}
    for item in found:
        if item.key in already:
            continue
        chosen: list[Route] = []
        bad: list[Route] = []
        for route in routes(item.recipient, usable, book, today):
            problem = address_problem(route, item.recipient)
            # Every route of an {email} channel: a user's own one is never filled in,
            # and still goes wherever the rest of its URL says.
            if problem is None and "{email}" in route.channel.url:
                url = placeholder_free(route, env)
                problem = None if url is None else destination_problem(
                    route, url, destinations, item.recipient)
            (chosen if problem is None else bad).append(route)
            if problem is not None and problem not in outcome.refused:
                outcome.refused.append(problem)
        if not chosen:
            if not bad and item.recipient not in refused_targets and \
                    not item.recipient.startswith(("role:", "customer:")):
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
        # The very URL apprise is handed, judged again: `plan` may have run on
        # another environment's values (a variable set between the two is no way round).
        refusal = destination_problem(route, url, outcome.destinations, notice.recipient)
        if refusal is not None:
            if refusal not in outcome.refused:
                outcome.refused.append(refusal)
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
