"""Every refusal a tool raises shares one base and carries a code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import beancount_adjustments
from beancount_adjustments.core.errors import AdjustmentsError

INTERNAL = {"MissingPrice"}  # raised and caught inside the policy, never a refusal


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(beancount_adjustments.__path__, "beancount_adjustments."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (issubclass(value, Exception) and value.__module__ == info.name
                    and not value.__name__.startswith("_") and value.__name__ not in INTERNAL
                    and not issubclass(value, __import__("click").ClickException)):
                found.append(value)
    return found


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda c: c.__qualname__)
def test_every_refusal_shares_the_base_and_has_a_code(cls: type[Exception]) -> None:
    assert issubclass(cls, AdjustmentsError), f"{cls.__module__}.{cls.__name__}"
    assert isinstance(getattr(cls, "code", None), str) or cls.__name__ == "ApiError"


def test_the_cli_turns_any_refusal_into_one_line(tmp_path) -> None:
    from click.testing import CliRunner

    from beancount_adjustments.cli import main

    ledger = tmp_path / "l.beancount"
    ledger.write_text('option "operating_currency" "USD"\n')
    result = CliRunner().invoke(main, ["check", "-f", str(ledger), "--since", "no-such-rev"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output
