"""Forty-first round of attacks: a second ledger of the same Fava, with its own
extension, writing into a guarded ledger's file.

One Fava serves the reviewers' ledger (identities from the proxy's header) and a
second ledger someone set up beside it: its extension in demo mode (anyone picks
who they act as), or with another header, and its writes aimed at the first
ledger's decisions file (`target:`, or a file it includes). Its extension writes
through the writer, which judges the decision against the second ledger's own
book and users; the approval lands in the first ledger's file under a name that
ledger trusts, with no identity its deployment vouches for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fava_env import DEMO_CONFIG, HEADER_CONFIG, SECRET_CONFIG, SECRET_VAR, ledger_text

OTHER_BASE = "/other/extension/AdjustmentsExtension/"


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()
            if p.is_file() and not p.name.endswith((".lock", ".picklecache"))}


def two_ledgers(tmp_path: Path, other_config: str, *, other_includes: bool = True,
                main_config: str = HEADER_CONFIG) -> Any:
    """main.beancount (header identities, including adjustments.beancount) and
    other.beancount: the same users and requests, its extension given
    `other_config`, its writes aimed at adjustments.beancount."""
    from fava.application import create_app

    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger_text(main_config).replace(
        'option "operating_currency" "USD"\n', 'option "operating_currency" "USD"\n'
        'include "adjustments.beancount"\n', 1))
    (tmp_path / "adjustments.beancount").write_text("")
    other = ledger_text(other_config).replace('option "title" "Test Ledger"',
                                              'option "title" "Other"', 1)
    if other_includes:
        other = other.replace('option "operating_currency" "USD"\n',
                              'option "operating_currency" "USD"\n'
                              'include "adjustments.beancount"\n', 1)
    (tmp_path / "other.beancount").write_text(other)
    app = create_app([str(main_file), str(tmp_path / "other.beancount")], load=True,
                     poll_watcher=True)
    app.testing = True
    return app


def _digest(app: Any, slug: str, adj_id: str) -> str:
    from beancount_adjustments.plugin import book_of

    for ledger in app.config["LEDGERS"].ledgers:
        if ledger.options.get("title", "").lower() == slug.replace("-", " "):
            book = book_of(ledger.options)
            assert book is not None
            adj = book.get(adj_id)
            assert adj is not None
            return adj.digest
    raise AssertionError(slug)


@pytest.mark.parametrize(("other_config", "headers", "query"), [
    # demo mode: whoever opens the page picks "bob"
    (DEMO_CONFIG[:-1] + ", 'target': 'adjustments.beancount'}", {}, "?as=bob"),
    # no target set: an included adjustments.beancount beside the ledger is its default
    (DEMO_CONFIG, {}, "?as=bob"),
    # another header, which the proxy in front of the reviewers does not set
    ("{'user-header': 'X-Other-User', 'target': 'adjustments.beancount'}",
     {"X-Other-User": "bob"}, ""),
])
def test_a_second_ledgers_extension_cannot_write_a_guarded_ledgers_file(
        tmp_path: Path, other_config: str, headers: dict[str, str], query: str) -> None:
    _refused(two_ledgers(tmp_path, other_config), tmp_path, headers, query)


def test_a_second_ledger_without_the_proxys_secret_cannot_write_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewers' ledger takes the header only with the proxy's secret (Fava is
    reachable around the proxy); the second one takes the header alone, so anyone
    reaching Fava directly names "bob" there."""
    monkeypatch.setenv(SECRET_VAR, "s3cret")
    app = two_ledgers(tmp_path, HEADER_CONFIG, main_config=SECRET_CONFIG)
    _refused(app, tmp_path, {"X-Remote-User": "bob"}, "")


def _refused(app: Any, tmp_path: Path, headers: dict[str, str], query: str) -> None:
    client = app.test_client()
    before = _files(tmp_path)
    sent = {"decisions": [{"id": "ADJ-2", "action": "approve",
                           "digest": _digest(app, "other", "ADJ-2")}]}
    response = client.post(OTHER_BASE + "decide" + query, json=sent, headers=headers)
    assert response.status_code == 403, response.get_data(as_text=True)
    body = response.get_json()
    assert body.get("code") == "forbidden", body
    assert "adjustments.beancount" in body["error"]
    assert "Test Ledger" in body["error"]
    assert _files(tmp_path) == before


def test_a_second_ledger_writing_its_own_files_still_decides(tmp_path: Path) -> None:
    """Held apart: a second ledger whose writes go to its own file decides as usual."""
    app = two_ledgers(tmp_path, DEMO_CONFIG, other_includes=False)
    client = app.test_client()
    sent = {"decisions": [{"id": "ADJ-2", "action": "approve",
                           "digest": _digest(app, "other", "ADJ-2")}]}
    response = client.post(OTHER_BASE + "decide?as=bob", json=sent)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert '"ADJ-2" "approve"' in (tmp_path / "other.beancount").read_text()
    assert (tmp_path / "adjustments.beancount").read_text() == ""


def test_a_second_ledger_vouching_as_the_guarded_one_may_write_its_file(
        tmp_path: Path) -> None:
    """Identities from the same trusted header: the decision is the named user's in
    both ledgers, so the write goes through (and the guarded ledger judges it)."""
    app = two_ledgers(tmp_path, HEADER_CONFIG)
    client = app.test_client()
    sent = {"decisions": [{"id": "ADJ-2", "action": "approve",
                           "digest": _digest(app, "other", "ADJ-2")}]}
    response = client.post(OTHER_BASE + "decide", json=sent, headers={"X-Remote-User": "bob"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert '"ADJ-2" "approve"' in (tmp_path / "adjustments.beancount").read_text()


def test_a_read_only_ledgers_file_is_written_by_no_other_ledger(tmp_path: Path) -> None:
    """The guarded ledger's extension is read-only: no other ledger's extension writes
    its files, whatever identity it trusts."""
    from fava.application import create_app

    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger_text("{'user-header': 'X-Remote-User', 'read-only': True}")
                         .replace('option "operating_currency" "USD"\n',
                                  'option "operating_currency" "USD"\n'
                                  'include "adjustments.beancount"\n', 1))
    (tmp_path / "adjustments.beancount").write_text("")
    (tmp_path / "other.beancount").write_text(
        ledger_text(HEADER_CONFIG).replace('option "title" "Test Ledger"',
                                           'option "title" "Other"', 1)
        .replace('option "operating_currency" "USD"\n',
                 'option "operating_currency" "USD"\ninclude "adjustments.beancount"\n', 1))
    app = create_app([str(main_file), str(tmp_path / "other.beancount")], load=True,
                     poll_watcher=True)
    app.testing = True
    before = _files(tmp_path)
    sent = {"decisions": [{"id": "ADJ-2", "action": "approve",
                           "digest": _digest(app, "other", "ADJ-2")}]}
    response = app.test_client().post(OTHER_BASE + "decide", json=sent,
                                      headers={"X-Remote-User": "bob"})
    assert response.status_code == 403, response.get_data(as_text=True)
    assert "is read-only" in response.get_json()["error"]
    assert _files(tmp_path) == before
