"""One write, from start to end: target, lock, load, render, judge, write (requests,
decisions or a seal)."""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

from beancount.core import data

from beancount_adjustments.beans import render
from beancount_adjustments.beans.collector import collector_paused
from beancount_adjustments.beans.loading import (
    DiskState,
    InternalFailure,
    Snapshot,
    Stat,
    absolute,
    load_uncached,
    replaced,
    stat_of,
)
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.facts import filed_requests
from beancount_adjustments.core.models import Request
from beancount_adjustments.core.seals import SealPlan
from beancount_adjustments.plugin import book_of
from beancount_adjustments.writer import ledger as ledger_module
from beancount_adjustments.writer.batch import decision_items
from beancount_adjustments.writer.files import atomic_write, real_file
from beancount_adjustments.writer.ids import Ids
from beancount_adjustments.writer.items import request_item
from beancount_adjustments.writer.judging import judge, record_judgement
from beancount_adjustments.writer.ledger import Item, Ledger
from beancount_adjustments.writer.results import (
    Decision,
    NewRequest,
    Refusal,
    WriteRefused,
    WriteResult,
)
from beancount_adjustments.writer.sealing import seal_item
from beancount_adjustments.writer.target import (
    file_identity,
    ledger_locked,
    os_refusal,
    read_with_stat,
    remove_stray_temporaries,
    resolve_target,
    writable_problem,
)

T = TypeVar("T")
FromLedger = Callable[[list[data.Directive], Book], Sequence[T]]
"""Items built from the ledger as the writer loaded it (its entries and book)."""


