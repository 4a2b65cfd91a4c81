"""Round 49 of attacks: what a reviewer's routine sweep approves.

alice (an agent) files requests and may approve nothing; bob (a manager, limit
1,000 USD) and erin (a manager) clear their queues each morning with `bean-adjust
approve --all-pending --below "500 USD" --as bob` (narrowed by `--type`,
`--customer`, `--category`) and in Fava with "Approve selected". alice shapes her
requests so that the sweep approves what bob would never approve if he looked:
another currency, small receivable moves with large legs, a customer whose id is
another's name, requests filed while the sweep runs, a batch naming one id at two
levels. "Hole:" tests failed on the code they were written against; "Held:" ones held.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments.cli import decisions, main
from beancount_adjustments.core.lifecycle import step_shown
from beancount_adjustments.fava_ext.writes import parse_decisions
from beancount_adjustments.writer import (
    NewRequest,
    WriteRefused,
    write_decisions,
    write_requests,
)
from ledgers import BASE, NAMED, load, request

SWEEP = ("approve", "--all-pending", "--below", "500 USD", "--as", "bob")
JPY = """
2026-01-01 commodity JPY
2026-10-01 price JPY 0.01 USD
2026-11-20 price JPY 0.005 USD
"""
"""JPY was worth a cent when alice filed (2026-11-01); it has halved since."""
GINA = ('2026-01-01 custom "adjustment-user" "gina" "manager"\n'
        '2026-01-01 custom "adjustment-user" "gina" "finance"\n')
"""A user holding both roles of the 1,000 USD chain (manager, then finance)."""


def _ledger(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path


def _run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [args[0], "-f", str(path), *args[1:]],
                              catch_exceptions=False)


def _approved(path: Path) -> list[str]:
    """The ids of the approvals the ledger holds, in file order."""
    book = load(path.read_text(), base=False).book
    assert book is not None
    return sorted(a.id for a in book.adjustments.values() for _ in a.approvals)


def test_below_judges_another_currency_at_the_request_date(tmp_path: Path) -> None:
    """Hole: 90,000 JPY, judged 900 USD on its date (the price the chain and bob's
    limit use), was swept by `--below "500 USD"` at today's price (450 USD): the
    approval written said `judged: 900.00 USD`."""
    path = _ledger(tmp_path, BASE + JPY + request("ADJ-1", "2026-11-01", "-90000",
                                                  currency="JPY"))
    assert load(path.read_text(), base=False).adj("ADJ-1").judged == (
        Decimal("900.00"), "USD")
    before = path.read_bytes()
    result = _run(path, *SWEEP)
    assert result.exit_code == 0, result.output
    assert "nothing to approve" in result.output
    assert path.read_bytes() == before
    listed = _run(path, "queue", "--below", "500 USD", "--json")
    assert listed.output.strip() == "[]", listed.output
    assert _run(path, *SWEEP[:3], "1000 USD", "--as", "bob").exit_code == 0
    assert _approved(path) == ["ADJ-1"]


def test_a_customer_id_that_is_another_customers_name_is_ambiguous(tmp_path: Path) -> None:
    """Hole: the queue names cust_1 "Acme Corp (cust_1)"; alice's invoice names a customer
    whose id is "Acme Corp". `--customer "Acme Corp"` swept her customer's credit
    (the id won) and left cust_1's: now the text that is one customer's id and
    another's name is refused, in one line, and nothing is written."""
    invoice = ('2026-01-06 * "Acme" "Consulting"\n  invoice-id: "INV-2"\n'
               '  customer: "Acme Corp"\n  Assets:Receivable:Customers  300.00 USD\n'
               '  Income:Sales\n')
    path = _ledger(tmp_path, NAMED + invoice
                   + request("ADJ-1", "2026-11-01", "-50", customer="cust_1")
                   + request("ADJ-2", "2026-11-01", "-60", customer="Acme Corp"))
    before = path.read_bytes()
    result = _run(path, "approve", "--all-pending", "--customer", "Acme Corp", "--as", "erin")
    assert result.exit_code == 1, result.output
    assert "customer 'Acme Corp' is ambiguous" in result.output
    assert "cust_1" in result.output
    assert path.read_bytes() == before
    by_id = _run(path, "approve", "--all-pending", "--customer", "cust_1", "--as", "erin")
    assert by_id.exit_code == 0, by_id.output
    assert _approved(path) == ["ADJ-1"]


