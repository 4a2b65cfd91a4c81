"""`notify --since REV`: the book as it was at a git revision, whose notices count as sent.

REV's tree is loaded as `check --since` loads it (`reports.history.snapshot_at`); no
state is kept between runs.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from beancount_adjustments.core.book import Book
from beancount_adjustments.notify.channels import ChannelError
from beancount_adjustments.reports import history


def book_at_revision(ledger: Path, rev: str) -> tuple[Book, datetime.date, list[Any]]:
    """The book of the ledger as it was at git revision `rev`, that commit's date and
    the entries (the notify directives in them say which notices were due).

    Raises `history.HistoryError` for a revision that cannot be read, and
    `ChannelError` when the ledger at `rev` holds no book.
    """
    repo = history.open_repository(ledger, rev)
    old, _name = history.snapshot_at(repo)
    if old is None:
        raise ChannelError(f"{repo.ledger} did not exist at {rev}, or did not enable the "
                           "plugin")
    return old.book, repo.commit_day(), list(old.entries)
