"""Whether a transaction balances as Beancount balances one by default.

Beancount's tolerance options (`inferred_tolerance_default`, `tolerance_multiplier`,
`infer_tolerance_from_cost`) are the ledger author's to set: with
`inferred_tolerance_default "USD:5000"` a "payment" taking 5,000 USD off a customer
while 1 USD reaches the bank balances, `bean-check` is clean, and the bank
reconciles (1 USD did arrive). What moves the customer's account is judged by the
defaults instead (`receivable_rule.DEFAULT_TOLERANCE`): half the last digit written,
whole numbers exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beancount.core import interpolate
from beancount.parser import options

_KEYS = ("inferred_tolerance_default", "tolerance_multiplier", "infer_tolerance_from_cost")
_DEFAULTS = {key: options.OPTIONS_DEFAULTS[key] for key in _KEYS}


@dataclass(frozen=True)
class Balancing:
    """The ledger's tolerance options, against Beancount's defaults."""

    ledger: Mapping[str, Any] = field(default_factory=lambda: dict(_DEFAULTS))

    @classmethod
    def of(cls, options_map: Mapping[str, Any]) -> Balancing:
        return cls({key: options_map.get(key, _DEFAULTS[key]) for key in _KEYS})

    def left_over(self, postings: Sequence[Any]) -> str | None:
        """What `postings` leave over beyond Beancount's default tolerance ("-4999 USD",
        per currency, comma-separated) while the ledger's options let them balance, or
        None: the defaults balance them, or the ledger's do not either (Beancount's own
        error, "Transaction does not balance")."""
        if self.ledger == _DEFAULTS:
            return None  # the common case: Beancount judges as the defaults do
        try:
            residual = interpolate.compute_residual(postings)  # type: ignore[no-untyped-call]
            loose = interpolate.infer_tolerances(  # type: ignore[no-untyped-call]
                postings, self.ledger)
            if not residual.is_small(loose):
                return None
            strict = interpolate.infer_tolerances(  # type: ignore[no-untyped-call]
                postings, _DEFAULTS)
        except (AttributeError, TypeError, ValueError):  # an incomplete posting
            return None
        over = [f"{position.units.number} {position.units.currency}" for position in residual
                if abs(position.units.number) > strict[position.units.currency]]
        return ", ".join(over) or None
