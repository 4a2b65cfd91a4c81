"""Risk checks: each check on a tiny ledger that triggers it and one that doesn't,
the arrival flags feeding the approval matrix, configuration, and the CLI."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from textwrap import dedent

from beancount import loader
from click.testing import CliRunner

from beancount_adjustments import book_of
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import OPEN_STATES
from beancount_adjustments.reports import risk
from ledgers import DEMO, event, ledger, load, request


def found(text: str, check: str, as_of: str | None = None) -> list[risk.Finding]:
    loaded = load(text)
    assert loaded.book is not None
    assert not loaded.errors, loaded.errors
    day = datetime.date.fromisoformat(as_of) if as_of else None
    return [f for f in risk.findings(loaded.book, day) if f.check == check]


# -- threshold alerts -------------------------------------------------------------

ALERT = """
2026-01-01 custom "adjustment-alert" "customer" 100.00 USD
  period: "month"
"""


def test_alert_per_customer_and_month_triggers():
    text = ALERT + request("A-1", "2026-03-02", "-60.00") + request(
        "A-2", "2026-03-20", "-50.00", reason="Other")
    (finding,) = found(text, "alert:customer")
    assert finding.ids == ("A-1", "A-2")
    assert finding.subject == "cust_456"
    assert "110.00 USD in 2026-03" in finding.message
    assert "100.00 USD per month" in finding.message


def test_alert_does_not_trigger_across_months_or_other_currency():
    text = ALERT + request("A-1", "2026-03-02", "-60.00") + request(
        "A-2", "2026-04-01", "-50.00", reason="Other") + request(
        "A-3", "2026-03-03", "-0.50", reason="Euro", currency="USD")
    assert found(text, "alert:customer") == []


def test_alert_per_requester_counts_only_listed_states():
    text = dedent("""
    2026-01-01 custom "adjustment-alert" "requester" 100.00 USD
      period: "year"
      states: "applied"
    """) + request("A-1", "2026-03-02", "-80.00") + request(
        "A-2", "2026-04-01", "-80.00", reason="Other")
    # both wait for a manager: pending, not applied, so no alert
    assert found(text, "alert:requester") == []
    approved = text + event("A-1", "2026-04-02", "approve", "bob") + event(
        "A-2", "2026-04-02", "approve", "bob")
    (finding,) = found(approved, "alert:requester")
    assert finding.subject == "alice"
    assert "160.00 USD in 2026" in finding.message


# -- splitting ----------------------------------------------------------------------

def test_splitting_triggers_when_small_requests_reach_the_threshold():
    # the lowest credit threshold for a standard customer is 25.00 USD
    text = request("S-1", "2026-03-02", "-20.00", reason="Refund part 1") + request(
        "S-2", "2026-03-05", "-15.00", reason="Refund part 2")
    (finding,) = found(text, "splitting")
    assert finding.ids == ("S-1", "S-2")
    assert "alice filed 2 requests for cust_456 within 7 days" in finding.message
    assert "threshold of 25.00 USD, together 35.00 USD" in finding.message


def test_splitting_does_not_trigger_outside_the_window_or_for_another_requester():
    text = request("S-1", "2026-03-02", "-20.00", reason="Part 1") + request(
        "S-2", "2026-03-12", "-15.00", reason="Part 2") + request(
        "S-3", "2026-03-13", "-15.00", reason="Part 3", by="frank")
    assert found(text, "splitting") == []


def test_splitting_flag_sends_the_request_up_the_risk_row():
    text = dedent("""
    2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager" "finance"
      risk: "splitting"
    """) + request("S-1", "2026-03-02", "-20.00", reason="Part 1") + request(
        "S-2", "2026-03-05", "-15.00", reason="Part 2")
    loaded = load(text)
    assert not loaded.errors
    first, second = loaded.adj("S-1"), loaded.adj("S-2")
    assert first.state.value == "applied"
    assert first.risk_flags == ()
    assert second.risk_flags == ("splitting",)
    assert second.state.value == "pending"
    assert second.chain == ("manager", "finance")


def test_declared_risk_metadata_is_kept_with_computed_flags():
    text = request("R-1", "2026-03-02", "-10.00", extra='risk: "manual-review"')
    assert load(text).adj("R-1").risk_flags == ("manual-review",)


# -- duplicates ---------------------------------------------------------------------

def test_duplicates_trigger_on_same_customer_amount_and_reason():
    text = request("D-1", "2026-03-02", "-80.00", reason="Damaged  item") + request(
        "D-2", "2026-03-20", "-80.00", reason="damaged item")
    (finding,) = found(text, "duplicates")
    assert finding.ids == ("D-1", "D-2")
    assert load(text).adj("D-2").risk_flags == ("duplicates",)


def test_duplicates_do_not_trigger_for_other_reason_amount_or_late_repeat():
    text = request("D-1", "2026-03-02", "-80.00", reason="Damaged item") + request(
        "D-2", "2026-03-03", "-80.00", reason="Late delivery") + request(
        "D-3", "2026-03-04", "-81.00", reason="Damaged item") + request(
        "D-4", "2026-05-02", "-80.00", reason="Damaged item")
    assert found(text, "duplicates") == []


def test_a_check_can_be_turned_off_or_tuned():
    text = dedent("""
    2026-01-01 custom "adjustment-risk" "duplicates"
      days: 2
    """) + request("D-1", "2026-03-02", "-80.00", reason="Same") + request(
        "D-2", "2026-03-10", "-80.00", reason="Same")
    assert found(text, "duplicates") == []
    off = dedent("""
    2026-01-01 custom "adjustment-risk" "duplicates"
      enabled: FALSE
    """) + request("D-1", "2026-03-02", "-80.00", reason="Same") + request(
        "D-2", "2026-03-03", "-80.00", reason="Same")
    assert found(off, "duplicates") == []
    assert load(off).adj("D-2").risk_flags == ()


def test_a_malformed_risk_directive_is_an_error_at_its_line():
    loaded = load("""
    2026-01-01 custom "adjustment-risk" "duplicates"
      dayz: 2
    2026-01-01 custom "adjustment-risk" "no-such-check"
    2026-01-01 custom "adjustment-alert" "customer" 100.00 USD
      period: "fortnight"
    """)
    assert loaded.codes == [(loaded.line('"duplicates"'), "bad-risk-setting"),
                            (loaded.line("no-such-check"), "bad-risk-setting"),
                            (loaded.line('"adjustment-alert"'), "bad-risk-setting")]
    assert "unknown parameter `dayz:`" in loaded.errors[0].message


# -- repeated goodwill --------------------------------------------------------------

def goodwill(adj_id: str, date: str, reason: str) -> str:
    return request(adj_id, date, "-10.00", type="credit:goodwill", reason=reason,
                   account="Expenses:Goodwill")


def test_repeated_goodwill_triggers_from_three_in_ninety_days():
    text = goodwill("G-1", "2026-01-10", "Sorry 1") + goodwill(
        "G-2", "2026-02-10", "Sorry 2") + goodwill("G-3", "2026-03-10", "Sorry 3")
    (finding,) = found(text, "repeated-goodwill")
    assert finding.ids == ("G-1", "G-2", "G-3")
    assert "3 goodwill credits for cust_456 within 90 days" in finding.message


def test_repeated_goodwill_does_not_trigger_when_spread_out():
    text = goodwill("G-1", "2026-01-10", "Sorry 1") + goodwill(
        "G-2", "2026-03-10", "Sorry 2") + goodwill("G-3", "2026-06-10", "Sorry 3")
    assert found(text, "repeated-goodwill") == []


# -- round amounts ------------------------------------------------------------------

def test_round_amounts_trigger_for_a_requester_filing_many():
    text = request("O-1", "2026-03-02", "-100.00", reason="a") + request(
        "O-2", "2026-03-05", "-200.00", reason="b", customer="cust_123") + request(
        "O-3", "2026-03-09", "-300.00", reason="c")
    (finding,) = found(text, "round-amounts")
    assert finding.subject == "alice"
    assert finding.ids == ("O-1", "O-2", "O-3")


def test_round_amounts_do_not_trigger_for_computed_figures():
    text = request("O-1", "2026-03-02", "-100.00", reason="a") + request(
        "O-2", "2026-03-05", "-200.00", reason="b") + request(
        "O-3", "2026-03-09", "-310.50", reason="c")
    assert found(text, "round-amounts") == []


# -- outliers -----------------------------------------------------------------------

def many(by: str, count: int, start: int = 1) -> str:
    return "".join(request(f"X-{by}-{i}", f"2026-03-{i + start:02d}", f"-{i + 3}.17",
                           by=by, reason=f"r {by} {i}", customer="cust_123")
                   for i in range(count))


def test_outlier_requester_triggers():
    text = many("alice", 2) + many("frank", 2) + many("bob", 2) + many("carol", 1) + many(
        "dave", 12)
    (finding,) = found(text, "outliers", as_of="2026-03-31")
    assert finding.subject == "dave"
    assert len(finding.ids) == 12
    assert "dave requested 12 adjustments in the last 90 days" in finding.message


def test_outlier_does_not_trigger_among_even_peers():
    text = many("alice", 3) + many("frank", 2) + many("bob", 3) + many("carol", 2) + many(
        "dave", 4)
    assert found(text, "outliers", as_of="2026-03-31") == []


# -- off hours ----------------------------------------------------------------------

def test_off_hours_approval_triggers():
    text = request("H-1", "2026-03-06", "-50.00") + event(
        "H-1", "2026-03-07", "approve", "bob", at="2026-03-07T23:10:00Z")
    (finding,) = found(text, "off-hours")
    assert finding.ids == ("H-1",)
    assert "bob approved H-1 at Sat 2026-03-07 23:10 UTC" in finding.message


def test_off_hours_follows_the_configured_timezone():
    text = dedent("""
    2026-01-01 custom "adjustment-risk" "off-hours"
      hours: "09:00-17:00"
      timezone: "America/New_York"
    """) + request("H-1", "2026-03-04", "-50.00") + event(
        "H-1", "2026-03-04", "approve", "bob", at="2026-03-04T15:00:00Z")
    assert found(text, "off-hours") == []  # 10:00 in New York
    late = text.replace("T15:00:00Z", "T23:30:00Z")  # 18:30 in New York
    assert len(found(late, "off-hours")) == 1


# -- back-dated near a lock ---------------------------------------------------------

LOCK = """
2026-04-05 custom "adjustment-lock" 2026-03-31
  by: "carol"
