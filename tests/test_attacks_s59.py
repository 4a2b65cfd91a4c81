"""Round 59 of attacks: the customer's account moved by a plain transaction against
any account.

Round 58 reserved the offset accounts, but a plain transaction against an account
no pattern reserves was still invisible. So alice, an accountant with commit rights
and no approval role, credited a customer 5,000 USD against `Expenses:Misc`; against
`Income:Sales` as a negative "invoice"; against `Equity:Opening-Balances`; through a
`pad` and a `balance`; by moving cust_1's debt onto cust_2 under `customer-account`;
with an "invoice" (`invoice-id:`) that lowers the receivable, one that raises cust_1
and lowers cust_2, one whose `invoice-id:` sits on a posting only, one in USD with a
negative EUR leg; with a "payment" whose bank leg is another receivable account or
that carries a bank-fee leg; and through a plugin listed before ours. Each was a
credit no approval saw, bean-check clean. Now
`custom "adjustment-receivable" "invoices-and-payments"` makes, from its date on,
every plain transaction moving the receivable an invoice, a payment or refund, or a
move within one customer's account, or the error `unrequested-posting`. "Hole:"
tests failed on the code they were written against; "Held:" ones held (or, where
they say so, show a limit the README states).
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from repos import BOOK, assert_rule_compared
from site_plugins import plain_credit, site_plugin

from beancount_adjustments.cli import main
from ledgers import BASE, DEMO, ROOT, event, line_in, load, load_file, request, with_settings

RULE = """
2026-01-01 open Expenses:Misc
2026-01-01 open Expenses:Bank-Fees
2026-01-01 open Equity:Opening-Balances
2026-01-01 open Liabilities:Whatever
2026-01-01 open Liabilities:Deposits
2026-01-01 open Assets:Receivable:Other
2026-01-01 open Assets:Clearing
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"
"""

GOODWILL = """
2026-12-04 * "cust_1" "Goodwill"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Misc                  5000.00 USD
"""

OWN = with_settings("{'customer-account': 'Assets:Receivable:Customers:{customer}'}", BASE) + """
2026-01-01 open Assets:Receivable:Customers:Cust1
2026-01-01 open Assets:Receivable:Customers:Cust1:Disputes
2026-01-01 open Assets:Receivable:Customers:Cust2
"""


def _unrequested(loaded, marker: str) -> str:
    """The one error, `unrequested-posting`, which must sit at the line of `marker`."""
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert loaded.codes[0][0] == loaded.line(marker), loaded.codes
    message = str(loaded.errors[0].message)
    assert "\n" not in message, message
    assert '"adjustment-receivable" "invoices-and-payments"' in message, message
    assert "2026-01-01" in message, message
    assert "bean-adjust create" in message, message
    return message


def test_hole_goodwill_against_an_expense_account() -> None:
    """Hole: a plain transaction moving 5,000 USD off the customer against
    `Expenses:Misc` (no reserved account) loaded with no error."""
    loaded = load(RULE + GOODWILL)
    message = _unrequested(loaded, '"Goodwill"')
    assert "Assets:Receivable:Customers" in message, message
    assert ("neither an invoice (`invoice-id:` or `order-id:`, raising what the customer "
            "owes)") in message
    assert "nor a payment (its other side on asset or liability accounts)" in message
    # An error only: Beancount keeps the transaction as written.
    assert loaded.balance("Expenses:Misc") == 5000


def test_hole_a_negative_invoice_against_sales() -> None:
    """Hole: a negative "invoice" against `Income:Sales`, with no `invoice-id:`, lowered
    what the customer owes."""
    loaded = load(RULE + GOODWILL.replace("Expenses:Misc ", "Income:Sales  "))
    _unrequested(loaded, '"Goodwill"')


def test_hole_against_opening_balances() -> None:
    """Hole: the credit booked against `Equity:Opening-Balances` passed."""
    loaded = load(RULE + GOODWILL.replace("Expenses:Misc         ", "Equity:Opening-Balances"))
    _unrequested(loaded, '"Goodwill"')


def test_holds_a_liability_leg_reads_as_a_refund_owed() -> None:
    """Held, a limit README states: moving the debt to `Liabilities:Whatever` and that on
    to `Expenses:Misc` in a second transaction is, to the rule, a refund owed (a
    customer deposit) and an expense: no error. Reconciling the liability finds it."""
    loaded = load(RULE + GOODWILL.replace("Expenses:Misc         ", "Liabilities:Whatever ")
                  + """
2026-12-05 * "Write-off"
  Liabilities:Whatever   -5000.00 USD
  Expenses:Misc           5000.00 USD
