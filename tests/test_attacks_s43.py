"""Round 43 of attacks: the tools other than the replay and the CLI, after a reversal.

carol asks for the reversal of a credit bob approved, erin decides it; alice
(who filed it), a user without a role and one whose role was removed meet
the Fava pages, the batch endpoint, stale pages, notifications, `check
--since` and the reports around that reversal. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier round had.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from click.testing import CliRunner
from fava_env import BASE, Env, ago
from repos import BOOK, Repo, check, findings

from beancount_adjustments import notify
from beancount_adjustments.beans.notify_lines import parse_customer_notices
from beancount_adjustments.cli import main
from beancount_adjustments.notify import customers as notify_customers
from beancount_adjustments.reports.statement import statement
from ledgers import BACKDATING, balance, event, load, request
from ledgers import BASE as BASE_LEDGER

# -- the Fava extension ------------------------------------------------------------------

USERS = f"""
{ago(400)} custom "adjustment-user" "frank" "agent"
{ago(400)} custom "adjustment-user" "gina" "manager"
{ago(2)} custom "adjustment-user" "gina"
{ago(400)} custom "adjustment-user" "hank" "finance"
"""
"""frank holds no approver role; gina was a manager until two days ago; hank is
finance as carol is."""


def _ev(adj_id: str, days: int, action: str, by: str, reason: str = "") -> str:
    text = f'{ago(days)} custom "adjustment" "{adj_id}" "{action}"\n  by: "{by}"\n'
    return text + (f'  reason: "{reason}"\n' if reason else "")


BIG = f"""
{ago(30)} ! "cust_456" "Big refund" ^ADJ-9
  adjustment-type: "credit:refund"
  category: "customer-service:goodwill"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  1500.00 USD
  Assets:Receivable:Customers  -1500.00 USD
""" + _ev("ADJ-9", 29, "approve", "erin") + _ev("ADJ-9", 29, "approve", "carol")
"""ADJ-9: alice's 1 500 USD refund, approved by erin (manager) and carol (finance)."""

SCENARIOS = {
    # ADJ-6 (40 USD, alice's, approved by bob): the reversal needs one manager.
    "reversing": ("ADJ-6", _ev("ADJ-6", 18, "cancel", "carol", "Charged twice")),
    "reversed": ("ADJ-6", _ev("ADJ-6", 18, "cancel", "carol", "Charged twice")
                 + _ev("ADJ-6", 17, "approve", "erin")),
    "refused": ("ADJ-6", _ev("ADJ-6", 18, "cancel", "carol", "Charged twice")
                + _ev("ADJ-6", 17, "reject", "erin", "It stands")),
    "asked again": ("ADJ-6", _ev("ADJ-6", 18, "cancel", "carol", "Charged twice")
                    + _ev("ADJ-6", 17, "reject", "erin", "It stands")
                    + _ev("ADJ-6", 16, "cancel", "bob", "Really charged twice")),
    # ADJ-9's reversal, asked for by bob: erin filled its manager level, hank refused
    # it, carol asks again.
    "two levels half way": ("ADJ-9", BIG + _ev("ADJ-9", 18, "cancel", "bob", "Dup")
                            + _ev("ADJ-9", 17, "approve", "erin")),
    "two levels asked again": ("ADJ-9", BIG + _ev("ADJ-9", 18, "cancel", "bob", "Dup")
                               + _ev("ADJ-9", 17, "approve", "erin")
                               + _ev("ADJ-9", 17, "reject", "hank", "It stands")
                               + _ev("ADJ-9", 16, "cancel", "carol", "Dup after all")),
}
STATES = {"reversing": "reversing", "reversed": "reversed", "refused": "applied",
          "asked again": "reversing", "two levels half way": "reversing",
          "two levels asked again": "reversing"}
ACTORS = ("alice", "bob", "carol", "erin", "frank", "gina", "hank", "mallory")
ACTIONS = ("approve", "reject", "apply", "cancel")


def _env(tmp_path: Path, extra: str, name: str = "x") -> Env:
    folder = tmp_path / name
    folder.mkdir()
    return Env(folder, extra=USERS + extra)


def _offered(env: Env, adj_id: str, user: str) -> dict[str, bool]:
    """Action -> allowed, as the detail endpoint offers them to `user`."""
    body = env.get(BASE + f"adjustment?id={adj_id}", user=user).get_json()
    return {a["action"]: a["allowed"] for a in body["adjustment"]["actions"]}


