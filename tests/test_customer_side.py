"""The customer's side, given by the tools: `customer-reason:` on rejects and cancels,
"withdrawn" notices, customer-notice lines checked by `bean-check`, `on-statement`
and `aging-from` from every tool that files, tier-less customer declarations, and
customers picked by name wherever a tool takes one."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from click.testing import CliRunner
from fava_env import BASE as FAVA
from fava_env import START, Env

from beancount_adjustments import api, book_of, writer
from beancount_adjustments.beans.notify_lines import parse_customer_notices
from beancount_adjustments.cli import main
from beancount_adjustments.core.models import Action
from beancount_adjustments.notify import customers as notify_customers
from beancount_adjustments.reports.statement import statement
from ledgers import BACKDATING, NAMED, event, line_in, load, request

NOTICES = """
2026-01-01 custom "adjustment-customer-notice" "*" "*"
"""


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(NAMED + BACKDATING + NOTICES, encoding="utf-8")
    return path


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def file_one(path: Path, customer: str = "cust_1", amount: str = "20.00 USD",
             *extra: str) -> str:
    result = cli("create", "-f", str(path), "--as", "alice", "--type", "credit:refund",
                 "--customer", customer, "--amount", amount, "--reason", "INTERNAL-REASON",
                 "--json", *extra)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


def clean(path: Path) -> list[Any]:
    _entries, errors, _options = loader.load_file(str(path))
    return list(errors)


def notices(path: Path, today: datetime.date | None = None) -> dict[str, Any]:
    entries, errors, options = loader.load_file(str(path))
    assert not errors, errors
    book = book_of(options)
    setup, problems = parse_customer_notices(entries)
    assert not problems
    found = notify_customers.customer_notices(book, today or datetime.date.today(), setup)
    return {n.kind: n for n in found}


# -- 1. customer-reason from the tools ------------------------------------------------

def test_reject_customer_reason_from_the_cli_reaches_the_customer_only(tools: Path) -> None:
    adj_id = file_one(tools)
    result = cli("reject", "-f", str(tools), "--as", "bob", adj_id, "--reason",
                 "INTERNAL-REJECT", "--customer-reason", "the item was not returned")
    assert result.exit_code == 0, result.output
    text = tools.read_text()
    assert 'customer-reason: "the item was not returned"' in text
    assert not clean(tools)
    rejected = notices(tools)["customer-rejected"]
    assert "the item was not returned" in rejected.body
    assert "INTERNAL" not in rejected.subject + rejected.body


def test_api_reject_and_cancel_take_a_customer_reason(tools: Path) -> None:
    first = api.create(tools, customer="cust_1", type="credit:refund", amount="5.00 USD",
                       reason="INTERNAL-REASON", as_user="alice")
    api.reject(tools, first.id, as_user="bob", reason="INTERNAL-REJECT",
               customer_reason="no proof of delivery")
    second = api.create(tools, customer="cust_1", type="credit:refund", amount="6.00 USD",
                        reason="INTERNAL-REASON", as_user="alice")
    done = api.cancel(tools, second.id, as_user="alice", reason="INTERNAL-CANCEL",
                      customer_reason="you asked us to drop it")
    assert done.state == "withdrawn"
    assert not clean(tools)
    found = notices(tools)
    assert "no proof of delivery" in found["customer-rejected"].body
    assert "you asked us to drop it" in found["customer-withdrawn"].body
    for notice in found.values():
        assert "INTERNAL" not in notice.subject + notice.body


def test_a_customer_reason_goes_only_with_a_reject_or_a_cancel(tools: Path) -> None:
    adj_id = file_one(tools)
    before = tools.read_bytes()
    with pytest.raises(writer.WriteRefused, match="customer reason goes with a reject or a "
                       "cancel"):
        writer.write_decisions(tools, [writer.Decision(
            adjustment_id=adj_id, action=Action.APPROVE, by="bob", customer_reason="yes")])
    with pytest.raises(writer.WriteRefused, match="the customer reason holds a NUL byte"):
        writer.write_decisions(tools, [writer.Decision(
            adjustment_id=adj_id, action=Action.REJECT, by="bob", reason="no",
            customer_reason="a\x00b")])
    assert tools.read_bytes() == before


def test_the_fava_decide_endpoint_writes_the_customer_reason(tmp_path: Path) -> None:
    env = Env(tmp_path)
    response = env.decide([{"id": "ADJ-2", "action": "reject", "reason": "Duplicate",
                            "customer_reason": "it was filed twice"}])
    assert response.status_code == 200, response.get_json()
    text = env.path.read_text()
    block = text[text.index('custom "adjustment" "ADJ-2" "reject"'):]
    assert 'customer-reason: "it was filed twice"' in block.split("\n\n")[0]
    assert env.state("ADJ-2") == "rejected"
    bad = env.decide([{"id": "ADJ-3", "action": "reject", "reason": "x",
                       "customer_reason": 5}])
    assert bad.status_code == 400
    assert "customer_reason must be text" in bad.get_json()["error"]
    page = env.get(FAVA).get_data(as_text=True)
    assert 'id="adj-customer-reason-text"' in page


# -- 2. withdrawn ---------------------------------------------------------------------

WITHDRAWN = BACKDATING + """
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  contact: "billing@cust456.example"
2026-01-01 custom "adjustment-policy" "credit:*"
  sla-days: 3