""")
    assert loaded.errors == [], loaded.codes


def test_hole_a_pad_and_a_balance() -> None:
    """Hole: `pad Assets:Receivable:Customers Equity:Opening-Balances` with a `balance`
    moved the money in a 'P' transaction nobody requested."""
    loaded = load(RULE + """
2026-12-01 pad Assets:Receivable:Customers Equity:Opening-Balances
2026-12-05 balance Assets:Receivable:Customers -5000.00 USD
""")
    message = _unrequested(loaded, " pad ")
    assert "this pad" in message, message
    assert "Assets:Receivable:Customers" in message, message


def test_hole_a_reclass_from_one_customer_to_another() -> None:
    """Hole: under `customer-account`, moving 5,000 USD of cust_1's debt onto cust_2's
    own account (every leg on the receivable) passed."""
    loaded = load(OWN + RULE + """
2026-12-04 * "Reclass"
  Assets:Receivable:Customers:Cust1   -5000.00 USD
  Assets:Receivable:Customers:Cust2    5000.00 USD
""", base=False)
    message = _unrequested(loaded, '"Reclass"')
    assert "Assets:Receivable:Customers:Cust1" in message, message


def test_holds_a_move_within_one_customer() -> None:
    """Held: moving cust_1's debt to their own `:Disputes` sub-account, or between the
    root's accounts of no customer, is a move within one customer's account."""
    loaded = load(OWN + RULE + """
2026-12-04 * "To disputes"
  Assets:Receivable:Customers:Cust1            -500.00 USD
  Assets:Receivable:Customers:Cust1:Disputes    500.00 USD

2026-12-05 * "Between the root's own accounts"
  Assets:Receivable:Customers        -70.00 USD
  Assets:Receivable:Other             70.00 USD
""", base=False)
    assert loaded.errors == [], loaded.codes
    plain = load(RULE + """
2026-12-05 * "cust_1" "Reclass"
  customer: "cust_1"
  Assets:Receivable:Customers        -70.00 USD
  Assets:Receivable:Other             70.00 USD
""")
    assert plain.errors == [], plain.codes


def test_hole_an_invoice_that_lowers_the_receivable() -> None:
    """Hole: a transaction with `invoice-id:` whose receivable leg is negative, a credit
    dressed as an invoice, passed."""
    loaded = load(RULE + GOODWILL.replace('"Goodwill"\n', '"Goodwill"\n  invoice-id: "INV-9"\n'))
    _unrequested(loaded, '"Goodwill"')


def test_hole_an_invoice_raising_one_customer_and_lowering_another() -> None:
    """Hole: under `customer-account`, an "invoice" raising cust_1 by 100 and lowering
    cust_2 by 5,000 (the difference against sales) passed."""
    loaded = load(OWN + RULE + """
2026-12-04 * "Invoice"
  invoice-id: "INV-10"
  customer: "Cust1"
  Assets:Receivable:Customers:Cust1     100.00 USD
  Assets:Receivable:Customers:Cust2   -5000.00 USD
  Income:Sales               4900.00 USD
""", base=False)
    _unrequested(loaded, '"Invoice"')


def test_hole_invoice_id_on_a_posting_only() -> None:
    """Hole: `invoice-id:` on the receivable posting's own metadata, not the
    transaction's, made the credit look like an invoice line."""
    loaded = load(RULE + GOODWILL.replace("-5000.00 USD\n",
                                          '-5000.00 USD\n    invoice-id: "INV-11"\n'))
    _unrequested(loaded, '"Goodwill"')
    raised = load(RULE + """
2026-12-04 * "cust_1" "Invoice"
  Assets:Receivable:Customers    120.00 USD
    invoice-id: "INV-12"
  Income:Sales                  -120.00 USD
""")
    _unrequested(raised, '"Invoice"')


def test_hole_a_payment_into_another_receivable_account() -> None:
    """Hole: under `customer-account`, a "payment" of cust_1's whose bank leg is
    `Assets:Receivable:Other` (still the receivable) passed."""
    loaded = load(OWN + RULE + """
2026-12-04 * "Payment"
  Assets:Receivable:Customers:Cust1   -5000.00 USD
  Assets:Receivable:Other    5000.00 USD
""", base=False)
    message = _unrequested(loaded, '"Payment"')
    assert "nor a payment" in message, message


