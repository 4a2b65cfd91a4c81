"""Round 65: Beancount's own language as the attacker's tool.

alice, an accountant with commit rights and no approval role, wrote what the
Beancount language lets a ledger author write around the receivable rule and the
requests. What got through: Beancount's tolerance options. With
`option "inferred_tolerance_default" "USD:5000"` (or a wide `tolerance_multiplier`) a
transaction balances within 5,000 USD, so a "payment" taking 5,000 USD off cust_456
while 1 USD reached the bank balanced, was a payment to the receivable rule, and
`bean-check` was clean: a credit no approval saw, and the bank reconciles (1 USD did
arrive). So was an "invoice" billing 5,000 USD against 1 USD of sales, the same
"payment" back-dated before the rule under `check --since`, and a 1 USD promotional
credit (no approval needed) booking 5,000 USD onto its offset account. Now a plain
transaction moving the receivable, and a request, balance within Beancount's
default tolerance (half the last digit written, whole numbers exactly), whatever the
ledger's options; where the ledger's options do not balance it either, Beancount's
own error is the only one. Held: an option in an included file (Beancount reads the
top file's only); `plugin_processing_mode "raw"`; a payment at a price (on the bank
leg or the receivable's) into a bank opened for its currency; `pushmeta
adjustment-type:` around plain transactions (requests, judged as such); `pushmeta
by:` around an approval (Beancount 3 pushes onto transactions only); `pushtag` of
the plugin's own tag (a forgery); metadata of another type than text on a request or
an event; the same key twice on a transaction (Beancount's error); approval-row
roles as an account, in another case or two in one string; a `pad` or a lone
receivable leg under a wide tolerance; a fake `beancount_adjustments` package beside
the ledger under `insert_pythonpath` fools `bean-check` only, not `bean-adjust
check` (README). "Hole:" tests failed on the code they were written against;
"Held:" ones held.
"""

from __future__ import annotations

from pathlib import Path

from repos import BOOK, Repo, assert_finding, check

from ledgers import BASE, event, load, load_file, request

RULE = """
2026-01-01 open Expenses:Misc
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
"""


def _with(option: str, text: str) -> str:
    """BASE with `option` after its operating currency, then `text`."""
    currency = 'option "operating_currency" "USD"\n'
    return BASE.replace(currency, currency + option + "\n") + text


WIDE = 'option "inferred_tolerance_default" "USD:5000"'


def _paid(bank: str = "1 USD", receivable: str = "-5000 USD") -> str:
    return f"""
2026-03-01 * "cust_456" "Paid"
  Assets:Receivable:Customers  {receivable}
  Assets:Bank                  {bank}
"""


def test_hole_a_payment_balanced_by_a_wide_default_tolerance() -> None:
    """Hole: with `inferred_tolerance_default "USD:5000"`, 5,000 USD off the customer
    against 1 USD into the bank balanced, and was a payment to the rule."""
    loaded = load(_with(WIDE, RULE + _paid()), base=False)
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert loaded.codes[0][0] == loaded.line('"cust_456" "Paid"'), loaded.codes
    message = str(loaded.errors[0].message)
    assert "Assets:Receivable:Customers" in message, message
    assert "-4999 USD" in message, message
    assert "tolerance" in message, message
    assert "\n" not in message


def test_hole_a_payment_balanced_by_a_wide_tolerance_multiplier() -> None:
    """Hole: the same by `tolerance_multiplier "500000"`: 5,000.00 USD off the customer,
    0.01 USD into the bank."""
    text = _with('option "tolerance_multiplier" "500000"',
                 RULE + _paid("0.01 USD", "-5000.00 USD"))
    loaded = load(text, base=False)
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_holds_a_tolerance_set_in_an_included_file_is_ignored(tmp_path: Path) -> None:
    """Held: `inferred_tolerance_default "*:5000"` in an included file: Beancount reads
    options of the top file only, and the "payment" does not balance."""
    (tmp_path / "options.beancount").write_text('option "inferred_tolerance_default" "*:5000"\n')
    top = tmp_path / "main.beancount"
    top.write_text('include "options.beancount"\n' + BASE + RULE + _paid())
    loaded = load_file(top)
    assert [str(e.message) for e in loaded.errors] == [
        "Transaction does not balance: (-4999 USD)"], loaded.codes


