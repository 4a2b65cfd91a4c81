"""The writer judges against a load it is given (Fava's) instead of parsing
again, only while every file of the ledger is as that load read it.

Each fallback is a test (a file edited, an include added, a file gone, a
concurrent writer, a load that cannot be vouched for, a plugin that did not
judge), and so is the fast path: no parse, and the same bytes as a full load.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import subprocess
import sys
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from fava.core import FavaLedger
from fava_env import BASE as FAVA
from fava_env import START, Env
from tool_inputs import NOW

from beancount_adjustments import writer
from beancount_adjustments.beans import include_lines, loading
from beancount_adjustments.beans.loading import Snapshot, disk_state, load_uncached, snapshot
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import (
    Decision,
    NewRequest,
    WriteResult,
    write_decisions,
    write_requests,
)
from ledgers import ROOT, TOOLS_BASE

HEAD = TOOLS_BASE + """
2024-01-01 custom "adjustment-user" "erin" "manager"
2024-01-01 custom "adjustment-customer" "cust_1" "standard"
"""

REQUESTS = """
2024-03-05 ! "cust_1" "Damaged item" ^ADJ-2024-0001
  adjustment-type: "credit:refund"
  customer: "cust_1"
  reason: "Damaged item"
  requested-by: "alice"
  Income:Sales:Returns            50.00 USD
  Assets:Receivable:Customers    -50.00 USD

2024-03-06 ! "cust_1" "Second credit" ^ADJ-2024-0002
  adjustment-type: "credit:refund"
  customer: "cust_1"
  reason: "Second credit"
  requested-by: "alice"
  Income:Sales:Returns            40.00 USD
  Assets:Receivable:Customers    -40.00 USD
"""

APPROVAL_BY_ERIN = """
2024-03-20 custom "adjustment" "ADJ-2024-0001" "approve"
  by: "erin"
