"""The Fava extension through Flask's test client: pages, endpoints, refusals.

Each test writes its own small ledger into tmp_path (dates relative to
today, so ages and the writer's default event date line up) and creates the
Fava app the way Fava's own tests do (`fava.application.create_app`).
Refused requests must leave every file byte-identical.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, DECIDE, DEMO_CONFIG, Env, ledger_text

from beancount_adjustments import State, reports, writer
from beancount_adjustments.fava_ext import Config
from beancount_adjustments.fava_ext.detail import ticket_link
from beancount_adjustments.fava_ext.queue import QueueFilters
from beancount_adjustments.reports.charts import bar_chart, hbar_chart, line_chart
from beancount_adjustments.reports.csv_cells import csv_cell, csv_text


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


# -- pages --------------------------------------------------------------------


def test_extension_loads_without_errors(env: Env) -> None:
    assert not env.ledger.extensions.errors
    assert not [e for e in env.ledger.errors if "adjustment" in str(e.message)]
    assert env.ext.cfg == Config(user_header="X-Remote-User",
                                 ticket_url="https://support.example/tickets/{ticket}")


def test_queue_lists_everything_awaiting_a_decision(env: Env) -> None:
    page = env.get(BASE).get_data(as_text=True)
    for adj_id in ("ADJ-1", "ADJ-2", "ADJ-3", "ADJ-4", "ADJ-5", "ADJ-8"):
        assert f'data-adj-row="{adj_id}"' in page
    for adj_id in ("ADJ-6", "ADJ-7"):  # applied, rejected
        assert f'data-adj-row="{adj_id}"' not in page
    assert "Acting as" in page
    assert "bob" in page
    assert 'class="overdue"' in page  # ADJ-1 is 10 days old, default-sla-days 3
    assert "awaiting apply" in page  # ADJ-4
    assert f'data-adj-digest="{env.digest("ADJ-2")}"' in page  # posted back with decisions
    assert "Fava editing is closed" in page


def test_ledger_strings_are_escaped(env: Env) -> None:
    for url in (BASE, BASE + "?view=detail&id=ADJ-1", BASE + "?view=detail&id=ADJ-6"):
        page = env.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "<b>bold</b>" not in page
    page = env.get(BASE + "?view=detail&id=ADJ-1").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; refund" in page


def test_queue_filters_sort_and_awaiting_me(env: Env) -> None:
    mine = env.get(BASE + "?mine=1").get_data(as_text=True)
    assert 'data-adj-row="ADJ-3"' not in mine  # bob's own request
    assert 'data-adj-row="ADJ-5"' not in mine  # above bob's limit
    assert 'data-adj-row="ADJ-2"' in mine
    overdue = env.get(BASE + "?overdue=1").get_data(as_text=True)
    assert 'data-adj-row="ADJ-1"' in overdue
    assert 'data-adj-row="ADJ-2"' not in overdue
    by_type = env.get(BASE + "?kind=billing").get_data(as_text=True)
    assert 'data-adj-row="ADJ-4"' in by_type
    assert 'data-adj-row="ADJ-1"' not in by_type
    data = env.get(BASE + "queue?sort=amount&order=desc").get_json()
    amounts = [Decimal(r["amount"]) for r in data["rows"]]
    assert amounts == sorted(amounts, reverse=True)
    assert data["rows"][0]["id"] == "ADJ-5"
    assert data["total_open"] == 6
    searched = env.get(BASE + "queue?q=hyperlink").get_json()
    assert [r["id"] for r in searched["rows"]] == ["ADJ-8"]


def test_detail_page_shows_everything_a_reviewer_needs(env: Env) -> None:
    page = env.get(BASE + "?view=detail&id=ADJ-1").get_data(as_text=True)
    assert 'href="https://support.example/tickets/TCK-1"' in page
    assert "Invoice INV-1" in page
    assert "120.00 USD" in page
    assert "Income:Sales:Returns" in page
    assert "Assets:Receivable:Customers" in page
    assert "Acme Corp" in page
    assert "vip" in page
    assert "ADJ-6" in page  # earlier adjustment of cust_123
    assert "may be given by: bob, erin" in page
    assert "approval 1 of 1: a manager" in page
    assert 'id="adj-timeline"' in page
    applied = env.get(BASE + "?view=detail&id=ADJ-6").get_data(as_text=True)
    assert "digest" in applied
    assert "approve" in applied
    assert "ok &lt;b&gt;bold&lt;/b&gt;" in applied
    rejected = env.get(BASE + "?view=detail&id=ADJ-7").get_data(as_text=True)
    assert "Not justified" in rejected
    missing = env.get(BASE + "?view=detail&id=NOPE").get_data(as_text=True)
    assert "There is no adjustment with the id" in missing


def test_detail_json(env: Env) -> None:
    data = env.get(BASE + "adjustment?id=ADJ-6").get_json()
    assert data["adjustment"]["state"] == "applied"
    events = [t for t in data["timeline"] if t["what"] == "approve"]
    assert events
    assert events[0]["by"] == "bob"
    assert events[0]["digest"] == "absent"
    assert env.get(BASE + "adjustment?id=NOPE").status_code == 404


def test_reports_page_has_inline_svg_charts(env: Env) -> None:
    page = env.get(BASE + "?view=reports").get_data(as_text=True)
    assert page.count("<svg") >= 5
    assert "cdn" not in page.lower()
    assert "segregation-of-duties" in page
    assert 'id="adj-compliance"' in page
    assert "bob (manager, " in page


def test_reports_respect_the_time_filter(env: Env) -> None:
    year = datetime.date.today().year
    later = env.get(BASE + f"?view=reports&time={year + 5}").get_data(as_text=True)
    assert "no data in this period" in later
    csv = env.get(BASE + f"export?report=summary&time={year + 5}").get_data(as_text=True)
    assert csv.strip().splitlines() == ["dimension,key,currency,count,amount,net,booked"]


@pytest.mark.parametrize("report", ["summary", "trends", "impact", "effects", "compliance",
                                    "queue"])
def test_exports_are_csv(env: Env, report: str) -> None:
    response = env.get(BASE + f"export?report={report}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"adjustments-{report}.csv" in response.headers["Content-Disposition"]
    assert len(response.get_data(as_text=True).splitlines()) >= 2


def test_csv_export_neutralises_formulas(env: Env) -> None:
    text = env.get(BASE + "export?report=queue").get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
    assert ',"=HYPERLINK' not in text
    assert env.get(BASE + "export?report=nope").status_code == 404


def test_impact_and_compliance_figures(env: Env) -> None:
    effects = env.get(BASE + "export?report=effects").get_data(as_text=True)
    row = effects.splitlines()[1].split(",")
    # ADJ-6 applied: revenue -40 (a return), receivables -40
    assert row[1:5] == ["credit:refund", "USD", "1", "0"]
    assert Decimal(row[5]) == Decimal("-40")
    assert Decimal(row[6]) == Decimal("-40")
    compliance = env.get(BASE + "export?report=compliance").get_data(as_text=True)
    assert "ADJ-6" in compliance
    assert "bob (manager, " in compliance
    assert ",ok," in compliance
    # One definition: the page's export is the CLI's compliance report, row for row.
    book = env.ext.book
    assert book is not None
    cli = reports.report_text("compliance", book, reports.Scope(), "csv")
    assert list(csv.reader(io.StringIO(compliance))) == list(csv.reader(io.StringIO(cli)))


# -- identity and refusals -----------------------------------------------------


def test_no_identity_is_read_only_and_post_refused(env: Env) -> None:
    page = env.get(BASE, user=None).get_data(as_text=True)
    assert "read-only" in page
    assert 'data-read-only="1"' in page
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-2", "action": "approve"}], user=None)
    assert response.status_code == 403
    assert env.snapshot() == before
    assert env.state("ADJ-2") == "pending"


def test_fava_read_only_refuses_posts(tmp_path: Path) -> None:
    env = Env(tmp_path, read_only=True)
    page = env.get(BASE).get_data(as_text=True)
    assert "read-only mode" in page
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-2", "action": "approve"}])
    assert response.status_code == 403
    assert env.snapshot() == before


def test_config_read_only_refuses_posts(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'user-header': 'X-Remote-User', 'read-only': True}")
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 403
    assert env.snapshot() == before


def test_non_json_post_is_refused(env: Env) -> None:
    before = env.snapshot()
    response = env.client.post(DECIDE, data={"digest": env.digest("ADJ-2"), "id": "ADJ-2"},
                               headers={"X-Remote-User": "bob"})
    assert response.status_code == 415
    response = env.client.post(DECIDE, data="not json", content_type="text/plain",
                               headers={"X-Remote-User": "bob"})
    assert response.status_code == 415
    assert env.snapshot() == before


@pytest.mark.parametrize("body", [
    [],
    {"decisions": [{"id": "ADJ-2", "action": "approve"}]},  # no digest: what was shown?
    {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": ""}]},
    {"decisions": []},
    {"decisions": [{"id": "ADJ-2", "action": "delete", "digest": "x"}]},
    {"decisions": [{"action": "approve", "digest": "x"}]},
    {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": "x", "effective": "soon"}]},
])
def test_malformed_json_is_refused(env: Env, body: Any) -> None:
    before = env.snapshot()
    response = env.client.post(DECIDE, json=body, headers={"X-Remote-User": "bob"})
    assert response.status_code == 400
    assert env.snapshot() == before


def test_an_unrelated_edit_to_the_file_does_not_make_the_page_stale(env: Env) -> None:
    shown = env.digest("ADJ-2")
    with env.path.open("a", encoding="utf-8") as out:  # an edit made meanwhile elsewhere
        out.write("\n; edited in an editor\n")
    response = env.decide([{"id": "ADJ-2", "action": "approve", "digest": shown}])
    assert response.status_code == 200, response.get_json()
    assert env.state("ADJ-2") == "applied"


def test_self_approval_is_refused_whatever_the_page_showed(env: Env) -> None:
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-3", "action": "approve"}])  # bob requested ADJ-3
    assert response.status_code == 422
    refused = response.get_json()["refused"]
    assert refused[0]["id"] == "ADJ-3"
    assert "requester" in refused[0]["message"]
    assert env.snapshot() == before


def test_header_user_cannot_be_overridden_by_demo_cookie(env: Env) -> None:
    env.client.set_cookie("adjustments-user", "erin")
    page = env.get(BASE + "?as=erin", user="bob").get_data(as_text=True)
    assert 'data-user="bob"' in page
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user=None).status_code == 403
    assert env.snapshot() == before


# -- writes --------------------------------------------------------------------


def test_batch_approval_is_one_write_and_one_reload(env: Env,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    loads: list[int] = []
    real_write = writer.write_decisions
    from fava.core import FavaLedger

    real_load = FavaLedger.load_file

    def counting_write(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[1]))
        assert kwargs["partial"] is True
        return real_write(*args, **kwargs)

    def counting_load(self: Any) -> None:
        loads.append(1)
        real_load(self)

    monkeypatch.setattr(writer, "write_decisions", counting_write)
    monkeypatch.setattr(FavaLedger, "load_file", counting_load)
    response = env.decide([{"id": "ADJ-1", "action": "approve"},
                           {"id": "ADJ-2", "action": "approve"},
                           {"id": "ADJ-3", "action": "approve"}])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["written"] == 2
    assert body["ids"] == ["ADJ-1", "ADJ-2"]
    assert [r["id"] for r in body["refused"]] == ["ADJ-3"]
    assert "requester" in body["refused"][0]["message"]
    assert calls == [3]
    assert loads == [1]
    assert body["sha256"] == env.sha()
    assert env.state("ADJ-1") == "applied"
    assert env.state("ADJ-2") == "applied"
    assert env.state("ADJ-3") == "pending"
    page = env.get(BASE).get_data(as_text=True)
    assert 'data-adj-row="ADJ-1"' not in page
    assert 'data-adj-row="ADJ-3"' in page
    assert loads == [1]  # the next request does not reload again
    text = env.path.read_text(encoding="utf-8")
    assert text.count('"approve"\n  by: "bob"') == 3  # ADJ-6's and the two new ones


def test_reject_needs_a_reason_then_goes_through(env: Env) -> None:
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-2", "action": "reject"}])
    assert response.status_code == 422
    assert "reason" in response.get_json()["refused"][0]["message"]
    assert env.snapshot() == before
    response = env.decide([{"id": "ADJ-2", "action": "reject", "reason": "Duplicate",
                            "comment": "see ADJ-1"}])
    assert response.status_code == 200
    assert env.state("ADJ-2") == "rejected"
    page = env.get(BASE + "?view=detail&id=ADJ-2").get_data(as_text=True)
    assert "Duplicate" in page
    assert "see ADJ-1" in page


def test_apply_and_cancel_quick_actions(env: Env) -> None:
    assert env.decide([{"id": "ADJ-4", "action": "apply"}]).status_code == 200
    assert env.state("ADJ-4") == "applied"
    response = env.decide([{"id": "ADJ-4", "action": "cancel", "reason": "Wrong invoice"}])
    assert response.status_code == 200
    # A reversal moves money too: it needs the chain a request of its amount needs
    # (a manager), given by neither bob (who cancelled) nor alice (who requested).
    assert env.state("ADJ-4") == "reversing"
    queue = env.get(BASE, user="erin").get_data(as_text=True)
    assert 'data-adj-row="ADJ-4"' in queue
    assert 'class="adj-pill reversal"' in queue
    assert 'data-adj-row="ADJ-4"' in env.get(BASE + "?mine=1", user="erin").get_data(as_text=True)
    assert 'data-adj-row="ADJ-4"' not in env.get(BASE + "?mine=1").get_data(as_text=True)
    detail = env.get(BASE + "?view=detail&id=ADJ-4", user="erin").get_data(as_text=True)
    assert 'id="adj-reversal-requirements"' in detail
    assert "may be given by: erin" in detail
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-4", "action": "approve"}]).status_code == 422  # bob
    assert env.snapshot() == before
    assert env.decide([{"id": "ADJ-4", "action": "approve"}], user="erin").status_code == 200
    assert env.state("ADJ-4") == "reversed"
    response = env.decide([{"id": "ADJ-8", "action": "cancel", "reason": "Not needed"}],
                          user="alice")
    assert response.status_code == 200
    assert env.state("ADJ-8") == "withdrawn"


def test_two_level_chain_and_limits(env: Env) -> None:
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-5", "action": "approve"}])  # 2000 > bob's limit
    assert response.status_code == 422
    assert env.snapshot() == before
    assert env.decide([{"id": "ADJ-5", "action": "approve"}], user="erin").status_code == 200
    assert env.state("ADJ-5") == "pending"
    page = env.get(BASE + "?view=detail&id=ADJ-5", user="carol").get_data(as_text=True)
    assert "may be given by: carol" in page
    assert env.decide([{"id": "ADJ-5", "action": "approve"}], user="carol").status_code == 200
    assert env.state("ADJ-5") == "applied"


def test_limits_in_another_currency_are_converted_with_the_ledgers_prices(
        tmp_path: Path) -> None:
    # bob's limit is 1000 USD; at 1.10 USD per EUR, 500 EUR is within it and
    # 1000 EUR is not. The pages must say what the plugin will decide.
    day = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    start = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()
    euro = "".join(
        f'''
{day} ! "cust_456" "Euro credit" ^{adj_id}
  adjustment-type: "credit:account"
  category: "customer-service:goodwill"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  {amount} EUR
  Assets:Receivable:Customers  -{amount} EUR
''' for adj_id, amount in (("ADJ-E1", "500.00"), ("ADJ-E2", "1000.00")))
    env = Env(tmp_path)
    env.path.write_text(ledger_text() + f"\n{start} price EUR 1.10 USD\n" + euro,
                        encoding="utf-8")
    env.ledger.load_file()
    assert env.state("ADJ-E1") == "pending"
    within = env.get(BASE + "?view=detail&id=ADJ-E1", user="erin").get_data(as_text=True)
    assert "may be given by: bob, erin" in within
    assert 'data-adj-row="ADJ-E1"' in env.get(BASE + "?mine=1").get_data(as_text=True)
    above = env.get(BASE + "?view=detail&id=ADJ-E2").get_data(as_text=True)
    assert "above your approval limit" in above
    assert 'data-adj-row="ADJ-E2"' not in env.get(BASE + "?mine=1").get_data(as_text=True)
    # The server agrees with both pages.
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-E2", "action": "approve"}]).status_code == 422
    assert env.snapshot() == before
    assert env.decide([{"id": "ADJ-E1", "action": "approve"}]).status_code == 200
    assert env.state("ADJ-E1") == "applied"


# -- demo mode ------------------------------------------------------------------


def test_demo_mode_lets_the_user_pick_and_says_so(tmp_path: Path) -> None:
    env = Env(tmp_path, DEMO_CONFIG)
    page = env.get(BASE, user=None).get_data(as_text=True)
    assert "Demo mode." in page
    assert 'id="adj-demo-user"' in page
    assert 'data-user=""' in page
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user=None).status_code == 403
    env.client.set_cookie("adjustments-user", "nobody-known")
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user=None).status_code == 403
    assert env.snapshot() == before
    env.client.set_cookie("adjustments-user", "erin")
    page = env.get(BASE, user=None).get_data(as_text=True)
    assert 'data-user="erin"' in page
    response = env.decide([{"id": "ADJ-2", "action": "approve"}], user=None)
    assert response.status_code == 200
    assert response.get_json()["by"] == "erin"


def test_header_is_ignored_unless_configured(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'per-page': 50}")
    before = env.snapshot()
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user="bob").status_code == 403
    assert env.snapshot() == before


# -- pure helpers ------------------------------------------------------------------


def test_config_parse_reports_bad_values() -> None:
    cfg = Config.parse({"per-page": "three", "ticket-url": "javascript:alert(1)", "x": 1})
    assert cfg.per_page == 50
    assert cfg.ticket_url is None
    assert len(cfg.errors) == 3
    assert Config.parse(None) == Config()


def test_ticket_link_is_quoted_and_http_only() -> None:
    assert ticket_link("https://t.example/{ticket}", "A B/?") == "https://t.example/A%20B%2F%3F"
    assert ticket_link("javascript:{ticket}", "x") is None
    assert ticket_link(None, "x") is None


def test_neutralise_cells() -> None:
    assert [csv_cell(c) for c in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", None)] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok", ""]
    assert csv_cell(Decimal("-5.00")) == "-5.00"
    assert csv_text(["a"], [["=x"]]) == "a\r\n'=x\r\n"


def test_filters_from_args_are_bounded() -> None:
    f = QueueFilters.from_args({"sort": "evil", "order": "x", "page": "-3", "mine": "1"})
    assert (f.sort, f.order, f.page, f.mine) == ("age", "desc", 1, True)


def test_charts_escape_labels() -> None:
    svg = str(hbar_chart([("<b>x</b>", 3)], title="t<"))
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert "<svg" in str(bar_chart(["2026-01"], {"credit": [2]}, title="c"))
    assert "no data" in str(line_chart([], {}, title="none"))


def test_queue_shows_the_risk_flags_the_checks_raised(env: Env) -> None:
    # Two identical requests (same customer, amount and reason) within days of
    # each other: the `duplicates` check flags the second on arrival.
    today = datetime.date.today()
    duplicate = "".join(
        f'{today - datetime.timedelta(days=days)} ! "cust_456" "Refund" ^DUP-{n}\n'
        '  adjustment-type: "credit:refund"\n  customer: "cust_456"\n'
        '  reason: "Double charge"\n  requested-by: "alice"\n'
        "  Income:Sales:Returns  80.00 USD\n  Assets:Receivable:Customers  -80.00 USD\n\n"
        for n, days in ((1, 2), (2, 1)))
    env.path.write_text(env.path.read_text() + "\n" + duplicate)
    env.ledger.load_file()
    rows = {row["id"]: row for row in env.get(BASE + "queue").get_json()["rows"]}
    assert "duplicates" in rows["DUP-2"]["risk"]
    assert rows["DUP-1"]["risk"] == []
    page = env.get(BASE).get_data(as_text=True)
    assert "duplicates" in page


def test_bql_through_favas_query_page(env: Env) -> None:
    # Fava's Query page runs the same queries as bean-query, on the plugin's entries.
    query = ("SELECT meta['adjustment-id'] AS id FROM entries WHERE 'adjustment-request' "
             "IN tags AND meta['adjustment-state'] = 'pending' ORDER BY id")
    response = env.client.get("/test-ledger/api/query", query_string={"query_string": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = response.get_json()["data"]["rows"]
    book = env.ext.book
    assert book is not None
    pending = {adj.id for adj in book.in_state(State.PENDING)}
    assert [row[0] for row in rows] == sorted(pending)
    assert {"ADJ-1", "ADJ-2"} <= set(pending)


def test_every_state_has_a_colour_of_its_own_on_the_pages() -> None:
    """A state badge without a rule of its own is grey like text: `reversing` (a
    reversal awaiting approval, money about to move back) looked like nothing."""
    import re
    from pathlib import Path

    from beancount_adjustments.core.models import State
    css = (Path(__file__).parent.parent / "beancount_adjustments" / "fava_ext" / "templates"
           / "adj_style.css").read_text(encoding="utf-8")
    styled = set(re.findall(r"\.adj-pill\.([a-z-]+)", css))
    assert {str(state) for state in State} <= styled, {str(s) for s in State} - styled


def test_the_impact_table_says_which_columns_count_and_which_sum(env: Env) -> None:
    """"Applied 12" beside "Revenue -1,234.00" read as an amount; the counts say so."""
    page = env.get(BASE + "?view=reports").get_data(as_text=True)
    table = page[page.index('id="adj-impact-totals"'):]
    head = table[:table.index("</thead>")]
    assert '<th class="num">Applied (count)</th>' in head
    assert '<th class="num">Reversed (count)</th>' in head
