"""The tools write and select by the replay's rule (`permissions.denial`).

What the CLI offers (`approve/reject --all-pending`, `queue --awaiting`), what
Fava shows (buttons, "awaiting me") and who notifications tell are exactly
what `permissions.denial` allows, reversals awaiting approval, signatures,
limits and requests entered by someone else included; and what the writer
writes (`at:` with its offset, `entered-by:`, the chain and converted amount
judged) is what the replay then holds the entries to.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from beancount_adjustments import book_of, notify
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import decisions as cli_decisions
from beancount_adjustments.cli import main
from beancount_adjustments.cli.decisions import _chosen
from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import Action, State
from beancount_adjustments.core.permissions import denial
from beancount_adjustments.fava_ext import actions
from beancount_adjustments.fava_ext.index import BookIndex
from beancount_adjustments.reports import queries
from beancount_adjustments.reports.queries import same_currency_only
from beancount_adjustments.writer import (
    Decision,
    NewRequest,
    WriteRefused,
    write_decisions,
    write_requests,
)

TODAY = datetime.date.today()
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
NO_NARROWING: dict[str, str | None] = {"type": None, "category": None, "customer": None,
                                       "below": None}


def d(days: int) -> str:
    return (TODAY - datetime.timedelta(days=days)).isoformat()


def head(start: str, policy: str = "") -> str:
    return f"""plugin "beancount_adjustments"
option "operating_currency" "USD"

{start} open Assets:Receivable:Customers
{start} open Income:Sales:Returns
{start} open Income:Fees
{start} open Expenses:Adjustments:Credits
{start} open Income:Adjustments:Debits

{start} custom "adjustment-user" "alice" "agent"
{start} custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
{start} custom "adjustment-user" "carol" "finance"
{start} custom "adjustment-user" "dave" "cfo"
{start} custom "adjustment-user" "erin" "manager"
{start} custom "adjustment-user" "frank" "agent"
{start} custom "adjustment-customer" "cust_1" "standard"

