"""Reading requests and their decisions: `Reader` turns an adjustment request
(a transaction with `adjustment-type:`) into a `Request` and a
`custom "adjustment"` event into an `Event`, or None and the problems that say
why. It is the one reader the plugin and the writer use; the rule directives
come from `RuleReader`, each value from `MetaReader`."""

from __future__ import annotations

import datetime
import unicodedata
from decimal import Decimal
from typing import Any

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.beans.balancing import Balancing
from beancount_adjustments.beans.metadata import CONTROL_ONE_LINE, control_problem, source_of
from beancount_adjustments.beans.rules import CATEGORY_RE, TYPE_RE, RuleReader
from beancount_adjustments.core import lookalike
from beancount_adjustments.core.models import (
    Action,
    Annotation,
    Event,
    Money,
    Posting,
    Request,
    Source,
)
from beancount_adjustments.core.policy import parse_chain
from beancount_adjustments.core.receivable_rule import DEFAULT_TOLERANCE

__all__ = ["EVENT", "Reader"]

EVENT = "adjustment"

_DIGESTED_ONE_LINE = ("customer", "requested-by", "entered-by", "invoice", "order", "document",
                      "risk")
"""A request's one-line texts the digest reads (type and category have their own
patterns, ids and accounts Beancount's grammar)."""


_ACTIONS = {action.value: action for action in Action}
_OPTIONAL_KEYS = ("risk", "invoice", "order", "ticket", "document", "effective", "external-id",
                  "entered-by", "at", "judged", "chain", "notes", "approval-required",
                  "on-statement", "aging-from", "customer-reason")
"""A request's optional keys, in the order their problems are reported."""


