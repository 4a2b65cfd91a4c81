"""The approval matrix, users, limits and currencies, through the plugin."""

from __future__ import annotations

import pytest

from ledgers import block, event, load, request

# -- thresholds and the chain ---------------------------------------------------


@pytest.mark.parametrize(("amount", "chain"), [
    ("-0.01", ()),
    ("-24.99", ()),
    ("-25.00", ("manager",)),
    ("-25", ("manager",)),
    ("-999.99", ("manager",)),
    ("-1000.00", ("manager", "finance")),
    ("-9999.99", ("manager", "finance")),
    ("-10000.00", ("manager", "finance", "cfo")),
    ("-250000.00", ("manager", "finance", "cfo")),
])
def test_threshold_boundaries(amount: str, chain: tuple[str, ...]):
    loaded = load(request("ADJ-1", "2026-03-01", amount))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.chain == chain
    assert adj.state == ("applied" if not chain else "pending")


def test_debit_uses_its_own_rows():
    loaded = load(request("ADJ-D", "2026-03-01", "49.99", type="debit:fee", account="Income:Fees")
                  + request("ADJ-E", "2026-03-01", "50.00", type="debit:fee",
                            account="Income:Fees"))
    assert loaded.errors == []
    assert loaded.adj("ADJ-D").chain == ()
    assert loaded.adj("ADJ-E").chain == ("manager",)


# A ledger with no approval rows at all (so not on `BASE`).
NO_ROWS = """
    plugin "beancount_adjustments"
    2026-01-01 custom "adjustment-customer" "solo" "standard"
    2026-01-01 custom "adjustment-user" "alice" "agent"
    2026-01-01 open Assets:Receivable:Customers
    2026-01-01 open Income:Sales
"""


def test_no_matching_row_is_an_error_not_an_approval():
    # Before: a ledger with no approval rows approved (and booked) everything.
    loaded = load(block(NO_ROWS) + request("ADJ-1", "2026-03-01", "-99999.00", customer="solo",
                                           account="Income:Sales"), base=False)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "no-policy")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable") == 0
    # The fix the message shows: a row with no roles pre-approves the type.
    assert 'custom "adjustment-approval" "credit:*" 0.00 USD' in loaded.errors[0].message
    fixed = load(block(NO_ROWS) + '2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD\n'
                 + request("ADJ-1", "2026-03-01", "-99999.00", customer="solo",
                           account="Income:Sales"), base=False)
    assert fixed.errors == []
    assert fixed.state("ADJ-1") == "applied"


# -- most specific row wins -----------------------------------------------------

SPECIFIC = """
2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "finance"
  category: "operational:*"
2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "cfo"
  risk: "fraud-suspect"
2026-01-01 custom "adjustment-approval" "credit:*" 0.00 USD "finance" "cfo"
  risk: "fraud-suspect"
  customer-tier: "vip"
2026-01-01 custom "adjustment-approval" "credit:refund" 5000.00 USD "manager" "cfo"
"""


@pytest.mark.parametrize(("customer", "type_", "amount", "extra", "chain"), [
    # customer-tier row beats the plain credit:* rows, whatever the amount
    ("cust_123", "credit:goodwill", "-5.00", "", ("manager",)),
    ("cust_123", "credit:goodwill", "-1500.00", "", ("manager",)),
    ("cust_123", "credit:goodwill", "-20000.00", "", ("manager",)),
    # a standard customer gets the plain rows
    ("cust_456", "credit:goodwill", "-5.00", "", ()),
    ("cust_456", "credit:goodwill", "-1500.00", "", ("manager", "finance")),
    # category row (a pattern) beats the plain rows
    ("cust_456", "credit:refund", "-30000.00", 'category: "operational:billing-error"',
     ("finance",)),
    ("cust_456", "credit:refund", "-30000.00", 'category: "financial:reconciliation"',
     ("manager", "cfo")),
    ("cust_456", "credit:account", "-30000.00", 'category: "financial:reconciliation"',
     ("manager", "finance", "cfo")),
    # risk row
    ("cust_456", "credit:account", "-1.00", 'risk: "fraud-suspect"', ("cfo",)),
    ("cust_456", "credit:account", "-1.00", 'risk: "new-account, fraud-suspect"', ("cfo",)),
    ("cust_456", "credit:account", "-1.00", 'risk: "new-account"', ()),
    # two narrowing keys beat one
    ("cust_123", "credit:goodwill", "-1.00", 'risk: "fraud-suspect"', ("finance", "cfo")),
    # an exact type beats a pattern (same narrowing), even with a lower threshold
    ("cust_456", "credit:refund", "-6000.00", "", ("manager", "cfo")),
    ("cust_456", "credit:refund", "-4999.99", "", ("manager", "finance")),
    ("cust_456", "credit:refund", "-12000.00", "", ("manager", "cfo")),
])
def test_most_specific_row_wins(customer: str, type_: str, amount: str, extra: str,
                                chain: tuple[str, ...]):
    loaded = load(SPECIFIC + request("ADJ-1", "2026-03-01", amount, type=type_,
                                     customer=customer, extra=extra))
    assert loaded.errors == []
    assert loaded.adj("ADJ-1").chain == chain


