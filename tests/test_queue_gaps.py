"""The queue's remaining gaps of issue 14: one rule for overdue across every
tool, customer names in every table (Fava and the CLI), one chart
implementation for Fava and the CLI's HTML reports, and each queue section
paged on its own.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fava_env import BASE, Env

from beancount_adjustments import notify, reports
from beancount_adjustments.cli import main
from beancount_adjustments.cli import views as cli_views
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import OPEN_STATES, State
from beancount_adjustments.demo import generate_ledger
from beancount_adjustments.fava_ext import queue, report_data
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.fava_ext.queue import QueueFilters
from beancount_adjustments.reports.queries import age_days, customer_name, is_overdue
from ledgers import load_file

DAY = datetime.date(2027, 3, 9)


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Book]:
    path = tmp_path_factory.mktemp("dated") / "demo.beancount"
    path.write_text(generate_ledger(today=DAY), encoding="utf-8")
    book = load_file(path).book
    assert book is not None
    return path, book


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(cli_views, "today", lambda: DAY)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


# -- one rule for overdue ------------------------------------------------------------


def test_every_tool_finds_the_same_items_overdue(dated: tuple[Path, Book],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, book = dated
    expected = {a.id for a in book.adjustments.values() if is_overdue(a, DAY)}
    assert len(expected) >= 5
    # The case a second rule got wrong: approved items awaiting their apply
    # have waited past their type's sla-days, yet nothing is overdue about them.
    waiting = [a for a in book.adjustments.values() if a.state is State.APPROVED
               and a.sla_days is not None and age_days(a, DAY) > a.sla_days]
    assert waiting

    listed = json.loads(_cli(["queue", "-f", str(path), "--json"], monkeypatch))
    assert {r["id"] for r in listed if r["overdue"]} == expected
    table = _cli(["queue", "-f", str(path)], monkeypatch)
    marked = {m.group(1) for m in re.finditer(r"^!(\S+)", table, re.MULTILINE)}
    assert marked == expected

    index = BookIndex.build(book)
    view = queue.queue_view(index, QueueFilters(per_page=10**6), today=DAY, written=DAY,
                            user=None)
    fava = {r.id for s in view.sections for r in s.rows if r.overdue}
    assert fava == expected
    assert view.overdue == len(expected)
    only = queue.queue_view(index, QueueFilters(overdue=True, per_page=10**6), today=DAY,
                            written=DAY, user=None)
    assert {r.id for r in only.rows} == expected
    exported = report_data.queue_table(view)
    column = exported[0].index("overdue")
    assert {row[0] for row in exported[1] if row[column] == "yes"} == expected

    compliance = reports.compliance(book, reports.Scope(), DAY)
    assert {r.id for r in compliance if "overdue:" in r.exceptions} == expected

    found = notify.notices(book, DAY)
    escalated = {n.adjustment_id for n in found if n.key.split(":")[1].startswith("escalation-")}
    assert escalated == expected  # reversals awaiting approval escalate too


def test_an_overdue_reversal_escalates_too(dated: tuple[Path, Book]) -> None:
    _, book = dated
    late = {a.id for a in book.adjustments.values()
            if a.state is State.REVERSING and is_overdue(a, DAY)}
    assert late
    found = notify.notices(book, DAY)
    escalated = {n.adjustment_id for n in found if n.key.split(":")[1].startswith("escalation-")}
    assert late <= escalated


def test_the_fava_queue_takes_no_sla_of_its_own(tmp_path: Path) -> None:
    """`sla-days` in the extension's config was a second default: retired, said so."""
    env = Env(tmp_path, "{'user-header': 'X-Remote-User', 'sla-days': 1}")
    assert any("sla-days" in e and "default-sla-days" in e for e in env.ext.cfg.errors)
    page = env.get(BASE).get_data(as_text=True)
    assert "Extension config:" in page
    assert "default-sla-days" in page
    book = env.ext.book
    assert book is not None
    today = datetime.date.today()
    expected = {a.id for a in book.adjustments.values() if is_overdue(a, today)}
    # The plugin's default-sla-days (3) counts, not the extension's 1; ADJ-4 awaits
    # its apply, which has no SLA.
    assert expected == {"ADJ-1", "ADJ-8"}
    assert set(re.findall(r'<tr class="overdue" data-adj-row="([^"]+)"', page)) == expected
    rows = env.get(BASE + "queue").get_json()["rows"]
    assert {r["id"] for r in rows if r["overdue"]} == expected
    assert next(r for r in rows if r["id"] == "ADJ-4")["sla_days"] == 3


# -- customer names ------------------------------------------------------------------


