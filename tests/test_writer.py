"""The one writer: judged like the plugin, locked, atomic, all or nothing."""

from __future__ import annotations

import datetime
import functools
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.parser import printer
from beancount.scripts.format import align_beancount

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.beans.loading import load_uncached
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.writer import (
    Decision,
    NewRequest,
    WriteRefused,
    file_sha256,
    next_id,
    resolve_target,
    write_decisions,
    write_requests,
)
from ledgers import TOOLS_BASE

LEDGER = TOOLS_BASE + """
2024-01-01 open Income:Adjustments:Billing
2024-01-01 custom "adjustment-user" "erin" "manager"
2024-01-01 custom "adjustment-customer" "cust_9" "vip"

2024-03-01 * "cust_123" "Invoice March"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers   120.00 USD
  Income:Sales                 -120.00 USD

2024-03-05 ! "cust_123" "Damaged item" ^ADJ-2024-0001
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Damaged item"
  requested-by: "alice"
  invoice: "INV-1"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD

2024-03-06 ! "cust_123" "Second credit" ^ADJ-2024-0002
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Second credit"
  requested-by: "alice"
  invoice: "INV-1"
  Income:Sales:Returns            100.00 USD
  Assets:Receivable:Customers    -100.00 USD
"""

NOW = datetime.datetime(2024, 4, 1, 9, 30, tzinfo=datetime.UTC)
DAY = datetime.date(2024, 4, 1)


def write_ledger(tmp_path: Path, text: str = LEDGER) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def load_book(path: Path):
    entries, errors, options = loading.load_file(str(path))
    book = book_of(options)
    assert book is not None
    return entries, errors, book


def credit(amount: str, **kw) -> NewRequest:
    number = Decimal(amount)
    return NewRequest(type="credit:refund", customer="cust_123", requested_by="alice",
                      reason=kw.pop("reason", "Refund"), date=kw.pop("date", DAY),
                      postings=(("Income:Sales:Returns", number, "USD"),
                                ("Assets:Receivable:Customers", -number, "USD")), **kw)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return write_ledger(tmp_path)


def test_self_approval_is_refused_and_the_file_is_untouched(ledger: Path):
    before = ledger.read_bytes()
    with pytest.raises(WriteRefused) as refused:
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="alice")],
                        now=NOW)
    assert [r.key for r in refused.value.refusals] == ["ADJ-2024-0001"]
    assert "[self-approval]" in str(refused.value)
    assert ledger.read_bytes() == before
    assert [p.name for p in ledger.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_all_or_nothing_refuses_the_whole_batch(ledger: Path):
    before = ledger.read_bytes()
    with pytest.raises(WriteRefused) as refused:
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob"),
                                 Decision("ADJ-9999", Action.APPROVE, by="bob"),
                                 Decision("ADJ-2024-0002", Action.APPROVE, by=" ")], now=NOW)
    messages = {r.key: r.message for r in refused.value.refusals}
    assert set(messages) == {"ADJ-9999", "ADJ-2024-0002"}
    assert "no request has the id" in messages["ADJ-9999"]
    assert "identity" in messages["ADJ-2024-0002"]
    assert ledger.read_bytes() == before


def test_partial_batch_writes_the_acceptable_ones_in_one_write(ledger: Path):
    # One decision per adjustment (a write decides one twice only step by step).
    ledger.write_text(ledger.read_text() + """
2024-03-07 ! "cust_123" "Third credit" ^ADJ-2024-0003
  adjustment-type: "credit:refund"
  customer: "cust_123"
  reason: "Third credit"
  requested-by: "alice"
  Income:Sales:Returns            30.00 USD
  Assets:Receivable:Customers    -30.00 USD
""")
    result = write_decisions(ledger, [
        Decision("ADJ-2024-0001", Action.APPROVE, by="alice"),      # self-approval
        Decision("ADJ-2024-0002", Action.REJECT, by="erin", reason="No proof"),
        Decision("ADJ-2024-0003", Action.APPROVE, by="bob"),
        Decision("ADJ-9999", Action.APPROVE, by="bob"),             # no such request
    ], partial=True, now=NOW)
    assert result.written == 2
    assert result.ids == ("ADJ-2024-0002", "ADJ-2024-0003")
    assert sorted(r.index for r in result.refused) == [0, 3]
    assert "[self-approval]" in result.refused[0].message
    _, errors, book = load_book(ledger)
    assert errors == []
    assert book.adjustments["ADJ-2024-0001"].state is State.PENDING
    assert book.adjustments["ADJ-2024-0002"].state is State.REJECTED
    assert book.adjustments["ADJ-2024-0003"].state is State.APPLIED
    assert ledger.read_text().count('custom "adjustment"') == 2


