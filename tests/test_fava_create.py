"""`POST create` and `GET adjustments` on the Fava extension, as a ticket system calls them.

The seed's `crm.adjustments.create(...)` body, sent with the proxy's
identity header: 201 and the adjustment; the same `external_id` again: 200
and the same adjustment, nothing written. Without an identity, read-only,
or with bad input: `{code, message}` and every file byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, CREATE_EXTRA, SECRET_CONFIG, SECRET_VAR, Env

pytestmark = pytest.mark.usefixtures("poll_watcher")

CREATE = BASE + "create"
LIST = BASE + "adjustments"
# The seed's example body, as JSON (its camelCase spellings are accepted).
SEED = """{"customerId": "cust_123", "type": "credit", "amount": 50.00,
  "reason": "Product return - damaged item", "category": "refund", "orderId": "order_456",
  "approvalRequired": true, "notes": "Customer reported damaged packaging on arrival",
  "externalId": "crm-42"}"""


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=CREATE_EXTRA)


def post(env: Env, body: str | dict[str, Any], user: str | None = "alice",
         headers: dict[str, str] | None = None) -> Any:
    sent = {"X-Remote-User": user} if user else {}
    sent.update(headers or {})
    data = body if isinstance(body, str) else json.dumps(body)
    return env.client.post(CREATE, data=data, content_type="application/json", headers=sent)


def test_the_seeds_example_through_post_create(env: Env) -> None:
    response = post(env, SEED)
    assert response.status_code == 201, response.get_json()
    adj = response.get_json()
    assert adj["type"] == "credit:refund"
    assert adj["state"] == "pending"
    assert adj["amount"] == {"number": "50.00", "currency": "USD"}  # exact, not a float
    assert adj["next_role"] == "manager"
    assert "a manager" in adj["requires"]
    assert adj["notes"] == "Customer reported damaged packaging on arrival"
    assert adj["approval_required"] is True
    assert adj["existing"] is False
    text = env.path.read_text()
    assert 'entered-by: "alice"' in text
    assert 'external-id: "crm-42"' in text
    assert "approval-required: TRUE" in text
    assert 'order: "order_456"' in text
    # Fava reloaded: the page and the JSON list see it.
    assert env.state(adj["id"]) == "pending"
    listed = env.get(LIST + "?state=pending&customer=cust_123").get_json()
    assert adj["id"] in [a["id"] for a in listed]
    detail = env.get(BASE + "adjustment?id=" + adj["id"]).get_json()
    assert detail["notes"] == adj["notes"]
    assert detail["approval_required"] is True
    page = env.get(f"/test-ledger/extension/AdjustmentsExtension/?view=detail&id={adj['id']}")
    assert "Customer reported damaged packaging on arrival" in page.get_data(as_text=True)


def test_a_retry_returns_the_first_result_and_writes_nothing(env: Env) -> None:
    first = post(env, SEED)
    assert first.status_code == 201
    before = env.snapshot()
    again = post(env, SEED)
    assert again.status_code == 200
    assert again.get_json()["existing"] is True
    assert again.get_json()["id"] == first.get_json()["id"]
    assert env.snapshot() == before


def test_anonymous_create_is_refused_and_writes_nothing(env: Env) -> None:
    before = env.snapshot()
    response = post(env, SEED, user=None)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert env.snapshot() == before


def test_without_the_proxys_secret_nobody_creates(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_VAR, "s3cret")
    env = Env(tmp_path, SECRET_CONFIG, extra=CREATE_EXTRA)
    before = env.snapshot()
    assert post(env, SEED).status_code == 403
    assert env.snapshot() == before
    ok = post(env, SEED, headers={"X-Proxy-Secret": "s3cret"})
    assert ok.status_code == 201, ok.get_json()


def test_read_only_fava_refuses_create(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=CREATE_EXTRA, read_only=True)
    before = env.snapshot()
    response = post(env, SEED)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert env.snapshot() == before


@pytest.mark.parametrize(("body", "status", "code", "words"), [
    ({"customer": "cust_123", "type": "credit:refund", "amount": "40,00", "reason": "r"},
     400, "invalid", "decimal comma"),
    ({"customer": "cust_123", "type": "credit:refund", "amount": "10.00 USD"},
     400, "invalid", "reason is required"),
    ({"customer": "cust_123", "type": "credit", "amount": "10.00 USD", "reason": "r"},
     400, "invalid", "credit:refund"),
    ({"customer": "cust_123", "type": "credit:refund", "amount": "10 USD", "reason": "r",
      "colour": "red"}, 400, "invalid", "unknown field"),
    ({"customer": "nobody", "type": "credit:refund", "amount": "10.00 USD", "reason": "r"},
     422, "refused", "nobody"),
    ("[1, 2]", 400, "invalid", "JSON object"),
    ("{not json", 400, "invalid", "not valid JSON"),
])
def test_bad_input_answers_code_and_message(env: Env, body: str | dict[str, Any], status: int,
                                            code: str, words: str) -> None:
    before = env.snapshot()
    response = post(env, body)
    assert response.status_code == status, response.get_json()
    answer = response.get_json()
    assert answer["code"] == code
    assert words in answer["message"]
    assert env.snapshot() == before


def test_a_taken_id_is_a_conflict(env: Env) -> None:
    before = env.snapshot()
    response = post(env, {"id": "ADJ-1", "customer": "cust_123", "type": "credit:refund",
                          "amount": "10.00 USD", "reason": "r"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert env.snapshot() == before


def test_get_adjustments_filters_like_the_cli(env: Env) -> None:
    everything = env.get(LIST).get_json()
    assert {a["id"] for a in everything} >= {"ADJ-1", "ADJ-7"}
    rejected = env.get(LIST + "?state=rejected").get_json()
    assert [a["id"] for a in rejected] == ["ADJ-7"]
    debits = env.get(LIST + "?type=debit:*").get_json()
    assert [a["id"] for a in debits] == ["ADJ-7"]
    small = env.get(LIST + "?below=45%20USD&customer=cust_456").get_json()
    assert all(float(a["amount"]["number"]) < 45 for a in small)
    assert small
    bad = env.get(LIST + "?state=lost")
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "invalid"
    assert env.get(LIST + "?colour=red").status_code == 400
