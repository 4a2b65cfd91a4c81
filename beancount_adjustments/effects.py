"""The entries an adjustment puts in the ledger.

Only applied adjustments move balances. The request itself stays in the
journal with its postings removed, and its state in tags and metadata;
applying adds a transaction with the request's postings, cancelling an
applied adjustment adds the exact reverse. Entries are built new, never
mutated; generated ones point (filename, lineno) at the directive that
caused them, so any error about them lands on that line.
"""

from __future__ import annotations

from typing import Any

from beancount.core import data, flags
from beancount.core.amount import Amount

from beancount_adjustments.directives import source_meta
from beancount_adjustments.models import OPEN_STATES, Adjustment, Source, State

TAG_REQUEST = "adjustment-request"
TAG_APPLIED = "adjustment"
TAG_REVERSAL = "adjustment-reversal"


def state_tag(state: State) -> str:
    return f"adjustment-{state}"


def _query_meta(adj: Adjustment) -> dict[str, Any]:
    request = adj.request
    meta: dict[str, Any] = {
        "adjustment-id": request.id,
        "adjustment-state": str(adj.state),
        "adjustment-type": request.type,
        "adjustment-kind": str(request.kind),
        "customer": request.customer,
        "requested-by": request.requested_by,
        "reason": request.reason,
    }
    if request.category:
        meta["adjustment-category"] = request.category
    if adj.approvals:
        meta["approved-by"] = ",".join(adj.approvers)
    if adj.amount is not None:
        meta["adjustment-amount"] = Amount(adj.amount.number, adj.amount.currency)
    return meta


def request_entry(entry: data.Transaction, adj: Adjustment | None) -> data.Transaction:
    """The request as it stays in the journal: visible, with no effect."""
    state = adj.state if adj is not None else State.INVALID
    meta = dict(entry.meta)
    if adj is not None:
        meta.update((k, v) for k, v in _query_meta(adj).items() if k not in meta)
    meta["adjustment-state"] = str(state)
    flag = (flags.FLAG_WARNING if state in OPEN_STATES or state is State.INVALID
            else flags.FLAG_OKAY)
    tags = (entry.tags or frozenset()) | {TAG_REQUEST, state_tag(state)}
    return entry._replace(meta=meta, flag=flag, tags=frozenset(tags), postings=[])


def applied_entry(entry: data.Transaction, adj: Adjustment) -> data.Transaction:
    return _generated(entry, adj, adj.applied_source, TAG_APPLIED, negate=False)


def reversal_entry(entry: data.Transaction, adj: Adjustment) -> data.Transaction:
    return _generated(entry, adj, adj.reversed_source, TAG_REVERSAL, negate=True)


def _generated(entry: data.Transaction, adj: Adjustment, source: Source | None,
               tag: str, *, negate: bool) -> data.Transaction:
    meta = source_meta(source or adj.request.source)
    meta.update(_query_meta(adj))
    date = adj.reversed_on if negate else adj.effective_date
    assert date is not None, "only applied adjustments generate entries"
    narration = entry.narration or ""
    if negate:
        meta["reverses"] = adj.request.id
        narration = f"Reversal of {adj.request.id}: {narration}"
    postings = [
        posting._replace(
            meta=None,
            units=-posting.units if negate and posting.units is not None else posting.units)
        for posting in entry.postings
    ]
    tags = ((entry.tags or frozenset()) - {TAG_REQUEST}) | {tag}
    return data.Transaction(
        meta, date, flags.FLAG_OKAY, entry.payee, narration, frozenset(tags),
        frozenset(entry.links or ()) | {adj.request.id}, postings)


def entries_for(entry: data.Transaction, adj: Adjustment | None) -> list[data.Transaction]:
    """Everything one request contributes to the ledger."""
    out = [request_entry(entry, adj)]
    if adj is not None and adj.effective_date is not None and adj.applied_on is not None:
        out.append(applied_entry(entry, adj))
        if adj.state is State.REVERSED and adj.reversed_on is not None:
            out.append(reversal_entry(entry, adj))
    return out
