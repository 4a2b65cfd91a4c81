"""Every refusal of the extension's endpoints has one shape: `{"ok": false, "code",
"message", "error"}` with the HTTP status, whatever endpoint and reason (README:
Errors). Some answered `{"ok": false, "error"}` with no code, others `{"code",
"message"}` with no `ok`: a client could not tell the reasons apart by code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, Env

CASES: list[tuple[str, str, dict[str, Any], str | None, int, str]] = [
    # (method, endpoint and query, request keywords, user, status, code)
    ("POST", "decide", {"data": "x"}, "bob", 415, "invalid"),
    ("POST", "decide", {"json": [1]}, "bob", 400, "invalid"),
    ("POST", "decide", {"json": {"decisions": []}}, "bob", 400, "invalid"),
    ("POST", "decide", {"json": {"decisions": [{"id": "ADJ-2", "action": "approve"}]}},
     None, 403, "forbidden"),
    ("POST", "decide", {"data": '{"decisions": 1, "decisions": 2}',
                        "content_type": "application/json"}, "bob", 400, "invalid"),
    ("POST", "decide", {"json": {"decisions": [{"id": "ADJ-404", "action": "approve",
                                                "digest": "x"}]}}, "bob", 422, "refused"),
    ("POST", "create", {"data": "x"}, "bob", 415, "invalid"),
    ("POST", "create", {"json": {}}, None, 403, "forbidden"),
    ("GET", "preview", {}, None, 403, "forbidden"),
    ("GET", "preview?approval_required=maybe", {}, "bob", 400, "invalid"),
    ("GET", "adjustments?colour=red", {}, "bob", 400, "invalid"),
    ("GET", "adjustment?id=ADJ-404", {}, "bob", 404, "not-found"),
    ("GET", "document?id=ADJ-404", {}, "bob", 404, "not-found"),
    ("GET", "export?report=nonsense", {}, "bob", 404, "not-found"),
    ("GET", "statement?format=pdf", {}, "bob", 400, "invalid"),
    ("GET", "statement", {}, "bob", 404, "not-found"),
    ("GET", "queue?time=garbage", {}, "bob", 400, "bad-filter"),
]


@pytest.mark.parametrize(("method", "path", "kw", "user", "status", "code"), CASES)
def test_every_refusal_has_an_ok_a_code_and_a_message(  # noqa: PLR0917
        tmp_path: Path, method: str, path: str, kw: dict[str, Any], user: str | None,
        status: int, code: str) -> None:
    env = Env(tmp_path)
    headers = {"X-Remote-User": user} if user else {}
    before = env.snapshot()
    response = env.client.open(BASE + path, method=method, headers=headers, **kw)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "\n" not in body["message"]
    assert body["error"] == body["message"]
    assert env.snapshot() == before
