"""Where the ledger's channels may send: the deployment's `[destinations]` allow-list.

Whoever edits the ledger writes its `adjustment-channel` lines (and the `email:` /
`contact:` that fill `{email}`); notices carry customer ids, amounts, reasons and
approvers. So where such a URL sends is judged against a list only the deployment
writes (the notify config), by what apprise itself will connect to: the URL is
handed to `apprise.Apprise().add`, exactly as `delivery.apprise_send` does, and each
service it builds is read (its host or SMTP server, port, TLS, e-mail recipients).
`destination_problem` is the one check; `plan` (every mode) and `run` (just before
each send) call it. The rule, for users, is in docs/notify.md (Channels).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beancount_adjustments.notify.channels import ChannelError, Route, apprise_plugin, expand
from beancount_adjustments.notify.secrets import quiet_apprise

KEYS = ("allow", "mail-to")

ENTRY_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)"
                      r"(?:://(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])"
                      r"(?::(?P<port>[0-9]{1,5}))?)?")
DOMAIN_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")

SERVER_ELSEWHERE = {"zulip": "organization", "acs": "endpoint"}
"""Plugins without a `host` token that still take their server from the URL (a field
of another name): neither their scheme alone nor a host can be allowed."""


@dataclass(frozen=True)
class Allowed:
    """One `allow` entry: a scheme alone (a service at a host its plugin fixes, such
    as `slack`) or `scheme://host[:port]` (a service the URL points at)."""

    entry: str
    plugin: type
    secure: bool
    host: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class Destinations:
    """The allow-list from the notify config `path`."""

    allowed: tuple[Allowed, ...]
    mail_to: frozenset[str]
    path: str


@dataclass(frozen=True)
class Endpoint:
    """What one apprise service built from a URL connects to, as apprise holds it."""

    plugin: type
    scheme: str
    secure: bool
    host: str
    port: int | None
    recipients: tuple[str, ...] = ()

    def shown(self) -> str:
        if not _takes_host(self.plugin):
            # Its first field is a token (Slack's, Discord's webhook id): never printed.
            return f"{self.scheme}:// (the service apprise's plugin fixes)"
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}"


def _takes_host(plugin: type) -> bool:
    return "host" in getattr(plugin, "template_tokens", {})


def _schemes(plugin: type, key: str) -> set[str]:
    value = getattr(plugin, key, None)
    items = [value] if isinstance(value, str) else list(value or ())
    return {str(s).lower() for s in items}


def _all_schemes(plugin: type) -> set[str]:
    return _schemes(plugin, "protocol") | _schemes(plugin, "secure_protocol")


def _host(value: str) -> str:
    """A host as DNS compares it: case and a trailing dot do not matter."""
    return value.strip().lower().rstrip(".")


def parse_destinations(table: object, path: Path) -> Destinations:
    """The `[destinations]` table of the notify config at `path` (raises ChannelError,
    one line naming the file and the key, on anything it does not understand: a
    typo must never widen the list)."""
    if not isinstance(table, dict):
        raise ChannelError(f"{path}: `destinations` must be a table ([destinations] with "
                           "allow = [...])")
    unknown = [k for k in table if k not in KEYS]
    if unknown:
        raise ChannelError(f"{path}: unknown key `{unknown[0]}` in [destinations] (it has "
                           f"{', '.join(KEYS)})")
    raw_allow, raw_mail = table.get("allow", []), table.get("mail-to", [])
    for key, value in (("allow", raw_allow), ("mail-to", raw_mail)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ChannelError(f"{path}: [destinations] {key} must be a list of strings")
    allowed = tuple(_entry(str(item), path) for item in raw_allow)
    mail_to = []
    for item in raw_mail:
        domain = _host(str(item))
        if not DOMAIN_RE.fullmatch(domain):
            raise ChannelError(f"{path}: [destinations] mail-to {item!r} is no domain (write "
                               "example.com: an IDN as its xn-- form)")
        mail_to.append(domain)
    return Destinations(allowed, frozenset(mail_to), str(path))


def _entry(item: str, path: Path) -> Allowed:
    where = f"{path}: [destinations] allow {item!r}"
    text = item.strip().lower()
    match = ENTRY_RE.fullmatch(text)
    if not item.isascii():
        raise ChannelError(f"{where}: write a non-ASCII host in its xn-- (punycode) form, "
                           "the one apprise connects to")
    if match is None:
        raise ChannelError(f"{where}: is not `scheme` or `scheme://host[:port]` (no user@, "
                           "path or query: the entry names where apprise connects)")
    scheme, host, port = match["scheme"], match["host"], match["port"]
    plugin = apprise_plugin(scheme)
    if plugin is None:
        raise ChannelError(f"{where}: apprise has no plugin for `{scheme}://`")
    elsewhere = [SERVER_ELSEWHERE[s] for s in sorted(_all_schemes(plugin))
                 if s in SERVER_ELSEWHERE]
    if elsewhere:
        raise ChannelError(f"{where}: apprise's {scheme}:// takes its server from the "
                           f"{elsewhere[0]} field, which this list cannot check; declare "
                           "such channels in [channels] instead")
    if host is None and _takes_host(plugin):
        raise ChannelError(f"{where}: {scheme}:// sends to the host its URL names, so the "
                           f"scheme alone would allow any; name the host ({scheme}://HOST)")
    if host is not None and not _takes_host(plugin):
        raise ChannelError(f"{where}: the first field of a {scheme}:// URL is a token, not "
                           f"a server (apprise's plugin fixes where it sends); allow it as "
                           f"\"{scheme}\"")
    if port is not None and not 0 < int(port) < 65536:
        raise ChannelError(f"{where}: port {port} is out of range")
    return Allowed(entry=item, plugin=plugin, secure=scheme in _schemes(plugin, "secure_protocol"),
                   host=None if host is None else _host(host),
                   port=None if port is None else int(port))


def endpoints(url: str) -> list[Endpoint] | str:
    """Every service apprise builds from `url` and where it connects, or why that
    cannot be told (then nothing may be sent through it)."""
    import apprise

    app = apprise.Apprise()
    with quiet_apprise():
        added = app.add(url)
    services = list(app) if added else []
    if not services:
        return "apprise cannot build a service from it, so where it sends cannot be told"
    for service in services:
        # Plugins write their path right after the host (`https://HOST` + path); one
        # not starting with `/` (Synology's, once its token is cut off by the token's
        # unquoted length) becomes part of the host: `HOST@evil.example`.
        path = getattr(service, "fullpath", None)
        if isinstance(path, str) and path and not path.startswith("/"):
            return (f"apprise would write its path {path!r} right after the host, where it "
                    "becomes part of the host, so where it sends cannot be told")
    return [_endpoint(service) for service in services]


def _endpoint(service: Any) -> Endpoint:
    """Where one apprise service connects: e-mail's SMTP server is `smtp_host` (what
    `?smtp=` or apprise's table of providers for the sender's domain made it), any
    other plugin's is its `host`."""
    from apprise.plugins.email.base import NotifyEmail
    from apprise.plugins.email.common import SECURE_MODES

    plugin = type(service)
    email = isinstance(service, NotifyEmail)
    mode = str(getattr(service, "secure_mode", ""))
    secure = mode != "insecure" if email else bool(service.secure)
    names = sorted(_schemes(plugin, "secure_protocol" if secure else "protocol")
                   or _all_schemes(plugin))
    host = (getattr(service, "smtp_host", None) if email else getattr(service, "host", None))
    port = getattr(service, "port", None)
    recipients: tuple[str, ...] = ()
    if email:
        if port == SECURE_MODES.get(mode, {}).get("default_port"):
            port = None  # the mode's own port, as a URL without one gets
        recipients = tuple(_addresses([*service.targets, *service.cc, *service.bcc]))
    return Endpoint(plugin=plugin, scheme=names[0] if names else "?", secure=secure,
                    host=_host(str(host or "")), port=None if port is None else int(port),
                    recipients=recipients)