def test_row_with_narrowing_but_wrong_tier_does_not_match():
    loaded = load(request("ADJ-1", "2026-03-01", "-5.00", type="credit:goodwill",
                          customer="cust_456"))
    assert loaded.adj("ADJ-1").rule is None


# -- limits ---------------------------------------------------------------------


def test_limit_is_inclusive():
    loaded = load(request("ADJ-1", "2026-03-01", "-1000.00")
                  + event("ADJ-1", "2026-03-02", "approve", "bob")
                  + event("ADJ-1", "2026-03-03", "approve", "carol"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


def test_over_limit_by_a_cent():
    loaded = load(request("ADJ-1", "2026-03-01", "-1000.01")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "over-limit")]
    assert loaded.adj("ADJ-1").level == 0


def test_limit_raised_later_applies_from_its_date():
    text = (block("""
        2026-04-01 custom "adjustment-user" "bob" "manager"
          limit: 5000.00 USD
        """) + request("ADJ-1", "2026-03-01", "-3000.00")
            + event("ADJ-1", "2026-03-31", "approve", "bob")
            + event("ADJ-1", "2026-04-01", "approve", "bob")
            + event("ADJ-1", "2026-04-02", "approve", "carol"))
    loaded = load(text)
    assert loaded.codes == [(loaded.line('2026-03-31 custom "adjustment"'), "over-limit")]
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").approvers == ("bob", "carol")


def test_same_day_grants_add_up_each_with_its_own_limit():
    text = block("""
        2026-02-01 custom "adjustment-user" "gina" "manager"
          limit: 100.00 USD
        2026-02-01 custom "adjustment-user" "gina" "finance"
        """) + request("ADJ-1", "2026-03-01", "-1500.00") + request(
        "ADJ-2", "2026-03-01", "-1500.00")
    loaded = load(text + event("ADJ-1", "2026-03-02", "approve", "gina")
                  + event("ADJ-2", "2026-03-02", "approve", "erin")
                  + event("ADJ-2", "2026-03-03", "approve", "gina"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "over-limit")]
    assert loaded.state("ADJ-2") == "applied"
    assert loaded.adj("ADJ-1").level == 0


# -- effective-dated users ------------------------------------------------------

ROLE_REMOVED = """
2026-06-01 custom "adjustment-user" "bob"
"""


def test_role_removed_later():
    loaded = load(ROLE_REMOVED + request("ADJ-1", "2026-05-01", "-50.00")
                  + request("ADJ-2", "2026-05-01", "-50.00")
                  + event("ADJ-1", "2026-05-31", "approve", "bob")
                  + event("ADJ-2", "2026-06-01", "approve", "bob"))
    assert loaded.codes == [(loaded.line('2026-06-01 custom "adjustment" "ADJ-2"'),
                             "missing-role")]
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.state("ADJ-2") == "pending"
    assert "no role" in loaded.errors[0].message


def test_user_declared_later_is_unknown_before():
    loaded = load(block("""
        2026-06-01 custom "adjustment-user" "hank" "manager"
        """) + request("ADJ-1", "2026-05-01", "-50.00")
                  + event("ADJ-1", "2026-05-15", "approve", "hank")
                  + event("ADJ-1", "2026-06-01", "approve", "hank"))
    assert loaded.codes == [(loaded.line('2026-05-15 custom'), "unknown-user")]
    assert loaded.state("ADJ-1") == "applied"


def test_requester_must_be_a_user_on_the_request_date():
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", by="zed"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "unknown-user")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable") == 0