def _try(env: Env, adj_id: str, action: str, user: str, **extra: str) -> Any:
    row = env.get(BASE + f"adjustment?id={adj_id}", user=user).get_json()["adjustment"]
    reason = {"reason": "Because"} if action in ("reject", "cancel") else {}
    return env.decide([{"id": adj_id, "action": action, "step": row["step"],
                        **reason, **extra}], user=user)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_buttons_after_a_reversal_are_what_the_writer_accepts(tmp_path: Path,
                                                                  scenario: str) -> None:
    """Held: for a credit reversing, reversed, refused, asked again (after one refusal,
    after a half-approved reversal was refused), every actor (the canceller, the
    requester, the original's approvers, an approver of the refused reversal, a user
    without the role, one whose role was removed, a stranger) is offered an enabled
    button for exactly the decisions the writer then writes, and a refused one
    leaves the files as they were."""
    adj_id, extra = SCENARIOS[scenario]
    page = _env(tmp_path, extra, "page")
    assert page.ledger.errors == []
    assert page.state(adj_id) == STATES[scenario]
    for user in ACTORS:
        offered = _offered(page, adj_id, user)
        for action in ACTIONS:
            env = _env(tmp_path, extra, f"{user}-{action}")
            before = env.snapshot()
            response = _try(env, adj_id, action, user)
            accepted = response.status_code == 200
            assert accepted == offered.get(action, False), (user, action, offered,
                                                             response.get_json())
            if not accepted:
                assert env.snapshot() == before


def _step(env: Env, adj_id: str, user: str = "erin") -> str:
    row = env.get(BASE + f"adjustment?id={adj_id}", user=user).get_json()["adjustment"]
    return str(row["step"])


BATCHES = [
    # (case, scenario, user, decisions: (action, step given?))
    ("approve the reversal and cancel", "reversing", "erin",
     [("approve", True), ("cancel", True)]),
    ("approve the reversal and cancel, no steps", "reversing", "erin",
     [("approve", False), ("cancel", False)]),
    ("approve the reversal twice", "reversing", "erin", [("approve", True), ("approve", True)]),
    ("approve twice, no steps", "two levels half way", "hank",
     [("approve", False), ("approve", False)]),
    ("approve and refuse", "two levels half way", "hank", [("approve", False),
                                                           ("reject", False)]),
    ("refuse and ask again", "reversing", "erin", [("reject", False), ("cancel", False)]),
    ("refuse and ask again, with steps", "reversing", "erin",
     [("reject", True), ("cancel", True)]),
]


@pytest.mark.parametrize(("case", "scenario", "user", "decisions"), BATCHES,
                         ids=[b[0] for b in BATCHES])
def test_a_batch_takes_one_decision_per_reversal(tmp_path: Path, case: str, scenario: str,
                                                user: str,
                                                decisions: list[tuple[str, bool]]) -> None:
    """Held: a batch naming the same reversal twice (approve + cancel, approve twice,
    approve + refuse, refuse + ask again), with or without the steps the page shows,
    writes the first decision at most: the second is refused (`changed` when it
    names the step shown, the replay's refusal otherwise), and what is written is
    exactly what a page showing the result would still offer."""
    adj_id, extra = SCENARIOS[scenario]
    env = _env(tmp_path, extra)
    step = _step(env, adj_id, user)
    sent = [{"id": adj_id, "action": action, **({"step": step} if with_step else {}),
             **({"reason": "Because"} if action in ("reject", "cancel") else {})}
            for action, with_step in decisions]
    response = env.decide(sent, user=user)
    body = response.get_json()
    if all(with_step for _, with_step in decisions):
        assert body.get("written", 0) <= 1, (case, body)
        assert [r["code"] for r in body["refused"]] == ["changed"], body
    _entries, errors, _options = loader.load_file(str(env.path))
    assert errors == [], (case, body, errors)


