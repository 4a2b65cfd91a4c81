"""A beangulp importer: Stripe refunds and disputes as adjustment requests.

`StripeImporter` reads a Stripe CSV export (refunds `re_...` become
`credit:refund`, disputes `dp_...`/`du_...` `debit:chargeback`), skips what moved no
money and every Stripe id already in the ledger as `external-id:`, and extracts one
request per row; a row that does not read refuses the whole file. Columns, settings
and a sample import script: docs/stripe.md.

What it extracts is printed by beangulp and appended by hand, outside the one writer,
so it writes what the writer would: `entered-by:` (the acting identity, `entered_by`
or `BEAN_ADJUST_USER`), and refuses the whole file (`beangulp.exceptions.Error`, one
line naming the row, nothing extracted) when a row's text would not print as the
single request it stands for (an id outside Beancount's link characters, a control
character). The plugin then judges the requests as any other.
"""

from __future__ import annotations

import csv
import datetime
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from beancount.core import data, flags
from beancount.core.amount import Amount
from beangulp import Importer  # type: ignore[import-untyped]
from beangulp.exceptions import Error  # type: ignore[import-untyped]

from beancount_adjustments.beans.metadata import control_problem
from beancount_adjustments.beans.render import LINK_RE
from beancount_adjustments.core import amounts
from beancount_adjustments.core.days import day_problem, iso_day
from beancount_adjustments.writer import USER_ENV

REFUND_PREFIXES = ("re_",)
DISPUTE_PREFIXES = ("dp_", "du_")
SKIP_REFUND = frozenset({"failed", "canceled"})
SKIP_DISPUTE = frozenset({"won", "warning_closed", "charge_refunded"})
REQUIRED_COLUMNS = ("id", "amount", "currency")


def _columns(row: Mapping[str, str | None]) -> dict[str, str]:
    return {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}


def _date(text: str) -> datetime.date:
    """The day of `Created (UTC)`: `2026-02-10` or `2026-02-10 14:03:22` (the time is
    not kept); ValueError for anything else (`20260210`, `2026-W06-2`: `core.days`)."""
    text = text.strip()
    day = iso_day(text[:10])
    if day is None or text[10:11] not in ("", " ", "T"):
        raise ValueError(day_problem(text))
    return day


def _print_problem(entry: data.Transaction, user: str) -> str | None:
    """Why `entry` would not print as the one request it is, or None. Its link is
    printed bare: a Stripe id `re_1 #adjustment` or one holding a line break would
    print as other tags, links, metadata or a whole other transaction. Other text is
    printed quoted, and held to the writer's rule for control characters."""
    (link,) = entry.links
    if not LINK_RE.match(link):
        return (f"id {entry.meta['external-id']!r} is not a Stripe id (a link holds letters, "
                "digits and `_./-` only): the request's id would not be one Beancount link")
    for what, text in (("the customer", entry.meta["customer"]),
                       ("the charge id", entry.meta.get("stripe-charge")),
                       ("entered_by", user)):
        problem = control_problem(what, text)
        if problem is not None:
            return problem
    return control_problem("the reason", entry.meta["reason"], one_line=False)


def existing_ids(entries: data.Entries) -> set[str]:
    """The `external-id:` values of the requests already in a ledger."""
    found = set()
    for entry in entries:
        if isinstance(entry, data.Transaction):
            value = entry.meta.get("external-id")
            if isinstance(value, str):
                found.add(value.strip())
    return found


