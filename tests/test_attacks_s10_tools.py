"""Tenth round of attacks (issues 11 and 14): the tools around the ledger.

Fava's endpoints, the Python API, intake and notifications, tried as someone who
wants money out without the approvals, to act as someone else, or to make a
reviewer approve what they did not see. A test whose docstring says "Hole:"
failed on the code it was written against (the fix is named in the commit that
added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, CREATE_EXTRA, START, Env, ago

from beancount_adjustments import api
from beancount_adjustments.intake.csv_rows import COLUMNS, read_rows
from ledgers import TOOLS_BASE, load, request

CREATE = BASE + "create"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: what follows it reads backwards


pytestmark = pytest.mark.usefixtures("poll_watcher")


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=CREATE_EXTRA)


def _post(env: Env, body: str | dict[str, Any], user: str = "alice") -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return env.client.post(CREATE, data=data, content_type="application/json",
                           headers={"X-Remote-User": user})


REFUND = {"customer": "cust_456", "type": "credit:refund", "reason": "Damaged item",
          "amount": "30.00 USD"}


# -- what the reviewer reads -----------------------------------------------------------


@pytest.mark.parametrize("field", ["reason", "notes", "ticket", "external_id"])
@pytest.mark.parametrize("char", [RLO, "\u2067"])  # an override; a right-to-left isolate
def test_a_bidi_control_never_reaches_the_ledger_through_post_create(
        env: Env, field: str, char: str) -> None:
    """Hole: a reason "Goodwill {RLO}DSU 00.5" was filed as written; every page,
    export and e-mail shows it as "Goodwill 5.00 USD" while the request holds
    other text, so the reviewer reads what was not written (Trojan Source)."""
    before = env.snapshot()
    body = {**REFUND, field: f"Goodwill {char}DSU 00.5"}
    response = _post(env, body)
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert answer["code"] == "invalid"
    assert f"U+{ord(char):04X}" in answer["message"]
    assert "bidirectional" in answer["message"]
    assert env.snapshot() == before


def test_a_bidi_control_in_a_decisions_comment_is_refused(env: Env) -> None:
    """Hole: a comment or reason on a decision is shown in the timeline and the
    customer's notice: a bidi override there reads as other words too."""
    before = env.snapshot()
    response = env.decide([{"id": "ADJ-2", "action": "approve",
                            "comment": f"ok {RLO}detcejer"}])
    answer = response.get_json()
    assert response.status_code == 422, answer
    assert "U+202E" in answer["refused"][0]["message"]
    assert env.snapshot() == before


def test_a_hand_written_reason_with_a_bidi_control_is_bad_metadata() -> None:
    """Hole: the plugin read a hand-written (or Stripe-imported) reason holding a
    bidi override as any other text; it refuses it as the writer does."""
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", reason=f"Refund {RLO}DSU 0001"))
    bad = [e for e in loaded.errors if "[bad-metadata]" in e.message]
    assert len(bad) == 1, loaded.errors
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in bad[0].message
    assert loaded.book is not None
    assert "ADJ-1" not in loaded.book.adjustments
    assert not loaded.tagged("adjustment", "ADJ-1")