def test_decisions_carry_the_digest_timestamp_and_fields(ledger: Path):
    _, _, before = load_book(ledger)
    digest = before.adjustments["ADJ-2024-0001"].digest
    result = write_decisions(ledger, [Decision(
        "ADJ-2024-0001", Action.APPROVE, by="bob", comment='Checked "photo"',
        effective=datetime.date(2024, 4, 2))], now=NOW)
    assert result.text == (
        '2024-04-01 custom "adjustment" "ADJ-2024-0001" "approve"\n'
        '  by: "bob"\n'
        '  comment: "Checked \\"photo\\""\n'
        "  effective: 2024-04-02\n"
        f'  at: "{NOW.astimezone().isoformat(timespec="seconds")}"\n'
        f'  digest: "{digest}"\n'
        '  chain: "manager"\n')
    assert ledger.read_text().endswith("\n\n" + result.text)
    _, errors, book = load_book(ledger)
    assert errors == []
    adj = book.adjustments["ADJ-2024-0001"]
    (record,) = adj.history
    assert record.accepted
    assert not record.stale
    assert record.event.digest == adj.digest == digest
    assert record.event.comment == 'Checked "photo"'
    assert adj.effective_date == datetime.date(2024, 4, 2)


def test_write_is_an_atomic_replace_that_keeps_the_mode(ledger: Path):
    os.chmod(ledger, 0o640)
    inode = ledger.stat().st_ino
    write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")], now=NOW)
    assert ledger.stat().st_ino != inode  # a new file moved over the old one
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o640
    assert sorted(p.name for p in ledger.parent.iterdir()) == [
        ".main.beancount.lock", "main.beancount"]


def test_a_failed_replace_leaves_the_old_file_and_no_temporary(ledger: Path, monkeypatch):
    before = ledger.read_bytes()

    def broken(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(WriteRefused, match="disk on fire"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                        now=NOW)
    assert ledger.read_bytes() == before
    assert not [p for p in ledger.parent.iterdir() if p.name.endswith(".tmp")]


def test_stray_temporaries_of_a_killed_writer_are_removed(ledger: Path):
    stray = ledger.parent / ".main.beancount.abc123.tmp"
    stray.write_text("half a line")
    write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")], now=NOW)
    assert not stray.exists()


def test_sha_mismatch_is_refused_and_a_match_writes(ledger: Path):
    before = ledger.read_bytes()
    with pytest.raises(WriteRefused, match="changed since you loaded it; reload"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                        expected_sha256="0" * 64, now=NOW)
    assert ledger.read_bytes() == before
    result = write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                             expected_sha256=file_sha256(ledger), now=NOW)
    assert result.sha256 == file_sha256(ledger)


def test_new_requests_get_the_next_id_and_their_chain(ledger: Path):
    result = write_requests(ledger, [
        credit("10.00"),
        credit("30.00", category="operational:billing-error", meta={"ticket": "T-1"})], now=NOW)
    assert result.ids == ("ADJ-2024-0003", "ADJ-2024-0004")
    assert result.book is not None
    assert result.book.adjustments["ADJ-2024-0003"].state is State.APPLIED  # below 25 USD
    assert result.book.adjustments["ADJ-2024-0004"].chain == ("manager",)
    _, errors, book = load_book(ledger)
    assert errors == []
    assert book.adjustments["ADJ-2024-0004"].request.ticket == "T-1"
    assert book.adjustments["ADJ-2024-0004"].request.category == "operational:billing-error"


