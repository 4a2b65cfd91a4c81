"""Thirty-fifth round of attacks: the web surface, with a browser and curl.

Someone with a login to the reviewers' Fava tries Fava's own write API under
other spellings of its paths and methods, identity headers that turn into
another user's name once read, JSON bodies no page sends (nested thousands deep,
numbers a billion digits long, the same adjustment twice in one batch), filters
the endpoints cannot read, and ledger text on its way to links and CSV. A test
whose docstring says "Hole:" failed on the code it was written against (the fix
is named in the commit that added it); the others held and add coverage no
earlier test had.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, CREATE_EXTRA, DECIDE, SECRET_CONFIG, SECRET_VAR, Env, ago

from beancount_adjustments.core.lifecycle import step_shown

pytestmark = pytest.mark.usefixtures("poll_watcher")

CREATE = BASE + "create"
BODY = {"customer": "cust_123", "type": "credit:refund", "amount": "20.00 USD",
        "reason": "Damaged item"}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=CREATE_EXTRA)


def shown(env: Env, adj_id: str, action: str, **extra: str) -> dict[str, str]:
    """A decision as the page posts it: the digest and the step it shows."""
    book = env.ext.book
    adj = book.get(adj_id) if book is not None else None
    assert adj is not None
    return {"id": adj_id, "action": action, "digest": adj.digest, "step": step_shown(adj),
            **extra}


def raw_post(env: Env, url: str, body: str, user: str = "alice") -> Any:
    return env.client.post(url, data=body, content_type="application/json",
                           headers={"X-Remote-User": user})


# -- Fava's own write API, any spelling -------------------------------------------------


SPELLINGS = ["/test-ledger/api/{n}", "/test-ledger/api/{n}/", "//test-ledger/api/{n}",
             "/test-ledger//api/{n}", "/test-ledger/api//{n}", "/test-ledger/api/%2F{n}",
             "/test-ledger/API/{n}", "/Test-Ledger/api/{n}", "/test-ledger/./api/{n}",
             "/test-ledger/api/x/../{n}", "/test-ledger/api/{n}?method=GET"]
OVERRIDES = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]


def test_favas_write_api_under_any_spelling_or_method_writes_nothing(env: Env) -> None:
    """Held: every write route of Fava's JSON API (`put_*`, `delete_*`), under each
    spelling of its path (slashes doubled or trailing, percent-encoded, another
    case, dot segments, a query) and with every method, or a read method carrying
    a method-override header, answers 403, a redirect to the path that answers 403,
    or no route at all (404/405): never a write, and no file changes. Flask
    dispatches after the extension's `before_request`, and neither Flask nor
    Fava honours a method override."""
    routes = [r.rule.rsplit("/", 1)[-1] for r in env.app.url_map.iter_rules()
              if r.endpoint.startswith("json_api.")
              and set(r.methods or ()) - {"GET", "HEAD", "OPTIONS"}]
    assert {"source", "source_slice", "add_entries", "format_source", "attach_document",
            "move", "document", "upload_import_file", "add_document"} <= set(routes)
    before = env.snapshot()
    body = {"file_path": str(env.path), "source": "forged", "sha256sum": "x",
            "entries": [], "filename": str(env.path), "entry_hash": "x"}
    for name in routes:
        for spelling in SPELLINGS:
            url = spelling.format(n=name)
            for method in ("PUT", "POST", "DELETE", "PATCH"):
                answer = env.client.open(url, method=method, json=body,
                                         headers={"X-Remote-User": "bob"})
                assert answer.status_code in (403, 404, 405, 308), (method, url)
                if answer.status_code == 308:  # followed, as a browser would
                    again = env.client.open(answer.headers["Location"], method=method,
                                            json=body, headers={"X-Remote-User": "bob"})
                    assert again.status_code in (403, 404, 405), (method, url)
        for header in OVERRIDES:
            answer = env.client.post(f"/test-ledger/api/{name}", json=body,
                                     headers={"X-Remote-User": "bob", header: "PUT"})
            assert answer.status_code in (403, 405), (header, name)
    assert env.snapshot() == before


# -- who acts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bob\x1f", "\x1ebob", "bob\x1c", "\x85bob", "bob\xa0",
                                  "\xa0bob", "bob\x85"])
def test_a_header_name_with_an_invisible_blank_around_it_is_nobody(env: Env,
                                                                   name: str) -> None:
    """Hole: the identity header was read with `str.strip()`, which also drops the
    separators \\x1c-\\x1f, NEL (\\x85) and the no-break space (\\xa0), one byte each as
    WSGI hands a header over: a login "bob\\x1f" (or "\\xa0bob") acted as bob and
    approved ADJ-2 in his name. Now only HTTP's own blanks (space, tab) are trimmed,
    and a name still holding a control or blank character at its ends names nobody."""
    before = env.snapshot()
    headers = {"X-Remote-User": name}
    answer = env.client.post(DECIDE, headers=headers,
                             json={"decisions": [shown(env, "ADJ-2", "approve")]})
    assert answer.status_code == 403, answer.get_json()
    filed = env.client.post(CREATE, headers=headers, json=BODY)
    assert filed.status_code == 403, filed.get_json()
    assert env.snapshot() == before
    page = env.client.get(BASE, headers=headers).get_data(as_text=True)
    assert "X-Remote-User was ignored: it is not a user name" in page


def test_http_blanks_around_a_header_name_are_still_trimmed(env: Env) -> None:
    """Held with the fix: spaces and tabs around the name (HTTP's own optional
    whitespace, which servers trim anyway) still name the user."""
    answer = env.client.post(DECIDE, headers={"X-Remote-User": " \tbob \t"},
                             json={"decisions": [shown(env, "ADJ-2", "approve")]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["by"] == "bob"


@pytest.fixture
def secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv(SECRET_VAR, "s3cret-from-the-proxy")
    return Env(tmp_path, SECRET_CONFIG, extra=CREATE_EXTRA)


@pytest.mark.parametrize("secret", [None, "", "s3cret-from-the-prox", "S3CRET-FROM-THE-PROXY",
                                    "s3cret-from-the-proxy "])
def test_the_proxy_secret_is_asked_on_create_and_preview_too(secret_env: Env,
                                                              secret: str | None) -> None:
    """Held: `proxy-secret` is checked for `create` and `preview` as for `decide`:
    without the exact secret the header names nobody (403, nothing filed)."""
    headers = {"X-Remote-User": "alice"}
    if secret is not None:
        headers["X-Proxy-Secret"] = secret
    before = secret_env.snapshot()
    assert secret_env.client.post(CREATE, headers=headers, json=BODY).status_code == 403
    preview = secret_env.client.get(BASE + "preview", headers=headers,
                                    query_string={**BODY, "amount": "20.00"})
    assert preview.status_code == 403
    assert secret_env.snapshot() == before
    headers["X-Proxy-Secret"] = "s3cret-from-the-proxy"
    assert secret_env.client.post(CREATE, headers=headers, json=BODY).status_code == 201


@pytest.mark.parametrize("user", ["mallory", "Alice", "al\u0456ce"])
def test_create_as_someone_the_ledger_does_not_declare_files_nothing(env: Env,
                                                                     user: str) -> None:
    """Held: a header naming no declared user (or one that only reads as alice) files
    nothing: the writer refuses a requester who is no user on the day."""
    before = env.snapshot()
    answer = env.client.post(CREATE, headers={"X-Remote-User": user.encode().decode(
        "latin-1")}, json=BODY)
    assert answer.status_code in (403, 422), answer.get_json()
    assert env.snapshot() == before


# -- JSON bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [DECIDE, CREATE])
def test_a_body_nested_thousands_deep_is_a_400(env: Env, url: str) -> None:
    """Hole: Python's JSON reader recurses once per level, and `[[[[...` 100,000 deep
    (200 kB) raised RecursionError out of the endpoint: a 500 and a traceback in
    Fava's log. Now it is a one-line 400, nothing written."""
    before = env.snapshot()
    answer = raw_post(env, url, '{"decisions": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert answer.status_code == 400
    text = json.dumps(answer.get_json())
    assert "nests too deeply" in text
    assert env.snapshot() == before


@pytest.mark.parametrize("number", ["1e999999", "-1e999999", "1e-999999", "0e-999999"])
def test_a_json_number_a_million_digits_long_is_refused_without_writing_it_out(
        env: Env, number: str) -> None:
    """Hole: a JSON amount `1e999999` (9 bytes) was written out in full to be read
    strictly, a million digits, and echoed in the refusal: a 1 MB answer, and with
    `1e999999999` a billion digits (seconds of work and gigabytes) for one request.
    Now its size is judged from its exponent (`amounts.check_digits`): a short 400."""
    before = env.snapshot()
    body = json.dumps({**BODY, "amount": 0}).replace('"amount": 0', f'"amount": {number}')
    answer = raw_post(env, CREATE, body)
    assert answer.status_code == 400, answer.get_data(as_text=True)[:200]
    assert len(answer.get_data()) < 400
    assert "digits" in answer.get_json()["message"]
    assert env.snapshot() == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "0.30000000000000004",
                                    "1e15", "12345678901234567890"])
