"""`bean-adjust create`: file one adjustment request.

The postings come from `intake.postings.request_postings` (the API and Fava's
`POST create` use it too), the amount is read by `core.amounts`, and the request
goes through the writer; the output says the new id and what it needs. The
manual is README's "Requests and decisions".
"""

from __future__ import annotations

import datetime
from pathlib import Path

import click
from beancount.core import data

from beancount_adjustments.cli.common import (
    DAY,
    Refused,
    as_date,
    date_option,
    decimal_comma_option,
    emit_json,
    json_option,
    ledger_option,
    money_text,
    parse_money,
    refused,
    require_user,
    user_option,
    write_json,
    wrote,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.customers import CustomerError, customer_id
from beancount_adjustments.intake.postings import (
    DEFAULT_OFFSET,
    PostingError,
    customer_move,
    default_receivable,
    request_postings,
)
from beancount_adjustments.reports.queries import approval_text, requirements
from beancount_adjustments.writer import NewRequest, WriteRefused, request_meta, write_requests


@click.command("create")
@ledger_option
@user_option
@click.option("--type", "adj_type", required=True, help="credit:refund, debit:fee, ...")
@click.option("--customer", required=True, help="The customer's id, or its name.")
@click.option("--amount", required=True,
              help='What it moves, like "50.00 USD" (read strictly: "40,00 USD" is refused as '
                   'ambiguous; see --decimal-comma).')
@click.option("--reason", required=True)
@click.option("--category", default=None, help="group:name, like operational:billing-error.")
@click.option("--invoice", default=None)
@click.option("--order", default=None)
@click.option("--ticket", default=None)
@click.option("--document", default=None, help="Path relative to the file written to.")
@click.option("--effective", type=DAY, default=None,
              help="Book the applied entry on this date.")
@click.option("--id", "adj_id", default=None, help="Default: the next free id.")
@click.option("--receivable-account", default=None)
@click.option("--offset-account", default=None)
@click.option("--narration", default=None, help="Default: the reason.")
@click.option("--notes", default=None, help="Free text for reviewers, written as `notes:`.")
@click.option("--approval-required", is_flag=True,
              help="Write `approval-required: TRUE`: the requester asks for a review.")
@click.option("--external-id", default=None,
              help="Its id in the system it comes from; a second request with it is refused.")
@click.option("--off-statement", is_flag=True,
              help="Write `on-statement: FALSE`: the customer's statement shows it only as "
                   "an account adjustment (it still moves the books).")
@click.option("--aging-from", type=DAY, default=None,
              help="The day its amount starts aging on the customer's statement.")
@decimal_comma_option
@date_option
@json_option
def create(*, ledger: Path, user: str | None, adj_type: str, customer: str, amount: str,
           reason: str, category: str | None, invoice: str | None, order: str | None,
           ticket: str | None, document: str | None, effective: datetime.datetime | None,
           adj_id: str | None, receivable_account: str | None, offset_account: str | None,
           narration: str | None, notes: str | None, approval_required: bool,
           external_id: str | None, off_statement: bool,
           aging_from: datetime.datetime | None, on: datetime.datetime | None, as_json: bool,
           decimal_comma: bool) -> None:
    """File an adjustment request."""
    requester = require_user(user)
    money = parse_money(amount, "--amount", decimal_comma=decimal_comma)
    try:
        customer_move(adj_type, money)  # refused before the ledger is read
    except PostingError as exc:
        raise Refused(f"--{exc.what}: {exc.message}") from None
    meta = request_meta(invoice=invoice, order=order, ticket=ticket, document=document,
                        effective=effective.date() if effective else None,
                        approval_required=approval_required, notes=notes,
                        external_id=external_id, on_statement=not off_statement,
                        aging_from=aging_from.date() if aging_from else None)

    chosen: list[str] = []

    def request(entries: list[data.Directive], book: Book) -> list[NewRequest]:
        # Built from the writer's own load: the ledger is parsed once.
        try:
            # A name picks its customer; a customer named nowhere is the writer's refusal.
            who = customer_id(book.directory, customer) or customer
        except CustomerError as exc:
            raise Refused(f"--customer: {exc}") from None
        chosen.append(who)
        try:
            postings = request_postings(entries, book, adj_type=adj_type, customer=who,
                                        money=money, offset_account=offset_account,
                                        receivable_account=receivable_account)
        except PostingError as exc:
            raise Refused(f"--{exc.what}: {exc.message}") from None
        return [NewRequest(
            type=adj_type, customer=who, requested_by=requester, reason=reason,
            postings=postings, category=category, id=adj_id, narration=narration,
            date=as_date(on), meta=meta, entered_by=requester)]

    try:
        result = write_requests(ledger, request)
    except WriteRefused as exc:
        if as_json:
            emit_json(write_json(None, exc.refusals))
            raise click.exceptions.Exit(1) from None
        raise refused(exc) from None
    new_id = result.ids[0]
    adj = result.book.get(new_id) if result.book else None
    if as_json:
        emit_json({**write_json(result), "id": new_id,
                   "state": str(adj.state) if adj else None,
                   "chain": list(adj.chain) if adj else [],
                   "requires": requirements(adj) if adj else None})
        return
    wrote(result, "request")
    click.echo(f"{new_id}: {adj_type} {money_text(money)} for {chosen[-1]}")
    if adj is not None:
        click.echo(f"  needs: {approval_text(adj)}")
        click.echo(f"  state: {adj.state} ({requirements(adj)})")


COMMANDS = [create]
__all__ = ["COMMANDS", "DEFAULT_OFFSET", "create", "default_receivable"]