{start} custom "adjustment-approval" "credit:*"     25.00 USD "manager"
{start} custom "adjustment-approval" "credit:*"   1000.00 USD "manager" "finance"
{start} custom "adjustment-approval" "credit:*"  10000.00 USD "manager" "finance" "cfo"
{start} custom "adjustment-approval" "debit:*"      50.00 USD "manager"
{start} custom "adjustment-policy" "debit:*"
  signatures: "required"
{policy}
"""


def req(adj_id: str, date: str, amount: str, *, by: str = "alice", typ: str = "credit:refund",
        entered_by: str | None = None) -> str:
    number = Decimal(amount)
    sign = -1 if typ.startswith("credit:") else 1
    account = "Income:Sales:Returns" if typ.startswith("credit:") else "Income:Fees"
    extra = f'  entered-by: "{entered_by}"\n' if entered_by else ""
    return (f'{date} ! "cust_1" "Test" ^{adj_id}\n  adjustment-type: "{typ}"\n'
            f'  customer: "cust_1"\n  reason: "Because"\n  requested-by: "{by}"\n{extra}'
            f"  Assets:Receivable:Customers  {sign * number} USD\n"
            f"  {account}  {-sign * number} USD\n\n")


def ev(adj_id: str, date: str, action: str, by: str, reason: str | None = None) -> str:
    text = f'{date} custom "adjustment" "{adj_id}" "{action}"\n  by: "{by}"\n'
    if reason:
        text += f'  reason: "{reason}"\n'
    return text + "\n"


def mixed_ledger() -> str:
    """Pending, reversing, signature-required, over-limit and self-requested items."""
    return head(d(60)) + "".join([
        req("P-SMALL", d(5), "50.00"),                        # a manager
        req("P-BIG", d(5), "2000.00"),                        # manager > finance; bob's limit
        req("P-ENTERED", d(5), "50.00", entered_by="erin"),   # erin entered it
        req("P-BOBS", d(5), "50.00", by="bob"),               # bob requested it
        req("P-SIGNED", d(5), "100.00", typ="debit:fee"),     # needs a signed approval
        req("P-LEVEL2", d(5), "2000.00"), ev("P-LEVEL2", d(4), "approve", "erin"),
        # applied, then cancelled: its reversal awaits a manager, not erin (who cancelled)
        req("R-SMALL", d(9), "50.00"), ev("R-SMALL", d(8), "approve", "bob"),
        ev("R-SMALL", d(2), "cancel", "erin", "Wrong customer"),
        # applied, cancelled by dave; erin gave the reversal's first level: finance next
        req("R-BIG", d(9), "2000.00"), ev("R-BIG", d(8), "approve", "erin"),
        ev("R-BIG", d(8), "approve", "carol"), ev("R-BIG", d(2), "cancel", "dave", "Duplicate"),
        ev("R-BIG", d(1), "approve", "erin"),
    ])


def load_book(path: Path) -> Book:
    _entries, errors, options = loading.load_file(str(path))
    assert errors == [], [e.message for e in errors]
    book = book_of(options)
    assert book is not None
    return book


def run(*args: str, user: str | None = None) -> object:
    full = [*args] + (["--as", user] if user else [])
    return CliRunner().invoke(main, full)


def allowed(book: Book, action: Action, user: str, *, signed: bool = False) -> set[str]:
    return {adj.id for adj in book.adjustments.values()
            if adj.state in (State.PENDING, State.REVERSING)
            and denial(book.rules, adj, action, user, TODAY, signed=signed)
            is None}


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(mixed_ledger())
    return path


def test_the_mixed_ledger_is_what_it_says(mixed: Path) -> None:
    book = load_book(mixed)
    states = {i: str(a.state) for i, a in book.adjustments.items()}
    assert states == {"P-SMALL": "pending", "P-BIG": "pending", "P-ENTERED": "pending",
                      "P-BOBS": "pending", "P-SIGNED": "pending", "P-LEVEL2": "pending",
                      "R-SMALL": "reversing", "R-BIG": "reversing"}
    assert allowed(book, Action.APPROVE, "bob") == {"P-SMALL", "P-ENTERED", "R-SMALL"}
    assert allowed(book, Action.APPROVE, "erin") == {"P-SMALL", "P-BIG", "P-BOBS"}
    assert allowed(book, Action.APPROVE, "carol") == {"P-LEVEL2", "R-BIG"}
    assert allowed(book, Action.APPROVE, "bob", signed=True) == {
        "P-SMALL", "P-ENTERED", "R-SMALL", "P-SIGNED"}


def test_every_tool_offers_exactly_what_the_rule_allows(mixed: Path) -> None:
    book = load_book(mixed)
    index = BookIndex.build(book, rates=same_currency_only)
    rows = notify.notices(book, TODAY)
    for user in USERS:
        for action in (Action.APPROVE, Action.REJECT):
            rule = allowed(book, action, user)
            cli = set(_chosen(book, user, action, narrowing=NO_NARROWING,
                              rates=same_currency_only, on=TODAY))
            fava = {adj.id for adj in book.adjustments.values()
                    for hint in actions.action_hints(index, adj, user, TODAY,
                                                     written=TODAY)
                    if hint.action == str(action) and hint.allowed}
            assert cli == rule, (user, action)
            assert fava == rule, (user, action)
        approvable = allowed(book, Action.APPROVE, user)
        awaiting = {row["id"] for row in json.loads(
            run("queue", "-f", str(mixed), "--awaiting", user, "--json").output)}  # type: ignore[attr-defined]
        mine = {adj.id for adj in book.adjustments.values()
                if actions.is_mine(index, adj, user, TODAY, written=TODAY)}
        told = {n.adjustment_id for n in rows if n.recipient == user
                and n.kind in ("approval-needed", "reversal-needed")}
        assert awaiting == approvable, user
        assert mine == approvable, user
        # Notifications tell who may approve with the CLI, which can sign.
        assert told == allowed(book, Action.APPROVE, user, signed=True), user
        for adj_id in sorted(approvable):
            result = write_decisions(mixed, [Decision(adj_id, Action.APPROVE, by=user)],
                                     dry_run=True)
            assert result.ids == (adj_id,), (user, adj_id)


def test_the_demo_ledger_agrees_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the demo ledger, judged as written the day after (a UTC machine's afternoon,
    `writer.written_today`): the CLI's selection, Fava's buttons and "awaiting me",
    who notify tells to approve, and who each names as eligible (`queries.row`,
    Fava's) are the rule's answer."""
    demo = Path(__file__).resolve().parents[1] / "ledgers" / "demo.beancount"
    _entries, _errors, options = loading.load_file(str(demo))
    book = book_of(options)
    assert book is not None
    on = max(a.request.date for a in book.adjustments.values())
    written = on + datetime.timedelta(days=1)
    monkeypatch.setattr(cli_decisions, "written_today", lambda: written)
    index = BookIndex.build(book, rates=book.rules.rates)
    users = sorted(book.directory.grants)
    waiting = [a for a in index.open_items if a.state in (State.PENDING, State.REVERSING)]
    told = notify.notices(book, on, written=written)
    for user in users:
        for action in (Action.APPROVE, Action.REJECT):
            rule = {adj.id for adj in waiting
                    if denial(book.rules, adj, action, user, on, signed=False,
                              written=written) is None}
            cli = set(_chosen(book, user, action, narrowing=NO_NARROWING,
                              rates=book.rules.rates, on=on))
            fava = {adj.id for adj in index.open_items
                    for hint in actions.action_hints(index, adj, user, on, written=written)
                    if hint.action == str(action) and hint.allowed}
            assert cli == rule == fava, (user, action)
        mine = {adj.id for adj in waiting
                if actions.is_mine(index, adj, user, on, written=written)}
        assert mine == {adj.id for adj in waiting if denial(
            book.rules, adj, Action.APPROVE, user, on, signed=False, written=written) is None}
        # Notify tells who may approve with the CLI, which signs.
        assert {n.adjustment_id for n in told if n.recipient == user and n.kind in (
            "approval-needed", "reversal-needed")} == {adj.id for adj in waiting if denial(
                book.rules, adj, Action.APPROVE, user, on, signed=True,
                written=written) is None}, user
    for adj in waiting:
        rule_named = [user for user in users if denial(
            book.rules, adj, Action.APPROVE, user, on, signed=False, written=written) is None]
        assert actions.eligible_approvers(index, adj, on, written=written) == rule_named
        assert queries.row(adj, book, on, written=written)["eligible"] == rule_named


