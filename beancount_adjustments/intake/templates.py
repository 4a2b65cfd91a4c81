"""Building a request from an adjustment template (`build_request`), with
`LedgerContext`, the loaded ledger the intake commands check against (its
templates read by `beans.intake_lines`). The keys are in docs/templates.md.
"""

from __future__ import annotations

import datetime
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount.core import data

from beancount_adjustments.beans import loading
from beancount_adjustments.beans.intake_lines import parse_templates
from beancount_adjustments.beans.loading import load_uncached
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.facts import filed_requests
from beancount_adjustments.core.intake_lines import ParamValue, Template, Templates
from beancount_adjustments.core.models import Money, Problem, Request
from beancount_adjustments.intake import calculators
from beancount_adjustments.intake.calculators import CalcInput, CalculatorError
from beancount_adjustments.plugin import book_of
from beancount_adjustments.writer import NewRequest

__all__ = [
    "LedgerContext",
    "Template",
    "TemplateError",
    "Templates",
    "build_request",
]


class TemplateError(AdjustmentsError):
    """A template cannot be used as asked; the message says why and what to do."""

    code = "bad-template"


# -- the ledger as the bulk tools see it ------------------------------------------

@dataclass
class LedgerContext:
    """A loaded ledger: its entries, the plugin's book, accounts and templates."""

    path: Path
    entries: list[data.Directive]
    errors: list[Any]
    book: Book
    templates: Templates
    template_problems: list[Problem]
    accounts: dict[str, tuple[datetime.date, datetime.date | None]]

    @classmethod
    def load(cls, path: Path, *, cache: bool = True) -> LedgerContext:
        """The context of the ledger at `path`; `cache=False` before a write (see
        `loading`)."""
        entries, errors, options = (loading.load_file(str(path)) if cache
                                    else load_uncached(path))
        book = book_of(options)
        if book is None:
            raise TemplateError(f"{path}: the beancount_adjustments plugin did not run; add "
                                'plugin "beancount_adjustments" to the ledger.')
        return cls.of(path, entries, errors, book)

    @classmethod
    def of(cls, path: Path, entries: list[data.Directive], errors: list[Any],
           book: Book) -> LedgerContext:
        accounts: dict[str, tuple[datetime.date, datetime.date | None]] = {}
        for entry in entries:
            if isinstance(entry, data.Open):
                accounts[entry.account] = (entry.date, None)
            elif isinstance(entry, data.Close) and entry.account in accounts:
                accounts[entry.account] = (accounts[entry.account][0], entry.date)
        templates, problems = parse_templates(entries)
        return cls(path=path, entries=entries, errors=errors, book=book, templates=templates,
                   template_problems=problems, accounts=accounts)

    @property
    def search_paths(self) -> list[Path]:
        """Where dotted calculator names are imported from."""
        return [self.path.resolve().parent, Path.cwd()]

    def account_problem(self, account: str, date: datetime.date) -> str | None:
        """Why `account` cannot take a posting on `date`, or None."""
        span = self.accounts.get(account)
        if span is None:
            return f"account {account} is not opened in the ledger"
        opened, closed = span
        if date < opened:
            return f"account {account} opens on {opened}, after {date}"
        if closed is not None and date >= closed:
            return f"account {account} is closed since {closed}"
        return None

    def default_receivable(self, customer: str | None = None) -> str | None:
        """The customer's account when the ledger makes it unambiguous: the only
        open account under the plugin's receivable root, or among several the
        one whose last component is the customer id (as `bean-adjust create`)."""
        root = self.book.settings.receivable
        found = sorted(a for a, (_, closed) in self.accounts.items()
                       if is_under(a, root) and closed is None)
        if len(found) == 1:
            return found[0]
        if customer is not None:
            named = [a for a in found if a.split(":")[-1].lower() == customer.lower()]
            if len(named) == 1:
                return named[0]
        return None

    def external_ids(self) -> set[str]:
        """External ids of the requests already in the ledger (for idempotent writes)."""
        return set(self.filed_requests())

    def filed_requests(self) -> dict[str, Request]:
        """The requests already in the ledger by external id (`facts.filed_requests`)."""
        return filed_requests(self.book.facts.requests)


# -- a request from a template ------------------------------------------------------

