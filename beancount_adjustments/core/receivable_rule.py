"""The customer's account moves only by invoices, payments and adjustments:
`custom "adjustment-receivable" "invoices-and-payments"`.

Reserving the offset accounts (`core.reserved`) leaves every other account open:
a plain transaction lowering a customer against `Expenses:Misc`, `Income:Sales`
or `Equity:Opening-Balances` is a credit no approval saw. From the rule's date on,
a plain transaction moving the receivable (the root, and with `customer-account`
the customers' own accounts) must be an invoice or order (`invoice-id:` or
`order-id:`, as `beans.references` indexes them; every receivable leg raising what
is owed), a payment or refund (every other leg on an asset or liability account,
or on the rule's `payment-accounts:` where the line in force names them: else a
"payment" onto `Liabilities:Whatever`, spent from there by a second transaction
that never touches the receivable, would launder a credit), or a move within one
customer's account; anything else, and any `pad` touching the receivable, is an error.
Each balances to Beancount's default tolerance: one that balances only by the
ledger's tolerance options (5,000 USD off the customer, 1 USD into the bank, under
`inferred_tolerance_default "USD:5000"`) is none of them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Sequence
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, NamedTuple

from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.models import Source
from beancount_adjustments.core.plain import Breach

if TYPE_CHECKING:  # facts holds the rules read: a cycle at import time
    from beancount_adjustments.core.facts import Settings

RECEIVABLE_RULE = "adjustment-receivable"
INVOICES_AND_PAYMENTS = "invoices-and-payments"
"""The one value the rule takes (a name for what it allows, room for others later)."""

_OTHER, _BALANCE = 0, 1
"""What an account off the receivable is: another account, or an asset or liability
one (where a payment's other side goes). A receivable account is its owner instead:
the customer id, or "" for the root's accounts of no customer (one "customer")."""


_ZERO = Decimal(0)

Leg = tuple[str, Decimal | None, str]
"""A posting as judged: account, number (None: Beancount booked none) and currency
(`models.Posting` is one too)."""


class ReceivableRule(NamedTuple):
    date: datetime.date
    source: Source
    payment_accounts: tuple[str, ...] | None = None
    """The accounts payments go through, as patterns; None: any asset or liability
    account; () (a line that names them unreadably): none."""


DEFAULT_TOLERANCE = ("Beancount's default tolerance (half the last digit written, whole "
                     "numbers exactly)")
"""What a plain transaction moving the receivable, and a request, must balance to,
whatever the ledger's tolerance options (`beans.balancing` judges it)."""

_NOT = ("neither an invoice (`invoice-id:` or `order-id:`, raising what the customer "
        "owes) nor a payment (its other side on asset or liability accounts)")


class ReceivableMoves:
    """The rule in force (its earliest line), and what each account seen is (worked
    out on first sight, then one dictionary look per posting)."""

    __slots__ = ("balance_roots", "date", "kinds", "paying", "payment_lines", "settings")

    def __init__(self, rules: Iterable[ReceivableRule], settings: Settings,
                 balance_roots: Sequence[str]) -> None:
        rules = sorted(rules, key=lambda rule: rule.date)
        self.date = rules[0].date
        self.settings = settings
        self.balance_roots = tuple(balance_roots)
        self.kinds: dict[str, int | str] = {}
        self.payment_lines = [(rule.date, rule.payment_accounts) for rule in rules]
        self.paying: dict[tuple[str, tuple[str, ...]], bool] = {}

    def payment_accounts(self, date: datetime.date) -> tuple[str, ...] | None:
        """The `payment-accounts:` of the rule line in force on `date` (the latest on or
        before it), or None: any asset or liability account takes payments."""
        found = None
        for since, patterns in self.payment_lines:
            if since > date:
                break
            found = patterns
        return found

    def _not_paying(self, postings: Sequence[Leg], patterns: tuple[str, ...]) -> list[str]:
        """The asset or liability accounts of `postings` none of `patterns` names."""
        out = []
        for account, number, _ in postings:
            if not number or self.kind(account) != _BALANCE:
                continue
            key = (account, patterns)
            pays = self.paying.get(key)
            if pays is None:
                pays = self.paying[key] = takes_payments(account, patterns)
            if not pays:
                out.append(account)
        return out

    def kind(self, account: str) -> int | str:
        try:
            return self.kinds[account]
        except KeyError:
            settings = self.settings
            owner = settings.account_owner(account)
            if owner is not None:
                found: int | str = owner
            elif is_under(account, settings.receivable):
                found = ""
            elif any(is_under(account, root) for root in self.balance_roots):
                found = _BALANCE
            else:
                found = _OTHER
            self.kinds[account] = found
            return found

    def moves(self, account: str) -> bool:
        """Whether `account` is the receivable's (a pad on it is judged)."""
        found = self.kinds.get(account)
        return (self.kind(account) if found is None else found).__class__ is str

    def refusal(self, postings: Sequence[Leg], invoice: bool,
                date: datetime.date, held: Collection[str] = (),
                left_over: str | None = None) -> str | None:
        """Why a plain transaction of `date` with `postings` (`invoice`: it carries
        `invoice-id:` or `order-id:`; `held`: the accounts of its legs held at cost;
        `left_over`: what it leaves over beyond Beancount's default tolerance) may not
        move the receivable, or None: it moves none, or it is an invoice, a payment or
        refund, or a move within one customer's account."""
        # One pass of flags decides (most transactions are invoices and payments); the
        # legs are sorted out again only for the message.
        kinds = self.kinds
        moved = lowers = balance = off = False
        for account, number, _ in postings:
            if not number:
                continue  # moves nothing
            found = kinds.get(account)
            if found is None:
                found = self.kind(account)
            if found.__class__ is str:
                moved = True
                lowers = lowers or number < 0
            elif found == _BALANCE and account not in held:
                balance = True
            else:
                off = True
        if not moved:
            return None
        if left_over is not None:
            # Balanced only by the ledger's tolerance options: 5,000 USD off the
            # customer "paid" by 1 USD into the bank (`beans.balancing`).
            lowered, _ = self._why(postings)
            return self._message("transaction", lowered, (
                f"it leaves {left_over} over, more than {DEFAULT_TOLERANCE} allows: it "
                "balances only by the ledger's tolerance options, and what moves the "
                "customer's account must be matched by what its other legs move"))
        if invoice and not lowers:
            return None
        if held and not invoice:
            # A payment is money: a lot bought at a cost (`1 JUNK {5000 USD}`) pays
            # nothing a bank statement shows, and sold later at a loss that never
            # touches the receivable it is a credit no approval saw.
            lowered, _ = self._why(postings)
            return self._message("transaction", lowered, (
                f"it is {_NOT}: it would be a payment but for {', '.join(held)}, a "
                "holding at cost (a payment is money, not a lot bought at a price)"))
        if balance and not off:
            patterns = self.payment_accounts(date)
            if patterns is None:
                return None
            unnamed = self._not_paying(postings, patterns)
            if not unnamed:
                return None
            named = ", ".join(patterns) or "none (its `payment-accounts:` cannot be read)"
            lowered, _ = self._why(postings)
            return self._message("transaction", lowered, (
                "it is neither an invoice (`invoice-id:` or `order-id:`, raising what the "
                f"customer owes) nor a payment (its other side on the payment accounts "
                f"{named}): {', '.join(dict.fromkeys(unnamed))} takes no payments"))
        if not (balance or off) and not any(_nets(postings, self.kind).values()):
            return None
        return self._message("transaction", *self._why(postings))

    def _why(self, postings: Sequence[Leg]) -> tuple[str, str]:
        """The receivable account a refused transaction names (the first it lowers),
        and what it is not."""
        moved = [(a, n) for a, n, _ in postings if n and isinstance(self.kind(a), str)]
        lowered = next((account for account, number in moved if number < 0), moved[0][0])
        others = [a for a, n, _ in postings if n and not isinstance(self.kind(a), str)]
        off = list(dict.fromkeys(a for a in others if self.kind(a) == _OTHER))
        if not others:
            return lowered, (f"it is {_NOT}, nor a move within one customer's account (it "
                             f"moves {', '.join(dict.fromkeys(a for a, _ in moved))} against "
                             "each other)")
        if len(off) < len(others):
            which = "which is no asset or liability account" if len(off) == 1 else (
                "which are no asset or liability accounts")
            return lowered, (f"it is {_NOT}: it would be a payment but for "
                             f"{', '.join(off)}, {which} (book a bank fee as a transaction "
                             "of its own)")
        return lowered, f"it is {_NOT}"

    def breach(self, accounts: Sequence[str]) -> Breach:
        """What the rule says of a plain posting to `accounts` it refuses, whatever its
        date (`check --since`: one dated before the rule, new since REV)."""
        account = next((a for a in accounts if self.moves(a)), accounts[0])
        return Breach(self.date, (
            f"moves {account}, the customer's account, as no invoice, payment or move "
            f"within one customer's account does, which only invoices, payments and "
            f'adjustments move since {self.date} (custom "{RECEIVABLE_RULE}" '
            f'"{INVOICES_AND_PAYMENTS}")'))

    def pad_refusal(self, account: str) -> str:
        """The error of a `pad` touching the receivable account `account`."""
        return self._message("pad", account, f"a pad is {_NOT}")

    def _message(self, what: str, account: str, why: str) -> str:
        """One line: the account, what the entry is not, the rule and its date, the fix."""
        return (f"this {what} moves {account}, the customer's account, and {why}; "
                f'from {self.date} only invoices, payments and adjustments move it (custom '
                f'"{RECEIVABLE_RULE}" "{INVOICES_AND_PAYMENTS}" dated {self.date}): file an '
                "adjustment request instead (`bean-adjust create`).")


def takes_payments(account: str, patterns: Iterable[str]) -> bool:
    """Whether a `payment-accounts:` line of `patterns` lets `account` take payments."""
    return any(fnmatchcase(account, pattern) for pattern in patterns)


def _nets(postings: Sequence[Leg], kind: Callable[[str], int | str]
          ) -> dict[tuple[str, str], Decimal]:
    """What `postings` move on each owner's receivable accounts, per currency."""
    nets: dict[tuple[str, str], Decimal] = {}
    for account, number, currency in postings:
        owner = kind(account)
        if number and isinstance(owner, str):
            nets[owner, currency] = nets.get((owner, currency), _ZERO) + number
    return nets
