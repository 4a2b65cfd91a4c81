"""What Fava's pages read is worked out with each load (the extension's
`after_load_file`), making models only of the open items: the queue page
after a load or a click makes none, and still shows the open alerts; what
only the detail page reads (a customer's adjustments, an invoice's, balances)
is worked out there, from the same load."""

from __future__ import annotations

import datetime
import gc
import re
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, DECIDE, Env

from beancount_adjustments.core import records
from beancount_adjustments.core.models import OPEN_STATES
from beancount_adjustments.fava_ext import index as fava_index
from ledgers import event, request

TODAY = datetime.date.today()


def day(days_ago: int) -> str:
    return (TODAY - datetime.timedelta(days=days_ago)).isoformat()


DUPLICATES = f"""
{day(400)} custom "adjustment-risk" "duplicates"
  notify: "role:finance"
""" + request("DUP-1", day(2), "-70.00", reason="Same lid") + request(
    "DUP-2", day(1), "-70.00", reason="Same lid")


class Models:
    """Counts the adjustment models made (`Tracked.freeze`) while it is on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made = 0
        real = records.Tracked.freeze

        def counted(tracked: records.Tracked) -> Any:
            self.made += 1
            return real(tracked)

        monkeypatch.setattr(records.Tracked, "freeze", counted)


def test_the_load_makes_models_of_the_open_items_only_and_the_page_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = Models(monkeypatch)
    env = Env(tmp_path, extra=DUPLICATES)
    book = env.ext.book
    assert book is not None
    made_by_load = models.made
    open_ids = {i for i, r in book.tracked().items() if r.state in OPEN_STATES}
    assert made_by_load == len(open_ids) < len(book.adjustments)

    page = env.get(BASE).get_data(as_text=True)
    assert models.made == made_by_load  # the page read what the load made
    assert 'id="adj-alerts"' in page
    assert 'data-check="duplicates"' in page
    assert 'data-adj-row="ADJ-2"' in page

    response = env.client.post(DECIDE, headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["written"] == 1
    after_reload = models.made
    page = env.get(BASE).get_data(as_text=True)
    assert models.made == after_reload
    assert 'data-check="duplicates"' in page
    assert 'data-adj-row="ADJ-2"' not in page  # approved and applied: no longer open
    assert 'data-adj-row="ADJ-3"' in page


def test_the_detail_page_reads_the_customer_invoice_and_balance_of_this_load(
        tmp_path: Path) -> None:
    env = Env(tmp_path, extra=event("ADJ-4", day(3), "apply", "carol"))
    page = env.get(BASE + "?view=detail&id=ADJ-1").get_data(as_text=True)
    # cust_123 owes the invoice's 120.00 less the applied ADJ-6 (40.00) and ADJ-4 (30.00).
    assert "<dt>Balance</dt><dd>50.00 USD" in page
    # INV-1 has been credited by the applied ADJ-4 only (ADJ-1 is pending).
    assert "<dt>Credited so far</dt><dd>30.00 USD</dd>" in page
    assert earlier_ids(page) == ["ADJ-6"]  # cust_123's adjustments before ADJ-1
    assert earlier_ids(env.get(BASE + "?view=detail&id=ADJ-4").get_data(as_text=True)) == [
        "ADJ-1", "ADJ-6"]  # latest first
    env.path.write_text(env.path.read_text(encoding="utf-8") + event(
        "ADJ-1", day(0), "approve", "bob"), encoding="utf-8")
    env.ledger.load_file()
    page = env.get(BASE + "?view=detail&id=ADJ-1").get_data(as_text=True)
    assert "<dt>Balance</dt><dd>0.00 USD" in page  # ADJ-1's 50.00 applied since
    assert "<dt>Credited so far</dt><dd>80.00 USD</dd>" in page


def earlier_ids(page: str) -> list[str]:
    table = page[page.index('id="adj-earlier"'):]
    return re.findall(r'<td class="id"><a [^>]*>([^<]+)</a>', table[:table.index("</table>")])


def test_a_failure_working_out_the_pages_leaves_the_load_standing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: Any, **_kw: Any) -> Any:
        raise RuntimeError("index broken")

    monkeypatch.setattr(fava_index.BookIndex, "build", broken)
    env = Env(tmp_path)
    assert env.ledger.all_entries  # Fava's load stands
    assert env.ext.book is not None
    with pytest.raises(RuntimeError, match="index broken"):
        env.ext.index()  # the page meets the failure itself, as before


def test_the_reload_after_a_click_runs_with_the_collector_paused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the collector on, Fava's reload sweeps both loads several times and leaves
    # a full collection due for the first page after it (seconds at 100k).
    from beancount_adjustments.fava_ext import AdjustmentsExtension

    env = Env(tmp_path)
    seen: list[bool] = []
    real = AdjustmentsExtension.after_load_file

    def noted(ext: AdjustmentsExtension) -> None:
        seen.append(gc.isenabled())
        real(ext)

    monkeypatch.setattr(AdjustmentsExtension, "after_load_file", noted)
    response = env.client.post(DECIDE, headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]})
    assert response.get_json()["written"] == 1
    assert seen == [False]  # one reload, inside the pause
    assert gc.isenabled()  # and on again after it


def test_the_tools_load_with_the_collector_paused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from beancount import loader

    from beancount_adjustments.beans import loading

    path = tmp_path / "main.beancount"
    path.write_text('2020-01-01 open Assets:Cash\n', encoding="utf-8")
    seen: list[bool] = []
    real = loader._load

    def noted(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "_load", noted)
    loading.load_uncached(path)  # the writer's load
    loading.load_file(path)  # the reading commands' (the loader's cache misses here)
    assert seen == [False, False]
    assert gc.isenabled()
