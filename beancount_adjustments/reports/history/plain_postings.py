"""Plain postings (no request's: `beans.reading.plain`) new or changed since REV that a
rule on plain postings refuses, dated before the rule.

The plugin judges a plain posting from a rule's date on, so that a ledger adopts
the rule over its history. A posting written since REV is no history: dated
before the rule, it would pass unjudged (5,000 USD to the credits' offset account,
dated the day before `adjustment-reserved`). So it is judged as made now, by the
plugin's own judgement with the rule's date ignored (`judges`); the postings REV
held are the history, and moving one changes nothing (they are compared by
content, `snapshot.unmatched`). A rule REV held and the change removed or loosened
judges them too (`loosened_judges`, `unruled-posting`), and an account opened since
REV under a `payment-accounts:` pattern is a note (`opened_payment_accounts`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Hashable, Sequence

from beancount.core import data, flags

from beancount_adjustments.beans.metadata import source_of
from beancount_adjustments.beans.reading import (
    LeftOver,
    padded,
    plain,
    posted,
    receivable_refusal,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.plain import Breach
from beancount_adjustments.core.receivable_rule import (
    ReceivableMoves,
    ReceivableRule,
    takes_payments,
)
from beancount_adjustments.core.reserved import Reserved, reserved_since
from beancount_adjustments.reports.history.findings import Finding
from beancount_adjustments.reports.history.snapshot import hashable, meta_content, unmatched

Posting = data.Transaction | data.Pad
Judge = Callable[[Posting, datetime.date], "Breach | None"]
"""A rule on plain postings: what it says of one judged on the date given (a pad's is
its balance's, `padded`) that it refuses only with that date ignored (the plugin
refuses none of it on its date), or None."""


def judges(book: Book) -> list[Judge]:
    """The rules on plain postings the ledger holds now, every one whatever its date."""
    found: list[Judge] = []
    reserved = Reserved(book.facts.reserved)
    if book.facts.reserved:

        def reserved_rule(entry: Posting, date: datetime.date) -> Breach | None:
            if reserved.first(posted(entry)[1], date) is not None:
                return None   # `unrequested-posting` already, by another account's pattern
            return _reserved_breach(reserved, entry)

        found.append(reserved_rule)
    if book.facts.receivable_rules:
        moves = ReceivableMoves(book.facts.receivable_rules, book.settings,
                                book.facts.balance_roots)

        def receivable_rule(entry: Posting, date: datetime.date) -> Breach | None:
            if date >= moves.date or reserved.first(posted(entry)[1], date) is not None:
                return None   # judged by the plugin on its date (or refused there already)
            return _receivable_breach(moves, entry, book.facts.left_over)

        found.append(receivable_rule)
    return found


def backdated_postings(old: Sequence[data.Directive], new: Sequence[data.Directive],
                       rules: Sequence[Judge], *, rev: str = "REV") -> list[Finding]:
    """`backdated-posting` at each plain posting of `new` that `old` did not hold (by
    content) and a rule of `rules` refuses, dated before that rule (from its date on
    the plugin refuses it itself: `unrequested-posting`)."""
    if not rules:
        return []
    return [Finding(
        "backdated-posting",
        f"{what} new since {rev} and {breach.says}, but it is dated {entry.date}, "
        "before that: a posting made now is judged as made now; file a request "
        "instead (`bean-adjust create`)", *where)
        for entry, breach, what, where in _fresh(old, new, lambda entry, date: _breach(
            entry, date, rules))]


def loosened_judges(old: Book, new: Book) -> list[Judge]:
    """The rules on plain postings REV held that the ledger no longer holds as REV did (a
    reserved pattern gone; the receivable rule gone, its lines changed, or the
    plugin's settings it reads of accounts: `_accounts_read`), each
    refusing whatever the date what the rule as it now is lets through: a change that
    widens `payment-accounts:` and pays into the account it adds is a change that
    removes the rule for that payment."""
    kept = {(p.date, p.pattern) for p in new.facts.reserved}
    gone = [p for p in old.facts.reserved if (p.date, p.pattern) not in kept]
    found: list[Judge] = []
    if gone:
        reserved = Reserved(gone)

        found.append(lambda entry, _date: _reserved_breach(reserved, entry))
    was_lines, now_lines = old.facts.receivable_rules, new.facts.receivable_rules
    if was_lines and (_lines(was_lines) != _lines(now_lines)
                      or _accounts_read(old) != _accounts_read(new)):
        was = ReceivableMoves(was_lines, old.settings, old.facts.balance_roots)
        now = (ReceivableMoves(now_lines, new.settings, new.facts.balance_roots)
               if now_lines else None)

        left_over = new.facts.left_over

        def receivable_loosened(entry: Posting, date: datetime.date) -> Breach | None:
            if now is not None and (_receivable_breach(now, entry, left_over) is not None or (
                    date >= now.date and receivable_refusal(
                        now, entry, posted(entry)[1], date, left_over) is not None)):
                return None   # the rule as it is refuses it: the plugin's error, or a backdating
            return _receivable_breach(was, entry, left_over)

        found.append(receivable_loosened)
    return found


def _accounts_read(book: Book) -> tuple[object, ...]:
    """What tells the receivable rule whose account an account is: the receivable root,
    the customers' accounts and the ledger's asset and liability roots."""
    return (book.settings.receivable, book.settings.customer_account,
            book.facts.balance_roots)


def _lines(rules: Sequence[ReceivableRule]) -> list[tuple[datetime.date, tuple[str, ...] | None]]:
    """What a receivable rule's lines say, wherever they are written."""
    return sorted(((rule.date, rule.payment_accounts) for rule in rules),
                  key=lambda line: (line[0], line[1] is None, line[1] or ()))


def opened_payment_accounts(old: Sequence[data.Directive], new: Sequence[data.Directive],
                            book: Book, *, rev: str = "REV") -> list[Finding]:
    """A `rule-changed` note at each account opened since REV that a receivable rule's
    `payment-accounts:` lets take payments: a pattern (`Assets:Bank:*`) widens with every
    account opened under it, and a "payment" into one moves the customer's account with
    no request."""
    lines = [rule for rule in book.facts.receivable_rules if rule.payment_accounts]
    if not lines:
        return []
    held = {entry.account for entry in old if isinstance(entry, data.Open)}
    notes = []
    for entry in new:
        if not isinstance(entry, data.Open) or entry.account in held:
            continue
        rule = next((r for r in lines if r.payment_accounts is not None
                     and takes_payments(entry.account, r.payment_accounts)), None)
        if rule is not None and rule.payment_accounts is not None:
            named = ", ".join(rule.payment_accounts)
            notes.append(Finding(
                "rule-changed",
                f"the account {entry.account}, opened since {rev}, takes payments (the "
                f'receivable rule dated {rule.date}: payment-accounts: "{named}"): a '
                "payment into it moves the customer's account with no request; name "
                "payment accounts exactly where a new one must be reviewed",
                *_where(entry), note=True))
    return notes


def _reserved_breach(reserved: Reserved, entry: Posting) -> Breach | None:
    """What a reserved pattern says of `entry`, whatever its date, or None."""
    hit = reserved.first(posted(entry)[1], None)
    return None if hit is None else reserved_since(*hit)


def _receivable_breach(moves: ReceivableMoves, entry: Posting,
                       left_over: LeftOver | None = None) -> Breach | None:
    """What the receivable rule says of `entry` judged as made now (under the payment
    accounts of its latest line and the ledger's tolerance, `left_over`), or None."""
    accounts = posted(entry)[1]
    if receivable_refusal(moves, entry, accounts, datetime.date.max, left_over) is None:
        return None
    return moves.breach(accounts)


def unruled_postings(old: Sequence[data.Directive], new: Sequence[data.Directive],
                     rules: Sequence[Judge], *, rev: str = "REV") -> list[Finding]:
    """`unruled-posting` at each plain posting of `new` that `old` did not hold and a
    rule REV held, removed or loosened since (`loosened_judges`), refuses: the change that
    removes a rule would otherwise pass its own postings that rule forbids."""
    if not rules:
        return []

    def first(entry: Posting, date: datetime.date) -> Breach | None:
        return next((b for rule in rules if (b := rule(entry, date)) is not None), None)

    return [Finding(
        "unruled-posting",
        f"{what} new since {rev} and {breach.says}, a rule {rev} held and removed or "
        "loosened since: "
        "a posting written since is judged by it all the same; restore the rule and file "
        "a request instead (`bean-adjust create`), or land the rule's removal on its own "
        "(reviewed) first", *where)
        for entry, breach, what, where in _fresh(old, new, first)]


def _fresh(old: Sequence[data.Directive], new: Sequence[data.Directive],
           judge: Judge) -> list[tuple[Posting, Breach, str, tuple[str, int]]]:
    """The plain postings of `new` that `old` did not hold (by content) and `judge`
    refuses, once each: (the entry, what the rule says, what it is, where)."""
    def refused(entries: Sequence[data.Directive]) -> list[tuple[Posting, Breach]]:
        # A judge reads only what `_content` compares (accounts, date, ...): an entry
        # REV held with the same content is refused alike, so only the refused ones
        # need comparing, and a large ledger pays one judgement per plain posting.
        dates = padded(entries)
        return [(entry, breach) for entry in entries if plain(entry) and (
            breach := judge(entry, dates.get(id(entry), entry.date))) is not None]

    pads = {_where(e) for e in new if isinstance(e, data.Pad)}
    out = []
    seen: set[tuple[str, int]] = set()
    for entry, breach in unmatched(refused(new), refused(old), lambda item: _content(item[0])):
        where = _where(entry)
        if where in seen:
            continue
        seen.add(where)
        # Beancount books a pad as a `P` transaction at the pad's line: one whose
        # amount changed (its balance assertion raised) is the pad's posting, changed.
        booked = (isinstance(entry, data.Transaction) and entry.flag == flags.FLAG_PADDING
                  and where in pads)
        what = "what this pad books is" if booked else f"this {posted(entry)[0]} is"
        out.append((entry, breach, what, where))
    return out


def _breach(entry: Posting, date: datetime.date, rules: Sequence[Judge]) -> Breach | None:
    """The first rule's word on `entry`, judged on `date`, that it refuses, dated
    before the rule."""
    for rule in rules:
        breach = rule(entry, date)
        if breach is not None and date < breach.since:
            return breach
    return None


def _where(entry: data.Directive) -> tuple[str, int]:
    source = source_of(entry)
    return source.filename, source.lineno


def _content(entry: Posting) -> Hashable:
    """What a plain posting says, without where it is written."""
    if isinstance(entry, data.Pad):
        return ("pad", entry.date, entry.account, entry.source_account, meta_content(entry.meta))
    postings = tuple((p.account, hashable(p.units), hashable(p.cost), hashable(p.price),
                      p.flag, meta_content(p.meta)) for p in entry.postings)
    return ("transaction", entry.date, entry.flag, entry.payee, entry.narration,
            tuple(sorted(entry.tags or ())), tuple(sorted(entry.links or ())), postings,
            meta_content(entry.meta))
