"""The README's promises that can drift: every error code the package can
report is documented, the export schema in docs/ lists the fields the export
writes, and the syntax examples of DESIGN.md load cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "beancount_adjustments"

# First string argument of the calls that report a problem, and `code=` keywords.
CODE_CALL = re.compile(
    r'(?:\.fail|\.refuse|\.problem|refuse)\(\s*(?:adj,\s*event,\s*)?"([a-z]+(?:-[a-z]+)+)"'
    r'|code="([a-z]+(?:-[a-z]+)+)"')
# Codes built from a template, expanded for the keys they take.
TEMPLATED = {"unknown-invoice", "unknown-order", "invoice-customer", "order-customer"}


def emitted_codes() -> set[str]:
    codes = set(TEMPLATED)
    for path in PACKAGE.rglob("*.py"):
        for match in CODE_CALL.finditer(path.read_text()):
            codes.add(match.group(1) or match.group(2))
    return codes


def documented_codes() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Errors", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", section))


def test_every_error_code_is_documented():
    codes = emitted_codes()
    assert len(codes) > 30, "the scan found too few codes; has the reporting API changed?"
    missing = codes - documented_codes()
    assert not missing, f"document these error codes in README.md's Errors section: {missing}"


def test_the_export_schema_lists_every_field_in_order():
    from beancount_adjustments.reports import export

    schema = (ROOT / "docs" / "export.md").read_text()
    adjustments, events = (part.split("\n## ", 1)[0] for part in
                           schema.split("## Adjustment fields", 1)[1].split("## Event fields"))
    field = re.compile(r"^\| `([a-z_]+)` \|", re.MULTILINE)
    assert field.findall(adjustments) == list(export.ADJUSTMENT_FIELDS)
    assert field.findall(events) == list(export.EVENT_FIELDS)


def test_design_examples_load_cleanly():
    from beancount import loader

    from beancount_adjustments import State, book_of

    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip("shared/DESIGN.md is not beside this checkout")
    block = design.read_text().split("```beancount\n", 1)[1].split("```", 1)[0]
    ledger = (
        'option "operating_currency" "USD"\n'
        "2026-01-01 open Income:Sales:Returns\n"
        "2026-01-01 open Assets:Receivable:Customers\n"
        "2026-11-01 * \"order\"\n  order-id: \"order_456\"\n  customer: \"cust_123\"\n"
        "  Assets:Receivable:Customers  100.00 USD\n  Income:Sales:Returns\n"
        + block)
    _, errors, options = loader.load_string(ledger)
    assert errors == []
    book = book_of(options)
    assert book is not None
    adj = book.get("ADJ-2026-0042")
    assert adj is not None
    # carol's cancel asks for the reversal, which a manager must approve
    # (DESIGN.md, Lifecycle: a reversal moves money too).
    assert adj.state is State.REVERSING
    assert adj.reversal_chain == ("manager",)
    assert adj.approvers == ("bob",)
