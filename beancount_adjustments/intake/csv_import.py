"""CSV import: many adjustment requests from one spreadsheet, all or nothing.

    bean-adjust import -f main.beancount --as alice adjustments.csv --dry-run
    bean-adjust import -f main.beancount --as alice adjustments.csv

The first line names the columns (in any order; case and `_`/`-` do not
matter). One request per following line:

- `type` (required): `credit:refund`, `debit:fee`, `billing:discount`, ...;
  a known type, or one the ledger already uses.
- `customer` (required): a customer the ledger knows on the row's date, by id
  or by name (the id is written).
- `amount` (required): a positive number for a credit or a debit, whose
  type gives the direction (a credit lowers what the customer owes, a debit
  raises it). A billing adjustment, which may go either way, gives the
  change to what the customer owes: `-10.00` lowers it, `10.00` raises it.
  Read strictly, as `bean-adjust create --amount` reads it
  (`beancount_adjustments.core.amounts`): `1234.50` and `1,234.50` are fine;
  `40,00` and `1.000,00` are refused as ambiguous unless the import is run
  with `--decimal-comma` (`decimal_comma=True`), which reads every amount of
  the file with a decimal comma (`1.234,50`; the file stays comma-separated,
  so quote such cells: `"1.234,50"`); more decimals than the
  currency has (`40.001 USD`) are refused, never rounded; more than 15
  digits before the point are refused.
- `currency` (required): `USD`; may be left empty when `amount` reads
  `50.00 USD`.
- `reason` (required): why.
- `external-id` (required): the row's id in the system it comes from; what
  makes importing the same file twice harmless.
- `offset-account`: the account on the other side (`Income:Sales:Returns`);
  default `--offset-account`, else the per-kind default of `bean-adjust
  create` (`Expenses:Adjustments:Credits`, `Income:Adjustments:Debits`,
  `Income:Adjustments:Billing`), which must be opened.
- `receivable-account`: the customer's account; default
  `--receivable-account`, else the only open account under the plugin's
  `receivable` root, or among several the one named after the customer.
- `requested-by`: default `--as`.
- `id`: the request's id; default the next free one (`ADJ-2026-0043`).
- `date`: the request's date (`2026-11-20`); default today.
- `category`, `invoice`, `order`, `ticket`, `document`, `effective`, `risk`,
  `payee`, `narration`: as in the ledger syntax (README, "Ledger syntax").
- `on-statement` (`TRUE` or `FALSE`, empty: `TRUE`) and `aging-from` (a date):
  what the customer's statement shows, written as `on-statement: FALSE` and
  `aging-from:`.

Unknown columns are refused (a misspelt `extrenal-id` would otherwise
silently lose idempotence). A UTF-8 byte-order mark is fine; blank lines are
skipped.

How it goes:

1. Every row is checked before anything is written: the columns parse, the
   type, customer, requester and accounts exist on the row's date, the
   amount goes the way the type says, invoices and orders exist, no
   external id appears twice in the file; then the writer judges all the
   requests together against the book with the plugin's own rules (approval
   matrix, documents, invoice limits, ...).
2. If any row is bad nothing is written; every bad row is listed as
   `line N: reason` and the command exits with status 1.
3. Rows whose `external-id` is already in the ledger (a request with that
   `external-id:`) are skipped and counted, so importing the same file
   again writes nothing, and a file that grew since the last import adds
   only its new rows.
4. All the new requests are appended in one write (one lock, one atomic
   replace), and the command prints how many it wrote, where, and their ids.

`--dry-run` does all the checks, prints what would be written, and writes
nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beancount_adjustments import writer
from beancount_adjustments.beans.rules import CATEGORY_RE, TYPE_RE
from beancount_adjustments.core.customers import CustomerError, customer_id
from beancount_adjustments.core.models import Kind, is_under
from beancount_adjustments.core.policy import known_names
from beancount_adjustments.intake.csv_rows import (
    META_COLUMNS,
    REQUIRED,
    Row,
    RowError,
    read_rows,
    row_amount,
)
from beancount_adjustments.intake.templates import LedgerContext
from beancount_adjustments.writer import NewRequest, Refusal, WriteRefused, WriteResult

__all__ = ["ImportPlan", "ImportResult", "import_csv", "plan_import", "preview_requests"]

@dataclass
class ImportPlan:
    """What an import would do: requests to write (with their CSV lines),
    rows skipped as already imported, and what is wrong."""

    requests: list[NewRequest] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def refusal_errors(self, refusals: Iterable[Refusal]) -> list[RowError]:
        """The writer's refusals, placed on the rows they concern."""
        out = []
        for refusal in refusals:
            if 0 <= refusal.index < len(self.lines):
                out.append(RowError(self.lines[refusal.index], refusal.message))
            else:
                out.append(RowError(0, str(refusal)))
        return out


