"""The test ledgers' shared text and helpers: load a ledger from a string, read codes.

Ledgers are written as strings in the tests (like Beancount's own plugin
tests). `load(text)` prepends the standard preamble (`BASE`: the plugin,
accounts, users (with the git e-mails `git-identity` checks), customers and the
approval matrix of DESIGN.md) unless
`base=False`, dedents, loads with `beancount.loader.load_string` and returns
a `Loaded` that unpacks as `(entries, errors, book)` and knows the text, so
tests can find the line of a directive with `loaded.line("marker")`.
`request`, `event` and `decided` write the directives the tests add; ledgers
that several modules share are in `sample_ledgers.py`.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data

import beancount_adjustments
from beancount_adjustments.beans import loading
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.permissions import limit_judged
from beancount_adjustments.core.policy import chain_text

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "ledgers" / "demo.beancount"  # the bundled demo ledger

CODE_RE = re.compile(r"\[([a-z0-9-]+)\]\s*$")
INTERNAL = "failed internally"

BASE = """\
plugin "beancount_adjustments"
option "operating_currency" "USD"

2026-01-01 open Assets:Receivable:Customers
2026-01-01 open Assets:Bank
2026-01-01 open Income:Sales
2026-01-01 open Income:Sales:Returns
2026-01-01 open Income:Fees
2026-01-01 open Expenses:Goodwill
2026-01-01 open Expenses:Promotions
2026-01-01 open Liabilities:Tax

2026-01-01 custom "adjustment-user" "alice" "agent"
2026-01-01 custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
  git: "bob@example.com"
2026-01-01 custom "adjustment-user" "carol" "finance"
  git: "carol@example.com"
2026-01-01 custom "adjustment-user" "dave" "cfo"
2026-01-01 custom "adjustment-user" "erin" "manager"
  git: "erin@example.com"
2026-01-01 custom "adjustment-user" "frank" "agent"

2026-01-01 custom "adjustment-customer" "cust_123" "vip"
2026-01-01 custom "adjustment-customer" "cust_456" "standard"

2026-01-01 custom "adjustment-approval" "credit:*"           25.00 USD "manager"
2026-01-01 custom "adjustment-approval" "credit:*"         1000.00 USD "manager" "finance"
2026-01-01 custom "adjustment-approval" "credit:*"        10000.00 USD "manager" "finance" "cfo"
2026-01-01 custom "adjustment-approval" "credit:goodwill"      0.00 USD "manager"
  customer-tier: "vip"
2026-01-01 custom "adjustment-approval" "credit:promotional"   0.00 USD
2026-01-01 custom "adjustment-approval" "debit:*"             50.00 USD "manager"
2026-01-01 custom "adjustment-approval" "billing:*"           25.00 USD "manager"

2026-01-01 custom "adjustment-policy" "billing:*"
  apply: "separate"
"""

TOOLS_BASE = """\
option "operating_currency" "USD"
plugin "beancount_adjustments"

2024-01-01 open Assets:Receivable:Customers
2024-01-01 open Income:Sales
2024-01-01 open Income:Sales:Returns
2024-01-01 open Expenses:Adjustments:Credits
2024-01-01 open Income:Adjustments:Debits

2024-01-01 custom "adjustment-user" "alice" "agent"
2024-01-01 custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
2024-01-01 custom "adjustment-user" "carol" "finance"
2024-01-01 custom "adjustment-customer" "cust_123" "standard"

2024-01-01 custom "adjustment-approval" "credit:*"    25.00 USD "manager"
2024-01-01 custom "adjustment-approval" "credit:*"  1000.00 USD "manager" "finance"
"""
"""The preamble of the tools' tests (CLI, writer, API): what each adds to it, it says."""

NAMED = BASE + """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 open Income:Adjustments:Debits
2026-01-01 open Income:Adjustments:Billing

2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"
2026-01-01 custom "adjustment-customer" "cust_1" "vip"
  name: "Acme Corp"
2026-01-01 custom "adjustment-customer" "cust_2" "standard"
  name: "Twin Ltd"
2026-01-01 custom "adjustment-customer" "cust_3" "standard"
  name: "Twin Ltd"

2026-01-05 * "Beta" "Consulting"
  invoice-id: "INV-1"
  customer: "cust_beta"
  Assets:Receivable:Customers  300.00 USD
  Income:Sales
"""
"""`BASE` for the tools' tests of customers picked by name: the offset accounts
`create` defaults to, every credit reviewed by a manager, customers with names
(two share one) and `cust_beta`, whom only an invoice names."""

BACKDATING = """
; The tools write `at:` (when an entry was written); these tests date entries
; in the past on purpose, so their ledgers allow it (policy `backdate-days:`).
2000-01-01 custom "adjustment-policy" "*"
  backdate-days: 36600
"""


def with_settings(settings: str, text: str = BASE) -> str:
    """`text` (a preamble starting with the plugin line) with the plugin given `settings`."""
    plugin = 'plugin "beancount_adjustments"\n'
    assert text.startswith(plugin)
    return f'plugin "beancount_adjustments" "{settings}"\n' + text.removeprefix(plugin)


def code_of(error: Any) -> str | None:
    """The `[code]` suffix of an error message, or None (Beancount's own errors)."""
    match = CODE_RE.search(str(getattr(error, "message", "")))
    return match.group(1) if match else None


def codes(errors: list[Any]) -> list[tuple[int, str | None]]:
    """(lineno, code) of every error, in order."""
    return [(error.source["lineno"], code_of(error)) for error in errors]


def code_set(errors: list[Any]) -> set[str | None]:
    return {code_of(error) for error in errors}


