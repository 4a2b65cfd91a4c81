"""beancount-adjustments: credits, debits and billing corrections with
approval workflows, audit trails and reversals, inside a Beancount ledger.

Enable it in a ledger with::

    plugin "beancount_adjustments"

The syntax is documented in README.md. After a load, the replayed book of
adjustments is available to other tools with `book_of(options_map)`.
"""

from __future__ import annotations

from beancount_adjustments.beans.loading import BOOK_KEY, load_file
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.facts import Settings
from beancount_adjustments.core.models import Action, Adjustment, Kind, State
from beancount_adjustments.core.replay import replay
from beancount_adjustments.plugin import AdjustmentError, adjustments, book_of

__all__ = [
    "BOOK_KEY",
    "Action",
    "Adjustment",
    "AdjustmentError",
    "Book",
    "Kind",
    "Settings",
    "State",
    "adjustments",
    "book_of",
    "load_file",
    "replay",
]

__plugins__ = ("adjustments",)
