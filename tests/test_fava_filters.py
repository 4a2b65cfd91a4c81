"""Fava's time filter on the extension's JSON and file endpoints: one it cannot
read is a 400 with its message in JSON, as every refusal of the endpoints,
not Fava's HTML error page with a 500 for a client that asked for JSON or CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from fava_env import BASE, Env

pytestmark = pytest.mark.usefixtures("poll_watcher")


@pytest.mark.parametrize("endpoint", ["queue", "export", "export?format=json"])
def test_an_unreadable_time_filter_is_a_json_400(tmp_path: Path, endpoint: str) -> None:
    env = Env(tmp_path)
    joiner = "&" if "?" in endpoint else "?"
    response = env.get(BASE + endpoint + joiner + "time=garbage")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "bad-filter"
    assert "garbage" in body["error"]


def test_a_readable_time_filter_still_filters(tmp_path: Path) -> None:
    env = Env(tmp_path)
    assert env.get(BASE + "queue?time=2026").status_code == 200