def test_the_cli_queue_and_list_show_customer_names(dated: tuple[Path, Book],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path, book = dated
    open_items = [a for a in book.adjustments.values() if a.state in OPEN_STATES]
    named = next(a for a in open_items if customer_name(book, a.request.customer, DAY))
    name, cid = customer_name(book, named.request.customer, DAY), named.request.customer
    for command in ("queue", "list"):
        table = _cli([command, "-f", str(path)], monkeypatch)
        line = next(x for x in table.splitlines() if named.id in x)
        assert f"{name} ({cid})" in line
        rows = json.loads(_cli([command, "-f", str(path), "--json"], monkeypatch))
        row = next(r for r in rows if r["id"] == named.id)
        assert row["customer"] == cid
        assert row["customer_name"] == name


def test_the_cli_table_shows_the_id_alone_without_a_name(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path)
    rows = json.loads(_cli(["list", "-f", str(env.path), "--json"], monkeypatch))
    by_id = {r["id"]: r for r in rows}
    assert by_id["ADJ-1"]["customer_name"] == "Acme Corp"
    assert by_id["ADJ-2"]["customer_name"] is None  # cust_456 has no name
    table = _cli(["list", "-f", str(env.path)], monkeypatch)
    lines = {x[1:].split()[0]: x for x in table.splitlines()[1:]}
    assert "Acme Corp (cust_123)" in lines["ADJ-1"]
    assert "cust_456" in lines["ADJ-2"]


def test_the_fava_queue_shows_names_with_the_id_on_hover(tmp_path: Path) -> None:
    env = Env(tmp_path)
    page = env.get(BASE).get_data(as_text=True)
    row = page[page.index('data-adj-row="ADJ-1"'):]
    row = row[:row.index("</tr>")]
    assert '<span class="adj-customer" title="cust_123">Acme Corp</span>' in row
    other = page[page.index('data-adj-row="ADJ-2"'):]
    assert '<span class="adj-customer">cust_456</span>' in other[:other.index("</tr>")]
    # The customer filter offers names too, and still filters by id.
    assert '<option value="cust_123" >Acme Corp (cust_123)</option>' in page
    header, rows = report_data.queue_table(queue.queue_view(
        BookIndex.build(env.ext.book), QueueFilters(per_page=100),  # type: ignore[arg-type]
        today=datetime.date.today(), written=datetime.date.today(), user=None))
    first = next(r for r in rows if r[0] == "ADJ-1")
    assert first[header.index("customer name")] == "Acme Corp"


# -- one chart implementation --------------------------------------------------------


def test_the_cli_html_report_draws_fava_charts_per_currency(dated: tuple[Path, Book]) -> None:
    _, book = dated
    rows = reports.trends(book, reports.Scope())
    assert {r.currency for r in rows} >= {"USD", "EUR"}
    page = reports.render(rows, "html", title="Adjustments: trends")
    charts = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(charts) == 3  # counts, then one per currency
    assert all('class="adj-chart"' in c and 'font-size="12"' in c for c in charts)
    for currency in ("USD", "EUR"):
        chart = next(c for c in charts if f"Amount ({currency})" in c)
        assert "Month requested" in chart
        ticks = re.findall(r'text-anchor="end">([^<]+)</text>', chart)
        assert ticks
        assert all(re.fullmatch(r"[0-9,.]+M?", t) for t in ticks), ticks
    assert "Requests" in charts[0]
    assert ">Month<" in charts[0]
    assert ".adj-s0" in page  # the series colours, in the file itself (no external CSS)
    assert not hasattr(reports, "_bar_chart")
    assert importlib.util.find_spec("beancount_adjustments.fava_ext.charts") is None


# -- each section pages on its own ---------------------------------------------------


def test_each_queue_section_pages_on_its_own(dated: tuple[Path, Book]) -> None:
    _, book = dated
    index = BookIndex.build(book)
    first = queue.queue_view(index, QueueFilters(per_page=5), today=DAY, written=DAY,
                             user="dave")
    sizes = {s.key: s.matched for s in first.sections}
    assert sizes["approve"] > 10
    assert sizes["reversal"] > 5
    assert sizes["apply"] > 5
    filters = QueueFilters.from_args({"per_page": "5", "page_reversal": "2"})
    later = queue.queue_view(index, filters, today=DAY, written=DAY, user="dave")
    by_key = {s.key: s for s in later.sections}
    before = {s.key: s for s in first.sections}
    assert by_key["approve"].rows == before["approve"].rows  # still its first page
    assert by_key["apply"].rows == before["apply"].rows
    assert by_key["reversal"].page == 2
    assert not {r.id for r in by_key["reversal"].rows} & {r.id for r in before["reversal"].rows}
    # Links of one section's pager keep the others' pages; a filter link starts over.
    assert later.filters.pager("approve", 3) == {"per_page": "5", "page_reversal": "2",
                                                 "page_approve": "3"}
    assert later.filters.pager("reversal", 1) == {"per_page": "5"}
    assert later.filters.query(sort="amount") == {"sort": "amount", "per_page": "5"}
    clamped = queue.queue_view(index, QueueFilters.from_args(
        {"per_page": "5", "page_apply": "999"}), today=DAY, written=DAY, user="dave")
    apply = next(s for s in clamped.sections if s.key == "apply")
    assert apply.page == apply.pages
    assert apply.rows
