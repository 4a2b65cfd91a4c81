"""Reading the directives that set the rules: users and their roles,
customers and tiers, approval-matrix rows, per-type policies, period locks,
reserved accounts, the receivable rule, and type and category declarations."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from beancount.core import data
from beancount.core.amount import Amount

from beancount_adjustments.beans.metadata import CONTROL_ONE_LINE, MetaReader, money, source_of
from beancount_adjustments.core import lookalike
from beancount_adjustments.core.models import (
    ApprovalRow,
    CustomerRecord,
    Declaration,
    PeriodLock,
    Source,
    TypePolicy,
    UserGrant,
)
from beancount_adjustments.core.notice_lines import recipient_clash
from beancount_adjustments.core.offsets import parse_patterns
from beancount_adjustments.core.policy import parse_chain
from beancount_adjustments.core.receivable_rule import (
    INVOICES_AND_PAYMENTS,
    RECEIVABLE_RULE,
    ReceivableRule,
)
from beancount_adjustments.core.reserved import ReservedPattern, refusal

USER = "adjustment-user"
CUSTOMER = "adjustment-customer"
APPROVAL = "adjustment-approval"
POLICY = "adjustment-policy"
LOCK = "adjustment-lock"
RESERVED = "adjustment-reserved"
TYPE_DECLARATION = "adjustment-type"
CATEGORY_DECLARATION = "adjustment-category"

TYPE_RE = re.compile(r"^(credit|debit|billing):[a-z0-9][a-z0-9-]*$")
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9-]*$")



def _hidden_in(what: str, kind: str, name: str) -> str | None:
    """Why the `kind` (a user name, a customer id) `name` cannot be declared: it holds
    a character that draws nothing (`lookalike.invisible`) or a control one, so it
    would read as another; or None."""
    hidden = lookalike.invisible(name) or (
        "a control character" if CONTROL_ONE_LINE.search(name) else None)
    if hidden is None:
        return None
    return (f"{what}: the {kind} {name!r} holds an invisible character ({hidden}); it would "
            f"read as another {kind.rsplit(maxsplit=1)[-1]}: remove it.")

class RuleReader(MetaReader):
    """Reads the rule directives into models, or None and a problem."""

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
        hidden = _hidden_in(what, "user name", names[0])
        if hidden is not None:
            # "bo\u200bb" reads as bob on every page, and decides as someone else.
            self.problem("malformed-directive", source, hidden)
            return None
        clash = recipient_clash(names[0])
        if clash is not None:
            self.problem("malformed-directive", source,
                         f"{what}: {clash}; name the user without it.")
            return None
        limit = self.amount(entry.meta, "limit", source, f"user {names[0]}")
        if limit is not None and limit.number < 0:
            self.problem("malformed-directive", source,
                         f"user {names[0]}: `limit:` must not be negative.")
            limit = None
        return UserGrant(
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
        hidden = _hidden_in(what, "customer id", values[0])
        if hidden is not None:
            # As for user names: "cust\u200b_123" reads as cust_123 on every page.
            self.problem("malformed-directive", source, hidden)
            return None
        return CustomerRecord(
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
        return ApprovalRow(
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
        git_identity = self.choice(meta, "git-identity", ("required", "signed", "optional"),
                                   source, what)
        require_at = self.flag(meta, "require-at", source, what)
        hold = self.flag(meta, "hold-until-billed", source, what)
        return TypePolicy(
            date=entry.date, pattern=values[0],
            separate_apply=None if apply is None else apply == "separate",
            document_above=self.amount(meta, "document-above", source, what),
            sla_days=self.days(meta, "sla-days", 1, source, what),
            signatures_required=None if signatures is None else signatures == "required",
            backdate_days=self.days(meta, "backdate-days", 0, source, what),
            require_at=require_at,
            git_identity=None if git_identity is None else git_identity != "optional",
            git_signed=None if git_identity is None else git_identity == "signed",
            hold_until_billed=hold,
            statement_text=self.text(meta, "statement-text", source, what),
            manual_chain=self.manual_chain(meta, source, what),
            offset_accounts=self.offset_accounts(meta, source, what), source=source)

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

    def offset_accounts(self, meta: Mapping[str, Any], source: Source,
                        what: str) -> tuple[str, ...] | None:
        """`offset-accounts: "Income:*, Expenses:Adjustments:*"`: account patterns."""
        text = self.text(meta, "offset-accounts", source, what)
        if text is None:
            return None
        patterns = parse_patterns(text)
        if patterns is None:
            self.problem("malformed-directive", source,
                         f'{what}: `offset-accounts:` lists account patterns separated by '
                         f'commas, like "Income:*, Expenses:Adjustments:*", not {text!r}.')
        return patterns

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
        return Declaration(date=entry.date, kind=kind, name=values[0], source=source)

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
        return PeriodLock(
            date=entry.date, through=through,
            by=self.text(entry.meta, "by", source, "lock"), source=source)


    def reserved(self, entry: data.Custom, receivable: str) -> ReservedPattern | None:
        """`custom "adjustment-reserved" "Expenses:Adjustments:*"`: one account pattern."""
        source = source_of(entry)
        what = f'custom "{RESERVED}"'
        values = self.strings(entry, source, what)
        if values is None:
            return None
        if len(values) != 1:
            self.problem("malformed-directive", source,
                         f'{what} takes one account pattern, the accounts only adjustments '
                         f'post to: custom "{RESERVED}" "Expenses:Adjustments:*".')
            return None
        why = refusal(values[0], receivable)
        if why is not None:
            self.problem("malformed-directive", source, f"{what}: {why}.")
            return None
        return ReservedPattern(date=entry.date, pattern=values[0], source=source)

    def receivable_rule(self, entry: data.Custom) -> ReceivableRule | None:
        """`custom "adjustment-receivable" "invoices-and-payments"`: that one value."""
        values = entry.values or []
        if len(values) != 1 or values[0].value != INVOICES_AND_PAYMENTS:
            self.problem("malformed-directive", source_of(entry),
                         f'custom "{RECEIVABLE_RULE}" takes one value, what may move the '
                         f'receivable without a request: custom "{RECEIVABLE_RULE}" '
                         f'"{INVOICES_AND_PAYMENTS}".')
            return None
        source = source_of(entry)
        return ReceivableRule(date=entry.date, source=source,
                              payment_accounts=self._payment_accounts(entry, source))

    def _payment_accounts(self, entry: data.Custom, source: Source) -> tuple[str, ...] | None:
        """A receivable rule's `payment-accounts:` patterns; None when it names none, and
        () when it names them unreadably: then no account takes payments (a typo must
        not let every asset or liability account pay)."""
        if "payment-accounts" not in entry.meta:
            return None
        what = f'custom "{RECEIVABLE_RULE}"'
        text = self.text(entry.meta, "payment-accounts", source, what)
        patterns = parse_patterns(text) if text is not None else None
        if patterns is not None:
            return patterns
        if text is not None:
            self.problem("malformed-directive", source,
                         f"{what}: `payment-accounts:` lists account patterns separated by "
                         f'commas ("Assets:Bank:*, Assets:Clearing"), not {text!r}; until it '
                         "does, no account takes payments.")
        return ()
