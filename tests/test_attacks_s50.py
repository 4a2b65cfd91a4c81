"""Round 50 of attacks: what the customer sees.

Everything a customer is sent or shown (the statement in every format, customer
notices by e-mail or any channel, their templates and subjects) holds only what is
meant for that customer. alice (an agent who files requests) and whoever edits the
ledger try to reach the staff-only fields through the templates, to show one
customer another's invoice or account, to smuggle text into a subject that a mail
client reads as something else, and to have a figure read otherwise than booked.
"Hole:" tests failed on the code they were written against; "Held:" ones held.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments import notify
from beancount_adjustments.beans.notify_lines import parse_customer_notices
from beancount_adjustments.cli import main
from beancount_adjustments.core.customers import CustomerError, pick_customer
from beancount_adjustments.core.notice_lines import Channel
from beancount_adjustments.notify import customers as notify_customers
from beancount_adjustments.reports.statement import render, statement
from ledgers import BASE, event, ledger, load, request, with_settings

D = datetime.date
FOUR = """
2026-01-01 commodity BTC
2026-01-01 price BTC 50000.00 USD
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  name: "Fourfifty Ltd"
  contact: "billing@cust456.example"
2026-01-01 custom "adjustment-customer-notice" "*" "*"
"""
"""cust_456, told of every kind of every type."""
ACME_INVOICE = """
2026-02-01 * "Acme" "Consulting February"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers  900.00 USD
  Income:Sales
"""


def _notices(text: str, day: D | None = None) -> list[notify.Notice]:
    loaded = load(FOUR + text)
    assert loaded.book is not None
    setup, problems = parse_customer_notices(loaded.entries)
    assert problems == []
    return notify_customers.customer_notices(loaded.book, day or D(2026, 3, 20), setup)


def _statement(text: str, customer: str, start: D, end: D, *, base: bool = True) -> Any:
    loaded = load(text, base=base)
    assert loaded.book is not None
    return statement(loaded.entries, loaded.book, customer, start, end)


# -- the statement ----------------------------------------------------------------------

def test_a_shared_invoice_id_shows_no_other_customers_credit_left() -> None:
    """Hole: cust_456's invoice written under cust_123's invoice id (INV-1, a
    `duplicate-reference` error, yet the statement is still made) showed as credit left
    what may still be credited against cust_123's 900 USD invoice: another customer's
    figure. Now an invoice line shows credit left only when it is the invoice the
    replay holds credits to (the first under its id)."""
    st = _statement(ACME_INVOICE + """
2026-02-02 * "Four" "Support February"
  invoice-id: "INV-1"
  customer: "cust_456"
  Assets:Receivable:Customers  100.00 USD
  Income:Sales
""", "cust_456", D(2026, 2, 1), D(2026, 3, 31))
    (line,) = st.sections[0].lines
    assert (line.reference, line.amount, line.credit_left) == ("INV-1", Decimal("100.00"), None)
    assert "900" not in render(st, "table")
    acme = _statement(ACME_INVOICE, "cust_123", D(2026, 2, 1), D(2026, 3, 31))
    assert acme.sections[0].lines[0].credit_left == Decimal("900.00")  # its own still shows


OWN = with_settings("{'customer-account': 'Assets:Receivable:{customer}'}", BASE) + """
2026-01-01 open Assets:Receivable:Cust1
2026-01-01 open Assets:Receivable:Cust2
2026-02-01 * "Cust2" "Cust2's confidential project"
  invoice-id: "INV-9"
  customer: "Cust1"
  Assets:Receivable:Cust2  700.00 USD
  Income:Sales
