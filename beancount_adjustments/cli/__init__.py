"""`bean-adjust`: create, decide, list, import and schedule adjustments.

Every command that changes a ledger goes through `beancount_adjustments.writer`.
Commands live in small modules of this package, each exporting `COMMANDS`.
"""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES = ("requests", "decisions", "views", "bulk", "reports", "automation", "demo")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="beancount-adjustments")
def main() -> None:
    """Adjustments with approval workflows in a Beancount ledger."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"beancount_adjustments.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"beancount_adjustments.cli.{_name}":
            raise
        continue
    for _command in getattr(_module, "COMMANDS", ()):
        main.add_command(_command)
