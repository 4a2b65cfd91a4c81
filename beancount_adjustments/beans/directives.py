"""Beancount entries in, domain models out (and problems for what is malformed).

The one place that knows how adjustments are spelled in a ledger. Each
reader takes one entry and returns a model, or ``None`` and the problems
that say why the entry could not be read. Nothing here raises on bad input.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.core import lookalike
from beancount_adjustments.core.models import (
    Action,
    Annotation,
    ApprovalRow,
    CustomerRecord,
    Declaration,
    Event,
    Money,
    PeriodLock,
    Posting,
    Problem,
    Reference,
    ReferenceIndex,
    Request,
    Source,
    Terms,
    TypePolicy,
    UserGrant,
    build,
    is_under,
    maker,
)
from beancount_adjustments.core.policy import parse_chain

USER = "adjustment-user"
CUSTOMER = "adjustment-customer"
APPROVAL = "adjustment-approval"
POLICY = "adjustment-policy"
LOCK = "adjustment-lock"
EVENT = "adjustment"
TYPE_DECLARATION = "adjustment-type"
CATEGORY_DECLARATION = "adjustment-category"

TYPE_RE = re.compile(r"^(credit|debit|billing):[a-z0-9][a-z0-9-]*$")
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9-]*$")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""What no text may hold: NUL, the C0 controls but tab and newline, DEL (a NUL
from a spreadsheet cell would end Beancount's reading of the string; \\x1e and
\\x1f are the digest's separators; the others are invisible in every viewer)."""
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")
"""Names, ids, accounts and the like: no tab or newline either."""
_DIGESTED_ONE_LINE = ("customer", "requested-by", "entered-by", "invoice", "order", "document",
                      "risk")
"""A request's one-line texts the digest reads (type and category have their own
patterns, ids and accounts Beancount's grammar)."""


def control_problem(what: str, text: str | None, *, one_line: bool = True) -> str | None:
    """Why `text` cannot be in a ledger (a control character in it), or None.

    The one rule: the request reader refuses what the writer, the CLI, the API
    and CSV import refuse, with this same message.
    """
    if text is None:
        return None
    found = (_CONTROL_ONE_LINE if one_line else _CONTROL).search(text)
    if found is None:
        return None
    char = found.group()
    name = {"\x00": "a NUL byte", "\t": "a tab", "\n": "a line break", "\r": "a carriage return",
            "\x7f": "a DEL character"}.get(char, f"the control character U+{ord(char):04X}")
    return (f"{what} holds {name} (at character {found.start() + 1}); remove it: no control "
            "character is written to a ledger (an approval's digest could not tell the "
            "fields apart)")


def source_of(entry: Any) -> Source:
    meta = getattr(entry, "meta", None) or {}
    filename = meta.get("filename")
    lineno = meta.get("lineno")
    return Source(
        filename=filename if isinstance(filename, str) else "<unknown>",
        lineno=lineno if isinstance(lineno, int) else 0,
    )


def source_meta(source: Source) -> dict[str, Any]:
    return {"filename": source.filename, "lineno": source.lineno}


def money(amount: Amount) -> Money:
    return Money(amount.number or Decimal(0), amount.currency)


_new_reference = maker(Reference, "id", "date", "customer", "amount", "narration", "source")
_ACTIONS = {action.value: action for action in Action}
# An event written with only these keys (what the tools write for an unsigned
# decision with no `effective:`) is read on a short path; anything else takes
# the careful one.
_PLAIN_EVENT_KEYS = frozenset({"filename", "lineno", "by", "at", "digest", "reason",
                               "comment", "chain", "judged"})
_NEEDS_REASON = frozenset({Action.REJECT, Action.CANCEL})
# A request's optional keys, in the order their problems have always been reported.
_OPTIONAL_KEYS = ("risk", "invoice", "order", "ticket", "document", "effective", "external-id",
                  "entered-by", "at", "judged", "chain", "notes", "approval-required",
                  "on-statement", "aging-from")
_OPTIONAL_KEY_SET = frozenset(_OPTIONAL_KEYS)
_OPTIONAL_KEY_ORDER = {key: index for index, key in enumerate(_OPTIONAL_KEYS)}
_tuple_new = tuple.__new__