STALE = [
    # (case, ledger the page was shown on, what happened since, user, action, step shown)
    ("approve of a refused reversal", "reversing",
     _ev("ADJ-6", 17, "reject", "bob", "It stands")
     + _ev("ADJ-6", 16, "cancel", "alice", "Charged twice after all"), "erin", "approve"),
    ("refuse of a refused reversal", "reversing",
     _ev("ADJ-6", 17, "reject", "bob", "It stands")
     + _ev("ADJ-6", 16, "cancel", "alice", "Charged twice after all"), "erin", "reject"),
    ("second level of a refused reversal", "two levels half way",
     _ev("ADJ-9", 16, "reject", "carol", "It stands")
     + _ev("ADJ-9", 15, "cancel", "bob", "Dup after all")
     + _ev("ADJ-9", 15, "approve", "erin"), "hank", "approve"),
    ("reverse of a credit since reversed", "refused",
     _ev("ADJ-6", 16, "cancel", "bob", "Really") + _ev("ADJ-6", 15, "approve", "erin"),
     "carol", "cancel"),
    ("reverse of a credit whose reversal is asked", "refused",
     _ev("ADJ-6", 16, "cancel", "bob", "Really"), "carol", "cancel"),
]


@pytest.mark.parametrize("stale", STALE, ids=[s[0] for s in STALE])
def test_a_page_shown_before_a_reversal_moved_on_decides_nothing(
        tmp_path: Path, stale: tuple[str, str, str, str, str]) -> None:
    """Held: a button shown for one reversal (or for the credit before its reversal was
    asked) and clicked after that reversal was refused and asked again, or booked,
    is refused `changed` (409) and writes nothing, though the digest is the same
    and the user may take the action on what the adjustment awaits now."""
    _case, shown, since, user, action = stale
    adj_id, extra = SCENARIOS[shown]
    step = _step(_env(tmp_path, extra, "then"), adj_id, user)
    env = _env(tmp_path, extra + since, "now")
    assert env.ledger.errors == []
    assert _step(env, adj_id, user) != step
    before = env.snapshot()
    reason = {"reason": "Because"} if action in ("reject", "cancel") else {}
    response = env.decide([{"id": adj_id, "action": action, "step": step, **reason}],
                          user=user)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "changed"
    assert env.snapshot() == before


HOSTILE = '<img src=x onerror=alert(1)>=HYPERLINK("http://evil")'


def test_a_reversals_reasons_are_escaped_on_the_page_and_in_csv(tmp_path: Path) -> None:
    """Held: the cancel's and the refusal's reasons and comments in a reversal's
    history, hostile HTML and a spreadsheet formula, are escaped on the detail
    page and the queue, and neutralised in the CSV exports (queue, compliance)."""
    hostile = HOSTILE.replace('"', '\\"')
    extra = (f'{ago(18)} custom "adjustment" "ADJ-6" "cancel"\n  by: "carol"\n'
             f'  reason: "{hostile}"\n  comment: "{hostile}"\n'
             f'{ago(17)} custom "adjustment" "ADJ-6" "reject"\n  by: "erin"\n'
             f'  reason: "{hostile}"\n'
             f'{ago(16)} custom "adjustment" "ADJ-6" "cancel"\n  by: "bob"\n'
             f'  reason: "{hostile}"\n')
    env = _env(tmp_path, extra)
    assert env.ledger.errors == []
    for url in ("?view=detail&id=ADJ-6", "?view=queue", "?view=reports"):
        html = env.get(BASE + url, user="erin").get_data(as_text=True)
        assert "<img src=x" not in html, url
    detail = env.get(BASE + "?view=detail&id=ADJ-6", user="erin").get_data(as_text=True)
    assert "&lt;img src=x" in detail
    for report in ("queue", "compliance", "summary"):
        csv_text = env.get(BASE + f"export?report={report}", user="erin").get_data(
            as_text=True)
        for cell in csv_text.replace('"', "").split(","):
            assert not cell.strip().startswith(("=", "+", "@")), (report, cell)


# -- notifications -----------------------------------------------------------------------

SLA = "2026-01-01 custom \"adjustment-policy\" \"credit:*\"\n  sla-days: 3\n"
APPLIED = request("ADJ-1", "2026-03-01", "-50.00") + event("ADJ-1", "2026-03-02", "approve",
                                                         by="bob")
"""ADJ-1: alice's 50 USD refund, booked on bob's approval; its reversal needs a manager."""
ASKED = APPLIED + event("ADJ-1", "2026-03-20", "cancel", by="carol", reason="Mistake")
"""carol (finance) asks for ADJ-1's reversal on 03-20."""


