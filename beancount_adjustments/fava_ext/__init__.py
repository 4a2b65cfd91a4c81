"""Fava extension: the reviewer's workspace for adjustments (README, "Fava
extension", is its manual).

Fava loads `AdjustmentsExtension` from this module by name and finds its
templates and JS beside this file. The class is the adapter between Flask
and the rest: it holds what lives per load (the book's index, the snapshot a
write may reuse, the write lock) and hands plain values to the view models
(queue, detail, page) and to the endpoint modules (writes, downloads,
json_api).
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, quote, urlencode

from beancount.core import data
from fava.context import g
from fava.core.filters import FilterError
from fava.ext import FavaExtensionBase
from flask import Response, current_app, has_app_context, request

from beancount_adjustments import api, writer
from beancount_adjustments.beans import loading
from beancount_adjustments.beans.collector import collector_paused
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.figures import figure
from beancount_adjustments.fava_ext import downloads, guard, json_api, writes
from beancount_adjustments.fava_ext.config import Config
from beancount_adjustments.fava_ext.detail import detail_view
from beancount_adjustments.fava_ext.identity import Identity, identify
from beancount_adjustments.fava_ext.index import BookIndex, DateRange
from beancount_adjustments.fava_ext.new_request import new_request_form
from beancount_adjustments.fava_ext.page import Page, reports_page
from beancount_adjustments.fava_ext.queue import (
    QueueFilters,
    QueueView,
    by_customer_id,
    queue_view,
)
from beancount_adjustments.fava_ext.responses import bad_filter, endpoint
from beancount_adjustments.fava_ext.statement_page import statement_page
from beancount_adjustments.notify import alerts as notify_alerts
from beancount_adjustments.plugin import book_of

__all__ = ["AdjustmentsExtension", "Config", "Identity"]


class AdjustmentsExtension(FavaExtensionBase):
    """The reviewer's workspace: pending queue, batch decisions, detail, reports.

    Pages are `?view=queue|detail|new|reports|statement` of Fava's report
    "Adjustments"; actions and data are the endpoints below (README lists
    their arguments and answers).
    """

    report_title = "Adjustments"
    has_js_module = True
    figure = staticmethod(figure)
    """For the templates: an amount as every page writes it (`core.figures`)."""

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        super().__init__(ledger, config)
        self.cfg = Config.parse(self.config)
        if has_app_context():  # a lazy load, inside Fava's first request
            guard.install_app_guard(current_app._get_current_object())  # type: ignore[attr-defined]
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
        # What every page reads is worked out with the load (inside Fava's
        # `load_file`), not by the first page after it: the page after a click
        # then costs what any page does.
        try:
            self.index()
            self.open_alerts()
        except Exception:  # the load stands; the page shows what failed
            self._index = self._alerts = None

    def before_request(self) -> None:
        guard.refuse_unjudged_writes(self.cfg, request, self.name)
        guard.confine_fava_files(request)

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
                    index = self._index = BookIndex.build(book, self.entries(),
                                                          book.rules.rates)
        return index

    def entries(self) -> list[data.Directive]:
        return cast(list[data.Directive], self.ledger.all_entries)

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

    def written(self) -> datetime.date:
        """The day a decision written now counts as written on (`writer.written_today`):
        read once per request and passed down, so that every row of a page made
        across noon UTC is judged on the same day."""
        return writer.written_today()

    def date_range(self) -> DateRange | None:
        """Fava's time filter as a range of request dates (None: no filter).
        Raises Fava's `FilterError` when it cannot be read (the page shows Fava's
        error page with its message, the JSON and file endpoints a 400)."""
        if not request.args.get("time"):
            return None
        found = getattr(g.filtered, "date_range", None)
        if found is None:
            return None
        return DateRange(found.begin, found.end)

    def identity(self) -> Identity:
        return identify(self.cfg, request, self.index, self.today())

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
            "identity": identity, "read_only": guard.read_only_reason(self.cfg, self.identity),
            "fava_editing": guard.fava_editing_note(self.cfg), "config": self.cfg,
            "today": today, "date_range": self.date_range(),
            "users": index.users(today) if index is not None and self.cfg.demo_mode else [],
            "problems": len(index.book.problems) if index is not None else 0,
            "open_count": len(index.open_items) if index is not None else 0,
            "ledger_warnings": tuple(w for w in index.book.warnings
                                     if w.adjustment_id is None) if index is not None else (),
        }
        if index is None:
            return Page(view="noplugin", **base)
        if view == "detail":
            adj_id = request.args.get("id", "")
            detail = detail_view(index, adj_id, today=today, written=self.written(),
                                 user=identity.user, ticket_url=self.cfg.ticket_url,
                                 entries=self.entries())
            if detail is None:
                return Page(view="missing", missing_id=adj_id, **base)
            return Page(view="detail", detail=detail, **base)
        if view == "reports":
            return Page(view="reports", reports=reports_page(index, base["date_range"], today),
                        **base)
        if view == "statement":
            return Page(view="statement", statement=statement_page(
                index.book, self.entries(), request.args, today), **base)
        if view == "new":
            return Page(view="new", new=new_request_form(index.book, today), **base)
        return Page(view="queue", queue=self.queue(index, identity, base["date_range"]), **base)

    def queue(self, index: BookIndex, identity: Identity,
              date_range: DateRange | None) -> QueueView:
        args: Mapping[str, str] = request.args
        filters = QueueFilters.from_args(args)
        if "per_page" not in args:
            filters = QueueFilters(**{**filters.__dict__, "per_page": self.cfg.per_page})
        filters = by_customer_id(index.book, filters)
        return queue_view(index, filters, today=self.today(), written=self.written(),
                          user=identity.user, date_range=date_range)

    # -- writing ----------------------------------------------------------------------

    def _write_decisions(self, decisions: list[writer.Decision]) -> writer.WriteResult:
        """One write of `decisions` (the rest written when some are refused), one reload."""
        target = Path(self.cfg.target) if self.cfg.target else None
        with self._write_lock:
            result = writer.write_decisions(self.ledger_path(), decisions, partial=True,
                                            target=target, loaded=self._snapshot)
            # Its book shares the records of the load it went on from: let that load
            # go with Fava's, in the reload, instead of holding two at its peak.
            result = dataclasses.replace(result, book=None)
            if result.written:
                self._reload(result.path, result.files)
            elif result.full_load and any(r.code == "changed" for r in result.refused):
                # The files changed under Fava (another editor): load them now, so the
                # reload the page offers shows what the writer judged, not Fava's
                # older load (its watcher may not have seen the change yet).
                self._snapshot = None
                with collector_paused():
                    self.ledger.load_file()
        return result

    def _file(self, fields: Mapping[str, Any], user: str) -> api.Adjustment:
        with self._write_lock:
            adj = api.create(self.ledger_path(), **api.create_fields(fields), as_user=user,
                             target=self.cfg.target, loaded=self._snapshot)
            if not adj.existing:
                self._reload(self.target_path())
        return adj

    def _dry_run(self, fields: Mapping[str, Any], user: str) -> api.Adjustment:
        return api.create(self.ledger_path(), **api.create_fields(fields), as_user=user,
                          target=self.cfg.target, dry_run=True, loaded=self._snapshot)

    def _reload(self, written: Path, files: loading.DiskState | None = None) -> None:
        """Fava's reload after this extension wrote `written`, with the ledger's
        files fingerprinted just before and checked just after it: when they match,
        the next write is judged against this load instead of parsing the ledger
        again (`loading.snapshot`; the writer still hashes the files under its lock).
        `files`: the state the writer left them in (hashed under its lock): it
        stands for the fingerprint before, and the files' stats for it after, so
        no file is read again around the reload."""
        # The atomic rename also touches the directory: tell the watcher
        # about both, so it does not reload a second time for this write.
        self.ledger.watcher.notify(written)
        self.ledger.watcher.notify(written.parent)
        before = files or loading.disk_state(cast(dict[str, Any], self.ledger.options),
                                             includes_too=False)
        self._snapshot = None  # used: let the old entries go while Fava makes the new
        loads = self._loads
        # As the tools load (`beans.collector`): Fava's own reload, collector on,
        # sweeps both loads several times and leaves a full collection due for the
        # page after it.
        with collector_paused():
            self.ledger.load_file()
        entries, errors, options = (self.ledger.all_entries, self.ledger.load_errors,
                                    self.ledger.options)
        if self._loads == loads + 1:  # no other load (another thread's) in between
            self._snapshot = loading.snapshot(cast(list[data.Directive], entries),
                                              list(errors), cast(dict[str, Any], options),
                                              before)

    # -- endpoints (`extension/AdjustmentsExtension/<name>`) ---------------------------

    @endpoint("decide", ["POST"])
    def decide(self) -> Response:
        return writes.decide(request, guard.read_only_reason(self.cfg), self.identity,
                             self._write_decisions)

    @endpoint("create", ["POST"])
    def create(self) -> Response:
        return writes.create(request, guard.read_only_reason(self.cfg), self.identity,
                             self._file)

    @endpoint("preview")
    def preview(self) -> Response:
        return writes.preview(request, self.identity, self._dry_run)

    @endpoint("adjustments")
    def adjustments_json(self) -> Response:
        return json_api.adjustments(self.book, self.entries(), request.args, self.today())

    @endpoint("document")
    def document(self) -> Response:
        return downloads.document(self.index(), request.args.get("id", ""), self.ledger_path())

    @endpoint("export")
    def export(self) -> Response:
        try:
            date_range = self.date_range()
        except FilterError as exc:
            return bad_filter(exc.message)
        return downloads.export(self.index(), request.args, today=self.today(),
                                written=self.written(), user=lambda: self.identity().user,
                                date_range=date_range)

    @endpoint("statement")
    def statement_file(self) -> Response:
        return downloads.statement(self.index(), self.entries(), request.args, self.today())

    @endpoint("queue")
    def queue_json(self) -> Response:
        try:
            date_range = self.date_range()
        except FilterError as exc:
            return bad_filter(exc.message)
        index = self.index()
        return json_api.queue(None if index is None else
                              self.queue(index, self.identity(), date_range))

    @endpoint("adjustment")
    def adjustment_json(self) -> Response:
        index = self.index()
        return json_api.adjustment(index, request.args.get("id", ""), today=self.today(),
                                   written=self.written(), user=self.identity().user,
                                   ticket_url=self.cfg.ticket_url)