# -- what the writer writes, and what the replay then holds it to --------------


def test_import_entered_by_bob_cannot_be_approved_by_bob(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)))
    csv = tmp_path / "in.csv"
    csv.write_text("type,customer,amount,currency,reason,external-id,offset-account,"
                   "requested-by\n"
                   "credit:refund,cust_1,50.00,USD,Damaged,crm-1,Income:Sales:Returns,alice\n")
    imported = run("import", "-f", str(ledger), str(csv), user="bob")
    assert imported.exit_code == 0, imported.output  # type: ignore[attr-defined]
    assert 'entered-by: "bob"' in ledger.read_text()
    before = ledger.read_bytes()
    approved = run("approve", "-f", str(ledger), "--all-pending", user="bob")
    assert "nothing to approve" in approved.output  # type: ignore[attr-defined]
    (adj_id,) = load_book(ledger).adjustments
    refused = run("approve", "-f", str(ledger), adj_id, user="bob")
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert "[self-approval]" in refused.output  # type: ignore[attr-defined]
    assert ledger.read_bytes() == before
    assert run("approve", "-f", str(ledger), adj_id, user="erin").exit_code == 0  # type: ignore[attr-defined]


def test_import_needs_an_acting_identity(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)))
    csv = tmp_path / "in.csv"
    csv.write_text("type,customer,amount,currency,reason,external-id,offset-account,"
                   "requested-by\n"
                   "credit:refund,cust_1,50.00,USD,Damaged,crm-1,Income:Sales:Returns,alice\n")
    before = ledger.read_bytes()
    result = run("import", "-f", str(ledger), str(csv))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "who is acting?" in result.output  # type: ignore[attr-defined]
    assert ledger.read_bytes() == before


def test_create_records_who_entered_it_and_what_it_was_judged_at(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)) + f"{d(30)} price EUR 1.10 USD\n")
    created = run("create", "-f", str(ledger), "--type", "credit:refund", "--customer",
                  "cust_1", "--amount", "1000.00 EUR", "--reason", "Damaged",
                  "--offset-account", "Income:Sales:Returns", "--json", user="alice")
    assert created.exit_code == 0, created.output  # type: ignore[attr-defined]
    text = ledger.read_text()
    assert 'entered-by: "alice"' in text
    assert 'chain: "manager > finance"' in text
    assert "judged: 1100.00 USD" in text
    book = load_book(ledger)
    (adj,) = book.adjustments.values()
    assert adj.request.chain == ("manager", "finance")
    assert adj.state is State.PENDING
    # The approval records the chain and the converted amount it was given at.
    assert run("approve", "-f", str(ledger), adj.id, user="erin").exit_code == 0  # type: ignore[attr-defined]
    decision = ledger.read_text().split('"approve"', 1)[1]
    assert 'chain: "manager > finance"' in decision
    assert "judged: 1100.00 USD" in decision
    # A price added afterwards for a day before the request would change what it
    # needs: the request is then invalid (stale-price) instead of judged anew.
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    ledger.write_text(ledger.read_text() + f"\n{tomorrow} price EUR 0.90 USD\n")
    assert load_book(ledger).adjustments[adj.id].state is State.PENDING
    ledger.write_text(ledger.read_text() + f"\n{d(0)} price EUR 1.05 USD\n")
    _entries, errors, _options = loading.load_file(str(ledger))
    assert any("[stale-price]" in str(e.message) for e in errors)


