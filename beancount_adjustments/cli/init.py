"""`bean-adjust init`: set up adjustments in an existing ledger, in one command.

Builds `adjustments.beancount` (users, customers, a starter approval matrix, the
accounts `create` needs, the Fava extension line) dated on the ledger's first
date, appends the plugin and include lines to the ledger, and writes only what
loads cleanly, atomically under the writer's lock. The manual is README's
"Setting up a ledger".
"""

from __future__ import annotations

import collections
import datetime
import os
import re
import shlex
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from beancount.core import account as bc_account
from beancount.core import data

from beancount_adjustments.beans import loading
from beancount_adjustments.cli.common import Refused, ledger_option, today
from beancount_adjustments.cli.requests import DEFAULT_OFFSET
from beancount_adjustments.core.accounts import is_under
from beancount_adjustments.core.amounts import CURRENCY_RE, minor_units
from beancount_adjustments.plugin import parse_settings
from beancount_adjustments.writer import DEFAULT_TARGET_NAME, WriteRefused, next_id
from beancount_adjustments.writer.files import atomic_write, real_file, temporary
from beancount_adjustments.writer.target import locked, writable_problem

PLUGIN = "beancount_adjustments"
DEFAULT_RECEIVABLE = "Assets:Receivable"
FAVA_EXTENSION = "beancount_adjustments.fava_ext"
AGENT = "agent"
"""The role of users who file requests: never an approving level of the matrix."""

# The starter matrix: (pattern, threshold of each level). Level k needs the
# first k approving roles, in order.
MATRIX: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("credit:*", (25, 1000, 10000)),
    ("debit:*", (25, 1000, 10000)),
    ("billing:*", (0, 1000, 10000)),
)

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*"
_USER_RE = re.compile(rf"^({_NAME}):([a-z0-9_-]+(?:,[a-z0-9_-]+)*)$")
_CUSTOMER_RE = re.compile(rf"^({_NAME})(?::([a-z0-9_-]+))?$")
_INCLUDE_RE = re.compile(r'^\s*include\s+"([^"]+)"', re.MULTILINE)


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Customer:
    id: str
    tier: str


def parse_user(text: str) -> User:
    match = _USER_RE.match(text.strip())
    if not match:
        raise Refused(f"--user {text!r}: write NAME:ROLE[,ROLE], like alice:agent or "
                      "bob:manager,finance (roles in lower case)")
    return User(match[1], tuple(dict.fromkeys(match[2].split(","))))


def parse_customer(text: str) -> Customer:
    match = _CUSTOMER_RE.match(text.strip())
    if not match:
        raise Refused(f"--customer {text!r}: write ID[:TIER], like cust_1 or acme:vip "
                      "(tier in lower case; default standard)")
    return Customer(match[1], match[2] or "standard")


def approving_roles(users: Sequence[User]) -> list[str]:
    """One approving role per user, in the order given: each user's first role
    that is not `agent` and not taken yet (so each level of a chain can be
    filled by a different person)."""
    roles: list[str] = []
    for user in users:
        for role in user.roles:
            if role != AGENT and role not in roles:
                roles.append(role)
                break
    return roles


def receivable_root(entries: Sequence[Any]) -> str | None:
    """The root of the receivable accounts the ledger opens: an account under
    `Assets:` up to its first component that says `Receivable`."""
    roots = set()
    for entry in entries:
        if isinstance(entry, data.Open) and entry.account.startswith("Assets:"):
            parts = entry.account.split(":")
            for index, part in enumerate(parts):
                if "receivable" in part.lower():
                    roots.add(":".join(parts[:index + 1]))
                    break
    if len(roots) > 1:
        raise Refused(f"which receivable root? the ledger opens several ({', '.join(sorted(roots))}"
                      "); pass --receivable ACCOUNT")
    return roots.pop() if roots else None


def start_date(entries: Sequence[Any]) -> datetime.date:
    """The ledger's earliest `open` or transaction date (today for an empty ledger)."""
    dates = [e.date for e in entries if isinstance(e, data.Open | data.Transaction)]
    return min(dates) if dates else today()


def _amount(number: int, currency: str) -> str:
    places = minor_units(currency)
    return f"{Decimal(number):.{places}f} {currency}"


def _q(text: str) -> str:
    return '"' + text + '"'


