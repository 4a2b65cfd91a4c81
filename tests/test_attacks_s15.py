"""Attacks, round 15: controls that hold (issue 11) and what the reviewer approves
against what the page shows (issue 14).

First the splitting check's edges: the window's last day, sibling types, `effective:`
dates, a cancelled automatic credit filed again, a customer's sub-accounts, and the
threshold parts are weighed against when a more specific row pre-approves. Then
Fava's "Approve selected": only the rows the reviewer selected and could see are
written, each judged alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from fava_env import BASE as PAGE
from fava_env import Env, ago
from sample_ledgers import OWN_ACCOUNTS

from beancount_adjustments.cli import main
from beancount_adjustments.core.book import Book
from beancount_adjustments.reports import risk
from ledgers import BASE, event, load, request

RISKY = ('2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"\n'
         '  risk: "splitting"\n')
"""A risk row meant to catch splitting: a flagged credit needs a manager."""


def _book(text: str, base: str = BASE) -> Book:
    loaded = load(base + text, base=False)
    assert loaded.errors == [], loaded.errors
    assert loaded.book is not None
    return loaded.book


def _second(book: Book, adj_id: str) -> tuple[tuple[str, ...], str]:
    adj = book.adjustments[adj_id]
    return adj.risk_flags, str(adj.state)


def _goodwill(adj_id: str, date: str, amount: str, reason: str) -> str:
    return request(adj_id, date, amount, type="credit:goodwill", account="Expenses:Goodwill",
                   reason=reason)


# -- splitting: the threshold the parts are weighed against -------------------------


def test_goodwill_split_under_its_own_row_is_flagged() -> None:
    """Hole: with `credit:goodwill` pre-approved from 0.00 USD below a goodwill row
    from 100.00 USD, the splitting check weighed goodwill credits against the lowest
    threshold of any row with roles, `credit:*` from 25.00 USD, which a goodwill
    credit never reaches: two 60 USD goodwill credits (120 USD, each below the 100 USD
    from which goodwill needs a manager) were both above "the threshold", never
    counted, and booked with no flag. The rows a request cannot reach set no
    threshold (`Matrix.lowest_thresholds`), so the second is flagged."""
    rows = ('2026-01-01 custom "adjustment-approval" "credit:goodwill" 100.00 USD "manager"\n'
            '2026-01-01 custom "adjustment-approval" "credit:goodwill" 0.00 USD\n')
    book = _book(RISKY + rows + _goodwill("G-1", "2026-03-02", "-60.00", "a")
                 + _goodwill("G-2", "2026-03-04", "-60.00", "b"))
    assert _second(book, "G-1") == ((), "applied")
    assert _second(book, "G-2") == (("splitting",), "pending")
    (hit,) = [f for f in risk.findings(book, None) if f.check == "splitting"]
    assert hit.ids == ("G-1", "G-2")
    assert "threshold of 100.00 USD, together 120.00 USD" in hit.message


def test_a_reachable_generic_row_still_sets_the_threshold() -> None:
    """The goodwill row from 100.00 USD with roles and no pre-approving goodwill row:
    a 60 USD goodwill credit falls through to `credit:*` from 25.00 USD and needs a
    manager itself, so it is no part of a split (and two 20 USD ones are)."""
    rows = '2026-01-01 custom "adjustment-approval" "credit:goodwill" 100.00 USD "manager"\n'
    book = _book(RISKY + rows + _goodwill("G-1", "2026-03-02", "-60.00", "a")
                 + _goodwill("G-2", "2026-03-03", "-20.00", "b")
                 + _goodwill("G-3", "2026-03-04", "-20.00", "c"))
    assert _second(book, "G-1") == ((), "pending")
    assert _second(book, "G-2") == ((), "applied")
    assert _second(book, "G-3") == (("splitting", "repeated-goodwill"), "pending")


# -- splitting: edges that held -------------------------------------------------------


def test_the_windows_last_day_still_counts() -> None:
    """`days: 7` reaches back seven days: day N and day N+7 are one split; N+8 is not
    (the window's promise)."""
    first = request("E-1", "2026-03-02", "-20.00", reason="a")
    assert _second(_book(RISKY + first + request("E-2", "2026-03-09", "-20.00", reason="b")),
                   "E-2") == (("splitting",), "pending")
    assert _second(_book(RISKY + first + request("E-2", "2026-03-10", "-20.00", reason="b")),
                   "E-2") == ((), "applied")


def test_sibling_types_for_one_customer_add_up() -> None:
    book = _book(RISKY + request("T-1", "2026-03-02", "-20.00", reason="a")
                 + _goodwill("T-2", "2026-03-03", "-20.00", "b"))
    assert _second(book, "T-2") == (("splitting",), "pending")


def test_effective_dates_far_apart_do_not_hide_a_split() -> None:
    """The window is the filing dates': booking one part back in January and the other
    in May changes nothing."""
    book = _book(RISKY
                 + request("F-1", "2026-03-02", "-20.00", reason="a",
                           extra="effective: 2026-01-15")
                 + request("F-2", "2026-03-03", "-20.00", reason="b",
                           extra="effective: 2026-05-30"))
    assert _second(book, "F-2") == (("splitting",), "pending")


def test_a_cancelled_automatic_credit_filed_again_is_still_counted() -> None:
    """Cancelling the automatic 20 USD (its reversal booked at once) and filing it again
    does not empty the window: the new one is flagged (and a duplicate)."""
    book = _book(RISKY + request("C-1", "2026-03-02", "-20.00", reason="a")
                 + event("C-1", "2026-03-03", "cancel", "alice", reason="Typo")
                 + request("C-2", "2026-03-04", "-20.00", reason="a"))
    assert str(book.adjustments["C-1"].state) == "reversed"
    assert book.adjustments["C-2"].risk_flags == ("splitting", "duplicates")


def test_a_customers_sub_accounts_are_one_customer() -> None:
    """With `customer-account`, parts booked on `...:Ghost` and on its
    `...:Ghost:Disputes` are one customer's."""
    base = OWN_ACCOUNTS + "2026-01-01 open Assets:Receivable:Ghost:Disputes\n"
    book = _book(RISKY
                 + request("U-1", "2026-03-02", "-20.00", reason="a", customer="Ghost",
                           receivable="Assets:Receivable:Ghost")
                 + request("U-2", "2026-03-03", "-20.00", reason="b", customer="Ghost",
                           receivable="Assets:Receivable:Ghost:Disputes"), base)
    assert _second(book, "U-2") == (("splitting",), "pending")


def test_a_credit_filed_again_in_parts_is_no_duplicate_as_readme_says() -> None:
    """Left (README, "Risk checks"): `duplicates` compares whole amounts; 60 + 40 USD
    after a 100 USD credit with the same reason is not flagged (each part needs its
    manager here, above 25 USD)."""
    book = _book(request("D-1", "2026-03-02", "-100.00", reason="Late delivery")
                 + request("D-2", "2026-03-04", "-60.00", reason="Late delivery")
                 + request("D-3", "2026-03-04", "-40.00", reason="Late delivery"))
    assert [book.adjustments[i].risk_flags for i in ("D-2", "D-3")] == [(), ()]
    assert [book.adjustments[i].chain for i in ("D-2", "D-3")] == [("manager",)] * 2


# -- what the reviewer sees: who filed what they approve ---------------------------

ENTERED = f"""
{ago(2)} ! "cust_456" "Refund entered for carol" ^ADJ-E
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Because"
  requested-by: "carol"
  entered-by: "alice"
  Income:Sales:Returns  60.00 USD
  Assets:Receivable:Customers  -60.00 USD
"""
"""alice enters a 60 USD credit under carol's name (a CSV row `requested-by: carol`)."""


def _queue_ids(page: str) -> list[str]:
    return re.findall(r'data-adj-row="([^"]+)"', page)


def test_the_queue_names_who_entered_a_request_and_filters_by_them(tmp_path: Path) -> None:
    """Hole: round 14 made the audit trail say "carol (entered by alice)", but the
    queue a reviewer approves from, and the detail page, said "carol" only, and
    `requester=alice` left out what alice entered under carol's name: bob, checking
    alice's credits before approving them, never saw this one was hers too. The
    Requester column and the detail's "Requested by" read `queries.requester_text`,
    and the filter picks every requester (`Request.requesters`), as the checks count
    them."""
    env = Env(tmp_path, extra=ENTERED)
    page = env.get(PAGE).get_data(as_text=True)
    row = page[page.index('data-adj-row="ADJ-E"'):]
    row = row[:row.index("</tr>")]
    assert "<td>carol (entered by alice)</td>" in row
    mine = _queue_ids(env.get(PAGE + "?requester=alice").get_data(as_text=True))
    assert "ADJ-E" in mine
    assert "ADJ-3" not in mine  # bob's own
    assert "ADJ-E" in _queue_ids(env.get(PAGE + "?requester=carol").get_data(as_text=True))
    assert "ADJ-E" in _queue_ids(env.get(PAGE + "?q=entered+by+alice").get_data(as_text=True))
    detail = env.get(PAGE + "?view=detail&id=ADJ-E").get_data(as_text=True)
    assert "<dt>Requested by</dt><dd>carol (entered by alice)</dd>" in detail


def test_the_cli_lists_what_someone_entered_for_others(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + request("ADJ-1", "2026-03-02", "-60.00", by="carol",
                                   extra='entered-by: "alice"')
                    + request("ADJ-2", "2026-03-03", "-70.00", by="frank"))
    listed = CliRunner().invoke(main, ["list", "-f", str(path), "--requester", "alice"])
    assert listed.exit_code == 0, listed.output
    assert "ADJ-1" in listed.output
    assert "ADJ-2" not in listed.output
    assert "carol (entered by alice)" in listed.output
    shown = CliRunner().invoke(main, ["show", "-f", str(path), "ADJ-1"])
    assert "requested by carol (entered by alice) on 2026-03-02" in shown.output


# -- what the reviewer approves: the step the page showed ---------------------------


def _shown(page: str, adj_id: str) -> tuple[str, str]:
    """The digest and step the page's checkbox for `adj_id` posts back."""
    found = re.search(rf'class="adj-select" value="{adj_id}" data-adj-digest="([^"]+)" '
                      r'data-adj-step="([^"]+)"', page)
    assert found is not None, adj_id
    return found.group(1), found.group(2)


def test_an_approve_clicked_on_a_credit_does_not_approve_its_reversal(tmp_path: Path) -> None:
    """Hole: bob's page shows ADJ-2, a pending 60 USD credit, in "To approve". Before
    he clicks, erin approves it (booked) and alice cancels it (a reversal awaiting
    approval). bob's Approve posts the id, `approve` and the request's digest, which
    a cancel does not change: it approved the reversal and moved the money back,
    which his page never showed. The page posts the step it showed
    (`lifecycle.step_shown`, "pending 0/1"); the writer refuses an item that moved on
    ("changed", 409), alone in a batch."""
    env = Env(tmp_path)
    page = env.get(PAGE).get_data(as_text=True)
    digest, step = _shown(page, "ADJ-2")
    other = _shown(page, "ADJ-8")
    assert step == "pending 0/1"
    assert f'data-adj-id="ADJ-2" data-adj-digest="{digest}" data-adj-step="{step}"' in page
    assert env.decide([{"id": "ADJ-2", "action": "approve"}], user="erin").status_code == 200
    cancel = env.decide([{"id": "ADJ-2", "action": "cancel", "reason": "Wrong customer"}],
                        user="alice")
    assert cancel.status_code == 200
    assert env.state("ADJ-2") == "reversing"
    alone = env.decide([{"id": "ADJ-2", "action": "approve", "digest": digest, "step": step}])
    assert alone.status_code == 409, alone.get_json()
    (refused,) = alone.get_json()["refused"]
    assert (refused["code"], refused["status"]) == ("changed", 409)
    assert "awaited pending 0/1, now reversing 0/1" in refused["message"]
    assert env.state("ADJ-2") == "reversing"
    batch = env.decide([
        {"id": "ADJ-2", "action": "approve", "digest": digest, "step": step},
        {"id": "ADJ-8", "action": "approve", "digest": other[0], "step": other[1]}])
    assert batch.status_code == 200
    assert (batch.get_json()["ids"], [r["id"] for r in batch.get_json()["refused"]]) == (
        ["ADJ-8"], ["ADJ-2"])
    assert (env.state("ADJ-2"), env.state("ADJ-8")) == ("reversing", "applied")
    shown = env.get(PAGE).get_data(as_text=True)
    assert _shown(shown, "ADJ-2")[1] == "reversing 0/1"  # its reversal, to approve as such
    (row,) = [r for r in env.get(PAGE + "queue").get_json()["rows"] if r["id"] == "ADJ-2"]
    assert (row["digest"], row["step"]) == (digest, "reversing 0/1")  # for API clients


def test_a_step_that_is_not_text_is_refused(tmp_path: Path) -> None:
    env = Env(tmp_path)
    response = env.decide([{"id": "ADJ-2", "action": "approve", "step": 1}])  # type: ignore[dict-item]
    assert response.status_code == 400
    assert response.get_json()["error"] == "decision 1: step must be text"


def _boxes(page: str, section: str) -> list[tuple[str, bool]]:
    """The checkboxes of one queue section: id and whether select-all may pick it."""
    found = re.search(rf'<section class="adj-section" id="adj-section-{section}".*?</section>',
                      page, re.S)
    assert found is not None, section
    return [(i, allowed == "1") for i, allowed in re.findall(
        r'class="adj-select" value="([^"]+)" [^>]*data-allowed="(1?)"', found.group(0))]


def test_a_selection_holds_only_the_rows_the_page_shows_and_select_all_what_is_yours(
        tmp_path: Path) -> None:
    """Held: a batch is built from the checkboxes on the page, and the page holds
    only the rows of the filter and of each section's page; select-all takes the
    rows marked yours, and what that posts is written in full: the "awaiting me"
    count is the sum of the sections' "you may" counts."""
    env = Env(tmp_path)
    approve = _boxes(env.get(PAGE + "?per_page=2").get_data(as_text=True), "approve")
    second = _boxes(env.get(PAGE + "?per_page=2&page_approve=2").get_data(as_text=True),
                    "approve")
    assert len(approve) == len(second) == 2
    assert not {i for i, _ in approve} & {i for i, _ in second}
    filtered = env.get(PAGE + "?customer=cust_123").get_data(as_text=True)
    assert [i for i, _ in _boxes(filtered, "approve")] == ["ADJ-1"]
    page = env.get(PAGE).get_data(as_text=True)
    card = re.search(r'<span class="n">(\d+)</span><span class="l">awaiting bob', page)
    assert card is not None
    yours = [(i, _shown(page, i)) for s in ("approve", "apply")
             for i, allowed in _boxes(page, s) if allowed]
    assert int(card.group(1)) == len(yours) == 4
    sent = [{"id": i, "digest": d, "step": st,
             "action": "apply" if st.startswith("approved") else "approve"}
            for i, (d, st) in yours]
    body = env.decide(sent).get_json()
    assert (sorted(body["ids"]), body["refused"]) == (sorted(i for i, _ in yours), [])
