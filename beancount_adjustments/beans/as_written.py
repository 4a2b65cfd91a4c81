"""Whether a plugin run before this one changed the adjustment directives.

Beancount hands each plugin what the one before it returned. A plugin listed
before `plugin "beancount_adjustments"` can add an approval no file holds,
drop a rejection or rewrite a request's postings, and the replay would judge
that (bean-check clean, the reports and exports agreeing with it) while the
files an auditor reads, and git keeps, say otherwise. So when such a plugin
runs first, the ledger's files are parsed again (only then: it costs a
second parse) and every adjustment directive the plugin is handed must be
one written in them, unchanged; none written may be missing. Beancount's own
plugins that only add accounts, prices, balances or documents, or only
check, are trusted without that parse.

A plugin listed after this one is handed what this one booked: it can rewrite
an applied adjustment's postings, drop a reversal or add a transaction with
this plugin's marks, and the balances would differ from the book that the
reports, statements and exports read. This plugin cannot see what a later one
does, so the rule is the order: any plugin that may change entries must be
listed before it (`later_plugins`); one listed after is an error at its
`plugin` line and no request is booked (`after_ours`). Beancount 3 runs only
the top file's `plugin` lines, so an included file's cannot follow it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.parser import parser
from beancount.utils import encryption

from beancount_adjustments.beans.metadata import source_of, written_meta
from beancount_adjustments.core.models import Problem, Source

CODE = "changed-by-plugin"
AFTER = "plugin-after"

TRUSTED = frozenset({
    "beancount.ops.documents", "beancount.plugins.auto", "beancount.plugins.auto_accounts",
    "beancount.plugins.implicit_prices", "beancount.plugins.check_commodity",
    "beancount.plugins.coherent_cost", "beancount.plugins.leafonly",
    "beancount.plugins.noduplicates", "beancount.plugins.nounused",
    "beancount.plugins.onecommodity", "beancount.plugins.unique_prices",
    "beancount.plugins.pedantic", "beancount.plugins.close_tree",
    "beancount.plugins.check_drained", "beancount.plugins.check_average_cost",
    "beancount.plugins.commodity_attr", "beancount.plugins.sellgains",
})
"""Beancount's own plugins that add no transaction or custom entry and change none."""

_PRE = tuple(plugin for plugin, _ in loader.PLUGINS_PRE)
"""What Beancount runs before the ledger's own plugin lines (documents)."""

_POST = frozenset(plugin for plugin, _ in loader.PLUGINS_POST)
"""What Beancount runs after them: pad adds its own padding entries only, balance
only checks."""


def our_lines(options_map: dict[str, Any], name: str, plugin: Callable[..., Any]) -> list[int]:
    """The positions in the plugin list of the lines that run `plugin`: those naming
    it `name`, and those naming a module imported under another name whose
    `__plugins__` hold it (`plugin "beancount_adjustments.__init__"` imports the
    package a second time and runs it; so does a site module re-exporting it).
    Told by the module, not the spelling: by spelling, the order rules took such a
    line for a foreign plugin and a plugin after it for an earlier one. Asked as
    the plugin runs, when every line before it has been imported; a line after it
    that is not yet is another plugin (a later one: nothing is booked)."""
    lines = []
    for at, (listed, _) in enumerate(options_map.get("plugin", ())):
        module = sys.modules.get(listed) if listed != name else None
        runs = getattr(module, "__plugins__", ()) if module is not None else ()
        if listed == name or any(
                (getattr(module, each, None) if isinstance(each, str) else each) is plugin
                for each in runs):
            lines.append(at)
    return lines


def earlier_plugins(options_map: dict[str, Any], ours: list[int]) -> list[str]:
    """The plugins that run before the first of `ours` lines (`our_lines`; every
    listed one when none is found), Beancount's trusted ones left out (in order,
    each once)."""
    listed = [plugin for plugin, _ in options_map.get("plugin", ())]
    before = listed[:ours[0]] if ours else listed
    if options_map.get("plugin_processing_mode", "default") == "default":
        before = [*_PRE, *before]
    return [plugin for plugin in dict.fromkeys(before) if plugin not in TRUSTED]


LINKING = frozenset({"fava.plugins.link_documents", "fava.plugins.tag_discovered_documents"})
"""Fava's own plugins that add links and tags (a document to the entries naming it in
`document:`), never postings: harmless after this one, whose requests carry
`document:` (before it, a link added to a request would change which id it has)."""


def later_plugins(options_map: dict[str, Any], ours: list[int]) -> list[str]:
    """The plugins listed after the first of `ours` lines (`our_lines`) that may
    change entries (in order, each once): none of Beancount's trusted ones, nor
    Fava's linking ones (`LINKING`). When no line is found to be this plugin's
    (a site module wrapping it in a function of its own), its place is unknown and
    every listed plugin may follow it."""
    listed = options_map.get("plugin", ())
    after = [plugin for at, (plugin, _) in enumerate(listed)
             if at not in ours and (not ours or at > ours[0])]
    return [plugin for plugin in dict.fromkeys(after)
            if plugin not in TRUSTED and plugin not in _POST
            and not (plugin in LINKING and _installed_fava(options_map))]