def _notices(text: str, today: str) -> list[Any]:
    loaded = load(SLA + text)
    assert loaded.book is not None
    return [n for n in notify.notices(loaded.book, datetime.date.fromisoformat(today))
            if n.adjustment_id == "ADJ-1"]


def test_a_pending_reversal_is_asked_of_its_approvers_only() -> None:
    """Held: the reversal asked for by carol is asked of the managers who may approve
    it (bob, who approved the credit, and erin) and of `role:manager`; never of
    carol nor of alice, who filed the credit."""
    found = [n for n in _notices(ASKED, "2026-03-21") if n.kind == "reversal-needed"]
    assert sorted(n.recipient for n in found) == ["bob", "erin", "role:manager"]
    assert {n.date for n in found} == {datetime.date(2026, 3, 20)}


def test_a_reversals_escalation_counts_from_the_cancel() -> None:
    """Held: the credit was filed on 03-01; its reversal, asked on 03-20, is not
    overdue on 03-23 (3 days, the SLA) and escalates on 03-24, due 03-24."""
    assert [n for n in _notices(ASKED, "2026-03-23") if n.kind == "escalation"] == []
    late = [n for n in _notices(ASKED, "2026-03-24") if n.kind == "escalation"]
    assert late, "no escalation"
    assert {n.date for n in late} == {datetime.date(2026, 3, 24)}


@pytest.mark.parametrize(("text", "party"), [
    (ASKED, "carol"),
    (request("ADJ-1", "2026-03-20", "-50.00", extra='entered-by: "carol"'), "carol"),
], ids=["the canceller of a reversal", "who entered a request"])
def test_an_escalation_never_goes_to_a_party_of_the_adjustment(text: str, party: str) -> None:
    """Hole: an escalation went to every holder of the role one step up but the
    requester: carol (finance) asked for ADJ-1's reversal, which awaits a manager,
    and its escalation to finance told her it "has waited 4 days", as if she were
    to chase or decide it, though she may never approve it; so was who entered a
    request. Escalations skip every party the rule keeps from approving
    (`permissions.own_duty`: requester, entrant, canceller), as the approval
    notices do; `role:finance` is still told."""
    late = [n for n in _notices(text, "2026-03-24") if n.kind == "escalation"]
    assert "role:finance" in {n.recipient for n in late}, late
    assert party not in {n.recipient for n in late}


def _told(text: str, today: str, kind: str) -> list[str]:
    return sorted(n.recipient for n in _notices(text, today) if n.kind == kind)


@pytest.mark.parametrize(("canceller", "expected"), [("carol", ["alice", "carol"]),
                                                     ("alice", ["alice"])])
def test_a_booked_reversal_is_told_to_who_asked_for_it(canceller: str,
                                                       expected: list[str]) -> None:
    """Hole: once erin's approval booked the reversal, only the requester heard of it,
    and only when someone else had cancelled: carol, who asked for it, never heard
    her reversal was booked (nor refused), and alice, reversing her own credit,
    heard nothing of erin's decision at all. Who asked for a reversal hears it was
    booked or refused, as a requester hears of their request; the one who decided
    is not told of their own act."""
    text = APPLIED + event("ADJ-1", "2026-03-20", "cancel", by=canceller, reason="Mistake")
    # bob, who approved the credit, hears of its reversal too (round 45).
    assert _told(text + event("ADJ-1", "2026-03-21", "approve", by="erin"), "2026-03-22",
                 "reversed") == sorted([*expected, "bob"])
    refused = text + event("ADJ-1", "2026-03-21", "reject", by="erin", reason="It stands")
    assert _told(refused, "2026-03-22", "reversal-refused") == expected
    own = text + event("ADJ-1", "2026-03-21", "reject", by=canceller, reason="Withdrawn")
    assert canceller not in _told(own, "2026-03-22", "reversal-refused")


def test_a_refused_cancel_asks_nobody_for_a_reversal() -> None:
    """Held: frank (an agent, not the requester) may not cancel ADJ-1: his cancel is
    an error, and no one is asked for, chased about or told of a reversal."""
    text = APPLIED + event("ADJ-1", "2026-03-20", "cancel", by="frank", reason="Mistake")
    kinds = {n.kind for n in _notices(text, "2026-04-30")}
    assert not kinds & {"reversal-needed", "escalation", "reversed", "reversal-refused"}