def test_a_look_alike_customer_is_not_swept(tmp_path: Path) -> None:
    """Held: `--customer cust_123` matches that id exactly; alice's cust_l23 (an l for
    the 1) and a Cyrillic "\u0441ust_123" are left pending."""
    cyrillic = "\u0441ust_123"
    customers = "".join(f'2026-01-01 custom "adjustment-customer" "{c}" "standard"\n'
                        for c in ("cust_l23", cyrillic))
    path = _ledger(tmp_path, BASE + customers
                   + request("ADJ-1", "2026-11-01", "-50", customer="cust_123")
                   + request("ADJ-2", "2026-11-01", "-60", customer="cust_l23")
                   + request("ADJ-3", "2026-11-01", "-70", customer=cyrillic))
    result = _run(path, *SWEEP, "--customer", "cust_123")
    assert result.exit_code == 0, result.output
    assert _approved(path) == ["ADJ-1"]


def test_below_needs_a_currency_and_a_price(tmp_path: Path) -> None:
    """Held: `--below 500` is refused (no currency), `500 usd` too; 450 BTC, with no price
    to USD, is an invalid request nobody may approve; with a price, it is worth
    far more than 500 USD. Nothing is swept."""
    btc = '2026-01-01 commodity BTC\n'
    path = _ledger(tmp_path, BASE + btc + request("ADJ-1", "2026-11-01", "-450",
                                                  currency="BTC"))
    for below in ("500", "500 usd"):
        refused = _run(path, *SWEEP[:3], below, "--as", "bob")
        assert refused.exit_code == 1, refused.output
        assert "--below" in refused.output
    assert "nothing to approve" in _run(path, *SWEEP).output
    path.write_text(path.read_text() + "2026-10-01 price BTC 90000 USD\n")
    assert "nothing to approve" in _run(path, *SWEEP).output
    assert _approved(path) == []


def test_a_small_receivable_move_with_large_legs_is_not_below(tmp_path: Path) -> None:
    """Held: 10 USD on the customer, 5,000 USD moved between two other accounts
    (in USD, or in BTC priced at the request date): what the sweep compares is what
    the request moves, as the chain and limits judge it."""
    for currency, number in (("USD", "5000.00"), ("BTC", "0.05")):
        extra = f"Assets:Bank  {number} {currency}\n  Income:Sales  -{number} {currency}"
        text = (BASE + "2026-01-01 commodity BTC\n2026-10-01 price BTC 100000 USD\n"
                + request("ADJ-1", "2026-11-01", "-10.00"))
        text = text.replace("  Income:Sales:Returns  10.00 USD",
                            f"  Income:Sales:Returns  10.00 USD\n  {extra}")
        path = _ledger(tmp_path, text)
        assert load(text, base=False).adj("ADJ-1").amount.number >= Decimal("5000")
        assert "nothing to approve" in _run(path, *SWEEP).output, currency


