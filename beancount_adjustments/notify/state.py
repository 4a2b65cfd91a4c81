"""The sent state: which channels each notice reached, and the deliveries under way.

A "sending" mark is written before each send and cleared when its outcome is
recorded, so a mark left by a stopped run names a delivery that may have been sent
(`delivery.plan` reports it). Writes go through `writer.files` (atomic, fsynced),
and a whole run holds `locked`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount_adjustments.notify.channels import ChannelError
from beancount_adjustments.notify.notices import notice_id
from beancount_adjustments.writer.files import atomic_write, flocked

STATE_VERSION = 2


LOCK_TIMEOUT = 60.0


@dataclass
class SentState:
    """Which channels each notice key reached, and which deliveries were under way.

    `sent[key]` is `{"channels": [route id, ...], "at": ..., "id": notice id}`;
    `sending[key][route id]` is `{"at": ..., "id": ..., "channel": template}`, written
    before a send and removed when its outcome is recorded: one still there when a
    run starts is a delivery that may have been sent (the run stopped in between).
    """

    path: Path
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    sending: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> SentState:
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text() or "{}")
            problem = _shape_problem(raw)
        except (OSError, ValueError) as exc:
            problem = str(exc)
        if problem is not None:
            raise ChannelError(f"{path}: unreadable notify state ({problem}); fix or remove "
                               "it (removing it resends everything)")
        return cls(path, dict(raw.get("sent", {})),
                   {k: dict(v) for k, v in dict(raw.get("sending", {})).items()})

    def reached(self, key: str) -> set[str]:
        return set(self.sent.get(key, {}).get("channels", []))

    def in_flight(self, key: str, route_id: str) -> dict[str, Any] | None:
        """The "sending" mark a previous run left for this delivery, if any."""
        return self.sending.get(key, {}).get(route_id)

    def mark_sending(self, key: str, route_id: str, when: str, channel: str) -> None:
        self.sending.setdefault(key, {})[route_id] = {
            "at": when, "id": notice_id(key), "channel": channel}

    def unmark(self, key: str, route_id: str,
               restore: dict[str, Any] | None = None) -> None:
        """Drop the "sending" mark (or put back the one an earlier run left)."""
        marks = self.sending.get(key, {})
        if restore is not None:
            marks[route_id] = restore
            self.sending[key] = marks
            return
        marks.pop(route_id, None)
        if not marks:
            self.sending.pop(key, None)

    def record(self, key: str, route_id: str, when: str) -> None:
        """Record a delivery as sent (clearing its "sending" mark)."""
        item = self.sent.setdefault(key, {"channels": [], "at": when})
        if route_id not in item["channels"]:
            item["channels"].append(route_id)
        item["at"] = when
        item["id"] = notice_id(key)
        self.unmark(key, route_id)

    def write(self) -> None:
        """Replace the state file atomically and durably: the new content is fsynced
        before the rename, and the directory after it."""
        data = json.dumps({"version": STATE_VERSION, "sent": self.sent,
                           "sending": self.sending}, indent=1, sort_keys=True)
        atomic_write(self.path, data.encode())


def _shape_problem(raw: Any) -> str | None:
    """What in a parsed state file is not the shape `SentState.write` writes, or None:
    a file edited or cut short by hand must stop the run in one line, not crash it
    (or be read as "nothing sent" and resend everything)."""
    if not isinstance(raw, dict):
        return f"not a JSON object but {type(raw).__name__}"
    sent, sending = raw.get("sent", {}), raw.get("sending", {})
    if not isinstance(sent, dict) or not isinstance(sending, dict):
        return '"sent" and "sending" must be JSON objects'
    for key, item in sent.items():
        if not isinstance(item, dict) or not isinstance(item.get("channels", []), list) \
                or not all(isinstance(c, str) for c in item.get("channels", [])):
            return f'"sent" entry {key!r} is not {{"channels": [...], ...}}'
    for key, marks in sending.items():
        if not isinstance(marks, dict) or not all(isinstance(m, dict) for m in marks.values()):
            return f'"sending" entry {key!r} is not {{route id: mark, ...}}'
    return None


@contextlib.contextmanager
def locked(state_path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive flock on `<state>.lock` (waits up to `timeout` seconds)."""

    def busy(lock: Path) -> ChannelError:
        return ChannelError(f"another notify run holds {lock}; gave up after {timeout:.0f} s")

    with flocked([state_path.with_name(state_path.name + ".lock")], timeout=timeout,
                 busy=busy):
        yield