# -- check --since REV: rewriting history around a reversal --------------------------------

CANCEL_1 = '2026-03-05 custom "adjustment" "ADJ-1" "cancel"\n  by: "carol"\n  reason: "Mistake"\n'
REVERSAL_1 = '2026-03-06 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
REFUSAL_1 = ('2026-03-06 custom "adjustment" "ADJ-1" "reject"\n  by: "erin"\n'
             '  reason: "It stands"\n')

REWRITES = [
    # (case, ledger at REV, ledger now, the finding's code, its line: (marker, nth) in
    # the ledger now, or None for the line the decision held at REV)
    ("the reversal's approval removed", CANCEL_1 + REVERSAL_1, CANCEL_1,
     "removed-decision", None),
    ("the reversal's approval given by another", CANCEL_1 + REVERSAL_1,
     CANCEL_1 + REVERSAL_1.replace("erin", "bob"), "edited-decision",
     ('"ADJ-1" "approve"', 1)),
    # Re-dating moves the reversal's booked entry: the approval REV held is gone.
    ("the reversal's approval re-dated", CANCEL_1 + REVERSAL_1,
     CANCEL_1 + REVERSAL_1.replace("2026-03-06", "2026-03-09"), "removed-decision", None),
    ("a refusal turned into an approval", CANCEL_1 + REFUSAL_1, CANCEL_1 + REVERSAL_1,
     "removed-decision", None),
    ("the reversal's cancel re-dated", CANCEL_1 + REVERSAL_1,
     CANCEL_1.replace("2026-03-05", "2026-03-04") + REVERSAL_1, "removed-decision", None),
    ("the cancel deleted: reversed made applied", CANCEL_1 + REVERSAL_1, "",
     "removed-decision", None),
    ("the original's booking moved by effective:", CANCEL_1 + REVERSAL_1,
     CANCEL_1 + REVERSAL_1, "edited-decision", ('"ADJ-1" "approve"', 0)),
    ("the cancel's reason edited", CANCEL_1 + REVERSAL_1,
     CANCEL_1.replace("Mistake", "Customer asked") + REVERSAL_1, "edited-decision",
     ('"ADJ-1" "cancel"', 0)),
    ("a pending reversal's cancel deleted", CANCEL_1, "", "removed-decision", None),
]


@pytest.mark.parametrize("rewrite", REWRITES, ids=[r[0] for r in REWRITES])
def test_check_since_finds_a_rewritten_reversal(
        tmp_path: Path, rewrite: tuple[str, str, str, str, tuple[str, int] | None]) -> None:
    """Held: each rewrite of what REV had decided about a reversal (its approval removed,
    given by another, re-dated; a refusal made an approval; its cancel re-dated or
    deleted, making the reversed credit applied again; the original's booking moved
    by an `effective:` added to the approval that booked it) is a finding with its
    file:line, exit 1, while the plugin itself finds nothing wrong."""
    case, then, now, code, marker = rewrite
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK + then)
    text = BOOK + now
    if case.startswith("the original's booking"):
        text = text.replace('"ADJ-1" "approve"\n  by: "bob"\n',
                            '"ADJ-1" "approve"\n  by: "bob"\n  effective: 2026-03-03\n', 1)
    repo.write(text)
    result = check(repo)
    assert result.exit_code == 1, result.output
    assert "0 errors" in result.stdout, result.output
    found = findings(result, code)
    assert found, result.output
    where = (f"main.beancount:{repo.line(*marker)}: " if marker is not None
             else "(at HEAD)")
    assert any(re.search(r"main\.beancount:\d+: ", f) and where in f for f in found), (
        where, result.output)


# -- reports, exports and the statement after a reversal ---------------------------------

INVOICE = ('2026-02-01 * "cust_456" "Invoice"\n  invoice-id: "INV-1"\n  customer: "cust_456"\n'
           "  Assets:Receivable:Customers  400.00 USD\n  Income:Sales  -400.00 USD\n")