def adjustments_text(*, day: datetime.date, users: Sequence[User],
                     customers: Sequence[Customer], roles: Sequence[str], currency: str,
                     opens: Sequence[str], reserved: Sequence[str]) -> str:
    d = day.isoformat()
    lines = [
        "; Adjustments: written by `bean-adjust init`; edit freely (see README, Ledger syntax).",
        "",
        f'{d} custom "fava-extension" {_q(FAVA_EXTENSION)}',
        "",
        "; Accounts `bean-adjust create` posts to.",
        *(f"{d} open {name} {currency}" for name in opens),
        *(["", "; Only adjustments post to these: any other transaction there is an error",
           "; (unrequested-posting). Reserve the accounts your own credits and debits use too.",
           *(f'{d} custom "adjustment-reserved" {_q(name)}' for name in reserved)]
          if reserved else []),
        "",
        "; Who may decide.",
        *(f'{d} custom "adjustment-user" {_q(u.name)} ' + " ".join(map(_q, u.roles))
          for u in users),
        "",
        "; Customers and their tier.",
        *(f'{d} custom "adjustment-customer" {_q(c.id)} {_q(c.tier)}' for c in customers),
        "",
        "; Approval matrix: at or above a threshold, these roles approve, in order, each",
        "; by a different person who is not the requester. Below the lowest: automatic.",
    ]
    for pattern, thresholds in MATRIX:
        for level, threshold in enumerate(thresholds[:len(roles)], start=1):
            chain = " ".join(_q(role) for role in roles[:level])
            lines.append(f'{d} custom "adjustment-approval" {_q(pattern):<12} '
                         f"{_amount(threshold, currency):>14} {chain}")
    return "\n".join(lines) + "\n"


def _posted(entries: Sequence[Any]) -> set[str]:
    """The accounts the ledger's transactions and pads post to."""
    found: set[str] = set()
    for entry in entries:
        if isinstance(entry, data.Transaction):
            found.update(posting.account for posting in entry.postings)
        elif isinstance(entry, data.Pad):
            found.update((entry.account, entry.source_account))
    return found


