"""Forty-sixth round of attacks: the shared reviewer workspace, endpoint by
endpoint, after the newest features (reversals approved in Fava, "Apply
selected" asking an effective date, per-section paging, demo mode).

Reviewers with a login to the same Fava try every endpoint with every method:
no identity, identities the deployment does not trust, bodies a cross-site form
could send, batches no page sends, texts no person types, parameters that climb
out of the ledger's folder, and the actions a page would not offer, asking
whether the writer refuses them for the rule the page names. A test whose
docstring says "Hole:" failed on the code it was written against (the fix is
named in the commit that added it); "Held:" ones add coverage no earlier round
had.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, CREATE_EXTRA, DECIDE, DEMO_CONFIG, Env, ago

from beancount_adjustments.beans.metadata import MAX_TEXT

pytestmark = pytest.mark.usefixtures("poll_watcher")

CREATE = BASE + "create"
USERS = ("alice", "bob", "carol", "erin")
# ADJ-1 approved (booked), ADJ-6 cancelled by carol: its reversal awaits a manager.
DECIDED = CREATE_EXTRA + (
    f'{ago(9)} custom "adjustment" "ADJ-1" "approve"\n  by: "bob"\n'
    f'{ago(8)} custom "adjustment" "ADJ-6" "cancel"\n  by: "carol"\n  reason: "Twice"\n')
ENDPOINTS = {"decide": "POST", "create": "POST", "preview": "GET", "adjustments": "GET",
             "document": "GET", "export": "GET", "statement": "GET", "queue": "GET",
             "adjustment": "GET"}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=DECIDED)


def _buttons(env: Env, user: str) -> dict[str, dict[str, Any]]:
    """Every row's buttons as `user`'s queue and detail JSON offer them, by
    (id, action), with the digest and step a decision posts back."""
    out: dict[str, dict[str, Any]] = {}
    rows = env.get(BASE + "queue?per_page=100", user=user).get_json()["rows"]
    rows += [env.get(BASE + f"adjustment?id={i}", user=user).get_json()["adjustment"]
             for i in ("ADJ-1", "ADJ-6")]
    for row in rows:
        for button in row["actions"]:
            out[f"{row['id']} {button['action']}"] = {**button, "digest": row["digest"],
                                                      "step": row["step"]}
    return out


# -- an action the page would not offer ---------------------------------------------------


def test_every_disabled_button_is_refused_by_the_rule_the_page_names(env: Env) -> None:
    """Hole: a disabled button (self-approval, a role missing, a limit, the one who
    asked for a reversal approving it, the requester refusing the reversal of their
    own credit) posted anyway was refused, but the refusal named its rule only
    inside the message ("... [self-approval]"), and the button not at all: a client
    could tell "your own request" from "above your limit" only by reading text.
    Fixed: each button carries the `rule` (`permissions.denial`'s code) and each
    refused item the rule that refused it; for every disabled button of every user
    they are the same, and nothing is written."""
    before = env.snapshot()
    seen = 0
    for user in USERS:
        for key, button in _buttons(env, user).items():
            if button["allowed"]:
                continue
            adj_id, action = key.split()
            sent = {"id": adj_id, "action": action, "digest": button["digest"],
                    "step": button["step"], "reason": "Because"}
            answer = env.client.post(DECIDE, json={"decisions": [sent]},
                                     headers={"X-Remote-User": user})
            assert answer.status_code == 422, (user, key)
            (refused,) = answer.get_json()["refused"]
            assert button["rule"], (user, key)
            assert refused["rule"] == button["rule"], (user, key, refused)
            seen += 1
    assert seen >= 15
    assert env.snapshot() == before


def test_refusing_a_reversal_of_ones_own_credit_says_what_the_writer_says(env: Env) -> None:
    """Hole: alice requested ADJ-6 and carol asked for its reversal; alice may not
    refuse that reversal (it would keep her own credit booked). The page said
    "withdraw your own request with cancel" beside the disabled *Refuse reversal*,
    an action neither the row nor the writer offers on a booked credit. Fixed: the
    reason is her duty, as the writer's refusal gives it."""
    button = _buttons(env, "alice")["ADJ-6 reject"]
    assert not button["allowed"]
    assert button["rule"] == "self-rejection"
    assert button["why_not"] == "you requested it (segregation of duties)"
    page = env.get(BASE + "?view=detail&id=ADJ-6", user="alice").get_data(as_text=True)
    assert "withdraw your own request" not in page
    assert "you requested it (segregation of duties)" in page


# -- texts no person types ---------------------------------------------------------------


def test_a_long_reason_is_written_whole_never_cut(env: Env) -> None:
    """Hole: `decide` cut a reason, a comment and a customer reason to 1,000
    characters without a word: the reviewer's answer said "written" and the ledger
    (and the customer's notice) held another, shorter reason than the one given,
    where the CLI and the API write it whole. Fixed: it is written as sent."""
    reason = "The customer was charged twice for the same order. " * 30 + "END"
    assert 1000 < len(reason) < MAX_TEXT
    answer = env.decide([{"id": "ADJ-2", "action": "reject", "reason": reason,
                          "customer_reason": reason}])
    assert answer.status_code == 200, answer.get_json()
    assert env.path.read_text(encoding="utf-8").count(reason) == 2


@pytest.mark.parametrize("field", ["reason", "comment", "customer_reason"])
def test_a_decision_text_longer_than_any_reason_writes_nothing(env: Env, field: str) -> None:
    """Hole (with the cut gone): a text of megabytes in a decision is no reviewer's;
    it is refused with 400 naming the field and the limit, nothing written (it was
    cut before, and written)."""
    before = env.snapshot()
    decision = {"id": "ADJ-2", "action": "reject", "reason": "Because",
                field: "x" * (MAX_TEXT + 1)}
    answer = env.decide([decision])
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["code"] == "invalid"
    assert field in body["message"]
    assert env.snapshot() == before


@pytest.mark.parametrize(("url", "method"), [(CREATE, "POST"), (BASE + "preview", "GET")])
@pytest.mark.parametrize("field", ["reason", "notes", "ticket"])
def test_create_and_preview_refuse_a_text_longer_than_any_reason(
        env: Env, url: str, method: str, field: str) -> None:
    """Hole: `POST create` wrote a reason of 2 MB into the ledger (a 13 s request,
    and every load after it slower); `GET preview` judged it. Both refuse a text
    over `MAX_TEXT` (400, `invalid`, naming the field), as `decide` does."""
    body = {"customer": "cust_123", "type": "credit:refund", "amount": "20.00 USD",
            "reason": "Damaged item", field: "x" * (MAX_TEXT + 1)}
    before = env.snapshot()
    if method == "POST":
        answer = env.client.post(url, json=body, headers={"X-Remote-User": "alice"})
    else:
        answer = env.client.get(url, query_string=body, headers={"X-Remote-User": "alice"})
    assert answer.status_code == 400, answer.get_json()
    body = answer.get_json()
    assert body["code"] == "invalid"
    assert field in body["message"]
    assert env.snapshot() == before


# -- every endpoint, every method ----------------------------------------------------------


def test_each_endpoint_answers_only_its_own_method(env: Env) -> None:
    """Held: every other method on each endpoint (a GET of `decide`, a POST of
    `export`, PUT and DELETE everywhere) finds no route (404), writes nothing, and
    a read-only method on a writing endpoint reads nothing either."""
    before = env.snapshot()
    for name, own in ENDPOINTS.items():
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
            if method == own or (own == "GET" and method == "HEAD"):
                continue
            answer = env.client.open(BASE + name, method=method, json={"decisions": []},
                                     headers={"X-Remote-User": "bob"})
            assert answer.status_code in (404, 405), (name, method, answer.status_code)
    assert env.snapshot() == before


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "text/json", "application/javascript", ""])
@pytest.mark.parametrize("name", ["decide", "create"])
def test_a_body_a_cross_site_form_can_send_writes_nothing(env: Env, content_type: str,
                                                          name: str) -> None:
    """Held: what a page on another site can post without the browser asking Fava
    first (a form's three types, `text/plain` carrying JSON) or any other type that
    is not JSON is 415 before the identity is even asked: the login the browser
    attaches never turns a cross-site form into a decision."""
    sent = json.dumps({"decisions": [{"id": "ADJ-2", "action": "approve",
                                      "digest": env.digest("ADJ-2")}],
                       "customer": "cust_123", "type": "credit:refund",
                       "amount": "20.00 USD", "reason": "x"})
    before = env.snapshot()
    answer = env.client.post(BASE + name, data=sent, content_type=content_type or None,
                             headers={"X-Remote-User": "bob"})
    assert answer.status_code == 415
    assert env.snapshot() == before


