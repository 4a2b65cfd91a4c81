"""Round 23: the extension used as a person would, in headless Chromium, on the
demo dated to today (what `make demo` serves). Each test is something a
demanding user saw and the page got wrong: the queue squeezed to illegible
columns on an 800 px window, two tabs lit at once, a disabled button whose
reason did not say which of two things you did, numeric headers in the
numbers' monospace, charts wider than an 800 px window, and an empty "File
request" that left the focus on the button. Screenshots go to
artifacts/screenshots/ui-s23/.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import act_as, playwright, shots
from fava_server import serve

from beancount_adjustments.demo import generate_ledger

SHOTS = shots("ui-s23")
sync_api = playwright()


@pytest.fixture(scope="module")
def fava(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ledger = tmp_path_factory.mktemp("ui-s23") / "demo.beancount"
    ledger.write_text(generate_ledger(today=datetime.date.today()), encoding="utf-8")
    for url, path in serve(ledger):
        yield url.replace("/test-ledger/", "/brightwave-analytics-demo/"), path


def fits(tab: Any) -> tuple[int, int]:
    """Fava's main column (it scrolls, not the page): its scroll and client widths."""
    found = tab.evaluate("() => { const a = document.querySelector('article');"
                         " return [a.scrollWidth, a.clientWidth]; }")
    return int(found[0]), int(found[1])


def test_queue_on_an_800px_window_scrolls_its_table_instead_of_crushing_it(
        fava: tuple[str, Path], page: Any) -> None:
    """At 800 px the ten columns had ~60 px each: ids ran over the ages, amounts and
    amounts broke mid-number ("1,968.2 / 6 USD"), "overdue" split in two. The table
    keeps readable columns and scrolls in its own box; the page does not."""
    url, _ = fava
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(url)
    act_as(page, "bob")
    rows = page.locator("#adj-queue tr[data-adj-row]")
    sync_api.expect(rows.first).to_be_visible()
    overlaps = page.evaluate(r"""() => Array.from(document.querySelectorAll(
        '#adj-queue tr[data-adj-row]')).slice(0, 10).flatMap((row) => {
          const cell = row.querySelector('td.id'), link = cell.querySelector('a');
          const c = cell.getBoundingClientRect(), l = link.getBoundingClientRect();
          const amount = row.querySelectorAll('td.num')[1];
          // the number alone (the currency may go to the next line, the digits not)
          const text = amount.firstChild, range = document.createRange();
          range.setStart(text, text.textContent.search(/\S/));
          range.setEnd(text, text.textContent.indexOf(' ', text.textContent.search(/\S/)));
          const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
          return [l.right > c.right + 0.5 ? row.dataset.adjRow + ': id overflows' : '',
                  lines.size > 1 ? row.dataset.adjRow + ': number broken' : ''].filter(Boolean);
        })""")
    page.screenshot(path=str(SHOTS / "queue-800.png"))
    assert overlaps == []
    box = page.evaluate("() => { const b = document.querySelector('.adj-scroll');"
                        " return [b.scrollWidth, b.clientWidth]; }")
    assert box[0] > box[1]  # the table scrolls in its box
    scroll, client = fits(page)
    assert scroll <= client
    assert page.errors == []


def test_awaiting_me_lights_one_tab(fava: tuple[str, Path], page: Any) -> None:
    """On "Awaiting me" both Queue and Awaiting me were highlighted."""
    url, _ = fava
    page.goto(url + "?mine=1")
    act_as(page, "grace")
    active = page.locator(".adj-tabs a.active")
    sync_api.expect(active).to_have_count(1)
    sync_api.expect(active).to_have_text("Awaiting me")
    assert active.get_attribute("aria-current") == "page"
    page.goto(url)
    sync_api.expect(page.locator(".adj-tabs a.active")).to_have_count(1)
    assert (page.locator(".adj-tabs a.active").text_content() or "").startswith("Queue")
    page.goto(url + "?view=reports")
    sync_api.expect(page.locator('.adj-tabs a[aria-current="page"]')).to_have_text("Reports")