def _plugin_config(options: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the ledger enables the plugin, and its settings string."""
    for name, config in options.get("plugin", ()):
        if name == PLUGIN:
            return True, config
    return False, None


def _error_messages(errors: Sequence[Any]) -> collections.Counter[str]:
    return collections.Counter(str(getattr(e, "message", e)) for e in errors)


@click.command("init")
@ledger_option
@click.option("--user", "users", multiple=True, required=True, metavar="NAME:ROLE[,ROLE]",
              help="A user and their roles (repeatable): alice:agent, bob:manager,finance.")
@click.option("--customer", "customers", multiple=True, required=True, metavar="ID[:TIER]",
              help="A customer and its tier (repeatable; default tier standard).")
@click.option("--receivable", default=None, metavar="ACCOUNT",
              help="Root of the customer accounts (default: the open Assets:...Receivable "
                   "account, else Assets:Receivable, opened).")
@click.option("--currency", default=None,
              help="Currency of the thresholds and accounts (default: the ledger's "
                   "operating currency).")
def init(*, ledger: Path, users: tuple[str, ...], customers: tuple[str, ...],
         receivable: str | None, currency: str | None) -> None:
    """Set up adjustments in an existing ledger (users, customers, matrix, accounts)."""
    people = [parse_user(text) for text in users]
    clients = [parse_customer(text) for text in customers]
    for what, names in (("--user", [u.name for u in people]),
                        ("--customer", [c.id for c in clients])):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise Refused(f"{what} {twice[0]} is given twice; give each once")
    roles = approving_roles(people)
    if not roles:
        raise Refused("no user can approve: give one a role other than agent, like "
                      "--user bob:manager")
    if receivable is not None and not bc_account.is_valid(receivable):
        raise Refused(f"--receivable {receivable!r} is not an account name, like "
                      "Assets:Receivable")
    if currency is not None and not CURRENCY_RE.match(currency):
        raise Refused(f"--currency {currency!r} is not a currency, like USD")
    if ledger.name == DEFAULT_TARGET_NAME:
        raise Refused(f"{ledger} is the file init writes; pass the ledger's main file")
    target = ledger.parent / DEFAULT_TARGET_NAME
    try:
        with locked(ledger, target):
            _init(ledger=ledger, target=target, people=people, clients=clients, roles=roles,
                  receivable=receivable, currency=currency)
    except WriteRefused as exc:
        raise Refused("; ".join(str(r) for r in exc.refusals)) from None


def _init(*, ledger: Path, target: Path, people: list[User], clients: list[Customer],
          roles: list[str], receivable: str | None, currency: str | None) -> None:
    raw = real_file(ledger).read_bytes()
    text = raw.decode("utf-8")
    included = any(Path(name).name == DEFAULT_TARGET_NAME for name in _INCLUDE_RE.findall(text))
    if target.exists() or target.is_symlink():
        if not included:
            raise Refused(f"{target} already exists but {ledger} does not include it: "
                          "init runs once (include it, or remove it to start over)")
        raise Refused(f"{target} already exists: this ledger is set up (init runs once; "
                      "edit that file instead)")
    if included:
        raise Refused(f'{ledger} already includes "{DEFAULT_TARGET_NAME}": it is set up '
                      "(init runs once)")
    problem = writable_problem(real_file(ledger))
    if problem:
        raise Refused(f"{ledger}: {problem}")
    entries, errors, options = loading.load_file(str(ledger))
    declared = sorted({e.type for e in entries
                       if isinstance(e, data.Custom) and e.type.startswith("adjustment")})
    if declared:
        raise Refused(f"{ledger} already declares {', '.join(declared)}: it is set up "
                      "(init is for a ledger without adjustments)")
    enabled, config = _plugin_config(options)
    settings, bad = parse_settings(config)
    if bad:
        raise Refused(f"{ledger}: the plugin line: {bad}")
    if enabled:
        configured = settings.receivable
        if receivable is not None and receivable != configured:
            raise Refused(f"--receivable {receivable} differs from the plugin's receivable "
                          f"setting ({configured}); change one of them")
        root = configured
    else:
        root = receivable or receivable_root(entries) or DEFAULT_RECEIVABLE
    operating = list(options.get("operating_currency") or [])
    currency = currency or (operating[0] if operating else None)
    if currency is None:
        raise Refused(f"{ledger} has no option \"operating_currency\": pass --currency")

    opened = {e.account for e in entries if isinstance(e, data.Open)}
    opens = []
    if not any(is_under(name, root) for name in opened):
        opens.append(root)
    # Reserved only when the ledger never used them: a pattern reserves the accounts
    # under it too, and one the ledger opened or posted to may hold plain postings,
    # which the line would turn into errors (and init would refuse to write at all).
    used = opened | _posted(entries)
    fresh = [name for name in DEFAULT_OFFSET.values() if name not in opened]
    reserved = [name for name in fresh if not any(is_under(a, name) for a in used)]
    opens += fresh
    day = start_date(entries)
    content = adjustments_text(day=day, users=people, customers=clients, roles=roles,
                               currency=currency, opens=opens, reserved=reserved)

    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    added = []
    if not enabled:
        added.append(f'plugin "{PLUGIN}"' if root == DEFAULT_RECEIVABLE
                     else f"plugin \"{PLUGIN}\" \"{{'receivable': '{root}'}}\"")
    added.append(f'include "{DEFAULT_TARGET_NAME}"')
    tail = newline.join(line.encode() for line in added) + newline
    new_ledger = raw + (newline if raw and not raw.endswith(b"\n") else b"") + tail

    # Judge before the ledger changes: the new file, and a copy of the ledger
    # that includes it, must load with no error the ledger did not have. The copy
    # sits beside the ledger (its includes are relative to it), named as a
    # temporary of the ledger's (a write to the ledger removes one a kill left),
    # and is loaded uncached: a pickle of its load would outlive it.
    atomic_write(target, content.encode())
    try:
        check = temporary(ledger, new_ledger, tag="init-check.")
        try:
            _, errors2, options2 = loading.load_uncached(check)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(check)
        new = _error_messages(errors2) - _error_messages(errors)
        if new:
            raise Refused(f"what init would write does not pass bean-check: "
                          f"{next(iter(new))}")
        if not _plugin_config(options2)[0]:
            raise Refused("the plugin did not run on the new ledger")
        atomic_write(ledger, new_ledger)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(target)
        raise

    click.echo(f"wrote {target}: {len(people)} user{'s' * (len(people) != 1)}, "
               f"{len(clients)} customer{'s' * (len(clients) != 1)}, an approval matrix "
               f"({len(MATRIX) * min(len(roles), 3)} rows, {currency}), "
               f"{len(opens)} account{'s' * (len(opens) != 1)} opened"
               + (f" ({', '.join(opens)})" if opens else "")
               + (f", {len(reserved)} reserved to adjustments" if reserved else "")
               + f", dated {day}")
    unreserved = [name for name in fresh if name not in reserved]
    if unreserved:
        click.echo(f"not reserved: {', '.join(unreserved)} (the ledger already posts there "
                   "or under it; add its `adjustment-reserved` line once no plain "
                   "transaction does)")
    click.echo(f"added to {ledger}: " + ", ".join(added))
    _next_steps(ledger=ledger, people=people, clients=clients, roles=roles, currency=currency,
                prefix=settings.id_prefix, opened=opened | set(opens), root=root)


def _next_steps(*, ledger: Path, people: list[User], clients: list[Customer], roles: list[str],
                currency: str, prefix: str, opened: set[str], root: str) -> None:
    approver_role = roles[0]
    requester = next((u for u in people if AGENT in u.roles), None)
    approver = next((u for u in people if approver_role in u.roles and u != requester), None)
    if requester is None:
        requester = next((u for u in people if u != approver), people[0])
    customer = clients[0]
    under = sorted(a for a in opened if is_under(a, root))
    named = [a for a in under if a.split(":")[-1].lower() == customer.id.lower()]
    account = ([] if len(under) == 1 or len(named) == 1
               else ["--receivable-account", under[0]])
    amount = _amount(50, currency)
    f = shlex.quote(str(ledger))
    create = ["bean-adjust", "create", "-f", str(ledger), "--as", requester.name,
              "--type", "credit:goodwill", "--customer", customer.id, "--amount", amount,
              "--reason", "Goodwill credit", *account]
    click.echo("next:")
    click.echo("  " + shlex.join(create))
    adj_id = next_id([], prefix, today().year)
    if approver is None:
        click.echo(f"  (its approval needs a {approver_role} other than {requester.name}: "
                   f"add one with --user in {DEFAULT_TARGET_NAME})")
        return
    click.echo(f"  bean-adjust approve -f {f} --as {shlex.quote(approver.name)} {adj_id}")


COMMANDS = [init]