def plan_import(ctx: LedgerContext, rows: Sequence[tuple[int, dict[str, str]]], *,
                user: str | None, today: datetime.date, offset_account: str | None = None,
                receivable_account: str | None = None,
                offset_by_kind: Mapping[Kind, str] | None = None,
                on_row: Callable[[], None] | None = None,
                decimal_comma: bool = False) -> ImportPlan:
    """Check every row against the ledger; the requests to write, or the errors."""
    plan = ImportPlan(rows=len(rows))
    book = ctx.book
    existing = ctx.external_ids()
    seen: dict[str, int] = {}
    root = book.settings.receivable
    for line, values in rows:
        row = Row(line, values)
        request = _request(ctx, row, user=user, today=today,
                           offset_default=offset_account, offset_by_kind=offset_by_kind or {},
                           receivable_default=receivable_account, root=root,
                           decimal_comma=decimal_comma)
        ext = row.get("external-id")
        if ext in seen:
            row.problems.append(f"external-id {ext!r} is also on line {seen[ext]}")
        elif ext:
            seen[ext] = line
        if row.problems:
            plan.errors.extend(RowError(line, p) for p in row.problems)
        elif ext in existing:
            plan.skipped.append((line, ext))
        elif request is not None:
            plan.requests.append(request)
            plan.lines.append(line)
        if on_row is not None:
            on_row()
    return plan


def _request(ctx: LedgerContext, row: Row, *, user: str | None, today: datetime.date,
             offset_default: str | None,
             offset_by_kind: Mapping[Kind, str], receivable_default: str | None,
             root: str, decimal_comma: bool = False) -> NewRequest | None:
    book = ctx.book
    directory = book.directory
    for column in REQUIRED:
        if not row.get(column) and not (column == "currency" and len(row.get("amount").split())
                                        == 2):
            row.problems.append(f"{column} is empty")
    if row.problems:
        return None
    date = row.date("date") or today
    row.date("effective")
    row.date("aging-from")
    shown = row.get("on-statement").upper()
    if shown not in ("", "TRUE", "FALSE"):
        row.problems.append(f"on-statement {row.get('on-statement')!r} is TRUE or FALSE")
    adj_type = row.get("type")
    if not TYPE_RE.match(adj_type):
        row.problems.append(f"type {adj_type!r} must be credit:, debit: or billing: and a "
                            "subtype (credit:refund)")
    elif not ctx.book.known(adj_type, "type", date):
        row.problems.append(f"unknown type {adj_type!r}; known: "
                            f"{', '.join(known_names(ctx.book.facts.declarations, 'type', date))}"
                            ' (declare your own with custom "adjustment-type")')
    category = row.get("category") or None
    if category is not None and not CATEGORY_RE.match(category):
        row.problems.append(f"category {category!r} must read group:name "
                            "(operational:billing-error)")
    elif category is not None and not ctx.book.known(category, "category", date):
        row.problems.append(f"unknown category {category!r} (declare it with custom "
                            '"adjustment-category")')
    customer = row.get("customer")
    try:
        # A name picks its customer, as `create --customer` does.
        customer = customer_id(directory, customer) or customer
    except CustomerError as exc:
        row.problems.append(str(exc))
    else:
        if directory.customer_on(customer, date) is None:
            row.problems.append(f"unknown customer {customer!r} on {date}")
    requested_by = row.get("requested-by") or user
    if not requested_by:
        row.problems.append("requested-by is empty and no --as was given")
    elif not directory.is_user(requested_by, date):
        row.problems.append(f"requested-by {requested_by!r} is not a user on {date}")
    offset = row.get("offset-account") or offset_default
    if not offset and TYPE_RE.match(adj_type):
        offset = offset_by_kind.get(Kind(adj_type.split(":", 1)[0]))
    receivable = (row.get("receivable-account") or receivable_default
                  or ctx.default_receivable(customer))
    if not offset:
        row.problems.append("offset-account is empty and no --offset-account was given")
    if not receivable:
        row.problems.append(f"receivable-account is empty, and the ledger has no single open "
                            f"account under {root} (nor one named after the customer) to "
                            "default to")
    elif not is_under(receivable, root):
        row.problems.append(f"receivable-account {receivable} is not under {root}, the "
                            "plugin's receivable root")
    for account in (offset, receivable):
        problem = ctx.account_problem(account, date) if account else None
        if problem:
            row.problems.append(problem)
    amount = row_amount(row, decimal_comma)
    if amount is not None:
        number = amount[0]
        if number == 0:
            row.problems.append("amount is zero")
        elif TYPE_RE.match(adj_type):
            kind = Kind(adj_type.split(":", 1)[0])
            if kind is not Kind.BILLING and number < 0:
                row.problems.append(
                    f"amount {number} is negative; write a {kind} as a positive amount (the "
                    f"type gives the direction: a {kind} "
                    f"{'lowers' if kind is Kind.CREDIT else 'raises'} what the customer owes)")
    for key, refs in (("invoice", book.invoices), ("order", book.orders)):
        ref_id = row.get(key)
        if not ref_id:
            continue
        ref = refs.get(ref_id)
        if ref is None:
            row.problems.append(f"unknown {key} {ref_id!r}")
        elif ref.customer is not None and ref.customer != customer:
            row.problems.append(f"{key} {ref_id!r} belongs to {ref.customer}, not {customer}")
    if row.problems or amount is None or not offset or not receivable or not requested_by:
        return None
    number, currency = amount
    if adj_type.startswith("credit:"):
        number = -number  # written positive; a credit lowers what the customer owes
    meta = {key: row.get(key) for key in META_COLUMNS if row.get(key)}
    if shown == "FALSE":
        meta["on-statement"] = "FALSE"
    return NewRequest(
        type=adj_type, customer=customer, requested_by=requested_by, reason=row.get("reason"),
        postings=((receivable, number, currency), (offset, -number, currency)),
        category=category, id=row.get("id") or None, payee=row.get("payee") or None,
        narration=row.get("narration") or None, date=date, meta=meta, entered_by=user)