"""

APPROVE_1 = [Decision("ADJ-2024-0001", Action.APPROVE, by="bob")]


def write_ledger(folder: Path, text: str = HEAD + REQUESTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "main.beancount"
    path.write_text(text, encoding="utf-8")
    return path


def fingerprinted_load(path: Path) -> Snapshot:
    """A load with the state of its files taken just before it, as Fava's
    extension takes it around its reload (the first load tells which files)."""
    before = disk_state(load_uncached(path)[2], includes_too=False)
    entries, errors, options = load_uncached(path)
    snap = snapshot(entries, errors, options, before)
    assert snap is not None
    return snap


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every parse of a ledger by Beancount's loader, by root file."""
    calls: list[str] = []
    real = loader._load

    def counting(sources: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(sources[0][0])
        return real(sources, *args, **kwargs)

    monkeypatch.setattr(loader, "_load", counting)
    return calls


def approve(path: Path, loaded: Snapshot | None, decisions: list[Decision] = APPROVE_1,
            ) -> WriteResult:
    return write_decisions(path, decisions, partial=True, now=NOW, loaded=loaded)


# -- the fast path --------------------------------------------------------------


def test_a_current_snapshot_is_judged_without_parsing_and_writes_the_same_bytes(
        tmp_path: Path, parses: list[str]) -> None:
    fast, slow = write_ledger(tmp_path / "fast"), write_ledger(tmp_path / "slow")
    snap = fingerprinted_load(fast)
    parses.clear()
    decisions = [Decision("ADJ-2024-0001", Action.APPROVE, by="bob"),
                 Decision("ADJ-2024-0002", Action.APPROVE, by="alice")]  # her own: refused
    reused = approve(fast, snap, decisions)
    assert parses == []  # judged against the snapshot: no parse at all
    assert reused.full_load == ""
    full = approve(slow, None, decisions)
    assert parses == [str(slow)]
    assert full.full_load == "no load was given"
    assert fast.read_bytes() == slow.read_bytes()
    assert (reused.written, reused.ids) == (full.written, full.ids) == (1, ("ADJ-2024-0001",))
    assert [r.message for r in reused.refused] == [r.message for r in full.refused]
    assert "requester" in reused.refused[0].message
    assert reused.sha256 == hashlib.sha256(fast.read_bytes()).hexdigest()
    # The files' state it hands to Fava's reload is theirs now, hashes and stats.
    assert reused.files is not None
    assert reused.files.files == disk_state(load_uncached(fast)[2]).files
    assert reused.book is not None
    assert full.book is not None
    assert str(reused.book.adjustments["ADJ-2024-0001"].state) == "applied"
    # What was written passes bean-check (a full load), as after a full-load write.
    _, errors, _ = load_uncached(fast)
    assert errors == []


def test_requests_from_a_snapshot_are_the_same_bytes_as_from_a_full_load(
        tmp_path: Path, parses: list[str]) -> None:
    fast, slow = write_ledger(tmp_path / "fast"), write_ledger(tmp_path / "slow")
    snap = fingerprinted_load(fast)
    parses.clear()

    def new() -> list[NewRequest]:  # the id is allocated from the ledger
        return [NewRequest(type="credit:refund", customer="cust_1", requested_by="alice",
                           reason="Late delivery", date=datetime.date(2024, 4, 1),
                           postings=(("Income:Sales:Returns", Decimal("20.00"), "USD"),
                                     ("Assets:Receivable:Customers", Decimal("-20.00"),
                                      "USD")))]

    reused = write_requests(fast, new(), now=NOW, loaded=snap)
    assert parses == []
    full = write_requests(slow, new(), now=NOW)
    assert reused.ids == full.ids == ("ADJ-2024-0003",)
    assert fast.read_bytes() == slow.read_bytes()


def test_a_dry_run_uses_the_snapshot_too(tmp_path: Path, parses: list[str]) -> None:
    path = write_ledger(tmp_path)
    snap = fingerprinted_load(path)
    parses.clear()
    before = path.read_bytes()
    result = write_decisions(path, APPROVE_1, now=NOW, loaded=snap, dry_run=True)
    assert parses == []
    assert result.full_load == ""
    assert result.ids == ("ADJ-2024-0001",)
    assert path.read_bytes() == before


# -- every doubt is a full load ------------------------------------------------


def test_a_file_edited_after_the_load_is_a_full_load(tmp_path: Path,
                                                     parses: list[str]) -> None:
    path = write_ledger(tmp_path)
    snap = fingerprinted_load(path)
    with path.open("a", encoding="utf-8") as out:  # erin approved it meanwhile, by hand
        out.write(APPROVAL_BY_ERIN)
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == f"{path} changed since it was loaded"
    # Judged against what the file holds now: ADJ-1 is applied already.
    assert result.written == 0
    assert "ADJ-2024-0001" in result.refused[0].message


def test_an_included_file_edited_after_the_load_is_a_full_load(tmp_path: Path,
                                                               parses: list[str]) -> None:
    path = write_ledger(tmp_path, HEAD + 'include "requests.beancount"\n')
    (tmp_path / "requests.beancount").write_text(REQUESTS, encoding="utf-8")
    snap = fingerprinted_load(path)
    assert set(snap.state.hashes()) == {str(path), str(tmp_path / "requests.beancount")}
    with (tmp_path / "requests.beancount").open("a", encoding="utf-8") as out:
        out.write(APPROVAL_BY_ERIN)
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == f"{tmp_path / 'requests.beancount'} changed since it was loaded"
    assert result.written == 0


def test_a_file_added_to_an_include_pattern_is_a_full_load(tmp_path: Path,
                                                           parses: list[str]) -> None:
    # No file changes: only the include's glob matches one more.
    path = write_ledger(tmp_path, HEAD + REQUESTS + 'include "decisions/*.beancount"\n')
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "a.beancount").write_text("; none yet\n", encoding="utf-8")
    snap = fingerprinted_load(path)
    added = tmp_path / "decisions" / "b.beancount"
    added.write_text(APPROVAL_BY_ERIN, encoding="utf-8")
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == f"{added} is new (include '{tmp_path}/decisions/*.beancount')"
    assert result.written == 0  # erin's approval in the new file counts


def test_an_include_that_matched_nothing_then_matches_is_a_full_load(
        tmp_path: Path, parses: list[str]) -> None:
    path = write_ledger(tmp_path, HEAD + REQUESTS + 'include "late.beancount"\n')
    before = disk_state(load_uncached(path)[2], includes_too=False)
    entries, errors, options = load_uncached(path)
    assert any("does not match any files" in e.message for e in errors)
    snap = snapshot(entries, errors, options, before)
    assert snap is not None
    (tmp_path / "late.beancount").write_text(APPROVAL_BY_ERIN, encoding="utf-8")
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load.startswith(f"{tmp_path / 'late.beancount'} is new")


def test_a_new_include_line_is_a_full_load(tmp_path: Path, parses: list[str]) -> None:
    path = write_ledger(tmp_path)
    snap = fingerprinted_load(path)
    (tmp_path / "more.beancount").write_text(APPROVAL_BY_ERIN, encoding="utf-8")
    with path.open("a", encoding="utf-8") as out:
        out.write('\ninclude "more.beancount"\n')
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == f"{path} changed since it was loaded"
    assert result.written == 0


