"""What callers of the writer pass in (`Decision`, `NewRequest`) and get back."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from beancount_adjustments.beans.loading import DiskState
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Action

USER_ENV = "BEAN_ADJUST_USER"
"""The environment variable naming who is acting where no `--as` can be given (cron
jobs, a beangulp import script): what every tool writes as `entered-by:` or `by:`."""


@dataclass(frozen=True)
class Decision:
    """One event to write: `custom "adjustment" ID ACTION`."""

    adjustment_id: str
    action: Action
    by: str
    reason: str | None = None
    comment: str | None = None
    effective: datetime.date | None = None
    date: datetime.date | None = None
    """The event's date; default: today (local time)."""
    seen_digest: str | None = None
    """The digest of the request as the decider was shown it (a page): the write is
    refused for this item if the request changed since, whatever file holds it."""
    seen_step: str | None = None
    """The step it awaited as shown (`lifecycle.step_shown`, "pending 0/1"): refused
    too once it moved on (approved, applied and cancelled, the Approve would approve
    its reversal)."""
    sign_with: Path | None = None
    """A private key file (`bean-adjust keygen`): the event is signed over exactly
    what is written (id, action, by, date, digest, `effective:`, `at:`, `chain:`,
    `judged:`, `limit-judged:`), see `signatures`."""
    customer_reason: str | None = None
    """What the customer is told of a reject or a cancel (`customer-reason:`), apart
    from the internal `reason`."""


@dataclass(frozen=True)
class NewRequest:
    """One request to write: a `!` transaction with `adjustment-type:`."""

    type: str
    customer: str
    requested_by: str
    reason: str
    postings: tuple[tuple[str, Decimal, str], ...]
    """(account, number, currency); they must balance."""
    category: str | None = None
    id: str | None = None
    """None: the next free id (see `next_id`)."""
    payee: str | None = None
    """Default: the customer."""
    narration: str | None = None
    """Default: the reason."""
    date: datetime.date | None = None
    """Default: today (local time)."""
    meta: Mapping[str, str] = field(default_factory=dict)
    """More metadata: invoice, order, ticket, document, effective, risk,
    external-id, ... (`effective` is written as a date)."""
    entered_by: str | None = None
    """Who is writing it (the tool's acting identity), written as `entered-by:`
    when given: they count as a requester too, and may not approve it."""


@dataclass(frozen=True)
class Refusal:
    key: str
    """The adjustment id (decisions, requests) the refusal is about."""
    message: str
    index: int = -1
    """Position of the refused item in the sequence passed in (-1: the whole write)."""
    code: str = "refused"
    """What kind of refusal: "changed" when the request, or the step it awaits, is
    no longer what the decider was shown (`Decision.seen_digest`, `seen_step`);
    "refused" otherwise."""
    rule: str = ""
    """The plugin's code of the rule that refused it (`self-approval`, `over-limit`),
    "" for the writer's own refusals (an unknown id, a stale page)."""

    def __str__(self) -> str:
        # The plugin's own messages already start with the adjustment id.
        if self.message.startswith((f"{self.key} ", f"{self.key}:")):
            return self.message
        return f"{self.key}: {self.message}"


@dataclass(frozen=True)
class WriteResult:
    path: Path
    """The file written to (the target)."""
    text: str
    """The block appended (empty when nothing was written)."""
    written: int
    """How many entries were written."""
    refused: tuple[Refusal, ...]
    ids: tuple[str, ...]
    """The adjustment ids of the written entries, in order."""
    sha256: str = ""
    """The target's SHA-256 after the write."""
    book: Book | None = field(default=None, compare=False, repr=False)
    """The book as the written entries were judged (line numbers of entries
    that were written after a refused one may be off)."""
    full_load: str = ""
    """Why the writer parsed the ledger itself ("" when it judged against the
    caller's `loaded=` snapshot, which the files on disk still matched)."""
    full_replay: str = ""
    """Why the writer judged by replaying the whole book ("" when it went on
    from the loaded book's replay, `core.continuation.continued`, or judged nothing)."""
    files: DiskState | None = field(default=None, compare=False, repr=False)
    """The ledger's files as this write left them, when it judged against the
    caller's snapshot (hashed under its lock, the target's hash and stat as
    written): what the caller's reload right after can start from
    (`loading.snapshot`) instead of hashing every file again."""


class WriteRefused(AdjustmentsError):
    """Nothing was written; `refusals` says why (`code`: the first refusal's)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        super().__init__("\n".join(str(r) for r in self.refusals),
                         self.refusals[0].code if self.refusals else None)