def test_decisions_record_the_local_moment_with_its_offset(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)) + req("P-1", d(1), "50.00"))
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    result = write_decisions(ledger, [Decision("P-1", Action.APPROVE, by="bob")], now=now)
    (at,) = [line.split('"')[1] for line in result.text.splitlines() if "at:" in line]
    assert at == now.astimezone().isoformat(timespec="seconds")
    assert not at.endswith("Z")
    moment = datetime.datetime.fromisoformat(at)
    assert moment.utcoffset() == now.astimezone().utcoffset()
    assert 'chain: "manager"' in result.text
    assert load_book(ledger).adjustments["P-1"].state is State.APPLIED


def test_approve_back_dated_is_refused_unless_the_policy_allows(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(90)) + req("P-1", d(60), "50.00"))
    before = ledger.read_bytes()
    last_month = d(31)
    refused = run("approve", "-f", str(ledger), "P-1", "--date", last_month, user="bob")
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert "[backdated]" in refused.output  # type: ignore[attr-defined]
    assert ledger.read_bytes() == before
    ledger.write_text(head(d(90), policy=f'{d(90)} custom "adjustment-policy" "credit:*"\n'
                                         "  backdate-days: 40\n") + req("P-1", d(60), "50.00"))
    accepted = run("approve", "-f", str(ledger), "P-1", "--date", last_month, user="bob")
    assert accepted.exit_code == 0, accepted.output  # type: ignore[attr-defined]
    book = load_book(ledger)
    assert book.adjustments["P-1"].state is State.APPLIED
    (record,) = book.adjustments["P-1"].history
    assert record.event.at is not None
    assert not record.event.at.endswith("Z")


def test_cancel_of_an_applied_adjustment_awaits_its_reversal(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)) + req("A-1", d(5), "50.00") + ev("A-1", d(4), "approve", "bob"))
    cancelled = run("cancel", "-f", str(ledger), "A-1", "--reason", "Wrong customer",
                    user="erin")
    assert cancelled.exit_code == 0, cancelled.output  # type: ignore[attr-defined]
    assert "now reversing (reversal awaits approval by manager" in cancelled.output  # type: ignore[attr-defined]
    assert load_book(ledger).adjustments["A-1"].state is State.REVERSING
    as_json = json.loads(run("queue", "-f", str(ledger), "--json").output)  # type: ignore[attr-defined]
    assert [(r["id"], r["state"], r["next_role"]) for r in as_json] == [
        ("A-1", "reversing", "manager")]
    assert as_json[0]["eligible"] == ["bob"]  # not erin, who asked for it
    assert "nothing to approve" in run(  # type: ignore[attr-defined]
        "approve", "-f", str(ledger), "--all-pending", user="erin").output
    approved = run("approve", "-f", str(ledger), "--all-pending", "--json", user="bob")
    assert approved.exit_code == 0, approved.output  # type: ignore[attr-defined]
    out = json.loads(approved.output)  # type: ignore[attr-defined]
    assert [(a["id"], a["state"]) for a in out["adjustments"]] == [("A-1", "reversed")]
    assert load_book(ledger).adjustments["A-1"].state is State.REVERSED


def test_cancel_json_says_the_reversal_awaits_approval(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)) + req("A-1", d(5), "50.00") + ev("A-1", d(4), "approve", "bob"))
    result = run("cancel", "-f", str(ledger), "A-1", "--reason", "Wrong", "--json",
                 user="erin")
    out = json.loads(result.output)  # type: ignore[attr-defined]
    (written,) = out["adjustments"]
    assert written["state"] == "reversing"
    assert written["requires"].startswith("reversal awaits approval by manager")


def test_writer_entered_by_counts_as_a_requester(tmp_path: Path) -> None:
    ledger = tmp_path / "main.beancount"
    ledger.write_text(head(d(60)))
    result = write_requests(ledger, [NewRequest(
        type="credit:refund", customer="cust_1", requested_by="alice", reason="Damaged",
        postings=(("Income:Sales:Returns", Decimal("50.00"), "USD"),
                  ("Assets:Receivable:Customers", Decimal("-50.00"), "USD")),
        entered_by="bob")])
    (adj_id,) = result.ids
    with pytest.raises(WriteRefused, match=r"self-approval"):
        write_decisions(ledger, [Decision(adj_id, Action.APPROVE, by="bob")])