def test_later_grant_replaces_everything_held_before():
    loaded = load(block("""
        2026-04-01 custom "adjustment-user" "carol" "manager"
        """) + request("ADJ-1", "2026-04-02", "-1500.00")
                  + event("ADJ-1", "2026-04-03", "approve", "carol")
                  + event("ADJ-1", "2026-04-04", "approve", "carol"))
    # carol is a manager now and no longer finance; the second approval is by the same person.
    assert [code for _, code in loaded.codes] == ["same-approver"]
    assert loaded.adj("ADJ-1").approvals[0].role == "manager"


# -- effective-dated rows -------------------------------------------------------


def test_later_row_replaces_the_same_key_from_its_date():
    text = block("""
        2026-06-01 custom "adjustment-approval" "credit:*" 25.00 USD "finance"
        """) + request("ADJ-OLD", "2026-05-31", "-50.00") + request(
        "ADJ-NEW", "2026-06-01", "-50.00")
    loaded = load(text)
    assert loaded.errors == []
    assert loaded.adj("ADJ-OLD").chain == ("manager",)
    assert loaded.adj("ADJ-NEW").chain == ("finance",)
    # the request is judged by its own date's rows, whoever approves later
    loaded = load(text + event("ADJ-OLD", "2026-06-05", "approve", "bob")
                  + event("ADJ-NEW", "2026-06-05", "approve", "carol"))
    assert loaded.errors == []
    assert loaded.state("ADJ-OLD") == loaded.state("ADJ-NEW") == "applied"


def test_later_row_with_a_different_threshold_adds_a_row():
    loaded = load(block("""
        2026-06-01 custom "adjustment-approval" "credit:*" 500.00 USD "finance"
        """) + request("ADJ-1", "2026-06-02", "-50.00") + request("ADJ-2", "2026-06-02", "-600.00"))
    assert loaded.adj("ADJ-1").chain == ("manager",)
    assert loaded.adj("ADJ-2").chain == ("finance",)


def test_row_dated_after_the_request_is_not_in_force():
    loaded = load(block(NO_ROWS)
                  + '2026-05-01 custom "adjustment-approval" "credit:*" 0.00 USD "manager"\n'
                  + request("ADJ-1", "2026-04-30", "-50.00", customer="solo",
                            account="Income:Sales"), base=False)
    # Not in force: no row covers the request on its date, which is no approval.
    assert loaded.codes == [(loaded.line("^ADJ-1"), "no-policy")]
    assert loaded.state("ADJ-1") == "invalid"


# -- type policies --------------------------------------------------------------


def test_most_specific_type_policy_wins():
    text = block("""
        2026-01-01 custom "adjustment-policy" "billing:tax"
          apply: "on-approval"
        2026-02-01 * "cust_456" "Invoice"
          invoice-id: "INV-1"
          Assets:Receivable:Customers  500.00 USD
          Income:Sales
        """) + request("ADJ-T", "2026-03-01", "-100.00", type="billing:tax",
                      account="Liabilities:Tax", extra='invoice: "INV-1"') + request(
        "ADJ-D", "2026-03-01", "-100.00", type="billing:discount", extra='invoice: "INV-1"')
    loaded = load(text + event("ADJ-T", "2026-03-02", "approve", "bob")
                  + event("ADJ-D", "2026-03-02", "approve", "bob"))
    assert loaded.errors == []
    assert loaded.state("ADJ-T") == "applied"
    assert loaded.state("ADJ-D") == "approved"


# -- currencies -----------------------------------------------------------------

EUR = """
2026-02-01 price EUR 1.10 USD
"""


