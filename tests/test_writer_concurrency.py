"""Many writers at once, and writers killed mid-write: the ledger stays whole.

Eight processes write requests and decisions into one small ledger at the
same time; afterwards every entry is there exactly once and the ledger
loads without an error. Then writer processes are SIGKILLed at random
moments: after each kill the ledger still loads cleanly and every batch is
either entirely in the file or not at all.
"""

from __future__ import annotations

import datetime
import multiprocessing
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from beancount_adjustments import book_of
from beancount_adjustments.beans import loading
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.writer import Decision, NewRequest, write_decisions, write_requests
from ledgers import BACKDATING, TOOLS_BASE

LEDGER = TOOLS_BASE + """
2024-01-01 custom "adjustment-customer" "cust_1" "standard"
""" + BACKDATING

PROCESSES = 8
PER_PROCESS = 25  # creations, each followed by its approval: 50 writes a process
DAY = datetime.date(2024, 2, 1)


def new_request(external_id: str) -> NewRequest:
    return NewRequest(type="credit:refund", customer="cust_1", requested_by="alice",
                      reason=f"Refund {external_id}", date=DAY,
                      postings=(("Income:Sales:Returns", Decimal("30.00"), "USD"),
                                ("Assets:Receivable:Customers", Decimal("-30.00"), "USD")),
                      meta={"external-id": external_id})


def worker(path: str, number: int) -> None:
    for i in range(PER_PROCESS):
        result = write_requests(Path(path), [new_request(f"p{number}-{i}")])
        write_decisions(Path(path), [Decision(result.ids[0], Action.APPROVE, by="bob",
                                              date=DAY)])


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    path = tmp_path / "main.beancount"
    path.write_text(LEDGER)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=worker, args=(str(path), n)) for n in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    _, errors, options = loading.load_file(str(path))
    assert errors == []
    book = book_of(options)
    assert book is not None
    external = Counter(a.request.external_id for a in book.adjustments.values())
    expected = {f"p{n}-{i}" for n in range(PROCESSES) for i in range(PER_PROCESS)}
    assert set(external) == expected
    assert set(external.values()) == {1}
    assert {a.state for a in book.adjustments.values()} == {State.APPLIED}
    assert all(len(a.history) == 1 for a in book.adjustments.values())
    assert len(book.adjustments) == PROCESSES * PER_PROCESS


# A writer that appends batches of BATCH requests until it is killed; each
# batch's external ids share the prefix "<run>-<batch>-".
CRASH_WRITER = """
import sys, datetime
from decimal import Decimal
from pathlib import Path
from beancount_adjustments.writer import NewRequest, write_requests
path, run = Path(sys.argv[1]), sys.argv[2]
for batch in range(1000):
    write_requests(path, [NewRequest(
        type="credit:refund", customer="cust_1", requested_by="alice", reason="r",
        date=datetime.date(2024, 2, 1),
        postings=(("Income:Sales:Returns", Decimal("5.00"), "USD"),
                  ("Assets:Receivable:Customers", Decimal("-5.00"), "USD")),
        meta={"external-id": f"{run}-{batch}-{i}"}) for i in range(BATCH)])
    print(batch, flush=True)
"""
BATCH = 6
KILLS = 20


def test_killed_writers_never_leave_half_a_batch(tmp_path: Path):
    path = tmp_path / "main.beancount"
    path.write_text(LEDGER)
    script = CRASH_WRITER.replace("BATCH", str(BATCH))
    rng = random.Random(7)
    completed: set[str] = set()
    for run in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", script, str(path), f"r{run}"],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.6, 1.4))  # the import takes ~0.5 s, then it writes
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        completed |= {f"r{run}-{line.strip()}" for line in out.splitlines() if line.strip()}
        _, errors, options = loading.load_file(str(path))
        assert errors == [], f"after kill {run}: {errors}"
        book = book_of(options)
        assert book is not None
        batches = Counter(a.request.external_id.rsplit("-", 1)[0]
                          for a in book.adjustments.values() if a.request.external_id)
        assert all(count == BATCH for count in batches.values()), batches
        assert completed <= set(batches)
    assert completed, "no batch ever completed: the kills came too early to test anything"
