"""The one base of every refusal the tools raise.

A caller tells refusals apart by `code` (as the plugin's `Problem` does),
never by matching words of the message.
"""

from __future__ import annotations


class AdjustmentsError(Exception):
    """Nothing was done: `code` says what kind of refusal, the message why."""

    code: str = "refused"

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