def test_json_numbers_no_person_means_file_nothing(env: Env, number: str) -> None:
    """Held: NaN, infinities, 0.1 + 0.2 as a float prints it, and numbers past 15
    digits are refused (400), nothing written."""
    before = env.snapshot()
    body = json.dumps({**BODY, "amount": 0}).replace('"amount": 0', f'"amount": {number}')
    answer = raw_post(env, CREATE, body)
    assert answer.status_code == 400, answer.get_json()
    assert env.snapshot() == before


def test_a_json_number_with_an_exponent_is_the_number_it_says(env: Env) -> None:
    """Held: `2E1` is exactly 20, as every JSON reader reads it: filed as 20 USD."""
    body = json.dumps({**BODY, "amount": 0}).replace('"amount": 0', '"amount": 2E1')
    answer = raw_post(env, CREATE, body)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["amount"] == {"number": "20", "currency": "USD"}


def test_an_approve_and_a_cancel_of_one_pending_request_in_one_batch(env: Env) -> None:
    """Hole: each decision of a batch was checked against the step the ledger held
    before the batch. Posted together, an Approve and a Cancel of pending ADJ-2,
    both shown "pending 0/1", passed that check; the Approve booked the credit and
    the Cancel, meant as a withdrawal of a request, was filed as a request to
    reverse the booked credit (ADJ-2 `reversing`). Now the writer refuses a later
    decision of the batch on the same adjustment when it names the step it was
    shown (409 `changed` for it), and writes the rest."""
    answer = env.client.post(DECIDE, headers={"X-Remote-User": "bob"}, json={"decisions": [
        shown(env, "ADJ-2", "approve"), shown(env, "ADJ-2", "cancel", reason="Duplicate")]})
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["written"] == 1
    assert [(r["id"], r["code"], r["status"]) for r in body["refused"]] == [
        ("ADJ-2", "changed", 409)]
    assert env.state("ADJ-2") == "applied"
    assert 'custom "adjustment" "ADJ-2" "cancel"' not in env.path.read_text()