class StripeImporter(Importer):  # type: ignore[misc]
    """Stripe refunds and disputes (CSV) as adjustment requests."""

    def __init__(self, *, requested_by: str, receivable: str = "Assets:Receivable:Customers",
                 refund_account: str = "Income:Sales:Returns",
                 chargeback_account: str = "Assets:Clearing:Chargebacks",
                 customers: Mapping[str, str] | None = None, id_prefix: str = "ADJ",
                 category: str = "financial:payment-correction",
                 entered_by: str | None = None) -> None:
        self.requested_by = requested_by
        self.entered_by = entered_by
        self.receivable = receivable
        self.refund_account = refund_account
        self.chargeback_account = chargeback_account
        self.customers = dict(customers or {})
        self.id_prefix = id_prefix
        self.category = category

    def identify(self, filepath: str) -> bool:
        if not filepath.lower().endswith(".csv"):
            return False
        try:
            with open(filepath, newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError):
            return False
        names = {h.strip().lower() for h in header}
        return all(c in names for c in REQUIRED_COLUMNS) and (
            "charge id" in names or "type" in names)

    def account(self, filepath: str) -> data.Account:
        return self.receivable

    def rows(self, filepath: str) -> list[tuple[int, dict[str, str]]]:
        """(line, cells by lower-case column) of each row; `Error` naming the line when
        the file does not read as one table: a row with more cells than the header
        (the cells past it would be dropped) or a column named twice (one would win)."""
        found: list[tuple[int, dict[str, str]]] = []
        try:
            with open(filepath, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                names = [(name or "").strip().lower() for name in reader.fieldnames or ()]
                twice = sorted({name for name in names if names.count(name) > 1})
                if twice:
                    raise Error(f"{filepath}:1: the column {twice[0]!r} is named twice; "
                                "nothing extracted from this file")
                start = reader.line_num + 1  # where a row's first cell is (cells span lines)
                for row in reader:
                    if None in row:
                        raise Error(f"{filepath}:{start}: the row has more cells than the "
                                    "header has columns; nothing extracted from this file")
                    found.append((start, _columns(row)))
                    start = reader.line_num + 1
        except (OSError, UnicodeDecodeError, csv.Error) as unread:
            raise Error(f"{filepath}: cannot be read as a CSV file ({unread}); nothing "
                        "extracted from this file") from None
        return found

    def acting(self) -> str:
        """Who runs the import, written as `entered-by:` (so they never approve what
        they entered, as with every tool): `entered_by`, else `BEAN_ADJUST_USER`."""
        user = (self.entered_by or os.environ.get(USER_ENV) or "").strip()
        if not user:
            raise Error(f"who is acting? pass entered_by= to StripeImporter or set "
                        f"{USER_ENV}; nothing extracted")
        return user

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        seen = existing_ids(existing)
        user = self.acting()
        out: list[data.Directive] = []
        for lineno, row in self.rows(filepath):
            try:
                entry = self.request(row, filepath, lineno, entered_by=user)
            except ValueError as unread:  # `amounts.AmountError` is one
                raise Error(f"{filepath}:{lineno}: {unread}; nothing extracted from this "
                            "file") from None
            if entry is None:
                continue
            problem = _print_problem(entry, user)
            if problem is not None:
                raise Error(f"{filepath}:{lineno}: {problem}; nothing extracted from this "
                            "file")
            external = entry.meta["external-id"]
            if external in seen:
                continue
            seen.add(external)
            out.append(entry)
        return out

    def request(self, row: Mapping[str, str], filepath: str, lineno: int, *,
                entered_by: str) -> data.Transaction | None:
        """The request for one CSV row, entered by `entered_by`, or None when it moved
        no money (its status, a zero amount). ValueError saying why when the row does not
        read: skipped, a refund would be lost from the import unseen."""
        stripe_id = row.get("id", "")
        kind = row.get("type", "").lower()
        status = row.get("status", "").lower()
        if kind == "refund" or stripe_id.startswith(REFUND_PREFIXES):
            if status in SKIP_REFUND:
                return None
            adj_type, counter, sign = "credit:refund", self.refund_account, Decimal(-1)
            default_reason = f"Stripe refund {stripe_id}"
        elif kind == "dispute" or stripe_id.startswith(DISPUTE_PREFIXES):
            if status in SKIP_DISPUTE:
                return None
            adj_type, counter, sign = "debit:chargeback", self.chargeback_account, Decimal(1)
            default_reason = f"Stripe dispute {stripe_id}"
        else:
            raise ValueError(f"id {stripe_id!r} is neither a refund (re_...) nor a dispute "
                             "(dp_..., du_...), and the Type column does not say which")
        currency = row.get("currency", "").upper()
        # Read as every tool reads an amount: `Decimal` after dropping commas took
        # "1.000,00" for 1.00000, "1e3" for 1000 and any script's digits, and NaN;
        # and in a currency Beancount can parse ("US D", "USD" with a Cyrillic S made
        # lines no load reads) with no more decimals than it has (never rounded).
        try:
            number = abs(amounts.parse_money(row.get("amount", ""), currency=currency).number)
        except ValueError as unread:  # `amounts.AmountError` is one
            raise ValueError(f"Amount and Currency: {unread}") from None
        try:
            date = _date(row.get("created (utc)") or row.get("created") or "")
        except ValueError as unread:
            raise ValueError(f"Created: {unread}") from None
        if not stripe_id:
            raise ValueError("the id is empty")
        if not number:
            return None
        stripe_customer = row.get("customer id", "")
        customer = self.customers.get(stripe_customer, stripe_customer)
        if not customer:
            raise ValueError(f"{stripe_id} names no customer (Customer ID is empty)")
        reason = row.get("reason") or default_reason
        meta: dict[str, Any] = data.new_metadata(filepath, lineno)
        meta.update({"adjustment-type": adj_type, "category": self.category,
                     "customer": customer, "reason": reason,
                     "requested-by": self.requested_by, "entered-by": entered_by,
                     "external-id": stripe_id})
        if row.get("charge id"):
            meta["stripe-charge"] = row["charge id"]
        postings = [
            data.Posting(self.receivable, Amount(sign * number, currency), None, None, None,
                         None),
            data.Posting(counter, Amount(-sign * number, currency), None, None, None, None),
        ]
        return data.Transaction(meta, date, flags.FLAG_WARNING, customer, reason,
                                data.EMPTY_SET, frozenset({f"{self.id_prefix}-{stripe_id}"}),
                                postings)

