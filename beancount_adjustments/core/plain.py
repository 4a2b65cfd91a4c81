"""What a rule on plain postings (no request's, nor forged: `adjustment-reserved`)
says of one it refuses, whatever its date.

The plugin judges a plain posting from a rule's date on, so a ledger adopts the
rule over its history; `check --since` judges one new since REV as made now
(`reports.history.plain_postings`), and needs of each rule only this.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple


class Breach(NamedTuple):
    since: datetime.date
    """The rule's date: the plugin refuses the posting from then on."""
    says: str
    """What the posting does against the rule, after "this transaction ": "posts to
    Expenses:Adjustments:Credits, which only adjustments post to since ...\""""
