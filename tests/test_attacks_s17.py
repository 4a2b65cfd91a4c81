"""Attacks, round 17: controls that hold (issue 11).

Where the other side of a request goes: a policy's `offset-accounts:` names the
accounts a request's legs outside the receivable may post to; a 20 USD debit
with its other side on `Assets:Bank` (cash out of the bank, approved
automatically) is refused at the request, by the plugin and by every tool.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from signing import seal

from beancount_adjustments import api
from beancount_adjustments.cli import main
from beancount_adjustments.core import seals
from ledgers import BASE, balance, code_of, codes, event, load, load_file, request

POLICY = """
2026-01-01 custom "adjustment-policy" "*"
  offset-accounts: "Income:*, Expenses:Adjustments:*"
"""
PLAIN_POLICY_HASH = "6e68cc6d6e630e5382c292697e34f32302d5c6e5f7db20c019863bade65fba12"
"""The seal hash of BASE's `billing:*` policy (`apply: "separate"`), before round 17."""


def _bank_debit(adj_id: str = "ADJ-1", date: str = "2026-02-02") -> str:
    """A 20 USD debit, below every threshold, whose other side leaves the bank."""
    return request(adj_id, date, "20", type="debit:fee", account="Assets:Bank",
                   reason="Late fee")


def test_without_the_setting_any_offset_account_is_applied() -> None:
    """The hole as it stands (and stays, opt-in): no policy restricts offsets."""
    loaded = load(_bank_debit())
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert balance(loaded.entries, "Assets:Bank") == -20


def test_a_leg_outside_the_allowed_offsets_is_an_error_and_books_nothing() -> None:
    """Hole: a 20 USD debit filed with `offset-account: Assets:Bank` was applied
    automatically, recording cash leaving the bank; the policy judged the amount
    and had no say over where the other side went."""
    loaded = load(POLICY + _bank_debit())
    assert codes(loaded.errors) == [(loaded.line("^ADJ-1"), "offset-not-allowed")]
    message = loaded.errors[0].message
    assert "Assets:Bank" in message
    assert '"Income:*, Expenses:Adjustments:*"' in message
    assert balance(loaded.entries, "Assets:Bank") == 0
    assert loaded.book is not None
    assert loaded.state("ADJ-1") == "invalid"


