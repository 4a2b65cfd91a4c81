"""The endpoints that answer with a file: a request's document, a report or the
queue as CSV, a customer's statement."""

from __future__ import annotations

import datetime
import mimetypes
from collections.abc import Callable, Sequence
from pathlib import Path

from beancount.core import data
from flask import Response, make_response, send_file
from werkzeug.datastructures import MultiDict

from beancount_adjustments.fava_ext import report_data
from beancount_adjustments.fava_ext.index import BookIndex, DateRange
from beancount_adjustments.fava_ext.queue import QueueFilters, by_customer_id, queue_view
from beancount_adjustments.fava_ext.responses import (
    NO_PLUGIN,
    confined,
    inline_disposition,
    refusal,
)
from beancount_adjustments.fava_ext.statement_page import statement_page
from beancount_adjustments.reports.csv_cells import csv_text
from beancount_adjustments.reports.renderers import report_text
from beancount_adjustments.reports.statement import render as render_statement


def document(index: BookIndex | None, adj_id: str, ledger: Path) -> Response:
    """The file a request's `document:` names, inline, if it lies in the ledger's folder.

    The path is the request's own (relative to its file), resolved with
    symlinks. The answer is `inline`, `nosniff` and (but for PDFs) under a
    sandboxing CSP, so an HTML or SVG document cannot run script on Fava's
    origin.
    """
    if index is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    adj = index.book.get(adj_id)
    if adj is None or not adj.request.document:
        return refusal(404, "not-found", "no such adjustment, or it names no document")
    source = adj.request.source.filename or str(ledger)
    root = ledger.resolve().parent
    try:
        path = (Path(source).parent / adj.request.document).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return refusal(404, "not-found", f"{adj.request.document} does not exist")
    if not path.is_relative_to(root):
        return refusal(403, "forbidden", f"{adj.request.document} lies outside the "
                       "ledger's folder; only files under it are served")
    if not path.is_file():
        return refusal(404, "not-found", f"{adj.request.document} is not a file")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = send_file(path, mimetype=mimetype, download_name=path.name,
                         as_attachment=False, max_age=0)
    response.headers["Content-Disposition"] = inline_disposition(path.name)
    return confined(response)


def export(index: BookIndex | None, args: MultiDict[str, str], *, today: datetime.date,
           written: datetime.date, user: Callable[[], str | None],
           date_range: DateRange | None) -> Response:
    """CSV of a report, the bytes `bean-adjust report NAME --format csv` prints for the
    period of Fava's time filter, or of the queue as filtered, by the same writer."""
    if index is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    name = args.get("report", "summary")
    if name == "queue":
        every = dict(args)
        every["per_page"] = "1000000"
        every["page"] = "1"
        filters = QueueFilters.from_args(every)
        filters = QueueFilters(**{**filters.__dict__, "per_page": 10**9})
        filters = by_customer_id(index.book, filters)
        view = queue_view(index, filters, today=today, written=written, user=user(),
                          date_range=date_range)
        text = csv_text(*report_data.queue_table(view))
    elif name in report_data.REPORTS:
        text = report_text(name, index.book, report_data.scope_of(date_range), "csv", today)
    else:
        return refusal(404, "not-found", f"unknown report {name!r}; one of "
                       f"{', '.join((*report_data.REPORTS, 'queue'))}")
    response = make_response(text)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="adjustments-{name}.csv"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def statement(index: BookIndex | None, entries: Sequence[data.Directive],
              args: MultiDict[str, str], today: datetime.date) -> Response:
    """A customer's statement as a file: `format=html` (printable) or `csv`."""
    if index is None:
        return refusal(404, "no-plugin", NO_PLUGIN)
    fmt = args.get("format", "html")
    if fmt not in ("html", "csv"):
        return refusal(400, "invalid", "format is html or csv")
    shown = statement_page(index.book, entries, args, today)
    if shown.statement is None:
        return (refusal(400, "invalid", shown.error) if shown.error
                else refusal(404, "not-found", "name a customer: ?customer=ID-or-name"))
    response = make_response(render_statement(shown.statement, fmt))
    response.mimetype = "text/html" if fmt == "html" else "text/csv"
    response.headers["Content-Disposition"] = inline_disposition(
        f"statement-{shown.statement.customer}.{fmt}")
    # Escaped, and needing no script: sandboxed all the same, as a ledger's own
    # files are, since it is served inline on Fava's origin.
    return confined(response)