class Reader(RuleReader):
    """Reads requests and events (and, inherited, every rule directive and value)."""

    balancing = Balancing()
    """The ledger's tolerance options (`read` sets them; the defaults judge nothing)."""

    def event(self, entry: data.Custom) -> Event | None:
        meta = entry.meta
        source = source_of(entry)
        values = entry.values or ()
        if (len(values) != 2 or not isinstance(values[0].value, str)
                or not isinstance(values[1].value, str)):
            self.problem("malformed-directive", source,
                         'custom "adjustment" takes an id and an action: '
                         'custom "adjustment" "ADJ-2026-0042" "approve".')
            return None
        adj_id = values[0].value.strip()
        action = _ACTIONS.get(values[1].value.strip())
        if action is None:
            self.problem("unknown-action", source,
                         f"{adj_id}: unknown action {values[1].value!r}; use one of "
                         f"{', '.join(a.value for a in Action)}.", adj_id)
            return None
        what = f"{adj_id} {action}"
        by = self.text(meta, "by", source, what)
        if by is None:
            self.problem("missing-identity", source,
                         f"{what}: every decision needs `by:` naming who made it; "
                         "an action without an identity does not count.", adj_id)
            return None
        reason = self.text(meta, "reason", source, what)
        if reason is None and action in (Action.REJECT, Action.CANCEL):
            self.problem("missing-reason", source,
                         f"{what}: a {action} needs `reason:` saying why; it does not count "
                         "without one.", adj_id)
            return None
        at = meta.get("at")
        chain = self.text(meta, "chain", source, what)
        return Event(adj_id, action, entry.date, by, reason,
                     self.text(meta, "comment", source, what),
                     str(at) if at is not None else None,
                     self.text(meta, "digest", source, what),
                     self.date(meta, "effective", source, what),
                     self.text(meta, "signature", source, what), source,
                     self.amount(meta, "judged", source, what),
                     None if chain is None else parse_chain(chain),
                     self.amount(meta, "limit-judged", source, what))

    # -- transactions -------------------------------------------------------

    def request(self, entry: data.Transaction) -> Request | None:
        meta = entry.meta
        source = source_of(entry)
        adj_id = self._request_id(entry, source)
        if adj_id is None:
            return None
        written_type = meta.get("adjustment-type")
        adj_type = written_type.strip() if isinstance(written_type, str) else None
        if adj_type is None or not TYPE_RE.match(adj_type):
            self.problem("bad-type", source,
                         f"{adj_id}: `adjustment-type:` must be credit:, debit: or billing: "
                         "and a subtype (for example \"credit:refund\"), not "
                         f"{written_type!r}.", adj_id)
            return None
        category = self.text(meta, "category", source, adj_id)
        if category is not None and not CATEGORY_RE.match(category):
            self.problem("bad-category", source,
                         f"{adj_id}: `category:` must read group:name (for example "
                         f"\"operational:billing-error\"), not {category!r}.", adj_id)
            return None
        customer = self.text(meta, "customer", source, adj_id)
        reason = self.text(meta, "reason", source, adj_id)
        requested_by = self.text(meta, "requested-by", source, adj_id)
        if customer is None or reason is None or requested_by is None:
            missing = [key for key, value in (("customer", customer), ("reason", reason),
                                              ("requested-by", requested_by)) if value is None]
            keys = ", ".join(f"`{key}:`" for key in missing)
            self.problem("missing-metadata", source,
                         f"{adj_id}: a request needs {keys}; add "
                         f"{'it' if len(missing) == 1 else 'them'} to the transaction.",
                         adj_id)
            return None
        postings = []
        annotations = []
        for posting in entry.postings:
            units = posting.units
            if (not isinstance(units, Amount) or not isinstance(units.number, Decimal)
                    or not isinstance(units.currency, str)):
                self.problem("bad-posting", source,
                             f"{adj_id}: posting to {posting.account} has no complete amount.",
                             adj_id)
                return None
            postings.append(Posting(posting.account, units.number, units.currency))
            if posting.price is not None or posting.cost is not None:
                annotations.append(_annotation(posting))
        over = self.balancing.left_over(entry.postings)
        if over is not None:
            # The approval reads what the customer's account moves; an offset leg of
            # 5,000 USD on a 1 USD credit would book what nobody approved.
            self.problem("bad-posting", source,
                         f"{adj_id}: the postings leave {over} over, more than "
                         f"{DEFAULT_TOLERANCE} allows; they balance only by the ledger's "
                         "tolerance options: make the legs match.", adj_id)
            return None
        optional: dict[str, Any] = {}
        for key in _OPTIONAL_KEYS:
            value = meta.get(key)
            if value is None:
                continue
            if key in ("effective", "aging-from"):
                value = self.date(meta, key, source, adj_id)
            elif key == "judged":
                value = self.amount(meta, key, source, adj_id)
            elif key == "at":
                value = str(value)
            elif key in ("approval-required", "on-statement"):
                if not isinstance(value, bool):
                    self.problem("bad-metadata", source,
                                 f"{adj_id}: `{key}:` is TRUE or FALSE, not "
                                 f"{value!r}.", adj_id)
                    return None
            else:
                value = self.text(meta, key, source, adj_id)
            optional[key] = value
        pick = optional.get
        one_line = {"customer": customer, "requested-by": requested_by,
                    **{key: pick(key) for key in _DIGESTED_ONE_LINE[2:]}}
        control = control_problem("`reason:`", reason, one_line=False)
        if control is None and CONTROL_ONE_LINE.search("".join(filter(None, one_line.values()))):
            # Found in one of them: say which.
            control = next(filter(None, (control_problem(f"`{key}:`", text)
                                         for key, text in one_line.items())))
        hidden = lookalike.invisible(customer)
        if control is None and hidden is not None:
            # As a declaration's: "cust\u200b_123" reads as cust_123 on every page.
            control = (f"`customer:` {customer!r} holds an invisible character ({hidden}); "
                       "it would read as another customer: remove it")
        external = pick("external-id")
        if control is None and external is not None and not external.isascii():
            # A retry is known by its external id's text: "T-1\u200b", or an é written
            # decomposed, reads as the id a request holds and filed a second one.
            hidden = lookalike.invisible(external)
            if hidden is not None or not unicodedata.is_normalized("NFC", external):
                control = (f"`external-id:` {external!r} holds "
                           + (f"an invisible character ({hidden})" if hidden else
                              "letters in decomposed form (not Unicode NFC)")
                           + "; it would read as another id: write it as it reads")
        if control is not None:
            # \x1e and \x1f separate the digest's fields: text moved across them
            # would keep an approval.
            self.problem("bad-metadata", source, f"{adj_id}: {control}.", adj_id)
            return None
        risk, chain = pick("risk"), pick("chain")
        return Request(
            adj_id, entry.date, adj_type, category, customer, requested_by, reason,
            entry.payee, entry.narration or "", tuple(postings), source, pick("invoice"),
            pick("order"), pick("ticket"), pick("document"), pick("effective"),
            tuple(r.strip() for r in risk.split(",") if r.strip()) if risk else (),
            pick("external-id"), pick("entered-by"), pick("at"), pick("judged"),
            None if chain is None else parse_chain(chain), pick("notes"),
            pick("approval-required") is True, pick("on-statement") is not False,
            pick("aging-from"), tuple(annotations), pick("customer-reason"))

    def _request_id(self, entry: data.Transaction, source: Source) -> str | None:
        explicit = entry.meta.get("adjustment-id")
        given = entry.links
        if explicit is None and given and len(given) == 1:
            for link in given:
                return str(link)
        links = sorted(given or ())
        if explicit is not None:
            if isinstance(explicit, str) and explicit.strip() in links:
                return explicit.strip()
            self.problem("bad-id", source,
                         f"`adjustment-id: {explicit!r}` must name one of the request's links "
                         f"({', '.join(links) or 'it has none'}).")
            return None
        if len(links) == 1:
            return links[0]
        if not links:
            self.problem("bad-id", source,
                         "an adjustment request needs its id as a link, for example "
                         "^ADJ-2026-0042 at the end of the transaction's first line.")
        else:
            self.problem("bad-id", source,
                         f"the request has several links ({', '.join(links)}); add "
                         "`adjustment-id:` naming the one that is its id.")
        return None


def _annotation(posting: data.Posting) -> Annotation:
    """A posting's price and cost as the digest binds them (`None` where absent or
    incomplete: an incomplete one is Beancount's to report)."""
    def amount_of(number: object, currency: object) -> Money | None:
        if isinstance(number, Decimal) and isinstance(currency, str):
            return Money(number, currency)
        return None

    units, price, cost = posting.units, posting.price, posting.cost
    number = units.number if isinstance(units, Amount) else None
    date, label = getattr(cost, "date", None), getattr(cost, "label", None)
    return Annotation(
        posting.account, number if isinstance(number, Decimal) else Decimal(0),
        units.currency if isinstance(units, Amount) and isinstance(units.currency, str) else "",
        amount_of(price.number, price.currency) if isinstance(price, Amount) else None,
        amount_of(getattr(cost, "number", None), getattr(cost, "currency", None)),
        date if isinstance(date, datetime.date) else None,
        label if isinstance(label, str) else None)