def test_hole_a_request_booking_more_than_it_credits() -> None:
    """Hole: a 1 USD promotional credit (no approval needed) whose offset leg books
    5,000 USD onto `Expenses:Promotions`, balanced by the wide tolerance."""
    text = _with(WIDE, """
2026-03-01 ! "cust_456" "Promo" ^ADJ-1
  adjustment-type: "credit:promotional"
  customer: "cust_456"
  reason: "Promo"
  requested-by: "alice"
  Expenses:Promotions           5000 USD
  Assets:Receivable:Customers     -1 USD
""")
    loaded = load(text, base=False)
    assert [code for _, code in loaded.codes] == ["bad-posting"], loaded.codes
    message = str(loaded.errors[0].message)
    assert "ADJ-1" in message, message
    assert "4999 USD" in message, message
    assert loaded.balance("Expenses:Promotions") == 0


def test_holds_rounding_within_the_default_tolerance() -> None:
    """Held: a payment in EUR at a price, off by less than half a cent, is a payment;
    so is a request at a price with the same rounding."""
    loaded = load(RULE + """
2026-03-01 * "cust_456" "Paid in EUR"
  Assets:Receivable:Customers  -100.00 USD
  Assets:Bank                    92.31 EUR @ 1.0833 USD
""" + request("ADJ-1", "2026-03-02", "-10.00", type="credit:promotional",
              account="Expenses:Promotions"))
    assert loaded.codes == [], loaded.codes
    assert loaded.state("ADJ-1") == "applied"


def test_holds_a_lone_leg_or_a_zero_bank_leg_under_a_wide_tolerance() -> None:
    """Held: a lone receivable leg, or one against `Assets:Bank 0 USD`, is no payment."""
    lone = """
2026-03-01 * "cust_456" "Gone"
  Assets:Receivable:Customers  -5000 USD
"""
    for ledger in (lone, _paid("0 USD")):
        loaded = load(_with(WIDE, RULE + ledger), base=False)
        assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_holds_a_pad_under_a_wide_tolerance() -> None:
    """Held: a pad of the receivable is never a payment."""
    loaded = load(_with(WIDE, RULE + """
2026-03-01 pad Assets:Receivable:Customers Assets:Bank
2026-03-02 balance Assets:Receivable:Customers  0 USD
"""), base=False)
    assert "unrequested-posting" in loaded.code_set, loaded.codes


def test_holds_pushmeta_adjustment_type_makes_requests() -> None:
    """Held: `pushmeta adjustment-type:` around a plain credit makes it a request,
    judged as one (here: no id), never a plain transaction nor a booked credit."""
    loaded = load(RULE + """
pushmeta adjustment-type: "credit:promotional"
2026-03-01 * "cust_456" "Moved"
  Assets:Receivable:Customers  -5000.00 USD
  Expenses:Misc                 5000.00 USD
popmeta adjustment-type:
""")
    assert loaded.code_set == {"bad-id"}, loaded.codes
    assert loaded.balance("Expenses:Misc") == 0


def test_holds_pushtag_of_the_plugins_own_tag_is_a_forgery() -> None:
    """Held: `pushtag #adjustment` around a plain credit is `forged-effect`."""
    loaded = load(RULE + """
pushtag #adjustment
2026-03-01 * "cust_456" "Moved"
  Assets:Receivable:Customers  -5000.00 USD
  Expenses:Misc                 5000.00 USD
poptag #adjustment
""")
    assert loaded.code_set == {"forged-effect"}, loaded.codes


def test_holds_metadata_of_another_type_on_a_request() -> None:
    """Held: `customer:`, `requested-by:` or `reason:` as a number, a date, an amount or
    a bool is `bad-metadata`; an account or a currency (Beancount hands them over as
    text) names nobody (`unknown-customer`, `unknown-user`). The request books nothing."""
    cases = [(value, key, "bad-metadata") for value in ("123", "2026-03-01", "5.00 USD", "TRUE")
             for key in ("customer", "requested-by", "reason")]
    cases += [(value, key, code) for value in ("Assets:Bank", "USD")
              for key, code in (("customer", "unknown-customer"),
                                ("requested-by", "unknown-user"))]
    for value, key, code in cases:
        text = request("ADJ-1", "2026-03-01", "-10.00", type="credit:promotional",
                       account="Expenses:Promotions").replace(
            f'  {key}: "', f"  {key}: {value}\n  x-{key}: \"")
        loaded = load(text)
        assert code in loaded.code_set, (key, value, loaded.codes)
        assert loaded.balance("Expenses:Promotions") == 0, (key, value)


