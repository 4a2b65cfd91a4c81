"""The Beancount plugin pass: read, replay, put the effects in, report.

    plugin "beancount_adjustments"
    plugin "beancount_adjustments" "{'receivable': 'Assets:Receivable:Customers'}"

One pass over the entries sorts out what concerns adjustments, `book.replay`
judges it, and the request transactions are replaced by what they amount
to (see `effects`), each generated entry placed right after its cause so
the entries stay sorted. The book is left in the options map under
`BOOK_KEY` (read it with `beancount_adjustments.book_of(options_map)`), so
Fava, the CLI and the reports use this very replay and never parse the
ledger again. The pass never raises: every problem is a Beancount error at
the offending entry's file and line. When a plugin run before it changed
the adjustment directives, or one listed after it may change what it
books (`beans.as_written`), it books nothing. It runs with the cyclic collector paused
(`beans.collector`), as every load of the tools does.
"""

from __future__ import annotations

import ast
import bisect
import importlib
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any, NamedTuple

from beancount.core import data

from beancount_adjustments.beans.as_written import (
    after_ours,
    changed_by_plugins,
    earlier_plugins,
    later_plugins,
    our_lines,
)
from beancount_adjustments.beans.balancing import Balancing
from beancount_adjustments.beans.collector import collector_paused
from beancount_adjustments.beans.effects import entries_for
from beancount_adjustments.beans.loading import (
    BOOK_KEY,
    STAMP_KEY,
    InternalFailure,
    Stamp,
    check_sources,
    code_stamp,
    made_here,
)
from beancount_adjustments.beans.metadata import source_meta
from beancount_adjustments.beans.prices import price_rates
from beancount_adjustments.beans.reading import Progress, Read, read
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.facts import Check, Settings
from beancount_adjustments.core.models import Problem, Request, Source
from beancount_adjustments.core.records import Tracked
from beancount_adjustments.core.replay import replay
from beancount_adjustments.core.seals import verify_seals

PLUGIN = "beancount_adjustments"
"""The name a ledger enables the plugin by."""

SETTING_KEYS = {"receivable": "receivable", "id-prefix": "id_prefix", "checks": "checks",
                "default-tier": "default_tier", "customer-account": "customer_account",
                "default-sla-days": "default_sla_days"}


class AdjustmentError(NamedTuple):
    source: dict[str, Any]
    message: str
    entry: Any


def book_of(options_map: dict[str, Any]) -> Book | None:
    """The book the plugin left at the last load, or None if it did not run."""
    book = options_map.get(BOOK_KEY)
    # A book from a cached load by other code is no book of this code's.
    return book if isinstance(book, Book) and made_here(options_map) else None


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
    why = next(filter(None, (_setting_problem(key, value) for key, value in raw.items())), None)
    if why is not None:
        return Settings(), f"bad plugin settings: {why}"
    values: dict[str, Any] = {SETTING_KEYS[key]: tuple(value) if key == "checks" else value
                              for key, value in raw.items()}
    return Settings(**values), None


def _setting_problem(key: str, value: object) -> str | None:
    """Why `value` cannot be the setting `key`, or None."""
    if value is None and key in ("customer-account", "default-sla-days"):
        return None  # as if not set
    if key == "checks":
        if (not isinstance(value, list | tuple)
                or not all(isinstance(name, str) and name.strip() for name in value)):
            return f"checks is a list of function names, not {value!r}"
        return None
    if key == "default-sla-days":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"default-sla-days is a whole number of days from 1, not {value!r}"
        return None
    if key == "customer-account":
        if not isinstance(value, str) or value.count("{customer}") != 1:
            return ("the setting customer-account is an account with {customer} once in it, "
                    "like 'Assets:Receivable:{customer}'")
        return None
    if not isinstance(value, str) or not value.strip():
        return f"{key} is a non-empty string, not {value!r}"
    return None


