"""Round 58 of attacks: money moved without a request at all.

Every control judged adjustment requests and their events, and nothing else. So
alice, an accountant with commit rights and no approval role, wrote an ordinary
transaction crediting a customer 5,000 USD against `Expenses:Adjustments:Credits`,
the very account the approved credits use: no request, no approval, bean-check
clean, reports and Fava silent. The same through a `pad` directive, a transaction
with `customer:` but no `adjustment-type:`, the offset account against the bank,
a sub-account of a reserved pattern, a plugin listed before ours adding such a
posting, `adjustment_type:` (no request) and `adjustment-id:` alone. Now
`custom "adjustment-reserved" "PATTERN"` names the accounts only adjustments post
to: from its date on, any other posting there is the error `unrequested-posting`;
`check --since` compares the directive like every rule; `init` and the demo
declare the offset accounts. "Hole:" tests failed on the code they were written
against; "Held:" ones held.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from click.testing import CliRunner
from repos import BOOK, assert_rule_compared
from site_plugins import plain_credit, site_plugin

from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Source
from ledgers import BASE, DEMO, ROOT, line_in, load, load_file, request

RESERVED = """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 open Expenses:Adjustments:Credits:Extra
2026-01-01 open Income:Adjustments:Debits
2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:*"
2026-01-01 custom "adjustment-reserved" "Income:Adjustments:*"
"""

GOODWILL = """
2026-12-04 * "cust_123" "Goodwill"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
"""


def _unrequested(loaded, marker: str) -> str:
    """The one `unrequested-posting` error, which must sit at the line of `marker`."""
    found = [e for e in loaded.errors if str(e.message).endswith("[unrequested-posting]")]
    assert len(found) == 1, loaded.codes
    assert found[0].source["lineno"] == loaded.line(marker), loaded.codes
    return str(found[0].message)


def test_hole_a_plain_transaction_to_the_credit_account(tmp_path: Path) -> None:
    """Hole: a plain `*` transaction moving 5,000 USD from a customer to the credits'
    offset account loaded with no error at all."""
    loaded = load(RESERVED + GOODWILL)
    message = _unrequested(loaded, '"Goodwill"')
    assert "Expenses:Adjustments:Credits" in message, message
    assert '"Expenses:Adjustments:*"' in message, message
    assert "2026-01-01" in message, message
    assert "bean-adjust create" in message, message
    assert "\n" not in message
    # Only an error, as Beancount's own are: the transaction is kept as written.
    assert loaded.balance("Expenses:Adjustments:Credits") == 5000


def test_hole_a_pad_from_the_credit_account(tmp_path: Path) -> None:
    """Hole: `pad Assets:Receivable:Customers Expenses:Adjustments:Credits` and a balance
    assertion moved the money in a 'P' transaction nobody requested."""
    loaded = load(RESERVED + """
