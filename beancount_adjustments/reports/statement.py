"""A customer's statement: one set of rows (`statement`) and a renderer per format.

The rows come from the loaded entries (what the plugin booked) and the
book; nothing re-parses the ledger. A posting is the customer's when it is
on the receivable accounts and its transaction names the customer
(`customer:`), or its account is the customer's own (`customer-account`).
Per currency: the opening balance, every movement of the period with the
running balance, the closing balance, and the closing balance aged.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from beancount_adjustments.beans.effects import TAG_APPLIED, TAG_REVERSAL
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Adjustment, Kind, Request, is_under, receivable_totals

__all__ = ["BUCKETS", "FORMATS", "Aged", "Line", "Section", "Statement", "render",
           "statement", "statement_text"]

FORMATS = ("table", "csv", "html")
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
"""Days since an item's aging date; `current`: it has not started aging."""
OFF_STATEMENT = "Account adjustment"
"""What the customer reads for an adjustment written with `on-statement: FALSE`."""
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Line:
    """One movement on the customer's account in the period."""

    date: datetime.date
    kind: str
    """invoice, order, charge, payment, adjustment, reversal, or account-adjustment."""
    reference: str
    description: str
    """What the customer reads: never an adjustment's internal reason or notes."""
    amount: Decimal
    """Positive: the customer owes more."""
    balance: Decimal
    """The running balance after it."""
    aging_from: datetime.date
    credit_left: Decimal | None = None
    """For an invoice: what may still be credited against it at the statement's end."""


@dataclass(frozen=True)
class Aged:
    bucket: str
    amount: Decimal


@dataclass(frozen=True)
class Section:
    """The statement in one currency."""

    currency: str
    opening: Decimal
    lines: tuple[Line, ...]
    closing: Decimal
    aging: tuple[Aged, ...]
    """The closing balance by age (`BUCKETS`); it sums to `closing`."""


@dataclass(frozen=True)
class Statement:
    customer: str
    name: str | None
    contact: str | None
    start: datetime.date
    end: datetime.date
    sections: tuple[Section, ...]


@dataclass
class _Item:
    """A movement, before it is placed on the statement."""

    date: datetime.date
    kind: str
    reference: str
    description: str
    amount: Decimal
    aging_from: datetime.date
    adjustment: str | None = None
    shown: bool = True
    applies_to: str | None = None
    """The invoice a payment or credit pays first (aging)."""


def statement_text(book: Book, request: Request) -> str:
    """What a statement calls an adjustment: its type's `statement-text:`, else a
    phrase made from the type ("Goodwill credit", "Fee charge", "Invoice correction",
    "Tax adjustment")."""
    configured = book.policies.settings(request.type, request.date).statement_text
    if configured:
        return configured
    kind, _, subtype = request.type.partition(":")
    words = subtype.replace("-", " ")
    words = words[:1].upper() + words[1:]
    if kind == Kind.BILLING:
        return words if words.endswith("correction") else f"{words} adjustment"
    return f"{words} {'credit' if kind == Kind.CREDIT else 'charge'}"


def statement(entries: Iterable[data.Directive], book: Book, customer: str,
              start: datetime.date, end: datetime.date) -> Statement:
    """The statement of `customer` (an id) from `start` through `end`."""
    record = book.directory.customer_on(customer, end)
    items = _items(entries, book, customer, end)
    credited = _credited(book, customer, end)
    sections = []
    for currency in sorted(items):
        sections.append(_section(currency, items[currency], start, end, credited))
    return Statement(customer, record.name if record else None,
                     record.contact if record else None, start, end, tuple(sections))