def test_holds_an_event_by_of_another_type_does_not_decide() -> None:
    """Held: an approval whose `by:` is a number or a bool is `bad-metadata`, an account
    names nobody (`unknown-user`): no decision either way."""
    base = request("ADJ-1", "2026-03-01", "-100.00", type="credit:goodwill",
                   account="Expenses:Goodwill")
    for value, code in (("123", "bad-metadata"), ("TRUE", "bad-metadata"),
                        ("Assets:Bank", "unknown-user")):
        loaded = load(base + event("ADJ-1", "2026-03-02", "approve").rstrip("\n")
                      + f"\n  by: {value}\n")
        assert code in loaded.code_set, (value, loaded.codes)
        assert loaded.state("ADJ-1") != "applied", value


def test_holds_the_same_key_twice_is_beancounts_error() -> None:
    """Held: `customer:` written twice on a request is Beancount's own error."""
    text = request("ADJ-1", "2026-03-01", "-10.00", type="credit:promotional",
                   account="Expenses:Promotions").replace(
        '  customer: "cust_456"', '  customer: "cust_456"\n  customer: "cust_123"')
    loaded = load(text)
    assert loaded.errors, "no error for a key written twice"


def test_hole_an_invoice_balanced_by_a_wide_tolerance() -> None:
    """Hole: an "invoice" raising cust_456 by 5,000 USD against 1 USD of sales, the rest
    absorbed by the tolerance: the customer billed for what no income shows."""
    loaded = load(_with(WIDE, RULE + """
2026-03-01 * "cust_456" "Invoice"
  invoice-id: "INV-9"
  customer: "cust_456"
  Assets:Receivable:Customers   5000 USD
  Income:Sales                    -1 USD
"""), base=False)
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_hole_check_since_a_loose_payment_back_dated(tmp_path: Path) -> None:
    """Hole: after the rule, alice adds the wide tolerance and the 1 USD "payment" dated
    before the rule's line: `check --since` said nothing (round 63 judges such a one as
    made now)."""
    ruled = BOOK + '\n2026-12-04 custom "adjustment-receivable" "invoices-and-payments"\n'
    repo = Repo(tmp_path / "books")
    rev = repo.commit(ruled)
    currency = 'option "operating_currency" "USD"\n'
    repo.commit(ruled.replace(currency, currency + WIDE + "\n") + _paid().replace(
        "2026-03-01", "2026-11-30"))
    found = assert_finding(check(repo, rev), "backdated-posting", repo.at('"Paid"'))
    assert "moves Assets:Receivable:Customers" in found, found


def test_holds_the_same_payment_under_the_default_tolerance_is_beancounts_error() -> None:
    """Held: without the option the 1 USD "payment" is Beancount's own error only (no
    second error of ours), and so is an unbalanced request."""
    loaded = load(RULE + _paid() + request("ADJ-1", "2026-03-02", "-10.00",
                                          type="credit:promotional",
                                          account="Expenses:Promotions").replace(
        "Expenses:Promotions  10.00 USD", "Expenses:Promotions  11.00 USD"))
    assert [code for _, code in loaded.codes] == [None, None], loaded.codes
    assert all("does not balance" in str(e.message) for e in loaded.errors), loaded.errors


def test_holds_a_balanced_payment_under_a_wide_tolerance() -> None:
    """Held: under the wide option a payment that balances exactly, an invoice, and a
    request are what they were: no error."""
    loaded = load(_with(WIDE, RULE + _paid("5000 USD") + """
2026-03-01 * "cust_456" "Invoice"
  invoice-id: "INV-9"
  customer: "cust_456"
  Assets:Receivable:Customers   120.00 USD
  Income:Sales                 -120.00 USD
""" + request("ADJ-1", "2026-03-02", "-10.00", type="credit:promotional",
              account="Expenses:Promotions")), base=False)
    assert loaded.codes == [], loaded.codes
    assert loaded.state("ADJ-1") == "applied"