def test_hole_a_payment_with_a_bank_fee_leg() -> None:
    """Hole: a payment split with a tiny `Expenses:Bank-Fees` leg carried a 5,000 USD
    credit. A fee leg makes it no payment; the message says to book it apart."""
    loaded = load(RULE + """
2026-12-04 * "cust_1" "Payment"
  Assets:Receivable:Customers   -5100.00 USD
  Assets:Bank                     100.00 USD
  Expenses:Bank-Fees             5000.00 USD
""")
    message = _unrequested(loaded, '"Payment"')
    assert "Expenses:Bank-Fees" in message, message
    assert "transaction of its own" in message, message


def test_hole_an_invoice_with_a_negative_leg_in_another_currency() -> None:
    """Hole: an invoice raising 100 USD and lowering 5,000 EUR on the receivable
    passed as an invoice."""
    loaded = load(RULE + """
2026-01-01 open Income:Sales:EUR

2026-12-04 * "cust_1" "Invoice"
  invoice-id: "INV-13"
  Assets:Receivable:Customers    100.00 USD
  Assets:Receivable:Customers  -5000.00 EUR
  Income:Sales                  -100.00 USD
  Income:Sales:EUR              5000.00 EUR
""")
    _unrequested(loaded, '"Invoice"')


def test_holds_invoices_payments_and_refunds() -> None:
    """Held: an invoice (`invoice-id:`, raising), a payment from the bank, one through
    a clearing account, a refund to the bank and an overpayment moved to a deposits
    liability are no error."""
    loaded = load(RULE + """
2026-12-01 * "cust_1" "Invoice"
  invoice-id: "INV-20"
  customer: "cust_1"
  Assets:Receivable:Customers    120.00 USD
  Income:Sales                  -120.00 USD

2026-12-02 * "cust_1" "Payment"
  Assets:Receivable:Customers   -100.00 USD
  Assets:Bank                    100.00 USD

2026-12-03 * "cust_1" "Card payment"
  Assets:Receivable:Customers    -30.00 USD
  Assets:Clearing                 30.00 USD

2026-12-04 * "cust_1" "Refund"
  Assets:Receivable:Customers     10.00 USD
  Assets:Bank                    -10.00 USD

2026-12-05 * "cust_1" "Overpayment to deposits"
  Assets:Receivable:Customers     20.00 USD
  Liabilities:Deposits           -20.00 USD

2026-12-06 * "Unrelated"
  Assets:Bank                   -10.00 USD
  Expenses:Misc                  10.00 USD
""")
    assert loaded.errors == [], loaded.codes


def test_hole_the_asset_and_liability_roots_come_from_the_options() -> None:
    """Hole: in a ledger whose roots are renamed (`name_assets`), the goodwill credit
    passed; now it is an error and a payment from `Aktiva:Bank` is not."""
    text = """
plugin "beancount_adjustments" "{'receivable': 'Aktiva:Forderungen'}"
option "name_assets" "Aktiva"
option "name_liabilities" "Passiva"
option "name_expenses" "Aufwand"
option "operating_currency" "EUR"

2026-01-01 open Aktiva:Forderungen
2026-01-01 open Aktiva:Bank
2026-01-01 open Passiva:Kaution
2026-01-01 open Aufwand:Sonstiges
2026-01-01 custom "adjustment-receivable" "invoices-and-payments"

2026-12-02 * "Zahlung"
  Aktiva:Forderungen   -100.00 EUR
  Aktiva:Bank           100.00 EUR

2026-12-03 * "Kaution"
  Aktiva:Forderungen   -100.00 EUR
  Passiva:Kaution       100.00 EUR

2026-12-04 * "Kulanz"
  Aktiva:Forderungen  -5000.00 EUR
  Aufwand:Sonstiges    5000.00 EUR
"""
    loaded = load(text, base=False)
    _unrequested(loaded, '"Kulanz"')


def test_holds_before_the_rule() -> None:
    """Held: a plain transaction dated before the rule is no error: it binds from its
    date."""
    loaded = load(RULE.replace("2026-01-01 custom", "2026-12-05 custom") + GOODWILL)
    assert loaded.errors == [], loaded.codes


def test_hole_a_plugin_before_ours_adds_the_transaction(tmp_path: Path) -> None:
    """Hole: a site plugin listed before ours added the goodwill credit against
    `Expenses:Misc`: nothing was said."""
    site = site_plugin(tmp_path, plain_credit("Expenses:Misc", "cust_1"))
    path = tmp_path / "main.beancount"
    path.write_text(f'option "insert_pythonpath" "TRUE"\nplugin "{site}"\n' + BASE + RULE)
    loaded = load_file(path)
    found = [e for e in loaded.errors if str(e.message).endswith("[unrequested-posting]")]
    assert len(found) == 1, loaded.codes
    assert found[0].source["lineno"] == 1