def _reversals(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(url + "queue?per_page=200") as answer:
        rows = json.load(answer)["rows"]
    return [r for r in rows if r["section"] == "reversal"]


def test_a_disabled_reversal_button_says_which_duty_you_hold(
        fava: tuple[str, Path], page: Any) -> None:
    """The canceller read "you requested it or asked for its reversal", and a finance
    user "needs one of manager": say which, in words."""
    url, ledger = fava
    text = ledger.read_text(encoding="utf-8")
    cancellers = {m.group(1): m.group(2) for m in re.finditer(
        r'custom "adjustment" "(ADJ-[\d-]+)" "cancel"\n  by: "(\w+)"', text)}
    rows = _reversals(url)

    def entered_by(adj_id: str) -> str:
        block = text[text.index(f"^{adj_id}\n"):].split("\n\n", 1)[0]
        found = re.search(r'entered-by: "(\w+)"', block)
        return found.group(1) if found else ""

    row = next(r for r in rows if cancellers.get(r["id"]) not in
               (None, r["requested_by"], entered_by(r["id"])))
    who = cancellers[row["id"]]
    page.goto(url + f"?view=detail&id={row['id']}")
    act_as(page, who)
    why = page.locator('.adj-actions [data-why-for="approve"]')
    sync_api.expect(why).to_have_text("you asked for its reversal (segregation of duties)")

    managers_only = next(r for r in rows if r["next_role"] == "manager" and r["needed"] == 1)
    page.goto(url + f"?view=detail&id={managers_only['id']}")
    act_as(page, "carol")  # finance: not in a manager-only chain
    sync_api.expect(page.locator('.adj-actions [data-why-for="reject"]')).to_have_text(
        "needs a manager")
    page.screenshot(path=str(SHOTS / "reversal-reasons.png"))


def test_numeric_column_headers_are_set_as_words(fava: tuple[str, Path], page: Any) -> None:
    """"Days to decision", "Amount", "Age" were set in the numbers' monospace."""
    url, _ = fava
    page.goto(url + "?view=reports")
    fonts = page.evaluate("""() => ['#adj-compliance', '#adj-impact-totals'].map((t) => [
        getComputedStyle(document.querySelector(t + ' th.num')).fontFamily,
        getComputedStyle(document.querySelector(t + ' th:not(.num)')).fontFamily,
        getComputedStyle(document.querySelector(t + ' td.num')).fontFamily])""")
    for header, word, number in fonts:
        assert header == word
        assert number != word  # the numbers stay tabular
    page.goto(url)
    queue = page.evaluate("""() => [
        getComputedStyle(document.querySelector('#adj-queue th.num')).fontFamily,
        getComputedStyle(document.querySelector('#adj-queue th:not(.num)')).fontFamily]""")
    assert queue[0] == queue[1]


def test_reports_fit_an_800px_window(fava: tuple[str, Path], page: Any) -> None:
    """The chart boxes kept a 620 px minimum inside a 598 px column."""
    url, _ = fava
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(url + "?view=reports")
    sync_api.expect(page.locator("svg.adj-chart").first).to_be_visible()
    scroll, client = fits(page)
    page.screenshot(path=str(SHOTS / "reports-800.png"))
    assert scroll <= client
    assert page.errors == []


def test_filing_an_empty_request_puts_the_focus_on_what_is_missing(
        fava: tuple[str, Path], page: Any) -> None:
    url, _ = fava
    page.goto(url + "?view=new")
    act_as(page, "alice")
    page.click("#adj-new-submit")
    sync_api.expect(page.locator("#adj-new-error")).to_have_text(
        "Fill in customer, type, amount, reason first.")
    assert page.evaluate("document.activeElement.id") == "adj-new-customer"
    page.fill("#adj-new-customer", "cust_1030")
    page.click("#adj-new-submit")
    assert page.evaluate("document.activeElement.id") == "adj-new-type"
    assert page.errors == []


def test_required_fields_are_not_red_before_anyone_typed_in_them(
        fava: tuple[str, Path], page: Any) -> None:
    """Fava paints every invalid input red: the empty form opened with its
    required fields in the error colour before the agent had typed anything.
    Red once the field was left wrong (`:user-invalid`), not before."""
    url, _ = fava
    page.goto(url + "?view=new")
    act_as(page, "alice")
    border = "(id) => getComputedStyle(document.getElementById(id)).borderTopColor"
    plain = page.evaluate(border, "adj-new-invoice")  # an optional field
    for field in ("adj-new-customer", "adj-new-amount", "adj-new-reason"):
        assert page.evaluate(border, field) == plain, field
    page.screenshot(path=str(SHOTS / "new-untouched.png"))
    page.fill("#adj-new-amount", "12abc")
    page.click("#adj-new-reason")  # leaves the amount as typed
    assert page.evaluate(border, "adj-new-amount") != plain
    page.screenshot(path=str(SHOTS / "new-amount-left-wrong.png"))
    assert page.errors == []


def test_the_preview_says_when_the_request_books_and_a_year_far_ahead(
        fava: tuple[str, Path], page: Any) -> None:
    """An `effective:` of 2030 (a year typed wrong) was accepted without a word:
    the preview now says when it books, counted from today, and asks about a day
    more than a year ahead."""
    url, _ = fava
    page.goto(url + "?view=new")
    act_as(page, "alice")
    page.fill("#adj-new-customer", "cust_1030")
    page.select_option("#adj-new-type", "credit:refund")
    page.fill("#adj-new-amount", "20.00")
    page.fill("#adj-new-reason", "Damaged item")
    preview = page.locator("#adj-new-preview")
    sync_api.expect(preview).to_contain_text("Books on")
    sync_api.expect(preview).to_contain_text("the day it is applied")
    ahead = (datetime.date.today() + datetime.timedelta(days=800)).isoformat()
    page.fill("#adj-new-effective", ahead)
    sync_api.expect(preview).to_contain_text(f"{ahead} (in 800 days)")
    sync_api.expect(preview).to_contain_text("more than a year ahead")
    page.screenshot(path=str(SHOTS / "new-effective-ahead.png"), full_page=True)
    assert page.errors == []