def _installed_fava(options_map: dict[str, Any]) -> bool:
    """Whether `fava` is imported, or would be, from elsewhere than the ledger's own
    folder: with `insert_pythonpath` a `fava/` package beside the ledger is imported
    in Fava's place (by bean-check, which has not imported Fava), and its
    "link_documents" would be trusted by its name. Beancount itself is imported
    before any plugin runs, so its trusted plugins cannot be shadowed so."""
    module = sys.modules.get("fava")
    origin = getattr(module, "__file__", None) if module is not None else None
    if origin is None:
        spec = importlib.util.find_spec("fava")
        origin = spec.origin if spec is not None else None
    if origin is None:
        return False
    ledger = options_map.get("filename")
    folder = os.path.dirname(os.path.realpath(str(ledger))) if ledger else None
    # The package's folder is <path entry>/fava: the shadow's path entry is the ledger's.
    return os.path.dirname(os.path.dirname(os.path.realpath(origin))) != folder


def after_ours(options_map: dict[str, Any], later: list[str]) -> list[Problem]:
    """An error at the `plugin` line of each plugin in `later` (at the ledger when
    its line cannot be found): it runs on what this plugin booked."""
    if not later:
        return []  # the usual case: the ledger's file is not read again
    main = str(options_map.get("filename") or "<ledger>")
    try:
        with open(main, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    problems = []
    for plugin in later:
        line = re.compile(r'^\s*plugin\s+"' + re.escape(plugin) + '"')
        lineno = next((number for number, text in enumerate(lines, 1) if line.match(text)), 0)
        problems.append(Problem(
            code=AFTER, source=Source(main, lineno),
            message=(f'the plugin "{plugin}" is listed after beancount_adjustments: it runs on '
                     "the adjustments this one booked and could change them unseen, so the "
                     "balances would differ from the book the reports read; no request is "
                     'booked until plugin "beancount_adjustments" is listed after every plugin '
                     "that may change entries")))
    return problems


def changed_by_plugins(entries: Sequence[data.Directive], options_map: dict[str, Any],
                       earlier: list[str]) -> list[Problem]:
    """Each adjustment directive in `entries` that the files do not hold as written,
    and each one they hold that `entries` lost: an error naming the `earlier` plugins."""
    if not earlier:
        return []
    named = ", ".join(f'"{plugin}"' for plugin in earlier)
    main = str(options_map.get("filename") or "<ledger>")
    files = [str(name) for name in options_map.get("include", ())]
    if not files or not all(os.path.isfile(name) and not encryption.is_encrypted_file(name)
                            for name in files):
        return [_problem(f"the plugin {named} runs before beancount_adjustments and the "
                        "ledger's files cannot be read again to tell whether it changed the "
                        "adjustment directives, so no request is booked: load the ledger from its "
                        "file, or drop that plugin", Source(main, 0))]
    written: Counter[tuple[Source, Hashable]] = Counter()
    for name in files:
        parsed, _, _ = parser.parse_file(name)
        written.update((source_of(entry), shape(entry))
                       for entry in adjustment_directives(parsed))
    received = Counter((source_of(entry), shape(entry))
                       for entry in adjustment_directives(entries))
    problems = []
    gone = written - received
    lost = {where for where, _ in gone}
    for where, _ in sorted(received - written, key=lambda item: item[0]):
        what = "changed" if where in lost else "added"
        lost.discard(where)
        problems.append(_problem(f"the plugin {named}, run before beancount_adjustments, "
                                f"{what} this adjustment directive: the files do not hold it "
                                "as it would be judged, so no request is booked until that plugin "
                                "leaves adjustment directives alone (listed after "
                                "beancount_adjustments it is a [plugin-after] error)", where))
    for where in sorted(lost):
        problems.append(_problem(f"the plugin {named}, run before beancount_adjustments, "
                                "removed this adjustment directive, so no request is booked until "
                                "that plugin leaves adjustment directives alone", where))
    return problems


def _problem(message: str, where: Source) -> Problem:
    return Problem(code=CODE, message=message, source=where)


def adjustment_directives(entries: Iterable[data.Directive]) -> Iterator[data.Directive]:
    """The entries the plugin judges: requests and every `adjustment...` directive."""
    for entry in entries:
        if ((isinstance(entry, data.Custom) and entry.type.startswith("adjustment"))
                or (isinstance(entry, data.Transaction)
                    and "adjustment-type" in (entry.meta or {}))):
            yield entry


def shape(entry: data.Directive) -> Hashable:
    """What the replay reads of an entry, as the parser wrote it and as booking leaves
    it alike: Beancount's own `__...__` keys and the amounts it filled in left out."""
    if isinstance(entry, data.Custom):
        return ("custom", entry.date, entry.type, tuple(entry.values), _meta(entry.meta))
    assert isinstance(entry, data.Transaction)
    return ("transaction", entry.date, entry.flag, entry.payee, entry.narration,
            frozenset(entry.tags or ()), frozenset(entry.links or ()), _meta(entry.meta),
            tuple((posting.account, _units(posting), posting.flag, _meta(posting.meta))
                  for posting in entry.postings))


def _units(posting: data.Posting) -> Hashable:
    # Booking fills in what a posting left out; such a posting is a bad-posting anyway.
    number = getattr(posting.units, "number", None)
    if (posting.meta or {}).get("__automatic__") or not isinstance(number, Decimal):
        return None
    return (number, getattr(posting.units, "currency", None))


def _meta(meta: dict[str, Any] | None) -> Hashable:
    return tuple(sorted(written_meta(meta).items()))
