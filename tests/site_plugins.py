"""Site plugins the plugin-order tests put beside a ledger (`option "insert_pythonpath"`):
each written under a name of its own (`site_plugin`), forgotten after each test
(`forget_site_plugins`, a conftest fixture), so that two tests never share a module."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

PREFIX = "site_plugin_"
_names = itertools.count()

INFLATE_APPLIED = '''
from beancount.core import data
from beancount.core.amount import Amount

__plugins__ = ["inflate"]


def inflate(entries, options_map):
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction) and "adjustment" in entry.tags:
            entry = entry._replace(postings=[
                p._replace(units=Amount(p.units.number * 100, p.units.currency))
                for p in entry.postings])
        out.append(entry)
    return out, []
'''
"""Multiplies every booked adjustment's postings by 100 (listed after the plugin)."""


PLAIN_CREDIT = '''
import datetime
from decimal import Decimal
from beancount.core import data
from beancount.core.amount import Amount

__plugins__ = ["goodwill"]


def goodwill(entries, options_map):
    meta = data.new_metadata(options_map["filename"], 1)
    postings = [
        data.Posting("Assets:Receivable:Customers", Amount(Decimal("-5000"), "USD"),
                     None, None, None, None),
        data.Posting("OFFSET", Amount(Decimal("5000"), "USD"), None, None, None, None)]
    made = data.Transaction(meta, datetime.date(2026, 12, 4), "*", "CUSTOMER", "Made",
                            frozenset(), frozenset(), postings)
    return entries + [made], []
'''
"""Adds a plain 5,000 USD credit of CUSTOMER against OFFSET (no request), at line 1."""


def plain_credit(offset: str, customer: str) -> str:
    """`PLAIN_CREDIT` against `offset` for `customer`."""
    return PLAIN_CREDIT.replace("OFFSET", offset).replace("CUSTOMER", customer)


def site_plugin(folder: Path, module: str) -> str:
    """Write `module` as a plugin module in `folder`; its name, for a `plugin` line."""
    name = f"{PREFIX}{next(_names)}"
    (folder / f"{name}.py").write_text(module, encoding="utf-8")
    return name


def forget(*also: str) -> None:
    """Drop the site plugins (and the modules named in `also`) Beancount imported."""
    for name in [n for n in sys.modules if n.startswith(PREFIX) or n in also]:
        del sys.modules[name]