2026-12-01 pad Assets:Receivable:Customers Expenses:Adjustments:Credits
2026-12-05 balance Assets:Receivable:Customers -5000.00 USD
""")
    message = _unrequested(loaded, " pad ")
    assert "Expenses:Adjustments:Credits" in message, message


def test_hole_a_customer_but_no_adjustment_type() -> None:
    """Hole: a transaction with `customer:` (named as a customer's) and no
    `adjustment-type:` posted to the reserved account unseen."""
    loaded = load(RESERVED + """
2026-12-04 * "cust_123" "Courtesy"
  customer: "cust_123"
  Assets:Receivable:Customers   -5000.00 USD
  Expenses:Adjustments:Credits   5000.00 USD
""")
    _unrequested(loaded, '"Courtesy"')


def test_hole_the_offset_account_against_the_bank() -> None:
    """Hole: cash out of the bank booked to the debit offset account, no customer
    involved, passed."""
    loaded = load(RESERVED + """
2026-12-04 * "Transfer"
  Assets:Bank                   -5000.00 USD
  Income:Adjustments:Debits      5000.00 USD
""")
    message = _unrequested(loaded, '"Transfer"')
    assert "Income:Adjustments:Debits" in message, message
    assert "Income:Adjustments:*" in message, message


def test_hole_a_sub_account_of_a_reserved_pattern() -> None:
    """Hole: `Expenses:Adjustments:Credits:Extra`, under the reserved pattern, took a
    plain posting."""
    loaded = load(RESERVED + GOODWILL.replace("Credits   5000", "Credits:Extra 5000"))
    message = _unrequested(loaded, '"Goodwill"')
    assert "Expenses:Adjustments:Credits:Extra" in message, message
    # An exact name (as `init` writes them) reserves the accounts under it too.
    exact = load(RESERVED.replace('"Expenses:Adjustments:*"', '"Expenses:Adjustments:Credits"')
                 + GOODWILL.replace("Credits   5000", "Credits:Extra 5000"))
    _unrequested(exact, '"Goodwill"')


def test_hole_odd_spellings_of_the_request_keys() -> None:
    """Hole: `adjustment_type:` (not the request key) and `adjustment-id:` alone make
    no request, and such transactions posted to the reserved account unseen."""
    for key in ('adjustment_type: "credit:goodwill"', 'adjustment-id: "ADJ-77"'):
        loaded = load(RESERVED + GOODWILL.replace('"Goodwill"\n', f'"Goodwill"\n  {key}\n'))
        _unrequested(loaded, '"Goodwill"')


def test_holds_a_capitalised_request_key_is_a_syntax_error() -> None:
    """Held: `Adjustment-Type:` is no metadata key to Beancount: a syntax error, so
    bean-check fails anyway (and the rule names the posting too)."""
    loaded = load(RESERVED + GOODWILL.replace('"Goodwill"\n',
                                              '"Goodwill"\n  Adjustment-Type: "credit:x"\n'))
    assert loaded.errors
    assert None in loaded.code_set  # Beancount's own error


def test_hole_a_plugin_before_ours_adds_the_posting(tmp_path: Path) -> None:
    """Hole: a site plugin listed before ours added a plain transaction to the credit
    account: no adjustment directive changed, so nothing was said."""
    site = site_plugin(tmp_path, plain_credit("Expenses:Adjustments:Credits", "cust_123"))
    path = tmp_path / "main.beancount"
    path.write_text(f'option "insert_pythonpath" "TRUE"\nplugin "{site}"\n' + BASE + RESERVED)
    loaded = load_file(path)
    found = [e for e in loaded.errors if str(e.message).endswith("[unrequested-posting]")]
    assert len(found) == 1, loaded.codes
    assert found[0].source["lineno"] == 1


def test_holds_before_the_rule_and_unreserved_accounts() -> None:
    """Held: a plain posting dated before the rule, or to an account no pattern covers
    (`Expenses:Goodwill`), is no error: the rule binds from its date, on what it names."""
    loaded = load(RESERVED.replace("2026-01-01 custom", "2026-12-05 custom") + GOODWILL
                  + GOODWILL.replace("Adjustments:Credits", "Goodwill     ")
                  .replace("12-04", "12-06"))
    assert loaded.errors == [], loaded.codes


def test_holds_requests_post_to_reserved_accounts() -> None:
    """Held: a request whose postings hit a reserved account books as before, and what
    the plugin books for it is no unrequested posting; a type policy's
    `offset-accounts:` judges requests as before."""
    credit = request("ADJ-1", "2026-03-01", "-50.00").replace(
        "Income:Sales:Returns", "Expenses:Adjustments:Credits")
    loaded = load(RESERVED + credit + """
2026-03-02 custom "adjustment" "ADJ-1" "approve"
  by: "bob"
""")
    assert loaded.errors == [], loaded.codes
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.balance("Expenses:Adjustments:Credits") == 50
    policed = load(RESERVED + '2026-01-01 custom "adjustment-policy" "credit:*"\n'
                   '  offset-accounts: "Income:*"\n' + credit)
    assert "offset-not-allowed" in policed.code_set, policed.codes
    assert "unrequested-posting" not in policed.code_set


def test_hole_malformed_reserved_lines() -> None:
    """Hole: `adjustment-reserved` lines with no pattern, a pattern no account name can
    match, two values, or one covering the receivable root were read as nothing."""
    # (With no value at all Beancount's own `pad` plugin fails on the line, a
    # Beancount error whatever the directive: an empty pattern stands for it.)
    for line in ('2026-01-01 custom "adjustment-reserved" ""',
                 '2026-01-01 custom "adjustment-reserved" "expenses:adjustments"',
                 '2026-01-01 custom "adjustment-reserved" "Expenses:Adjustments:"',
                 '2026-01-01 custom "adjustment-reserved" "Expenses:A, Income:B"',
                 '2026-01-01 custom "adjustment-reserved" "Expenses:A" "Income:B"',
                 '2026-01-01 custom "adjustment-reserved" 5.00 USD',
                 '2026-01-01 custom "adjustment-reserved" "Assets:*"',
                 '2026-01-01 custom "adjustment-reserved" "Assets:Receivable:Customers"',
                 '2026-01-01 custom "adjustment-reserved" "Assets:Receivable:Customers:X"',
                 '2026-01-01 custom "adjustment-reserved" "*:Customers"',
                 '2026-01-01 custom "adjustment-reserved" "Assets:Receivable"',
                 '2026-01-01 custom "adjustment-reserved" "[A]ssets:Receivable:Customers:X"',
                 '2026-01-01 custom "adjustment-reserved" "Expenses"'):
        loaded = load("\n" + line + "\n")
        assert [code for _, code in loaded.codes] == ["malformed-directive"], (line,
                                                                              loaded.codes)
        assert loaded.codes[0][0] == loaded.line("adjustment-reserved"), line
        message = str(loaded.errors[0].message)
        assert "\n" not in message, message
        assert 'custom "adjustment-reserved"' in message, message


def test_hole_a_pattern_over_the_receivable_says_why() -> None:
    """Hole: (no rule was read) a pattern covering the receivable root says that invoices
    and payments post there."""
    loaded = load('\n2026-01-01 custom "adjustment-reserved" "Assets:*"\n')
    assert "invoices and payments" in str(loaded.errors[0].message)


def test_hole_the_matcher_is_earliest_and_cached() -> None:
    """Hole: (no matcher existed) the account -> pattern table answers from its cache, and the
    earliest pattern covering an account is the one in force."""
    from beancount_adjustments.core.reserved import Reserved, ReservedPattern

    src = Source("x", 1)
    reserved = Reserved([ReservedPattern(datetime.date(2026, 6, 1), "Expenses:*", src),
                         ReservedPattern(datetime.date(2026, 1, 1), "Expenses:A", src)])
    assert reserved.binding("Expenses:A", datetime.date(2026, 1, 1)).pattern == "Expenses:A"
    assert reserved.binding("Expenses:B", datetime.date(2026, 1, 1)) is None
    assert reserved.binding("Expenses:B", datetime.date(2026, 6, 1)).pattern == "Expenses:*"
    assert reserved.binding("Income:B", datetime.date(2027, 1, 1)) is None
    assert set(reserved.seen) == {"Expenses:A", "Expenses:B", "Income:B"}


def test_hole_check_since_compares_reserved_lines(tmp_path: Path) -> None:
    """Hole: a reserved line removed after REV, or one back-dated, was no finding, and
    a new one dated after REV's last decision no note."""
    base = BOOK.replace("2026-01-01 open Liabilities:Tax\n",
                        "2026-01-01 open Liabilities:Tax\n"
                        "2026-01-01 open Expenses:Adjustments:Credits\n")
    assert_rule_compared(
        tmp_path, base, '{date} custom "adjustment-reserved" "Expenses:Adjustments:*"',
        "Expenses:Adjustments:*",
        "reserved account pattern Expenses:Adjustments:* dated 2026-03-10 is new")


def test_hole_init_reserves_the_offset_accounts(tmp_path: Path) -> None:
    """Hole: `bean-adjust init` opened the offset accounts `create` uses and left them
    open to any plain transaction."""
    ledger = tmp_path / "small.beancount"
    ledger.write_text('option "operating_currency" "EUR"\n'
                      "2024-03-01 open Assets:Bank EUR\n"
                      "2024-03-01 open Equity:Opening EUR\n"
                      '2024-03-02 * "Opening"\n  Assets:Bank  100.00 EUR\n  Equity:Opening\n')
    result = CliRunner().invoke(main, ["init", "-f", str(ledger), "--user", "ann:agent",
                                       "--user", "ben:manager", "--customer", "acme"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "adjustments.beancount").read_text()
    for account in ("Expenses:Adjustments:Credits", "Income:Adjustments:Debits",
                    "Income:Adjustments:Billing"):
        assert f'2024-03-01 custom "adjustment-reserved" "{account}"' in written, written
    with ledger.open("a") as out:
        out.write('2024-03-05 * "acme" "Goodwill"\n  Assets:Receivable  -10.00 EUR\n'
                  "  Expenses:Adjustments:Credits\n")
    loaded = load_file(ledger)
    assert [code for _, code in loaded.codes] == ["unrequested-posting"], loaded.codes


def test_hole_the_demo_and_a_scenario_declare_it() -> None:
    """Hole: the demo ledger reserved nothing, and no scenario showed the error."""
    text = DEMO.read_text(encoding="utf-8")
    assert 'custom "adjustment-reserved" "Expenses:Adjustments:*"' in text
    assert 'custom "adjustment-reserved" "Income:Adjustments:*"' in text
    scenario = ROOT / "ledgers" / "scenarios" / "unrequested-posting.beancount"
    body = scenario.read_text(encoding="utf-8")
    for marker in ('* "cust_1" "Goodwill"', " pad Assets"):
        assert f"; expect: {line_in(body, marker)} unrequested-posting" in body


def test_holds_a_forgery_on_a_reserved_account_is_one_error() -> None:
    """Held: a plain transaction dressed as a booked adjustment (`#adjustment`) on the
    reserved account is `forged-effect`, once: its own error already says to file a
    request, so it is not also `unrequested-posting`."""
    loaded = load(RESERVED + GOODWILL.replace('"Goodwill"\n', '"Goodwill" #adjustment\n'))
    assert [code for _, code in loaded.codes] == ["forged-effect"], loaded.codes