def test_request_refusals(ledger: Path):
    before = ledger.read_bytes()
    bad_account = NewRequest(type="credit:refund", customer="cust_123", requested_by="alice",
                             reason="x", date=DAY,
                             postings=(("Income:Nowhere", Decimal(5), "USD"),
                                       ("Assets:Receivable:Customers", Decimal(-5), "USD")))
    unbalanced = NewRequest(type="credit:refund", customer="cust_123", requested_by="alice",
                            reason="x", date=DAY,
                            postings=(("Income:Sales:Returns", Decimal(5), "USD"),
                                      ("Assets:Receivable:Customers", Decimal(-4), "USD")))
    result = write_requests(ledger, [
        bad_account, unbalanced,
        credit("5.00", id="ADJ-2024-0001"),                       # id taken
        credit("5.00", reason=""),
        NewRequest(type="credit:refund", customer="nobody", requested_by="alice", reason="x",
                   date=DAY, postings=credit("5.00").postings),   # unknown customer
        credit("5.00", meta={"external-id": "E1"}),
        credit("5.00", meta={"external-id": "E1"}),              # imported twice in a batch
    ], partial=True, now=NOW)
    messages = {r.index: r.message for r in result.refused}
    assert "not opened" in messages[0]
    assert "do not balance" in messages[1]
    assert "already taken" in messages[2]
    assert "needs a reason" in messages[3]
    assert "[unknown-customer]" in messages[4]
    assert "already recorded" in messages[6]
    assert result.written == 1
    assert ledger.read_bytes() != before
    with pytest.raises(WriteRefused, match="already recorded"):
        write_requests(ledger, [credit("5.00", meta={"external-id": "E1"})], now=NOW)


def test_empty_requester_is_refused(ledger: Path):
    with pytest.raises(WriteRefused, match="identity"):
        write_requests(ledger, [NewRequest(type="credit:refund", customer="cust_123",
                                           requested_by=" ", reason="x",
                                           postings=credit("5").postings, date=DAY)], now=NOW)


def test_a_credit_beyond_the_invoice_is_refused(ledger: Path):
    # 50 + 100 against a 120.00 invoice: the second application would exceed it.
    result = write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob"),
                                      Decision("ADJ-2024-0002", Action.APPROVE, by="bob")],
                             partial=True, now=NOW)
    assert result.ids == ("ADJ-2024-0001",)
    assert "[exceeds-invoice]" in result.refused[0].message
    _, errors, _ = load_book(ledger)
    assert errors == []


def test_approving_an_invalid_request_is_refused(tmp_path: Path):
    text = LEDGER.replace('customer: "cust_123"\n  reason: "Second credit"',
                          'customer: "ghost"\n  reason: "Second credit"')
    path = write_ledger(tmp_path, text)
    with pytest.raises(WriteRefused, match="fix the request first"):
        write_decisions(path, [Decision("ADJ-2024-0002", Action.APPROVE, by="bob")], now=NOW)


def test_writes_go_to_the_included_adjustments_file(tmp_path: Path):
    main = write_ledger(tmp_path, LEDGER + '\ninclude "adjustments.beancount"\n')
    side = tmp_path / "adjustments.beancount"
    side.write_text("; decisions\n")
    assert resolve_target(main) == side
    before = main.read_bytes()
    result = write_decisions(main, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                             now=NOW)
    assert result.path == side
    assert main.read_bytes() == before
    assert (tmp_path / ".adjustments.beancount.lock").exists()
    _, errors, book = load_book(main)
    assert errors == []
    assert book.adjustments["ADJ-2024-0001"].state is State.APPLIED


def test_a_target_outside_the_ledger_is_refused(ledger: Path):
    stray = ledger.parent / "other.beancount"
    stray.write_text("")
    with pytest.raises(WriteRefused, match="not part of the ledger"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                        target=stray, now=NOW)
    assert stray.read_text() == ""


def test_output_stays_bean_formatted(tmp_path: Path):
    path = write_ledger(tmp_path, align_beancount(LEDGER))
    # Amounts that fit the file's columns: nothing old needs realigning.
    write_requests(path, [credit("7.5"), credit("999.99")], now=NOW)
    write_decisions(path, [Decision("ADJ-2024-0004", Action.APPROVE, by="erin")], now=NOW)
    text = path.read_text()
    assert align_beancount(text) == text
    assert "\n\n\n" not in text


def test_next_id():
    assert next_id({"ADJ-2026-0041", "ADJ-2026-0007", "ADJ-2025-0100", "X-2026-0500"},
                   "ADJ", 2026) == "ADJ-2026-0042"
    assert next_id(set(), "CR", 2026) == "CR-2026-0001"


