"""Who acts in a request: the trusted proxy's header (checked against its shared
secret when one is configured), or in demo mode the user picked on the page.

Only the proxy may name a user. Anything ambiguous names nobody, with a note
the page shows, because a guessed identity would let a client act as anyone.
"""

from __future__ import annotations

import datetime
import hmac
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from flask import Request

from beancount_adjustments.core import lookalike
from beancount_adjustments.fava_ext.config import Config
from beancount_adjustments.fava_ext.index import BookIndex

DEMO_COOKIE = "adjustments-user"
MAX_USER = 100


@dataclass(frozen=True)
class Identity:
    """Who acts in this request, and where that came from."""

    user: str | None
    source: str
    """"header" (trusted reverse-proxy header), "demo" (picked on the page) or ""."""
    roles: tuple[str, ...] = ()
    known: bool = False
    note: str = ""
    """Why a header that was sent identifies nobody ("" when nothing was refused)."""


def header_user(cfg: Config, request: Request) -> tuple[str | None, str]:
    """The user the trusted proxy names, or None and why not ("": no header).

    With `proxy-secret`, a request without the proxy's secret header (compared
    in constant time) names nobody. A header that is ambiguous (sent twice,
    several values, an underscore variant where the server shows one) names
    nobody either, and so does one that is no plain name (`_plain_name`).
    """
    header = cfg.user_header
    if not header:
        return None, ""
    values = request.headers.getlist(header)
    if cfg.proxy_secret is not None:
        variable = cfg.secret_variable
        expected = os.environ.get(variable, "") if variable else ""
        if not expected:
            return None, (f"proxy-secret names the environment variable {variable or '?'}, "
                          "which is not set for Fava: nobody is identified until it is")
        sent = request.headers.getlist(cfg.proxy_secret_header)
        if len(sent) != 1 or not hmac.compare_digest(sent[0].encode("utf-8", "replace"),
                                                     expected.encode("utf-8")):
            if not values:
                return None, ""
            return None, (f"{header} was ignored: this request did not come through the "
                          f"trusted proxy (no valid {cfg.proxy_secret_header})")
    if not values:
        return None, ""
    # WSGI servers fold `X_Remote_User` into the same environ key as
    # `X-Remote-User`: Werkzeug drops underscore names, its test client joins
    # repeats with ", ", cheroot (Fava's server) keeps the last. What shows
    # here as several values is refused; the proxy must drop the rest.
    if len(values) > 1 or "," in values[0]:
        return None, (f"{header} was ignored: it was sent several times or with "
                      "several values, so it names nobody for sure")
    # HTTP's own blanks (space, tab) only: `str.strip` also drops the separators
    # \x1c-\x1f, NEL (\x85) and the no-break space (\xa0), so a login "bob\x1f" or
    # "\xa0bob" (one byte each, as WSGI hands headers over) would act as bob.
    value = values[0].strip(" \t")
    if not value:
        return None, ""
    if len(value) > MAX_USER or not _plain_name(value):
        return None, f"{header} was ignored: it is not a user name"
    return value, ""


def _plain_name(value: str) -> bool:
    """No control character (C0, DEL, C1), no character that draws nothing
    (`lookalike.invisible`), no other blank at either end."""
    return (value == value.strip()
            and not any(unicodedata.category(c) == "Cc" for c in value)
            and lookalike.invisible(value) is None)


def identify(cfg: Config, request: Request, book_index: Callable[[], BookIndex | None],
             today: datetime.date) -> Identity:
    """The acting user of `request`, with their roles on `today` (`book_index` is
    asked only when a user is named: a refusal needs no index built)."""
    user, note = header_user(cfg, request)
    source = "header" if user else ""
    if user is None and not note and cfg.demo_mode:
        value = (request.args.get("as") or request.cookies.get(DEMO_COOKIE) or "").strip()
        index = book_index()
        if value and index is not None and value in index.users(today):
            user, source = value, "demo"
    if user is None:
        return Identity(None, "", note=note)
    index = book_index()
    roles = index.roles(user, today) if index is not None else ()
    known = index is not None and index.book.directory.is_user(user, today)
    return Identity(user, source, roles, known)
