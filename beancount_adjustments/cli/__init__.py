"""`bean-adjust`: create, decide, list, import and schedule adjustments.

Every command that changes a ledger goes through `beancount_adjustments.writer`.
Commands live in small modules of this package, each exporting `COMMANDS`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.writer import WriteRefused

COMMAND_MODULES = ("requests", "decisions", "views", "check", "bulk", "reports", "automation",
                   "demo", "init", "statement")


class _Commands(click.Group):
    """The group that turns what a command let through into one line and exit 1:
    a `WriteRefused` (the writer says why; nothing was written), any other
    refusal of the tools (`AdjustmentsError`) and any OS or decoding error (a
    full disk, a read-only file, a file that is not UTF-8), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from beancount_adjustments.cli.common import Refused, refused
        try:
            return super().invoke(ctx)
        except WriteRefused as exc:
            raise refused(exc) from None
        except AdjustmentsError as exc:
            raise Refused(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise Refused(f"a file is not UTF-8 text ({exc}); Beancount reads UTF-8: convert "
                          "it, e.g. with iconv") from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise Refused(f"{where}{exc.strerror or exc}") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
