"""The Beancount plugin pass: read, replay, put the effects in, report.

    plugin "beancount_adjustments"
    plugin "beancount_adjustments" "{'receivable': 'Assets:Receivable:Customers'}"

One pass over the entries sorts out what concerns adjustments, `book.replay`
judges it, and the request transactions are replaced by what they amount
to (see `effects`). The book is left in the options map under
`BOOK_KEY` (read it with `beancount_adjustments.book_of(options_map)`), so
Fava, the CLI and the reports use this very replay and never parse the
ledger again. The pass never raises: every problem is a Beancount error at
the offending entry's file and line.
"""

from __future__ import annotations

import ast
import datetime
import gc
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data, prices

from beancount_adjustments.book import Book, Facts, Settings, replay
from beancount_adjustments.directives import (
    APPROVAL,
    CUSTOMER,
    EVENT,
    LOCK,
    POLICY,
    USER,
    Reader,
    References,
    source_meta,
    source_of,
)
from beancount_adjustments.effects import entries_for
from beancount_adjustments.models import Problem, Source
from beancount_adjustments.risk import ALERT, RISK, read_setting
from beancount_adjustments.seals import SEAL, read_seal, verify_seals
from beancount_adjustments.signatures import KEY, read_key

BOOK_KEY = "beancount_adjustments.book"

SETTING_KEYS = {"receivable": "receivable", "id-prefix": "id_prefix", "checks": "checks"}


class AdjustmentError(NamedTuple):
    source: dict[str, Any]
    message: str
    entry: Any


def book_of(options_map: dict[str, Any]) -> Book | None:
    """The book the plugin left at the last load, or None if it did not run."""
    book = options_map.get(BOOK_KEY)
    return book if isinstance(book, Book) else None


def parse_settings(config: str | None) -> tuple[Settings, str | None]:
    if not config or not config.strip():
        return Settings(), None
    try:
        raw = ast.literal_eval(config)
    except (ValueError, SyntaxError) as exc:
        return Settings(), f"the plugin's settings are not a Python dict literal ({exc})"
    if not isinstance(raw, dict):
        return Settings(), "the plugin's settings must be a dict, like \"{'receivable': '...'}\""
    unknown = sorted(str(k) for k in raw if k not in SETTING_KEYS)
    if unknown:
        return Settings(), (f"unknown setting(s) {', '.join(unknown)}; known: "
                            f"{', '.join(SETTING_KEYS)}")
    values = {SETTING_KEYS[k]: v for k, v in raw.items()}
    if "checks" in values and isinstance(values["checks"], list | tuple):
        values["checks"] = tuple(values["checks"])
    try:
        return Settings.model_validate(values), None
    except ValueError as exc:
        return Settings(), f"bad plugin settings: {exc}"


def price_rates(price_entries: list[data.Price]) -> Callable[
        [str, str, datetime.date], Decimal | None]:
    """Rates from the ledger's price directives; the map is built on first use."""
    cache: dict[str, Any] = {}

    def rate(base: str, quote: str, date: datetime.date) -> Decimal | None:
        if "map" not in cache:
            cache["map"] = prices.build_price_map(price_entries)  # type: ignore[no-untyped-call]
        _, value = prices.get_price(  # type: ignore[no-untyped-call]
            cache["map"], (base, quote), date)
        return value if isinstance(value, Decimal) else None

    return rate


def read(entries: list[data.Directive], settings: Settings) -> tuple[
        Facts, list[data.Transaction], list[data.Price]]:
    """Sort out the entries that concern adjustments into facts."""
    reader = Reader()
    invoices = References("invoice-id", settings.receivable)
    orders = References("order-id", settings.receivable)
    facts = Facts(invoices=invoices, orders=orders)
    requests: list[data.Transaction] = []
    price_entries: list[data.Price] = []
    customs: dict[str, tuple[Callable[[data.Custom], Any], list[Any]]] = {
        USER: (reader.user, facts.grants), CUSTOMER: (reader.customer, facts.customers),
        APPROVAL: (reader.approval_row, facts.rows), POLICY: (reader.type_policy, facts.policies),
        LOCK: (reader.lock, facts.locks), EVENT: (reader.event, facts.events),
        RISK: (lambda e: read_setting(e, reader), facts.risk_settings),
        ALERT: (lambda e: read_setting(e, reader), facts.risk_settings),
        SEAL: (lambda e: read_seal(reader, e), facts.seals),
        KEY: (lambda e: read_key(reader, e), facts.keys),
    }
    # Exact type checks first (one `is` per entry), isinstance for subclasses.
    transaction, custom, price = data.Transaction, data.Custom, data.Price
    directives: list[Any] = entries  # type(entry) below is what tells them apart
    for entry in directives:
        kind = type(entry)
        if kind is not transaction and kind is not custom and kind is not price:
            if isinstance(entry, transaction):
                kind = transaction
            elif isinstance(entry, custom):
                kind = custom
            elif isinstance(entry, price):
                kind = price
            else:
                continue
        if kind is transaction:
            meta = entry.meta
            if "adjustment-type" in meta:
                requests.append(entry)
                request = reader.request(entry)
                if request is not None:
                    facts.requests.append(request)
            elif "invoice-id" in meta:
                invoices.add(entry, reader)
            elif "order-id" in meta:
                orders.add(entry, reader)
        elif kind is custom:
            handler = customs.get(entry.type)
            if handler is not None:
                model = handler[0](entry)
                if model is not None:
                    handler[1].append(model)
        else:
            price_entries.append(entry)
    facts.problems.extend(reader.problems)
    return facts, requests, price_entries


