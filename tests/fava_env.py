"""The Fava extension's test environment: its ledger, configs and a Fava app
over it through Flask's test client (`Env`), as Fava's own tests make one.

The ledger (`ledger_text`) is dated relative to today, so ages and the
writer's default event date line up; `START` is the date its preamble opens
everything on. The additions below are what several Fava test modules put
after it.
"""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount_adjustments.fava_ext import AdjustmentsExtension

# The extension's configs: identities from the proxy's header, or picked on the page.
HEADER_CONFIG = ("{'user-header': 'X-Remote-User', "
                 "'ticket-url': 'https://support.example/tickets/{ticket}'}")
DEMO_CONFIG = "{'demo-mode': True}"
SECRET_VAR = "BEAN_ADJUST_TEST_PROXY_SECRET"
SECRET_CONFIG = f"{{'user-header': 'X-Remote-User', 'proxy-secret': 'env:{SECRET_VAR}'}}"

# The extension's pages (the ledger's title is "Test Ledger").
BASE = "/test-ledger/extension/AdjustmentsExtension/"
DECIDE = BASE + "decide"


def ago(days: int) -> str:
    """The ISO date `days` before today."""
    return (datetime.date.today() - datetime.timedelta(days=days)).isoformat()


START = ago(400)


def ledger_text(config: str = HEADER_CONFIG, today: datetime.date | None = None) -> str:
    """The Fava tests' ledger with the extension given `config`: users, customers,
    rows (`default-sla-days: 3`), an invoice and ADJ-1 to ADJ-8 (pending, awaiting
    apply, applied, rejected; one over 1000 USD), dated back from `today`."""
    today = today or datetime.date.today()

    def d(days: int) -> str:
        return (today - datetime.timedelta(days=days)).isoformat()

    start = d(400)

    def req(adj_id: str, days: int, amount: str, *, typ: str = "credit:refund",
            customer: str = "cust_456", by: str = "alice", narration: str = "Test adjustment",
            extra: str = "", account: str = "Income:Sales:Returns") -> str:
        number = Decimal(amount)
        lines = [f'{d(days)} ! "{customer}" "{narration}" ^{adj_id}',
                 f'  adjustment-type: "{typ}"', '  category: "customer-service:goodwill"',
                 f'  customer: "{customer}"', '  reason: "Because"', f'  requested-by: "{by}"']
        lines += ["  " + line for line in extra.splitlines() if line.strip()]
        lines += [f"  {account}  {-number} USD", f"  Assets:Receivable:Customers  {number} USD"]
        return "\n".join(lines) + "\n"

    def ev(adj_id: str, days: int, action: str, by: str, **meta: str) -> str:
        lines = [f'{d(days)} custom "adjustment" "{adj_id}" "{action}"', f'  by: "{by}"']
        lines += [f'  {k}: "{v}"' for k, v in meta.items()]
        return "\n".join(lines) + "\n"

    head = f"""option "title" "Test Ledger"
option "operating_currency" "USD"
plugin "beancount_adjustments" "{{'default-sla-days': 3}}"
{start} custom "fava-extension" "beancount_adjustments.fava_ext" "{config}"

{start} open Assets:Receivable:Customers
{start} open Assets:Bank
{start} open Income:Sales
{start} open Income:Sales:Returns
{start} open Income:Fees

{start} custom "adjustment-user" "alice" "agent"
{start} custom "adjustment-user" "bob" "manager"
  limit: 1000.00 USD
{start} custom "adjustment-user" "carol" "finance"
{start} custom "adjustment-user" "erin" "manager"

{start} custom "adjustment-customer" "cust_123" "vip"
  name: "Acme Corp"
{start} custom "adjustment-customer" "cust_456" "standard"

{start} custom "adjustment-approval" "credit:*"     25.00 USD "manager"
{start} custom "adjustment-approval" "credit:*"   1000.00 USD "manager" "finance"
{start} custom "adjustment-approval" "debit:*"      50.00 USD "manager"
{start} custom "adjustment-approval" "billing:*"    25.00 USD "manager"
{start} custom "adjustment-policy" "billing:*"
  apply: "separate"

{d(30)} * "cust_123" "Invoice"
  invoice-id: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers   120.00 USD
  Income:Sales                 -120.00 USD

"""
    body = [
        req("ADJ-1", 10, "-50", customer="cust_123",
            narration="<script>alert(1)</script> refund",
            extra='ticket: "TCK-1"\ninvoice: "INV-1"'),
        req("ADJ-2", 1, "-60"),
        req("ADJ-3", 2, "-70", by="bob"),
        req("ADJ-4", 5, "-30", typ="billing:invoice-correction", customer="cust_123",
            extra='invoice: "INV-1"'),
        ev("ADJ-4", 4, "approve", "erin"),
        req("ADJ-5", 3, "-2000"),
        req("ADJ-6", 20, "-40", customer="cust_123"),
        ev("ADJ-6", 19, "approve", "bob", comment="ok <b>bold</b>"),
        req("ADJ-7", 15, "100", typ="debit:fee", account="Income:Fees"),
        ev("ADJ-7", 14, "reject", "bob", reason="Not justified"),
        req("ADJ-8", 12, "-30", narration='=HYPERLINK(\\"http://evil\\")'),
    ]
    return head + "\n".join(body)


