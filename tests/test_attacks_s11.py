"""Eleventh round of attacks on the controls (issue 11): look-alike customers, and
`check --since` as an auditor relies on it.

Each test is one way tried to move money to a customer other than the one a
reviewer reads, or to rewrite the past unnoticed; it asserts that the control
holds. The look-alike customer tests failed on the code they were written
against; the others held and stay for the coverage they add.
"""

from __future__ import annotations

import pytest

from beancount_adjustments.core.models import Problem
from ledgers import Loaded, load, request

# -- 1. look-alike customer ids -----------------------------------------------------------


def _lookalike_customers(loaded: Loaded) -> list[Problem]:
    assert loaded.book is not None, "the plugin did not run"
    return [w for w in loaded.book.warnings if w.code == "lookalike-customer"]


@pytest.mark.parametrize("customer", ["\u0441ust_123", "cust_l23", "cust_I23", "CUST_123",
                                      "cust_\uff11\uff12\uff13", "cust_123\u200b"])
def test_a_customer_id_that_looks_like_another_is_a_warning_at_its_line(customer: str) -> None:
    """A second customer "\\u0441ust_123" (a Cyrillic c), "cust_l23" or "cust_I23": a credit to
    it reads as one to cust_123 on every page a reviewer approves from."""
    loaded = load(f'2026-02-01 custom "adjustment-customer" "{customer}" "standard"\n'
                  + request("ADJ-1", "2026-02-02", "-20", customer=customer))
    found = _lookalike_customers(loaded)
    assert len(found) == 1, loaded.book.warnings if loaded.book else None
    warning = found[0]
    assert warning.source.lineno == loaded.line('"adjustment-customer" "' + customer)
    message = warning.message
    assert '"cust_123"' in message
    declared = loaded.line('"adjustment-customer" "cust_123"')
    assert f":{declared}:" in message


def test_a_customer_an_invoice_names_that_looks_like_a_declared_one_is_a_warning() -> None:
    """No declaration: an invoice on the receivable naming "\\u0441ust_123" makes it known."""
    invoice = ('2026-02-01 * "Fake" "Invoice"\n  invoice-id: "INV-9"\n'
               '  customer: "\u0441ust_123"\n'
               "  Assets:Receivable:Customers  10.00 USD\n  Income:Sales\n")
    loaded = load(invoice)
    found = _lookalike_customers(loaded)
    assert [w.source.lineno for w in found] == [loaded.line('"Fake" "Invoice"')]


def test_a_request_for_an_unknown_look_alike_says_whom_it_reads_as() -> None:
    """A request naming "\\u0441ust_123", known nowhere: refused, and the message says why it
    matters (it reads as cust_123), not only "did you mean"."""
    loaded = load(request("ADJ-1", "2026-02-02", "-20", customer="\u0441ust_123"))
    bad = [e for e in loaded.errors if "[unknown-customer]" in e.message]
    assert len(bad) == 1, loaded.errors
    assert bad[0].source["lineno"] == loaded.line("^ADJ-1")
    assert 'reads as the customer "cust_123"' in bad[0].message
    assert loaded.state("ADJ-1") != "applied"


def test_customers_whose_ids_differ_to_the_eye_give_no_warning() -> None:
    loaded = load('2026-02-01 custom "adjustment-customer" "cust_124" "standard"\n'
                  '2026-02-01 custom "adjustment-customer" "cust_1234" "standard"\n')
    assert _lookalike_customers(loaded) == []
    # The same customer declared again (a new tier) reads as itself.
    again = load('2026-02-01 custom "adjustment-customer" "cust_123" "standard"\n')
    assert _lookalike_customers(again) == []
