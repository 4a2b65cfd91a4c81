"""Fava extension: the reviewer's workspace for adjustments.

Enable it in the ledger with one line: `custom "fava-extension"`, the module
`"beancount_adjustments.fava_ext"` and the config (a Python dict literal)::

    2026-01-01 custom "fava-extension" "beancount_adjustments.fava_ext" "{CONFIG}"

    with CONFIG, for example:
    'user-header': 'X-Remote-User', 'demo-mode': False, 'per-page': 50

The pages (queue, detail, reports) live under Fava's extension report
"Adjustments"; actions are JSON endpoints. See `AdjustmentsExtension` for
the configuration keys and the endpoints.
"""

from __future__ import annotations

import datetime
import hmac
import json
import mimetypes
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import parse_qsl, quote, urlencode

from beancount.core import data
from fava.context import g
from fava.ext import FavaExtensionBase, extension_endpoint
from flask import Response, abort, current_app, jsonify, make_response, request, send_file
from markupsafe import Markup

from beancount_adjustments import api, writer
from beancount_adjustments.api import bodies
from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book, CustomerError, customer_id
from beancount_adjustments.core.models import Action
from beancount_adjustments.fava_ext import report_data, views
from beancount_adjustments.fava_ext.new_request import NewRequestForm, new_request_form
from beancount_adjustments.fava_ext.statement_page import StatementPage, statement_page
from beancount_adjustments.fava_ext.views import BookIndex, DateRange
from beancount_adjustments.notify import alerts as notify_alerts
from beancount_adjustments.plugin import book_of
from beancount_adjustments.reports.statement import render as render_statement

__all__ = ["AdjustmentsExtension", "Config", "Identity"]

DEMO_COOKIE = "adjustments-user"
MAX_DECISIONS = 5000
MAX_USER = 100
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
DEFAULT_SECRET_HEADER = "X-Proxy-Secret"


@dataclass(frozen=True)
class Config:
    """The extension's settings, parsed from the `fava-extension` line."""

    user_header: str | None = None
    demo_mode: bool = False
    ticket_url: str | None = None
    read_only: bool = False
    per_page: int = views.PER_PAGE
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
        Fava's editor would write without any of them (`fava-editing` reopens it)."""
        return bool(self.user_header) and not self.fava_editing

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
        return cls(**values, errors=tuple(errors))


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


@dataclass(frozen=True)
class ReportsPage:
    summary: report_data.Summary
    trends: report_data.Trends
    impact: report_data.Impact
    compliance: report_data.Compliance
    charts: dict[str, Markup]
    compliance_shown: int


@dataclass(frozen=True)
class Page:
    """Everything the template renders for one request."""

    view: str
    identity: Identity
    read_only: str
    """Why nothing can be written from this page ("" when writes are possible)."""
    fava_editing: str
    """What the page says about Fava's own editor ("" when there is nothing to say)."""
    users: list[str]
    config: Config
    today: datetime.date
    date_range: DateRange | None
    problems: int
    open_count: int
    queue: views.QueueView | None = None
    detail: views.DetailView | None = None
    reports: ReportsPage | None = None
    statement: StatementPage | None = None
    new: NewRequestForm | None = None
    missing_id: str = ""
    notes: list[str] = field(default_factory=list)


FAVA_CLOSED = (
    "Fava editing is closed: Fava's own editor, importer, uploads and document deletion "
    "write without checking who you are, so they are refused (403) while identities come "
    "from {header}. Decide here; change entries with bean-adjust or in git "
    "('fava-editing': True in the extension's config reopens them).")


def fava_read_only() -> bool:
    """Whether Fava runs with --read-only.

    Fava 1.30 keeps no flag for it: `create_app(read_only=True)` registers a
    before-request hook named `_read_only` that answers every non-GET with
    401. We look for that hook (and a `READ_ONLY` config value, for later
    versions).
    """
    if current_app.config.get("READ_ONLY"):
        return True
    hooks = current_app.before_request_funcs.get(None, [])
    return any(getattr(hook, "__name__", "") == "_read_only" for hook in hooks)


F = TypeVar("F", bound=Callable[..., Any])


def endpoint(name: str, methods: list[str] | None = None) -> Callable[[F], F]:
    """Fava's `extension_endpoint`, typed."""
    return cast(Callable[[F], F], extension_endpoint(name, methods))


def _json(status: int, **payload: Any) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