class Env:
    """A ledger on disk and a Fava app over it."""

    def __init__(self, tmp_path: Path, config: str = HEADER_CONFIG, *,
                 read_only: bool = False, extra: str = "",
                 files: dict[str, str] | None = None) -> None:
        from fava.application import create_app

        self.path = tmp_path / "main.beancount"
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        self.path.write_text(ledger_text(config) + extra, encoding="utf-8")
        self.app = create_app([str(self.path)], load=True, read_only=read_only)
        self.app.testing = True
        self.client = self.app.test_client()

    @property
    def ledger(self) -> Any:
        return self.app.config["LEDGERS"]["test-ledger"]

    @property
    def ext(self) -> AdjustmentsExtension:
        ext = self.ledger.extensions.get_extension("AdjustmentsExtension")
        assert isinstance(ext, AdjustmentsExtension)
        return ext

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the ledger's folder (locks aside), by relative path: a
        refused request must leave it identical."""
        return {str(p.relative_to(self.path.parent)): p.read_bytes()
                for p in self.path.parent.rglob("*")
                if p.is_file() and not p.name.endswith(".lock")}

    def sha(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def get(self, url: str, user: str | None = "bob", **kw: Any) -> Any:
        headers = {"X-Remote-User": user} if user else {}
        return self.client.get(url, headers=headers, **kw)

    def digest(self, adj_id: str) -> str:
        """The request's digest as a page rendered now shows it."""
        book = self.ext.book
        adj = book.get(adj_id) if book is not None else None
        return adj.digest if adj is not None else "no-such-request"

    def decide(self, decisions: list[dict[str, str]], user: str | None = "bob") -> Any:
        """POST decisions as the page does: each with the digest it shows (the
        current one unless the decision names another)."""
        headers = {"X-Remote-User": user} if user else {}
        sent = [{**d, "digest": d.get("digest") or self.digest(d["id"])} for d in decisions]
        return self.client.post(DECIDE, json={"decisions": sent}, headers=headers)

    def state(self, adj_id: str) -> str:
        book = self.ext.book
        assert book is not None
        adj = book.get(adj_id)
        assert adj is not None
        return str(adj.state)


# -- additions to the ledger -------------------------------------------------------------

# What `POST create` needs: the offset account it defaults to, and an order.
CREATE_EXTRA = f"""
{START} open Expenses:Adjustments:Credits
{ago(20)} * "cust_123" "Order"
  order-id: "order_456"
  customer: "cust_123"
  Assets:Receivable:Customers   80.00 USD
  Income:Sales                 -80.00 USD
"""
# What the "New request" form needs too: the billing offset account.
FORM_EXTRA = CREATE_EXTRA + f"{START} open Income:Adjustments:Billing\n"

# ADJ-6 (applied) cancelled by carol and the reversal approved by erin.
REVERSAL = (f'{ago(18)} custom "adjustment" "ADJ-6" "cancel"\n  by: "carol"\n'
            '  reason: "Charged twice"\n'
            f'{ago(17)} custom "adjustment" "ADJ-6" "approve"\n  by: "erin"\n')

# Two euro refunds (one large, one small) and the rate that converts them.
EURO_REFUNDS = f"""
{START} commodity EUR
{START} price EUR 1.10 USD
{ago(9)} ! "cust_456" "Euro refund" ^ADJ-E1
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  62000.00 EUR
  Assets:Receivable:Customers  -62000.00 EUR
{ago(8)} ! "cust_456" "Small euro refund" ^ADJ-E2
  adjustment-type: "credit:refund"
  customer: "cust_456"
  reason: "Because"
  requested-by: "alice"
  Income:Sales:Returns  20.00 EUR
  Assets:Receivable:Customers  -20.00 EUR
"""


def shared_fava(tmp_path: Path, other: str, *, load: bool = True,
                config: str = HEADER_CONFIG, decisions: str = "") -> Any:
    """One Fava over two ledgers: the extension's test ledger (main.beancount,
    including adjustments.beancount, which holds `decisions`) and
    `other.beancount` (`other`), a ledger of its own."""
    from fava.application import create_app

    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger_text(config).replace(
        'option "operating_currency" "USD"\n', 'option "operating_currency" "USD"\n'
        'include "adjustments.beancount"\n', 1))
    (tmp_path / "adjustments.beancount").write_text(decisions)
    (tmp_path / "other.beancount").write_text(other)
    app = create_app([str(main_file), str(tmp_path / "other.beancount")], load=load,
                     poll_watcher=True)
    app.testing = True
    return app
