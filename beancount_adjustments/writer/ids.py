"""Ids of new requests: `<id-prefix>-<year>-<NNNN>`, one above the highest in use."""

from __future__ import annotations

import re
from collections.abc import Sequence


def _id_pattern(prefix: str, year: int) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}-{year}-(\d+)$")


def next_id(used: Sequence[str] | set[str], prefix: str, year: int) -> str:
    """`prefix-year-NNNN`, one above the highest such id in `used`."""
    pattern = _id_pattern(prefix, year)
    numbers = [int(m.group(1)) for m in map(pattern.match, used) if m]
    return f"{prefix}-{year}-{max(numbers, default=0) + 1:04d}"


class Ids:
    """The ids one write of requests allocates, as `next_id` would over every
    id in use (the book's, every transaction link, those allocated so far),
    but with the highest number per year computed once and then kept up to
    date, so a batch of n requests costs O(n), not O(n x ledger)."""

    def __init__(self, used: set[str], prefix: str) -> None:
        self.used = used
        self.prefix = prefix
        self.allocated: set[str] = set()
        """The ids given to earlier items of this write (refused ones too)."""
        self._highest: dict[int, tuple[re.Pattern[str], int]] = {}

    def next(self, year: int) -> str:
        if year not in self._highest:
            pattern = _id_pattern(self.prefix, year)
            numbers = [int(m.group(1)) for m in map(pattern.match, self.used) if m]
            self._highest[year] = (pattern, max(numbers, default=0))
        return f"{self.prefix}-{year}-{self._highest[year][1] + 1:04d}"

    def add(self, adj_id: str) -> None:
        self.allocated.add(adj_id)
        self.used.add(adj_id)
        for year, (pattern, highest) in self._highest.items():
            match = pattern.match(adj_id)
            if match and int(match.group(1)) > highest:
                self._highest[year] = (pattern, int(match.group(1)))