def load_checks(names: tuple[str, ...], ledger: str | None = None) -> tuple[
        list[tuple[str, Check]], list[str]]:
    """The site's checks named in the `checks` setting ("package.module.function" or
    "package.module:function"), and a message for each name that does not resolve.

    They are looked for as the CLI looks for calculators: on `sys.path`, then
    beside the ledger and in the current directory.
    """
    found: list[tuple[str, Check]] = []
    errors: list[str] = []
    if not names:
        return found, errors
    places = [os.path.dirname(os.path.abspath(ledger)) if ledger and os.path.isfile(ledger)
              else None, os.getcwd()]
    added = [place for place in dict.fromkeys(places) if place and place not in sys.path]
    sys.path.extend(added)
    try:
        _resolve_checks(names, found, errors)
    finally:
        for place in added:
            sys.path.remove(place)
    return found, errors


def _resolve_checks(names: tuple[str, ...], found: list[tuple[str, Check]],
                    errors: list[str]) -> None:
    for name in names:
        module_name, sep, attribute = (name.partition(":") if ":" in name
                                       else name.rpartition("."))
        if not sep or not module_name or not attribute:
            errors.append(f"check {name!r} must name a function: \"package.module.function\"")
            continue
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # whatever a site's module raises on import
            errors.append(f"check {name!r} cannot be loaded ({type(exc).__name__}: {exc})")
            found.append((name, _unavailable))
            continue
        if not callable(function):
            errors.append(f"check {name!r} is not a function")
            found.append((name, _unavailable))
            continue
        found.append((name, function))


def _unavailable(request: Request, amount: Any) -> str:
    """Stands in for a check that cannot be loaded: nothing it guards is booked."""
    return "this check cannot be loaded (see the plugin's error), so the request is not judged"


def _unreadable_settings(request: Request, amount: Any) -> str:
    """Stands in for every check while the settings cannot be read: nothing is booked."""
    return ("the plugin's settings cannot be read (see the plugin's error), so the request "
            "is not judged")


def _changed_by_plugin(request: Request, amount: Any) -> str:
    """Stands in for every check while a plugin run before this one changed the
    adjustment directives (what it hands over is not what the files hold), or one
    listed after it may change what it books."""
    return ("another plugin changed the adjustment directives, or is listed after this one "
            "(see its [changed-by-plugin] or [plugin-after] error), so the request is not "
            "judged")


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
    progress = Progress()
    with collector_paused():
        try:
            return _run(entries, options_map, config, progress)
        except KeyboardInterrupt:
            raise
        except BaseException:  # the plugin must never raise: a sys.exit(0) in code the
            # ledger runs would end bean-check with exit 0 and every error unsaid
            # Whatever book was made is not what the ledger amounts to: no tool reads it.
            options_map.pop(BOOK_KEY, None)
            options_map.pop(STAMP_KEY, None)
            return _failed_closed(entries, progress, traceback.format_exc())


def _failed_closed(entries: list[data.Directive], progress: Progress,
                   trace: str) -> tuple[list[data.Directive], list[Any]]:
    """The entries with no request moving money, and the error at the entry the
    pass stopped on: when the plugin cannot judge, nothing is booked."""
    where: dict[str, Any] = {"filename": "<plugin>", "lineno": 0}
    current = getattr(progress.replay, "current", None)
    if current is not None:
        where = source_meta(current.source)
    elif progress.entry is not None:
        meta = progress.entry.meta or {}
        where = {"filename": meta.get("filename", "<plugin>"), "lineno": meta.get("lineno", 0)}
    closed = [entry._replace(postings=[], flag="!")
              if isinstance(entry, data.Transaction) and "adjustment-type" in (entry.meta or {})
              else entry for entry in entries]
    return closed, [InternalFailure(
        where, "beancount_adjustments failed internally while judging this entry; no "
        "adjustment was booked (requests keep no postings) until it is fixed. Please report "
        "this with the traceback:\n" + trace, None)]