"""


def _withdrawn(lines: str, date: str = "2026-03-02") -> list[Any]:
    loaded = load(WITHDRAWN + lines + request("A-1", date, "-50.00", reason="INTERNAL")
                  + event("A-1", "2026-03-04", "cancel", "alice", reason="INTERNAL-CANCEL"))
    assert loaded.state("A-1") == "withdrawn"
    setup, problems = parse_customer_notices(loaded.entries)
    assert not problems
    return notify_customers.customer_notices(loaded.book, datetime.date(2026, 3, 9), setup)


def test_a_customer_told_of_a_request_hears_it_was_withdrawn() -> None:
    found = _withdrawn('2026-01-01 custom "adjustment-customer-notice" "credit:*" "received" '
                       '"withdrawn"\n')
    assert [n.kind for n in found] == ["customer-received", "customer-withdrawn"]
    gone = found[1]
    assert gone.key == "A-1:customer-withdrawn:customer:cust_456"
    assert gone.subject == "Adjustment request A-1 withdrawn"
    assert "withdrawn on 2026-03-04: please contact us for the details" in gone.body
    assert "INTERNAL" not in gone.body


def test_withdrawn_is_opt_in_and_only_after_a_received() -> None:
    assert [n.kind for n in _withdrawn(
        '2026-01-01 custom "adjustment-customer-notice" "credit:*" "received"\n')] == [
        "customer-received"]
    # never told it was received: nothing to take back
    assert _withdrawn(
        '2026-01-01 custom "adjustment-customer-notice" "credit:*" "withdrawn"\n') == []
    templated = _withdrawn(
        '2026-01-01 custom "adjustment-customer-notice" "credit:*" "*"\n'
        '2026-01-01 custom "adjustment-customer-notice" "credit:refund" "withdrawn"\n'
        '  body: "{name}: {id} dropped on {withdrawn}"\n')
    assert templated[-1].body == "cust_456: A-1 dropped on 2026-03-04"


# -- 3. bean-check flags a bad customer-notice line -------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ('custom "adjustment-customer-notice" "credit:*" "received"\n  body: "{applied}"',
     "unknown placeholder {applied} in a received notice"),
    ('custom "adjustment-customer-notice" "credit:*" "approved"', "unknown notice 'approved'"),
    ('custom "adjustment-customer-notice" "credit:*"',
     'custom "adjustment-customer-notice" takes a type pattern'),
    ('custom "adjustment-customer-notice" "credit:*" "withdrawn"\n  title: "{expected}"',
     "unknown placeholder {expected} in a withdrawn notice"),
])
def test_bean_check_reports_a_bad_customer_notice_line_at_its_line(line: str,
                                                                    message: str) -> None:
    loaded = load(f"2026-01-01 {line}\n")
    lineno = line_in(loaded.text, line.splitlines()[0])
    assert (lineno, "bad-customer-notice") in loaded.codes
    (error,) = [e for e in loaded.errors if e.source["lineno"] == lineno]
    assert message in error.message
    # the same sentence `notify` prints: one reading, one home
    _setup, problems = parse_customer_notices(loaded.entries)
    assert [p.message for p in problems] == [
        error.message.removesuffix(" [bad-customer-notice]")]


def test_the_plugin_does_not_import_the_notify_layer() -> None:
    import subprocess
    import sys
    code = ("import sys, beancount_adjustments.plugin; "
            "print(any(m.startswith('beancount_adjustments.notify') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- 4. on-statement and aging-from from the tools --------------------------------------

def _request_meta(path: Path, adj_id: str) -> dict[str, Any]:
    _entries, errors, options = loader.load_file(str(path))
    assert not errors, errors
    book = book_of(options)
    request_ = book.get(adj_id).request
    return {"on_statement": request_.on_statement, "aging_from": request_.aging_from}


def test_create_off_statement_and_aging_from(tools: Path) -> None:
    adj_id = file_one(tools, "cust_1", "20.00 USD", "--off-statement",
                      "--aging-from", "2026-12-15")
    text = tools.read_text()
    assert "on-statement: FALSE" in text
    assert "aging-from: 2026-12-15" in text
    assert _request_meta(tools, adj_id) == {"on_statement": False,
                                            "aging_from": datetime.date(2026, 12, 15)}
    plain = file_one(tools)
    assert _request_meta(tools, plain) == {"on_statement": True, "aging_from": None}
    assert text.count("on-statement") == tools.read_text().count("on-statement")


def test_api_create_on_statement_and_aging_from(tools: Path) -> None:
    adj = api.create(tools, customer="cust_1", type="credit:refund", amount="5.00 USD",
                     reason="r", as_user="alice", on_statement=False, aging_from="2026-12-20")
    assert (adj.on_statement, adj.aging_from) == (False, datetime.date(2026, 12, 20))
    assert adj.as_json()["on_statement"] is False
    assert adj.as_json()["aging_from"] == "2026-12-20"
    with pytest.raises(api.ApiError, match="on_statement must be true or false"):
        api.create(tools, customer="cust_1", type="credit:refund", amount="5.00 USD",
                   reason="r", as_user="alice", on_statement="no")  # type: ignore[arg-type]
    with pytest.raises(api.ApiError, match="aging_from must be a date"):
        api.create(tools, customer="cust_1", type="credit:refund", amount="5.00 USD",
                   reason="r", as_user="alice", aging_from="soon")
    fields = api.create_fields({"customer": "cust_1", "type": "credit:refund",
                                "amount": "1 USD", "reason": "r", "onStatement": False,
                                "aging-from": "2026-12-01"})
    assert fields["on_statement"] is False
    assert fields["aging_from"] == "2026-12-01"


def test_an_approved_off_statement_credit_is_an_account_adjustment_on_the_statement(
        tools: Path) -> None:
    adj = api.create(tools, customer="cust_beta", type="credit:refund", amount="30.00 USD",
                     reason="INTERNAL-REASON", as_user="alice", on_statement=False)
    api.approve(tools, adj.id, as_user="bob")
    entries, errors, options = loader.load_file(str(tools))
    assert not errors
    book = book_of(options)
    today = datetime.date.today()
    shown = statement(entries, book, "cust_beta", today.replace(day=1), today)
    (section,) = shown.sections
    lines = [line for line in section.lines if line.reference == adj.id or
             line.kind == "account-adjustment"]
    assert [(line.description, line.reference, line.amount) for line in lines] == [
        ("Account adjustment", "", -30)]


IMPORT_HEAD = "type,customer,amount,currency,reason,external-id,on-statement,aging-from\n"


def test_csv_import_on_statement_and_aging_from_columns(tools: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(IMPORT_HEAD
                    + "credit:refund,Acme Corp,5.00,USD,r,x-1,FALSE,2026-12-10\n"
                    + "credit:refund,cust_1,6.00,USD,r,x-2,,\n", encoding="utf-8")
    result = cli("import", "-f", str(tools), "--as", "alice", str(rows))
    assert result.exit_code == 0, result.output
    text = tools.read_text()
    first = text[text.index('external-id: "x-1"') - 400:text.index('external-id: "x-2"')]
    assert 'customer: "cust_1"' in first  # the name picked the id
    assert "on-statement: FALSE" in first
    assert "aging-from: 2026-12-10" in first
    assert text.count("on-statement") == 1
    assert text.count("aging-from") == 1
    assert not clean(tools)


def test_csv_import_refuses_a_bad_on_statement(tools: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(IMPORT_HEAD + "credit:refund,cust_1,5.00,USD,r,x-1,no,someday\n"
                    + "credit:refund,Twin Ltd,5.00,USD,r,x-2,,\n", encoding="utf-8")
    before = tools.read_bytes()
    result = cli("import", "-f", str(tools), "--as", "alice", str(rows))
    assert result.exit_code == 1
    assert "line 2: on-statement 'no' is TRUE or FALSE" in result.output
    assert "line 2: aging-from 'someday' is not a date" in result.output
    assert "line 3: customer 'Twin Ltd' is ambiguous" in result.output
    assert tools.read_bytes() == before


def test_fava_create_and_preview_take_on_statement_and_aging_from(tmp_path: Path) -> None:
    env = Env(tmp_path, extra=f"{START} open Expenses:Adjustments:Credits\n")
    preview = env.get(FAVA + "preview?customer=cust_123&type=credit:refund&amount=5.00"
                      "&currency=USD&reason=r&on_statement=&aging_from=2026-12-24",
                      user="alice")
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert shown["on_statement"] is False
    assert shown["aging_from"] == "2026-12-24"
    assert env.path.read_text().count("on-statement") == 0
    made = env.client.post(FAVA + "create", headers={"X-Remote-User": "alice"}, json={
        "customer": "Acme Corp", "type": "credit:refund", "amount": "5.00 USD",
        "reason": "r", "on_statement": False, "aging_from": "2026-12-24"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["customer"] == "cust_123"
    text = env.path.read_text()
    assert "on-statement: FALSE" in text
    assert "aging-from: 2026-12-24" in text
    form = env.get(FAVA + "?view=new", user="alice").get_data(as_text=True)
    assert 'id="adj-new-on-statement"' in form
    assert 'name="aging_from"' in form


# -- 5. a declaration without a tier ---------------------------------------------------

def test_a_customer_declared_without_a_tier_keeps_its_tier() -> None:
    loaded = load("""