def test_a_reversal_is_swept_as_a_reversal_and_said_so(tmp_path: Path) -> None:
    """Held (as documented): `--all-pending` takes a reversal awaiting approval with the
    pending requests; the output names it "approved the reversal of", and every id
    the output says was approved is an approval written, and no other."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-300")
            + '2026-11-02 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
            + '2026-11-03 custom "adjustment" "ADJ-1" "cancel"\n  by: "carol"\n'
            + '  reason: "Duplicate"\n' + request("ADJ-2", "2026-11-04", "-40"))
    path = _ledger(tmp_path, text)
    result = _run(path, *SWEEP)
    assert result.exit_code == 0, result.output
    assert "ADJ-1: approved the reversal of ADJ-1 (level 1 of 1) by bob; now reversed" \
        in result.output
    assert "ADJ-2: approve by bob; now applied" in result.output
    written = path.read_text()[len(text):]
    assert written.count('custom "adjustment"') == 2
    assert '"ADJ-1" "approve"' in written
    assert '"ADJ-2" "approve"' in written


def test_ids_given_twice_and_steps_of_two_levels_approve_one_level(tmp_path: Path) -> None:
    """Held: `approve ADJ-1 ADJ-1` writes one approval; a Fava batch naming ADJ-1 at
    level 1 and level 2 (gina holds both roles) writes the first and refuses the
    second: with both steps named (they chain) by the replay's one-person-one-level
    rule; without steps the batch is refused whole (round 53), nothing written."""
    text = BASE + GINA + request("ADJ-1", "2026-11-01", "-2000")
    path = _ledger(tmp_path, text)
    adj = load(text, base=False).adj("ADJ-1")
    assert step_shown(adj) == "pending 0/2"
    twice = _run(path, "approve", "ADJ-1", "ADJ-1", "--as", "gina")
    assert twice.exit_code == 0, twice.output
    assert path.read_text().count('"ADJ-1" "approve"') == 1
    for steps in (("pending 0/2", "pending 1/2"), (None, None)):
        path.write_text(text)
        body = [{"id": "ADJ-1", "action": "approve", "digest": adj.digest,
                 **({"step": s} if s else {})} for s in steps]
        decided, error = parse_decisions(body, "gina")
        assert error == ""
        if steps[0] is None:
            with pytest.raises(WriteRefused, match="both decide ADJ-1"):
                write_decisions(path, decided, partial=True)
            assert path.read_text() == text
            continue
        result = write_decisions(path, decided, partial=True)
        assert result.ids == ("ADJ-1",)
        [refusal] = result.refused
        assert (refusal.code, refusal.rule) == ("refused", "same-approver"), refusal
        assert path.read_text().count('"ADJ-1" "approve"') == 1


def test_a_batch_body_naming_an_id_not_shown_needs_its_digest(tmp_path: Path) -> None:
    """Held: a batch item with no digest is refused (400, nothing written); one with a
    digest other than the request's is `changed`, while the ticked rows go through;
    bob's own request, ticked by hand, is refused with its reason."""
    text = (BASE + request("ADJ-1", "2026-11-01", "-50")
            + request("ADJ-2", "2026-11-01", "-60")
            + request("ADJ-3", "2026-11-01", "-70", by="bob"))
    path = _ledger(tmp_path, text)
    book = load(text, base=False)
    _none, error = parse_decisions([{"id": "ADJ-2", "action": "approve"}], "bob")
    assert "digest" in error
    body = [{"id": "ADJ-1", "action": "approve", "digest": book.adj("ADJ-1").digest},
            {"id": "ADJ-2", "action": "approve", "digest": "v2-0"},
            {"id": "ADJ-3", "action": "approve", "digest": book.adj("ADJ-3").digest}]
    decided, _ = parse_decisions(body, "bob")
    result = write_decisions(path, decided, partial=True)
    assert result.ids == ("ADJ-1",)
    assert {(r.key, r.code) for r in result.refused} == {("ADJ-2", "changed"),
                                                         ("ADJ-3", "refused")}


def test_step_belongs_to_ids_and_names_the_level(tmp_path: Path) -> None:
    """Held: `--step` with a selection is refused; `--step "pending 1/1"` (another level)
    on a pending 0/1 request is refused, one line, nothing written."""
    path = _ledger(tmp_path, BASE + request("ADJ-1", "2026-11-01", "-50"))
    before = path.read_bytes()
    with_selection = _run(path, *SWEEP, "--step", "pending 0/1")
    assert with_selection.exit_code == 1
    assert "--step" in with_selection.output
    other = _run(path, "approve", "ADJ-1", "--as", "bob", "--step", "pending 1/1")
    assert other.exit_code == 1, other.output
    assert "moved on since it was shown to you" in other.output
    assert path.read_bytes() == before


