"""Server time of the Fava extension's pages on a big ledger, and the cost of a
500-item batch approval.

    .venv/bin/python benchmarks/fava_pages.py [--transactions 100000] [--runs 7]

Generates the demo ledger (`beancount_adjustments.demo.generate_ledger`,
about one request in five transactions: 20k adjustments at 100k), loads it
in Fava (`create_app`, Flask's test client), then measures, after the load:

- the queue page and a detail page: median server time of several requests
  (budget 150 ms each);
- a batch approval of 500 pending items: how many writer calls and Fava
  ledger loads it costs (budget: one write, one reload).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fava.application import create_app
from fava.core import FavaLedger

from beancount_adjustments import writer
from beancount_adjustments.demo import generate_ledger
from beancount_adjustments.fava_ext import AdjustmentsExtension
from beancount_adjustments.fava_ext.views import eligible_approvers

BUDGET_MS = 150.0
CONFIG = "{'user-header': 'X-Remote-User', 'sla-days': 3}"


def timed(client: Any, url: str, headers: dict[str, str], runs: int) -> tuple[float, int]:
    times = []
    status = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return statistics.median(times), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "big.beancount"
        start = time.perf_counter()
        # The generated ledger enables the extension in demo mode (no identity
        # header); the benchmark acts through the header, so its line replaces that one.
        text = re.sub(r'^\d{4}-\d\d-\d\d custom "fava-extension" .*\n', "",
                      generate_ledger(transactions=args.transactions), flags=re.MULTILINE)
        text += ('\n2026-01-01 custom "fava-extension" "beancount_adjustments.fava_ext" '
                 f'"{CONFIG}"\n')
        ledger.write_text(text, encoding="utf-8")
        print(f"generated {args.transactions} transactions in "
              f"{time.perf_counter() - start:.1f} s ({len(text) / 1e6:.1f} MB)")

        start = time.perf_counter()
        app = create_app([str(ledger)], load=True)
        fava_ledger = next(iter(app.config["LEDGERS"].ledgers))
        slug = next(iter(dict(app.config["LEDGERS"].items())))
        ext = fava_ledger.extensions.get_extension("AdjustmentsExtension")
        assert isinstance(ext, AdjustmentsExtension), fava_ledger.extensions.errors
        book = ext.book
        assert book is not None
        print(f"loaded in Fava in {time.perf_counter() - start:.1f} s: "
              f"{len(book.adjustments)} adjustments, "
              f"{sum(1 for a in book.adjustments.values() if a.state.value == 'pending')} "
              "pending")

        client = app.test_client()
        base = f"/{slug}/extension/AdjustmentsExtension/"
        pending = sorted((a for a in book.adjustments.values() if a.state.value == "pending"),
                         key=lambda a: (a.request.date, a.id))
        today = ext.today()
        pick = next(a for a in pending if eligible_approvers(ext.index() or
                                                             _fail(), a, today))
        user = eligible_approvers(ext.index() or _fail(), pick, today)[0]
        headers = {"X-Remote-User": user}
        start = time.perf_counter()
        client.get(base, headers=headers)  # the first view builds the per-load index
        print(f"{'first queue view (info)':26s} {(time.perf_counter() - start) * 1000:7.1f} ms "
              "(builds the per-load index, balances and the file hash)")

        ok = True
        for name, url in (("queue page", base),
                          ("queue page, awaiting me", base + "?mine=1"),
                          ("detail page", base + f"?view=detail&id={pick.id}")):
            median, status = timed(client, url, headers, args.runs)
            verdict = "ok" if median <= BUDGET_MS and status == 200 else "OVER BUDGET"
            ok &= verdict == "ok"
            print(f"{name:26s} median {median:7.1f} ms over {args.runs} runs "
                  f"(HTTP {status}) [{verdict}, budget {BUDGET_MS:.0f} ms]")
        median, status = timed(client, base + "?view=reports", headers, 3)
        print(f"{'reports page (info)':26s} median {median:7.1f} ms over 3 runs (HTTP {status})")

        # -- batch approval: count writer calls and Fava loads -------------------
        writes: list[int] = []
        loads: list[int] = []
        spent = {"write": 0.0, "reload": 0.0}
        real_write = writer.write_decisions
        real_load = FavaLedger.load_file

        def counting_write(*a: Any, **kw: Any) -> Any:
            writes.append(len(a[1]))
            begin = time.perf_counter()
            try:
                return real_write(*a, **kw)
            finally:
                spent["write"] += time.perf_counter() - begin

        def counting_load(self: FavaLedger) -> None:
            loads.append(1)
            begin = time.perf_counter()
            try:
                real_load(self)
            finally:
                spent["reload"] += time.perf_counter() - begin

        writer.write_decisions = counting_write
        FavaLedger.load_file = counting_load  # type: ignore[method-assign]
        try:
            shown = [(a.id, a.digest) for a in pending[:args.batch]]
            ids = [i for i, _ in shown]
            start = time.perf_counter()
            response = client.post(base + "decide", headers=headers, json={
                "decisions": [{"id": i, "action": "approve", "digest": d} for i, d in shown]})
            elapsed = time.perf_counter() - start
            body = response.get_json()
            client.get(base, headers=headers)  # the next page view must not reload again
        finally:
            writer.write_decisions = real_write
            FavaLedger.load_file = real_load  # type: ignore[method-assign]
        if response.status_code != 200:
            print(f"batch refused: {body}")
        print(f"batch approval of {len(ids)} as {user}: HTTP {response.status_code}, "
              f"{body.get('written')} written, {len(body.get('refused', []))} refused by the "
              f"rules, {elapsed:.1f} s")
        print(f"  of which the writer {spent['write']:.1f} s (its own ledger load included), "
              f"Fava's reload {spent['reload']:.1f} s")
        verdict = "ok" if len(writes) == 1 and len(loads) == 1 else "NOT ONE WRITE/ONE RELOAD"
        ok &= verdict == "ok"
        print(f"  writer calls: {len(writes)} (items {writes}), Fava ledger loads: "
              f"{len(loads)} (incl. the next page view) [{verdict}]")
        return 0 if ok else 1


def _fail() -> Any:
    raise SystemExit("the plugin did not run")


if __name__ == "__main__":
    sys.exit(main())