def test_one_approval_twice_in_one_batch_is_one_approval(env: Env) -> None:
    """Held (and with the fix refused as `changed`): ADJ-5 (2,000 USD) needs a manager
    and finance; erin's Approve twice in one batch is one approval, never both
    levels by one person."""
    answer = env.client.post(DECIDE, headers={"X-Remote-User": "erin"}, json={"decisions": [
        shown(env, "ADJ-5", "approve"), shown(env, "ADJ-5", "approve")]})
    assert answer.status_code == 200, answer.get_json()
    assert env.path.read_text().count('custom "adjustment" "ADJ-5" "approve"') == 1
    assert env.state("ADJ-5") == "pending"


def test_a_batch_without_steps_does_not_decide_one_adjustment_twice(env: Env) -> None:
    """Held with the fix, then closed in round 53: decisions that name no step were
    judged in order (ADJ-2's approve then cancel by bob were both written, the cancel
    asking for the reversal of the credit the approve booked); now such a batch is
    refused whole (422, nothing written), as test_attacks_s53 shows in full."""
    first = shown(env, "ADJ-2", "approve")
    second = shown(env, "ADJ-2", "cancel", reason="Charged twice")
    del first["step"], second["step"]
    answer = env.client.post(DECIDE, headers={"X-Remote-User": "bob"},
                             json={"decisions": [first, second]})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["written"] == 0
    assert env.state("ADJ-2") == "pending"