"""


def test_backdated_effect_near_a_lock_triggers():
    text = LOCK + request("B-1", "2026-04-10", "-10.00", extra="effective: 2026-04-02")
    (finding,) = found(text, "backdated-near-lock")
    assert finding.ids == ("B-1",)
    assert "back-dated to 2026-04-02, 2 day(s) after the period lock" in finding.message


def test_backdated_effect_far_from_a_lock_does_not_trigger():
    text = LOCK + request("B-1", "2026-04-20", "-10.00", extra="effective: 2026-04-12") + \
        request("B-2", "2026-04-06", "-10.00", reason="Not back-dated")
    assert found(text, "backdated-near-lock") == []


# -- the command --------------------------------------------------------------------

def test_risk_command_lists_findings_as_text_and_json(tmp_path: Path):
    path = tmp_path / "main.beancount"
    path.write_text(ledger(request("D-1", "2026-03-02", "-80.00", reason="Same") + request(
        "D-2", "2026-03-03", "-80.00", reason="Same")))
    runner = CliRunner()
    result = runner.invoke(main, ["risk", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "[duplicates] 2 requests for cust_456 of 80.00 USD" in result.output
    assert "ids: D-1, D-2" in result.output
    result = runner.invoke(main, ["risk", "-f", str(path), "--json", "--check", "duplicates"])
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.output)
    assert item["check"] == "duplicates"
    assert item["ids"] == ["D-1", "D-2"]
    assert item["date"] == "2026-03-03"


def test_flags_worked_out_on_reading_equal_those_judged_at_arrival():
    """Without a matrix row narrowed by an arrival check the flags are computed
    when the book is first read; with one, during the replay. Same flags."""
    text = DEMO.read_text(encoding="utf-8")
    # A row naming an arrival check that no request can match: the replay now
    # has to judge the flags as requests arrive, and nothing else changes.
    eager_text = text + dedent("""
    2026-01-01 custom "adjustment-approval" "nothing:*" 0.00 USD "manager"
      risk: "duplicates"
    """)
    lazy = book_of(loader.load_string(text)[2])
    eager = book_of(loader.load_string(eager_text)[2])
    assert lazy is not None
    assert eager is not None
    flags = {k: a.risk_flags for k, a in lazy.adjustments.items()}
    assert flags == {k: a.risk_flags for k, a in eager.adjustments.items()}
    assert any(f for f in flags.values() if set(f) & {"duplicates", "splitting",
                                                      "repeated-goodwill", "round-amounts"})


def test_findings_among_some_ids_are_the_findings_naming_one_of_them():
    """`among` (what Fava's banner asks, the open items) leaves out the others'
    findings and nothing else: the checks over many adjustments still see all."""
    text = ALERT + LOCK + request("A-1", "2026-03-02", "-60.00") + request(
        "A-2", "2026-03-20", "-50.00", reason="Other") + request(
        "H-1", "2026-03-06", "-50.00", reason="Late") + event(
        "H-1", "2026-03-07", "approve", "bob", at="2026-03-07T23:10:00Z") + request(
        "H-2", "2026-03-09", "-30.00", reason="Later") + event(
        "H-2", "2026-03-10", "approve", "bob", at="2026-03-10T22:10:00Z") + request(
        "B-1", "2026-04-10", "-10.00", extra="effective: 2026-04-02") + request(
        "D-1", "2026-04-12", "-80.00", reason="Same") + request(
        "D-2", "2026-04-13", "-80.00", reason="Same")
    loaded = load(text)
    assert loaded.book is not None
    assert not loaded.errors, loaded.errors
    day = datetime.date(2026, 12, 31)
    every = risk.findings(loaded.book, day)
    assert {f.check for f in every} >= {"alert:customer", "off-hours", "backdated-near-lock",
                                        "duplicates"}
    for among in ({"A-2"}, {"H-1"}, {"B-1", "D-2"}, set(), set(loaded.book.adjustments)):
        assert risk.findings(loaded.book, day, among=among) == [
            f for f in every if set(f.ids) & among], among
    demo = book_of(loader.load_string(
        DEMO.read_text(encoding="utf-8"))[2])
    assert demo is not None
    every = risk.findings(demo, day)
    still_open = {a.id for a in demo.in_state(*OPEN_STATES)}
    assert risk.findings(demo, day, among=still_open) == [
        f for f in every if set(f.ids) & still_open]
