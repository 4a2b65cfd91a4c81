"""Eighth round of attacks on the controls (issue 11): escaping, identity, self-approval.

Each test is one way tried to get script or a formula out of ledger text, to act
as someone the deployment does not vouch for, to write through a door the
extension keeps shut, or to approve one's own request by another path; it asserts
that the control holds. A test whose docstring says "Hole:" failed on the code
it was written against (the fix is named in the commit that added it); the
others held and add coverage no earlier test had.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from repos import REQUEST_2, Repo, check, findings

from beancount_adjustments.cli import main
from ledgers import BASE

# -- self-approval: an alias sharing the requester's git e-mail ------------------------------

ALICE = BASE.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n')
GIT_IDENTITY = ('\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n'
                '  git-identity: "required"\n')
GOODWILL = REQUEST_2  # a 40 USD goodwill credit alice filed


@pytest.mark.parametrize("email", ["alice@example.com", "Alice@Example.com "])
def test_an_alias_with_the_requesters_git_email_is_a_git_identity_finding(
        tmp_path: Path, email: str) -> None:
    """Hole: under git-identity, alice (an agent) adds a user "al", a manager, whose `git:`
    is her own e-mail, and approves her own request as al, all in her commits: every
    line was committed by the user it names, so `check --since` passed, though git
    could not tell alice's commits from al's (segregation of duties void)."""
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL, email="alice@example.com")
    alias = (f'\n2026-03-06 custom "adjustment-user" "al" "manager"\n  git: "{email}"\n'
             '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "al"\n')
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL + alias, email="alice@example.com")
    result = check(repo, "HEAD~1")
    assert result.exit_code == 1, result.output
    # The alias shares her address; and al, new since HEAD~1, has no address it knew
    # (round 48: an address given in the change vouches for nothing yet).
    found = findings(result, "git-identity")
    assert len(found) == 2, result.output
    [alias_line] = [f for f in found if repo.at('"adjustment-user" "al"') in f]
    assert "alice" in alias_line
    assert any(repo.at('"ADJ-2" "approve"') in f for f in found)


GUS = ('\n2026-03-06 custom "adjustment-user" "gus" "manager"\n'
       '  git: "gus@example.com"\n')
GUS_APPROVES = '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "gus"\n'


def test_a_new_user_decides_once_their_line_has_landed(tmp_path: Path) -> None:
    """Held (as round 48 left it): gus's line with an address of his own is a warning
    in the change that adds it; his approval in that same change does not count as
    his (the address vouches for nothing yet); once the line has landed, it does."""
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL, email="alice@example.com")
    landed = repo.commit(ALICE + GIT_IDENTITY + GOODWILL + GUS, email="gus@example.com")
    added = check(repo, "HEAD~1")
    assert added.exit_code == 0, added.output
    assert len(findings(added, "new-identity")) == 1, added.output
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL + GUS + GUS_APPROVES, email="gus@example.com")
    assert check(repo, "HEAD~2").exit_code == 1
    result = check(repo, landed)
    assert result.exit_code == 0, result.output
    assert "the past is intact" in result.stdout


# -- CSV: a tab is a separator too ----------------------------------------------------------

TAB_PAYLOADS = ("Refund\t=1+1", "x\t@SUM(A1)\tmore", "x\t -2+3", 'say "hi"\t+1', "a\t\t=1")


def _cells(text: str, delimiter: str) -> list[str]:
    import csv
    import io
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def _no_formula(text: str) -> None:
    """No cell of `text`, read with `,`, `;` or a tab as the separator, is a formula (a
    plain number the product computed, like -40.00, is a number)."""
    import re
    for delimiter in (",", ";", "\t"):
        for cell in _cells(text, delimiter):
            if re.fullmatch(r"-?\d+(\.\d+)?", cell):
                continue
            assert not cell.lstrip(' "').startswith(("=", "+", "-", "@")), (delimiter, cell)


@pytest.mark.parametrize("payload", TAB_PAYLOADS)
def test_no_csv_cell_becomes_a_formula_where_the_separator_is_a_tab(
        tmp_path: Path, payload: str) -> None:
    """Hole: a reason may hold a tab, and the CSV writer leaves such text unquoted; a
    spreadsheet that splits on tabs (Excel's text import wizard does by default) read
    `Refund<TAB>=1+1` as two cells, the second `=1+1,...`: a formula, from every CSV
    the product writes."""
    import datetime

    from beancount_adjustments import reports
    from beancount_adjustments.reports import export as exporting
    from beancount_adjustments.reports.statement.render import render_csv
    from beancount_adjustments.reports.statement.rows import statement
    from ledgers import event, load, request
    quoted = payload.replace('"', '\\"')
    text = request("ADJ-1", "2026-03-01", "-40.00", reason=quoted, customer="cust_456")
    text += event("ADJ-1", "2026-03-02", "approve", "bob", comment=quoted)
    loaded = load(text)
    assert loaded.state("ADJ-1") == "applied"
    book = loaded.book
    assert book is not None
    day = datetime.date(2026, 3, 31)
    for out in (exporting.export(book, "csv", "adjustments"),
                exporting.export(book, "csv", "events"),
                reports.report_text("audit", book, reports.Scope(), "csv"),
                render_csv(statement(loaded.entries, book, "cust_456", day.replace(day=1),
                                     day))):
        assert "ADJ-1" in out
        _no_formula(out)
    [row] = _dict_rows(exporting.export(book, "csv", "adjustments"))
    assert row["reason"].replace("'", "") == payload.replace("'", "")


def _dict_rows(text: str) -> list[dict[str, str]]:
    import csv
    import io
    return list(csv.DictReader(io.StringIO(text)))


# -- escaping: ledger text in the pages, end to end -----------------------------------------


def _img(n: int) -> str:
    return f"<img src=x onerror=window.__pwned={n}>"


def _quoted(n: int) -> str:
    """Breaks out of a double-quoted attribute (written with Beancount's `\\"`)."""
    return f'\\"><img src=x onerror=window.__pwned={n}>'


def _script(n: int) -> str:
    return f"</textarea></title><script>window.__pwned={n}</script>"


XSS_CUSTOMER = "<svg onload=window.__pwned=7>"
XSS_USER = _img(5)


def xss_ledger(folder: Path) -> Path:
    """A ledger whose every kind of text an attacker may write holds markup that runs
    script wherever it is not escaped: payee, narration, reason, notes, customer-reason,
    document path, ticket, comments, a reject's reasons, a customer's id, name and
    contact, a user's name and role, an invoice's narration, a type's statement-text,
    an alert's recipients.
    Each payload sets `window.__pwned` to its own number."""
    import datetime

    today = datetime.date.today()

    def d(days: int) -> str:
        return (today - datetime.timedelta(days=days)).isoformat()

    start, cust = d(400), XSS_CUSTOMER
    config = ("{'user-header': 'X-Remote-User', "
              "'ticket-url': 'https://support.example/tickets/{ticket}'}")
    text = f'''option "title" "Test Ledger"
option "operating_currency" "USD"
plugin "beancount_adjustments" "{{'default-sla-days': 3}}"
{start} custom "fava-extension" "beancount_adjustments.fava_ext" "{config}"
{start} open Assets:Receivable:Customers
{start} open Income:Sales
{start} open Income:Sales:Returns
{start} open Expenses:Adjustments:Credits
{start} custom "adjustment-user" "alice" "agent"
{start} custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
{start} custom "adjustment-user" "erin" "manager"
{start} custom "adjustment-user" "{XSS_USER}" "{_script(6)}"
{start} custom "adjustment-customer" "{cust}" "standard"
  name: "{_quoted(8)}"
  contact: "{_script(9)}"
{start} custom "adjustment-customer" "cust_456" "standard"
  name: "{_img(10)}"
{start} custom "adjustment-approval" "credit:*" 25.00 USD "manager"
{start} custom "adjustment-policy" "credit:goodwill"
  statement-text: "{_script(11)}"
{start} custom "adjustment-alert" "customer" 10.00 USD
  period: "month"
  notify: "<svg/onload=window.__pwned=36>"
{d(40)} * "{cust}" "Invoice {_script(12)}"
  invoice-id: "INV-1"
  customer: "{cust}"
  Assets:Receivable:Customers   120.00 USD
  Income:Sales                 -120.00 USD

{d(10)} ! "{_quoted(13)}" "{_script(14)}" ^ADJ-1
  adjustment-type: "credit:refund"
  customer: "{cust}"
  reason: "{_quoted(15)}"
  notes: "{_script(16)}"
  customer-reason: "{_img(17)}"
  document: "javascript:window.__pwned=18"
  ticket: "javascript:window.__pwned=19"
  invoice: "INV-1"
  requested-by: "alice"
  Income:Sales:Returns  50 USD
  Assets:Receivable:Customers  -50 USD

{d(9)} ! "{_img(20)}" "{_quoted(21)}" ^ADJ-2
  adjustment-type: "credit:goodwill"
  customer: "{cust}"
  reason: "{_script(22)}"
  document: "{_img(23)}.pdf"
  requested-by: "{XSS_USER}"
  Income:Sales:Returns  40 USD
  Assets:Receivable:Customers  -40 USD

{d(8)} custom "adjustment" "ADJ-2" "approve"
  by: "bob"
  comment: "{_script(24)}"

{d(7)} ! "cust_456" "{_img(25)}" ^ADJ-3
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "{_img(26)}"
  requested-by: "alice"
  Income:Sales:Returns  30 USD
  Assets:Receivable:Customers  -30 USD

{d(6)} custom "adjustment" "ADJ-3" "reject"
  by: "erin"
  reason: "{_quoted(27)}"
  comment: "{_img(28)}"
  customer-reason: "{_script(29)}"
'''
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "javascript:window.__pwned=18").write_text("<script>window.__pwned=30</script>")
    (folder / f"{_img(23)}.pdf").write_bytes(b"%PDF-1.4\n")
    path = folder / "main.beancount"
    path.write_text(text, encoding="utf-8")
    return path


def _serve(ledger: Path) -> Any:
    """A real Fava on a free port of 127.0.0.1 (as test_fava_e2e serves it): yields the
    extension's URL."""
    import socket
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    fava_bin = Path(sys.executable).parent / "fava"
    proc = subprocess.Popen([str(fava_bin), "-H", "127.0.0.1", "-p", str(port), str(ledger)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError as exc:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") \
                        from exc
                time.sleep(0.2)
        yield base + "/test-ledger/extension/AdjustmentsExtension/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_ledgers_own_text_runs_no_script_in_the_pages(tmp_path: Path, page: Any) -> None:
    """Held: every page (queue, detail with its timeline, new request with its customer
    picker and preview, reports, statements and the printable statement, a missing id,
    the flash after a decision) shows the markup as text; no payload ran, including
    the reason and comment a reviewer types into the page and the text of a request
    filed from it."""
    from urllib.parse import quote

    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    shots = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots" / "attacks"
    shots.mkdir(parents=True, exist_ok=True)
    ledger = xss_ledger(tmp_path / "books")
    served = _serve(ledger)
    url = next(served)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def visit(path: str, shot: str | None = None) -> None:
        page.goto(url + path)
        page.wait_for_load_state("load")
        if shot:
            page.screenshot(path=str(shots / shot), full_page=True)
        assert page.evaluate("() => window.__pwned") is None, path

    try:
        page.set_extra_http_headers({"X-Remote-User": "bob"})
        visit("", "xss-queue.png")
        expect(page.locator('#adj-root[data-bound="1"]')).to_have_count(1)
        expect(page.locator('tr[data-adj-row="ADJ-1"]')).to_contain_text(
            "<script>window.__pwned=14</script>")
        expect(page.locator("#adj-alerts")).to_contain_text(
            "sent to <svg/onload=window.__pwned=36>")
        visit("?view=detail&id=ADJ-1", "xss-detail.png")
        expect(page.locator("#adj-root")).to_contain_text(_quoted(15).replace("\\", ""))
        ticket = page.get_attribute("#adj-ticket-link", "href") or ""
        assert ticket.startswith("https://support.example/tickets/javascript%3A"), ticket
        document = page.get_attribute("#adj-document-link", "href") or ""
        assert "/document?id=ADJ-1" in document, document
        for path in ("?view=detail&id=ADJ-2", "?view=detail&id=ADJ-3", "?view=reports",
                     "?view=statement&customer=" + quote(XSS_CUSTOMER),
                     "?view=statement&customer=cust_456",
                     "statement?format=html&customer=" + quote(XSS_CUSTOMER),
                     "?view=detail&id=" + quote("<img src=x onerror=window.__pwned=31>")):
            visit(path)
        visit("?view=statement&customer=" + quote(XSS_CUSTOMER), "xss-statement.png")

        # What a reviewer types: a reject's reasons, then a request filed from the form.
        visit("?view=detail&id=ADJ-1")
        page.click('button[data-adj-action="reject"]')
        page.fill("#adj-reason-text", _img(32))
        page.fill("#adj-comment-text", _script(33))
        page.fill("#adj-customer-reason-text", _img(34))
        page.click("#adj-reason-ok")
        expect(page.locator("#adj-root")).to_contain_text(_img(32))
        assert page.evaluate("() => window.__pwned") is None
        page.screenshot(path=str(shots / "xss-rejected.png"), full_page=True)

        page.set_extra_http_headers({"X-Remote-User": "alice"})
        visit("?view=new")
        expect(page.locator('#adj-root[data-bound="1"]')).to_have_count(1)
        page.fill("#adj-new-customer", _quoted(8).replace("\\", ""))  # by its name
        expect(page.locator("#adj-new-customer-picked")).to_contain_text(XSS_CUSTOMER)
        page.select_option("#adj-new-type", "credit:refund")
        page.fill("#adj-new-amount", "50.00")
        page.fill("#adj-new-reason", _script(35))
        expect(page.locator("#adj-new-chain")).to_contain_text("manager")
        page.screenshot(path=str(shots / "xss-new-request.png"), full_page=True)
        page.click("#adj-new-submit")
        expect(page.locator("#adj-new-filed")).to_contain_text("Filed ADJ-")
        page.click("#adj-new-open")
        expect(page.locator("#adj-root")).to_contain_text(_script(35))
        assert page.evaluate("() => window.__pwned") is None

        # Acting as the user whose name and role are markup: the banner of a refusal.
        page.set_extra_http_headers({"X-Remote-User": XSS_USER})
        visit("", "xss-acting-user.png")
        expect(page.locator("#adj-acting-user")).to_have_text(XSS_USER)
        expect(page.locator('#adj-root[data-bound="1"]')).to_have_count(1)
        page.check("input.adj-select")  # picked by hand: the refusal names user and role
        page.click("#adj-batch-approve")
        expect(page.locator("#adj-flash")).to_contain_text(f"{XSS_USER} holds {_script(6)}")
        assert page.evaluate("() => window.__pwned") is None
        page.screenshot(path=str(shots / "xss-refused-flash.png"), full_page=True)
        assert dialogs == []
        assert page.errors == []
    finally:
        served.close()
    text = ledger.read_text(encoding="utf-8")
    assert f'reason: "{_img(32)}"' in text
    assert "window.__pwned=35" in text


RAW_MARKUP = ("<img src=x", "<svg onload", "<script>window")


@pytest.mark.parametrize("args", [
    *[["report", name, "--format", "html"]
      for name in ("summary", "trends", "impact", "compliance", "audit")],
    ["statement", XSS_CUSTOMER, "--format", "html"],
    ["statement", "cust_456", "--format", "html"],
])
def test_the_clis_html_shows_the_ledgers_markup_as_text(tmp_path: Path,
                                                        args: list[str]) -> None:
    """Held: the HTML reports and statements the CLI writes escape every ledger text."""
    ledger = xss_ledger(tmp_path)
    result = CliRunner().invoke(main, [*args, "-f", str(ledger)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<!DOCTYPE html>")
    if args[1] not in ("summary", "trends", "impact"):  # those show no text of the ledger
        assert "window.__pwned" in result.output  # the text is there ...
    for raw in RAW_MARKUP:  # ... as text
        assert raw not in result.output, (raw, args)


# -- e-mail: a line break in a customer-facing text ------------------------------------------


def test_a_line_break_in_a_customer_reason_adds_no_mail_header(tmp_path: Path,
                                                               smtp: Any) -> None:
    """A customer notice whose title holds `{reason}`, and a reject whose customer-reason
    spells a header and a body after a line break: held, apprise folds the subject into
    one header line, so the mail goes to the customer's contact alone, with no Bcc."""
    from ledgers import event, ledger, request
    box, port = smtp
    channels = f'''
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
  name: "Fourfifty Ltd"
  contact: "billing@cust456.example"
2026-01-01 custom "adjustment-channel" "customer:*" "mailto://127.0.0.1:{port}?from=adjust@example.com&to={{email}}&mode=insecure"
2026-01-01 custom "adjustment-customer-notice" "credit:refund" "rejected"
  title: "About {{id}}: {{reason}}"
  body: "Dear {{name}}: {{reason}}."
'''
    told = "sorry\nBcc: mallory@evil.example\nX-Injected: 1\n\nforged body"
    path = tmp_path / "main.beancount"
    path.write_text(ledger(channels + request("A-1", "2026-03-02", "-50.00")
                           + event("A-1", "2026-03-03", "reject", "bob", reason="internal",
                                   customer_reason=told)))
    result = CliRunner().invoke(main, ["notify", "-f", str(path), "--today", "2026-03-03"])
    assert result.exit_code == 0, result.output
    [mail] = box.messages
    assert mail["to"] == ["billing@cust456.example"]
    assert "\n" not in mail["subject"]
    assert mail["subject"].startswith("About A-1: sorry")
    assert mail["subject"].endswith("forged body")  # all of it in the one header


# -- Fava's own file routes: a ledger's HTML document on Fava's origin -----------------------

FORGER = """<!DOCTYPE html><title>Bank statement</title><script>
(async () => {
  const base = "/test-ledger/extension/AdjustmentsExtension/";
  const item = (await (await fetch(base + "adjustment?id=ADJ-2")).json()).adjustment;
  const answer = await fetch(base + "decide", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({decisions: [{id: "ADJ-2", action: "approve", digest: item.digest}]})});
  document.title = "forged " + answer.status;
})();
</script>"""


def _document_ledger(folder: Path, config: str = "{'user-header': 'X-Remote-User'}") -> Path:
    """A ledger with a pending 60 USD credit (ADJ-2, alice's) and a bank statement in
    HTML that a `document` directive (or a documents folder) names; Fava's extension
    line has `config`."""
    import datetime
    day = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statement.html").write_text(FORGER, encoding="utf-8")
    (folder / "statement.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (folder / "statement.pdf").write_bytes(b"%PDF-1.4\n")
    path = folder / "main.beancount"
    path.write_text(f'''option "title" "Test Ledger"
option "operating_currency" "USD"
plugin "beancount_adjustments"
2026-01-01 custom "fava-extension" "beancount_adjustments.fava_ext" "{config}"
2026-01-01 open Assets:Bank
2026-01-01 open Assets:Receivable:Customers
2026-01-01 open Income:Sales:Returns
2026-01-01 custom "adjustment-user" "alice" "agent"
2026-01-01 custom "adjustment-user" "bob" "manager"
2026-01-01 custom "adjustment-user" "erin" "manager"
2026-01-01 open Expenses:Adjustments:Credits
2026-01-01 custom "adjustment-customer" "cust_456" "standard"
2026-01-01 custom "adjustment-approval" "credit:*" 25.00 USD "manager"
2026-01-02 document Assets:Bank "statement.html"
2026-01-02 document Assets:Bank "statement.svg"
2026-01-02 document Assets:Bank "statement.pdf"
{day} ! "cust_456" "Refund" ^ADJ-2
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Damaged"
  requested-by: "alice"
  Income:Sales:Returns  60.00 USD
  Assets:Receivable:Customers  -60.00 USD
''', encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "sandboxed"), [("statement.html", True),
                                                 ("statement.svg", True),
                                                 ("statement.pdf", False)])
def test_favas_document_route_serves_a_ledgers_file_sandboxed(tmp_path: Path, name: str,
                                                              sandboxed: bool) -> None:
    """Hole: Fava's own `/document/` served a document of the ledger (an HTML bank
    statement, an SVG) inline on Fava's origin with no CSP: its script ran as whoever
    opened it, with their proxy login, so it could post the extension's `decide`
    (next test). The extension's own document link was sandboxed already."""
    from fava.application import create_app
    ledger = _document_ledger(tmp_path)
    app = create_app([str(ledger)], load=True, poll_watcher=True)
    response = app.test_client().get("/test-ledger/document/",
                                     query_string={"filename": str(tmp_path / name)},
                                     headers={"X-Remote-User": "bob"})
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp.startswith("sandbox") is sandboxed, csp


def test_a_ledgers_html_document_cannot_approve_as_who_opens_it(tmp_path: Path,
                                                                page: Any) -> None:
    """Hole (end to end): bob opens the bank statement from Fava's Documents page; its
    script read ADJ-2's digest and posted bob's approval through the extension, as bob
    (the proxy's header rides along with every request of his browser)."""
    from urllib.parse import quote
    ledger = _document_ledger(tmp_path / "books")
    before = ledger.read_bytes()
    served = _serve(ledger)
    url = next(served)
    try:
        page.set_extra_http_headers({"X-Remote-User": "bob"})
        page.goto(url.split("/extension/")[0] + "/document/?filename="
                  + quote(str(ledger.parent / "statement.html")))
        page.wait_for_timeout(3000)  # the script posted within a second
        assert "forged" not in page.title()
        page.goto(url + "?view=detail&id=ADJ-2")
        assert "pending" in page.inner_text("#adj-root")
    finally:
        served.close()
    assert ledger.read_bytes() == before


# -- who acts: only what the deployment vouches for ------------------------------------------

FAVA = "/test-ledger/extension/AdjustmentsExtension/"
HEADER = "{'user-header': 'X-Remote-User'}"


class App:
    """Fava's app over `_document_ledger`, through Flask's test client."""

    def __init__(self, folder: Path, config: str = HEADER, *, read_only: bool = False) -> None:
        from fava.application import create_app
        self.path = _document_ledger(folder, config)
        self.app = create_app([str(self.path)], load=True, read_only=read_only,
                              poll_watcher=True)
        self.client = self.app.test_client()

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.path.parent.iterdir()
                if p.is_file() and not p.name.endswith(".lock")}

    def digest(self, adj_id: str) -> str:
        ext = self.app.config["LEDGERS"]["test-ledger"].extensions.get_extension(
            "AdjustmentsExtension")
        return str(ext.book.get(adj_id).digest)

    def approve(self, headers: Any = None, query: str = "") -> Any:
        return self.client.post(FAVA + "decide" + query, headers=headers or {}, json={
            "decisions": [{"id": "ADJ-2", "action": "approve", "digest": self.digest("ADJ-2")}]})

    def create(self, headers: Any = None) -> Any:
        return self.client.post(FAVA + "create", headers=headers or {}, json={
            "customer": "cust_456", "type": "credit:refund", "amount": "30.00 USD",
            "reason": "Late"})

    def page(self, headers: Any = None, query: str = "") -> str:
        return str(self.client.get(FAVA + query, headers=headers or {}).get_data(as_text=True))


@pytest.mark.parametrize(("value", "status"), [
    ("", 403), ("   ", 403), ("\t", 403),
    ("BOB", 422), ("Bob", 422), ("bob alice", 422), ("bob;alice", 422),
    ("b\u00f6b", 422),                                 # a Latin-1 look-alike
    ("b\u043eb".encode().decode("latin-1"), 422),      # UTF-8 Cyrillic o, as WSGI reads it
])
def test_an_odd_identity_header_never_acts_as_a_declared_user(tmp_path: Path, value: str,
                                                              status: int) -> None:
    """Held: an empty or blank header names nobody (403); another spelling of bob
    (case, a look-alike letter, two names) is no declared user, so the writer refuses
    it (422). Nothing is written, and bob's own header still works."""
    app = App(tmp_path)
    before = app.files()
    response = app.approve({"X-Remote-User": value})
    assert response.status_code == status, response.get_json()
    assert app.files() == before
    if status == 422:
        assert "is not a user" in response.get_json()["refused"][0]["message"]
        assert "not a declared user" in app.page({"X-Remote-User": value})
    assert app.approve({"X-Remote-User": " bob "}).get_json()["by"] == "bob"


@pytest.mark.parametrize("config", [HEADER, "{}", "{'read-only': False}"])
@pytest.mark.parametrize("how", ["query", "cookie"])
def test_without_demo_mode_a_picked_user_names_nobody(tmp_path: Path, config: str,
                                                      how: str) -> None:
    """Held: `?as=bob` or the demo cookie, without the proxy's header, name nobody when
    demo-mode is off (with or without a user-header): 403, nothing written."""
    app = App(tmp_path, config)
    before = app.files()
    if how == "cookie":
        app.client.set_cookie("adjustments-user", "bob")
    query = "?as=bob" if how == "query" else ""
    assert app.approve(query=query).status_code == 403
    assert app.create().status_code == 403
    assert app.files() == before
    assert 'data-user=""' in app.page(query=query)


def _fava_writes(app: App) -> list[tuple[str, str]]:
    """(method, path) of every route of Fava's JSON API that is not a read."""
    out = []
    for rule in app.app.url_map.iter_rules():
        if rule.endpoint.startswith("json_api."):
            out += [(method, "/test-ledger/api/" + rule.rule.rsplit("/", 1)[-1])
                    for method in sorted(set(rule.methods or ()) - {"GET", "HEAD", "OPTIONS"})]
    return out


FAVA_1_30_WRITES = {("PUT", "move"), ("PUT", "source"), ("PUT", "source_slice"),
                    ("DELETE", "source_slice"), ("PUT", "format_source"),
                    ("DELETE", "document"), ("PUT", "add_document"),
                    ("PUT", "attach_document"), ("PUT", "add_entries"),
                    ("PUT", "upload_import_file")}


@pytest.mark.parametrize(("config", "fava_read_only"), [
    ("{'user-header': 'X-Remote-User', 'read-only': True}", False),
    (HEADER, True),
    ("{'user-header': 'X-Remote-User', 'read-only': True, 'fava-editing': True}", True),
])
def test_read_only_refuses_every_write_of_the_extension_and_of_fava(
        tmp_path: Path, config: str, fava_read_only: bool) -> None:
    """Held: with the extension's `read-only` (Fava's editor closed by the header) or
    Fava's `--read-only`, bob's decide and create are refused (403), and so is each of
    Fava 1.30's writes (its json_api.py: every put_ and delete_ endpoint), whatever the
    body; nothing is written."""
    app = App(tmp_path, config, read_only=fava_read_only)
    writes = _fava_writes(app)
    assert {(m, p.rsplit("/", 1)[-1]) for m, p in writes} == FAVA_1_30_WRITES
    before = app.files()
    bob = {"X-Remote-User": "bob"}
    assert app.approve(bob).status_code == 403
    assert app.create(bob).status_code == 403
    source = ('2026-03-01 custom "adjustment" "ADJ-2" "approve"\n  by: "erin"\n')
    for method, path in writes:
        response = app.client.open(path, method=method, headers=bob, json={
            "file_path": str(app.path), "source": source, "sha256sum": "",
            "entries": [], "filename": str(app.path), "entry_hash": "",
            "account": "Assets:Bank", "new_name": "Assets:Cash"})
        assert response.status_code in (401, 403), (method, path, response.status_code)
    assert app.files() == before
    assert "read-only" in app.page(bob)


# -- self-approval: dropping who entered a request ------------------------------------------


def test_an_entered_by_line_removed_since_rev_is_a_git_identity_finding(
        tmp_path: Path) -> None:
    """Hole: erin (a manager) entered ADJ-2 in alice's name with a tool (`entered-by:
    "erin"`, her commit, pending at REV); she deletes that line and approves it, both in
    her own commits. Under git-identity an edited request must be committed by one of
    its requesters, but a deletion leaves no line for git blame to name: the check
    passed, and erin approved what she entered."""
    entered = GOODWILL.replace('  requested-by: "alice"\n',
                               '  requested-by: "alice"\n  entered-by: "erin"\n')
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + entered, email="erin@example.com")
    repo.commit(ALICE + GIT_IDENTITY + GOODWILL
                + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "erin"\n',
                email="erin@example.com")
    result = check(repo, "HEAD~1")
    assert result.exit_code == 1, result.output
    [line] = findings(result, "git-identity")
    assert repo.at("^ADJ-2") in line
    assert "no longer names erin" in line


def test_a_requester_editing_a_pending_request_keeps_it_intact(tmp_path: Path) -> None:
    entered = GOODWILL.replace('  requested-by: "alice"\n',
                               '  requested-by: "alice"\n  entered-by: "erin"\n')
    repo = Repo(tmp_path / "books")
    repo.commit(ALICE + GIT_IDENTITY + entered, email="erin@example.com")
    repo.commit(ALICE + GIT_IDENTITY + entered.replace("Late delivery", "Very late"),
                email="alice@example.com")
    repo.commit(ALICE + GIT_IDENTITY + entered.replace("Late delivery", "Very late")
                + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n',
                email="bob@example.com")
    result = check(repo, "HEAD~2")
    assert result.exit_code == 0, result.output
    assert "the past is intact" in result.stdout


# -- the writer writes the text it was given ------------------------------------------------


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
def test_a_unicode_line_separator_in_a_reason_is_written_as_it_is(tmp_path: Path,
                                                                  char: str) -> None:
    """Hole (fidelity): the writer aligned a new block with `splitlines`, which also
    splits at U+2028, U+2029 and U+0085, and joined it with line breaks: a reason
    pasted with one was written, and read back by every tool, as other text."""
    from beancount_adjustments import api
    from ledgers import TOOLS_BASE, load_file
    path = tmp_path / "main.beancount"
    path.write_text(TOOLS_BASE)
    reason = f"Damaged{char}  requested-by: \"bob\""
    adj = api.create(path, customer="cust_123", type="credit:refund", amount="50.00 USD",
                     reason=reason, notes=f"a{char}b", as_user="alice")
    found = load_file(path).adj(adj.id).request
    assert (found.reason, found.requested_by) == (reason, "alice")
    assert adj.reason == reason


def test_who_asked_for_a_reversal_cannot_approve_it_through_fava(tmp_path: Path) -> None:
    """Held: erin approves alice's 60 USD credit (booked); bob cancels it through Fava
    and then approves the reversal he asked for: refused, as the page says beside the
    disabled button; erin's approval of the reversal books it."""
    app = App(tmp_path)

    def decide(user: str, action: str, **more: str) -> Any:
        return app.client.post(FAVA + "decide", headers={"X-Remote-User": user}, json={
            "decisions": [{"id": "ADJ-2", "action": action, "digest": app.digest("ADJ-2"),
                           **more}]})

    assert decide("erin", "approve").status_code == 200
    assert decide("bob", "cancel", reason="Refunded twice").status_code == 200
    before = app.files()
    refused = decide("bob", "approve")
    assert refused.status_code == 422
    assert "asked for the reversal cannot approve it" in refused.get_json()["refused"][0][
        "message"]
    assert app.files() == before
    page = app.page({"X-Remote-User": "bob"}, "?view=detail&id=ADJ-2")
    assert 'data-adj-action="approve"' in page
    assert re.search(r'data-adj-action="approve"[^>]*disabled', page)
    assert decide("erin", "approve").status_code == 200
    ext = app.app.config["LEDGERS"]["test-ledger"].extensions.get_extension(
        "AdjustmentsExtension")
    assert str(ext.book.get("ADJ-2").state) == "reversed"