@pytest.mark.parametrize(("amount", "chain"), [
    ("-20.00", ()),             # 22.00 USD
    ("-22.73", ("manager",)),   # 25.003 USD
    ("-22.72", ()),             # 24.992 USD
    ("-950.00", ("manager", "finance")),  # 1045 USD
    ("-909.09", ("manager",)),  # 999.999 USD
    ("-909.10", ("manager", "finance")),  # 1000.01 USD
])
def test_eur_request_against_usd_thresholds(amount: str, chain: tuple[str, ...]):
    loaded = load(EUR + request("ADJ-1", "2026-03-01", amount, currency="EUR"))
    assert loaded.errors == []
    adj = loaded.adj("ADJ-1")
    assert adj.chain == chain
    assert adj.amount.currency == "EUR"


def test_price_at_the_request_date_is_used():
    loaded = load(block("""
        2026-02-01 price EUR 1.00 USD
        2026-03-01 price EUR 2.00 USD
        2026-04-01 price EUR 0.10 USD
        """) + request("ADJ-A", "2026-02-15", "-20.00", currency="EUR")
                  + request("ADJ-B", "2026-03-01", "-20.00", currency="EUR")
                  + request("ADJ-C", "2026-04-02", "-20.00", currency="EUR"))
    assert loaded.errors == []
    assert loaded.adj("ADJ-A").chain == ()
    assert loaded.adj("ADJ-B").chain == ("manager",)
    assert loaded.adj("ADJ-C").chain == ()


def test_limit_compared_in_the_limit_currency():
    loaded = load(EUR + request("ADJ-1", "2026-03-01", "-950.00", currency="EUR")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "over-limit")]
    loaded = load(EUR + request("ADJ-1", "2026-03-01", "-900.00", currency="EUR")
                  + event("ADJ-1", "2026-03-02", "approve", "bob"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


def test_limit_is_converted_at_the_request_date_not_the_approval_date():
    # bob's limit is 1000 USD. 900 EUR is 990 USD at the request date and
    # 1800 USD on the day he approves: the request date's price decides.
    loaded = load(block("""
        2026-02-01 price EUR 1.10 USD
        2026-03-02 price EUR 2.00 USD
        """) + request("ADJ-1", "2026-03-01", "-900.00", currency="EUR")
                  + event("ADJ-1", "2026-03-05", "approve", "bob"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    # And the other way round: 600 EUR is 1200 USD at the request date.
    loaded = load(block("""
        2026-02-01 price EUR 2.00 USD
        2026-03-02 price EUR 1.00 USD
        """) + request("ADJ-1", "2026-03-01", "-600.00", currency="EUR")
                  + event("ADJ-1", "2026-03-05", "approve", "bob"))
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "over-limit")]


def test_missing_price_is_an_error_never_a_guess():
    loaded = load(request("ADJ-1", "2026-03-01", "-20.00", currency="EUR"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "missing-price")]
    assert loaded.state("ADJ-1") == "invalid"
    assert loaded.balance("Assets:Receivable", "EUR") == 0


def test_price_only_after_the_request_is_missing():
    loaded = load(block("""
        2026-03-02 price EUR 1.10 USD
        """) + request("ADJ-1", "2026-03-01", "-20.00", currency="EUR"))
    assert loaded.codes == [(loaded.line("^ADJ-1"), "missing-price")]


def test_usd_request_against_eur_threshold_uses_the_inverse_price():
    loaded = load(block("""
        2026-02-01 price EUR 2.00 USD
        2026-01-01 custom "adjustment-approval" "debit:chargeback" 100.00 EUR "finance"
        """) + request("ADJ-1", "2026-03-01", "199.99", type="debit:chargeback",
                      account="Income:Fees")
        + request("ADJ-2", "2026-03-01", "200.00", type="debit:chargeback",
                  account="Income:Fees"))
    assert loaded.errors == []
    assert loaded.adj("ADJ-1").chain == ("manager",)   # the debit:* row (exact beats pattern
    assert loaded.adj("ADJ-2").chain == ("finance",)   # only where the exact row matches)