"""


def test_a_posting_on_another_customers_own_account_stays_off_this_statement() -> None:
    """Hole: with `customer-account`, an invoice that names Cust1 (`customer:`) but bills
    Cust2's own account showed on both statements: Cust1 read Cust2's invoice, and a
    closing balance of 700 USD its own account does not hold. A posting on a
    customer's own account is that customer's alone (the replay's `customer-account`
    rule); `customer:` decides only for the receivable accounts no customer owns."""
    assert _statement(OWN, "Cust1", D(2026, 1, 1), D(2026, 3, 31), base=False).sections == ()
    (section,) = _statement(OWN, "Cust2", D(2026, 1, 1), D(2026, 3, 31), base=False).sections
    assert section.closing == Decimal("700.00")


def test_statement_and_notice_show_every_booked_digit() -> None:
    """Hole: figures were printed with two decimals whatever was booked: a credit of
    10.005 USD read 10.00 USD (on the statement, in its running balance and in the
    customer's notice), one of 0.0004 BTC read 0.00 BTC. Every digit booked is shown
    now, never fewer than two."""
    text = (request("A-1", "2026-03-02", "-10.005")
            + request("A-2", "2026-03-02", "-0.0004", currency="BTC"))
    st = _statement(FOUR + text, "cust_456", D(2026, 3, 1), D(2026, 3, 20))
    table = render(st, "table")
    assert "-10.005" in table
    assert "-0.0004" in table
    assert "10.00 " not in table
    assert "0.00 BTC" not in table
    assert "<td class=\"num amount\">-10.005</td>" in render(st, "html")
    bodies = {n.adjustment_id: n.body for n in _notices(text)}
    assert "an adjustment of 10.005 USD" in bodies["A-1"]
    assert "an adjustment of 0.0004 BTC" in bodies["A-2"]


def test_a_reversal_is_never_booked_before_the_credit_it_undoes() -> None:
    """Hole: a credit approved on 3 March with `effective: 2026-03-10`, cancelled on
    the 4th and its reversal approved on the 5th, was reversed on the 5th: a statement
    to the 7th showed a 500 USD "Reversal" of a credit it never showed (the books
    owed 500 USD nobody billed), and the notice read "applied on 2026-03-10 was
    reversed on 2026-03-05". A reversal is booked on its last approval, or on the
    effect's own date when that is later."""
    text = (request("A-1", "2026-03-02", "-500.00", extra="effective: 2026-03-10")
            + event("A-1", "2026-03-03", "approve", "bob")
            + event("A-1", "2026-03-04", "cancel", "carol", reason="duplicate")
            + event("A-1", "2026-03-05", "approve", "erin"))
    loaded = load(FOUR + text)
    assert not loaded.errors, loaded.errors
    assert (loaded.state("A-1"), loaded.adj("A-1").reversed_on) == ("reversed", D(2026, 3, 10))
    assert loaded.tagged("adjustment-reversal", "A-1")[0].date == D(2026, 3, 10)
    assert _statement(FOUR + text, "cust_456", D(2026, 3, 1), D(2026, 3, 7)).sections == ()
    (reversed_,) = [n for n in _notices(text) if n.kind == "customer-reversed"]
    assert "on 2026-03-10 was reversed on 2026-03-10" in reversed_.body


def test_pending_withdrawn_and_rejected_credits_are_not_shown_as_applied() -> None:
    """Held: only booked entries make the statement: a pending request, one withdrawn
    and one rejected move nothing on it, and no `applied` notice is sent for them."""
    text = (request("A-1", "2026-03-02", "-500.00")
            + request("A-2", "2026-03-02", "-600.00")
            + event("A-2", "2026-03-03", "cancel", "alice", reason="x")
            + request("A-3", "2026-03-02", "-700.00")
            + event("A-3", "2026-03-03", "reject", "bob", reason="x"))
    assert _statement(FOUR + text, "cust_456", D(2026, 3, 1), D(2026, 3, 20)).sections == ()
    assert not [n for n in _notices(text) if n.kind == "customer-applied"]


def test_csv_and_html_statements_neutralise_ledger_text() -> None:
    """Held: an invoice narration written as a formula is quoted in the CSV, and markup
    in a narration or the customer's name is escaped in the HTML."""
    st = _statement(FOUR.replace("Fourfifty Ltd", "<b>Four</b>") + """
2026-03-02 * "Four" "=HYPERLINK(\\"http://evil.example\\",\\"Pay here\\") <script>x</script>"
  invoice-id: "INV-4"
  customer: "cust_456"
  Assets:Receivable:Customers  10.00 USD
  Income:Sales
""", "cust_456", D(2026, 3, 1), D(2026, 3, 20))
    csv_text = render(st, "csv")
    assert ",\"'=HYPERLINK(" in csv_text
    page = render(st, "html")
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;b&gt;Four&lt;/b&gt;" in page


@pytest.mark.parametrize("asked", ["cust_l23", "\u0441ust_123", "CUST_123 "])
def test_a_look_alike_id_picks_no_other_customers_statement(asked: str) -> None:
    """Held: an id that only reads as cust_123 (a letter l, a Cyrillic es, case) names
    no customer: the statement is refused, never made for cust_123."""
    loaded = load("")
    assert loaded.book is not None
    with pytest.raises(CustomerError, match="is not known"):
        pick_customer(loaded.book.directory, asked)


# -- customer notices -------------------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{request.reason}", "{adj.history[0]}", "{0.__class__}", "{}", "{0}", "{reason!r}",
    "{amount:.0f}", "{id:{reason}}", "{comment}", "{notes}", "{approvers}", "{by}",
])
def test_a_placeholder_reaches_no_field_but_its_own(template: str) -> None:
    """Held: attribute and index access, positional fields, conversions, format specs
    and staff fields are no placeholders: the line is `bad-customer-notice` and its
    notices are held."""
    line = f'2026-01-01 custom "adjustment-customer-notice" "credit:*" "rejected"\n' \
           f'  body: "{template}"\n'
    loaded = load(line)
    setup, problems = parse_customer_notices(loaded.entries)
    assert [p.code for p in problems] == ["bad-customer-notice"]
    assert setup.notices[0].problem is not None


