"""What the Fava extension guards, through Flask's test client on Fava's real app.

- Fava's own write API (editor, importer, uploads, document deletion) is
  closed while identities come from a header: it would write approvals under
  any name.
- Only the proxy names the user: with `proxy-secret`, a request without the
  proxy's secret names nobody; an ambiguous identity header names nobody.
- What the reviewer saw is what is approved: each decision carries the digest
  the page showed, wherever the request lives; others' writes to other items
  never make a page stale.
- No page answers 500 on a ledger the plugin accepts; `document:` links open
  the file, confined to the ledger's folder.

Refused requests leave every file byte-identical.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, DEMO_CONFIG, SECRET_CONFIG, SECRET_VAR, Env

pytestmark = pytest.mark.usefixtures("poll_watcher")  # this module makes dozens of apps

SAFE = {"GET", "HEAD", "OPTIONS"}
API = "/test-ledger/api/"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def write_routes(env: Env) -> dict[str, set[str]]:
    """Fava's JSON API routes that are not reads: name -> methods."""
    out: dict[str, set[str]] = {}
    for rule in env.app.url_map.iter_rules():
        methods = set(rule.methods or ()) - SAFE
        if rule.endpoint.startswith("json_api.") and methods:
            out[rule.rule.rsplit("/", 1)[-1]] = methods
    return out


def shown_digests(page: str) -> dict[str, str]:
    """The digest each action button of a rendered page carries, by id."""
    found = re.findall(r'data-adj-id="([^"]+)" data-adj-digest="([0-9a-zA-Z:_-]+)"', page)
    return dict(found)


# -- Fava's own write API ---------------------------------------------------------


def test_every_fava_write_endpoint_is_refused_under_user_header(env: Env) -> None:
    routes = write_routes(env)
    # The real list, from fava/json_api.py: every put_/delete_ endpoint.
    assert {"source", "source_slice", "add_entries", "add_document", "attach_document",
            "document", "format_source", "upload_import_file", "move"} <= set(routes)
    before = env.snapshot()
    for name, methods in routes.items():
        for method in methods:
            response = env.client.open(API + name, method=method, json={},
                                       headers={"X-Remote-User": "bob"})
            assert response.status_code == 403, (method, name, response.status_code)
            assert "Fava editing is closed" in response.get_json()["error"]
    assert env.snapshot() == before


def test_the_source_editor_cannot_append_an_approval(env: Env) -> None:
    """The issue's exploit: GET the source, append an approval by erin, PUT it."""
    source = env.client.get(API + "source", query_string={"filename": str(env.path)},
                            headers={"X-Remote-User": "bob"})
    assert source.status_code == 200
    data = source.get_json()["data"]
    forged = data["source"] + ('\n2026-01-01 custom "adjustment" "ADJ-2" "approve"\n'
                               '  by: "erin"\n')
    before = env.snapshot()
    for headers in ({}, {"X-Remote-User": "bob"}, {"X-Remote-User": "erin"}):
        response = env.client.put(API + "source", headers=headers, json={
            "file_path": str(env.path), "source": forged, "sha256sum": data["sha256sum"]})
        assert response.status_code == 403
    assert env.snapshot() == before
    assert env.state("ADJ-2") == "pending"
    page = env.get(BASE).get_data(as_text=True)
    assert 'id="adj-fava-editing"' in page
    assert "Fava editing is closed" in page


def test_fava_editing_true_opens_it_again_and_the_page_says_so(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'user-header': 'X-Remote-User', 'fava-editing': True}")
    page = env.get(BASE).get_data(as_text=True)
    assert "Fava editing is open" in page
    data = env.client.get(API + "source", query_string={"filename": str(env.path)}).get_json()
    response = env.client.put(API + "source", json={
        "file_path": str(env.path), "source": data["data"]["source"] + "\n; edited\n",
        "sha256sum": data["data"]["sha256sum"]})
    assert response.status_code == 200
    assert env.path.read_text(encoding="utf-8").endswith("; edited\n")


def test_without_user_header_fava_editing_is_untouched(tmp_path: Path) -> None:
    env = Env(tmp_path, DEMO_CONFIG)
    page = env.get(BASE, user=None).get_data(as_text=True)
    assert 'id="adj-fava-editing"' not in page
    response = env.client.put(API + "format_source", json={"source": "2026-01-01 open A:B\n"})
    assert response.status_code == 200


def test_the_extensions_own_writes_still_work_under_the_guard(env: Env) -> None:
    assert env.decide([{"id": "ADJ-2", "action": "approve"}]).status_code == 200


# -- identity only from the proxy ---------------------------------------------------


@pytest.fixture
def secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv(SECRET_VAR, "s3cret-from-the-proxy")
    return Env(tmp_path, SECRET_CONFIG)