MIXED = (INVOICE
         + request("A-1", "2026-03-01", "-50.00") + event("A-1", "2026-03-02", "approve", "bob")
         + request("A-2", "2026-03-01", "-60.00") + event("A-2", "2026-03-02", "approve", "bob")
         + event("A-2", "2026-03-05", "cancel", "carol", reason="M")
         + event("A-2", "2026-03-06", "approve", "erin")
         + request("A-3", "2026-03-01", "-70.00") + event("A-3", "2026-03-02", "approve", "bob")
         + event("A-3", "2026-03-05", "cancel", "carol", reason="M")
         + request("A-4", "2026-03-01", "-80.00") + event("A-4", "2026-03-02", "approve", "bob")
         + event("A-4", "2026-03-05", "cancel", "carol", reason="M")
         + event("A-4", "2026-03-06", "reject", "erin", reason="No")
         + request("A-5", "2026-03-01", "-10.00")
         + event("A-5", "2026-03-05", "cancel", "alice", reason="M"))
"""cust_456, billed 400: A-1 applied, A-2 reversed (on 03-06), A-3 reversing, A-4's
reversal refused, A-5 (below every threshold) reversed at its cancel: 200 credited."""


def _run(path: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, [args[0], "-f", str(path), *args[1:]],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_reports_count_a_reversed_credit_once_and_agree_with_the_ledger(
        tmp_path: Path) -> None:
    """Held: with credits applied, reversed, reversing, refused and reversed at once,
    the impact report's net on the receivable is the ledger's balance (what bean-query
    sums over Assets:Receivable), the reversals appear once each, the export says
    reversed for exactly the two booked back, and the statement's closing balance,
    before and after the reversal's date, is the ledger's on that day."""
    loaded = load(MIXED)
    assert loaded.errors == []
    receivable = loaded.balance("Assets:Receivable:Customers")
    assert receivable == Decimal("200.00")  # 400 billed, 50 + 70 + 80 credited
    ledger = tmp_path / "main.beancount"
    ledger.write_text(BASE_LEDGER + BACKDATING + MIXED)
    impact = json.loads(_run(ledger, "report", "impact", "--format", "json"))
    [row] = [r for r in impact if r["account"] == "Assets:Receivable:Customers"]
    assert Decimal(row["net"]) == receivable - Decimal("400.00")
    assert Decimal(row["reversed"]) == Decimal("70.00")
    exported = list(csv.DictReader(io.StringIO(_run(ledger, "export", "--format", "csv"))))
    assert {r["id"]: r["state"] for r in exported} == {
        "A-1": "applied", "A-2": "reversed", "A-3": "reversing", "A-4": "applied",
        "A-5": "reversed"}
    assert loaded.book is not None
    for start, end in (("2026-03-01", "2026-03-05"), ("2026-03-06", "2026-03-31")):
        st = statement(loaded.entries, loaded.book, "cust_456",
                       datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
        [section] = st.sections
        upto = [e for e in loaded.entries if e.date <= datetime.date.fromisoformat(end)]
        assert section.closing == balance(upto, "Assets:Receivable:Customers", "USD"), start
        reversals = [ln for ln in section.lines if "A-2" in ln.reference + ln.description
                     and ln.amount > 0]
        assert len(reversals) == (1 if start == "2026-03-06" else 0), section.lines


def test_a_customer_hears_of_a_reversal_only_where_their_type_opts_in() -> None:
    """Held: credits opted into `applied` only: the customer of a reversed credit is
    told it was applied, never that it was reversed (nor of a reversal still asked
    or refused); opted into `reversed` too, they hear it once it is booked."""
    def told(kinds: str, text: str) -> list[str]:
        loaded = load(f'2026-01-01 custom "adjustment-customer-notice" "credit:*" "{kinds}"\n'
                      + text)
        assert loaded.book is not None
        assert loaded.errors == [], loaded.errors
        setup, _wrong = parse_customer_notices(loaded.entries)
        return sorted(n.kind for n in notify_customers.customer_notices(
            loaded.book, datetime.date(2026, 3, 31), setup) if n.adjustment_id == "ADJ-1")
    booked = ASKED + event("ADJ-1", "2026-03-21", "approve", by="erin")
    refused = ASKED + event("ADJ-1", "2026-03-21", "reject", by="erin", reason="No")
    for text in (ASKED, booked, refused):
        assert told("applied", text) == ["customer-applied"]
    assert told("reversed", booked) == ["customer-reversed"]
    assert told("reversed", ASKED) == told("reversed", refused) == []
