"""The Flask plumbing every endpoint shares: Fava's endpoint decorator typed, JSON
answers with a status, a download's file name made safe for a header, and a
ledger's file served confined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote

from fava.ext import extension_endpoint
from flask import Response, jsonify

F = TypeVar("F", bound=Callable[..., Any])

NO_PLUGIN = "the beancount_adjustments plugin did not run"

SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def endpoint(name: str, methods: list[str] | None = None) -> Callable[[F], F]:
    """Fava's `extension_endpoint`, typed."""
    return cast(Callable[[F], F], extension_endpoint(name, methods))


def json_response(status: int, **payload: Any) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def refusal(status: int, code: str, message: str, **extra: Any) -> Response:
    """A call refused, nothing done: `{"ok": false, "code", "message", "error"}` and
    `extra`, as every endpoint answers one (README: Errors). `error` repeats the
    message for the pages' script and clients written before `code` was on all."""
    return json_response(status, ok=False, code=code, message=message, error=message,
                         **extra)


def bad_filter(message: str) -> Response:
    """Fava's filter in the URL cannot be read: a client asking for JSON or a file
    gets the reason in JSON, not Fava's HTML error page."""
    return refusal(400, "bad-filter", f"Fava's filter cannot be read: {message}")


def inline_disposition(name: str) -> str:
    """`Content-Disposition: inline` for a file called `name`."""
    # Ledger text (a customer id) may hold control characters: never in a header.
    ascii_name = "".join(c if c.isprintable() else "_" for c in name.encode(
        "ascii", "replace").decode()).replace('"', "_").replace("\\", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def confined(response: Response) -> Response:
    """`response`, a ledger's file served inline, made `nosniff` and (but for a PDF,
    which Chromium's viewer cannot show sandboxed) under a sandboxing CSP: an HTML or
    SVG file runs no script on Fava's origin, where this extension's endpoints act
    as whoever opens it."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype != "application/pdf":
        response.headers["Content-Security-Policy"] = SANDBOX
    return response