def _errors(problems: tuple[Problem, ...], entries: list[data.Directive]) -> list[
        AdjustmentError]:
    if not problems:
        return []
    wanted = {(p.source.filename, p.source.lineno) for p in problems}
    by_source: dict[tuple[str, int], Any] = {}
    for entry in entries:
        meta = entry.meta
        key = (meta.get("filename"), meta.get("lineno"))
        if key in wanted:
            by_source.setdefault(key, entry)
    return [AdjustmentError(source_meta(p.source), f"{p.message} [{p.code}]",
                            by_source.get((p.source.filename, p.source.lineno)))
            for p in problems]


def adjustments(entries: list[data.Directive], options_map: dict[str, Any],
                config: str | None = None) -> tuple[list[data.Directive], list[Any]]:
    """The plugin: replace requests by their effects and report every problem."""
    # The pass makes many small acyclic objects; cyclic GC sweeps over the
    # whole ledger while it runs would cost more than the pass itself.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(entries, options_map, config)
    except Exception:  # the plugin must never raise
        where = entries[0].meta if entries else {"filename": "<plugin>", "lineno": 0}
        return entries, [AdjustmentError(
            {"filename": where.get("filename", "<plugin>"), "lineno": where.get("lineno", 0)},
            "beancount_adjustments failed internally; the ledger's adjustments were not "
            "checked. Please report this with the traceback:\n" + traceback.format_exc(),
            None)]
    finally:
        if was_enabled:
            gc.enable()


def _run(entries: list[data.Directive], options_map: dict[str, Any],
         config: str | None) -> tuple[list[data.Directive], list[Any]]:
    settings, config_error = parse_settings(config)
    facts, requests, price_entries = read(entries, settings)
    facts.problems.extend(verify_seals(facts, facts.seals))
    book = replay(facts, price_rates(price_entries), settings)
    options_map[BOOK_KEY] = book
    errors: list[Any] = []
    if config_error is not None:
        plugin_source = Source(filename=str(options_map.get("filename", "<ledger>")), lineno=0)
        errors.append(AdjustmentError(source_meta(plugin_source),
                                      f"plugin beancount_adjustments: {config_error}", None))
    errors.extend(_errors(book.problems, entries))
    if not requests:
        return entries, errors
    replaced: dict[int, list[data.Transaction]] = {}
    tags: dict[Any, frozenset[str]] = {}
    adjustments = book.adjustments
    for entry in requests:
        adj = adjustments.get(_link_id(entry))
        if adj is not None:
            source, meta = adj.request.source, entry.meta
            # The usual case without making a Source: the metadata matches.
            if ((source.lineno != meta.get("lineno") or source.filename != meta.get("filename"))
                    and source != source_of(entry)):
                adj = None
        replaced[id(entry)] = entries_for(entry, adj, tags)
    out: list[data.Directive] = []
    generated: list[data.Directive] = []
    for directive in entries:
        produced = replaced.get(id(directive))
        if produced is None:
            out.append(directive)
        else:
            out.append(produced[0])
            generated.extend(produced[1:])
    if generated:
        out.extend(generated)
        out.sort(key=data.entry_sortkey)
    return out, errors


def _link_id(entry: data.Transaction) -> str:
    explicit = entry.meta.get("adjustment-id")
    if isinstance(explicit, str):
        return explicit.strip()
    links = entry.links or ()
    return next(iter(links)) if len(links) == 1 else ""