def test_5001_decisions_or_lookalike_ids_write_nothing_they_should_not(env: Env) -> None:
    """Held: 5001 decisions are a 400 (nothing written); ids that only read as ADJ-2
    (a Unicode hyphen, another case, a Cyrillic A) name no request."""
    before = env.snapshot()
    many = [shown(env, "ADJ-2", "approve")] * 5001
    assert env.client.post(DECIDE, headers={"X-Remote-User": "bob"},
                           json={"decisions": many}).status_code == 400
    alike = [{**shown(env, "ADJ-2", "approve"), "id": i}
             for i in ("ADJ\u20102", "adj-2", "\u0410DJ-2")]
    answer = env.client.post(DECIDE, headers={"X-Remote-User": "bob"},
                             json={"decisions": alike})
    assert answer.status_code == 422
    assert env.snapshot() == before


# -- read endpoints ------------------------------------------------------------------


@pytest.mark.parametrize("days", ["\u00b2", "\u0661", "\u2460", "1\u00b3"])
def test_older_than_in_other_digits_is_a_400(env: Env, days: str) -> None:
    """Hole: `GET adjustments?older_than=²` passed `str.isdigit` (a superscript two is a
    digit to it) and `int` then raised: a 500. Arabic-Indic digits were read as
    days. Now only ASCII digits are a number of days; anything else is a 400."""
    env.app.testing = False  # an unhandled error answers 500, as in production
    answer = env.get(BASE + "adjustments", query_string={"older_than": days})
    assert answer.status_code == 400
    assert answer.get_json()["message"] == "older_than is a number of days"


# -- ledger text on its way out --------------------------------------------------------


TRICKY = f"""
{ago(6)} ! "cust_456" "@SUM(A1:A9)" ^ADJ-9
  adjustment-type: "credit:refund"
  category: "customer-service:goodwill"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  ticket: "javascript:alert(1)\\"><b>x</b>"
  Income:Sales:Returns  30 USD
  Assets:Receivable:Customers  -30 USD
"""


def test_a_ticket_and_a_narration_written_to_attack_the_reader(tmp_path: Path) -> None:
    """Held: a ticket `javascript:alert(1)"><b>x</b>` becomes a path segment of the
    configured https template, every character of it percent-quoted (no `"`
    closes the attribute, no scheme of its own); a
    narration `@SUM(A1:A9)` is exported to CSV as text."""
    env = Env(tmp_path, extra=TRICKY)
    page = env.get(BASE, query_string={"view": "detail", "id": "ADJ-9"}).get_data(as_text=True)
    assert ('href="https://support.example/tickets/javascript%3Aalert%281%29%22%3E%3Cb%3Ex'
            '%3C%2Fb%3E"') in page
    assert "<b>x</b>" not in page
    export = env.get(BASE + "export", query_string={"report": "queue"}).get_data(as_text=True)
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(export))}
    assert rows["ADJ-9"]["narration"] == "'@SUM(A1:A9)"


@pytest.mark.parametrize("load", [True, False])
def test_a_second_ledgers_write_api_under_other_spellings_writes_nothing(
        tmp_path: Path, load: bool) -> None:
    """Held: in a Fava serving two ledgers, the second including the guarded one's
    adjustments.beancount, its editor's writes under other spellings of the path
    (doubled or percent-encoded slashes, a redirect followed) are refused as the
    plain one is (the app-wide guard runs after routing, on the route found)."""
    from fava_env import shared_fava

    app = shared_fava(tmp_path, 'option "title" "Other"\ninclude "adjustments.beancount"\n',
                      load=load)
    client = app.test_client()
    shared = tmp_path / "adjustments.beancount"
    before = shared.read_bytes()
    body = {"file_path": str(shared), "source": '2026-01-01 custom "adjustment" "ADJ-2" '
            '"approve"\n  by: "erin"\n', "sha256sum": "x", "entries": []}
    for url in ("/other/api/source", "/other//api/source", "/other/api//source",
                "/other/api/%73ource", "/other/api/add_entries", "/other/api/add%5Fentries"):
        answer = client.put(url, json=body, headers={"X-Remote-User": "bob"})
        if answer.status_code == 308:
            answer = client.put(answer.headers["Location"], json=body,
                                headers={"X-Remote-User": "bob"})
        assert answer.status_code == 403, (url, answer.status_code)
    assert shared.read_bytes() == before