def test_a_request_filed_during_the_sweep_waits_and_stays_pending(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held: alice files a request while bob's sweep is choosing (under the writer's
    lock): her write waits for the lock, and the sweep approves only what it chose."""
    path = _ledger(tmp_path, BASE + request("ADJ-1", "2026-11-01", "-50"))
    chosen = decisions._chosen
    filed: list[Any] = []

    def file_meanwhile() -> None:
        filed.append(write_requests(path, [NewRequest(
            "credit:refund", "cust_456", "alice", "Late", id="ADJ-9",
            postings=(("Income:Sales:Returns", Decimal("40.00"), "USD"),
                      ("Assets:Receivable:Customers", Decimal("-40.00"), "USD")))]))

    writer = threading.Thread(target=file_meanwhile)

    def choosing(*args: Any, **kwargs: Any) -> list[str]:
        writer.start()
        time.sleep(0.5)  # alice's write is now waiting for the lock
        assert not filed
        return chosen(*args, **kwargs)

    monkeypatch.setattr(decisions, "_chosen", choosing)
    result = _run(path, *SWEEP)
    writer.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert [w.ids for w in filed] == [("ADJ-9",)]
    assert "ADJ-9" not in result.output
    book = load(path.read_text(), base=False)
    assert str(book.adj("ADJ-9").state) == "pending"
    assert _approved(path) == ["ADJ-1"]


def test_a_type_pattern_matches_what_it_says(tmp_path: Path) -> None:
    """Held: `--type credit:goodwill` does not sweep alice's declared look-alike type
    (a Cyrillic o, \u043e), and `--type 'credit:*'` sweeps her declared credit:misc only
    as the credit:* rows judge it (a manager; 2,000 USD needs finance too)."""
    look = "credit:g\u043eodwill"
    declared = "".join(f'2026-01-01 custom "adjustment-type" "{t}"\n'
                       for t in (look, "credit:misc"))
    path = _ledger(tmp_path, BASE + declared
                   + request("ADJ-1", "2026-11-01", "-40", type=look)
                   + request("ADJ-2", "2026-11-01", "-40", type="credit:misc")
                   + request("ADJ-3", "2026-11-01", "-2000", type="credit:misc"))
    exact = _run(path, "approve", "--all-pending", "--type", "credit:goodwill", "--as", "bob")
    assert "nothing to approve" in exact.output, exact.output
    assert _run(path, *SWEEP, "--type", "credit:*").exit_code == 0
    assert _approved(path) == ["ADJ-2"]


def test_an_approve_by_id_binds_to_the_digest_show_printed(tmp_path: Path) -> None:
    """Hole: bob reads `show ADJ-1` (its digest and step); alice then moves its offset
    to another account, same amount, same step. `approve ADJ-1 --step` approved
    what he never read: the CLI had no way to pass the digest Fava and the API
    send. Now `--digest` (one id, not a selection) is refused as changed."""
    text = BASE + request("ADJ-1", "2026-11-01", "-50")
    path = _ledger(tmp_path, text)
    seen = load(text, base=False).adj("ADJ-1").digest
    path.write_text(text.replace("Income:Sales:Returns", "Expenses:Goodwill"))
    before = path.read_bytes()
    result = _run(path, "approve", "ADJ-1", "--as", "bob", "--step", "pending 0/1",
                  "--digest", seen)
    assert result.exit_code == 1, result.output
    assert "ADJ-1 changed since it was shown to you" in result.output
    assert path.read_bytes() == before
    for misuse in (("ADJ-1", "ADJ-2"), ("--all-pending",)):
        refused = _run(path, "approve", *misuse, "--as", "bob", "--digest", seen)
        assert refused.exit_code == 1, refused.output
        assert "--digest" in refused.output
    now = load(path.read_text(), base=False).adj("ADJ-1").digest
    assert _run(path, "approve", "ADJ-1", "--as", "bob", "--digest", now).exit_code == 0
    assert _approved(path) == ["ADJ-1"]
