"""The scenario ledgers report exactly the problems their header documents.

Each `ledgers/scenarios/*.beancount` starts with a comment block listing its
expected errors as `; expect: LINENO CODE` (or `; expect: none`) and its
expected warnings as `; warn: LINENO CODE`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ledgers import DEMO, ROOT, code_of, load_file

SCENARIOS = sorted((ROOT / "ledgers" / "scenarios").glob("*.beancount"))
EXPECT_RE = re.compile(r"^; (expect|warn): (\d+) ([a-z0-9-]+)\s*$")


def expectations(path: Path) -> tuple[set[tuple[int, str]], set[tuple[int, str]], bool]:
    errors: set[tuple[int, str]] = set()
    warnings: set[tuple[int, str]] = set()
    clean = False
    for line in path.read_text().splitlines():
        if not line.startswith(";"):
            break
        if line.strip() == "; expect: none":
            clean = True
        match = EXPECT_RE.match(line)
        if match:
            (errors if match.group(1) == "expect" else warnings).add(
                (int(match.group(2)), match.group(3)))
    return errors, warnings, clean


def test_scenarios_exist():
    names = {path.stem for path in SCENARIOS}
    assert {"clean-lifecycle", "self-approval", "over-limit", "stale-and-changed",
            "invoice-overcredit", "period-lock", "lifecycle-misfits",
            "multi-currency"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_reports_exactly_what_it_documents(path: Path):
    expected, expected_warnings, clean = expectations(path)
    assert clean != bool(expected), "document either `; expect: none` or the errors"
    loaded = load_file(path)
    got = [(error.source["lineno"], code_of(error)) for error in loaded.errors]
    assert len(got) == len(set(got)), "one error per documented line and code"
    assert set(got) == expected
    for error in loaded.errors:
        assert error.source["filename"] == str(path)
    assert loaded.book is not None
    warnings = {(w.source.lineno, w.code) for w in loaded.book.warnings}
    assert warnings == expected_warnings


def test_clean_lifecycle_states():
    loaded = load_file(ROOT / "ledgers" / "scenarios" / "clean-lifecycle.beancount")
    assert {k: str(a.state) for k, a in loaded.book.adjustments.items()} == {
        "ADJ-C-001": "applied", "ADJ-C-002": "applied", "ADJ-C-003": "reversed",
        "ADJ-C-004": "rejected", "ADJ-C-005": "withdrawn", "ADJ-C-006": "applied",
        "ADJ-C-007": "pending", "ADJ-C-008": "reversing"}
    # 800 invoiced; 10 + 50 + 100 credited; 1500 credited and reversed; 30 credited
    # and its reversal not yet approved
    assert loaded.balance("Assets:Receivable") == 800 - 10 - 50 - 100 - 30
    assert loaded.adj("ADJ-C-003").reversal_approvals[-1].by == "carol"
    assert loaded.adj("ADJ-C-008").next_role == "manager"


def test_bean_check_passes_the_clean_ledger_and_fails_the_others():
    bean_check = Path(sys.executable).parent / "bean-check"
    if not bean_check.exists():
        pytest.skip("bean-check is not installed next to the interpreter")
    scenarios = ROOT / "ledgers" / "scenarios"
    clean = subprocess.run([str(bean_check), str(scenarios / "clean-lifecycle.beancount")],
                           capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    failing = scenarios / "self-approval.beancount"
    result = subprocess.run([str(bean_check), str(failing)], capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0
    expected, _, _ = expectations(failing)
    output = result.stdout + result.stderr
    for lineno, code in expected:
        assert f"{failing}:{lineno}:" in output
        assert f"[{code}]" in output


def test_demo_ledger_loads_without_errors():
    if not DEMO.exists():
        pytest.skip("ledgers/demo.beancount is not written yet")
    loaded = load_file(DEMO)
    assert loaded.errors == [], [(e.source, e.message) for e in loaded.errors[:5]]
    assert loaded.book is not None
    assert loaded.book.adjustments
