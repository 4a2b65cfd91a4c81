"""Seals: tamper-evidence for the adjustment directives already recorded.

`sealed_items` lists what a seal covers (every adjustment directive, in replay
order, each hashed); `chain` links a seal to the previous one; `verify_seals`
recomputes every seal at load and places a `seal-broken` at the first entry
that differs (by the seal's `fingerprints:`); `next_seal` and `render_seal` make
the next one. What a seal covers and what it does not: docs/seals.md.
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from beancount_adjustments.core.digest import request_digest
from beancount_adjustments.core.models import Money, Problem, Source
from beancount_adjustments.core.policy import Directory
from beancount_adjustments.core.risk import AlertRule

if TYPE_CHECKING:
    from beancount_adjustments.core.facts import Facts, Settings

SEAL = "adjustment-seal"
SEAL_TAG = "beancount-adjustments/seal/v1"
SEAL_TAG_V2 = "beancount-adjustments/seal/v2"
SEAL_TAG_V3 = "beancount-adjustments/seal/v3"
SEAL_TAG_V4 = "beancount-adjustments/seal/v4"
SEAL_TAG_V5 = "beancount-adjustments/seal/v5"
VERSION = 5
"""The version `next_seal` writes (see the module's manual)."""
TAGS = {1: SEAL_TAG, 2: SEAL_TAG_V2, 3: SEAL_TAG_V3, 4: SEAL_TAG_V4, 5: SEAL_TAG_V5}
FINGERPRINT = 6
"""Hex digits per entry in `fingerprints:`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Seal:
    """One `custom "adjustment-seal"` directive."""

    date: datetime.date
    hash: str
    by: str | None = None
    count: int | None = None
    fingerprints: str | None = None
    source: Source


class Quoted(Protocol):
    """A price directive's amount (Beancount's `Amount`)."""

    @property
    def number(self) -> Decimal | None: ...
    @property
    def currency(self) -> str: ...


class PriceDirective(Protocol):
    """A price directive as Beancount reads it (`data.Price`): what a seal of version 4
    covers of it, read without importing Beancount."""

    @property
    def meta(self) -> Mapping[str, Any]: ...
    @property
    def date(self) -> datetime.date: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount(self) -> Quoted: ...


@dataclass(frozen=True)
class Item:
    """One sealed fact: its place in the order, its canonical text and hash."""

    date: datetime.date
    rank: int
    index: int
    what: str
    source: Source
    hash: str

    @property
    def fingerprint(self) -> str:
        return self.hash[:FINGERPRINT]

    def where(self) -> str:
        return f"{self.source.filename}:{self.source.lineno}"


# -- canonical content ---------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, Money):
        return f"{_text(value.number)} {value.currency}"
    if isinstance(value, tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _hash(kind: str, fields: Sequence[Any]) -> str:
    canonical = "\x1f".join([kind, *(_text(f) for f in fields)])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sealed_items(facts: Facts, version: int = VERSION,
                 settings: Settings | None = None) -> list[Item]:
    """Every fact a seal of `version` covers, in sealing order (see the module's manual);
    from version 3 the plugin's `settings` too, first (the first seal covers them), from
    version 4 the price directives, and from version 5 the reserved accounts and the
    receivable rule."""
    items: list[Item] = []
    v2 = version >= 2

    def add(rank: int, index: int, date: datetime.date, what: str, source: Source,  # noqa: PLR0917
            kind: str, fields: Sequence[Any]) -> None:
        items.append(Item(date, rank, index, what, source, _hash(kind, [date, *fields])))

    for i, r in enumerate(facts.requests):
        add(0, i, r.date, f"request {r.id} dated {r.date}", r.source, "request",
            [r.id, request_digest(r), r.requested_by, r.category, r.payee, r.narration,
             r.invoice, r.order, r.ticket, r.document, r.effective, r.risk, r.external_id,
             *([r.entered_by, r.at, r.judged, r.chain, r.notes] if v2 else [])])
    for i, e in enumerate(facts.events):
        add(1, i, e.date, f"{e.adjustment_id} {e.action} by {e.by} on {e.date}", e.source,
            "event", [e.adjustment_id, str(e.action), e.by, e.reason, e.comment, e.at,
                      e.digest, e.effective, getattr(e, "signature", None),
                      *([e.judged, e.chain, e.limit_judged] if v2 else [])])
    for i, g in enumerate(facts.grants):
        add(2, i, g.date, f"user {g.user} on {g.date}", g.source, "user",
            [g.user, g.roles, g.limit, g.email, *([g.git] if v2 else [])])
    for i, c in enumerate(facts.customers):
        add(3, i, c.date, f"customer {c.customer} on {c.date}", c.source, "customer",
            [c.customer, c.tier, c.name, c.contact])
    for i, row in enumerate(facts.rows):
        add(4, i, row.date, f"approval row {row.pattern} {row.threshold} on {row.date}",
            row.source, "approval",
            [row.pattern, row.threshold, row.roles, row.customer_tier, row.category, row.risk])
    for i, p in enumerate(facts.policies):
        add(5, i, p.date, f"policy {p.pattern} on {p.date}", p.source, "policy",
            [p.pattern, p.separate_apply, p.document_above, p.sla_days,
             getattr(p, "signatures_required", None),
             *([p.backdate_days, p.require_at, p.git_identity, p.hold_until_billed,
                p.statement_text, p.manual_chain] if v2 else []),
             # Only when set: a policy without it hashes as before the key existed.
             *([p.offset_accounts] if p.offset_accounts is not None else []),
             # Likewise: "signed" hashes apart from "required", which hashes as before.
             *(["git-signed"] if p.git_signed else [])])
    for i, lock in enumerate(facts.locks):
        add(6, i, lock.date, f"lock through {lock.through} on {lock.date}", lock.source,
            "lock", [lock.through, lock.by])
    for i, k in enumerate(getattr(facts, "keys", ())):
        add(7, i, k.date, f"key of {k.user} on {k.date}", k.source, "key", [k.user, k.key])
    if version >= 3 and settings is not None:
        # The default tier, the receivable root, the checks: changed, they re-judge
        # every request. They hold from the start, so the first seal covers them.
        plugin = Source(facts.files[0] if facts.files else "<ledger>", 0)
        add(-1, 0, datetime.date.min, "the plugin's settings", plugin, "settings",
            [settings.receivable, settings.id_prefix, settings.checks, settings.default_tier,
             settings.customer_account, settings.default_sla_days])
    if version >= 4:
        # The prices convert amounts for thresholds, limits and what a request moves:
        # edited or added on a sealed day, one made a sealed pending 900 EUR request
        # worth 9 USD, approved automatically and booked.
        for i, price in enumerate(facts.prices):
            meta = price.meta
            add(10, i, price.date, f"price of {price.currency} on {price.date}",
                Source(str(meta.get("filename", "<ledger>")), int(meta.get("lineno", 0))),
                "price", [price.currency, price.amount.number, price.amount.currency])
    if version >= 5:
        # What a plain transaction may move: deleted or loosened on a sealed day, they
        # let a plain credit through with no request at all.
        for i, reserved in enumerate(facts.reserved):
            add(11, i, reserved.date, f"accounts reserved ({reserved.pattern}) on "
                f"{reserved.date}", reserved.source, "reserved", [reserved.pattern])
        for i, rule in enumerate(facts.receivable_rules):
            # None (any asset or liability account) and () (none) must hash apart.
            add(12, i, rule.date, f"the receivable rule on {rule.date}", rule.source,
                "receivable", [rule.payment_accounts is None, rule.payment_accounts or ()])
    if version >= 3:
        # What makes a type valid, or a request flagged: changed later, either moved
        # money on a sealed day (an invalid request declared valid, a check turned off).
        for i, d in enumerate(facts.declarations):
            add(8, i, d.date, f"{d.kind} {d.name} declared on {d.date}", d.source,
                "declaration", [d.kind, d.name])
        for i, setting in enumerate(facts.risk_settings):
            if isinstance(setting, AlertRule):
                add(9, i, setting.date, f"alert on {setting.dimension} on {setting.date}",
                    setting.source, "alert", [setting.dimension, setting.limit,
                                              setting.period, setting.states, setting.notify])
            else:
                add(9, i, setting.date, f"risk check {setting.check} on {setting.date}",
                    setting.source, "risk",
                    [setting.check, setting.params, setting.enabled, setting.notify])
    items.sort(key=lambda it: (it.date, it.rank, it.index))
    return items


def chain(previous: str, hashes: Sequence[str], version: int = 1,
          by: str | None = None) -> str:
    """A seal's hash: over its version's tag, the previous seal's hash, from version 3
    who sealed it (`by:`), and its span's entry hashes. The tags differ, so a hash of
    one version never verifies as another."""
    text = "\n".join([TAGS[version], previous, *([by or ""] if version >= 3 else []),
                      *hashes])
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# -- verifying -----------------------------------------------------------------


def _span(items: Sequence[Item], dates: Sequence[datetime.date],
          after: datetime.date | None, through: datetime.date) -> list[Item]:
    start = 0 if after is None else bisect.bisect_right(dates, after)
    end = bisect.bisect_right(dates, through)
    return list(items[start:end])


def verify_seals(facts: Facts, seals: Sequence[Seal], *,
                 settings: Settings | None) -> list[Problem]:
    """One problem per seal whose hash no longer matches the ledger.

    Each names the first entry that differs from what the seal covered, and
    is placed at that entry (or at the seal when the entry is gone).
    """
    if not seals:
        return []
    problems = sealer_problems(facts, seals)
    versions: dict[int, tuple[list[Item], list[datetime.date]]] = {}
    previous, after = "", None
    for seal in sorted(seals, key=lambda s: s.date):
        spans = {}
        for version in range(VERSION, 0, -1):
            if version not in versions:  # only once a seal does not verify as a later one
                items = sealed_items(facts, version, settings)
                versions[version] = (items, [it.date for it in items])
            items, dates = versions[version]
            spans[version] = _span(items, dates, after, seal.date)
            if chain(previous, [it.hash for it in spans[version]], version,
                     seal.by) == seal.hash:
                break
        else:
            problems.append(_locate(seal, _closest(seal, spans), after))
            previous, after = seal.hash, seal.date
            continue
        if seal.count is not None and seal.count != bisect.bisect_right(dates, seal.date):
            problems.append(_problem(seal, seal.source,
                                     f"the seal says it covers {seal.count} entries but "
                                     f"{bisect.bisect_right(dates, seal.date)} are sealed up "
                                     f"to {seal.date}; the seal itself was edited."))
        previous, after = seal.hash, seal.date
    return problems


def _closest(seal: Seal, spans: dict[int, list[Item]]) -> list[Item]:
    """Of a broken seal's span as each version hashes it, the one whose fingerprints
    agree longest with the seal's (what locates the first entry that differs)."""
    written = seal.fingerprints or ""
    # Each version hashes the one before's entries alike and adds some: when version
    # v - 1's all agree and version v's do not, one of those it adds is what differs.
    for version in range(VERSION, 2, -1):
        if (version - 1 in spans and version in spans
                and "".join(it.fingerprint for it in spans[version - 1]) == written
                and "".join(it.fingerprint for it in spans[version]) != written):
            return spans[version]

    def agreeing(span: list[Item]) -> int:
        now = "".join(it.fingerprint for it in span)
        return next((i for i, (a, b) in enumerate(zip(now, written, strict=False)) if a != b),
                    min(len(now), len(written)))

    return max(spans.values(), key=agreeing)


def sealer_problem(directory: Directory, by: str | None, date: datetime.date) -> str | None:
    """Why `by` may not seal on `date`, or None: a seal is made by a declared
    user holding a role on its date (the same as `bean-adjust seal` asks)."""
    if by is None or not by.strip():
        return "it names no one (`by:`); a seal is made by a declared user"
    if not directory.is_user(by, date):
        return f"{by!r} is not a declared user on {date}"
    if not directory.roles_on(by, date):
        return f"{by!r} holds no role on {date}"
    return None


def sealer_problems(facts: Facts, seals: Sequence[Seal]) -> list[Problem]:
    """`bad-seal` at each seal made by no one, an undeclared user or one holding
    no role on its date."""
    directory = Directory.build(facts.grants, facts.customers)
    problems = []
    for seal in seals:
        why = sealer_problem(directory, seal.by, seal.date)
        if why is not None:
            problems.append(Problem(
                code="bad-seal", source=seal.source,
                message=f"the seal of {seal.date} does not count as evidence: {why}. Seal "
                "with `bean-adjust seal --as USER` as a user holding a role on the seal's "
                "date (declare them with custom \"adjustment-user\" first)."))
    return problems


def _problem(seal: Seal, source: Source, message: str) -> Problem:
    where = f"{seal.source.filename}:{seal.source.lineno}"
    return Problem(
                 code="seal-broken", source=source,
                 message=f"{message} (seal of {seal.date} at {where}). Sealed entries are "
                 "never edited: restore the sealed version (git has it) and record any "
                 "correction as new entries dated after the seal.")


def _locate(seal: Seal, span: Sequence[Item], after: datetime.date | None) -> Problem:
    period = f"dated {'after ' + str(after) + ' and ' if after else ''}up to {seal.date}"
    sealed_fps = None
    if seal.fingerprints and len(seal.fingerprints) % FINGERPRINT == 0:
        sealed_fps = [seal.fingerprints[i:i + FINGERPRINT]
                      for i in range(0, len(seal.fingerprints), FINGERPRINT)]
    if sealed_fps is None:
        first = span[0] if span else None
        return _problem(seal, seal.source,
                        f"the entries {period} no longer match the seal "
                        f"({len(span)} entries now"
                        + (f", first {first.what} at {first.where()}" if first else "")
                        + "); the seal carries no fingerprints to say which entry differs")
    current = [it.fingerprint for it in span]
    i = next((k for k, (a, b) in enumerate(zip(current, sealed_fps, strict=False)) if a != b),
             min(len(current), len(sealed_fps)))
    if i == len(current) == len(sealed_fps):
        return _problem(seal, seal.source,
                        "every sealed entry is unchanged but the seal's hash does not match: "
                        "the seal, or the hash of the seal before it, was edited or a seal "
                        "was deleted")
    if i == len(current):
        missing = len(sealed_fps) - len(current)
        after_what = f" after {span[-1].what} at {span[-1].where()}" if span else ""
        return _problem(seal, seal.source,
                        f"{missing} sealed entr{'y was' if missing == 1 else 'ies were'} "
                        f"deleted{after_what}: the seal covers {len(sealed_fps)} entries "
                        f"{period}, the ledger now has {len(current)}")
    item = span[i]
    shorter, longer = len(current) < len(sealed_fps), len(current) > len(sealed_fps)
    if longer and (i == len(sealed_fps) or current[i + 1] == sealed_fps[i]):
        return _problem(seal, item.source,
                        f"{item.what} was added to a sealed day: the seal covers every "
                        f"adjustment entry {period}; date it after {seal.date} or remove it")
    if shorter and current[i] == sealed_fps[i + 1]:
        between = f"between {span[i - 1].what} and " if i else "before "
        return _problem(seal, item.source,
                        f"a sealed entry was deleted {between}{item.what}: the seal covers "
                        f"{len(sealed_fps)} entries {period}, the ledger now has "
                        f"{len(current)}")
    known = set(sealed_fps)
    changed = next((span[j] for j in range(i, len(span)) if current[j] not in known), None)
    if changed is not None:
        return _problem(seal, changed.source,
                        f"sealed entry changed: {changed.what} at {changed.where()} is not "
                        f"what was sealed among the {len(sealed_fps)} entries {period}")
    return _problem(seal, item.source,
                    f"sealed entries were reordered: {item.what} at {item.where()} is not "
                    f"where it was sealed (entry {i + 1} of {len(sealed_fps)} {period})")


# -- sealing -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SealPlan:
    """The next seal to write."""

    date: datetime.date
    hash: str
    count: int
    span: int
    fingerprints: str
    by: str


def next_seal(facts: Facts, seals: Sequence[Seal], date: datetime.date,
              by: str, *, settings: Settings | None) -> SealPlan:
    """The seal `by` makes to fix everything up to `date` on top of the existing seals.

    Raises ValueError when `date` is before the last seal, or when an
    existing seal is broken (a new seal never covers up a broken one).
    """
    ordered = sorted(seals, key=lambda s: s.date)
    if ordered and date < ordered[-1].date:
        raise ValueError(f"the last seal is dated {ordered[-1].date}; a new seal cannot be "
                         f"dated before it ({date})")
    broken = verify_seals(facts, ordered, settings=settings)
    if broken:
        raise ValueError("the ledger's seals do not verify; fix this first:\n"
                         + "\n".join(f"{p.source.filename}:{p.source.lineno}: {p.message}"
                                     for p in broken))
    items = sealed_items(facts, VERSION, settings)
    dates = [it.date for it in items]
    after = ordered[-1].date if ordered else None
    span = _span(items, dates, after, date)
    previous = ordered[-1].hash if ordered else ""
    return SealPlan(date=date, hash=chain(previous, [it.hash for it in span], VERSION, by),
                    count=bisect.bisect_right(dates, date), span=len(span),
                    fingerprints="".join(it.fingerprint for it in span), by=by)