def post(env: Env, headers: Any) -> Any:
    return env.client.post(BASE + "decide", headers=headers, json={"decisions": [
        {"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]})


@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-from-the-prox",
                                    "s3cret-from-the-proxyX"])
def test_without_the_proxys_secret_the_header_names_nobody(secret_env: Env,
                                                           secret: str | None) -> None:
    headers = {"X-Remote-User": "bob"}
    if secret is not None:
        headers["X-Proxy-Secret"] = secret
    before = secret_env.snapshot()
    assert post(secret_env, headers).status_code == 403
    assert secret_env.snapshot() == before
    page = secret_env.client.get(BASE, headers=headers).get_data(as_text=True)
    assert 'data-user=""' in page
    assert "did not come through the trusted proxy" in page


def test_with_the_proxys_secret_the_header_names_the_user(secret_env: Env) -> None:
    headers = {"X-Remote-User": "bob", "X-Proxy-Secret": "s3cret-from-the-proxy"}
    page = secret_env.client.get(BASE, headers=headers).get_data(as_text=True)
    assert 'data-user="bob"' in page
    response = post(secret_env, headers)
    assert response.status_code == 200
    assert response.get_json()["by"] == "bob"


def test_the_secret_header_name_is_configurable(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_VAR, "abc")
    env = Env(tmp_path, SECRET_CONFIG[:-1] + ", 'proxy-secret-header': 'X-From-Proxy'}")
    assert post(env, {"X-Remote-User": "bob", "X-Proxy-Secret": "abc"}).status_code == 403
    assert post(env, {"X-Remote-User": "bob", "X-From-Proxy": "abc"}).status_code == 200


def test_an_unset_secret_variable_identifies_nobody(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_VAR, raising=False)
    env = Env(tmp_path, SECRET_CONFIG)
    assert post(env, {"X-Remote-User": "bob", "X-Proxy-Secret": ""}).status_code == 403
    page = env.get(BASE).get_data(as_text=True)
    assert f"{SECRET_VAR}, which is not set" in page


def test_a_secret_written_into_the_ledger_is_refused(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'user-header': 'X-Remote-User', 'proxy-secret': 'hunter2'}")
    assert post(env, {"X-Remote-User": "bob", "X-Proxy-Secret": "hunter2"}).status_code == 403
    page = env.get(BASE).get_data(as_text=True)
    assert "proxy-secret must name an environment variable" in page


@pytest.mark.parametrize("headers", [
    [("X-Remote-User", "bob"), ("X-Remote-User", "erin")],  # repeated
    [("X-Remote-User", "bob"), ("X_Remote_User", "erin")],  # underscore variant
    [("X_Remote_User", "erin"), ("X-Remote-User", "bob")],
    [("X-Remote-User", "bob, erin")],                       # several values
    [("X-Remote-User", "b" * 101)],
    [("X-Remote-User", "bob\x7f")],
])
def test_an_ambiguous_identity_header_names_nobody(env: Env, headers: list[Any]) -> None:
    before = env.snapshot()
    response = post(env, headers)
    assert response.status_code == 403, response.get_json()
    assert env.snapshot() == before
    page = env.client.get(BASE, headers=headers).get_data(as_text=True)
    assert 'data-user=""' in page
    assert "X-Remote-User was ignored" in page


def test_an_ambiguous_header_does_not_fall_back_to_demo_mode(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'user-header': 'X-Remote-User', 'demo-mode': True}")
    env.client.set_cookie("adjustments-user", "erin")
    headers = [("X-Remote-User", "bob"), ("X_Remote_User", "erin")]
    assert post(env, headers).status_code == 403


# -- what the reviewer saw is what is approved ----------------------------------------


REQUESTS_FILE = """
{date} ! "cust_456" "Refund in another file" ^ADJ-X
  adjustment-type: "credit:refund"
  category: "customer-service:goodwill"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  30.00 USD
  Assets:Receivable:Customers  -30.00 USD
"""


@pytest.fixture
def split(tmp_path: Path) -> Env:
    date = (datetime.date.today() - datetime.timedelta(days=2)).isoformat()
    return Env(tmp_path, extra='\ninclude "requests.beancount"\n',
               files={"requests.beancount": REQUESTS_FILE.format(date=date)})


def test_a_request_edited_in_another_file_is_refused_with_409(split: Env) -> None:
    page = split.get(BASE + "?view=detail&id=ADJ-X").get_data(as_text=True)
    shown = shown_digests(page)["ADJ-X"]
    other = split.path.parent / "requests.beancount"
    other.write_text(other.read_text(encoding="utf-8").replace("30.00 USD", "990.00 USD"),
                     encoding="utf-8")
    before = split.snapshot()
    response = split.client.post(BASE + "decide", headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": "ADJ-X", "action": "approve", "digest": shown}]})
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["written"] == 0
    assert [(r["id"], r["code"], r["status"]) for r in body["refused"]] == [
        ("ADJ-X", "changed", 409)]
    assert "changed since it was shown" in body["refused"][0]["message"]
    assert split.snapshot() == before
    assert split.state("ADJ-X") == "pending"


def test_a_409_reloads_fava_even_when_its_watcher_has_not_seen_the_edit(
        split: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fava's file watcher reports changes from a thread, so it can lag behind an
    edit: the page's "Reload the page" after a 409 must show what the writer judged."""
    page = split.get(BASE + "?view=detail&id=ADJ-X").get_data(as_text=True)
    shown = shown_digests(page)["ADJ-X"]
    monkeypatch.setattr(split.ledger.watcher, "check", lambda: False)  # it has not seen it
    other = split.path.parent / "requests.beancount"
    other.write_text(other.read_text(encoding="utf-8").replace("30.00 USD", "990.00 USD"),
                     encoding="utf-8")
    response = split.client.post(BASE + "decide", headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": "ADJ-X", "action": "approve", "digest": shown}]})
    assert response.status_code == 409, response.get_json()
    book = split.ext.book
    assert book is not None
    adj = book.get("ADJ-X")
    assert adj is not None
    assert adj.amount is not None
    assert adj.amount.number == 990
    again = split.get(BASE + "?view=detail&id=ADJ-X").get_data(as_text=True)
    assert shown_digests(again)["ADJ-X"] != shown


def test_a_partial_batch_lists_the_changed_item_and_writes_the_rest(split: Env) -> None:
    page = split.get(BASE).get_data(as_text=True)
    shown = shown_digests(page)
    other = split.path.parent / "requests.beancount"
    other.write_text(other.read_text(encoding="utf-8").replace("30.00 USD", "990.00 USD"),
                     encoding="utf-8")
    response = split.client.post(BASE + "decide", headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": i, "action": "approve", "digest": shown[i]}
                      for i in ("ADJ-X", "ADJ-2")]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ids"] == ["ADJ-2"]
    assert [(r["id"], r["code"], r["status"]) for r in body["refused"]] == [
        ("ADJ-X", "changed", 409)]
    assert split.state("ADJ-X") == "pending"
    assert split.state("ADJ-2") == "applied"


def test_two_reviewers_deciding_different_items_both_succeed(split: Env) -> None:
    bobs = shown_digests(split.get(BASE, user="bob").get_data(as_text=True))
    erins = shown_digests(split.get(BASE, user="erin").get_data(as_text=True))
    first = split.client.post(BASE + "decide", headers={"X-Remote-User": "bob"}, json={
        "decisions": [{"id": "ADJ-2", "action": "approve", "digest": bobs["ADJ-2"]}]})
    assert first.status_code == 200, first.get_json()
    second = split.client.post(BASE + "decide", headers={"X-Remote-User": "erin"}, json={
        "decisions": [{"id": "ADJ-X", "action": "approve", "digest": erins["ADJ-X"]}]})
    assert second.status_code == 200, second.get_json()
    assert split.state("ADJ-2") == "applied"
    assert split.state("ADJ-X") == "applied"


def test_the_writer_is_given_what_the_page_showed(env: Env,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from beancount_adjustments import writer

    seen: list[Any] = []
    real = writer.write_decisions

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.extend(args[1])
        assert "expected_sha256" not in kwargs  # no whole-file staleness for decisions
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_decisions", spy)
    digest = env.digest("ADJ-2")
    assert env.decide([{"id": "ADJ-2", "action": "approve", "digest": digest}]).status_code \
        == 200
    assert [d.seen_digest for d in seen] == [digest]


# -- no page answers 500; document links ------------------------------------------------


REPORTS_HEAD = """option "title" "Test Ledger"
option "operating_currency" "USD"
plugin "beancount_adjustments"
2025-01-01 custom "fava-extension" "beancount_adjustments.fava_ext" "{'user-header': 'X'}"
2025-01-01 open Assets:Receivable:Customers
2025-01-01 open Income:Sales:Returns
2025-01-01 custom "adjustment-user" "alice" "agent"
2025-01-01 custom "adjustment-user" "bob" "manager"
2025-01-01 custom "adjustment-customer" "c1" "standard"
2025-01-01 custom "adjustment-approval" "credit:*" 25.00 USD "manager"
2025-01-01 price EUR 1.10 USD
"""


def request_text(adj_id: str, number: str, currency: str, extra: str = "") -> str:
    date = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    return (f'{date} ! "c1" "Refund" ^{adj_id}\n  adjustment-type: "credit:refund"\n'
            f'  customer: "c1"\n  reason: "r"\n  requested-by: "alice"\n{extra}'
            f"  Income:Sales:Returns  {number} {currency}\n"
            f"  Assets:Receivable:Customers  -{number} {currency}\n")


@pytest.mark.parametrize("body", [
    request_text("ADJ-1", "50.00", "USD"),                                         # pending only
    request_text("ADJ-1", "50.00", "USD") + request_text("ADJ-2", "10.00", "EUR"),  # + applied EUR
])
@pytest.mark.parametrize("url", ["?view=reports", "?view=reports&time=year",
                                 "export?report=trends", "export?report=impact", "",
                                 "?view=detail&id=ADJ-1"])
def test_reports_never_answer_500(tmp_path: Path, body: str, url: str) -> None:
    from fava.application import create_app

    ledger = tmp_path / "main.beancount"
    ledger.write_text(REPORTS_HEAD + body, encoding="utf-8")
    app = create_app([str(ledger)], load=True)
    client = app.test_client()
    response = client.get(BASE + url)
    assert response.status_code == 200
    led = app.config["LEDGERS"]["test-ledger"]
    assert not led.errors
    if "EUR" in body:
        ext = led.extensions.get_extension("AdjustmentsExtension")
        assert str(ext.book.get("ADJ-2").state) == "applied"


@pytest.fixture
def documents(tmp_path: Path) -> Env:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("secret outside the ledger", encoding="utf-8")
    ledger_dir = tmp_path / "books"
    (ledger_dir / "docs").mkdir(parents=True)
    (ledger_dir / "docs" / "receipt.pdf").write_bytes(b"%PDF-1.4\n% a receipt\n")
    (ledger_dir / "note.html").write_text("<script>alert(1)</script>", encoding="utf-8")
    (ledger_dir / "link.txt").symlink_to(outside)
    date = (datetime.date.today() - datetime.timedelta(days=2)).isoformat()
    extra = "\n" + "\n".join(
        request_text(adj_id, "40.00", "USD", f'  document: "{doc}"\n').replace(
            '"c1"', '"cust_456"').replace(
            (datetime.date.today() - datetime.timedelta(days=3)).isoformat(), date)
        for adj_id, doc in (("ADJ-D1", "docs/receipt.pdf"), ("ADJ-D2", "../../" + outside.name),
                            ("ADJ-D3", "link.txt"), ("ADJ-D4", "note.html"),
                            ("ADJ-D5", "missing.pdf")))
    return Env(ledger_dir, extra=extra)


def test_the_document_link_opens_the_file(documents: Env) -> None:
    page = documents.get(BASE + "?view=detail&id=ADJ-D1").get_data(as_text=True)
    link = re.search(r'href="([^"]+)"[^>]*id="adj-document-link"', page)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    assert "document?id=ADJ-D1" in url
    response = documents.get(url)
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4\n% a receipt\n"
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_documents_outside_the_ledgers_folder_are_refused(documents: Env) -> None:
    assert documents.get(BASE + "document?id=ADJ-D2").status_code == 403
    response = documents.get(BASE + "document?id=ADJ-D3")  # a symlink pointing outside
    assert response.status_code == 403
    assert b"secret outside" not in response.data


def test_missing_documents_are_404(documents: Env) -> None:
    assert documents.get(BASE + "document?id=ADJ-D5").status_code == 404
    assert documents.get(BASE + "document?id=ADJ-NOPE").status_code == 404
    assert documents.get(BASE + "document?id=ADJ-2").status_code == 404  # names none


def test_an_html_document_cannot_run_script_on_favas_origin(documents: Env) -> None:
    response = documents.get(BASE + "document?id=ADJ-D4")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["X-Content-Type-Options"] == "nosniff"



def test_read_only_closes_favas_own_write_api_too(tmp_path: Path) -> None:
    """`read-only: True` without a header left Fava's editor writing: a setting named
    read-only that lets the source editor append an approval is not read-only."""
    env = Env(tmp_path, "{'demo-mode': True, 'read-only': True}")
    before = env.snapshot()
    for name, methods in write_routes(env).items():
        for method in methods:
            response = env.client.open(API + name, method=method, json={})
            assert response.status_code == 403, (method, name, response.status_code)
            assert "configured read-only" in response.get_json()["error"]
    assert env.snapshot() == before
    page = env.get(BASE, user=None).get_data(as_text=True)
    assert "Fava editing is closed: the adjustments extension is configured read-only" in page
    (tmp_path / "open").mkdir()
    reopened = Env(tmp_path / "open", "{'demo-mode': True, 'read-only': True, "
                                      "'fava-editing': True}")
    response = reopened.client.put(API + "format_source", json={"source": "2026-01-01 open A:B\n"})
    assert response.status_code == 200