def _given(items: Sequence[T] | FromLedger[T], led: Ledger) -> Sequence[T]:
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
    while the files are still as it read them (step 4 of the package docstring)."""
    return _write(Path(ledger), target=target, expected_sha256=expected_sha256, now=now,
                  partial=partial, dry_run=dry_run, loaded=loaded,
                  build=lambda led: decision_items(led, _given(decisions, led)))


def write_requests(ledger: Path, requests: Sequence[NewRequest] | FromLedger[NewRequest], *,
                   partial: bool = False, expected_sha256: str | None = None,
                   target: Path | None = None, now: datetime.datetime | None = None,
                   dry_run: bool = False, loaded: Snapshot | None = None) -> WriteResult:
    """Append `requests` to the ledger as request transactions.

    `requests` may be a function of the ledger as loaded under the lock (see
    `write_decisions`). `dry_run`: judge them exactly the same way but write
    nothing (see `_write`). `loaded`: as for `write_decisions`."""
    def build(led: Ledger) -> list[Item]:
        ids = Ids(led.used_ids(), led.book.settings.id_prefix)
        # The first request under each id (`facts.filed_requests`), as the API and
        # the import answer; a dict over every request named the last one.
        external: dict[str, Request | str] = dict(filed_requests(led.book.facts.requests))
        return [request_item(led, i, r, ids, external)
                for i, r in enumerate(_given(requests, led))]
    return _write(Path(ledger), target=target, expected_sha256=expected_sha256, now=now,
                  partial=partial, dry_run=dry_run, loaded=loaded, build=build)


def write_seal(ledger: Path, by: str, date: datetime.date, *,
               today: datetime.date | None = None,
               now: datetime.datetime | None = None) -> tuple[WriteResult, SealPlan]:
    """Append the next seal (`core.seals`) made by `by` over everything dated up to
    `date`, chosen from the ledger as loaded under the lock and judged as the plugin
    will verify it (a seal that would not verify, `seal-broken`, is refused), with
    every step of any write (`_write`). Refused as `sealing.seal_item` says too."""
    plans: list[SealPlan] = []

    def build(led: Ledger) -> list[Item]:
        item, plan = seal_item(led, by, date, today)
        plans.extend([plan] if plan is not None else [])
        return [item]

    result = _write(Path(ledger), target=None, expected_sha256=None, now=now, partial=False,
                    dry_run=False, loaded=None, build=build)
    return result, plans[-1]


def _write(ledger: Path, *, target: Path | None, expected_sha256: str | None,
           now: datetime.datetime | None, partial: bool, dry_run: bool,
           loaded: Snapshot | None, build: Callable[[Ledger], list[Item]]) -> WriteResult:
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
                remove_stray_temporaries(path)
            real = real_file(path)
            raw, read_stat = read_with_stat(real)
            identity = stat_of(read_stat)
            hashed = hashlib.sha256(raw)
            sha_read = hashed.hexdigest()
            if expected_sha256 is not None and sha_read != expected_sha256:
                raise WriteRefused([Refusal(str(path),
                                            "the file changed since you loaded it; reload")])
            if not raw.isascii():
                raw.decode("utf-8")  # the target is appended to as UTF-8 text
            # The target's bytes stand for it in the check that the caller's load
            # is still the files' state: the very bytes hashed are appended to.
            led = _load(ledger, path, raw, now or ledger_module.clock(), loaded,
                        known={str(real): (sha_read, identity)})
            with collector_paused():
                items: list[Item] = build(led)
                book = judge(led, items)
                record_judgement(book, items)
            refused = tuple(Refusal(it.key, it.refusal, it.index, it.code, it.rule) for it in items
                            if it.refusal)
            if refused and not partial:
                raise WriteRefused(refused)
            accepted = [it for it in items if it.refusal is None]
            if not accepted:
                return WriteResult(path, "", 0, refused, (), sha_read, book, led.full_load,
                                   led.full_replay)
            block = render.render_block([it.text for it in accepted], led.existing)
            ids = tuple(it.key for it in accepted)
            if dry_run:
                return WriteResult(path, block, 0, refused, ids, sha_read, book, led.full_load,
                                   led.full_replay)
            added = (render.separator(raw) + block).encode("utf-8")
            doing = "write"
            # The lock keeps other writers out, not an editor saving the file or a
            # symlink swapped meanwhile: replacing it now would drop that edit, or
            # write this file's text over another one.
            if real_file(path) != real or file_identity(real) != identity:
                raise WriteRefused([Refusal(str(path), (
                    "the file changed while the entries were being judged (saved by "
                    "another program, or its symlink now points elsewhere); nothing was "
                    "written: try again"), code="changed")])
            # Written in two parts, hashed on from the bytes read: a large file is
            # neither copied into one string nor hashed again.
            atomic_write(real, (raw, added))
            hashed.update(added)
            sha256 = hashed.hexdigest()
            return WriteResult(path, block, len(accepted), refused, ids, sha256, book,
                               led.full_load, led.full_replay,
                               led.files and replaced(led.files, str(real), sha256))
    except UnicodeDecodeError as exc:  # the target's own text (the loader reports others)
        raise os_refusal(path, exc, "read") from None
    except OSError as exc:
        raise os_refusal(Path(exc.filename) if doing == "read" and exc.filename else path,
                         exc, doing) from None


def _load(ledger: Path, target: Path, existing: bytes, now: datetime.datetime,
          loaded: Snapshot | None, *, known: Mapping[str, tuple[str, Stat]]) -> Ledger:
    files = _reusable(ledger, loaded, known)
    if isinstance(files, str) or loaded is None:
        entries, errors, options = load_uncached(ledger)
    else:
        entries, errors, options = loaded.entries, loaded.errors, loaded.options
    book = book_of(options)
    failed = [e for e in errors if isinstance(e, InternalFailure)]
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
    if isinstance(files, str):
        return Ledger(ledger, target, existing, entries, book, now, options, errors,
                      full_load=files)
    return Ledger(ledger, target, existing, entries, book, now, options, errors, files=files)


def _reusable(ledger: Path, loaded: Snapshot | None,
              known: Mapping[str, tuple[str, Stat]]) -> DiskState | str:
    """The files' state when `loaded` can stand for a load of `ledger` now,
    else why not (`known`: files already read, see `Snapshot.unchanged`)."""
    if loaded is None:
        return "no load was given"
    if loaded.root != absolute(ledger):
        return f"the load given is of {loaded.root}, not of {absolute(ledger)}"
    return loaded.unchanged(known)