class AdjustmentsExtension(FavaExtensionBase):
    """The reviewer's workspace: pending queue, batch decisions, detail, reports.

    Configuration keys (all optional), in the `fava-extension` line's dict:

    - ``user-header`` (str): name of the HTTP header a trusted reverse proxy
      sets to the authenticated user (e.g. ``X-Remote-User``). Fava has no
      login; without a header (and without demo mode) the pages are
      read-only and every POST is refused with 403.
    - ``demo-mode`` (bool, default False): for local demos, the page offers a
      select to act as any declared user (kept in the ``adjustments-user``
      cookie, or ``?as=<user>``). The page says so plainly. Never enable it on
      a shared server.
    - ``sla-days`` (int, default 3): days a request may wait before it is
      overdue, when its type's policy sets no ``sla-days``.
    - ``ticket-url`` (str): URL template for tickets, e.g.
      ``'https://support.example/tickets/{ticket}'`` (http/https only; the
      ticket is URL-quoted).
    - ``read-only`` (bool, default False): never write, whoever asks.
    - ``per-page`` (int, default 50): queue rows per page.
    - ``target`` (str): file decisions are appended to, relative to the
      ledger (default: the writer's choice, see `beancount_adjustments.writer`).
    - ``fava-editing`` (bool, default False): with ``user-header`` set, Fava's
      own write API (editor, importer, uploads, document deletion: every
      non-GET request but this extension's) is refused with 403, since it
      writes without identity; True opens it again (the page says so).
    - ``proxy-secret`` (``'env:NAME'``): the secret the proxy sends in
      ``proxy-secret-header`` (default ``X-Proxy-Secret``) is in the
      environment variable NAME; a request without it names nobody.

    Pages (Fava's report "Adjustments", ``extension/AdjustmentsExtension/``):
    ``?view=queue`` (default; filters ``state kind type category customer
    tier requester risk q overdue mine sort order page``; sections "to
    approve", "to apply", "reversals to approve"), ``?view=detail&id=ID``,
    ``?view=new`` (the "New request" form), ``?view=reports`` and
    ``?view=statement&customer=ID-or-name&from=&to=`` (a customer's statement,
    as `bean-adjust statement`). Fava's time filter (``time=``) narrows requests
    by their date; the book itself is always replayed over all entries.

    Endpoints (``extension/AdjustmentsExtension/<endpoint>``):

    - ``POST decide``: JSON ``{"decisions": [{"id", "action", "digest",
      "reason"?, "comment"?, "customer_reason"?, "effective"?}]}`` where
      ``digest`` is the request's digest as the page showed it
      (``customer_reason``, for a reject or a cancel, is written as
      ``customer-reason:``: what the customer is told). One write through
      `writer.write_decisions(partial=True)` and one reload. 200 with
      ``written``, ``ids``, ``refused`` (id, message, code, status) when
      anything was written; when nothing was: 409 if an item changed since it
      was shown (code ``changed``: reload), else 422; 403 without identity or
      when read-only; 415 for a non-JSON body; 400 for a malformed one.
    - ``POST create``: JSON, the fields of `api.create` (`api.create_fields`);
      identity as ``decide``. 201 with the new adjustment, 200 with the one
      already filed under its ``external_id`` (nothing written); 400, 403,
      409, 422 with ``{"code", "message"}``.
    - ``GET preview``: the fields of ``POST create`` as query arguments; what
      filing them would give (chain, provisional id, eligible approvers),
      judged by the writer as a dry run, nothing written. Errors as ``create``.
    - ``GET adjustments``: `bean-adjust list`'s filters (``state`` repeatable,
      ``type category customer requester older_than awaiting below``): a JSON
      list of adjustments (`api.Adjustment.as_json`).
    - ``GET document?id=ID``: the request's ``document:`` file, inline, if it
      lies under the ledger's folder (403 outside it, 404 missing).
    - ``GET export?report=summary|trends|impact|compliance|queue``: CSV.
    - ``GET statement?customer=ID-or-name&from=&to=&format=html|csv``: a
      customer's statement as a file (the printable HTML, or CSV).
    - ``GET queue``: the queue as JSON (same filters as the page).
    - ``GET adjustment?id=ID``: one adjustment's detail as JSON.
    """

    report_title = "Adjustments"
    has_js_module = True

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        super().__init__(ledger, config)
        self.cfg = Config.parse(self.config)
        self._index: BookIndex | None = None
        self._index_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._alerts: tuple[Book, datetime.date, list[Any]] | None = None
        self._snapshot: loading.Snapshot | None = None
        self._loads = 0

    # -- Fava hooks -------------------------------------------------------------

    def after_load_file(self) -> None:
        self._index = None
        # A load Fava starts itself (start-up, a change on disk) is not
        # fingerprinted before it: nothing says what it read, so the next write
        # parses the ledger again. Only `_reload` vouches for a load.
        self._snapshot = None
        self._loads += 1

    def before_request(self) -> None:
        """Close every write this extension does not judge, and this extension's own
        writes when Fava or the config is read-only (403, nothing written).

        Fava runs this hook on every request to a ledger (its JSON API included)
        before the view and before its own `--read-only` hook (which would answer
        401). With `user-header` set, every non-GET request that is not one of
        this extension's endpoints is refused: Fava's editor, importer, uploads
        and document deletion write whatever they are sent, under any name,
        without identity (`fava-editing: True` opens them again).
        """
        if request.method in SAFE_METHODS:
            return
        args = request.view_args or {}
        ours = (request.endpoint == "extension_endpoint"
                and args.get("extension_name") == self.name)
        if not ours:
            if self.cfg.guards_fava:
                closed = FAVA_CLOSED.format(header=self.cfg.user_header)
                abort(_json(403, ok=False, error=closed, code="forbidden", message=closed))
            return
        reason = self.read_only_reason(with_identity=False)
        if reason:
            abort(_json(403, ok=False, error=reason, code="forbidden", message=reason))

    # -- the book and what sits around it -------------------------------------

    @property
    def book(self) -> Book | None:
        return book_of(cast(dict[str, Any], self.ledger.options))

    def index(self) -> BookIndex | None:
        book = self.book
        if book is None:
            return None
        index = self._index
        if index is None or index.book is not book:
            with self._index_lock:
                index = self._index
                if index is None or index.book is not book:
                    index = self._index = BookIndex.build(
                        book, self._customer_balances(book.settings.receivable),
                        book.rules.rates)
        return index

    def _customer_balances(self, receivable: str) -> dict[str, dict[str, Decimal]]:
        """What each customer owes: receivable postings of transactions naming them."""
        out: dict[str, dict[str, Decimal]] = {}
        prefix = receivable + ":"
        for entry in self.ledger.all_entries:
            if not isinstance(entry, data.Transaction):
                continue
            customer = entry.meta.get("customer")
            if not isinstance(customer, str):
                continue
            for posting in entry.postings:
                units = posting.units
                if units is None or not isinstance(units.number, Decimal):
                    continue
                if posting.account == receivable or posting.account.startswith(prefix):
                    totals = out.setdefault(customer, {})
                    totals[units.currency] = totals.get(units.currency, Decimal(0)) + units.number
        return out

    def open_alerts(self) -> list[Any]:
        """`notify_alerts.open_alerts` (risk findings), computed once per load and day."""
        book, today = self.book, self.today()
        if book is None:
            return []
        cached = self._alerts
        if cached is None or cached[0] is not book or cached[1] != today:
            cached = self._alerts = (book, today, notify_alerts.open_alerts(book, today))
        return cached[2]

    def ledger_path(self) -> Path:
        return Path(self.ledger.beancount_file_path)

    def target_path(self) -> Path:
        target = Path(self.cfg.target) if self.cfg.target else None
        return writer.resolve_target(self.ledger_path(), target)

    def today(self) -> datetime.date:
        return datetime.date.today()

    def date_range(self) -> DateRange | None:
        """Fava's time filter as a range of request dates (None: no filter)."""
        if not request.args.get("time"):
            return None
        found = getattr(g.filtered, "date_range", None)
        if found is None:
            return None
        return DateRange(found.begin, found.end)

    # -- identity and permissions ----------------------------------------------

    def header_user(self) -> tuple[str | None, str]:
        """The user the trusted proxy names, or None and why not ("": no header).

        Only the proxy may name a user: with `proxy-secret`, a request without
        the proxy's secret header (compared in constant time) names nobody. A
        header that is ambiguous (sent twice, several values, an underscore
        variant where the server shows one) names nobody either.
        """
        header = self.cfg.user_header
        if not header:
            return None, ""
        values = request.headers.getlist(header)
        if self.cfg.proxy_secret is not None:
            variable = self.cfg.secret_variable
            expected = os.environ.get(variable, "") if variable else ""
            if not expected:
                return None, (f"proxy-secret names the environment variable {variable or '?'}, "
                              "which is not set for Fava: nobody is identified until it is")
            sent = request.headers.getlist(self.cfg.proxy_secret_header)
            if len(sent) != 1 or not hmac.compare_digest(sent[0].encode("utf-8", "replace"),
                                                         expected.encode("utf-8")):
                if not values:
                    return None, ""
                return None, (f"{header} was ignored: this request did not come through the "
                              f"trusted proxy (no valid {self.cfg.proxy_secret_header})")
        if not values:
            return None, ""
        # WSGI servers fold `X_Remote_User` into the same environ key as
        # `X-Remote-User`: Werkzeug drops underscore names, its test client joins
        # repeats with ", ", cheroot (Fava's server) keeps the last. What shows
        # here as several values is refused; the proxy must drop the rest.
        if len(values) > 1 or "," in values[0]:
            return None, (f"{header} was ignored: it was sent several times or with "
                          "several values, so it names nobody for sure")
        value = values[0].strip()
        if not value:
            return None, ""
        if len(value) > MAX_USER or any(ord(c) < 32 or ord(c) == 127 for c in value):
            return None, f"{header} was ignored: it is not a user name"
        return value, ""

    def identity(self) -> Identity:
        user, note = self.header_user()
        source = "header" if user else ""
        if user is None and not note and self.cfg.demo_mode:
            value = (request.args.get("as") or request.cookies.get(DEMO_COOKIE) or "").strip()
            index = self.index()
            if value and index is not None and value in index.users(self.today()):
                user, source = value, "demo"
        if user is None:
            return Identity(None, "", note=note)
        index = self.index()
        roles = index.roles(user, self.today()) if index is not None else ()
        known = index is not None and index.book.directory.is_user(user, self.today())
        return Identity(user, source, roles, known)

    def read_only_reason(self, *, with_identity: bool = True) -> str:
        if fava_read_only():
            return "Fava runs in read-only mode (--read-only): nothing can be written."
        if self.cfg.read_only:
            return "The adjustments extension is configured read-only."
        if with_identity:
            identity = self.identity()
            if identity.user is not None:
                return ""
            if identity.note:
                return f"No acting user: {identity.note}. The pages are read-only."
            if self.cfg.demo_mode:
                return "Pick who you act as to approve or reject; until then this is read-only."
            return ("No acting user: the trusted header "
                    f"{self.cfg.user_header or '(user-header not configured)'} is missing, "
                    "so the pages are read-only.")
        return ""

    def fava_editing_note(self) -> str:
        """What the page says about Fava's own editor and write API."""
        if self.cfg.guards_fava:
            return FAVA_CLOSED.format(header=self.cfg.user_header)
        if self.cfg.user_header:
            return ("Fava editing is open ('fava-editing': True): Fava's editor, importer and "
                    "uploads write whatever they are sent, approvals under any name included, "
                    "with no identity check. Close it unless every user of this Fava is "
                    "trusted to write anything.")
        return ""

    def page_url(self, **params: object) -> str:
        """URL of this extension's page with `params` (Fava's filters carried along)."""
        from fava.application import url_for

        values = {k: str(v) for k, v in params.items() if v not in (None, "")}
        return str(url_for("extension_report", extension_name=self.name, **values))

    def endpoint_url(self, endpoint: str, **params: object) -> str:
        """URL of one of this extension's endpoints, Fava's filters carried along."""
        base, _, query = self.page_url().partition("?")
        values = dict(parse_qsl(query))
        values.update((k, str(v)) for k, v in params.items() if v not in (None, ""))
        return base + quote(endpoint) + ("?" + urlencode(values) if values else "")

    # -- page models ----------------------------------------------------------------

    def page(self) -> Page:
        """The model of the page the template renders for this request."""
        today = self.today()
        identity = self.identity()
        index = self.index()
        view = request.args.get("view", "queue")
        base: dict[str, Any] = {
            "identity": identity, "read_only": self.read_only_reason(),
            "fava_editing": self.fava_editing_note(), "config": self.cfg, "today": today,
            "date_range": self.date_range(),
            "users": index.users(today) if index is not None and self.cfg.demo_mode else [],
            "problems": len(index.book.problems) if index is not None else 0,
            "open_count": len(index.open_items) if index is not None else 0,
        }
        if index is None:
            return Page(view="noplugin", **base)
        if view == "detail":
            adj_id = request.args.get("id", "")
            detail = views.detail_view(index, adj_id, today=today, user=identity.user,
                                       ticket_url=self.cfg.ticket_url,
                                       entries=cast("list[data.Directive]",
                                                    self.ledger.all_entries))
            if detail is None:
                return Page(view="missing", missing_id=adj_id, **base)
            return Page(view="detail", detail=detail, **base)
        if view == "reports":
            return Page(view="reports", reports=self.reports(index.book, base["date_range"]),
                        **base)
        if view == "statement":
            entries = cast(list[data.Directive], self.ledger.all_entries)
            return Page(view="statement", statement=statement_page(
                index.book, entries, request.args, today), **base)
        if view == "new":
            return Page(view="new", new=new_request_form(index.book, today), **base)
        return Page(view="queue", queue=self.queue(index, identity, base["date_range"]), **base)

    def queue(self, index: BookIndex, identity: Identity,
              date_range: DateRange | None) -> views.QueueView:
        args: Mapping[str, str] = request.args
        filters = views.QueueFilters.from_args(args)
        if "per_page" not in args:
            filters = views.QueueFilters(**{**filters.__dict__, "per_page": self.cfg.per_page})
        filters = _by_customer_id(index.book, filters)
        return views.queue_view(index, filters, today=self.today(), user=identity.user,
                                date_range=date_range)

    def reports(self, book: Book, date_range: DateRange | None) -> ReportsPage:
        index = self.index()
        key = ("reports", date_range, self.today())
        if index is not None and index.book is book:
            found = index.memo.get(key)
            if isinstance(found, ReportsPage):
                return found
        page = self._reports(book, date_range)
        if index is not None and index.book is book:
            index.memo[key] = page
        return page

    def _reports(self, book: Book, date_range: DateRange | None) -> ReportsPage:
        summary = report_data.summary(book, date_range)
        trends = report_data.trends(book, date_range)
        impact = report_data.impact(book, date_range)
        compliance = report_data.compliance(book, date_range, self.today())
        built = report_data.report_charts(summary, trends, impact)
        return ReportsPage(summary=summary, trends=trends, impact=impact,
                           compliance=compliance, charts=built,
                           compliance_shown=min(len(compliance.rows), 200))

    # -- endpoints ----------------------------------------------------------------

    @endpoint("decide", ["POST"])
    def decide(self) -> Response:
        """Approve, reject, apply or cancel one or many adjustments in one write.

        Each decision carries the digest of the request as the page showed it;
        the writer refuses (409, code "changed") an item whose request now holds
        something else, whatever file it is in. Writes by others to other items
        never make a page stale.
        """
        reason = self.read_only_reason(with_identity=False)
        if reason:
            return _json(403, ok=False, error=reason)
        if not request.is_json:
            return _json(415, ok=False, error="send the decisions as application/json")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _json(400, ok=False, error="the body must be a JSON object")
        identity = self.identity()
        if identity.user is None:
            return _json(403, ok=False, error="no acting user: nothing is written without "
                         "an identity (read-only)" + (f"; {identity.note}" if identity.note
                                                      else ""))
        decisions, error = self._parse_decisions(body.get("decisions"), identity.user)
        if error:
            return _json(400, ok=False, error=error)
        target = Path(self.cfg.target) if self.cfg.target else None
        with self._write_lock:
            try:
                result = writer.write_decisions(self.ledger_path(), decisions, partial=True,
                                                target=target, loaded=self._snapshot)
            except writer.WriteRefused as refused:
                items = [_refusal_json(r) for r in refused.refusals]
                changed = any(r.code == "changed" for r in refused.refusals)
                return _json(409 if changed else 422, ok=False, stale=changed,
                             error="; ".join(r.message for r in refused.refusals),
                             written=0, ids=[], refused=items)
            if result.written:
                self._reload(result.path)
        refusals = [_refusal_json(r) for r in result.refused]
        changed = any(r.code == "changed" for r in result.refused)
        status = 200 if result.written else (409 if changed else 422)
        return _json(status, ok=bool(result.written), written=result.written,
                     ids=list(result.ids), refused=refusals, stale=changed,
                     sha256=result.sha256, by=identity.user)

    @endpoint("create", ["POST"])
    def create(self) -> Response:
        """File one request from a JSON body (`api.create_fields`), as `api.create`.

        Identity and refusals as `decide`: 403 without an acting user (the
        trusted header, and the proxy's secret when configured) or when
        read-only, nothing written. `external_id` makes a retry safe: 201 with
        the new adjustment, 200 with the one already filed under that id. Bad
        input 400, a taken id 409, a request the writer refuses 422: each as
        `{"code", "message"}`.
        """
        reason = self.read_only_reason(with_identity=False)
        if reason:
            return _json(403, code="forbidden", message=reason)
        if not request.is_json:
            return _json(415, code="invalid", message="send the request as application/json")
        try:
            body = json.loads(request.get_data(as_text=True), parse_float=Decimal)
        except ValueError:
            return _json(400, code="invalid", message="the body is not valid JSON")
        if not isinstance(body, dict):
            return _json(400, code="invalid", message="the body must be a JSON object")
        identity = self.identity()
        if identity.user is None:
            return _json(403, code="forbidden", message="no acting user: nothing is written "
                         "without an identity" + (f"; {identity.note}" if identity.note
                                                  else ""))
        with self._write_lock:
            try:
                adj = api.create(self.ledger_path(), **api.create_fields(body),
                                 as_user=identity.user, target=self.cfg.target,
                                 loaded=self._snapshot)
            except api.ApiError as exc:
                return _json(exc.status, **exc.as_json())
            if not adj.existing:
                self._reload(self.target_path())
        return _json(200 if adj.existing else 201, **adj.as_json(), existing=adj.existing)

    def _reload(self, written: Path) -> None:
        """Fava's reload after this extension wrote `written`, with the ledger's
        files fingerprinted just before and after it: when they match, the next
        write is judged against this load instead of parsing the ledger again
        (`loading.snapshot`; the writer still checks the files under its lock)."""
        # The atomic rename also touches the directory: tell the watcher
        # about both, so it does not reload a second time for this write.
        self.ledger.watcher.notify(written)
        self.ledger.watcher.notify(written.parent)
        before = loading.disk_state(cast(dict[str, Any], self.ledger.options),
                                    includes_too=False)
        self._snapshot = None  # used: let the old entries go while Fava makes the new
        loads = self._loads
        self.ledger.load_file()
        entries, errors, options = (self.ledger.all_entries, self.ledger.load_errors,
                                    self.ledger.options)
        if self._loads == loads + 1:  # no other load (another thread's) in between
            self._snapshot = loading.snapshot(cast(list[data.Directive], entries),
                                              list(errors), cast(dict[str, Any], options),
                                              before)

    @endpoint("preview")
    def preview(self) -> Response:
        """What `POST create` with these fields (as query arguments) would file, and
        what it would then need, written nowhere: `api.create` as a dry run, so the
        writer judges it exactly as it will on submit. 200 with the adjustment and
        `automatic`, `applies` and `chain` (levels); 400, 403, 422 as `create`."""
        identity = self.identity()
        if identity.user is None:
            return _json(403, code="forbidden", message="no acting user: the preview judges "
                         "the request as filed by you" + (f"; {identity.note}" if identity.note
                                                          else ""))
        body: dict[str, object] = {}
        for key, value in request.args.items():
            if key == "time":  # Fava's filter, carried on every link
                continue
            if bodies.ALIASES.get(key, key) in bodies.FLAGS:
                flag = value.strip().lower()
                if flag not in ("", "0", "1", "true", "false", "on", "off"):
                    return _json(400, code="invalid",
                                 message=f"{bodies.ALIASES.get(key, key)} must be true or false")
                body[key] = flag in ("1", "true", "on")
            elif value.strip():
                body[key] = value
        try:
            adj = api.create(self.ledger_path(), **api.create_fields(body),
                             as_user=identity.user, target=self.cfg.target, dry_run=True,
                             loaded=self._snapshot)
        except api.ApiError as exc:
            return _json(exc.status, **exc.as_json())
        shown = {**adj.as_json(), "chain": [{"level": level, "role": role}
                                            for level, role in enumerate(adj.chain, start=1)]}
        return _json(200, **shown, existing=adj.existing, automatic=not adj.chain,
                     applies="by a separate apply" if adj.separate_apply else "on approval")

    @endpoint("adjustments")
    def adjustments_json(self) -> Response:
        """The adjustments matching `bean-adjust list`'s filters, as a JSON list:
        `state` (repeatable), `type`, `category`, `customer`, `requester`,
        `older_than`, `awaiting`, `below` (`50 USD`)."""
        args = request.args
        known = {"state", "type", "category", "customer", "requester", "older_than",
                 "awaiting", "below", "time"}
        unknown = sorted(set(args) - known)
        if unknown:
            return _json(400, code="invalid", message=f"unknown filter(s) {', '.join(unknown)}; "
                         f"the filters are {', '.join(sorted(known - {'time'}))}")
        older = args.get("older_than")
        if older is not None and not older.isdigit():
            return _json(400, code="invalid", message="older_than is a number of days")
        book = self.book
        if book is None:
            return _json(404, code="no-plugin",
                         message="the beancount_adjustments plugin did not run")
        try:
            filters = api.filters_of(
                state=args.getlist("state") or None, type=args.get("type"),
                category=args.get("category"), customer=args.get("customer"),
                requester=args.get("requester"),
                older_than=int(older) if older is not None else None,
                awaiting=args.get("awaiting"), below=args.get("below"))
        except api.ApiError as exc:
            return _json(exc.status, **exc.as_json())
        entries = cast(list[data.Directive], self.ledger.all_entries)
        return jsonify([a.as_json() for a in api.find(entries, book, filters, self.today())])

    def _parse_decisions(self, raw: object, user: str) -> tuple[list[writer.Decision], str]:
        if not isinstance(raw, list) or not raw:
            return [], "decisions must be a non-empty list"
        if len(raw) > MAX_DECISIONS:
            return [], f"at most {MAX_DECISIONS} decisions at once"
        out: list[writer.Decision] = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                return [], f"decision {i + 1} is not an object"
            adj_id, action, digest = item.get("id"), item.get("action"), item.get("digest")
            if not isinstance(adj_id, str) or not adj_id.strip():
                return [], f"decision {i + 1} has no id"
            if action not in {a.value for a in Action}:
                return [], f"decision {i + 1}: action must be one of approve, reject, " \
                           "apply, cancel"
            if not isinstance(digest, str) or not digest.strip():
                return [], (f"decision {i + 1}: digest (of the request as the page showed "
                            "it) is required")
            texts: dict[str, str | None] = {}
            for key in ("reason", "comment", "customer_reason"):
                value = item.get(key)
                if value is not None and not isinstance(value, str):
                    return [], f"decision {i + 1}: {key} must be text"
                texts[key] = value.strip()[:1000] if isinstance(value, str) else None
            effective: datetime.date | None = None
            if item.get("effective"):
                try:
                    effective = datetime.date.fromisoformat(str(item["effective"]))
                except ValueError:
                    return [], f"decision {i + 1}: effective must be a date (YYYY-MM-DD)"
            out.append(writer.Decision(adjustment_id=adj_id.strip(), action=Action(action),
                                       by=user, reason=texts["reason"] or None,
                                       comment=texts["comment"] or None,
                                       customer_reason=texts["customer_reason"] or None,
                                       effective=effective, seen_digest=digest.strip()))
        return out, ""

    @endpoint("document")
    def document(self) -> Response:
        """The file a request's `document:` names, inline, if it lies in the ledger's folder.

        The path is the request's own (relative to its file), resolved with
        symlinks; anything outside the main ledger's folder is refused (403),
        a missing file is 404. Served with its content type, `inline`, `nosniff`
        and (but for PDFs) a sandboxing CSP, so an HTML or SVG document cannot
        run script on Fava's origin.
        """
        index = self.index()
        if index is None:
            return _json(404, ok=False, error="the beancount_adjustments plugin did not run")
        adj = index.book.get(request.args.get("id", ""))
        if adj is None or not adj.request.document:
            return _json(404, ok=False, error="no such adjustment, or it names no document")
        source = adj.request.source.filename or str(self.ledger_path())
        root = self.ledger_path().resolve().parent
        try:
            path = (Path(source).parent / adj.request.document).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return _json(404, ok=False, error=f"{adj.request.document} does not exist")
        if not path.is_relative_to(root):
            return _json(403, ok=False, error=f"{adj.request.document} lies outside the "
                         "ledger's folder; only files under it are served")
        if not path.is_file():
            return _json(404, ok=False, error=f"{adj.request.document} is not a file")
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = send_file(path, mimetype=mimetype, download_name=path.name,
                             as_attachment=False, max_age=0)
        response.headers["Content-Disposition"] = _inline(path.name)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if mimetype != "application/pdf":
            response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; " \
                "img-src 'self' data:; style-src 'unsafe-inline'"
        return response

    @endpoint("export")
    def export(self) -> Response:
        """CSV of a report (or of the queue as filtered), formula cells neutralised."""
        index = self.index()
        if index is None:
            return _json(404, ok=False, error="the beancount_adjustments plugin did not run")
        name = request.args.get("report", "summary")
        date_range = self.date_range()
        table: report_data.Table
        if name == "queue":
            args = dict(request.args)
            args["per_page"] = "1000000"
            args["page"] = "1"
            filters = views.QueueFilters.from_args(args)
            filters = views.QueueFilters(**{**filters.__dict__, "per_page": 10**9})
            filters = _by_customer_id(index.book, filters)
            view = views.queue_view(index, filters, today=self.today(),
                                    user=self.identity().user,
                                    date_range=date_range)
            table = report_data.queue_table(view)
        elif name == "summary":
            table = report_data.summary(index.book, date_range).table()
        elif name == "trends":
            table = report_data.trends(index.book, date_range).table()
        elif name == "impact":
            table = report_data.impact(index.book, date_range).table()
        elif name == "compliance":
            table = report_data.compliance(index.book, date_range, self.today()).table()
        else:
            return _json(404, ok=False, error=f"unknown report {name!r}; one of "
                         f"{', '.join((*report_data.REPORTS, 'queue'))}")
        response = make_response(report_data.to_csv(table))
        response.mimetype = "text/csv"
        response.headers["Content-Disposition"] = (
            f'attachment; filename="adjustments-{name}.csv"')
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @endpoint("statement")
    def statement_file(self) -> Response:
        """A customer's statement as a file: `format=html` (printable) or `csv`."""
        index = self.index()
        if index is None:
            return _json(404, ok=False, error="the beancount_adjustments plugin did not run")
        fmt = request.args.get("format", "html")
        if fmt not in ("html", "csv"):
            return _json(400, ok=False, error="format is html or csv")
        entries = cast(list[data.Directive], self.ledger.all_entries)
        shown = statement_page(index.book, entries, request.args, self.today())
        if shown.statement is None:
            return _json(400 if shown.error else 404, ok=False,
                         error=shown.error or "name a customer: ?customer=ID-or-name")
        response = make_response(render_statement(shown.statement, fmt))
        response.mimetype = "text/html" if fmt == "html" else "text/csv"
        response.headers["Content-Disposition"] = _inline(
            f"statement-{shown.statement.customer}.{fmt}")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @endpoint("queue")
    def queue_json(self) -> Response:
        index = self.index()
        if index is None:
            return _json(404, ok=False, error="the beancount_adjustments plugin did not run")
        view = self.queue(index, self.identity(), self.date_range())
        return _json(200, ok=True, total_open=view.total_open, matched=view.matched,
                     overdue=view.overdue, mine=view.mine, page=view.page, pages=view.pages,
                     rows=[_row_json(r) for r in view.rows],
                     sections=[{"key": s.key, "title": s.section.title,
                                "action": str(s.section.action), "matched": s.matched,
                                "mine": s.mine, "pages": s.pages, "page": s.page,
                                "ids": [r.id for r in s.rows]} for s in view.sections])

    @endpoint("adjustment")
    def adjustment_json(self) -> Response:
        index = self.index()
        if index is None:
            return _json(404, ok=False, error="the beancount_adjustments plugin did not run")
        adj_id = request.args.get("id", "")
        detail = views.detail_view(index, adj_id, today=self.today(),
                                   user=self.identity().user,
                                   ticket_url=self.cfg.ticket_url)
        if detail is None:
            return _json(404, ok=False, error=f"no adjustment {adj_id!r}")
        return _json(200, ok=True, adjustment=_row_json(detail.row),
                     still_requires=detail.still_requires, policy=detail.policy,
                     requirements=[{"level": r.level, "role": r.role, "status": r.status,
                                    "by": r.by, "eligible": list(r.eligible)}
                                   for r in detail.requirements],
                     reversal_requirements=[{"level": r.level, "role": r.role,
                                             "status": r.status, "by": r.by,
                                             "eligible": list(r.eligible)}
                                            for r in detail.reversal_requirements],
                     timeline=[{"date": t.date.isoformat(), "at": t.at, "what": t.what,
                                "by": t.by, "outcome": t.outcome, "reason": t.reason,
                                "comment": t.comment, "note": t.note, "digest": t.digest}
                               for t in detail.timeline],
                     problems=[p.message for p in detail.problems],
                     notes=detail.notes, approval_required=detail.approval_required)


