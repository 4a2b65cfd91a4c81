"""The demo ledger generator: deterministic Beancount text for an imaginary
subscription business whose every decision is valid under its own rules.

`ledger` assembles it from `org` (people, matrix, customers and the rules'
copy), `requests` (what each request is) and `decisions` (the events that
take it to its end state); `entries` and `catalogue` are what they share.
What the ledger holds is in docs/demo.md. Nothing reads the clock or the
environment: the same arguments always give the same text.
"""

from beancount_adjustments.demo.ledger import generate_ledger, write_ledger

__all__ = ["generate_ledger", "write_ledger"]
