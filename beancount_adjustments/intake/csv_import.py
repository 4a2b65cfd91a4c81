"""CSV import: the rows of a file checked against the ledger, then written in one write.

`plan_import` checks every row (`csv_rows` reads them) and builds the requests;
`import_csv` writes them through the writer, or nothing when any row is bad, and
skips rows whose `external-id` the ledger already holds. The column reference is
docs/csv-import.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from beancount_adjustments import writer
from beancount_adjustments.beans.rules import CATEGORY_RE, TYPE_RE
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.customers import CustomerError, customer_id
from beancount_adjustments.core.models import Kind
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
from beancount_adjustments.writer import NewRequest, Refusal, WriteRefused, WriteResult, retries

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
    existing = ctx.filed_requests()
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
        if request is not None and ext in existing:
            # Skipped only as a re-import of that very request (`writer.retries`).
            found = retries.differences(existing[ext], replace(request, date=row.date("date")))
            if found:
                row.problems.append(retries.conflict_message(book, existing[ext], found,
                                                             field="external-id"))
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


REPLANS = 3
"""How often an import plans again when runs of the same file race (each time some of
its rows were recorded by another since it read the ledger)."""


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
    refusals: Sequence[Refusal] = ()
    for _ in range(REPLANS + 1):
        try:
            result = writer.write_requests(Path(ledger), plan.requests, target=target,
                                           now=moment)
        except WriteRefused as refused:
            refusals = refused.refusals
            # The plan was made on the ledger as read before the write took the lock:
            # another run of the same file (a retried cron job) may have recorded rows
            # since, which the writer then refuses as already recorded. Planned again on
            # the ledger as it is now, those are skipped; a refusal that stands is said.
            again = plan_import(LedgerContext.load(Path(ledger), cache=False), rows,
                                user=user, today=today, offset_account=offset_account,
                                receivable_account=receivable_account,
                                offset_by_kind=offset_by_kind, decimal_comma=decimal_comma)
            if again.errors or len(again.skipped) <= len(plan.skipped):
                break
            plan = again
            if not plan.requests:
                return ImportResult(plan, [])
            continue
        return ImportResult(plan, [], result)
    return ImportResult(plan, sorted(plan.refusal_errors(refusals), key=lambda e: e.line))