def _source(meta: Mapping[str, Any]) -> Source:
    """`source_of` for an entry's own metadata (the readers' hot path)."""
    filename = meta.get("filename")
    lineno = meta.get("lineno")
    if type(filename) is str and type(lineno) is int:
        return _tuple_new(Source, (filename, lineno))
    return Source(filename if isinstance(filename, str) else "<unknown>",
                  lineno if isinstance(lineno, int) else 0)


def _plain(value: object) -> str | None:
    """`value` stripped when it is a non-empty string (the usual case), else None:
    the caller then lets `Reader.text` judge it and report what is wrong."""
    if type(value) is str:
        return value.strip() or None
    return None


# Types and categories repeat across thousands of requests: each distinct
# spelling is matched against its pattern once (up to a bound).
_MATCHED: dict[tuple[re.Pattern[str], str], bool] = {}


def _matches(pattern: re.Pattern[str], text: str) -> bool:
    key = (pattern, text)
    found = _MATCHED.get(key)
    if found is None:
        found = pattern.match(text) is not None
        if len(_MATCHED) < 4096:
            _MATCHED[key] = found
    return found


@dataclass
class Reader:
    """Collects the problems met while reading entries."""

    problems: list[Problem] = field(default_factory=list)

    def problem(self, code: str, source: Source, message: str,
                adjustment_id: str | None = None) -> None:
        self.problems.append(build(Problem,
            code=code, message=message, source=source, adjustment_id=adjustment_id))

    # -- helpers over metadata ---------------------------------------------

    def text(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> str | None:
        value = meta.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be a non-empty string, not {value!r}.")
        return None

    def date(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> datetime.date | None:
        value = meta.get(key)
        if value is None:
            return None
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be a date (2026-11-20), not {value!r}.")
        return None

    def amount(self, meta: Mapping[str, Any], key: str, source: Source,
               what: str) -> Money | None:
        value = meta.get(key)
        if value is None:
            return None
        if isinstance(value, Amount) and isinstance(value.number, Decimal):
            return money(value)
        self.problem("bad-metadata", source,
                     f"{what}: `{key}:` must be an amount such as `500.00 USD`, not {value!r}.")
        return None

    def choice(self, meta: Mapping[str, Any], key: str, options: tuple[str, ...],
               source: Source, what: str) -> str | None:
        value = self.text(meta, key, source, what)
        if value is None or value in options:
            return value
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` is {' or '.join(repr(o) for o in options)}, "
                     f"not {value!r}.")
        return None

    def flag(self, meta: Mapping[str, Any], key: str, source: Source,
             what: str) -> bool | None:
        value = meta.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` is TRUE or FALSE, not {value!r}.")
        return None

    def days(self, meta: Mapping[str, Any], key: str, least: int, source: Source,
             what: str) -> int | None:
        """A whole number of days from `least` (up to a century: a larger one is a typo)."""
        value = meta.get(key)
        if value is None:
            return None
        if (isinstance(value, Decimal) and value == value.to_integral_value()
                and least <= value <= 36600):
            return int(value)
        self.problem("malformed-directive", source,
                     f"{what}: `{key}:` must be a whole number of days from {least}, "
                     f"not {value!r}.")
        return None

    # -- custom directives --------------------------------------------------

    def strings(self, entry: data.Custom, source: Source, what: str,
                first: int = 0) -> list[str] | None:
        values = []
        for position, value in enumerate((entry.values or [])[first:], start=first + 1):
            if not isinstance(value.value, str) or not value.value.strip():
                self.problem("malformed-directive", source,
                             f"{what}: value {position} must be a non-empty string, "
                             f"not {value.value!r}.")
                return None
            values.append(value.value.strip())
        return values

    def user(self, entry: data.Custom) -> UserGrant | None:
        source = source_of(entry)
        what = f'custom "{USER}"'
        names = self.strings(entry, source, what)
        if names is None:
            return None
        if not names:
            self.problem("malformed-directive", source,
                         f'{what} needs a user name: custom "{USER}" "bob" "manager".')
            return None
        hidden = lookalike.invisible(names[0]) or (
            "a control character" if _CONTROL_ONE_LINE.search(names[0]) else None)
        if hidden is not None:
            # "bo\u200bb" reads as bob on every page, and decides as someone else.
            self.problem("malformed-directive", source,
                         f"{what}: the user name {names[0]!r} holds an invisible character "
                         f"({hidden}); it would read as another name: remove it.")
            return None
        limit = self.amount(entry.meta, "limit", source, f"user {names[0]}")
        if limit is not None and limit.number < 0:
            self.problem("malformed-directive", source,
                         f"user {names[0]}: `limit:` must not be negative.")
            limit = None
        return build(UserGrant,
            date=entry.date, user=names[0], roles=tuple(names[1:]), limit=limit,
            email=self.text(entry.meta, "email", source, f"user {names[0]}"),
            git=self.text(entry.meta, "git", source, f"user {names[0]}"), source=source)

    def customer(self, entry: data.Custom) -> CustomerRecord | None:
        source = source_of(entry)
        what = f'custom "{CUSTOMER}"'
        values = self.strings(entry, source, what)
        if values is None:
            return None
        if len(values) not in (1, 2):
            self.problem("malformed-directive", source,
                         f'{what} takes a customer id and, optionally, a tier: '
                         f'custom "{CUSTOMER}" "cust_123" "vip".')
            return None
        return build(CustomerRecord,
            date=entry.date, customer=values[0], tier=values[1] if len(values) == 2 else None,
            name=self.text(entry.meta, "name", source, f"customer {values[0]}"),
            contact=self.text(entry.meta, "contact", source, f"customer {values[0]}"),
            source=source)

    def approval_row(self, entry: data.Custom) -> ApprovalRow | None:
        source = source_of(entry)
        what = f'custom "{APPROVAL}"'
        usage = (f'{what} takes a type pattern, a threshold and roles: '
                 f'custom "{APPROVAL}" "credit:*" 25.00 USD "manager".')
        values = entry.values or ()
        if (len(values) < 2 or not isinstance(values[0].value, str)
                or not isinstance(values[1].value, Amount)):
            self.problem("malformed-directive", source, usage)
            return None
        roles = self.strings(entry, source, what, first=2)
        if roles is None:
            return None
        threshold = money(values[1].value)
        if threshold.number < 0:
            self.problem("malformed-directive", source,
                         f"{what}: the threshold must not be negative.")
            return None
        if len(set(roles)) != len(roles):
            self.problem("malformed-directive", source,
                         f"{what}: a role appears twice in the chain {roles}; each level "
                         "needs a different person, so list each role once.")
            return None
        return build(ApprovalRow,
            date=entry.date, pattern=values[0].value.strip(), threshold=threshold,
            roles=tuple(roles),
            customer_tier=self.text(entry.meta, "customer-tier", source, what),
            category=self.text(entry.meta, "category", source, what),
            risk=self.text(entry.meta, "risk", source, what),
            source=source)

    def type_policy(self, entry: data.Custom) -> TypePolicy | None:
        source = source_of(entry)
        what = f'custom "{POLICY}"'
        values = self.strings(entry, source, what)
        if values is None:
            return None
        if len(values) != 1:
            self.problem("malformed-directive", source,
                         f'{what} takes one type pattern: custom "{POLICY}" "billing:*".')
            return None
        meta = entry.meta
        apply = self.choice(meta, "apply", ("separate", "on-approval"), source, what)
        signatures = self.choice(meta, "signatures", ("required", "optional"), source, what)
        git_identity = self.choice(meta, "git-identity", ("required", "optional"), source, what)
        require_at = self.flag(meta, "require-at", source, what)
        hold = self.flag(meta, "hold-until-billed", source, what)
        return build(TypePolicy,
            date=entry.date, pattern=values[0],
            separate_apply=None if apply is None else apply == "separate",
            document_above=self.amount(meta, "document-above", source, what),
            sla_days=self.days(meta, "sla-days", 1, source, what),
            signatures_required=None if signatures is None else signatures == "required",
            backdate_days=self.days(meta, "backdate-days", 0, source, what),
            require_at=require_at,
            git_identity=None if git_identity is None else git_identity == "required",
            hold_until_billed=hold,
            statement_text=self.text(meta, "statement-text", source, what),
            manual_chain=self.manual_chain(meta, source, what), source=source)

    def manual_chain(self, meta: Mapping[str, Any], source: Source,
                     what: str) -> tuple[str, ...] | None:
        """`manual-chain: "manager > finance"`: roles in order, as `chain:` writes them."""
        text = self.text(meta, "manual-chain", source, what)
        if text is None:
            return None
        roles = parse_chain(text)
        if not roles or len(set(roles)) != len(roles):
            self.problem("malformed-directive", source,
                         f'{what}: `manual-chain:` lists roles in order, each once, like '
                         f'"manager > finance", not {text!r}.')
            return None
        return roles

    def declaration(self, entry: data.Custom) -> Declaration | None:
        """`custom "adjustment-type" "credit:courtesy"` or `"adjustment-category" "ops:x"`."""
        source = source_of(entry)
        kind = "type" if entry.type == TYPE_DECLARATION else "category"
        pattern = TYPE_RE if kind == "type" else CATEGORY_RE
        example = "credit:courtesy" if kind == "type" else "operational:audit-finding"
        values = self.strings(entry, source, f'custom "{entry.type}"')
        if values is None:
            return None
        if len(values) != 1 or not pattern.match(values[0]):
            self.problem("malformed-directive", source,
                         f'custom "{entry.type}" declares one {kind} of your own, spelled '
                         f'like "{example}".')
            return None
        return build(Declaration, date=entry.date, kind=kind, name=values[0], source=source)

    def lock(self, entry: data.Custom) -> PeriodLock | None:
        source = source_of(entry)
        values = entry.values or ()
        if len(values) != 1 or not isinstance(values[0].value, datetime.date):
            self.problem("malformed-directive", source,
                         f'custom "{LOCK}" takes one date, the last day closed: '
                         f'custom "{LOCK}" 2026-10-31.')
            return None
        through = values[0].value
        if through >= entry.date:
            self.problem("malformed-directive", source,
                         f'custom "{LOCK}": a lock declared on {entry.date} can only close '
                         f"days before it, not through {through}.")
            return None
        return build(PeriodLock,
            date=entry.date, through=through,
            by=self.text(entry.meta, "by", source, "lock"), source=source)

    def event(self, entry: data.Custom) -> Event | None:
        meta = entry.meta
        values = entry.values or ()
        if len(values) == 2 and _PLAIN_EVENT_KEYS.issuperset(meta):  # cheaper than keys() <=
            get = meta.get
            adj_id, action_text = values[0].value, values[1].value
            action = _ACTIONS.get(action_text) if type(action_text) is str else None
            by, reason, comment = _plain(get("by")), _plain(get("reason")), _plain(get("comment"))
            digest = _plain(get("digest"))
            chain = _plain(get("chain"))
            judged = get("judged")
            filename, lineno = get("filename"), get("lineno")
            # Any key present but not a plain string is left to the careful path.
            if (action is not None and by is not None and type(adj_id) is str
                    and type(filename) is str and type(lineno) is int
                    and (reason is not None) == ("reason" in meta)
                    and (comment is not None) == ("comment" in meta)
                    and (digest is not None) == ("digest" in meta)
                    and (chain is not None) == ("chain" in meta)
                    and (judged is None or (type(judged) is Amount
                                            and type(judged.number) is Decimal))
                    and (reason is not None or action not in _NEEDS_REASON)):
                at = get("at")
                return _tuple_new(Event, (
                    adj_id.strip(), action, entry.date, by, reason, comment,
                    str(at) if at is not None else None, digest, None, None,
                    _tuple_new(Source, (filename, lineno)),
                    None if judged is None else money(judged),
                    None if chain is None else parse_chain(chain)))
        source = _source(meta)
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
        # Read each key with `text` only when it is there: most are absent, and
        # there are tens of thousands of events.
        get = meta.get
        by = get("by")
        if by is not None:
            by = self.text(meta, "by", source, what)
        if by is None:
            self.problem("missing-identity", source,
                         f"{what}: every decision needs `by:` naming who made it; "
                         "an action without an identity does not count.", adj_id)
            return None
        reason = get("reason")
        if reason is not None:
            reason = self.text(meta, "reason", source, what)
        if reason is None and (action is Action.REJECT or action is Action.CANCEL):
            self.problem("missing-reason", source,
                         f"{what}: a {action} needs `reason:` saying why; it does not count "
                         "without one.", adj_id)
            return None
        comment = get("comment")
        if comment is not None:
            comment = self.text(meta, "comment", source, what)
        at = get("at")
        digest = get("digest")
        if digest is not None:
            digest = self.text(meta, "digest", source, what)
        effective = get("effective")
        if effective is not None:
            effective = self.date(meta, "effective", source, what)
        signature = get("signature")
        if signature is not None:
            signature = self.text(meta, "signature", source, what)
        judged = get("judged")
        if judged is not None:
            judged = self.amount(meta, "judged", source, what)
        chain = get("chain")
        if chain is not None:
            chain = self.text(meta, "chain", source, what)
        return Event(adj_id, action, entry.date, by, reason, comment,
                     str(at) if at is not None else None, digest, effective, signature,
                     source, judged, None if chain is None else parse_chain(chain))

    # -- transactions -------------------------------------------------------

    def request(self, entry: data.Transaction) -> Request | None:
        meta = entry.meta
        source = _source(meta)
        adj_id = self._request_id(entry, source)
        if adj_id is None:
            return None
        get = meta.get
        written_type = get("adjustment-type")
        adj_type = written_type.strip() if isinstance(written_type, str) else None
        if adj_type is None or not _matches(TYPE_RE, adj_type):
            self.problem("bad-type", source,
                         f"{adj_id}: `adjustment-type:` must be credit:, debit: or billing: "
                         "and a subtype (for example \"credit:refund\"), not "
                         f"{written_type!r}.", adj_id)
            return None
        category = get("category")
        if category is not None:
            category = _plain(category) or self.text(meta, "category", source, adj_id)
        if category is not None and not _matches(CATEGORY_RE, category):
            self.problem("bad-category", source,
                         f"{adj_id}: `category:` must read group:name (for example "
                         f"\"operational:billing-error\"), not {category!r}.", adj_id)
            return None
        customer = _plain(get("customer"))
        reason = _plain(get("reason"))
        requested_by = _plain(get("requested-by"))
        if customer is None or reason is None or requested_by is None:
            missing = [key for key in ("customer", "reason", "requested-by")
                       if self.text(meta, key, source, adj_id) is None]
            if missing:
                keys = ", ".join(f"`{key}:`" for key in missing)
                self.problem("missing-metadata", source,
                             f"{adj_id}: a request needs {keys}; add "
                             f"{'it' if len(missing) == 1 else 'them'} to the transaction.",
                             adj_id)
                return None
            customer, reason, requested_by = (
                meta["customer"].strip(), meta["reason"].strip(), meta["requested-by"].strip())
        postings = []
        annotations: list[Annotation] = []
        amount_type = Amount
        for posting in entry.postings:
            units = posting.units
            if posting.price is not None or posting.cost is not None:
                annotations.append(_annotation(posting))
            if type(units) is amount_type:
                number, currency = units.number, units.currency
                if type(number) is Decimal and type(currency) is str:
                    postings.append(_tuple_new(Posting, (posting.account, number, currency)))
                    continue
            if (not isinstance(units, Amount) or not isinstance(units.number, Decimal)
                    or not isinstance(units.currency, str)):
                self.problem("bad-posting", source,
                             f"{adj_id}: posting to {posting.account} has no complete amount.",
                             adj_id)
                return None
            postings.append(Posting(posting.account, units.number, units.currency))
        # Optional keys are read only when present (most are absent), in the order
        # their problems have always been reported.
        optional: dict[str, Any] = {}
        present = meta.keys() & _OPTIONAL_KEY_SET
        for key in sorted(present, key=_OPTIONAL_KEY_ORDER.__getitem__) if present else ():
            value = get(key)
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
                value = _plain(value) or self.text(meta, key, source, adj_id)
            optional[key] = value
        pick = optional.get
        control = (control_problem("`reason:`", reason, one_line=False)
                   or next(filter(None, (control_problem(f"`{key}:`", text) for key, text in (
                       ("customer", customer), ("requested-by", requested_by),
                       *((key, pick(key)) for key in _DIGESTED_ONE_LINE[2:]))
                       if text is not None)), None))
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
            pick("aging-from"), tuple(annotations))

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

    def add(self, entry: data.Transaction, reader: Reader) -> None:
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
            found = self._built[ref_id] = _new_reference(
                ref_id, entry.date, terms.customer if terms is not None else None,
                amount, entry.narration or "", source_of(entry))
        return found

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