def _items(entries: Iterable[data.Directive], book: Book, customer: str,
           end: datetime.date) -> dict[str, list[_Item]]:
    root = book.settings.receivable
    settings = book.settings
    own = settings.customer_account is not None
    out: dict[str, list[_Item]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > end:
            continue
        named = entry.meta.get("customer") == customer
        totals: dict[str, Decimal] = {}
        for posting in entry.postings:
            units = posting.units
            if units is None or not isinstance(units.number, Decimal):
                continue
            if not is_under(posting.account, root):
                continue
            if named or (own and settings.account_owner(posting.account) == customer):
                totals[units.currency] = totals.get(units.currency, _ZERO) + units.number
        for currency, amount in totals.items():
            if amount:
                out.setdefault(currency, []).append(_item(entry, book, amount))
    return out


def _item(entry: data.Transaction, book: Book, amount: Decimal) -> _Item:
    meta, tags = entry.meta, entry.tags or frozenset()
    adj_id = meta.get("adjustment-id")
    adj = book.get(adj_id) if isinstance(adj_id, str) else None
    if adj is not None and (TAG_APPLIED in tags or TAG_REVERSAL in tags):
        return _adjustment_item(entry, book, adj, amount, reversal=TAG_REVERSAL in tags)
    aging = meta.get("aging-from")
    aging_from = aging if isinstance(aging, datetime.date) else entry.date
    narration = entry.narration or ""
    for key, kind in (("invoice-id", "invoice"), ("order-id", "order")):
        ref = meta.get(key)
        if isinstance(ref, str):
            return _Item(entry.date, kind, ref.strip(), narration, amount, aging_from)
    paid = meta.get("invoice")
    paid = paid.strip() if isinstance(paid, str) else None
    if amount < 0:
        return _Item(entry.date, "payment", paid or "", "Payment received", amount, aging_from,
                     applies_to=paid)
    return _Item(entry.date, "charge", paid or "", narration, amount, aging_from)


def _adjustment_item(entry: data.Transaction, book: Book, adj: Adjustment, amount: Decimal,
                     *, reversal: bool) -> _Item:
    request = adj.request
    text = statement_text(book, request)
    if request.invoice:
        text = f"{text} (invoice {request.invoice})"
    if reversal:
        text = f"Reversal: {text}"
    aging_from = entry.date if reversal else (request.aging_from or entry.date)
    return _Item(entry.date, "reversal" if reversal else "adjustment", request.id, text,
                 amount, aging_from, adjustment=request.id, shown=request.on_statement,
                 applies_to=request.invoice if amount < 0 else None)


def _credited(book: Book, customer: str, end: datetime.date) -> dict[str, Decimal]:
    """Per invoice, what booked credits against it have taken off by `end` (what the
    replay's `exceeds-invoice` rule counts)."""
    out: dict[str, Decimal] = {}
    root = book.settings.receivable
    for adj in book.adjustments.values():
        request = adj.request
        if (request.customer != customer or request.invoice is None
                or adj.effective_date is None or adj.effective_date > end
                or (adj.reversed_on is not None and adj.reversed_on <= end)):
            continue
        moved = sum(receivable_totals(request.postings, root).values(), _ZERO)
        if moved < 0:
            out[request.invoice] = out.get(request.invoice, _ZERO) - moved
    return out


def _section(currency: str, items: list[_Item], start: datetime.date, end: datetime.date,
             credited: dict[str, Decimal]) -> Section:
    before = [it for it in items if it.date < start]
    during = [it for it in items if it.date >= start]
    opening = sum((it.amount for it in before), _ZERO)
    # An adjustment kept off the statement shows as one line without detail; applied
    # and reversed within the period it nets to nothing and shows not at all.
    hidden: dict[str, Decimal] = {}
    for it in during:
        if not it.shown and it.adjustment is not None:
            hidden[it.adjustment] = hidden.get(it.adjustment, _ZERO) + it.amount
    lines: list[Line] = []
    balance = opening
    for it in during:
        if not it.shown and it.adjustment is not None and not hidden[it.adjustment]:
            continue
        balance += it.amount
        shown = it.shown or it.adjustment is None
        lines.append(Line(
            it.date, it.kind if shown else "account-adjustment",
            it.reference if shown else "", it.description if shown else OFF_STATEMENT,
            it.amount, balance, it.aging_from,
            it.amount - credited.get(it.reference, _ZERO) if it.kind == "invoice" else None))
    return Section(currency, opening, tuple(lines), balance, _aging(items, end))


@dataclass
class _Open:
    aging_from: datetime.date
    reference: str
    left: Decimal


def _aging(items: Sequence[_Item], end: datetime.date) -> tuple[Aged, ...]:
    """The balance at `end` by age: payments and credits settle the invoice they name
    first, then the oldest open charges; what stays open ages from its aging date."""
    charges = sorted((_Open(it.aging_from, it.reference, it.amount)
                      for it in items if it.amount > 0), key=lambda o: o.aging_from)
    credits = [(it.applies_to, -it.amount) for it in items if it.amount < 0]
    remaining: list[Decimal] = []
    for applies_to, amount in credits:
        targets = [c for c in charges if applies_to and c.reference == applies_to]
        remaining.append(_settle(targets, amount))
    unapplied = sum((_settle(charges, amount) for amount in remaining), _ZERO)
    buckets = dict.fromkeys(BUCKETS, _ZERO)
    buckets["current"] -= unapplied
    for charge in charges:
        if charge.left:
            buckets[_bucket((end - charge.aging_from).days)] += charge.left
    return tuple(Aged(name, value) for name, value in buckets.items())


def _settle(charges: Sequence[_Open], amount: Decimal) -> Decimal:
    """Take `amount` off `charges` in order; what is left of it."""
    for charge in charges:
        if not amount:
            break
        taken = min(amount, charge.left)
        charge.left -= taken
        amount -= taken
    return amount


def _bucket(days: int) -> str:
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


# -- renderers -------------------------------------------------------------------------

COLUMNS = ("date", "kind", "reference", "description", "amount", "balance", "aging_from",
           "credit_left")


def _money(number: Decimal | None) -> str:
    return "" if number is None else f"{number:,.2f}"


def _title(st: Statement) -> str:
    who = f"{st.name} ({st.customer})" if st.name else st.customer
    return f"Statement for {who}, {st.start} to {st.end}"


def render(st: Statement, fmt: str) -> str:
    if fmt == "table":
        return render_table(st)
    if fmt == "csv":
        return render_csv(st)
    if fmt == "html":
        return render_html(st)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def render_table(st: Statement) -> str:
    out = [_title(st)]
    if not st.sections:
        out.append("No movements on the account through the statement's end.")
    for section in st.sections:
        rows = [["Date", "Reference", "Description", "Amount", "Balance", "Credit left"],
                [str(st.start), "", "Opening balance", "", _money(section.opening), ""]]
        rows += [[str(ln.date), ln.reference, ln.description, _money(ln.amount),
                  _money(ln.balance), _money(ln.credit_left)] for ln in section.lines]
        rows.append([str(st.end), "", "Closing balance", "", _money(section.closing), ""])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        right = {3, 4, 5}
        out += ["", f"{section.currency}"]
        for row in rows:
            out.append("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                       .rstrip())
        out.append("Aging: " + "  ".join(f"{a.bucket}: {_money(a.amount)}"
                                         for a in section.aging))
    return "\n".join(out) + "\n"


def render_csv(st: Statement) -> str:
    """One row per line, plus `opening` and `closing` rows and one `aging` row per
    bucket, each with its currency; formula-looking text is neutralised."""
    from beancount_adjustments.reports.csv_cells import csv_cell

    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["customer", "currency", *COLUMNS])
    for s in st.sections:
        out.writerow([csv_cell(st.customer), s.currency, st.start, "opening", "",
                      "Opening balance", "", s.opening, "", ""])
        for ln in s.lines:
            out.writerow([csv_cell(st.customer), s.currency, ln.date, ln.kind,
                          csv_cell(ln.reference), csv_cell(ln.description), ln.amount,
                          ln.balance, ln.aging_from, csv_cell(ln.credit_left)])
        out.writerow([csv_cell(st.customer), s.currency, st.end, "closing", "",
                      "Closing balance", "", s.closing, "", ""])
        for aged in s.aging:
            out.writerow([csv_cell(st.customer), s.currency, st.end, "aging", aged.bucket,
                          f"Aged {aged.bucket}", aged.amount, "", "", ""])
    return buffer.getvalue()


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.1rem; margin: 1.8rem 0 .4rem; }
h3 { font-size: 1rem; margin: 1rem 0 .2rem; }
p.muted { margin: 0 0 .4rem; font-size: .9rem; }
.who { color: #555; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: .8rem; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.date { white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid #999; }
table.aging { width: auto; }
table.aging td, table.aging th { min-width: 6rem; }
.muted { color: #666; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""


def render_html(st: Statement, *, standalone: bool = True) -> str:
    """The statement as HTML, every text escaped: a printable page with its own CSS,
    or (`standalone=False`) the body alone, for Fava's page."""
    e = html.escape
    who = e(st.name or st.customer)
    parts = [f'<div class="statement" data-customer="{e(st.customer)}">',
             f"<h1>Statement of account: {who}</h1>",
             f'<p class="who">Customer {e(st.customer)}'
             + (f" · {e(st.contact)}" if st.contact else "")
             + f" · {e(str(st.start))} to {e(str(st.end))}</p>"]
    if not st.sections:
        parts.append('<p class="muted">No movements on the account through the statement\'s '
                     "end.</p>")
    for s in st.sections:
        cur = e(s.currency)
        parts.append(f'<h2>Account in {cur}</h2><table class="lines" data-currency="{cur}">'
                     "<thead><tr><th>Date</th><th>Reference</th><th>Description</th>"
                     '<th class="num">Amount</th><th class="num">Balance</th>'
                     '<th class="num">Credit left</th></tr></thead><tbody>')
        parts.append(f'<tr class="opening"><td class="date">{e(str(st.start))}</td><td></td>'
                     f'<td>Opening balance</td><td class="num"></td>'
                     f'<td class="num">{_money(s.opening)}</td><td class="num"></td></tr>')
        for ln in s.lines:
            parts.append(
                f'<tr class="line {e(ln.kind)}"><td class="date">{e(str(ln.date))}</td>'
                f"<td>{e(ln.reference)}</td><td>{e(ln.description)}</td>"
                f'<td class="num amount">{_money(ln.amount)}</td>'
                f'<td class="num">{_money(ln.balance)}</td>'
                f'<td class="num">{_money(ln.credit_left)}</td></tr>')
        parts.append(f'<tr class="total closing"><td class="date">{e(str(st.end))}</td><td></td>'
                     f"<td>Closing balance</td><td></td>"
                     f'<td class="num">{_money(s.closing)}</td><td></td></tr>'
                     "</tbody></table>")
        parts.append(f'<h3>Balance by age in {cur}</h3>'
                     '<p class="muted">Days since each open item started aging; payments '
                     "and credits settle the invoice they name, then the oldest items.</p>"
                     '<table class="aging"><thead><tr>'
                     + "".join(f'<th class="num">{e(a.bucket)}'
                               f'{" days" if a.bucket != "current" else ""}</th>'
                               for a in s.aging)
                     + "</tr></thead><tbody><tr>"
                     + "".join(f'<td class="num">{_money(a.amount)}</td>' for a in s.aging)
                     + "</tr></tbody></table>")
    parts.append("</div>")
    body = "\n".join(parts)
    if not standalone:
        return body
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(_title(st))}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