def test_allowed_offsets_and_the_receivable_pass() -> None:
    loaded = load(POLICY + "2026-01-01 open Expenses:Adjustments:Fees\n"
                  + request("ADJ-1", "2026-02-02", "20", type="debit:fee",
                            account="Income:Fees")
                  + request("ADJ-2", "2026-02-02", "20", type="debit:fee",
                            account="Expenses:Adjustments:Fees"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == loaded.state("ADJ-2") == "applied"


def test_the_most_specific_pattern_wins_and_the_setting_is_effective_dated() -> None:
    """`debit:*` allows the bank for debits from March; "*" allows only Income:*."""
    loaded = load(POLICY + """
2026-03-01 custom "adjustment-policy" "debit:*"
  offset-accounts: "Income:*, Assets:Bank"
""" + _bank_debit("ADJ-1", "2026-02-27") + _bank_debit("ADJ-2", "2026-03-02")
                  + request("ADJ-3", "2026-03-02", "-10",
                            account="Assets:Bank"))
    assert codes(loaded.errors) == [(loaded.line("^ADJ-1"), "offset-not-allowed"),
                                    (loaded.line("^ADJ-3"), "offset-not-allowed")]
    assert loaded.state("ADJ-2") == "applied"


LATER = """
2026-02-05 custom "adjustment-policy" "debit:*"
  offset-accounts: "Income:*"
"""


def _pending_bank_debit(adj_id: str = "ADJ-1") -> str:
    """A 60 USD debit out of the bank, filed unrestricted: it awaits a manager."""
    return request(adj_id, "2026-02-02", "60", type="debit:fee", account="Assets:Bank",
                   reason="Late fee")


def test_a_restriction_in_force_at_the_approval_binds_the_booking() -> None:
    """Hole: a request filed before the policy restricted offsets was booked out of
    the bank by an approval given after it came in force; as for `apply: separate`,
    the policy in force on the decision's date makes it stricter."""
    loaded = load(LATER + _pending_bank_debit()
                  + event("ADJ-1", "2026-02-06", "approve", "bob"))
    assert codes(loaded.errors) == [(loaded.line('"ADJ-1" "approve"'), "offset-not-allowed")]
    assert "Assets:Bank" in loaded.errors[0].message
    assert balance(loaded.entries, "Assets:Bank") == 0
    assert loaded.state("ADJ-1") == "approved"


def test_an_approval_before_the_restriction_books_as_before() -> None:
    loaded = load(LATER + _pending_bank_debit()
                  + event("ADJ-1", "2026-02-03", "approve", "bob"))
    assert loaded.errors == []
    assert balance(loaded.entries, "Assets:Bank") == -60


def test_the_cli_refuses_an_approval_the_later_restriction_forbids(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + LATER + _pending_bank_debit())
    before = path.read_bytes()
    refused = _run("approve", "ADJ-1", "-f", str(path), "--as", "bob")
    assert refused.exit_code != 0
    assert "[offset-not-allowed]" in refused.output
    assert path.read_bytes() == before


@pytest.mark.parametrize("text", ['" , "', '"Income:*,"', '"income:*"', '"Income *"'])
def test_a_malformed_setting_is_an_error_at_the_policy(text: str) -> None:
    loaded = load(f"""
2026-01-01 custom "adjustment-policy" "*"
  offset-accounts: {text}
""")
    assert [code_of(e) for e in loaded.errors] == ["malformed-directive"]
    assert "offset-accounts" in loaded.errors[0].message


# -- the tools refuse it before writing -------------------------------------------------


def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE + POLICY)
    return path


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def test_the_cli_refuses_an_offset_the_policy_does_not_allow(tmp_path: Path) -> None:
    path = _ledger(tmp_path)
    before = path.read_bytes()
    refused = _run("create", "-f", str(path), "--as", "alice", "--type", "debit:fee",
                   "--customer", "cust_456", "--amount", "20.00 USD", "--reason", "Late fee",
                   "--offset-account", "Assets:Bank")
    assert refused.exit_code != 0
    assert "[offset-not-allowed]" in refused.output
    assert "Assets:Bank" in refused.output
    assert path.read_bytes() == before


def test_the_api_refuses_an_offset_the_policy_does_not_allow(tmp_path: Path) -> None:
    path = _ledger(tmp_path)
    before = path.read_bytes()
    with pytest.raises(api.ApiError) as raised:
        api.create(path, customer="cust_456", type="debit:fee", amount="20.00 USD",
                   reason="Late fee", offset_account="Assets:Bank", as_user="alice")
    assert "offset-not-allowed" in raised.value.message
    assert path.read_bytes() == before
    filed = api.create(path, customer="cust_456", type="debit:fee", amount="20.00 USD",
                       reason="Late fee", offset_account="Income:Fees", as_user="alice")
    assert filed.state == "applied"


def test_a_csv_row_with_an_offset_the_policy_does_not_allow_is_refused(
        tmp_path: Path) -> None:
    path = _ledger(tmp_path)
    before = path.read_bytes()
    rows = tmp_path / "in.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id,offset-account\n"
                    "debit:fee,cust_456,20.00,USD,Late fee,X1,Assets:Bank\n")
    refused = _run("import", "-f", str(path), "--as", "alice", str(rows))
    assert "offset-not-allowed" in refused.output
    assert path.read_bytes() == before


# -- seals cover the setting ------------------------------------------------------------


def test_dropping_a_sealed_offset_restriction_breaks_the_seal(tmp_path: Path) -> None:
    """Hole: the policy's settings are sealed, but `offset-accounts:` was not in the
    hash: deleting the line after the seal let a sealed bank debit load as applied."""
    path = tmp_path / "main.beancount"
    path.write_text(BASE + POLICY + _bank_debit())
    seal(path, "2026-02-28")
    text = path.read_text()
    path.write_text(text.replace('  offset-accounts: "Income:*, Expenses:Adjustments:*"\n',
                                 ""))
    loaded = load_file(path)
    assert "seal-broken" in [code_of(e) for e in loaded.errors], loaded.errors


def test_a_policy_without_the_setting_seals_as_before() -> None:
    """Existing seals stay valid: a policy that sets no offsets hashes as it did
    before the key existed (the hash pinned from the code before it)."""
    loaded = load("")
    assert loaded.book is not None
    (item,) = [it for it in seals.sealed_items(loaded.book.facts) if it.rank == 5]
    assert item.hash == PLAIN_POLICY_HASH
