"""The detail page, the audit timeline and the reports (issue 14): true event
order, customer names, links into Fava's journal, ages counted to today and
charts per currency with readable axes. Fava through Flask's test client,
the CLI through click's runner.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from beancount.core import compare, data
from click.testing import CliRunner
from fava_env import BASE, EURO_REFUNDS, REVERSAL, Env, ago

from beancount_adjustments.cli import main
from beancount_adjustments.fava_ext.detail import timeline
from beancount_adjustments.fava_ext.labels import customer_label
from beancount_adjustments.reports import charts
from ledgers import event, load, request

TODAY = datetime.date.today()


# -- the audit timeline ----------------------------------------------------------


def test_same_day_timeline_is_in_ledger_order() -> None:
    # Approved (so applied), cancelled and its reversal approved, all on one day:
    # the page once said approve > cancel > approve > applied > reversed.
    loaded = load(request("ADJ-1", "2026-03-02", "-50")
                  + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-02", "cancel", "carol", reason="Duplicate")
                  + event("ADJ-1", "2026-03-02", "approve", "erin"))
    adj = loaded.adj("ADJ-1")
    assert str(adj.state) == "reversed"
    assert loaded.book is not None
    steps = [(t.what, t.by) for t in timeline(loaded.book, adj)]
    assert steps == [("requested", "alice"), ("approve", "bob"), ("applied", ""),
                     ("cancel (reversal)", "carol"), ("approve (reversal)", "erin"),
                     ("reversed", "")]


def test_same_day_timeline_follows_at_stamps_over_file_order() -> None:
    # The finance approval is written first in the file, but its `at:` is later.
    loaded = load(request("ADJ-2", "2026-03-02", "-1500")
                  + event("ADJ-2", "2026-03-02", "approve", "carol",
                          at="2026-03-02T15:00:00+00:00")
                  + event("ADJ-2", "2026-03-02", "approve", "erin",
                          at="2026-03-02T09:00:00+00:00"))
    adj = loaded.adj("ADJ-2")
    assert str(adj.state) == "applied"
    assert loaded.book is not None
    steps = [(t.what, t.by) for t in timeline(loaded.book, adj)]
    assert steps == [("requested", "alice"), ("approve", "erin"), ("approve", "carol"),
                     ("applied", "")]


def test_an_automatic_approval_comes_right_after_the_request() -> None:
    loaded = load(request("ADJ-3", "2026-03-02", "-10")
                  + event("ADJ-3", "2026-03-02", "cancel", "bob", reason="Oops"))
    assert loaded.book is not None
    steps = [t.what for t in timeline(loaded.book, loaded.adj("ADJ-3"))]
    assert steps == ["requested", "approved automatically", "applied", "cancel (reversal)",
                     "reversed automatically", "reversed"]


# -- customers by name -------------------------------------------------------------


def test_customer_label_is_the_name_with_the_id_on_hover(tmp_path: Path) -> None:
    env = Env(tmp_path)
    index = env.ext.index()
    assert index is not None
    named = customer_label(index, "cust_123", TODAY)
    assert (named.id, named.name, named.text) == ("cust_123", "Acme Corp",
                                                  "Acme Corp (cust_123)")
    bare = customer_label(index, "cust_456", TODAY)
    assert (bare.name, bare.text) == ("", "cust_456")
    detail = env.get(BASE + "?view=detail&id=ADJ-1").get_data(as_text=True)
    assert '<span class="adj-customer" title="cust_123">Acme Corp</span>' in detail
    reports = env.get(BASE + "?view=reports").get_data(as_text=True)
    compliance = reports[reports.index('id="adj-compliance"'):]
    assert '<span class="adj-customer" title="cust_123">Acme Corp</span>' in compliance
    # A customer without a declared name shows its id (nothing to hover for).
    assert '<span class="adj-customer">cust_456</span>' in compliance



def test_a_request_filed_from_the_web_is_headed_by_the_customers_name(tmp_path: Path) -> None:
    """The form and `POST create` write the customer's id as the payee; the detail
    header showed "cust_123 · ..." where the customer is Acme Corp."""
    from fava_env import CREATE_EXTRA
    env = Env(tmp_path, extra=CREATE_EXTRA)
    response = env.client.post(BASE + "create", headers={"X-Remote-User": "alice"}, json={
        "customer": "cust_123", "type": "credit:refund", "amount": "30.00 USD",
        "reason": "Damaged item"})
    assert response.status_code == 201, response.get_json()
    adj_id = response.get_json()["id"]

    def header(adj: str) -> str:
        detail = env.get(BASE + f"?view=detail&id={adj}").get_data(as_text=True)
        found = detail[detail.index('id="adj-narration"'):]
        return found[:found.index("</p>")]

    # Filed now, its payee is the name; filed before with the id (ADJ-1 is written
    # "cust_123"), the header shows the customer as every page does.
    assert header(adj_id).startswith('id="adj-narration"><strong>Acme Corp</strong> · ')
    assert '<span class="adj-customer" title="cust_123">Acme Corp</span>' in header("ADJ-1")


def test_cli_show_names_the_customer(tmp_path: Path) -> None:
    env = Env(tmp_path)
    result = CliRunner().invoke(main, ["show", "-f", str(env.path), "ADJ-1"])
    assert result.exit_code == 0, result.output
    assert "  customer: Acme Corp (cust_123), tier vip\n" in result.output
    result = CliRunner().invoke(main, ["show", "-f", str(env.path), "ADJ-2"])
    assert "  customer: cust_456, tier standard\n" in result.output


# -- links into Fava's journal, the rejection in the header -----------------------


def _hash_of(env: Env, adj_id: str, tag: str) -> str:
    found = [e for e in env.ledger.all_entries if isinstance(e, data.Transaction)
             and adj_id in (e.links or ()) and tag in (e.tags or ())]
    assert len(found) == 1, found
    return str(compare.hash_entry(found[0]))


def test_detail_links_to_the_booked_and_the_reversing_entry(tmp_path: Path) -> None:
    env = Env(tmp_path, extra="\n" + REVERSAL)
    assert env.state("ADJ-6") == "reversed"
    page = env.get(BASE + "?view=detail&id=ADJ-6").get_data(as_text=True)
    booked = _hash_of(env, "ADJ-6", "adjustment")
    undone = _hash_of(env, "ADJ-6", "adjustment-reversal")
    link = re.search(r'<a id="adj-booked-link" href="([^"]+)"', page)
    assert link is not None, page
    assert link.group(1).endswith(f"#context-{booked}")
    assert "/test-ledger/journal/" in link.group(1)
    back = re.search(r'<a id="adj-reversal-link" href="([^"]+)"', page)
    assert back is not None
    assert back.group(1).endswith(f"#context-{undone}")
    # Fava's own context page knows both hashes.
    for entry_hash in (booked, undone):
        answer = env.client.get(f"/test-ledger/api/context?entry_hash={entry_hash}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
    # Nothing booked yet: no link.
    pending = env.get(BASE + "?view=detail&id=ADJ-2").get_data(as_text=True)
    assert "adj-booked-link" not in pending
    assert "adj-reversal-link" not in pending


def test_the_rejection_reason_is_in_the_detail_header(tmp_path: Path) -> None:
    env = Env(tmp_path)
    page = env.get(BASE + "?view=detail&id=ADJ-7").get_data(as_text=True)
    header = page[:page.index('id="adj-timeline"')]
    found = re.search(r'id="adj-rejection"[^>]*>(.*?)</p>', header, re.S)
    assert found is not None
    assert "Not justified" in found.group(1)
    assert "bob" in found.group(1)
    assert "adj-rejection" not in env.get(BASE + "?view=detail&id=ADJ-6").get_data(as_text=True)


# -- ages counted to today, everywhere ---------------------------------------------


SLA = '\n2000-01-01 custom "adjustment-policy" "credit:*"\n  sla-days: 2\n'


def test_compliance_ages_match_the_queue(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=SLA)
    queue = env.get(BASE + "queue").get_json()
    ages = {r["id"]: r["age_days"] for r in queue["rows"]}
    assert ages["ADJ-1"] == 10
    page = env.get(BASE + "?view=reports").get_data(as_text=True)
    assert "overdue: pending 10 days, SLA 2" in page
    csv = env.get(BASE + "export?report=compliance").get_data(as_text=True)
    assert "overdue: pending 10 days, SLA 2" in csv
    # A period ending in the future counts to today, not to its end.
    later = f"{TODAY.year - 1}-01-01 - {TODAY.year + 2}-12-31"
    page = env.get(BASE + f"?view=reports&time={later}").get_data(as_text=True)
    assert "overdue: pending 10 days, SLA 2" in page


def test_cli_compliance_counts_ages_to_today_or_the_end_of_the_period(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=SLA)
    runner = CliRunner()
    future = f"{TODAY.year + 1}-12-31"
    result = runner.invoke(main, ["report", "compliance", "-f", str(env.path), "--to", future,
                                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "overdue: pending 10 days, SLA 2" in result.output
    result = runner.invoke(main, ["report", "compliance", "-f", str(env.path)])
    assert "overdue: pending 10 days, SLA 2" in result.output
    # A period that ended in the past: ages as they stood on its last day.
    result = runner.invoke(main, ["report", "compliance", "-f", str(env.path), "--to", ago(5),
                                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "overdue: pending 5 days, SLA 2" in result.output


# -- charts per currency --------------------------------------------------------------


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, re.S)


def _title(svg: str) -> str:
    found = re.search(r"<title>(.*?)</title>", svg)
    return found.group(1) if found else ""


def test_one_amount_chart_per_currency_with_labelled_axes(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=EURO_REFUNDS)
    page = env.get(BASE + "?view=reports").get_data(as_text=True)
    titles = [_title(svg) for svg in _svgs(page)]
    for currency in ("USD", "EUR"):
        assert f"Requested and applied amounts per month ({currency})" in titles, titles
        assert f"Net effect of applied adjustments per month ({currency})" in titles
    eur = next(svg for svg in _svgs(page)
               if _title(svg) == "Requested and applied amounts per month (EUR)")
    assert 'class="adj-chart-axis-label"' in eur
    assert ">Amount (EUR)</text>" in eur
    assert ">Month requested</text>" in eur
    assert ">100,000</text>" in eur  # full numbers, not "100k"
    assert not re.search(r">-?\d+k</text>", eur)


def test_chart_text_is_at_least_11px_and_drawn_one_to_one() -> None:
    svg = str(charts.line_chart(["2026-01", "2026-02"], {"requested USD": [62000, 12000]},
                                title="Amounts (USD)", unit="USD", y_label="Amount (USD)"))
    width = re.search(r'<svg[^>]*\bwidth="(\d+)"', svg)
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert width is not None
    assert view is not None
    assert width.group(1) == view.group(1)  # drawn at its own size, not squeezed
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    texts = svg.count("<text")
    assert len(sizes) == texts
    assert min(sizes) >= 11
    ticks = re.findall(r'class="adj-chart-axis"[^>]*>([^<]+)</text>', svg)
    assert {"25,000", "100,000"} <= set(ticks), ticks
    assert ">Amount (USD)</text>" in svg


def test_charts_stay_escaped_with_axis_labels() -> None:
    svg = str(charts.bar_chart(["<m>"], {"<s>": [1]}, title="<t>", y_label="<y>",
                               x_label="<x>"))
    assert "<m>" not in svg
    assert "<s>" not in svg
    assert "<y>" not in svg
    assert "&lt;y&gt;" in svg
    assert "&lt;x&gt;" in svg


def test_negative_only_values_get_round_ticks_ending_at_zero() -> None:
    svg = str(charts.line_chart(["2026-11"], {"revenue": [-20]}, title="Net (EUR)"))
    ticks = re.findall(r'class="adj-chart-axis"[^>]*>([^<]+)</text>', svg)
    assert ticks[:5] == ["-20", "-15", "-10", "-5", "0"]


def test_the_detail_page_shows_the_warnings_about_its_adjustment(tmp_path: Path) -> None:
    """A warning about one adjustment (here an id that reads as an earlier request's)
    is shown on that adjustment's page, not only by `bean-adjust check`."""
    lookalike = (f'{datetime.date.today()} ! "cust_456" "Test adjustment" ^adj-2\n'
                 '  adjustment-type: "credit:refund"\n'
                 '  category: "customer-service:goodwill"\n  customer: "cust_456"\n'
                 '  reason: "Because"\n  requested-by: "alice"\n'
                 "  Income:Sales:Returns  60 USD\n  Assets:Receivable:Customers  -60 USD\n")
    env = Env(tmp_path, extra="\n" + lookalike)
    page = env.get(BASE + "?view=detail&id=adj-2").get_data(as_text=True)
    found = re.search(r'<div class="adj-banner warn" id="adj-warnings">(.*?)</div>', page, re.S)
    assert found is not None, page
    assert "reads as the request id &#34;ADJ-2&#34;" in found.group(1)  # escaped
    assert "[lookalike-id]" in found.group(1)
    assert "adj-warnings" not in env.get(BASE + "?view=detail&id=ADJ-2").get_data(as_text=True)
