"""Invoices and orders by id (`invoice-id:`, `order-id:`), indexed as the
plugin meets them and built into a `Reference` only when looked up."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.beans.metadata import MetaReader, source_of
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.models import Money
from beancount_adjustments.core.references import Reference, ReferenceIndex, Terms


class References(ReferenceIndex):
    """Invoices (or orders) by id, read only when asked for.

    A ledger holds far more invoices than adjustments ever name, so the
    plugin indexes the entries and builds a `Reference` on first lookup
    (the replay's checks read only their `terms`).
    """

    def __init__(self, key: str, receivable: str) -> None:
        self.key = key
        self.receivable = receivable
        self._entries: dict[str, data.Transaction] = {}
        self._built: dict[str, Reference] = {}
        # The replay reads an invoice's terms when a request names it and again
        # when a credit against it is applied.
        self._terms: dict[str, Terms] = {}

    def terms(self, ref_id: str) -> Terms | None:
        found = self._terms.get(ref_id)
        if found is not None:
            return found
        entry = self._entries.get(ref_id)
        if entry is None:
            return None
        totals: dict[str, Decimal] = {}
        for posting in entry.postings:
            units = posting.units
            if (is_under(posting.account, self.receivable) and isinstance(units, Amount)
                    and isinstance(units.number, Decimal)):
                totals[units.currency] = totals.get(units.currency, Decimal(0)) + units.number
        # One currency on the receivable makes an amount; several make none.
        currency, number = next(iter(totals.items())) if len(totals) == 1 else (None, None)
        customer = entry.meta.get("customer")
        found = self._terms[ref_id] = Terms(
            customer if isinstance(customer, str) else None, currency, number)
        return found

    def add(self, entry: data.Transaction, reader: MetaReader) -> None:
        ref_id = entry.meta[self.key]
        if not isinstance(ref_id, str) or not ref_id.strip():
            reader.problem("bad-metadata", source_of(entry),
                           f"`{self.key}:` must be a non-empty string, not {ref_id!r}.")
            return
        ref_id = ref_id.strip()
        first = self._entries.get(ref_id)
        if first is not None:
            where = source_of(first)
            reader.problem("duplicate-reference", source_of(entry),
                           f"{self.key} \"{ref_id}\" is already used by the transaction at "
                           f"{where.filename}:{where.lineno}.")
            return
        self._entries[ref_id] = entry

    def __getitem__(self, ref_id: str) -> Reference:
        found = self._built.get(ref_id)
        if found is None:
            entry = self._entries[ref_id]
            terms = self.terms(ref_id)
            amount = None
            if terms is not None and terms.currency is not None and terms.number is not None:
                amount = Money(terms.number, terms.currency)
            found = self._built[ref_id] = Reference(
                id=ref_id, date=entry.date,
                customer=terms.customer if terms is not None else None, amount=amount,
                narration=entry.narration or "", source=source_of(entry))
        return found

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