def _addresses(items: Iterable[Any]) -> Iterable[str]:
    for item in items:
        address = item[1] if isinstance(item, tuple) else item
        yield str(address).strip().lower()


def _matches(rule: Allowed, end: Endpoint) -> bool:
    if end.plugin is not rule.plugin:  # the very plugin: a subclass may connect otherwise
        return False
    if rule.host is None:
        return True  # the plugin fixes where it connects (Slack: hooks.slack.com)
    # TLS where the entry has it: a plain-HTTP `json://` would show the notice on the wire.
    return rule.host == end.host and rule.port == end.port and (end.secure or not rule.secure)


def url_problem(url: str, destinations: Destinations, email: str | None = None) -> str | None:
    """Why `url` (as it will be handed to apprise) sends outside `destinations`, or
    None. `email`: the address `{email}` was filled with (the recipient the ledger
    declares), which an e-mail channel may mail whatever its domain."""
    found = endpoints(url)
    if isinstance(found, str):
        return found
    for end in found:
        if not any(_matches(rule, end) for rule in destinations.allowed):
            return (f"it sends to {end.shown()}, which [destinations] allow in "
                    f"{destinations.path} does not list")
        for address in end.recipients:
            domain = _host(address.rpartition("@")[2])
            if address != (email or "").lower() and domain not in destinations.mail_to:
                return (f"it mails {address}, whose domain [destinations] mail-to in "
                        f"{destinations.path} does not list")
    return None


def checked(route: Route) -> bool:
    """Whether the ledger wrote any of `route`'s URL: a ledger line, or a config
    channel's `{email}` (from a user's `email:` or a customer's `contact:`). The
    config's own channels are the deployment's word."""
    return route.channel.in_ledger or route.email is not None


def destination_problem(route: Route, url: str, destinations: Destinations | None,
                        recipient: str) -> str | None:
    """Why `route`, whose URL for `recipient` is `url` (placeholders filled), may not be
    used, or None: the one check of where a ledger-written URL sends."""
    if destinations is None or not checked(route):
        return None
    why = url_problem(url, destinations, route.email)
    if why is None:
        return None
    channel = route.channel
    source = channel.source if channel.in_ledger else route.origin
    where = f"{source.filename}:{source.lineno}: " if source is not None else ""
    via = "" if channel.in_ledger else (
        f" ({{email}} of {recipient} filled into the config's channel {channel.url})")
    return (f"{where}channel for {channel.target} refused{via}: {why}; nothing is sent "
            "through it: list that destination there if it is the deployment's own, or "
            "remove the line")


def placeholder_free(route: Route, environ: Mapping[str, str]) -> str | None:
    """`route`'s URL with its placeholders filled, or None when a variable is unset
    (the send then fails on it; there is nothing to check)."""
    try:
        return expand(route, environ)
    except ChannelError:
        return None
