"""Which parts of a channel URL are secret, so a channel that writes one literally is refused,
and which variables a ledger line may place in a URL (`ledger_placed`: none but those
the deployment allows; the ledger must not choose where a secret is sent).

apprise's own plugin for the scheme says what is private; `{env:NAME}` placeholders
are replaced by sentinels its parsers accept, and each private value must be
sentinels only. The rule, for users, is in docs/notify.md (Channels).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from beancount_adjustments.core.notice_lines import Channel
from beancount_adjustments.notify.channels import ENV_RE, apprise_plugin

SECRET_KEYS = frozenset({
    "pass", "password", "pwd", "secret", "token", "key", "apikey", "api_key", "apitoken",
    "api_token", "access_token", "accesstoken", "auth", "auth_token", "authorization",
    "bearer", "client_secret", "api_secret", "private_key", "signature", "sig",
    "x_api_key", "webhook_secret"})
"""Query parameter names (without apprise's `+`/`-`/`:` prefix, `-` read as `_`) whose
literal values are refused whatever the scheme."""


SENTINEL_STYLES = ("9{0:04d}31415926", "9{0:04d}31415926:zq{0:04d}envx")


SENTINEL_RE = re.compile(r"9\d{4}31415926(?::zq\d{4}envx)?")


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
def quiet_apprise() -> Iterator[None]:
    """apprise's warnings about a sentinel it rejects are no news for the user."""
    logger = logging.getLogger("apprise")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


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
    plugin = apprise_plugin(schema) if schema and not ENV_RE.search(schema) else None
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
        with quiet_apprise(), contextlib.suppress(Exception):
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
        with quiet_apprise():
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


def ledger_placed(channel: Channel, allowed: frozenset[str]) -> list[str]:
    """The variables a ledger line places inside a URL it writes (the whole URL as
    one variable is the deployment's own destination), less those `allowed`."""
    if not channel.in_ledger or ENV_RE.fullmatch(channel.url.strip()):
        return []
    return [name for name in dict.fromkeys(ENV_RE.findall(channel.url))
            if name not in allowed]


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
    if schema and not ENV_RE.search(schema) and apprise_plugin(schema) is None:
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
    if apprise_plugin(schema) is not None:
        return None
    import apprise

    return (f"apprise {apprise.__version__} has no plugin for `{schema}://`, so nothing "
            "could be sent through it; check the scheme against apprise's list of "
            "services (Microsoft Teams, for one, is `workflows://` now)")


def channel_problem(channel: Channel,
                    ledger_variables: frozenset[str] = frozenset()) -> str | None:
    """Why `channel` is not used, or None. `ledger_variables`: the environment
    variables the deployment lets a ledger line place inside a URL."""
    where = (f"{channel.source.filename}:{channel.source.lineno}: "
             if channel.source else "")
    unknown = unknown_scheme(channel.url)
    if unknown is not None:
        return f"{where}channel for {channel.target} refused: {unknown}"
    placed = ledger_placed(channel, ledger_variables)
    if placed:
        names = ", ".join(f"{{env:{name}}}" for name in placed)
        return (f"{where}channel for {channel.target} refused: a ledger line places {names} "
                "inside a URL it writes, so whoever edits the ledger chooses where the value "
                "is sent; give the whole URL as one variable ({env:NAME} alone), declare the "
                "channel in the notify config (--config), or, for a value that is no "
                "secret, allow it with --ledger-variable NAME")
    reason = literal_secret(channel.url)
    if reason is None:
        return None
    return (f"{where}channel for {channel.target} refused: {reason}; secrets come only from "
            "the environment: write {env:NAME} in place of each (or the whole URL as "
            "{env:NAME}) and set NAME when notify runs")