def line_in(text: str, marker: str, nth: int = 0) -> int:
    """1-based line number of the `nth` line of `text` containing `marker`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    if len(hits) <= nth:
        raise AssertionError(f"marker {marker!r} not found {nth + 1} time(s) in the ledger")
    return hits[nth]


@dataclass
class Loaded:
    entries: list[data.Directive]
    errors: list[Any]
    book: Book | None
    options: dict[str, Any]
    text: str

    def __iter__(self) -> Iterator[Any]:
        return iter((self.entries, self.errors, self.book))

    def line(self, marker: str, nth: int = 0) -> int:
        return line_in(self.text, marker, nth)

    @property
    def codes(self) -> list[tuple[int, str | None]]:
        return codes(self.errors)

    @property
    def code_set(self) -> set[str | None]:
        return code_set(self.errors)

    def adj(self, adjustment_id: str) -> Any:
        assert self.book is not None, "the plugin did not run"
        found = self.book.get(adjustment_id)
        assert found is not None, f"{adjustment_id} is not in the book"
        return found

    def state(self, adjustment_id: str) -> str:
        return str(self.adj(adjustment_id).state)

    def balance(self, account: str, currency: str = "USD") -> Decimal:
        return balance(self.entries, account, currency)

    def tagged(self, tag: str, adjustment_id: str | None = None) -> list[data.Transaction]:
        return [e for e in self.entries if isinstance(e, data.Transaction)
                and tag in (e.tags or ())
                and (adjustment_id is None or adjustment_id in (e.links or ()))]


def block(text: str) -> str:
    """A dedented ledger fragment, to concatenate with `request(...)` and `event(...)`."""
    return textwrap.dedent(text).lstrip("\n")


def ledger(text: str, *, base: bool = True) -> str:
    body = textwrap.dedent(text).lstrip("\n")
    return (BASE + "\n" + body) if base else body


def load(text: str, *, base: bool = True) -> Loaded:
    """Load a ledger written in a string (with the standard preamble unless base=False)."""
    full = ledger(text, base=base)
    entries, errors, options = loader.load_string(full)
    return Loaded(entries, errors, beancount_adjustments.book_of(options), options, full)


def load_file(path: Path) -> Loaded:
    entries, errors, options = loading.load_file(str(path))
    return Loaded(entries, errors, beancount_adjustments.book_of(options), options,
                  path.read_text())


def balance(entries: list[data.Directive], account: str, currency: str = "USD") -> Decimal:
    """Sum of the postings on `account` and its sub-accounts."""
    total = Decimal(0)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if ((posting.account == account or posting.account.startswith(account + ":"))
                        and posting.units is not None and posting.units.currency == currency):
                    total += posting.units.number
    return total


def request(adj_id: str, date: str, amount: str, *, type: str = "credit:refund",
            customer: str = "cust_456", by: str = "alice", currency: str = "USD",
            account: str = "Income:Sales:Returns", reason: str = "Test adjustment",
            receivable: str = "Assets:Receivable:Customers", extra: str = "") -> str:
    """A request transaction; `amount` is what it moves on the receivable (signed)."""
    number = Decimal(amount)
    lines = [
        f'{date} ! "{customer}" "{reason}" ^{adj_id}',
        f'  adjustment-type: "{type}"',
        f'  customer: "{customer}"',
        f'  reason: "{reason}"',
        f'  requested-by: "{by}"',
    ]
    lines += ["  " + line.strip() for line in textwrap.dedent(extra).splitlines() if line.strip()]
    lines += [
        f"  {account}  {-number} {currency}",
        f"  {receivable}  {number} {currency}",
    ]
    return "\n".join(lines) + "\n"


def event(adj_id: str, date: str, action: str, by: str | None = None, **meta: str) -> str:
    """A `custom "adjustment"` event; keyword metadata with `_` spelled `-`."""
    lines = [f'{date} custom "adjustment" "{adj_id}" "{action}"']
    if by is not None:
        lines.append(f'  by: "{by}"')
    for key, value in meta.items():
        lines.append(f'  {key.replace("_", "-")}: "{value}"')
    return "\n".join(lines) + "\n"


def decided(text: str, adj_id: str, date: str, action: str, by: str, *,
            at: str | None = None, **meta: str) -> str:
    """The event a tool would write now for `text` as it stands: `at:` and the
    digest shown and, for an approval, the chain, amount and limit it was judged at."""
    loaded = load(text)
    assert loaded.book is not None, "the plugin did not run"
    adj = loaded.adj(adj_id)
    fields = {"at": at or f"{date}T10:00:00+01:00", "digest": adj.digest, **meta}
    if action == "approve":
        fields["chain"] = chain_text(adj.deciding_chain)
    written = event(adj_id, date, action, by, **fields)
    if action == "approve" and adj.judged is not None:
        written += f"  judged: {adj.judged.number} {adj.judged.currency}\n"
    day = datetime.date.fromisoformat(date)
    limit = limit_judged(loaded.book.rules, adj, by, day) if action == "approve" else None
    if limit is not None:
        written += f"  limit-judged: {limit.number} {limit.currency}\n"
    return written


def as_written(text: str, adj_id: str) -> str:
    """`text` with the request carrying the chain and amount it was judged at."""
    adj = load(text).adj(adj_id)
    extra = f'  chain: "{chain_text(adj.chain)}"\n'
    if adj.judged is not None:
        extra += f"  judged: {adj.judged.number} {adj.judged.currency}\n"
    head = f"^{adj_id}\n"
    return text.replace(head, head + extra, 1)