# -- checking without writing -----------------------------------------------------

def preview_requests(ledger: Path, requests: Sequence[NewRequest], *,
                     target: Path | None = None,
                     now: datetime.datetime | None = None) -> WriteResult:
    """What `writer.write_requests` would write, judged the same way, without
    writing (for --dry-run): `text` is the block, `refused` what it refuses,
    `written` is 0."""
    return writer.write_requests(Path(ledger), requests, partial=True, target=target, now=now,
                                 dry_run=True)


# -- the whole import -------------------------------------------------------------

@dataclass
class ImportResult:
    plan: ImportPlan
    errors: list[RowError]
    result: WriteResult | None = None
    """What was written (or, for a dry run, what would be)."""


def import_csv(ledger: Path, csv_path: Path, *, user: str | None, dry_run: bool = False,
               offset_account: str | None = None, receivable_account: str | None = None,
               offset_by_kind: Mapping[Kind, str] | None = None,
               target: Path | None = None, now: datetime.datetime | None = None,
               ctx: LedgerContext | None = None,
               on_row: Callable[[], None] | None = None,
               decimal_comma: bool = False) -> ImportResult:
    """Check `csv_path` against the ledger and append its new rows in one write.

    Nothing is written when any row is bad or `dry_run` is set; `errors`
    lists the bad rows.
    """
    moment = now or datetime.datetime.now(datetime.UTC)
    today = moment.astimezone().date()
    try:
        text = Path(csv_path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return ImportResult(ImportPlan(), [RowError(0, f"cannot read {csv_path}: {exc}")])
    rows, errors = read_rows(text)
    if ctx is None:
        ctx = LedgerContext.load(Path(ledger), cache=dry_run)
    plan = plan_import(ctx, rows, user=user, today=today, offset_account=offset_account,
                       receivable_account=receivable_account,
                       offset_by_kind=offset_by_kind, on_row=on_row,
                       decimal_comma=decimal_comma)
    errors = errors + plan.errors
    if not plan.requests:
        return ImportResult(plan, sorted(errors, key=lambda e: e.line))
    if errors or dry_run:
        # Judge the good rows too, so one run lists every bad row.
        preview = preview_requests(Path(ledger), plan.requests, target=target, now=moment)
        errors += plan.refusal_errors(preview.refused)
        return ImportResult(plan, sorted(errors, key=lambda e: e.line), preview)
    try:
        result = writer.write_requests(Path(ledger), plan.requests, target=target, now=moment)
    except WriteRefused as refused:
        return ImportResult(plan, sorted(plan.refusal_errors(refused.refusals),
                                         key=lambda e: e.line))
    return ImportResult(plan, [], result)
