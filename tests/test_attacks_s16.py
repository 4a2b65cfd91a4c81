"""Attacks, round 16: controls that hold (issue 11).

Look-alike request ids, the CLI deciding on the step the decider saw, and the
same refund entered twice under different ids and reasons.
"""

from __future__ import annotations

import pytest

from beancount_adjustments.core.models import Problem
from ledgers import Loaded, load, request


def _lookalike_ids(loaded: Loaded) -> list[Problem]:
    assert loaded.book is not None
    return [w for w in loaded.book.warnings if w.code == "lookalike-id"]


# -- look-alike request ids -----------------------------------------------------------


@pytest.mark.parametrize("other", ["ADJ-2026-OO42", "adj-2026-0042", "ADJ-2O26-0042",
                                   "ADJ-2026-0O42"])
def test_a_request_id_that_reads_as_another_is_a_warning_at_the_later(other: str) -> None:
    """Hole: "ADJ-2026-OO42" (letter O) beside "ADJ-2026-0042": a decision naming one
    reads as the other's in every list. Users and customers had `lookalike-user` and
    `lookalike-customer`; request ids had nothing."""
    loaded = load(request("ADJ-2026-0042", "2026-02-02", "-20")
                  + request(other, "2026-02-03", "-20", customer="cust_123"))
    assert loaded.errors == [], loaded.errors
    found = _lookalike_ids(loaded)
    assert len(found) == 1, loaded.book.warnings if loaded.book else None
    warning = found[0]
    assert warning.source.lineno == loaded.line(f"^{other}")
    assert '"ADJ-2026-0042"' in warning.message
    assert f'"{other}"' in warning.message
    assert f":{loaded.line('^ADJ-2026-0042')}:" in warning.message


def test_request_ids_that_differ_to_the_eye_give_no_warning() -> None:
    loaded = load(request("ADJ-2026-0042", "2026-02-02", "-20")
                  + request("ADJ-2026-0043", "2026-02-03", "-20")
                  + request("ADJ-2026-0142", "2026-02-03", "-20"))
    assert _lookalike_ids(loaded) == []