def test_holds_raw_plugin_processing_mode() -> None:
    """Held: `plugin_processing_mode "raw"` (no pad, documents or balance plugins) still
    runs ours: a plain credit against an expense, and a pad of the receivable, are
    `unrequested-posting`."""
    move = """
2026-03-01 * "cust_456" "Moved"
  Assets:Receivable:Customers  -5000.00 USD
  Expenses:Misc                 5000.00 USD
"""
    pad = """
2026-03-01 pad Assets:Receivable:Customers Expenses:Misc
2026-03-02 balance Assets:Receivable:Customers  -5000.00 USD
"""
    for text in (move, pad):
        loaded = load(_with('option "plugin_processing_mode" "raw"', RULE + text), base=False)
        assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_holds_a_payment_at_a_price_into_a_bank_opened_for_its_currency() -> None:
    """Held (the README's advice): with the bank opened for USD, a "payment" of 1 EUR
    `@@ 5000 USD`, or the receivable leg `-5000.00 USD @@ 1.00 EUR` against 1 EUR, is
    Beancount's error."""
    text = BASE.replace("2026-01-01 open Assets:Bank\n", "2026-01-01 open Assets:Bank USD\n")
    owed = "Assets:Receivable:Customers  -5000.00 USD"
    for legs in (f"{owed}\n  Assets:Bank  1.00 EUR @@ 5000.00 USD",
                 f"{owed} @@ 1.00 EUR\n  Assets:Bank  1.00 EUR"):
        loaded = load(text + RULE + f'\n2026-03-01 * "cust_456" "Paid in EUR"\n  {legs}\n',
                      base=False)
        assert [str(e.message) for e in loaded.errors] == [
            "Invalid currency EUR for account 'Assets:Bank'"], loaded.codes


def test_holds_pushmeta_by_around_an_approval_is_no_identity() -> None:
    """Held: `pushmeta by: "bob"` around an approval written without `by:`: Beancount 3
    pushes metadata onto transactions only, so it is `missing-identity`, no decision."""
    loaded = load(request("ADJ-1", "2026-03-01", "-100.00", type="credit:goodwill",
                          account="Expenses:Goodwill") + """
pushmeta by: "bob"
2026-03-02 custom "adjustment" "ADJ-1" "approve"
popmeta by:
""")
    assert "missing-identity" in loaded.code_set, loaded.codes
    assert loaded.state("ADJ-1") == "pending"


def test_holds_approval_row_roles_of_another_spelling_or_type() -> None:
    """Held: a row whose role is an account (`Assets:Bank`), another case (`"Manager"`),
    two roles in one string or blank names nobody who holds it, or is an error: the
    5,000 USD credit it covers stays pending."""
    credit = request("ADJ-9", "2026-03-01", "-5000.00", type="credit:account",
                     account="Expenses:Goodwill")
    for roles in ("Assets:Bank", '"Manager"', '"manager,finance"', '" "'):
        row = f'2026-01-01 custom "adjustment-approval" "credit:account" 0.00 USD {roles}\n'
        loaded = load(row + credit)
        assert loaded.state("ADJ-9") == "pending", (roles, loaded.codes)


def test_holds_a_fake_package_beside_the_ledger_fools_bean_check_only(tmp_path: Path) -> None:
    """Held (the README's advice: run `bean-adjust check` in CI): with `insert_pythonpath`,
    a `beancount_adjustments` package of alice's beside the ledger is what `bean-check`
    imports, and it is clean, as with the plugin line deleted; `bean-adjust check` runs
    the installed plugin and reports the plain credit."""
    import subprocess
    import sys

    from click.testing import CliRunner

    from beancount_adjustments.cli import main

    fake = tmp_path / "beancount_adjustments"
    fake.mkdir()
    (fake / "__init__.py").write_text("__plugins__ = []\n")
    ledger = tmp_path / "main.beancount"
    ledger.write_text('option "insert_pythonpath" "TRUE"\n' + BASE + RULE + """
2026-03-01 * "cust_456" "Moved"
  Assets:Receivable:Customers  -5000.00 USD
  Expenses:Misc                 5000.00 USD
""")
    bean_check = Path(sys.executable).with_name("bean-check")
    done = subprocess.run([str(bean_check), str(ledger)], capture_output=True, text=True,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = CliRunner().invoke(main, ["check", "-f", str(ledger)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "[unrequested-posting]" in result.output, result.output
