"""The entries an adjustment puts in the ledger.

Only applied adjustments move balances. The request itself stays in the
journal with its postings removed, and its state in tags and metadata;
applying adds a transaction with the request's postings, cancelling an
applied adjustment adds the exact reverse. Entries are built new, never
mutated (the applied one takes the request's own postings, which the
request entry no longer holds); generated ones point (filename, lineno) at
the directive that caused them, so any error about them lands on that line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from beancount.core import data, flags
from beancount.core.amount import Amount

from beancount_adjustments.core.models import OPEN_STATES, Adjustment, Source, State
from beancount_adjustments.core.records import Tracked

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_INVALID = State.INVALID
_REVERSED = State.REVERSED

TAG_REQUEST = "adjustment-request"
TAG_APPLIED = "adjustment"
TAG_REVERSAL = "adjustment-reversal"


_STATE_TAGS = {state: f"adjustment-{state}" for state in State}
_STATE_TEXT = {state: str(state) for state in State}
OWN_TAGS = frozenset({TAG_REQUEST, TAG_APPLIED, TAG_REVERSAL, *_STATE_TAGS.values()})
"""The tags only the plugin gives: a request written with one does not keep it (a
credit tagged #adjustment-reversal would read as a reversal on the statement)."""


def _negated(units: Any) -> Any:
    if type(units) is Amount and type(units.number) is Decimal:
        return Amount(-units.number, units.currency)
    return -units if units is not None else units


def _query_meta(adj: Tracked) -> dict[str, Any]:
    """The keys every entry of an adjustment carries for queries.

    Kept to what a query selects on: with its filename and line a generated
    entry's metadata stays within the smaller of CPython's dict sizes, and a
    large ledger has tens of thousands of them. The request entry adds
    `adjustment-amount` to its own keys (`reason:` among them).
    """
    request = adj.request
    meta: dict[str, Any] = {
        "adjustment-id": request.id,
        "adjustment-state": _STATE_TEXT[adj.state],
        "adjustment-type": request.type,
        "adjustment-kind": request.type.partition(":")[0],
        "customer": request.customer,
        "requested-by": request.requested_by,
    }
    if request.category:
        meta["adjustment-category"] = request.category
    approvers = adj.approvers
    if approvers:
        meta["approved-by"] = ",".join(approvers)
    return meta


def request_entry(entry: data.Transaction, adj: Tracked | None,
                  query: dict[str, Any] | None = None,
                  tags: dict[Any, frozenset[str]] | None = None) -> data.Transaction:
    """The request as it stays in the journal: visible, with no effect.

    `query` is `_query_meta(adj)` when the caller already has it; `tags`
    shares equal tag sets between entries (see `entries_for`).
    """
    state = adj.state if adj is not None else _INVALID
    own = entry.meta
    # The entry's own keys first and winning; the query keys it lacks after.
    if adj is None:
        meta = dict(own)
    else:
        meta = own | (query or _query_meta(adj)) | own
        amount = adj.amount
        if amount is not None and "adjustment-amount" not in own:
            meta["adjustment-amount"] = Amount(amount.number, amount.currency)
    meta["adjustment-state"] = _STATE_TEXT[state]
    flag = (flags.FLAG_WARNING if state in OPEN_STATES or state is _INVALID
            else flags.FLAG_OKAY)
    new_tags = _tags(entry.tags, TAG_REQUEST, _STATE_TAGS[state], tags)
    if type(entry) is data.Transaction:  # a subclass keeps its class through _replace
        return data.Transaction(meta, entry.date, flag, entry.payee, entry.narration,
                                new_tags, entry.links, [])
    return entry._replace(meta=meta, flag=flag, tags=new_tags, postings=[])


def applied_entry(entry: data.Transaction, adj: Tracked,
                  query: dict[str, Any] | None = None,
                  tags: dict[Any, frozenset[str]] | None = None) -> data.Transaction:
    return _generated(entry, adj, adj.applied_source, TAG_APPLIED, query=query, tags=tags,
                      negate=False)


def reversal_entry(entry: data.Transaction, adj: Tracked,
                   query: dict[str, Any] | None = None,
                   tags: dict[Any, frozenset[str]] | None = None) -> data.Transaction:
    return _generated(entry, adj, adj.reversed_source, TAG_REVERSAL, query=query, tags=tags,
                      negate=True)


def _tags(base: frozenset[str] | None, add: str, add2: str | None,
          shared: dict[Any, frozenset[str]] | None) -> frozenset[str]:
    """`base` without the plugin's own tags (`OWN_TAGS`), plus `add` and `add2`.

    Request entries get (base | request tag | state tag); generated ones
    base | their tag. Tag sets repeat across thousands of
    entries, and frozensets are immutable, so equal ones are shared through
    `shared`.
    """
    key = (base, add, add2)
    if not isinstance(base, frozenset | None):
        shared = None  # a set cannot be a key
    if shared is not None:
        found = shared.get(key)
        if found is not None:
            return found
    base = (base - OWN_TAGS) if base else frozenset()
    result = (base | {add, add2}) if add2 is not None else base | {add}
    if shared is not None:
        shared[key] = result
    return result


def _generated(entry: data.Transaction, adj: Tracked, source: Source | None,
               tag: str, *, query: dict[str, Any] | None,
               tags: dict[Any, frozenset[str]] | None, negate: bool) -> data.Transaction:
    where = source or adj.request.source
    meta = {"filename": where.filename, "lineno": where.lineno, **(query or _query_meta(adj))}
    date = adj.reversed_on if negate else adj.effective_date
    assert date is not None, "only applied adjustments generate entries"
    narration = entry.narration or ""
    adj_id = adj.request.id
    if negate:
        meta["reverses"] = adj_id
        narration = f"Reversal of {adj_id}: {narration}"
        reversal_approvers = [a.by for a in adj.reversal_approvals]
        if reversal_approvers:
            meta["reversal-approved-by"] = ",".join(reversal_approvers)
    if negate:
        postings = [
            # data.Posting(...) directly: `_replace` costs several times more.
            data.Posting(p.account, _negated(p.units), p.cost, p.price, p.flag, None)
            if type(p) is data.Posting else
            p._replace(meta=None, units=_negated(p.units))
            for p in entry.postings
        ]
    else:
        # The request's very postings (the request entry keeps none of them):
        # nothing is copied, and they keep the lines they are written on.
        postings = entry.postings
    links = entry.links
    # The request's links normally hold its id already: keep that very set.
    if not isinstance(links, frozenset) or adj_id not in links:
        links = frozenset(links or ()) | {adj_id}
    return data.Transaction(
        meta, date, flags.FLAG_OKAY, entry.payee, narration,
        _tags(entry.tags, tag, None, tags), links, postings)


def entries_for(entry: data.Transaction, adj: Tracked | None,
                tags: dict[Any, frozenset[str]] | None = None) -> list[data.Transaction]:
    """Everything one request contributes to the ledger.

    `tags` (any dict, kept across calls) lets the entries share equal tag sets.
    """
    if adj is None:
        return [request_entry(entry, adj, None, tags)]
    # The query metadata is the same on every entry of one adjustment; its
    # values are immutable, so the entries share them.
    query = _query_meta(adj)
    out = [request_entry(entry, adj, query, tags)]
    if adj.effective_date is not None and adj.applied_on is not None:
        out.append(applied_entry(entry, adj, query, tags))
        if adj.state is _REVERSED and adj.reversed_on is not None:
            out.append(reversal_entry(entry, adj, query, tags))
    return out


def own_effect(entry: data.Transaction, adj: Adjustment) -> str | None:
    """`TAG_APPLIED` or `TAG_REVERSAL` when `entry` is the transaction the plugin
    generated for `adj` (booked or reversing), else None.

    What every view that shows "the booked entry" asks: the tag and the link are not
    enough, a transaction written with them is a forgery (`forged-effect`) that would
    pass for the booked one on the detail page, the statement and `show`. The
    plugin's entry is dated where the book says and points at the directive that
    caused it, by Beancount's own line number (an int: a `lineno:` written in the
    ledger reads as a Decimal, so it cannot pass for one)."""
    meta = entry.meta
    lineno = meta.get("lineno") if meta else None
    if type(lineno) is not int or meta.get("adjustment-id") != adj.request.id:
        return None
    tags = entry.tags or frozenset()
    for tag, day, source in ((TAG_APPLIED, adj.effective_date, adj.applied_source),
                             (TAG_REVERSAL, adj.reversed_on, adj.reversed_source)):
        if (tag in tags and source is not None and entry.date == day
                and lineno == source.lineno and meta.get("filename") == source.filename):
            return tag
    return None
