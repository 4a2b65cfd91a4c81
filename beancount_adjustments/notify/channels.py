"""Channels: the apprise URL templates declared per recipient, and routing a notice to them.

Channels come from `adjustment-channel` directives (read by `beans.notify_lines`) or
a TOML `[channels]` table (`read_config`, which also reads the deployment's
`[destinations]` allow-list: `destinations`); `routes` picks a recipient's own channels,
else the `*` / `customer:*` wildcard with `{email}`; `expand` fills `{env:NAME}` in
at send time, so secrets never sit in the ledger (`secrets` refuses a channel that
holds one).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import CustomerRecord, Source
from beancount_adjustments.core.notice_lines import Channel

if TYPE_CHECKING:
    from beancount_adjustments.notify.destinations import Destinations

ENV_RE = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
ADDRESS_RE = re.compile(r"[\w.!#$'*+^`|~-]+@[\w-]+(?:\.[\w-]+)*")
"""One e-mail address, without the characters apprise reads as a separator of
recipients (`,` `;` `/` space) or of a URL's parts (`?` `&` `=` `%` `#`)."""


class ChannelError(AdjustmentsError):
    """A channel could not be used: a literal secret, an unset variable, a bad URL."""

    code = "bad-channel"


CONFIG_KEYS = ("channels", "destinations")


class NotifyConfig(NamedTuple):
    """The deployment's notify config (`--config`)."""

    channels: list[Channel]
    problems: list[str]
    """What is wrong with a `[channels]` entry (that entry is skipped)."""
    destinations: Destinations | None
    """Its allow-list, or None when the file has no `[destinations]`."""


def read_config(path: Path) -> NotifyConfig:
    """Channels from a TOML file's `[channels]` table, what is wrong with any entry
    (that entry is skipped), and its `[destinations]` allow-list. A file that does not
    read, a key it does not know (a typo such as `[destination]` must not leave the
    allow-list out unnoticed) or a bad `[destinations]` stops the run."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelError(f"{path}: cannot read the notify config ({exc})") from exc
    unknown = [key for key in raw if key not in CONFIG_KEYS]
    if unknown:
        raise ChannelError(f"{path}: unknown key `{unknown[0]}` in the notify config (it has "
                           "[channels] and [destinations])")
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
                               source=Source(filename=str(path), lineno=0), in_ledger=False))
    destinations = None
    if "destinations" in raw:
        from beancount_adjustments.notify.destinations import parse_destinations

        destinations = parse_destinations(raw["destinations"], path)
    return NotifyConfig(out, problems, destinations)


@dataclass(frozen=True)
class Route:
    """A channel resolved for one recipient: its template and `{email}`."""

    channel: Channel
    email: str | None = None
    origin: Source | None = None
    """The directive `email` was read from (the user's or the customer's line)."""
    rival: CustomerRecord | None = None
    """A declaration of the customer on the same day with another contact (then no
    address is to be trusted: `Directory.contact_rival`)."""

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
        origin = record.source if record else None
        rival = book.directory.contact_rival(record) if record else None
    else:
        grants = [g for g in book.directory.grants.get(recipient, [])
                  if g.email and g.date <= today]
        wildcard, email = "*", grants[-1].email if grants else None
        origin, rival = grants[-1].source if grants else None, None
    if not email:
        return []
    return [Route(c, email, origin, rival) for c in channels if c.target == wildcard]


def address_problem(route: Route, recipient: str) -> str | None:
    """Why `route`'s `{email}` is not used, or None: it must be one address, else
    one `contact:` or `email:` would add recipients (another customer, an outsider)
    to the deployment's channel; and one declaration in force, not two of a day."""
    if route.email is None or (route.rival is None and ADDRESS_RE.fullmatch(route.email)):
        return None
    where = (f"{route.origin.filename}:{route.origin.lineno}: "
             if route.origin is not None else "")
    field = "contact:" if recipient.startswith("customer:") else "email:"
    if route.rival is not None:
        return (f"{where}{recipient}'s `{field}` is declared twice on {route.rival.date} "
                f"(also at {route.rival.source.filename}:{route.rival.source.lineno}, "
                "conflicting-customer): which is in force hangs on the order of the files, "
                f"so nothing is sent to {recipient} through {route.channel.url} until one "
                "line is removed or dated apart")
    return (f"{where}{recipient}'s `{field}` {route.email!r} is not one e-mail address, "
            f"so {{email}} is not filled in and nothing is sent to {recipient} through "
            f"{route.channel.url}; give one address")


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


def apprise_plugin(schema: str) -> Any:
    from apprise.apprise import N_MGR

    try:
        return N_MGR[schema]
    except KeyError:
        return None
