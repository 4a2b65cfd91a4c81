"""Signed approvals: Ed25519 keys (`adjustment-key`, effective-dated by user) and
signatures over one decision (`message`: id, action, by, date, digest, `effective:`
and what the approval records of when it was written and what it was judged on).

`sign_event` and `sign_with` sign, `verify` checks, `KeyRing` holds the keys in
force per user and day, and `judge_signature` is the replay's verdict on an
event. The user's side (keys, rotation, policies): docs/seals.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from beancount_adjustments.core.digest import exact_number
from beancount_adjustments.core.models import Event, Money, Source
from beancount_adjustments.core.policy import chain_text

if TYPE_CHECKING:
    # cryptography is imported where keys are used: a ledger load reads no key
    # unless the ledger signs approvals, and the plugin's import stays light.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

KEY = "adjustment-key"
MESSAGE_TAG = "beancount-adjustments/approval-signature/v3"
"""What tools sign since the approval's `Recorded` lines are covered (v3)."""
EFFECTIVE_TAG = "beancount-adjustments/approval-signature/v2"
"""Signatures made before (`effective:` covered, not `Recorded`): they still verify,
as `LEGACY_TAG` ones do; a `chain:` or `at:` edited on one is an edit of the past,
which `check --since` reports."""
LEGACY_TAG = "beancount-adjustments/approval-signature/v1"
"""Signatures made before: they cover no `effective:`, and still verify (a signed
decision of the past keeps counting; an `effective:` edited on one is an edit of
the past, which `check --since` reports)."""