2026-01-01 custom "adjustment-customer" "cust_9"
  name: "Nine Ltd"
  contact: "nine@example.com"
2026-02-01 custom "adjustment-customer" "cust_123"
  contact: "acme@example.com"
""" + request("A-9", "2026-03-01", "-10.00", customer="cust_9", type="credit:goodwill",
              account="Expenses:Goodwill")
              + request("A-1", "2026-03-01", "-10.00", customer="cust_123",
                        type="credit:goodwill", account="Expenses:Goodwill"))
    assert not loaded.errors, loaded.errors
    directory = loaded.book.directory
    day = datetime.date(2026, 3, 1)
    nine = directory.customer_on("cust_9", day)
    assert (nine.tier, nine.name, nine.contact) == ("standard", "Nine Ltd", "nine@example.com")
    acme = directory.customer_on("cust_123", day)
    assert (acme.tier, acme.contact) == ("vip", "acme@example.com")
    # the vip goodwill row still picks cust_123 (a manager), not cust_9 (below 25 USD)
    assert loaded.adj("A-1").chain == ("manager",)
    assert loaded.state("A-9") == "applied"


def test_a_customer_declaration_with_three_values_is_still_an_error() -> None:
    loaded = load('2026-01-01 custom "adjustment-customer" "cust_9" "vip" "extra"\n')
    assert (loaded.line('"cust_9" "vip" "extra"'), "malformed-directive") in loaded.codes


# -- 7. customers by name wherever a tool takes one --------------------------------------

def test_every_cli_filter_takes_a_customer_name(tools: Path) -> None:
    mine = file_one(tools, "cust_1")
    other = file_one(tools, "cust_beta")
    for command in ("list", "queue"):
        result = cli(command, "-f", str(tools), "--customer", "ACME corp", "--json")
        assert result.exit_code == 0, result.output
        ids = {row["id"] for row in json.loads(result.output)}
        assert mine in ids, (command, result.output)
        assert other not in ids, (command, result.output)
    twin = cli("list", "-f", str(tools), "--customer", "Twin Ltd")
    assert twin.exit_code == 1
    assert "ambiguous" in twin.output
    assert "Traceback" not in twin.output
    result = cli("approve", "-f", str(tools), "--as", "bob", "--all-pending", "--customer",
                 "Acme Corp")
    assert result.exit_code == 0, result.output
    text = tools.read_text()
    assert f'custom "adjustment" "{mine}" "approve"' in text
    assert f'custom "adjustment" "{other}" "approve"' not in text
    result = cli("statement", "-f", str(tools), "acme corp")
    assert result.exit_code == 0
    assert "(cust_1)" in result.output


def test_api_list_and_fava_filters_take_a_customer_name(tmp_path: Path) -> None:
    env = Env(tmp_path)
    assert {a.id for a in api.list(env.path, customer="acme corp")} == {
        a.id for a in api.list(env.path, customer="cust_123")} == {"ADJ-1", "ADJ-4", "ADJ-6"}
    listed = env.get(FAVA + "adjustments?customer=Acme%20Corp").get_json()
    assert {a["id"] for a in listed} == {"ADJ-1", "ADJ-4", "ADJ-6"}
    queue = env.get(FAVA + "queue?customer=Acme%20Corp").get_json()
    assert queue["matched"] > 0
    assert {r["customer"] for r in queue["rows"]} == {"cust_123"}
    page = env.get(FAVA + "?customer=acme%20corp").get_data(as_text=True)
    assert 'data-adj-row="ADJ-1"' in page
    assert 'data-adj-row="ADJ-2"' not in page
    shown = env.get(FAVA + "?view=statement&customer=acme%20corp").get_data(as_text=True)
    assert 'id="adj-statement"' in shown
    assert "cust_123" in shown
