"""Where the other side of a request may go: a policy's `offset-accounts:`.

A policy that sets the key names the account patterns a request's legs outside
the receivable root may post to (`"Income:*, Expenses:Adjustments:*"`); a leg
elsewhere (cash out of `Assets:Bank`) makes the request invalid. No policy
sets it: every account is allowed, and nothing is checked per request. With the
`customer-account` setting, a receivable account that is no customer's own
(`Assets:Receivable:Suspense`) is such a leg too: the customer's side is their
own account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.models import Posting, Request

if TYPE_CHECKING:
    from beancount_adjustments.core.facts import Settings

_PATTERN = re.compile(r"^[A-Z*?\[][A-Za-z0-9:*?\[\]!_-]*$")


def parse_patterns(text: str) -> tuple[str, ...] | None:
    """`"Income:*, Expenses:Adjustments:*"` as its patterns; None when a part is
    empty or no account pattern."""
    patterns = tuple(part.strip() for part in text.split(","))
    if not all(_PATTERN.match(p) for p in patterns):
        return None
    return patterns


def customer_side(account: str, request: Request, settings: Settings) -> bool:
    """Whether `account` is the customer's side of `request`: under the receivable
    root and, with `customer-account`, the customer's own account."""
    if not is_under(account, settings.receivable):
        return False
    return settings.customer_account is None or settings.account_owner(account) == request.customer


def disallowed(postings: Sequence[Posting], request: Request, settings: Settings,
               patterns: Sequence[str]) -> list[str]:
    """The accounts of `postings` off the customer's side that match none of `patterns`."""
    return sorted({account for account, _, _ in postings
                   if not customer_side(account, request, settings)
                   and not any(fnmatchcase(account, p) for p in patterns)})


def refused(request: Request, settings: Settings,
            allowed: Sequence[str] | None) -> str | None:
    """Why `request`'s postings may not be booked under the patterns `allowed`
    (None: every account is), or None when they may."""
    if allowed is None:
        return None
    outside = disallowed(request.postings, request, settings, allowed)
    if not outside:
        return None
    return (f"the postings move {', '.join(outside)}, which the {request.type} policy's "
            f"`offset-accounts: \"{', '.join(allowed)}\"` does not allow; post the other "
            "side to an allowed account.")