UNSIGNED_EFFECTIVE = "unsigned-effective"
"""The warning at an approval carrying `effective:` signed over `LEGACY_TAG`."""
OLD_SIGNATURE = "old-signature"
"""The warning at any other approval signed over a message of before `MESSAGE_TAG`."""
OLD_MESSAGE_WARNINGS = frozenset({UNSIGNED_EFFECTIVE, OLD_SIGNATURE})
"""The approvals a signature of before `MESSAGE_TAG` lets count: the past's only, so
`check --since` fails a new one (made by an old tool, or by a signer for a decision
never merged, and edited where the old message does not cover it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKey:
    """One `custom "adjustment-key"` line."""

    date: datetime.date
    user: str
    key: str
    """The raw 32-byte Ed25519 public key, base64."""
    source: Source


# -- keys ----------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file (ValueError if it is not one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def parse_public_key(text: str) -> Ed25519PublicKey | None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


def key_directive(user: str, public: str, date: datetime.date) -> str:
    return f'{date.isoformat()} custom "{KEY}" "{user}" "{public}"\n'


# -- signing and verifying -----------------------------------------------------


class Recorded(NamedTuple):
    """What an approval records beside its digest: when it was written (`at:`) and
    what its approver was shown (`chain:`, `judged:`, `limit-judged:`). The replay
    reads each (an approval given to another chain or amount is stale; `at:` dates
    it against locks and `backdate-days`), so a signature covers them: unsigned, a
    line deleted or edited on a signed approval made a stale one count, or moved one
    written after a lock before it."""

    at: str | None = None
    chain: tuple[str, ...] | None = None
    judged: Money | None = None
    limit_judged: Money | None = None

    @classmethod
    def of(cls, event: Event) -> Recorded:
        return cls(event.at, event.chain, event.judged, event.limit_judged)

    def fields(self) -> list[str]:
        """As signed: each as the replay reads it back (a chain as `chain:` writes it,
        amounts with every digit and no trailing zeros), empty when not recorded."""
        chain = "" if self.chain is None else chain_text(self.chain)
        return [self.at or "", chain, _money_text(self.judged), _money_text(self.limit_judged)]


def _money_text(money: Money | None) -> str:
    return "" if money is None else f"{exact_number(money.number)} {money.currency}"


NOTHING_RECORDED = Recorded()


def message(adjustment_id: str, action: str, by: str, date: datetime.date,  # noqa: PLR0917
            digest: str, effective: datetime.date | None = None, *,
            tag: str = MESSAGE_TAG, recorded: Recorded = NOTHING_RECORDED) -> bytes:
    """The exact bytes a signature covers: from `EFFECTIVE_TAG` on, the event's
    `effective:` too (empty when it has none), which dates what the approval books;
    with `MESSAGE_TAG`, what it `recorded`."""
    fields = [tag, adjustment_id, str(action), by, date.isoformat(), digest]
    if tag != LEGACY_TAG:
        fields.append(effective.isoformat() if effective is not None else "")
    if tag == MESSAGE_TAG:
        fields += recorded.fields()
    return "\x1f".join(fields).encode("utf-8")


REVERSAL_APPROVAL = "approve-reversal"
"""The action an approval of a reversal signs."""


def signed_action(action: str, *, reversal: int = 0) -> str:
    """The action a signature covers. `reversal`: which reversal of the adjustment the
    approval is given to (0: none, the request's). An approval of the first reversal
    signs `REVERSAL_APPROVAL`, of a later one `approve-reversal-N`: bob's signed
    approval of the request, or of a reversal rejected since, pasted again after a
    same-day cancel, approves nothing."""
    if action != "approve" or not reversal:
        return action
    return REVERSAL_APPROVAL if reversal == 1 else f"{REVERSAL_APPROVAL}-{reversal}"


def sign_with(key: Ed25519PrivateKey, adjustment_id: str, action: str, by: str,  # noqa: PLR0917
              date: datetime.date, digest: str, effective: datetime.date | None = None,
              *, recorded: Recorded = NOTHING_RECORDED) -> str:
    signature = key.sign(message(adjustment_id, action, by, date, digest, effective,
                                 recorded=recorded))
    return base64.b64encode(signature).decode("ascii")


def sign_event(private_key_pem_path: str | os.PathLike[str], adjustment_id: str, action: str,  # noqa: PLR0917
               by: str, date: datetime.date, digest: str,
               effective: datetime.date | None = None, *,
               recorded: Recorded = NOTHING_RECORDED) -> str:
    """The base64 signature to write as `signature:` on the event (which then
    carries exactly the lines `recorded` holds)."""
    return sign_with(load_private_key(private_key_pem_path), adjustment_id, action, by, date,
                     digest, effective, recorded=recorded)


def verify(public_key: str, signature: str, adjustment_id: str, action: str, by: str,  # noqa: PLR0917
           date: datetime.date, digest: str, effective: datetime.date | None = None,
           *, recorded: Recorded = NOTHING_RECORDED) -> str | None:
    """The message tag with which `signature` verifies as made by the key `public_key`
    (base64) for exactly this decision: `MESSAGE_TAG` (what it `recorded` included),
    `EFFECTIVE_TAG` (made before signatures covered that) or `LEGACY_TAG` (made before
    they covered `effective:`); None when it does not."""
    from cryptography.exceptions import InvalidSignature

    key = parse_public_key(public_key)
    if key is None:
        return None
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    for tag in (MESSAGE_TAG, EFFECTIVE_TAG, LEGACY_TAG):
        try:
            key.verify(raw, message(adjustment_id, action, by, date, digest, effective,
                                    tag=tag, recorded=recorded))
        except (ValueError, InvalidSignature):
            continue
        return tag
    return None


# -- the keys in a ledger ------------------------------------------------------


@dataclass
class KeyRing:
    """Registered public keys per user, effective-dated."""

    keys: dict[str, list[PublicKey]] = field(default_factory=dict)

    @classmethod
    def build(cls, keys: Iterable[PublicKey]) -> KeyRing:
        ring = cls()
        for key in sorted(keys, key=lambda k: k.date):
            ring.keys.setdefault(key.user, []).append(key)
        return ring

    def keys_on(self, user: str, date: datetime.date) -> list[PublicKey]:
        """The user's keys in force on `date`: those of the latest day on or before it."""
        known = [k for k in self.keys.get(user, ()) if k.date <= date]
        if not known:
            return []
        last = known[-1].date
        return [k for k in known if k.date == last]


class Signed(NamedTuple):
    """The replay's verdict on an event's signature."""

    refusal: tuple[str, str] | None = None
    """(code, message) when the signature makes the event not count."""
    tag: str | None = None
    """The message the signature verified with (None: unsigned, or refused). One of
    before `MESSAGE_TAG` still counts, so that decisions of the past keep theirs, but
    nothing shows the lines it does not cover are the signer's, present or deleted:
    a decision new since a revision must carry a signature made as tools sign now."""

    @property
    def uncovered_effective(self) -> bool:
        """Made before signatures covered `effective:` (`LEGACY_TAG`)."""
        return self.tag == LEGACY_TAG

    @property
    def old(self) -> bool:
        """Made over a message of before `MESSAGE_TAG`."""
        return self.tag is not None and self.tag != MESSAGE_TAG


def judge_signature(ring: KeyRing, event: Event, digest: Callable[[], str],
                    required: bool, *, reversal: int = 0) -> Signed:
    """Whether the event's signature lets it count, and what it leaves uncovered.

    `digest()` is what the signature must cover (the event's digest, or the
    request's when the event has none); it is asked for only when there is a
    signature to verify, since the replay works out a request's digest lazily.
    `reversal`: which reversal the event approves (0: the request; `signed_action`).
    """
    signature = getattr(event, "signature", None)
    if not signature:
        if not required:
            return Signed()
        return Signed((
            "unsigned-approval",
            "approvals of this type must be signed (policy `signatures: \"required\"`); "
            "this one carries no `signature:`. Approve again with --sign KEYFILE."))
    keys = ring.keys_on(event.by, event.date)
    if not keys:
        return Signed((
            "bad-signature",
            f"the approval is signed but {event.by} has no key registered on "
            f"{event.date}; add custom \"{KEY}\" \"{event.by}\" \"<public key>\"."))
    covered = digest()
    action = signed_action(str(event.action), reversal=reversal)
    for k in keys:
        tag = verify(k.key, signature, event.adjustment_id, action, event.by, event.date,
                     covered, event.effective, recorded=Recorded.of(event))
        if tag is not None:
            return Signed(tag=tag)
    return Signed((
        "bad-signature",
        f"the signature does not verify with {event.by}'s registered key: it was not made "
        "by that key for this id, action, approver, date, content, `effective:` and "
        "`at:`, `chain:`, `judged:` and `limit-judged:` as written "
        "(forged, copied from another decision, such as the approval of the request "
        "copied to its reversal, or the event was edited)."))
