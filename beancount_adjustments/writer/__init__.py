"""The one writer: every change any tool makes to a ledger goes through here.

The CLI, the Fava extension, CSV import and schedules never open a ledger
file for writing themselves. They describe what to add, new requests
(`NewRequest`) or decisions (`Decision`), and call::

    from beancount_adjustments.writer import Decision, write_decisions
    result = write_decisions(Path("main.beancount"),
                             [Decision("ADJ-2026-0042", Action.APPROVE, by="bob")])
    print(f"wrote {result.written} entries to {result.path}")

What a write does, in order:

1. **Choose the file written to** (the *target*): the `target=` argument;
   else the file named by the environment variable `BEAN_ADJUST_TARGET`
   (relative to the ledger's directory); else `adjustments.beancount` beside
   the ledger when the ledger has an `include "adjustments.beancount"` line;
   else the ledger file itself. The target must be part of the ledger (the
   ledger or a file it includes): entries written elsewhere would never be
   read, so that is refused.
2. **Lock** the ledger: an exclusive `flock` on the sidecar file
   `.<root name>.lock` beside the ledger's real root file (symlinks
   resolved), and on the target's own `.<target name>.lock`, taken in one
   order (`ledger_locked`). Every writer of the ledger takes the root's lock
   whatever file of it it writes, so concurrent writers (two CLI runs to two
   include files, Fava and a cron job) queue up instead of allocating the
   same ids or losing each other's entries. The lock dies with its process;
   a killed writer never leaves the ledger locked. Before that, a target
   (its real file: a symlink is written through and stays a symlink) that
   is read-only, in a directory where no file can be created, or on a
   read-only mount is refused (`writable_problem`).
3. **Check the file did not change**: with `expected_sha256`, the target's
   current SHA-256 (`file_sha256(target)`) must equal it, or the write is
   refused with "the file changed since you loaded it; reload". The hash is
   of the *target* file, which for a single-file ledger is the ledger
   itself; a tool that knows only the ledger gets the target from
   `resolve_target(ledger)`. `WriteResult.sha256` is the new hash, to chain
   writes.
4. **Load the ledger once**, under the lock (the loader's pass without its
   pickle cache, which the write would make stale at once: `loading`), and
   take the book the plugin left (`book_of`). A caller that must read the
   ledger to know what to write passes a function of this load instead of
   a list (`FromLedger`), so the ledger is parsed once per write. A caller
   that holds a load already (Fava) passes it as `loaded=`
   (`loading.Snapshot`): under the lock the writer hashes every file of the
   ledger and re-globs every include, and judges against that load without
   parsing when all are as it read them; on any difference it loads in full
   (`WriteResult.full_load` says why).
5. **Render** the new directives (`render`): requests as `!` transactions
   linked by their id; decisions as `custom "adjustment"` directives with
   `by:`, `reason:`, `comment:`, `customer-reason:` (what the customer is told
   of a reject or a cancel), `effective:`, `at:` (the moment of writing,
   ISO 8601 in local time with its offset) and `digest:` (the request's
   current content hash, so the decision binds to exactly what the decider
   saw); an approval also records the chain it fills (`chain:`, the
   reversal's while reversing) and, when a price converted the amount, the
   converted amount it was judged at (`judged:`). Requests carry `at:`,
   `entered-by:` (the acting identity, when given) and, once judged, the
   `chain:` and `judged:` the replay gave them, so a price or row added
   later cannot change what an already written request needs.
6. **Judge** them as the plugin will: parse the rendered text, read it with
   the plugin's own reader, add the new facts to a copy of the book's facts
   and replay (going on from the loaded book's replay when the new items
   come after all it judged, `book.continued`; in full otherwise, and
   `WriteResult.full_replay` says why). An entry is refused when it brings
   a new problem (the plugin's own message), when an event would be
   recorded without effect,
   and before that for what the book cannot see: an empty identity, an
   unknown id, an account not opened in the ledger on the request's date,
   postings that do not balance, an id already taken, an `external-id`
   already imported.
   Then **Beancount's own checks** (`_check_beancount`): its validations
   (`beancount.ops.validation`) over the entries the write adds (what the
   plugin books for the touched adjustments, and for a new request not
   applied yet its transaction as it would be booked), and the `balance`
   assertions after them on the accounts they move, so what is written
   always passes `bean-check`. Any text holding a control character (NUL,
   C0 but tab and newline where a string may span lines, DEL) is refused,
   and so is a posting number beyond 15 digits before the point.
7. **Write atomically**: the target's text plus one blank line plus the
   new block goes to a temporary file in the same directory, is fsynced,
   given the target's mode and moved over the target with `os.replace`.
   A reader sees the old file or the new one, never a torn line; a writer
   killed at any moment leaves the old file (and at most a stray
   `.<name>.*.tmp`, removed by the next write).

Every OS or decoding error on the way (a full disk, a file too large, a
permission, a read-only file system, a target that is not UTF-8) is raised as
`WriteRefused` too: one line saying why, the files as they were.

All or nothing: by default any refusal writes nothing and raises
`WriteRefused`, listing every refusal. With `partial=True` (Fava's batch
approve, CSV import) the refused items are returned in
`WriteResult.refused` and the others written, together, in one write.

Dry run: with `dry_run=True` a write does everything above but take the
lock and write: it loads, judges and refuses (or raises `WriteRefused`)
exactly as the real write would, and returns the `WriteResult` with the
`text` and `ids` it would write, `written` 0 and `sha256` the target's
current hash (pass it as `expected_sha256` to make the real write refuse
if anything was written in between). `bean-adjust ... --dry-run` uses it.

Cost: one ledger load (none with a current `loaded=`: a hash of each file
instead), one parse of the new block, one replay when nothing is refused;
ids, accounts and line owners are indexed once per write, so a batch of
10,000 requests takes seconds, not minutes
(`benchmarks/csv_import.py`).

Ids of new requests are `<id-prefix>-<year>-<NNNN>` (`ADJ-2026-0042`): the
prefix from the plugin's `id-prefix` setting, the year of the request's
date, the number one above the highest already used for that prefix and
year.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from beancount.core import data, flags
from beancount.core.amount import Amount
from beancount.ops import balance as balance_ops
from beancount.ops import pad as pad_ops
from beancount.ops import validation
from beancount.parser import parser

from beancount_adjustments.beans import render
from beancount_adjustments.beans.directives import EVENT, Reader
from beancount_adjustments.beans.effects import entries_for
from beancount_adjustments.beans.loading import Snapshot, absolute, load_uncached
from beancount_adjustments.beans.metadata import control_problem
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.continuation import continued
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.facts import Facts
from beancount_adjustments.core.models import (
    Action,
    Adjustment,
    Event,
    Money,
    Problem,
    Record,
    Request,
    Source,
    kind_of,
)
from beancount_adjustments.core.policy import chain_text
from beancount_adjustments.core.replay import replay
from beancount_adjustments.core.seals import verify_seals
from beancount_adjustments.core.signatures import sign_event
from beancount_adjustments.plugin import book_of, collector_paused
from beancount_adjustments.writer.files import atomic_write, flocked, real_file

__all__ = [
    "DEFAULT_TARGET_NAME",
    "TARGET_ENV",
    "Decision",
    "NewRequest",
    "Refusal",
    "WriteRefused",
    "WriteResult",
    "file_sha256",
    "next_id",
    "request_meta",
    "resolve_target",
    "write_decisions",
    "write_requests",
]

TARGET_ENV = "BEAN_ADJUST_TARGET"
DEFAULT_TARGET_NAME = "adjustments.beancount"
LOCK_TIMEOUT = 120.0
"""Seconds a writer waits for the lock before giving up."""

CORE_REQUEST_KEYS = frozenset({"adjustment-type", "category", "customer", "reason",
                               "requested-by", "adjustment-id", "entered-by", "at", "chain",
                               "judged"})
DATE_META_KEYS = frozenset({"effective", "aging-from"})
BOOL_META_KEYS = frozenset({"approval-required", "on-statement"})
"""Keys written as Beancount booleans (`TRUE`/`FALSE`) from the texts "TRUE"/"FALSE"."""

MAX_WHOLE_DIGITS = 15
"""Digits before the decimal point a posting may have (as `amounts.MAX_DIGITS`)."""


# -- what callers pass in and get back ---------------------------------------


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
    sign_with: Path | None = None
    """A private key file (`bean-adjust keygen`): the event is signed over exactly
    what is written (id, action, by, date, digest), see `signatures`."""
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
    """What kind of refusal: "changed" when the request is no longer what the
    decider was shown (`Decision.seen_digest`); "refused" otherwise."""

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
    from the loaded book's replay, `book.continued`, or judged nothing)."""