def test_a_removed_file_is_a_full_load(tmp_path: Path, parses: list[str]) -> None:
    path = write_ledger(tmp_path, HEAD + REQUESTS + 'include "old.beancount"\n')
    old = tmp_path / "old.beancount"
    old.write_text("; nothing\n", encoding="utf-8")
    snap = fingerprinted_load(path)
    old.unlink()
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == "a file of the ledger cannot be read"


def test_a_concurrent_writer_makes_the_snapshot_stale(tmp_path: Path,
                                                      parses: list[str]) -> None:
    """Another process holds the lock and writes erin's approval while Fava's
    write waits for it: under the lock the writer sees the file changed."""
    path = write_ledger(tmp_path)
    snap = fingerprinted_load(path)
    other = subprocess.Popen(
        [sys.executable, "-c", CONCURRENT_WRITER, str(path)], stdout=subprocess.PIPE,
        text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "locked"
        parses.clear()
        result = approve(path, snap)  # waits for the other writer's lock
    finally:
        assert other.wait(timeout=60) == 0
    assert parses == [str(path)]
    assert result.full_load == f"{path} changed since it was loaded"
    assert result.written == 0  # ADJ-1 got erin's approval first: no second one
    text = path.read_text(encoding="utf-8")
    assert text.count('"ADJ-2024-0001" "approve"') == 1
    assert 'by: "erin"' in text


CONCURRENT_WRITER = """
import datetime, sys, time
from pathlib import Path
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, write_decisions

def decide(entries, book):
    print("locked", flush=True)  # the lock is held while this runs
    time.sleep(1.0)
    return [Decision("ADJ-2024-0001", Action.APPROVE, by="erin")]

write_decisions(Path(sys.argv[1]), decide,
                now=datetime.datetime(2024, 4, 1, 9, 0, tzinfo=datetime.UTC))
"""


def test_a_snapshot_of_another_ledger_is_not_used(tmp_path: Path, parses: list[str]) -> None:
    path, other = write_ledger(tmp_path / "a"), write_ledger(tmp_path / "b")
    snap = fingerprinted_load(other)
    parses.clear()
    result = approve(path, snap)
    assert parses == [str(path)]
    assert result.full_load == f"the load given is of {other}, not of {path}"


# -- what cannot be vouched for is no snapshot ----------------------------------


def test_a_load_without_a_state_before_it_is_no_snapshot(tmp_path: Path) -> None:
    entries, errors, options = load_uncached(write_ledger(tmp_path))
    assert snapshot(entries, errors, options, None) is None


def test_a_file_changed_around_the_load_is_no_snapshot(tmp_path: Path) -> None:
    path = write_ledger(tmp_path)
    before = disk_state(load_uncached(path)[2], includes_too=False)
    with path.open("a", encoding="utf-8") as out:  # lands while the loader reads
        out.write(APPROVAL_BY_ERIN)
    entries, errors, options = load_uncached(path)
    assert snapshot(entries, errors, options, before) is None


def test_a_file_the_load_read_that_was_not_fingerprinted_before_is_no_snapshot(
        tmp_path: Path) -> None:
    path = write_ledger(tmp_path, HEAD + REQUESTS + 'include "d/*.beancount"\n')
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.beancount").write_text("; a\n", encoding="utf-8")
    before = disk_state(load_uncached(path)[2], includes_too=False)
    (tmp_path / "d" / "b.beancount").write_text("; b\n", encoding="utf-8")
    entries, errors, options = load_uncached(path)  # reads b, which `before` has not
    assert str(tmp_path / "d" / "b.beancount") in options["include"]
    assert snapshot(entries, errors, options, before) is None


def test_a_ledger_the_plugin_did_not_judge_is_no_snapshot(tmp_path: Path) -> None:
    path = write_ledger(tmp_path, HEAD.replace('plugin "beancount_adjustments"\n', "")
                        + REQUESTS)
    before = disk_state(load_uncached(path)[2], includes_too=False)
    assert before is not None
    entries, errors, options = load_uncached(path)
    assert snapshot(entries, errors, options, before) is None


def test_a_plugin_that_failed_internally_is_no_snapshot(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from beancount_adjustments import plugin

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    path = write_ledger(tmp_path)
    before = disk_state(load_uncached(path)[2], includes_too=False)
    monkeypatch.setattr(plugin, "_with_effects", broken)  # fails after the book is made
    entries, errors, options = load_uncached(path)
    assert any("failed internally" in str(getattr(e, "message", "")) for e in errors)
    assert snapshot(entries, errors, options, before) is None


def test_includes_read_otherwise_than_the_loader_are_no_snapshot(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """If this module's reading of `include` lines ever misses one the loader
    followed, there is no snapshot (a new file it matches would go unseen)."""
    path = write_ledger(tmp_path, HEAD + REQUESTS + 'include "more.beancount"\n')
    (tmp_path / "more.beancount").write_text("; more\n", encoding="utf-8")
    monkeypatch.setattr(include_lines, "_INCLUDE", re.compile(rb"^never$"))
    before = disk_state(load_uncached(path)[2], includes_too=False)
    entries, errors, options = load_uncached(path)
    assert snapshot(entries, errors, options, before) is None


# -- Fava: its reload after a write is the next write's load --------------------


@pytest.fixture
def fava(tmp_path: Path, poll_watcher: None) -> Any:
    """The extension's test ledger in Fava, with the polling watcher, so an edit
    on disk is seen by the next request as a real Fava sees it (in time)."""
    return Env(tmp_path, extra=f"\n{START} open Expenses:Adjustments:Credits\n")


def test_fava_parses_once_per_decision_after_its_own_reload(fava: Any,
                                                            parses: list[str]) -> None:
    main = str(fava.path)
    # Fava's start-up load was not fingerprinted before it: the first write parses.
    first = fava.decide([{"id": "ADJ-2", "action": "approve"}])
    assert first.status_code == 200, first.get_json()
    assert parses == [main, main]  # the writer's load, then Fava's reload
    parses.clear()
    second = fava.decide([{"id": "ADJ-8", "action": "approve"}])
    assert second.status_code == 200, second.get_json()
    assert parses == [main]  # Fava's reload only: the writer judged against the last one
    assert second.get_json()["sha256"] == fava.sha()
    assert fava.state("ADJ-8") == "applied"
    parses.clear()
    refused = fava.decide([{"id": "ADJ-3", "action": "approve"}])  # bob's own request
    assert refused.status_code == 422
    assert parses == []
    parses.clear()
    created = fava.client.post(FAVA + "create", headers={"X-Remote-User": "alice"},
                               json={"customer": "cust_456", "type": "credit:goodwill",
                                     "amount": "200.00 USD", "reason": "Late delivery"})
    assert created.status_code == 201, created.get_json()
    assert parses == [main]
    assert fava.state(created.get_json()["id"]) == "pending"
    # Everything written through the fast path passes a full load cleanly.
    _, errors, _ = load_uncached(fava.path)
    assert errors == []


def test_fava_after_an_edit_on_disk_parses_in_full(fava: Any, parses: list[str]) -> None:
    main = str(fava.path)
    assert fava.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200
    # erin approves ADJ-8 in an editor; the page still shows it pending.
    shown = fava.digest("ADJ-8")
    day = datetime.date.today().isoformat()
    with fava.path.open("a", encoding="utf-8") as out:
        out.write(f'\n{day} custom "adjustment" "ADJ-8" "approve"\n  by: "erin"\n')
    parses.clear()
    response = fava.decide([{"id": "ADJ-8", "action": "approve", "digest": shown}])
    # Fava's watcher reloads first (not vouched for), so the writer parses too.
    assert parses == [main, main]
    assert response.status_code == 422
    assert "ADJ-8" in response.get_json()["refused"][0]["message"]
    assert fava.path.read_text(encoding="utf-8").count('"ADJ-8" "approve"') == 1


def test_fava_write_racing_an_edit_sees_the_edit(fava: Any, parses: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit that lands after Fava's last reload but before the writer's lock
    (Fava's watcher has not seen it): the writer's hash check catches it."""
    main = str(fava.path)
    assert fava.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200
    day = datetime.date.today().isoformat()
    real = write_decisions

    def edit_first(*args: Any, **kwargs: Any) -> Any:
        with fava.path.open("a", encoding="utf-8") as out:
            out.write(f'\n{day} custom "adjustment" "ADJ-8" "approve"\n  by: "erin"\n')
        result = real(*args, **kwargs)
        assert result.full_load == f"{fava.path} changed since it was loaded"
        return result

    from beancount_adjustments import writer
    monkeypatch.setattr(writer, "write_decisions", edit_first)
    parses.clear()
    response = fava.decide([{"id": "ADJ-8", "action": "approve"}])
    assert parses == [main]  # the writer's full load; nothing written, no reload
    assert response.status_code == 422
    assert fava.path.read_text(encoding="utf-8").count('"ADJ-8" "approve"') == 1


def test_an_include_in_a_comment_or_a_string_is_not_read_as_one(tmp_path: Path) -> None:
    """Only an include line is one: a commented one, or the word in a narration,
    leaves the snapshot as the loader's files say."""
    (tmp_path / "other.beancount").write_text("; not part of the ledger\n", encoding="utf-8")
    path = write_ledger(tmp_path, HEAD + REQUESTS.replace(
        '"Damaged item" ^', '"see include \\"other.beancount\\"" ^')
        + '; include "other.beancount"\n')
    snap = fingerprinted_load(path)
    assert set(snap.state.hashes()) == {str(path)}


def test_fava_reloads_without_holding_the_book_the_writer_went_on_from(
        fava: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's judged book shares the records of the load it went on
    from: held across Fava's reload, two books are alive at its peak and the
    old one is freed in the click after it (0.2 s at 100k transactions)."""
    assert fava.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200
    judged: list[weakref.ref[Any]] = []
    alive_at_reload: list[bool] = []
    real_write, real_load = writer.write_decisions, FavaLedger.load_file

    def write(*args: Any, **kwargs: Any) -> WriteResult:
        result = real_write(*args, **kwargs)
        assert result.book is not None
        assert result.full_load == ""
        judged.append(weakref.ref(result.book.ended))
        return result

    def load(ledger: Any) -> None:
        alive_at_reload.append(judged[-1]() is not None)
        real_load(ledger)

    monkeypatch.setattr(writer, "write_decisions", write)
    monkeypatch.setattr(FavaLedger, "load_file", load)
    response = fava.decide([{"id": "ADJ-8", "action": "approve"}])
    assert response.status_code == 200, response.get_json()
    assert alive_at_reload == [False]
    assert fava.state("ADJ-8") == "applied"


def test_fava_reload_after_a_write_starts_from_the_files_the_writer_hashed(
        fava: Any, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer hashed every file under its lock and knows what it wrote: the
    reload after it reads no file again, neither before the load nor after it
    (the files' stats, unchanged, vouch for those bytes until the next write
    hashes them again). The next write still judges against that reload."""
    main = str(fava.path)
    assert fava.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200
    fingerprints: list[bool] = []
    real = loading.disk_state

    def counting(options: dict[str, Any], *, includes_too: bool = True) -> Any:
        fingerprints.append(includes_too)
        return real(options, includes_too=includes_too)

    monkeypatch.setattr(loading, "disk_state", counting)
    parses.clear()
    assert fava.decide([{"id": "ADJ-8", "action": "approve"}]).status_code == 200
    assert fingerprints == []  # no file read again around the reload
    assert parses == [main]
    parses.clear()
    assert _file_a_credit(fava).status_code == 201
    assert parses == [main]  # judged against the reload, which was vouched for


def test_fava_reload_racing_an_edit_after_the_write_is_not_vouched_for(
        fava: Any, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor saves the ledger between the writer's write and Fava's reload
    (same size, same content even): the reload read what the writer's state
    does not describe, so the next write parses the ledger again."""
    main = str(fava.path)
    assert fava.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200
    real_load = FavaLedger.load_file

    def load(ledger: Any) -> None:
        fava.path.write_bytes(fava.path.read_bytes())  # saved again, unchanged
        real_load(ledger)

    monkeypatch.setattr(FavaLedger, "load_file", load)
    assert fava.decide([{"id": "ADJ-8", "action": "approve"}]).status_code == 200
    monkeypatch.setattr(FavaLedger, "load_file", real_load)
    parses.clear()
    assert _file_a_credit(fava).status_code == 201
    assert parses == [main, main]  # the writer's own load, then the reload


def _file_a_credit(fava: Any) -> Any:
    return fava.client.post(FAVA + "create", headers={"X-Remote-User": "alice"},
                            json={"customer": "cust_456", "type": "credit:goodwill",
                                  "amount": "200.00 USD", "reason": "Late delivery"})


def test_a_file_saved_again_with_the_same_bytes_is_no_longer_the_snapshot(
        tmp_path: Path) -> None:
    """After a write, Fava's reload is vouched for by the files' stats (`snapshot`
    reads no file again): the next write compares stats as well as hashes under
    its lock. Saved again since (the same bytes, which a hash alone cannot tell),
    the file may have held other bytes while the reload read it: the write parses."""
    path = write_ledger(tmp_path)
    before = disk_state(load_uncached(path)[2], includes_too=False)
    snap = snapshot(*load_uncached(path), before)
    assert snap is not None
    assert not isinstance(snap.unchanged(), str)
    path.write_bytes(path.read_bytes())
    assert snap.unchanged() == f"{path} changed since it was loaded"