def test_holds_requests_and_what_the_plugin_books() -> None:
    """Held: a credit request, its application and its reversal move the receivable
    against `Income:Sales:Returns` and are no error."""
    loaded = load(RULE + request("ADJ-1", "2026-03-01", "-50.00")
                  + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-03", "cancel", "carol", reason="Wrong customer")
                  + event("ADJ-1", "2026-03-04", "approve", "erin"))
    assert loaded.errors == [], loaded.codes
    assert loaded.state("ADJ-1") == "reversed", loaded.state("ADJ-1")
    assert loaded.tagged("adjustment", "ADJ-1"), "the credit was not booked"
    assert loaded.tagged("adjustment-reversal", "ADJ-1"), "the reversal was not booked"


def test_holds_one_error_with_a_reserved_account_or_a_forgery() -> None:
    """Held: a plain credit against a reserved account is one `unrequested-posting`
    (round 58's, naming the pattern), and one marked as booked (`#adjustment`) is
    `forged-effect` alone."""
    reserved = RULE + """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"
"""
    loaded = load(reserved + GOODWILL.replace("Expenses:Misc         ",
                                              "Expenses:Adjustments:Credits"))
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes
    assert '"adjustment-reserved"' in str(loaded.errors[0].message)
    forged = load(RULE + GOODWILL.replace('"Goodwill"\n', '"Goodwill" #adjustment\n'))
    assert [code for _, code in forged.codes] == ["forged-effect"], forged.codes


def test_hole_malformed_rule_lines() -> None:
    """Hole: `adjustment-receivable` lines with another value, extra values or an
    amount were read as nothing."""
    for line in ('2026-01-01 custom "adjustment-receivable" "invoices"',
                 '2026-01-01 custom "adjustment-receivable" "invoices-and-payments" "x"',
                 '2026-01-01 custom "adjustment-receivable" ""',
                 '2026-01-01 custom "adjustment-receivable" 5.00 USD'):
        loaded = load("\n" + line + "\n")
        assert [code for _, code in loaded.codes] == ["malformed-directive"], (line,
                                                                              loaded.codes)
        assert loaded.codes[0][0] == loaded.line("adjustment-receivable"), line
        message = str(loaded.errors[0].message)
        assert "\n" not in message, message
        assert '"invoices-and-payments"' in message, message
        # A malformed line is no rule: the credit after it is not judged by it.
        assert load("\n" + line + "\n" + GOODWILL.replace("Expenses:Misc ", "Income:Sales  ")
                    ).code_set == {"malformed-directive"}


def test_hole_check_since_compares_the_rule(tmp_path: Path) -> None:
    """Hole: the rule line back-dated was no finding, and one dated after REV's last
    decision no `rule-changed` note."""
    assert_rule_compared(
        tmp_path, BOOK, '{date} custom "adjustment-receivable" "invoices-and-payments"',
        "invoices-and-payments",
        "the receivable rule invoices-and-payments dated 2026-03-10 is new since")


def test_holds_init_does_not_write_the_rule(tmp_path: Path) -> None:
    """Held: `bean-adjust init` does not turn the rule on (ledgers whose invoices carry
    no `invoice-id:` would fail): it stays opt-in."""
    ledger = tmp_path / "small.beancount"
    ledger.write_text('option "operating_currency" "EUR"\n'
                      "2024-03-01 open Assets:Bank EUR\n"
                      "2024-03-01 open Equity:Opening EUR\n"
                      '2024-03-02 * "Opening"\n  Assets:Bank  100.00 EUR\n  Equity:Opening\n')
    result = CliRunner().invoke(main, ["init", "-f", str(ledger), "--user", "ann:agent",
                                       "--user", "ben:manager", "--customer", "acme"])
    assert result.exit_code == 0, result.output
    assert "adjustment-receivable" not in (tmp_path / "adjustments.beancount").read_text()


def test_hole_the_demo_and_a_scenario_declare_it() -> None:
    """Hole: the demo ledger did not turn the rule on, and no scenario showed it."""
    text = DEMO.read_text(encoding="utf-8")
    assert 'custom "adjustment-receivable" "invoices-and-payments"' in text
    scenario = ROOT / "ledgers" / "scenarios" / "receivable-moves.beancount"
    body = scenario.read_text(encoding="utf-8")
    for marker in ('* "Acme" "Goodwill"', " pad Assets", '"Reclass to Globex"',
                   '"Payment with fee"'):
        assert f"; expect: {line_in(body, marker)} unrequested-posting" in body