class WriteRefused(AdjustmentsError):
    """Nothing was written; `refusals` says why (`code`: the first refusal's)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        super().__init__("\n".join(str(r) for r in self.refusals),
                         self.refusals[0].code if self.refusals else None)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the target and its lock -------------------------------------------------

_INCLUDE_RE = re.compile(r'^\s*include\s+"([^"]+)"', re.MULTILINE)


def resolve_target(ledger: Path, target: Path | None = None) -> Path:
    """The file a write to `ledger` appends to (see the module's manual)."""
    ledger = Path(ledger)
    if target is None and os.environ.get(TARGET_ENV):
        target = Path(os.environ[TARGET_ENV])
    if target is not None:
        target = Path(target)
        return target if target.is_absolute() else ledger.parent / target
    default = ledger.parent / DEFAULT_TARGET_NAME
    if ledger.name != DEFAULT_TARGET_NAME and default.is_file():
        try:
            includes = _INCLUDE_RE.findall(ledger.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):  # the write says why it cannot read it
            includes = []
        if any(_same_file(ledger.parent / name, default) for name in includes):
            return default
    return ledger


def _same_file(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def lock_path(target: Path) -> Path:
    """The sidecar lock file of `target` (of its real file, symlinks resolved)."""
    real = Path(os.path.realpath(target))
    return real.parent / f".{real.name}.lock"


@contextmanager
def locked(*paths: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive locks of `paths` (see the module's manual), taken in
    one order (their real paths sorted) so that two writers never deadlock."""
    reals = sorted({os.path.realpath(p) for p in paths})
    owners = {lock_path(Path(real)): real for real in reals}

    def busy(lock: Path) -> WriteRefused:
        return WriteRefused([Refusal(owners[lock], f"another writer has held the lock {lock} "
                                     f"for {timeout:.0f} s; try again")])

    with flocked(list(owners), timeout=timeout, busy=busy):
        yield


@contextmanager
def ledger_locked(ledger: Path, target: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """The lock every writer of `ledger` takes, whatever file of it it writes:
    the lock of the ledger's real root file, and the target's own (so that two
    ledgers including one file do not lose each other's entries either)."""
    with locked(ledger, target, timeout=timeout):
        yield


def writable_problem(path: Path) -> str | None:
    """Why `path` (a real file) cannot be replaced, or None (said after the file's
    name, as a `Refusal` prints it): a read-only file
    (no write permission bit, whoever runs the tool: a 0444 ledger is read-only
    for root too), a directory where no file can be created, a read-only mount."""
    try:
        mode = path.stat().st_mode
        dir_mode = path.parent.stat().st_mode
        read_only_mount = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError as exc:
        return f"cannot write it: {exc.strerror or exc}"
    if read_only_mount:
        return "cannot write it: it is on a read-only file system"
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not mode & writable or not os.access(path, os.W_OK):
        return "cannot write it: the file is read-only (make it writable to add entries)"
    if not dir_mode & writable or not os.access(path.parent, os.W_OK | os.X_OK):
        return (f"cannot write it: its directory {path.parent} is read-only, and an "
                "atomic write needs a new file there (make the directory writable)")
    return None


def os_refusal(path: Path, exc: OSError | UnicodeDecodeError, doing: str) -> WriteRefused:
    """An OS or decoding error as one line: what failed, on which file, why."""
    if isinstance(exc, UnicodeDecodeError):
        why = (f"it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
               f"{exc.start}); Beancount reads UTF-8: convert the file, e.g. with iconv")
    else:
        why = {errno.ENOSPC: "no space left on the device",
               errno.EDQUOT: "the disk quota is exceeded",
               errno.EFBIG: "the file would be larger than the system allows",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only"}.get(
                   exc.errno or 0, exc.strerror or str(exc))
    return WriteRefused([Refusal(str(path), f"cannot {doing} it: {why}; nothing was "
                                 "written, the files are as they were")])


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What tells a file apart from itself changed or replaced: device, inode, size
    and modification time."""
    found = os.stat(path)
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def _read_with_identity(path: Path) -> tuple[bytes, tuple[int, int, int, int]]:
    """The file's bytes and its identity as they were read (one open file)."""
    with path.open("rb") as handle:
        found = os.fstat(handle.fileno())
        raw = handle.read()
    return raw, (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def _remove_stray_temporaries(target: Path) -> None:
    """Temporaries left by a writer killed mid-write (we hold the lock, so
    no live writer owns one)."""
    for stray in target.parent.glob(f".{target.name}.*.tmp"):
        with suppress(FileNotFoundError):
            stray.unlink()


# -- ids ---------------------------------------------------------------------


def _id_pattern(prefix: str, year: int) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}-{year}-(\d+)$")


def next_id(used: Sequence[str] | set[str], prefix: str, year: int) -> str:
    """`prefix-year-NNNN`, one above the highest such id in `used`."""
    pattern = _id_pattern(prefix, year)
    numbers = [int(m.group(1)) for m in map(pattern.match, used) if m]
    return f"{prefix}-{year}-{max(numbers, default=0) + 1:04d}"


class _Ids:
    """The ids one write of requests allocates, as `next_id` would over every
    id in use (the book's, every transaction link, those allocated so far),
    but with the highest number per year computed once and then kept up to
    date, so a batch of n requests costs O(n), not O(n x ledger)."""

    def __init__(self, used: set[str], prefix: str) -> None:
        self.used = used
        self.prefix = prefix
        self.allocated: set[str] = set()
        """The ids given to earlier items of this write (refused ones too)."""
        self._highest: dict[int, tuple[re.Pattern[str], int]] = {}

    def next(self, year: int) -> str:
        if year not in self._highest:
            pattern = _id_pattern(self.prefix, year)
            numbers = [int(m.group(1)) for m in map(pattern.match, self.used) if m]
            self._highest[year] = (pattern, max(numbers, default=0))
        return f"{self.prefix}-{year}-{self._highest[year][1] + 1:04d}"

    def add(self, adj_id: str) -> None:
        self.allocated.add(adj_id)
        self.used.add(adj_id)
        for year, (pattern, highest) in self._highest.items():
            match = pattern.match(adj_id)
            if match and int(match.group(1)) > highest:
                self._highest[year] = (pattern, int(match.group(1)))


# -- one write ---------------------------------------------------------------


@dataclass
class _Item:
    """One entry to write, as rendered, and what became of it."""

    index: int
    key: str
    text: str
    refusal: str | None = None
    code: str = "refused"
    request: Request | None = None
    event: Event | None = None
    first_line: int = 0
    last_line: int = 0
    rerender: Callable[[list[tuple[str, render.MetaValue | None]]], str] | None = None
    """For a request: its text again with more metadata (what it was judged at)."""


@dataclass
class _Ledger:
    """The ledger as loaded under the lock."""

    path: Path
    target: Path
    existing: str
    entries: list[data.Directive]
    book: Book
    now: datetime.datetime
    options: dict[str, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)
    """What the load reported (Beancount's own errors among them)."""
    full_load: str = ""
    """Why the ledger was parsed ("" when the caller's snapshot was used)."""
    full_replay: str = ""
    """Why the last candidate was judged by a full replay ("" when it went on)."""

    @property
    def today(self) -> datetime.date:
        return self.now.astimezone().date()

    @property
    def stamp(self) -> str:
        """The moment of writing, in local time with its offset (what `at:` records)."""
        return self.now.astimezone().isoformat(timespec="seconds")

    @cached_property
    def structure(self) -> list[data.Directive]:
        """The entries Beancount's validations of a new transaction read besides it:
        every open, close and commodity directive."""
        return [e for e in self.entries if isinstance(e, data.Open | data.Close | data.Commodity)]

    @cached_property
    def balances(self) -> list[data.Balance]:
        return [e for e in self.entries if isinstance(e, data.Balance)]

    @cached_property
    def accounts(self) -> tuple[dict[str, datetime.date], dict[str, datetime.date]]:
        """(opened, closed): each account's `open` and `close` date (the last
        directive of each wins), indexed once per load."""
        opened: dict[str, datetime.date] = {}
        closed: dict[str, datetime.date] = {}
        for entry in self.entries:
            if isinstance(entry, data.Open):
                opened[entry.account] = entry.date
            elif isinstance(entry, data.Close):
                closed[entry.account] = entry.date
        return opened, closed

    def used_ids(self) -> set[str]:
        """Every id in use: the book's adjustments and requests, and every
        transaction link (a fresh set, for the caller to add to)."""
        used = set(self.book.adjustments) | {r.id for r in self.book.facts.requests}
        used |= {link for e in self.entries if isinstance(e, data.Transaction)
                 for link in (e.links or ())}
        return used


T = TypeVar("T")
FromLedger = Callable[[list[data.Directive], Book], Sequence[T]]
"""Items built from the ledger as the writer loaded it (its entries and book)."""


def _given(items: Sequence[T] | FromLedger[T], led: _Ledger) -> Sequence[T]:
    return items(led.entries, led.book) if callable(items) else items


def write_decisions(ledger: Path, decisions: Sequence[Decision] | FromLedger[Decision], *,
                    partial: bool = False, expected_sha256: str | None = None,
                    target: Path | None = None, now: datetime.datetime | None = None,
                    dry_run: bool = False, loaded: Snapshot | None = None) -> WriteResult:
    """Append `decisions` to the ledger as `custom "adjustment"` events.

    `decisions` may be a function of the ledger as loaded under the lock, for
    a caller that must read the ledger to choose them (`approve
    --all-pending`): the ledger is then parsed once, and judged as chosen.
    `dry_run`: judge them exactly the same way but write nothing (see `_write`).
    `loaded`: a load of the ledger the caller holds, used instead of parsing
    while the files are still as it read them (see the module's step 4)."""
    return _write(Path(ledger), target=target, expected_sha256=expected_sha256, now=now,
                  partial=partial, dry_run=dry_run, loaded=loaded,
                  build=lambda led: [_decision_item(led, i, d)
                                     for i, d in enumerate(_given(decisions, led))])


def write_requests(ledger: Path, requests: Sequence[NewRequest] | FromLedger[NewRequest], *,
                   partial: bool = False, expected_sha256: str | None = None,
                   target: Path | None = None, now: datetime.datetime | None = None,
                   dry_run: bool = False, loaded: Snapshot | None = None) -> WriteResult:
    """Append `requests` to the ledger as request transactions.

    `requests` may be a function of the ledger as loaded under the lock (see
    `write_decisions`). `dry_run`: judge them exactly the same way but write
    nothing (see `_write`). `loaded`: as for `write_decisions`."""
    def build(led: _Ledger) -> list[_Item]:
        ids = _Ids(led.used_ids(), led.book.settings.id_prefix)
        external: dict[str, str] = {r.external_id: r.id for r in led.book.facts.requests
                                    if r.external_id}
        return [_request_item(led, i, r, ids, external)
                for i, r in enumerate(_given(requests, led))]
    return _write(Path(ledger), target=target, expected_sha256=expected_sha256, now=now,
                  partial=partial, dry_run=dry_run, loaded=loaded, build=build)


def _write(ledger: Path, *, target: Path | None, expected_sha256: str | None,
           now: datetime.datetime | None, partial: bool, dry_run: bool,
           loaded: Snapshot | None, build: Callable[[_Ledger], list[_Item]]) -> WriteResult:
    """One write; with `dry_run` everything but the lock and the write itself.

    A dry run loads and judges exactly as a write would and ends the same
    way: with refusals and not `partial` it raises `WriteRefused` listing
    them, else it returns the `WriteResult` the write would have returned,
    except that `written` is 0 (`ids` and `text` are what would be written)
    and `sha256` is the target's current hash, unchanged (to pass as
    `expected_sha256` to the real write). It takes no lock: it changes
    nothing, and a write that lands meanwhile is caught by that hash.
    """
    if not ledger.is_file():
        raise WriteRefused([Refusal(str(ledger), "the ledger file does not exist")])
    path = resolve_target(ledger, target)
    if not path.is_file():
        raise WriteRefused([Refusal(str(path), "the target file does not exist; create it and "
                                    "include it from the ledger")])
    problem = writable_problem(real_file(path))
    if problem is not None:
        raise WriteRefused([Refusal(str(path), problem)])
    doing = "lock"
    try:
        with nullcontext() if dry_run else ledger_locked(ledger, path):
            doing = "read"
            if not dry_run:
                _remove_stray_temporaries(path)
            real = real_file(path)
            raw, identity = _read_with_identity(real)
            if (expected_sha256 is not None
                    and hashlib.sha256(raw).hexdigest() != expected_sha256):
                raise WriteRefused([Refusal(str(path),
                                            "the file changed since you loaded it; reload")])
            led = _load(ledger, path, raw.decode("utf-8"),
                        now or datetime.datetime.now(datetime.UTC), loaded)
            with collector_paused():
                items: list[_Item] = build(led)
                book = _judge(led, items)
                _record_judgement(book, items)
            refused = tuple(Refusal(it.key, it.refusal, it.index, it.code) for it in items
                            if it.refusal)
            if refused and not partial:
                raise WriteRefused(refused)
            accepted = [it for it in items if it.refusal is None]
            if not accepted:
                return WriteResult(path, "", 0, refused, (), hashlib.sha256(raw).hexdigest(),
                                   book, led.full_load, led.full_replay)
            block = render.render_block([it.text for it in accepted], led.existing)
            ids = tuple(it.key for it in accepted)
            if dry_run:
                return WriteResult(path, block, 0, refused, ids,
                                   hashlib.sha256(raw).hexdigest(), book, led.full_load,
                                   led.full_replay)
            content = render.appended(led.existing, block).encode("utf-8")
            doing = "write"
            # The lock keeps other writers out, not an editor saving the file or a
            # symlink swapped meanwhile: replacing it now would drop that edit, or
            # write this file's text over another one.
            if real_file(path) != real or _identity(real) != identity:
                raise WriteRefused([Refusal(str(path), (
                    "the file changed while the entries were being judged (saved by "
                    "another program, or its symlink now points elsewhere); nothing was "
                    "written: try again"), code="changed")])
            atomic_write(real, content)
            return WriteResult(path, block, len(accepted), refused, ids,
                               hashlib.sha256(content).hexdigest(), book, led.full_load,
                               led.full_replay)
    except UnicodeDecodeError as exc:  # the target's own text (the loader reports others)
        raise os_refusal(path, exc, "read") from None
    except OSError as exc:
        raise os_refusal(Path(exc.filename) if doing == "read" and exc.filename else path,
                         exc, doing) from None


def _load(ledger: Path, target: Path, existing: str, now: datetime.datetime,
          loaded: Snapshot | None) -> _Ledger:
    why = _not_reusable(ledger, loaded)
    if why or loaded is None:
        entries, errors, options = load_uncached(ledger)
    else:
        entries, errors, options = loaded.entries, loaded.errors, loaded.options
    book = book_of(options)
    failed = [e for e in errors if "failed internally" in str(getattr(e, "message", ""))]
    if book is None and failed:
        where = failed[0].source or {}
        raise WriteRefused([Refusal(str(ledger), (
            "the plugin could not judge the ledger (it failed internally at "
            f"{where.get('filename')}:{where.get('lineno')}); nothing is written until it can")
        )])
    if book is None:
        raise WriteRefused([Refusal(str(ledger), 'the ledger does not enable the plugin; add '
                                    'plugin "beancount_adjustments" to it')])
    read = {os.path.realpath(name) for name in options.get("include", [])}
    read.add(os.path.realpath(ledger))
    if os.path.realpath(target) not in read:
        raise WriteRefused([Refusal(str(target), f"{target} is not part of the ledger "
                                    f"{ledger}; include it, or write to the ledger itself")])
    return _Ledger(ledger, target, existing, entries, book, now, options, errors, why)


def _not_reusable(ledger: Path, loaded: Snapshot | None) -> str:
    """Why `loaded` cannot stand for a load of `ledger` now ("" when it can)."""
    if loaded is None:
        return "no load was given"
    if loaded.root != absolute(ledger):
        return f"the load given is of {loaded.root}, not of {absolute(ledger)}"
    return loaded.stale() or ""


# -- rendering the items -----------------------------------------------------


def _decision_item(led: _Ledger, index: int, decision: Decision) -> _Item:
    key = decision.adjustment_id.strip() or "(no id)"
    item = _Item(index, key, "")
    by = decision.by.strip()
    adj = led.book.get(decision.adjustment_id)
    action = Action(decision.action)
    control = next(filter(None, (
        control_problem("the id", decision.adjustment_id), control_problem("by", decision.by),
        control_problem("the reason", decision.reason, one_line=False),
        control_problem("the comment", decision.comment, one_line=False),
        control_problem("the customer reason", decision.customer_reason, one_line=False))),
        None)
    if control is not None:
        item.refusal = control
    elif _clean(decision.customer_reason) and action not in (Action.REJECT, Action.CANCEL):
        item.refusal = (f"a customer reason goes with a reject or a cancel (what the customer "
                        f"is told), not with an {action}")
    elif not by:
        item.refusal = "every decision needs an identity (who decides); none was given"
    elif adj is None:
        item.refusal = (f"no request has the id {decision.adjustment_id!r}; check the "
                        "spelling")
    elif action in (Action.REJECT, Action.CANCEL) and not (decision.reason or "").strip():
        item.refusal = f"a {action} needs a reason saying why"
    elif decision.seen_digest is not None and decision.seen_digest != adj.digest:
        item.refusal = (f"{adj.id} changed since it was shown to you (digest "
                        f"{decision.seen_digest} shown, now {adj.digest}); reload and decide "
                        "again on what it holds now")
        item.code = "changed"
    if item.refusal is not None:
        return item
    assert adj is not None
    date = decision.date or led.today
    signature = None
    if decision.sign_with is not None:
        try:
            signature = sign_event(decision.sign_with, adj.id, str(action), by, date,
                                   adj.digest)
        except (OSError, ValueError, TypeError) as exc:
            item.refusal = f"cannot sign with {decision.sign_with}: {exc}"
            return item
    approving = action is Action.APPROVE
    item.text = render.render_event(
        date=date, adjustment_id=adj.id, action=str(action),
        meta=[("by", by), ("reason", _clean(decision.reason)),
              ("comment", _clean(decision.comment)),
              ("customer-reason", _clean(decision.customer_reason)),
              ("effective", decision.effective),
              ("at", led.stamp), ("digest", adj.digest),
              ("chain", chain_text(adj.deciding_chain) if approving else None),
              ("judged", judged_value(adj) if approving else None),
              ("signature", signature)])
    return item


def judged_value(adj: Adjustment) -> Money | None:
    """`adj.judged` as written: to the precision of the amount, at least cents (the
    replay compares it at the digits written, `book.same_amount`)."""
    judged = adj.judged
    if judged is None:
        return None
    return judged_text(judged, adj.amount)


def judged_text(judged: Money, amount: Money | None) -> Money:
    exponent = -2
    if amount is not None:
        own = amount.number.as_tuple().exponent
        if isinstance(own, int):
            exponent = min(exponent, own)
    try:
        return Money(judged.number.quantize(Decimal(1).scaleb(exponent)), judged.currency)
    except ArithmeticError:
        return judged


def _clean(text: str | None) -> str | None:
    return text.strip() if text is not None and text.strip() else None


def _request_item(led: _Ledger, index: int, new: NewRequest, ids: _Ids,
                  external: dict[str, str]) -> _Item:
    date = new.date or led.today
    adj_id = new.id.strip() if new.id is not None else ids.next(date.year)
    item = _Item(index, adj_id or "(no id)", "")
    item.refusal = _request_refusal(led, new, adj_id, date, allocated=ids.allocated,
                                   external=external)
    ids.add(adj_id)
    if item.refusal is not None:
        return item
    if new.meta.get("external-id"):
        external[new.meta["external-id"]] = adj_id
    meta: list[tuple[str, render.MetaValue | None]] = [
        ("adjustment-type", new.type.strip()), ("category", _clean(new.category)),
        ("customer", new.customer.strip()), ("reason", new.reason.strip()),
        ("requested-by", new.requested_by.strip()), ("entered-by", _clean(new.entered_by))]
    for key, value in new.meta.items():
        meta.append((key, _meta_value(key, value)))
    meta.append(("at", led.stamp))

    def rerender(more: list[tuple[str, render.MetaValue | None]]) -> str:
        return render.render_request(
            date=date, adjustment_id=adj_id, payee=new.payee or new.customer.strip(),
            narration=new.narration or new.reason.strip(), meta=[*meta, *more],
            postings=new.postings)

    item.text = rerender([])
    item.rerender = rerender
    return item


def request_meta(*, invoice: str | None = None, order: str | None = None,
                 ticket: str | None = None, document: str | None = None,
                 effective: datetime.date | None = None, approval_required: bool = False,
                 notes: str | None = None, external_id: str | None = None,
                 on_statement: bool = True,
                 aging_from: datetime.date | None = None) -> dict[str, str]:
    """`NewRequest.meta` for the optional fields of a request, in the order they
    are written; empty ones left out (`approval-required: TRUE` and `on-statement:
    FALSE` only when asked)."""
    values = (("invoice", invoice), ("order", order), ("ticket", ticket),
              ("document", document), ("effective", effective.isoformat() if effective else None),
              ("external-id", external_id),
              ("approval-required", "TRUE" if approval_required else None), ("notes", notes),
              ("on-statement", None if on_statement else "FALSE"),
              ("aging-from", aging_from.isoformat() if aging_from else None))
    return {key: value for key, value in values if value is not None and value.strip()}


def _meta_value(key: str, value: str) -> render.MetaValue | None:
    value = value.strip()
    if not value:
        return None
    if key in BOOL_META_KEYS and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    if key in DATE_META_KEYS:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value  # the reader says why it is not a date
    return value


def _request_refusal(led: _Ledger, new: NewRequest, adj_id: str, date: datetime.date, *,
                     allocated: set[str], external: dict[str, str]) -> str | None:
    book = led.book
    control = _request_control_problem(new, adj_id)
    if control is not None:
        return control
    for name, value in (("requested-by", new.requested_by), ("type", new.type),
                        ("customer", new.customer), ("reason", new.reason)):
        if not value.strip():
            return ("a request needs an identity (requested-by); none was given"
                    if name == "requested-by" else f"a request needs a {name}")
    if not render.LINK_RE.match(adj_id):
        return f"{adj_id!r} cannot be an id: use letters, digits and - _ . / only"
    if adj_id in book.adjustments or adj_id in allocated:
        return f"the id {adj_id} is already taken; choose another or let the tool assign one"
    for key in new.meta:
        if not render.META_KEY_RE.match(key):
            return f"{key!r} is not a metadata key (lowercase letter, then letters, digits, -)"
        if key in CORE_REQUEST_KEYS:
            return f"`{key}` is set by its own field, not through meta"
    ext = (new.meta.get("external-id") or "").strip()
    if ext and ext in external:
        return f"external-id {ext!r} is already recorded as {external[ext]}; not importing twice"
    if not new.postings:
        return "a request needs postings"
    opened, closed = led.accounts
    totals: dict[str, Decimal] = {}
    for account, number, currency in new.postings:
        number_problem = _number_problem(account, number, currency)
        if number_problem is not None:
            return number_problem
        if account not in opened:
            return (f"account {account} is not opened in the ledger; add `open` for it or "
                    "choose another account")
        if opened[account] > date:
            return f"account {account} opens on {opened[account]}, after the request ({date})"
        if account in closed and closed[account] <= date:
            return f"account {account} is closed since {closed[account]}"
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(number)
    unbalanced = {c: n for c, n in totals.items() if n != 0}
    if unbalanced:
        off = ", ".join(f"{n} {c}" for c, n in sorted(unbalanced.items()))
        return f"the postings do not balance (they leave {off})"
    try:
        kind_of(new.type.strip())
    except ValueError:
        return (f"adjustment type {new.type!r} must start with credit:, debit: or billing: "
                "(for example credit:refund)")
    return None


def _request_control_problem(new: NewRequest, adj_id: str) -> str | None:
    one_line = [("the id", adj_id), ("requested-by", new.requested_by), ("the type", new.type),
                ("the customer", new.customer), ("the category", new.category),
                ("the payee", new.payee), ("entered-by", new.entered_by)]
    one_line += [(f"`{key}`", value) for key, value in new.meta.items()]
    one_line += [(f"posting {account!r}", f"{account} {currency}")
                 for account, _, currency in new.postings]
    for what, text in one_line:
        problem = control_problem(what, text)
        if problem is not None:
            return problem
    for what, text in (("the reason", new.reason), ("the narration", new.narration)):
        problem = control_problem(what, text, one_line=False)
        if problem is not None:
            return problem
    return None


def _number_problem(account: str, number: Decimal, currency: str) -> str | None:
    """A posting number Beancount could not hold as written (or no one meant)."""
    try:
        number = Decimal(number)
    except (ArithmeticError, TypeError, ValueError):
        return f"the amount of {account} ({number!r}) is not a number"
    if not number.is_finite():
        return f"the amount of {account} ({number}) is not a finite number"
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if number != 0 and len(digits) + exponent > MAX_WHOLE_DIGITS:
        return (f"the amount of {account} ({number} {currency}) has more than "
                f"{MAX_WHOLE_DIGITS} digits before the decimal point; that is not an "
                "adjustment amount")
    return None


# -- judging -----------------------------------------------------------------


def _problem_key(problem: Problem) -> tuple[str, str, str, int]:
    return (problem.code, problem.message, problem.source.filename, problem.source.lineno)


def _judge(led: _Ledger, items: list[_Item]) -> Book:
    """Refuse what the plugin would reject; return the book of what stays."""
    live = [it for it in items if it.refusal is None]
    if not live:
        return led.book
    _read(led, live)
    baseline = {_problem_key(p) for p in led.book.problems}
    rates = led.book.rules.rates

    def candidate(chosen: list[_Item]) -> tuple[Book, list[Problem]]:
        requests = [it.request for it in chosen if it.request]
        events = [it.event for it in chosen if it.event]
        facts: Facts = dataclasses.replace(
            led.book.facts,
            requests=[*led.book.facts.requests, *requests],
            events=[*led.book.facts.events, *events],
            timeline=[],  # the new items are not in the order read: sort them in
            problems=list(led.book.facts.problems))
        # The plugin verifies seals before it replays; so does the candidate, so
        # a decision dated on an already sealed day is refused, not written.
        facts.problems.extend(p for p in verify_seals(facts, facts.seals)
                              if _problem_key(p) not in baseline)
        try:
            # Usually the new items come after all the book judged: go on from there.
            went_on = continued(led.book, facts, requests, events)
            if isinstance(went_on, Book):
                book, led.full_replay = went_on, ""
            else:
                book = replay(facts, rates, led.book.settings, led.book.checks)
                led.full_replay = went_on
        except Exception as exc:  # fail closed: what cannot be judged is not written
            raise WriteRefused([Refusal(str(led.target), (
                f"the change cannot be judged ({type(exc).__name__}: {exc}); nothing was "
                "written. Please report this."))]) from exc
        return book, [p for p in book.problems if _problem_key(p) not in baseline]

    # In the common case (nothing refused) this replays exactly once.
    while True:
        chosen = [it for it in live if it.refusal is None]
        if not chosen:
            return led.book
        book, new = candidate(chosen)
        owners = _Owners(chosen)
        unplaced = [p for p in new if not _blame(owners, p, str(led.target))]
        _check_effects(book, chosen)
        if not any(it.refusal for it in chosen):
            _check_beancount(led, book, chosen)
        if any(it.refusal for it in chosen):
            continue  # re-judge without the refused ones: others may depend on them
        if not unplaced:
            return book
        # A new problem sits on an old entry (say, a credit now exceeds an invoice
        # at an existing apply): add the items one by one to find who causes it.
        accepted: list[_Item] = []
        for it in chosen:
            trial, trial_new = candidate([*accepted, it])
            _check_effects(trial, [it])
            if it.refusal is None and not trial_new:
                _check_beancount(led, trial, [*accepted, it], only=it)
            if it.refusal is None and trial_new:
                it.refusal = "; ".join(f"{p.message} [{p.code}]" for p in trial_new)
            if it.refusal is None:
                accepted.append(it)
        if not accepted:
            return led.book
        return candidate(accepted)[0]


def _raw_request(request: Request) -> data.Transaction:
    """The request's transaction as the plugin reads it (postings and all), for
    making the entries it generates (`effects.entries_for`)."""
    source = request.source
    return data.Transaction(
        {"filename": source.filename, "lineno": source.lineno}, request.date, flags.FLAG_WARNING,
        request.payee, request.narration, frozenset(), frozenset({request.id}),
        [data.Posting(p.account, Amount(p.number, p.currency), None, None, None, None)
         for p in request.postings])


def _generated_key(entry: data.Directive) -> tuple[datetime.date, bool]:
    return entry.date, "reverses" in entry.meta


def _new_entries(led: _Ledger, book: Book, items: list[_Item]) -> list[
        tuple[data.Transaction, list[_Item], bool]]:
    """What the write adds to the entries Beancount checks: for every adjustment
    the items touch, the generated entries the candidate book has and the
    loaded one had not (an applied or reversing transaction), each with the
    items that touch it; and for a new request not applied yet, its applied
    transaction as it would be (`True`: hypothetical), dated at its
    `effective:` date or its own, so a request that could never be applied
    (an account not open then, a currency the account does not take) is
    refused when it is filed, not when it is approved."""
    touching: dict[str, list[_Item]] = {}
    for it in items:
        adj_id = (it.request.id if it.request is not None
                  else it.event.adjustment_id if it.event is not None else None)
        if adj_id is not None:
            touching.setdefault(adj_id, []).append(it)
    tracked_new, tracked_old = book.tracked(), led.book.tracked()
    out: list[tuple[data.Transaction, list[_Item], bool]] = []
    tags: dict[Any, frozenset[str]] = {}
    for adj_id, owners in touching.items():
        now = tracked_new.get(adj_id)
        if now is None:
            continue
        raw = _raw_request(now.request)
        before = tracked_old.get(adj_id)
        had = ({_generated_key(e) for e in entries_for(raw, before, tags)[1:]}
               if before is not None and before.request.source == now.request.source else set())
        generated = [e for e in entries_for(raw, now, tags)[1:] if _generated_key(e) not in had]
        out += [(e, owners, False) for e in generated]
        if not generated and now.applied_on is None and any(it.request for it in owners):
            request = now.request
            out.append((raw._replace(date=request.effective or request.date,
                                     flag=flags.FLAG_OKAY), owners, True))
    return out


def _check_beancount(led: _Ledger, book: Book, items: list[_Item], *,
                     only: _Item | None = None) -> None:
    """Refuse what Beancount itself would then report (bean-check): its
    validations (`beancount.ops.validation`: accounts open on the date,
    currencies the account allows, balancing, ...) over the new entries, and
    the balance assertions after them on the accounts they move (padding
    recomputed, as the loader does)."""
    new = _new_entries(led, book, items)
    if not new:
        return
    by_entry = {id(entry): (owners, hypothetical) for entry, owners, hypothetical in new}

    def refuse(owners: list[_Item], message: str) -> None:
        for it in owners:
            if (only is None or it is only) and it.refusal is None:
                it.refusal = message

    candidate = sorted([*led.structure, *(entry for entry, _, _ in new)],
                       key=data.entry_sortkey)
    for error in validation.validate(candidate, led.options):  # type: ignore[no-untyped-call]
        found = by_entry.get(id(getattr(error, "entry", None)))
        if found is not None:
            owners, hypothetical = found
            when = (f"once applied (on {error.entry.date}), " if hypothetical else
                    f"the entry it books on {error.entry.date} ")
            refuse(owners, f"{when}Beancount would report: {error.message} [beancount]"
                   if hypothetical else f"{when}would fail bean-check: {error.message} "
                   "[beancount]")
    booked = [(entry, owners) for entry, owners, hypothetical in new if not hypothetical]
    if not booked or not led.balances:
        return
    moved = {p.account for entry, _ in booked for p in entry.postings}
    first = min(entry.date for entry, _ in booked)
    relevant = [b for b in led.balances if b.date > first and any(
        a == b.account or a.startswith(b.account + ":") for a in moved)]
    if not relevant:
        return
    failing = {((e.source or {}).get("filename"), (e.source or {}).get("lineno"))
               for e in led.errors if type(e).__name__ == "BalanceError"}
    entries = [e for e in led.entries
               if not (isinstance(e, data.Transaction) and e.flag == flags.FLAG_PADDING)]
    entries = sorted([*entries, *(entry for entry, _ in booked)], key=data.entry_sortkey)
    entries, _ = pad_ops.pad(entries, led.options)  # type: ignore[no-untyped-call]
    _, errors = balance_ops.check(entries, led.options)  # type: ignore[no-untyped-call]
    for error in errors:
        where = ((error.source or {}).get("filename"), (error.source or {}).get("lineno"))
        if where in failing or not isinstance(error.entry, data.Balance):
            continue
        assertion = error.entry
        for entry, owners in booked:
            if entry.date < assertion.date and any(
                    p.account == assertion.account or p.account.startswith(
                        assertion.account + ":") for p in entry.postings):
                refuse(owners, f"the entry it books on {entry.date} would fail the balance "
                       f"assertion at {where[0]}:{where[1]} (bean-check: {error.message}) "
                       "[beancount]")


def _record_judgement(book: Book, items: list[_Item]) -> None:
    """Write into each accepted request the chain and converted amount the
    replay judged it at (`chain:`, `judged:`): the replay compares them with
    what it finds later, so a price or row added afterwards cannot change what
    an already written request needs. Neither is covered by the digest, so
    the judgement stands for the text written; the returned book's line
    numbers of the items after a request are off by the lines added."""
    for it in items:
        if it.refusal is not None or it.request is None or it.rerender is None:
            continue
        adj = book.get(it.request.id)
        if adj is None:
            continue
        judged = judged_value(adj)
        it.text = it.rerender([("chain", chain_text(adj.chain)), ("judged", judged)])
        it.request = it.request._replace(chain=adj.chain, judged=judged)


def _read(led: _Ledger, items: list[_Item]) -> None:
    """Parse the rendered items as the plugin will read them."""
    start = led.existing.count("\n") + render.separator(led.existing).count("\n") + 1
    lines = start
    for it in items:
        it.first_line = lines
        lines += it.text.count("\n") + 1  # the blank line after it
        it.last_line = lines - 1
    block = "\n".join(it.text for it in items)
    entries, errors, _ = parser.parse_string(block, report_filename=str(led.target),
                                             report_firstline=start)
    owners = _Owners(items)
    for error in errors:
        owner = owners.at(error.source.get("lineno", 0))
        for it in [owner] if owner else items:
            it.refusal = it.refusal or f"cannot be written as Beancount: {error.message}"
    reader = Reader()
    for entry in entries:
        owner = owners.at(entry.meta.get("lineno", 0))
        if owner is None or owner.refusal:
            continue
        if isinstance(entry, data.Transaction):
            owner.request = reader.request(entry)
        elif isinstance(entry, data.Custom) and entry.type == EVENT:
            owner.event = reader.event(entry)
    for problem in reader.problems:
        owner = owners.at(problem.source.lineno)
        if owner is not None and owner.refusal is None:
            owner.refusal = f"{problem.message} [{problem.code}]"
    for it in items:
        if it.refusal is None and it.request is None and it.event is None:
            it.refusal = "the rendered entry could not be read back"


class _Owners:
    """Which item a line of the rendered block belongs to: a binary search
    over the items' first lines (ascending, their spans disjoint)."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.first_lines = [it.first_line for it in items]

    def at(self, lineno: int) -> _Item | None:
        i = bisect.bisect_right(self.first_lines, lineno) - 1
        if i >= 0 and lineno <= self.items[i].last_line:
            return self.items[i]
        return None


def _blame(owners: _Owners, problem: Problem, filename: str) -> bool:
    """Refuse the item a problem sits on; False when it sits on an old entry."""
    if problem.source.filename != filename:
        return False
    owner = owners.at(problem.source.lineno)
    if owner is None:
        return False
    if owner.refusal is None:
        owner.refusal = f"{problem.message} [{problem.code}]"
    return True


def _check_effects(book: Book, items: list[_Item]) -> None:
    """An entry the plugin would keep without effect (an approval of an invalid
    request, a stale one) is refused too: it would only confuse the audit trail."""
    histories: dict[str, dict[Source, Record]] = {}  # per adjustment, by event source

    def record_of(event: Event) -> Record | None:
        adj = book.get(event.adjustment_id)
        if adj is None:
            return None
        by_source = histories.get(event.adjustment_id)
        if by_source is None:
            by_source = {}
            for r in adj.history:
                by_source.setdefault(r.event.source, r)  # the first, as a scan would
            histories[event.adjustment_id] = by_source
        return by_source.get(event.source)

    for it in items:
        if it.refusal is not None:
            continue
        if it.request is not None:
            adj = book.get(it.request.id)
            if adj is None or adj.request.source != it.request.source:
                it.refusal = f"{it.request.id} would not be read as a new request"
            elif adj.state.value == "invalid":
                messages = [f"{p.message} [{p.code}]" for p in adj.problems]
                it.refusal = "; ".join(messages) or "the request would be invalid"
        elif it.event is not None:
            record = record_of(it.event)
            if record is None:
                it.refusal = f"no request has the id {it.event.adjustment_id}"
            elif not record.accepted:
                it.refusal = f"{it.event.adjustment_id} {it.event.action}: {record.note}"
