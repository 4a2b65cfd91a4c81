"""The extension's settings, parsed from its `fava-extension` line (README's table
lists the keys). A bad value never breaks Fava: it falls back to the default
and the page lists it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from beancount_adjustments.fava_ext.queue import PER_PAGE

DEFAULT_SECRET_HEADER = "X-Proxy-Secret"


@dataclass(frozen=True)
class Config:
    """The extension's settings, parsed from the `fava-extension` line."""

    user_header: str | None = None
    demo_mode: bool = False
    ticket_url: str | None = None
    read_only: bool = False
    per_page: int = PER_PAGE
    target: str | None = None
    fava_editing: bool = False
    proxy_secret: str | None = None
    """`env:NAME`: the proxy's shared secret is in the environment variable NAME."""
    proxy_secret_header: str = DEFAULT_SECRET_HEADER
    errors: tuple[str, ...] = ()

    KEYS = ("user-header", "demo-mode", "ticket-url", "read-only", "per-page",
            "target", "fava-editing", "proxy-secret", "proxy-secret-header")
    RETIRED: ClassVar[dict[str, str]] = {
        "sla-days": "'sla-days' is no longer read here: an item is overdue past its type's "
                    "sla-days or the plugin's default-sla-days, in every tool alike (set "
                    "those instead)"}

    @property
    def guards_fava(self) -> bool:
        """Whether Fava's own write API is closed: identities come from a header, and
        Fava's editor would write without any of them, or the extension is
        read-only (`fava-editing` reopens it)."""
        return (bool(self.user_header) or self.read_only) and not self.fava_editing

    @property
    def identity_source(self) -> tuple[str, str, str, bool]:
        """What names the acting user (`identity.identify`): the header (by its
        case-insensitive name), the proxy's secret and its header, and demo mode's
        pick when the header names nobody. Two configs alike here vouch alike."""
        return ((self.user_header or "").lower(), self.proxy_secret or "",
                self.proxy_secret_header.lower(), self.demo_mode)

    @property
    def secret_variable(self) -> str | None:
        """The environment variable `proxy-secret` names (None: not `env:NAME`)."""
        value = self.proxy_secret or ""
        name = value[4:].strip() if value.startswith("env:") else ""
        return name or None

    @classmethod
    def parse(cls, raw: object) -> Config:
        """Settings from the parsed config; bad values fall back to the default and
        are listed in `errors` (shown on the page) instead of breaking Fava."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            return cls(errors=("the extension's config must be a dict literal",))
        errors: list[str] = []
        values: dict[str, Any] = {}
        errors += [note for key, note in cls.RETIRED.items() if key in raw]
        unknown = sorted(str(k) for k in raw if k not in cls.KEYS and k not in cls.RETIRED)
        if unknown:
            errors.append(f"unknown config key(s): {', '.join(unknown)}; known: "
                          f"{', '.join(cls.KEYS)}")
        checks: dict[str, tuple[str, type | tuple[type, ...]]] = {
            "user-header": ("user_header", str), "demo-mode": ("demo_mode", bool),
            "ticket-url": ("ticket_url", str),
            "read-only": ("read_only", bool), "per-page": ("per_page", int),
            "target": ("target", str), "fava-editing": ("fava_editing", bool),
            "proxy-secret": ("proxy_secret", str),
            "proxy-secret-header": ("proxy_secret_header", str)}
        for key, (name, kind) in checks.items():
            if key not in raw or raw[key] is None:
                continue
            value = raw[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                errors.append(f"config key {key!r} has the wrong type ({value!r})")
                continue
            values[name] = value.strip() if isinstance(value, str) else value
        if values.get("per_page", 1) < 1:
            errors.append("per-page must be >= 1")
            values.pop("per_page")
        ticket = values.get("ticket_url")
        if ticket and not str(ticket).lower().startswith(("https://", "http://")):
            errors.append("ticket-url must be an http(s) URL template")
            values.pop("ticket_url")
        if "proxy-secret" in raw and raw["proxy-secret"] is not None:
            secret = values.get("proxy_secret")
            if not isinstance(secret, str) or not secret.startswith("env:") or not secret[4:]:
                # Fail closed: a secret that cannot be read identifies nobody.
                errors.append("proxy-secret must name an environment variable ('env:NAME'), "
                              "never hold the secret itself; until then nobody is identified")
                values["proxy_secret"] = "env:"
        if not values.get("proxy_secret_header", DEFAULT_SECRET_HEADER):
            values.pop("proxy_secret_header")
        if values.get("demo_mode") and values.get("user_header"):
            # A request without the header would name whoever it picks: the proxy's
            # login (and its secret) walked around by leaving the header out.
            errors.append("demo-mode is off while user-header is set: only the trusted "
                          "proxy's header names who acts")
            values["demo_mode"] = False
        return cls(**values, errors=tuple(errors))

