"""Property tests: whatever the ledger says, the plugin never raises, never
falls back on its internal-failure catch-all, and every error it reports has
a file name and an integer line number.

The catch-all in `plugin.adjustments` turns an exception into an error whose
message says "failed internally"; such an error must never appear here, so
the catch-all cannot hide a bug.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.core.amount import Amount
from beancount.parser.grammar import ValueType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import beancount_adjustments
from beancount_adjustments.core.book import Book
from beancount_adjustments.plugin import AdjustmentError
from ledgers import BASE, INTERNAL

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CUSTOM_TYPES = ["adjustment", "adjustment-user", "adjustment-customer", "adjustment-approval",
                "adjustment-policy", "adjustment-lock", "adjustment-other"]
IDS = ["ADJ-1", "ADJ-2", "ADJ-3", "ADJ-404"]
ACTIONS = ["approve", "reject", "apply", "cancel", "accept", "", " approve "]
USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", ""]
ROLES = ["agent", "manager", "finance", "cfo", "nobody"]
TYPES = ["credit:refund", "credit:goodwill", "credit:promotional", "debit:fee",
         "billing:tax", "billing:discount", "credit:", "refund", "loan:x", "credit:Refund", ""]
CUSTOMERS = ["cust_123", "cust_456", "cust_999", ""]
CURRENCIES = ["USD", "EUR", "GBP"]
ACCOUNTS = ["Assets:Receivable:Customers", "Assets:Receivable", "Income:Sales",
            "Income:Sales:Returns", "Expenses:Goodwill", "Liabilities:Tax", "Assets:Bank"]
META_KEYS = ["by", "reason", "digest", "effective", "at", "comment", "limit", "customer-tier",
             "category", "risk", "apply", "document-above", "sla-days", "email", "name",
             "contact", "invoice", "order", "document", "adjustment-id", "external-id",
             "ticket", "customer", "requested-by", "adjustment-type"]

# -- text strategies --------------------------------------------------------------

SAFE = st.text(alphabet=st.sampled_from("abcXYZ019:-_* ,./é"), max_size=12)
dates = st.one_of(
    st.dates(min_value=datetime.date(2025, 12, 1), max_value=datetime.date(2027, 1, 31)),
    st.sampled_from([datetime.date(1970, 1, 1), datetime.date(2026, 2, 28),
                     datetime.date(2028, 2, 29), datetime.date(9999, 12, 31)]),
)
numbers = st.one_of(
    st.decimals(min_value=-100000, max_value=100000, places=2, allow_nan=False,
                allow_infinity=False),
    st.sampled_from([Decimal(0), Decimal("-0"), Decimal("25"), Decimal("1000.00"),
                     Decimal("0.001"), Decimal("-25.00")]),
)


def quoted(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).map(lambda s: f'"{s}"')


literal = st.one_of(
    SAFE.map(lambda s: f'"{s}"'),
    quoted(IDS + ACTIONS + USERS + ROLES + TYPES + CUSTOMERS),
    quoted(["separate", "on-approval", "vip", "standard", "operational:*", "fraud-suspect",
            "2026-03-01", "customer-service:goodwill", "docs/x.pdf"]),
    numbers.map(str),
    st.tuples(numbers, st.sampled_from(CURRENCIES)).map(lambda t: f"{t[0]} {t[1]}"),
    dates.map(lambda d: d.isoformat()),
    st.sampled_from(["TRUE", "FALSE"]),
)


@st.composite
def meta_lines(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(META_KEYS), max_size=5, unique=True))
    return "".join(f"  {key}: {draw(literal)}\n" for key in keys)


def mostly(valid: st.SearchStrategy[str], odd: st.SearchStrategy[str],
           odds: int = 5) -> st.SearchStrategy[str]:
    """`valid` most of the time, `odd` one time in `odds`."""
    return st.sampled_from([valid] * (odds - 1) + [odd]).flatmap(lambda chosen: chosen)


def sometimes(odds: int) -> st.SearchStrategy[bool]:
    """True one time in `odds`."""
    return st.sampled_from([False] * (odds - 1) + [True])


good_dates = st.dates(min_value=datetime.date(2026, 1, 1), max_value=datetime.date(2026, 12, 31))
some_date = mostly(good_dates.map(str), dates.map(str), 10)
early_date = mostly(good_dates.filter(lambda d: d.month <= 6).map(str), some_date, 5)
late_date = mostly(good_dates.filter(lambda d: d.month > 6).map(str), some_date, 5)


@st.composite
def custom_text(draw: st.DrawFn) -> str:
    """Any `custom "adjustment*"` directive, of any shape."""
    kind = draw(st.sampled_from(CUSTOM_TYPES))
    values = draw(st.lists(literal, min_size=1, max_size=5))
    return f'{draw(some_date)} custom "{kind}" {" ".join(values)}\n' + draw(meta_lines())


@st.composite
def event_text(draw: st.DrawFn) -> str:
    """A mostly well-formed decision on a mostly existing request."""
    lines = [f'{draw(late_date)} custom "adjustment" {draw(mostly(quoted(IDS[:3]), literal))} '
             f'{draw(mostly(quoted(ACTIONS[:4]), literal, 10))}']
    if not draw(sometimes(10)):
        lines.append(f"  by: {draw(mostly(quoted(USERS[:-1]), literal, 10))}")
    if not draw(sometimes(4)):
        lines.append('  reason: "Because"')
    if draw(sometimes(3)):
        lines.append(draw(meta_lines()).rstrip("\n"))
    return "\n".join(line for line in lines if line) + "\n"


small = st.decimals(min_value=1, max_value=2000, places=2)
SIGN = {"credit": -1, "debit": 1, "billing": -1}


@st.composite
def request_text(draw: st.DrawFn) -> str:
    """A mostly well-formed request, with odd fields now and then."""
    links = draw(mostly(st.sampled_from(IDS[:3]).map(lambda x: [x]),
                        st.lists(st.sampled_from(IDS), max_size=2, unique=True), 10))
    flag = draw(st.sampled_from(["!", "*"]))
    head = f'{draw(early_date)} {flag} "payee" "narration"' + "".join(f" ^{x}" for x in links)
    adj_type = draw(st.sampled_from(TYPES[:6]))
    meta = {"adjustment-type": draw(mostly(st.just(f'"{adj_type}"'), literal, 10))}
    for key, values in (("customer", CUSTOMERS[:2]), ("requested-by", USERS[:5]),
                        ("reason", ["Because"])):
        if not draw(sometimes(20)):
            meta[key] = draw(mostly(quoted(values), literal, 20))
    if draw(sometimes(3)):
        for key in draw(st.lists(st.sampled_from(META_KEYS), max_size=2, unique=True)):
            meta.setdefault(key, draw(literal))
    if draw(sometimes(3)) or adj_type.startswith("billing"):
        meta["invoice"] = '"INV-1"'
    lines = [head, *(f"  {k}: {v}" for k, v in meta.items())]
    currency = draw(mostly(st.just("USD"), st.sampled_from(CURRENCIES)))
    if not draw(sometimes(5)):
        number = draw(mostly(small, numbers)) * SIGN[adj_type.split(":")[0]] * draw(
            mostly(st.just(1), st.just(-1), 10))
        lines += [f"  Assets:Receivable:Customers  {number} {currency}",
                  f"  {draw(st.sampled_from(ACCOUNTS[2:]))}  {-number} {currency}"]
    else:
        for _ in range(draw(st.integers(0, 3))):
            account = draw(st.sampled_from(ACCOUNTS))
            if draw(st.integers(0, 5)):
                lines.append(f"  {account}  {draw(numbers)} {draw(st.sampled_from(CURRENCIES))}")
            else:
                lines.append(f"  {account}")
    return "\n".join(lines) + "\n"


@st.composite
def reference_text(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(["invoice-id", "order-id"]))
    value = draw(mostly(quoted(["INV-1", "ORD-1"]), literal))
    amount = draw(mostly(small, numbers))
    return (f'{draw(dates)} * "cust" "Invoice"\n  {key}: {value}\n'
            f'  customer: {draw(mostly(quoted(CUSTOMERS[1:2]), quoted(CUSTOMERS)))}\n'
            f"  Assets:Receivable:Customers  {amount} USD\n  Income:Sales  {-amount} USD\n")


ledger_text = st.lists(
    st.one_of(custom_text(), request_text(), request_text(), request_text(), event_text(),
              event_text(), reference_text(),
              st.sampled_from(["2026-02-01 price EUR 1.10 USD\n",
                               '2026-11-05 custom "adjustment-lock" 2026-10-31\n'])),
    min_size=1, max_size=16,
).map("\n".join)


def check_errors(errors: list[Any]) -> None:
    for error in errors:
        message = str(getattr(error, "message", ""))
        assert INTERNAL not in message, message
        if isinstance(error, AdjustmentError):
            assert isinstance(error.source, dict)
            assert isinstance(error.source.get("filename"), str)
            assert type(error.source.get("lineno")) is int


@SETTINGS
@given(ledger_text)
def test_random_ledgers_through_the_loader(text: str):
    _entries, errors, options = loader.load_string(BASE + "\n" + text)
    check_errors(errors)
    assert isinstance(beancount_adjustments.book_of(options), Book)


# -- entry strategies (straight to the plugin function) ---------------------------

SOURCE = {"filename": "<direct>", "lineno": 1}
amounts = st.builds(Amount, st.one_of(numbers, st.none()), st.sampled_from(CURRENCIES))
python_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), numbers, SAFE,
    st.sampled_from(IDS + ACTIONS + USERS + ROLES + TYPES + CUSTOMERS), dates, amounts,
    st.lists(SAFE, max_size=2),
)
value_types = st.one_of(
    SAFE.map(lambda v: ValueType(v, str)),
    st.sampled_from(IDS + ACTIONS + USERS + ROLES + TYPES).map(lambda v: ValueType(v, str)),
    numbers.map(lambda v: ValueType(v, Decimal)),
    amounts.map(lambda v: ValueType(v, Amount)),
    dates.map(lambda v: ValueType(v, datetime.date)),
    st.booleans().map(lambda v: ValueType(v, bool)),
)


@st.composite
def metas(draw: st.DrawFn, lineno: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"filename": "<direct>", "lineno": lineno}
    for key in draw(st.lists(st.sampled_from(META_KEYS), max_size=6, unique=True)):
        meta[key] = draw(python_values)
    return meta


@st.composite
def entries(draw: st.DrawFn) -> list[data.Directive]:
    out: list[data.Directive] = []
    for lineno in range(1, draw(st.integers(1, 10)) + 1):
        meta = draw(metas(lineno))
        date = draw(dates)
        if draw(st.booleans()):
            values = draw(st.lists(value_types, max_size=5))
            out.append(data.Custom(meta, date, draw(st.sampled_from(CUSTOM_TYPES)), values))
            continue
        if draw(st.integers(0, 3)):
            meta["adjustment-type"] = draw(st.one_of(st.sampled_from(TYPES), python_values))
        postings = [
            data.Posting(draw(st.sampled_from(ACCOUNTS)),
                         draw(st.one_of(amounts, st.none())), None, None, None, None)
            for _ in range(draw(st.integers(0, 3)))]
        links = frozenset(draw(st.lists(st.sampled_from(IDS), max_size=2)))
        out.append(data.Transaction(meta, date, "!", draw(st.one_of(st.none(), SAFE)),
                                    draw(st.one_of(st.none(), SAFE)), frozenset(), links,
                                    postings))
    out.sort(key=data.entry_sortkey)
    return out


configs = st.one_of(
    st.none(),
    st.sampled_from(["", "{}", "{'receivable': 'Assets:Receivable'}", "garbage (",
                     "{'unknown': 1}", "[1, 2]", "{'receivable': 5}", "{'checks': 'x'}",
                     "{'id-prefix': 'ADJ', 'checks': []}"]),
)


@SETTINGS
@given(entries(), configs)
def test_random_entries_straight_to_the_plugin(given_entries: list[data.Directive],
                                               config: str | None):
    options: dict[str, Any] = {}
    out, errors = beancount_adjustments.adjustments(list(given_entries), options, config)
    check_errors(errors)
    assert all(isinstance(error, AdjustmentError) for error in errors)
    assert isinstance(beancount_adjustments.book_of(options), Book)
    # every entry that is not a request passes through untouched
    requests = [e for e in given_entries
                if isinstance(e, data.Transaction) and "adjustment-type" in e.meta]
    others = [e for e in given_entries if e not in requests]
    assert all(any(o is e for e in out) for o in others)