def build_request(ctx: LedgerContext, template: Template, *, customer: str, requested_by: str,
                  date: datetime.date, params: Mapping[str, ParamValue] | None = None,
                  meta: Mapping[str, str] | None = None, reason: str | None = None,
                  request_id: str | None = None,
                  entered_by: str | None = None,
                  filed_on: datetime.date | None = None) -> NewRequest:
    """The request `template` makes for `customer` on `date`.

    `entered_by`: the acting identity of the tool writing it (`entered-by:`).
    `filed_on`: the request's own date when it is not `date` (a schedule's
    occurrence filed late; the calculator and `{date}` still see `date`).

    `params` add to / override the template's parameters; `meta` carries the
    request metadata (invoice, order, ticket, document, effective,
    external-id, schedule). Raises TemplateError (with the calculator's
    message) when the amount cannot be worked out.
    """
    meta = dict(meta or {})
    merged: dict[str, ParamValue] = {**template.params, **(params or {})}
    receivable = template.receivable_account or ctx.default_receivable(customer)
    if receivable is None:
        raise TemplateError(
            f"template {template.name}: set `receivable-account:`; the ledger has no single "
            f"open account under {ctx.book.settings.receivable} (nor one named after "
            f"{customer}) to default to.")
    invoice_id, order_id = meta.get("invoice"), meta.get("order")
    invoice = ctx.book.invoices.get(invoice_id) if invoice_id else None
    if invoice_id and invoice is None:
        raise TemplateError(f"invoice {invoice_id!r} is not in the ledger (no transaction "
                            f"carries `invoice-id: \"{invoice_id}\"`).")
    order = ctx.book.orders.get(order_id) if order_id else None
    inp = CalcInput(template=template.name, type=template.type, customer=customer, date=date,
                    receivable_account=receivable, offset_account=template.offset_account,
                    params=merged, invoice=invoice, order=order, book=ctx.book)
    try:
        postings = calculators.get(template.calculator, ctx.search_paths)(inp)
        _check_postings(postings)
    except CalculatorError as exc:
        raise TemplateError(f"template {template.name}: {exc}") from None
    if not postings:
        raise TemplateError(f"template {template.name}: the calculator gave no postings.")
    moved = sum((n for a, n, _ in postings if is_under(a, ctx.book.settings.receivable)),
                Decimal(0))
    currency = postings[0][2]
    fields = {k: _text(v) for k, v in merged.items()}
    fields.update({"customer": customer, "date": date.isoformat(), "template": template.name,
                   "amount": f"{abs(moved)} {currency}",
                   "invoice": invoice_id or "", "order": order_id or ""})
    text = fill(reason or template.reason, fields, template.name)
    meta["template"] = template.name
    return NewRequest(
        type=template.type, customer=customer, requested_by=requested_by, reason=text,
        postings=tuple((a, n, c) for a, n, c in postings), category=template.category,
        id=request_id, payee=template.payee or customer,
        narration=fill(template.narration, fields, template.name) if template.narration
        else text,
        date=filed_on or date, meta={k: v for k, v in meta.items() if v},
        entered_by=entered_by)


def _check_postings(postings: Sequence[tuple[str, Decimal, str]]) -> None:
    totals: dict[str, Decimal] = {}
    for account, number, currency in postings:
        if not isinstance(number, Decimal):
            raise CalculatorError(f"posting to {account}: the number must be a Decimal, "
                                  f"not {number!r}.")
        totals[currency] = totals.get(currency, Decimal(0)) + number
    unbalanced = {c: n for c, n in totals.items() if n}
    if unbalanced:
        raise CalculatorError(f"the postings do not balance ({unbalanced}).")


def _text(value: ParamValue) -> str:
    if isinstance(value, Money):
        return f"{value.number} {value.currency}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def fill(text: str, fields: Mapping[str, str], name: str) -> str:
    """`text` with `{field}`s filled in; an unknown field is an error, not a blank."""
    try:
        wanted = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"template {name}: bad `{{...}}` in {text!r} ({exc}).") from None
    for key in wanted:
        if key not in fields:
            raise TemplateError(f"template {name}: the text {text!r} uses {{{key}}}, which is "
                                f"not given; pass --param {key}=... .")
        if key in ("invoice", "order") and not fields[key]:
            raise TemplateError(f"template {name}: the text {text!r} uses {{{key}}}; pass "
                                f"--{key}.")
    return text.format_map(fields)