def test_customer_reason_on_an_approve_reaches_no_customer() -> None:
    """Held: `customer-reason:` is read from the request and from the deciding reject or
    cancel only: one written on an approve (of the request or of its reversal) is
    never sent."""
    text = (request("A-1", "2026-03-02", "-500.00", extra='customer-reason: "From the request"')
            + event("A-1", "2026-03-03", "approve", "bob", customer_reason="APPROVE-SAYS")
            + event("A-1", "2026-03-04", "cancel", "carol", reason="x")
            + event("A-1", "2026-03-04", "approve", "erin", customer_reason="REVERSAL-SAYS"))
    texts = [n.subject + n.body for n in _notices(text)]
    assert texts
    assert not any("SAYS" in t for t in texts)
    assert any("From the request" in t for t in texts)


def test_an_adjustment_kept_off_the_statement_sends_the_customer_no_notice() -> None:
    """Hole: `on-statement: FALSE` keeps an adjustment's detail off the customer's
    statement (one "Account adjustment" line, no reference), yet the opted-in notices
    named it to the customer anyway: "Adjustment A-1 applied to your account", its id
    and kind. A customer is told nothing the statement withholds: no notice of any
    kind is sent for such an adjustment."""
    text = (request("A-1", "2026-03-02", "-500.00", extra="on-statement: FALSE")
            + event("A-1", "2026-03-03", "approve", "bob")
            + request("A-2", "2026-03-02", "-500.00"))
    assert {n.adjustment_id for n in _notices(text)} == {"A-2"}


def test_a_mixed_currency_request_sends_no_amount_in_a_wrong_currency() -> None:
    """Held: a request moving USD and EUR on the receivable is `mixed-currencies`
    (invalid), so no notice sums the two under one currency."""
    text = FOUR + """
2026-03-02 ! "cust_456" "x" ^A-1
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "x"
  requested-by: "alice"
  Income:Sales:Returns  20.00 USD
  Assets:Receivable:Customers  -20.00 USD
  Assets:Receivable:Customers  -5.00 EUR
  Income:Sales:Returns  5.00 EUR
"""
    loaded = load(text)
    assert "mixed-currencies" in loaded.code_set
    setup, _ = parse_customer_notices(loaded.entries)
    assert loaded.book is not None
    assert notify_customers.customer_notices(loaded.book, D(2026, 3, 9), setup) == []


@pytest.mark.parametrize("contact", ["billing@cust456.example,evil@evil.example",
                                     "billing@cust456.example?bcc=evil@evil.example",
                                     "billing@cust456.example evil@evil.example"])
def test_a_contact_with_a_second_address_sends_nothing(contact: str) -> None:
    """Held: a `contact:` that is more than one address is refused at its line, and
    nothing goes through the `customer:*` channel to that customer."""
    text = FOUR.replace("billing@cust456.example", contact) + request("A-1", "2026-03-02",
                                                                      "-500.00")
    loaded = load(text)
    assert loaded.book is not None
    setup, _ = parse_customer_notices(loaded.entries)
    found = notify_customers.customer_notices(loaded.book, D(2026, 3, 2), setup)
    channel = Channel(target="customer:*", url="mailto://smtp.example.com?to={email}")
    outcome = notify.plan(found, [channel], loaded.book, today=D(2026, 3, 2),
                          state=notify.SentState({}, {}))
    assert outcome.planned == []
    assert any("is not one e-mail address" in r for r in outcome.refused)


def test_a_subject_is_one_line_and_carries_no_encoded_word(tmp_path: Path, smtp: Any) -> None:
    """Hole: a customer's `name:` (or `customer-reason:`) reaches a `title:` through
    {name}: a line break in it split the dry run's line while the mail carried a
    space, and an RFC 2047 encoded word written in it (`=?utf-8?b?...?=`) was decoded
    by the mail client, so the customer read "Your account is closed", words the
    ledger never shows. The subject is one line now, an encoded word's `=?` broken
    with a zero-width space, and what the dry run prints is what is sent."""
    box, port = smtp
    word = "=?utf-8?b?WW91ciBhY2NvdW50IGlzIGNsb3NlZA==?="  # "Your account is closed"
    text = ledger(FOUR.replace("Fourfifty Ltd", f"Four {word}\\nBcc: evil@evil.example") + f"""
2026-01-01 custom "adjustment-channel" "customer:*" "mailto://127.0.0.1:{port}?from=a@example.com&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-customer-notice" "credit:*" "received"
  title: "Hello {{name}}, about {{id}}"
""" + request("A-1", "2026-03-02", "-500.00"))
    path = tmp_path / "main.beancount"
    path.write_text(text)
    args = ["notify", "-f", str(path), "--today", "2026-03-02"]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    sent = CliRunner().invoke(main, args)
    assert sent.exit_code == 0, sent.output
    (mail,) = [m for m in box.messages if m["to"] == ["billing@cust456.example"]]
    assert "Your account" not in mail["subject"]
    shown = word.replace("=?", "=\u200b?")
    assert mail["subject"] == f"Hello Four {shown} Bcc: evil@evil.example, about A-1"
    assert f"    {mail['subject']} (notice id " in dry.output