def _by_customer_id(book: Book, filters: views.QueueFilters) -> views.QueueFilters:
    """The queue's `customer=` filter as an id when it is a customer's name (a name
    several customers share stays as typed, and matches nothing)."""
    try:
        picked = customer_id(book.directory, filters.customer) if filters.customer else None
    except CustomerError:
        picked = None
    if picked is None or picked == filters.customer:
        return filters
    return views.QueueFilters(**{**filters.__dict__, "customer": picked})


def _inline(name: str) -> str:
    # Ledger text (a customer id) may hold control characters: never in a header.
    ascii_name = "".join(c if c.isprintable() else "_" for c in name.encode(
        "ascii", "replace").decode()).replace('"', "_").replace("\\", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _refusal_json(refusal: writer.Refusal) -> dict[str, Any]:
    return {"id": refusal.key, "message": refusal.message, "code": refusal.code,
            "status": 409 if refusal.code == "changed" else 422}


def _row_json(row: views.QueueRow) -> dict[str, Any]:
    return {
        "id": row.id, "digest": row.digest, "date": row.date.isoformat(),
        "age_days": row.age_days,
        "amount": str(row.number), "currency": row.currency, "type": row.type,
        "category": row.category, "customer": row.customer, "tier": row.tier,
        "requested_by": row.requested_by, "state": row.state, "level": row.level,
        "needed": row.needed, "next_role": row.next_role, "reversal": row.reversal,
        "section": row.section,
        "risk": list(row.risk),
        "sla_days": row.sla_days, "overdue": row.overdue, "mine": row.mine,
        "eligible": list(row.eligible),
        "actions": [{"action": a.action, "label": a.label, "allowed": a.allowed,
                     "why_not": a.why_not} for a in row.actions],
    }
