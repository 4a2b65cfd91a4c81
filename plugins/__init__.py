"""Site-specific extensions written against beancount_adjustments' public API.

Amount calculators (`tax_inclusive`, `tiered_fee`) are named from a
template, `calculator: "plugins.tax_inclusive:split"`; `bean-adjust` puts
the ledger's directory and the current directory on `sys.path` before
importing them, so this package needs no installing.
"""