def test_ids_in_one_batch_follow_explicit_and_refused_ones(ledger: Path):
    # Every id handed out earlier in the batch counts, refused or explicit, per year;
    # the ledger's own links count too. Written in 2025 (a request is not dated
    # ahead of its writing), the 2024 ones back-dated as the ledger allows.
    from ledgers import BACKDATING
    ledger.write_text(ledger.read_text() + BACKDATING)
    result = write_requests(ledger, [
        credit("5.00"),                                            # ADJ-2024-0003
        credit("5.00", id="ADJ-2024-0010"),
        credit("5.00"),                                            # ADJ-2024-0011
        credit("5.00", reason="", id="ADJ-2024-0020"),             # refused, still counts
        credit("5.00"),                                            # ADJ-2024-0021
        credit("5.00", date=datetime.date(2025, 1, 2)),            # ADJ-2025-0001
        credit("5.00", id="ADJ-2025-0007", date=datetime.date(2025, 1, 2)),
        credit("5.00", date=datetime.date(2025, 1, 2)),            # ADJ-2025-0008
        credit("5.00"),                                            # ADJ-2024-0022
    ], partial=True, now=datetime.datetime(2025, 1, 3, 9, 30, tzinfo=datetime.UTC))
    assert [r.index for r in result.refused] == [3]
    assert result.ids == ("ADJ-2024-0003", "ADJ-2024-0010", "ADJ-2024-0011", "ADJ-2024-0021",
                          "ADJ-2025-0001", "ADJ-2025-0007", "ADJ-2025-0008", "ADJ-2024-0022")


def test_a_large_batch_gets_consecutive_ids(ledger: Path):
    result = write_requests(ledger, [credit("5.00", meta={"external-id": f"E{n}"})
                                     for n in range(300)], now=NOW)
    assert result.ids == tuple(f"ADJ-2024-{n:04d}" for n in range(3, 303))
    _, errors, book = load_book(ledger)
    assert errors == []
    assert len(book.adjustments) == 302


def test_dry_run_writes_nothing_and_refuses_like_a_write(tmp_path: Path):
    requests = [credit("10.00"), credit("5.00", id="ADJ-2024-0001"),   # id taken
                credit("30.00"), credit("5.00", reason="")]
    decisions = [Decision("ADJ-2024-0001", Action.APPROVE, by="alice"),  # self-approval
                 Decision("ADJ-2024-0002", Action.APPROVE, by="erin"),
                 Decision("ADJ-9999", Action.APPROVE, by="bob")]
    for name, write, items in (("requests", write_requests, requests),
                               ("decisions", write_decisions, decisions)):
        (tmp_path / name).mkdir()
        ledger = write_ledger(tmp_path / name)
        stray = ledger.parent / ".main.beancount.abc123.tmp"  # a live writer's, maybe
        stray.write_text("half a line")
        before, sha = ledger.read_bytes(), file_sha256(ledger)

        with pytest.raises(WriteRefused) as dry_refused:
            write(ledger, items, now=NOW, dry_run=True)
        dry = write(ledger, items, partial=True, now=NOW, dry_run=True)
        assert ledger.read_bytes() == before
        assert stray.exists()
        assert not (ledger.parent / ".main.beancount.lock").exists()  # no lock taken
        assert dry.written == 0
        assert dry.sha256 == sha  # the file as it is, for expected_sha256=
        assert dry.refused == dry_refused.value.refusals

        with pytest.raises(WriteRefused) as real_refused:
            write(ledger, items, now=NOW)
        assert real_refused.value.refusals == dry_refused.value.refusals
        real = write(ledger, items, partial=True, now=NOW, expected_sha256=dry.sha256)
        assert real.refused == dry.refused
        assert real.ids == dry.ids
        assert real.ids
        assert real.text == dry.text
        assert real.written == len(real.ids)
        assert ledger.read_text().endswith(dry.text)


def test_dry_run_checks_the_hash_too(ledger: Path):
    with pytest.raises(WriteRefused, match="changed since you loaded it"):
        write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                        expected_sha256="0" * 64, now=NOW, dry_run=True)


def test_writes_neither_read_nor_leave_the_loaders_pickle_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A loader that caches every load, however quick (the default caches loads over 1 s).
    getter = functools.partial(loader.get_cache_filename, loader.PICKLE_CACHE_FILENAME)
    monkeypatch.setattr(loader, "_load_file", loader.pickle_cache_function(
        getter, 0.0, loader._uncached_load_file))
    ledger = write_ledger(tmp_path)
    cache = Path(getter(str(ledger)))
    monkeypatch.chdir(tmp_path)
    entries, errors, _ = load_uncached("main.beancount")  # relative, as a user types it
    assert not cache.exists()
    assert {e.meta["filename"] for e in entries} >= {str(ledger)}
    cached_entries, cached_errors, _ = loading.load_file(str(ledger))
    assert cache.exists()
    assert [printer.format_entry(e) for e in entries] == [
        printer.format_entry(e) for e in cached_entries]
    assert errors == cached_errors == []
    cache.unlink()
    result = write_decisions(ledger, [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")],
                             now=NOW)
    assert result.written == 1
    assert not cache.exists()