def test_a_csv_row_with_a_bidi_control_writes_nothing(tmp_path: Path) -> None:
    """Hole (the same rule): a CSV cell's bidi override reached the ledger."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main

    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE, encoding="utf-8")
    rows = tmp_path / "rows.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id\n"
                    f"credit:refund,cust_123,10.00,USD,Refund {RLO}DSU 0001,x-1\n",
                    encoding="utf-8")
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["import", "-f", str(path), "--as", "alice", str(rows)])
    assert result.exit_code == 1
    assert "line 2: the reason holds the bidirectional control U+202E" in result.output
    assert path.read_bytes() == before


def test_the_api_refuses_a_bidi_control_with_the_same_message(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE, encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(api.ApiError, match="U\\+202E RIGHT-TO-LEFT OVERRIDE"):
        api.create(path, customer="cust_123", type="credit:refund", amount="10.00 USD",
                   reason=f"Refund {RLO}DSU 0001", as_user="alice")
    assert path.read_bytes() == before


# -- the body of POST create -----------------------------------------------------------


@pytest.mark.parametrize(("amount", "says"), [
    ('"NaN"', "not a number"), ("NaN", "not a number"), ('"Infinity"', "not a number"),
    ('"1e3"', "not a number"), ("-30", "positive"), ('"-30 USD"', "positive"),
    ('"30 usd"', "not a currency"), ('"0"', "zero"), ('"0.001"', "decimals"),
    ('"30 USD"', None),
])
def test_post_create_reads_an_amount_strictly(env: Env, amount: str, says: str | None) -> None:
    """Held: no NaN, infinity, sign or sub-cent amount slips past the thresholds; a
    credit is positive (its direction is the type's) and nothing is rounded."""
    before = env.snapshot()
    body = ('{"customer": "cust_456", "type": "credit:refund", "reason": "r", '
            f'"amount": {amount}}}')
    response = _post(env, body)
    answer = response.get_json()
    if says is None:
        assert response.status_code == 201, answer
        assert answer["state"] == "pending"  # 30 USD: above the manager's 25 USD row
        return
    assert response.status_code == 400, answer
    assert answer["code"] == "invalid"
    assert says in answer["message"]
    assert env.snapshot() == before


@pytest.mark.parametrize("flag", ['"false"', '"true"', "0", "1", "null"])
def test_approval_required_is_only_true_or_false(env: Env, flag: str) -> None:
    """Held: `"approval_required": "false"` (a truthy string) is neither read as
    true nor as false: refused, nothing filed."""
    before = env.snapshot()
    response = _post(env, '{"customer": "cust_456", "type": "credit:refund", "reason": "r", '
                          f'"amount": "5 USD", "approval_required": {flag}}}')
    assert response.status_code == 400
    assert response.get_json()["message"] == "approval_required must be true or false"
    assert env.snapshot() == before


# -- batches -------------------------------------------------------------------------------


def test_the_same_id_twice_in_a_batch_is_one_approval(tmp_path: Path) -> None:
    """Held: erin, manager and finance, sends ADJ-5 (2,000 USD: manager then finance)
    twice in one batch; never both levels by one person. With the steps of the two
    levels one approval is written and the second refused `same-approver`; without
    steps the batch is refused whole (round 53: a batch decides an adjustment once)."""
    env = Env(tmp_path, extra=f'{START} custom "adjustment-user" "erin" "finance"\n')
    response = env.decide([{"id": "ADJ-5", "action": "approve"},
                           {"id": "ADJ-5", "action": "approve"}], user="erin")
    assert response.status_code == 422, response.get_json()
    assert "both decide ADJ-5" in response.get_json()["message"]
    assert '"ADJ-5" "approve"' not in env.path.read_text(encoding="utf-8")
    response = env.decide([{"id": "ADJ-5", "action": "approve", "step": "pending 0/2"},
                           {"id": "ADJ-5", "action": "approve", "step": "pending 1/2"}],
                          user="erin")
    answer = response.get_json()
    assert response.status_code == 200, answer
    assert answer["written"] == 1
    assert [r["id"] for r in answer["refused"]] == ["ADJ-5"]
    assert "[same-approver]" in answer["refused"][0]["message"]
    assert env.state("ADJ-5") == "pending"
    assert env.path.read_text(encoding="utf-8").count('"ADJ-5" "approve"') == 1


# -- a key given twice ------------------------------------------------------------------


def test_post_create_refuses_a_field_given_twice(env: Env) -> None:
    """Hole: `{"amount": "10 USD", ..., "amount": "900 USD"}` filed 900 USD: Python keeps
    the last of repeated keys where a gateway or the ticket system's log keeps the
    first, so what was checked upstream (10 USD) was not what was filed. "A repeated
    field is refused" held only for two spellings of one field."""
    before = env.snapshot()
    response = _post(env, '{"customer": "cust_456", "type": "credit:refund", "reason": "r", '
                          '"amount": "10 USD", "amount": "900 USD"}')
    assert response.status_code == 400
    body = response.get_json()
    assert (body["ok"], body["code"], body["message"]) == (
        False, "invalid", "the body gives 'amount' twice in one object")
    assert env.snapshot() == before


def test_decide_refuses_an_action_given_twice(env: Env) -> None:
    """Hole: a decision `{"action": "reject", "reason": "no", "action": "approve"}` was
    written as an approval: whatever read the first `action` saw a rejection."""
    before = env.snapshot()
    body = ('{"decisions": [{"id": "ADJ-2", "action": "reject", "reason": "no", '
            f'"action": "approve", "digest": "{env.digest("ADJ-2")}"}}]}}')
    response = env.client.post(BASE + "decide", data=body, content_type="application/json",
                               headers={"X-Remote-User": "bob"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "the body gives 'action' twice in one object"
    assert env.snapshot() == before
    assert env.state("ADJ-2") == "pending"


# -- customers that read as another -------------------------------------------------------

# A second customer whose name reads as Acme Corp's (a Cyrillic A, U+0410), with a credit pending.
NAMESAKE = f"""
{START} custom "adjustment-customer" "cust_999" "vip"
  name: "\u0410cme Corp"
{ago(1)} ! "cust_999" "Goodwill" ^ADJ-N
  adjustment-type: "credit:refund"
  category: "customer-service:goodwill"
  customer: "cust_999"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  900.00 USD
  Assets:Receivable:Customers  -900.00 USD
"""


def _shown(html: str, customer: str) -> str:
    """The text of the first customer label for `customer` on a page."""
    start = html.index(f'<span class="adj-customer" title="{customer}">')
    return re.sub(r"<[^>]+>", "", html[start:html.index("</span></", start) + 7])


@pytest.mark.parametrize("view", ["", "?view=detail&id=ADJ-N", "?view=reports"])
def test_a_customer_whose_name_reads_as_another_is_shown_with_its_id(
        tmp_path: Path, view: str) -> None:
    """Hole: the queue, the detail page and the compliance table named cust_999
    "\\u0410cme Corp" (a Cyrillic A), its id only on hover: a reviewer approving from the
    queue took a 900 USD credit to a customer declared yesterday for one to Acme Corp.
    Both customers are now shown with their ids beside the name."""
    env = Env(tmp_path, extra=NAMESAKE)
    html = env.get(BASE + view).get_data(as_text=True)
    assert _shown(html, "cust_999") == "\u0410cme Corp (cust_999)"
    if view != "?view=detail&id=ADJ-N":
        assert _shown(html, "cust_123") == "Acme Corp (cust_123)"


def test_a_customer_with_a_name_of_its_own_keeps_the_id_on_hover(env: Env) -> None:
    html = env.get(BASE).get_data(as_text=True)
    assert '<span class="adj-customer" title="cust_123">Acme Corp</span>' in html


# -- intake ----------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["entered-by", "Entered_By", "approval-required", "at",
                                    "judged", "chain", "digest", "adjustment-id", "by"])
def test_a_csv_column_that_would_set_a_control_field_is_refused(column: str) -> None:
    """Held: the CSV import writes `entered-by:` (who ran it), `at:` and the judged
    amount itself; a column naming one of them (in any spelling the header reader
    folds) is an unknown column and no row is read."""
    rows, errors = read_rows("type,customer,amount,currency,reason,external-id,"
                             f"{column}\ncredit:refund,cust_123,10.00,USD,r,x-1,bob\n")
    assert rows == []
    assert [str(e) for e in errors] == [
        f"line 1: unknown column(s) {column!r}; the columns are "
        + ", ".join(COLUMNS)]


def test_a_stripe_row_whose_amount_is_not_a_number_refuses_the_file(tmp_path: Path) -> None:
    """Hole: a Stripe row with amount `NaN` or `Infinity` became a request printed
    as `NaN USD`, which Beancount cannot parse. Such a row was then skipped; now it
    refuses the file, naming the row, as any row that does not read (a refund left
    out of the import unseen is money nobody follows up)."""
    from beangulp.exceptions import Error as BeangulpError

    from beancount_adjustments.intake.stripe_import import StripeImporter

    for amount in ("NaN", "-Infinity"):
        export = tmp_path / "stripe.csv"
        export.write_text("id,type,amount,currency,status,customer id,created (utc)\n"
                          "re_3,refund,12.50,usd,succeeded,cus_1,2026-11-01\n"
                          f"re_1,refund,{amount},usd,succeeded,cus_1,2026-11-01\n",
                          encoding="utf-8")
        with pytest.raises(BeangulpError) as raised:
            StripeImporter(requested_by="alice", customers={"cus_1": "cust_123"},
                           entered_by="alice").extract(str(export), [])
        assert str(raised.value) == (
            f"{export}:3: Amount and Currency: {amount!r} is not a number: write it like "
            "1234.56 or 1,234.56; nothing extracted from this file")


def test_an_automation_feed_splitting_credits_for_one_customer_is_flagged(
        tmp_path: Path) -> None:
    """Held: a support feed naming six tickets of one customer that breached today asks
    for six 10 USD service credits, each under the 25 USD manager threshold; with a
    `splitting` risk row the third onwards (together past 25 USD) wait for a manager."""
    import datetime

    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    from ledgers import load_file

    today = datetime.date.today()
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE + """
2024-01-01 open Expenses:Service-Credits
2024-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"
  risk: "splitting"
2024-01-01 custom "adjustment-rule" "sla-credit" "sla-credit"
  tickets: "tickets.csv"
  amount: 10.00 USD
  account: "Expenses:Service-Credits"
  receivable: "Assets:Receivable:Customers"
  type: "credit:refund"
""", encoding="utf-8")
    (tmp_path / "tickets.csv").write_text(
        "id,customer,opened,resolved,sla-hours\n"
        + "".join(f"T{i},cust_123,{today}T00:00:00,,1\n" for i in range(6)),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["automate", "-f", str(path), "--as", "alice",
                                       "--through", today.isoformat()])
    assert result.exit_code == 0, result.output
    book = load_file(path).book
    assert book is not None
    states = [str(a.state) for a in sorted(book.adjustments.values(), key=lambda a: a.id)]
    assert states == ["applied"] * 2 + ["pending"] * 4
