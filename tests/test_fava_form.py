"""The "New request" form, its `GET preview`, and the queue's sections, through
Flask's test client (the browser side is test_fava_form_e2e.py).

The preview must say exactly what the writer will judge: it is a dry run of
the same `api.create` the form's `POST create` makes, so the chain, the
provisional id and the eligible approvers it shows are what filing gives.
Refused or read-only previews write nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fava_env import BASE, DEMO_CONFIG, FORM_EXTRA, Env

pytestmark = pytest.mark.usefixtures("poll_watcher")

PREVIEW = BASE + "preview"
CREATE = BASE + "create"
SEED = {"customer": "cust_123", "type": "credit:refund", "amount": "50.00",
        "currency": "USD", "reason": "Product return - damaged item",
        "order": "order_456", "approval_required": "1",
        "notes": "Customer reported damaged packaging on arrival"}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=FORM_EXTRA)


def preview(env: Env, user: str | None = "alice", **fields: str) -> Any:
    return env.get(PREVIEW + "?" + urlencode(fields), user=user)


def test_the_preview_is_what_filing_gives_and_writes_nothing(env: Env) -> None:
    before = env.snapshot()
    answer = preview(env, **SEED)
    assert answer.status_code == 200, answer.get_json()
    shown = answer.get_json()
    assert env.snapshot() == before
    assert shown["state"] == "pending"
    assert shown["automatic"] is False
    assert shown["chain"] == [{"level": 1, "role": "manager"}]
    assert "a manager" in shown["requires"]
    assert shown["eligible"] == ["bob", "erin"]  # alice asks: she never approves it
    assert shown["rule"] == "credit:* from 25.00 USD: manager"
    assert shown["applies"] == "on approval"

    body = {**SEED, "approval_required": True}
    created = env.client.post(CREATE, data=json.dumps(body), content_type="application/json",
                              headers={"X-Remote-User": "alice"})
    assert created.status_code == 201, created.get_json()
    filed = created.get_json()
    assert filed["id"] == shown["id"]
    assert filed["chain"] == [level["role"] for level in shown["chain"]]
    assert filed["requires"] == shown["requires"]


def test_approval_required_changes_what_the_preview_shows(env: Env) -> None:
    small = {**SEED, "amount": "10.00"}
    small.pop("approval_required")
    automatic = preview(env, **small).get_json()
    assert automatic["automatic"] is True
    assert automatic["chain"] == []
    assert automatic["state"] == "applied"  # below every threshold: applied at once
    forced = preview(env, **small, approval_required="1").get_json()
    assert forced["automatic"] is False
    assert forced["chain"] == [{"level": 1, "role": "manager"}]
    assert forced["approval_required"] is True


def test_the_preview_names_every_level_and_who_may_give_the_first(env: Env) -> None:
    big = preview(env, **{**SEED, "amount": "2000.00"}).get_json()
    assert [level["role"] for level in big["chain"]] == ["manager", "finance"]
    assert big["eligible"] == ["erin"]  # bob's limit is 1000.00 USD
    billing = preview(env, **{**SEED, "type": "billing:invoice-correction",
                              "amount": "30.00", "invoice": "INV-1"}).get_json()
    assert billing["applies"] == "by a separate apply"


@pytest.mark.parametrize(("fields", "user", "status", "words"), [
    ({**SEED, "customer": "nobody"}, "alice", 422, "nobody"),
    ({**SEED, "amount": "40,00"}, "alice", 400, "decimal comma"),
    ({**SEED, "type": "credit:nonsense"}, "alice", 422, "credit:nonsense"),
    ({**SEED, "colour": "red"}, "alice", 400, "unknown field"),
    ({**SEED, "approval_required": "perhaps"}, "alice", 400, "approval_required"),
    (SEED, None, 403, "no acting user"),
])
def test_a_refused_preview_says_why_in_one_line(env: Env, fields: dict[str, str],
                                                user: str | None, status: int,
                                                words: str) -> None:
    before = env.snapshot()
    answer = preview(env, user=user, **fields)
    assert answer.status_code == status, answer.get_json()
    message = answer.get_json()["message"]
    assert words in message
    assert "\n" not in message
    assert env.snapshot() == before


def test_the_form_offers_the_books_customers_types_and_categories(env: Env) -> None:
    page = env.get(BASE + "?view=new", user="alice").get_data(as_text=True)
    assert 'id="adj-new-form"' in page
    # customers by name, with their id
    assert re.search(r'<option value="Acme Corp \(cust_123\)"', page)
    assert 'data-customer-id="cust_123"' in page
    assert '<option value="credit:refund"' in page
    assert '<option value="customer-service:complaint-resolution"' in page
    assert 'name="approval_required"' in page
    assert 'id="adj-new-submit"' in page
    assert "disabled" not in re.search(r'<button[^>]*id="adj-new-submit"[^>]*>', page)[0]
    nobody = env.get(BASE + "?view=new", user=None).get_data(as_text=True)
    assert re.search(r'<button[^>]*id="adj-new-submit"[^>]*disabled', nobody)


def test_the_form_is_closed_when_read_only(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=FORM_EXTRA, read_only=True)
    page = env.get(BASE + "?view=new", user="alice").get_data(as_text=True)
    assert re.search(r'<button[^>]*id="adj-new-submit"[^>]*disabled', page)
    assert "read-only mode" in page


# -- the queue's sections --------------------------------------------------------


def section_of(page: str, adj_id: str) -> str:
    """The id of the queue section whose table holds the row."""
    sections = re.split(r'(?=<section class="adj-section" id=")', page)
    for part in sections[1:]:
        if f'data-adj-row="{adj_id}"' in part:
            return part.split('"', 4)[3]
    return ""


def test_to_approve_to_apply_and_reversals_are_separate(env: Env) -> None:
    assert env.decide([{"id": "ADJ-6", "action": "cancel", "reason": "Wrong customer"}],
                      user="erin").status_code == 200
    page = env.get(BASE).get_data(as_text=True)
    assert section_of(page, "ADJ-2") == "adj-section-approve"
    assert section_of(page, "ADJ-5") == "adj-section-approve"
    assert section_of(page, "ADJ-4") == "adj-section-apply"
    assert section_of(page, "ADJ-6") == "adj-section-reversal"
    for button in ("adj-batch-approve", "adj-batch-apply", "adj-batch-reversal"):
        assert f'id="{button}"' in page
    assert "Apply selected" in page
    sections = {s["key"]: s for s in env.get(BASE + "queue").get_json()["sections"]}
    assert set(sections["approve"]["ids"]) == {"ADJ-1", "ADJ-2", "ADJ-3", "ADJ-5", "ADJ-8"}
    assert sections["apply"]["ids"] == ["ADJ-4"]
    assert sections["reversal"]["ids"] == ["ADJ-6"]


def test_select_all_takes_only_what_you_may_do(env: Env) -> None:
    """Select all marks the rows `permissions.denial` lets the user act on; sending
    the whole section never meets an item that is already fully approved."""
    page = env.get(BASE).get_data(as_text=True)  # bob
    boxes = dict(re.findall(r'<input type="checkbox" class="adj-select" value="([^"]+)"'
                            r'[^>]*data-allowed="(1?)"', page))
    assert boxes["ADJ-2"] == "1"
    assert boxes["ADJ-3"] == ""   # bob requested it
    assert boxes["ADJ-5"] == ""   # above bob's limit
    assert boxes["ADJ-4"] == "1"  # bob may apply
    sections = {s["key"]: s for s in env.get(BASE + "queue").get_json()["sections"]}
    assert sections["approve"]["mine"] == 3  # ADJ-1, ADJ-2, ADJ-8
    response = env.decide([{"id": i, "action": "approve"} for i in sections["approve"]["ids"]],
                          user="erin")
    refused = response.get_json()["refused"]
    assert not [r for r in refused if "already" in r["message"]]
    assert response.get_json()["written"] == 5


def test_why_an_action_is_blocked_is_written_next_to_it(env: Env) -> None:
    page = env.get(BASE).get_data(as_text=True)  # bob
    row = page[page.index('data-adj-row="ADJ-3"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'<span class="adj-why"[^>]*>you requested it \(segregation of duties\)'
                     r'</span>', row)
    row = page[page.index('data-adj-row="ADJ-5"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'<span class="adj-why"[^>]*>above your approval limit</span>', row)
    allowed = page[page.index('data-adj-row="ADJ-2"'):]
    allowed = allowed[:allowed.index("</tr>")]
    assert 'class="adj-why"' not in allowed


def test_the_demo_picker_reaches_the_form(tmp_path: Path) -> None:
    env = Env(tmp_path, DEMO_CONFIG, extra=FORM_EXTRA)
    page = env.client.get(BASE + "?view=new&as=alice").get_data(as_text=True)
    assert 'data-user="alice"' in page
    assert 'id="adj-new-form"' in page