def _run(entries: list[data.Directive], options_map: dict[str, Any],
         config: str | None, progress: Progress) -> tuple[list[data.Directive], list[Any]]:
    settings, config_error = parse_settings(config)
    checks, check_errors = load_checks(settings.checks, options_map.get("filename"))
    ours = our_lines(options_map, PLUGIN, adjustments)
    if len(ours) > 1:
        # Each pass would judge what the one before it made, with its own settings.
        config_error = (f"the plugin is enabled {len(ours)} times (plugin \"{PLUGIN}\"); "
                        "enable it once, with all its settings on that line")
    if config_error is not None:
        # Judged with the defaults, the requests would skip the checks, the receivable
        # root or the customer accounts the settings name: nothing is booked instead.
        config_error += "; no request is booked until the settings are fixed"
        checks = [("plugin-settings", _unreadable_settings)]
    # Judged as another plugin left them, the entries would not be those written.
    rewritten = changed_by_plugins(entries, options_map, earlier_plugins(options_map, ours))
    # What a plugin after this one does to the booked entries the book cannot know.
    rewritten += after_ours(options_map, later_plugins(options_map, ours))
    if rewritten:
        checks = [("plugin-order", _changed_by_plugin)]
    # A payment's other side is on these roots, as the ledger names them.
    found = read(entries, settings, progress, (options_map.get("name_assets", "Assets"),
                                               options_map.get("name_liabilities", "Liabilities")),
                 Balancing.of(options_map))
    facts = found.facts
    # The top-level file first, then the included ones as Beancount lists them.
    main = options_map.get("filename")
    facts.files = tuple(dict.fromkeys(
        [*([str(main)] if main else []), *(str(name) for name in options_map.get("include", ()))]))
    facts.problems.extend(verify_seals(facts, facts.seals, settings=settings))
    book = replay(facts, price_rates(found.price_entries), settings, checks, progress)
    options_map[BOOK_KEY] = book
    options_map[STAMP_KEY] = Stamp(code_stamp(), check_sources(check for _, check in checks))
    errors: list[Any] = []
    plugin_source = Source(filename=str(options_map.get("filename", "<ledger>")), lineno=0)
    for message in ([config_error] if config_error is not None else []) + check_errors:
        errors.append(AdjustmentError(source_meta(plugin_source),
                                      f"plugin beancount_adjustments: {message}", None))
    errors.extend(_errors((*rewritten, *book.problems), entries))
    if not found.requests:
        return entries, errors
    return _with_effects(entries, found, book.tracked()), errors


def _with_effects(entries: list[data.Directive], found: Read,
                  tracked: Mapping[str, Tracked]) -> list[data.Directive]:
    """The entries with each request replaced by what it amounts to.

    A generated entry carries its cause's date and line (the request, or the
    event that applied or cancelled it), so it sorts right after that entry
    and goes there: the entries stay sorted without sorting them again. Only
    one dated elsewhere (an `effective:` date) is placed by binary search.
    """
    out = list(entries)
    after: dict[int, list[data.Directive]] = {}
    elsewhere: list[data.Transaction] = []
    event_at = found.event_at
    tags: dict[Any, frozenset[str]] = {}
    for index, entry, request in found.requests:
        adj = tracked.get(request.id) if request is not None else None
        # Not this request's record when another request took the id first.
        if adj is not None and adj.request is not request:
            adj = None
        produced = entries_for(entry, adj, tags)
        out[index] = produced[0]
        if adj is None:
            continue
        for generated, cause in zip(produced[1:], (adj.applied_by, adj.reversed_by),
                                    strict=False):
            at = index if cause is None else event_at.get(id(cause), -1)
            if at >= 0 and entries[at].date == generated.date:
                after.setdefault(at, []).append(generated)
            else:
                elsewhere.append(generated)
    if elsewhere:
        elsewhere.sort(key=data.entry_sortkey)
        sortkey = data.entry_sortkey
        for generated in elsewhere:
            at = bisect.bisect_right(out, sortkey(generated), key=sortkey) - 1
            after.setdefault(at, []).append(generated)
    if not after:
        return out
    merged: list[data.Directive] = []
    start = 0
    for at in sorted(after):
        merged += out[start:at + 1]
        merged += after[at]
        start = at + 1
    merged += out[start:]
    return merged
