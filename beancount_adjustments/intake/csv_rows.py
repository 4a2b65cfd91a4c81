"""The CSV file of `bean-adjust import`: its columns, its rows as (line, values), and
a row's cells read as dates and an amount, with what is wrong placed on the row's line.
Nothing here knows the ledger (`csv_import` checks the rows against it).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from beancount_adjustments.core.amounts import AmountError, parse_money
from beancount_adjustments.core.days import day_problem, iso_day

__all__ = ["COLUMNS", "META_COLUMNS", "OPTIONAL", "REQUIRED", "Row", "RowError", "read_rows",
           "row_amount"]

REQUIRED = ("type", "customer", "amount", "currency", "reason", "external-id")
OPTIONAL = ("id", "category", "invoice", "order", "ticket", "document", "date", "effective",
            "offset-account", "receivable-account", "requested-by", "risk", "payee",
            "narration", "on-statement", "aging-from")
COLUMNS = REQUIRED + OPTIONAL
META_COLUMNS = ("invoice", "order", "ticket", "document", "effective", "risk", "external-id",
                "aging-from")


@dataclass(frozen=True)
class RowError:
    line: int
    """The row's line in the CSV file (the header is line 1; 0: the whole file)."""
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def read_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(line, {column: value}) for every non-blank row, and header problems."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(0, "the file is empty; the first line must name the columns")]
    except csv.Error as exc:
        return [], [RowError(1, f"the header cannot be read as CSV ({exc})")]
    names = [_key(h) for h in header]
    errors = []
    unknown = [h for h, n in zip(header, names, strict=True) if n and n not in COLUMNS]
    if unknown:
        errors.append(RowError(1, f"unknown column(s) {', '.join(map(repr, unknown))}; the "
                                  f"columns are {', '.join(COLUMNS)}"))
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        errors.append(RowError(1, f"column(s) {', '.join(twice)} appear more than once"))
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        errors.append(RowError(1, f"missing column(s) {', '.join(missing)}"))
    if errors:
        return [], errors
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, f"cannot be read as CSV ({exc})"))
            break
        # line_num counts physical lines, so a quoted field spanning lines
        # still leaves `line` at the row's first line.
        if any(v.strip() for v in values):
            if len(values) > len(names):
                errors.append(RowError(line, f"{len(values)} fields, but the header names "
                                             f"{len(names)} columns"))
            else:
                rows.append((line, {n: v.strip() for n, v in zip(names, values, strict=False)
                                    if n}))
        line = reader.line_num + 1
    return rows, errors


@dataclass
class Row:
    """One row being checked: its cells by column, and what is wrong with it so far."""

    line: int
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def date(self, key: str) -> datetime.date | None:
        text = self.get(key)
        if not text:
            return None
        day = iso_day(text)
        if day is None:
            self.problems.append(f"{key} {day_problem(text)}")
        return day


def row_amount(row: Row, decimal_comma: bool = False) -> tuple[Decimal, str] | None:
    """The row's `amount` (and `currency`, or a currency written in `amount`), or None
    with the problem on the row."""
    text, currency = row.get("amount"), row.get("currency")
    parts = text.split()
    if len(parts) == 2 and not re.match(r"^[\d.,+-]+$", parts[1]):
        if currency and currency != parts[1]:
            row.problems.append(f"amount {text!r} is in {parts[1]}, but currency says "
                                f"{currency}")
            return None
        text, currency = parts
    if not currency:
        row.problems.append("currency is empty")
        return None
    try:
        money = parse_money(text, currency=currency, decimal_comma=decimal_comma)
    except AmountError as exc:
        row.problems.append(f"amount {exc}")
        return None
    return money.number, money.currency