@pytest.mark.parametrize("name", ["decide", "create"])
def test_demo_mode_takes_no_pick_from_a_body_a_cross_site_form_sends(
        tmp_path: Path, name: str) -> None:
    """Held: in demo mode `?as=bob` picks who acts, so the only thing between a
    cross-site form and a decision as bob is the JSON type: a form body with the
    pick in its URL is 415, nothing written."""
    env = Env(tmp_path, DEMO_CONFIG, extra=DECIDED)
    before = env.snapshot()
    sent = json.dumps({"decisions": [{"id": "ADJ-2", "action": "approve",
                                      "digest": env.digest("ADJ-2")}]})
    answer = env.client.post(BASE + name + "?as=bob", data={"payload": sent})
    assert answer.status_code == 415
    assert env.snapshot() == before


# -- batches no page sends -----------------------------------------------------------------


def test_a_reversal_and_its_own_cancel_in_one_batch_decide_once(env: Env) -> None:
    """Held: the reversal of ADJ-6 approved and, in the same batch, the same item
    cancelled again from a page showing the old step: the approval is written and
    the second decision refused as `changed` (its step is gone), one write."""
    button = _buttons(env, "bob")["ADJ-6 approve"]
    shown = {"id": "ADJ-6", "digest": button["digest"], "step": button["step"]}
    answer = env.client.post(DECIDE, json={"decisions": [
        {**shown, "action": "approve"}, {**shown, "action": "reject", "reason": "No"},
        {"id": "ADJ-404", "action": "approve", "digest": "x"}]},
        headers={"X-Remote-User": "bob"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["written"] == 1
    assert body["ids"] == ["ADJ-6"]
    assert [(r["id"], r["code"]) for r in body["refused"]] == [("ADJ-6", "changed"),
                                                              ("ADJ-404", "refused")]
    assert env.state("ADJ-6") == "reversed"


# -- identities the deployment does not trust ----------------------------------------------


@pytest.mark.parametrize(("config", "read_only"), [
    ("{'ticket-url': 'https://support.example/{ticket}'}", False),  # no user-header
    ("{'user-header': 'X-Remote-User', 'read-only': True}", False),
    ("{'user-header': 'X-Remote-User'}", True),  # Fava's --read-only
])
def test_a_header_no_deployment_trusts_or_a_read_only_one_writes_nothing(
        tmp_path: Path, config: str, read_only: bool) -> None:
    """Held: without `user-header` the extension reads no identity header at all,
    whatever is sent (so `X-Remote-User: bob` is nobody: 403); read-only (the
    extension's or Fava's) refuses every write of the extension (403) and of Fava's
    API (403, or Fava's own 401). Without either, Fava's editor stays open, as
    README says: nobody is identified there, and nothing there is guarded."""
    env = Env(tmp_path, config, read_only=read_only, extra=DECIDED)
    before = env.snapshot()
    headers = {"X-Remote-User": "bob", "Remote-User": "bob", "X-Forwarded-User": "bob"}
    for url, body in [(DECIDE, {"decisions": [{"id": "ADJ-2", "action": "approve",
                                                "digest": env.digest("ADJ-2")}]}),
                      (CREATE, {"customer": "cust_123", "type": "credit:refund",
                                "amount": "20.00 USD", "reason": "x"})]:
        answer = env.client.post(url, json=body, headers=headers)
        assert answer.status_code == 403, (url, answer.status_code)
    guarded = read_only or "read-only" in config
    for url in ("/test-ledger/api/source", "/test-ledger/api/add_entries") if guarded else ():
        answer = env.client.put(url, json={"source": "x", "file_path": str(env.path),
                                           "sha256sum": "x", "entries": []}, headers=headers)
        assert answer.status_code in (401, 403), url
    assert env.snapshot() == before
