"""Pure functions of the core, without a ledger: policy, lifecycle, digest."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from beancount_adjustments.core.digest import DIGEST_LENGTH, legacy_digest, matches, request_digest
from beancount_adjustments.core.lifecycle import TRANSITIONS, allowed, refusal
from beancount_adjustments.core.models import (
    Action,
    ApprovalRow,
    CustomerRecord,
    Money,
    Posting,
    Request,
    Source,
    State,
    TypePolicy,
    UserGrant,
)
from beancount_adjustments.core.policy import (
    Directory,
    Matrix,
    MissingPrice,
    convert,
    within_limit,
)
from beancount_adjustments.core.type_policies import TypePolicies

SRC = Source(filename="test", lineno=1)
D = Decimal


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def usd(number: str, currency: str = "USD") -> Money:
    return Money(number=D(number), currency=currency)


def row(pattern: str, threshold: str, *roles: str, date: str = "2026-01-01",
        currency: str = "USD", **narrow: str) -> ApprovalRow:
    return ApprovalRow(date=day(date), pattern=pattern, threshold=usd(threshold, currency),
                       roles=roles, source=SRC, **narrow)


def no_rates(base: str, quote: str, date: datetime.date) -> Decimal | None:
    return None


def eur_rates(base: str, quote: str, date: datetime.date) -> Decimal | None:
    table = {("EUR", "USD"): D("1.10"), ("USD", "EUR"): 1 / D("1.10")}
    return table.get((base, quote)) if date >= day("2026-02-01") else None


MATRIX = Matrix.build([
    row("credit:*", "25.00", "manager"),
    row("credit:*", "1000.00", "manager", "finance"),
    row("credit:*", "10000.00", "manager", "finance", "cfo"),
    row("credit:goodwill", "0.00", "manager", customer_tier="vip"),
    row("credit:*", "0.00", "finance", category="operational:*"),
    row("credit:*", "0.00", "cfo", risk="fraud-suspect"),
    row("credit:refund", "5000.00", "manager", "cfo"),
    row("debit:*", "50.00", "manager"),
    row("credit:promotional", "0.00"),
])


def choose(amount: str, *, adj_type: str = "credit:account", category: str | None = None,
           tier: str | None = "standard", risk: tuple[str, ...] = (), currency: str = "USD",
           date: str = "2026-03-01", matrix: Matrix = MATRIX,
           rates=no_rates) -> tuple[str, ...] | None:
    chosen = matrix.choose(adj_type=adj_type, category=category, tier=tier, risk=risk,
                           amount=usd(amount, currency), date=day(date), rates=rates)
    return None if chosen is None else chosen.roles


# -- Matrix.choose --------------------------------------------------------------


@pytest.mark.parametrize(("amount", "expected"), [
    ("0", None), ("24.99", None), ("25.00", ("manager",)), ("999.99", ("manager",)),
    ("1000", ("manager", "finance")), ("10000.00", ("manager", "finance", "cfo")),
])
def test_choose_thresholds(amount: str, expected: tuple[str, ...] | None):
    assert choose(amount) == expected


def test_choose_most_specific():
    assert choose("1", adj_type="credit:goodwill", tier="vip") == ("manager",)
    assert choose("20000", adj_type="credit:goodwill", tier="vip") == ("manager",)
    assert choose("20000", adj_type="credit:goodwill") == ("manager", "finance", "cfo")
    assert choose("1", category="operational:billing-error") == ("finance",)
    assert choose("1", category="financial:reconciliation") is None
    assert choose("1", risk=("x", "fraud-suspect")) == ("cfo",)
    assert choose("6000", adj_type="credit:refund") == ("manager", "cfo")
    assert choose("4999", adj_type="credit:refund") == ("manager", "finance")
    assert choose("1", adj_type="credit:promotional") == ()
    assert choose("1000000", adj_type="credit:promotional") == ()
    assert choose("100", adj_type="billing:tax") is None


def test_choose_specificity_order_more_narrowing_then_exact_then_longer_then_higher():
    matrix = Matrix.build([
        row("credit:*", "0", "a"),
        row("credit:re*", "0", "b"),
        row("credit:refund", "0", "c"),
        row("credit:refund", "100", "d"),
        row("c*", "0", "e", customer_tier="vip"),
    ])
    assert choose("1", adj_type="credit:account", matrix=matrix) == ("a",)
    assert choose("1", adj_type="credit:rebate", matrix=matrix) == ("b",)
    assert choose("1", adj_type="credit:refund", matrix=matrix) == ("c",)
    assert choose("100", adj_type="credit:refund", matrix=matrix) == ("d",)
    assert choose("100", adj_type="credit:refund", tier="vip", matrix=matrix) == ("e",)


def test_choose_effective_dated_rows():
    matrix = Matrix.build([
        row("credit:*", "25", "manager"),
        row("credit:*", "25", "finance", date="2026-06-01"),
        row("credit:*", "500", "cfo", date="2026-06-01"),
    ])
    assert choose("30", date="2025-12-31", matrix=matrix) is None
    assert choose("30", date="2026-05-31", matrix=matrix) == ("manager",)
    assert choose("30", date="2026-06-01", matrix=matrix) == ("finance",)
    assert choose("600", date="2026-06-01", matrix=matrix) == ("cfo",)
    assert len(matrix.rows_on(day("2026-06-01"))) == 2
    assert matrix.rows_on(day("2025-01-01")) == ()


def test_choose_converts_with_rates_and_never_guesses():
    assert choose("22.73", currency="EUR", rates=eur_rates) == ("manager",)
    assert choose("22.72", currency="EUR", rates=eur_rates) is None
    with pytest.raises(MissingPrice) as missing:
        choose("22.73", currency="EUR", rates=eur_rates, date="2026-01-15")
    assert (missing.value.base, missing.value.quote) == ("EUR", "USD")
    with pytest.raises(MissingPrice):
        choose("1", currency="GBP", rates=eur_rates)


def test_convert():
    assert convert(usd("10"), "USD", day("2026-01-01"), no_rates) == D("10")
    assert convert(usd("10", "EUR"), "USD", day("2026-03-01"), eur_rates) == D("11.00")
    assert convert(usd("10", "EUR"), "USD", day("2026-01-01"), eur_rates) is None


def test_within_limit_converts_at_the_date_given_and_never_guesses():
    limit = usd("11.00")
    assert within_limit(limit, usd("11.00"), day("2026-01-01"), no_rates) is True  # inclusive
    assert within_limit(limit, usd("11.01"), day("2026-01-01"), no_rates) is False
    assert within_limit(limit, usd("10", "EUR"), day("2026-03-01"), eur_rates) is True
    assert within_limit(usd("10.99"), usd("10", "EUR"), day("2026-03-01"), eur_rates) is False
    assert within_limit(limit, usd("10", "EUR"), day("2026-01-01"), eur_rates) is None
    assert within_limit(None, usd("1000000"), day("2026-01-01"), no_rates) is True


def test_row_key_and_describe():
    a = row("credit:*", "25.00", "manager")
    b = row("credit:*", "25", "finance", date="2026-06-01")
    assert a.key == b.key
    assert row("credit:*", "25", "x", customer_tier="vip").key != a.key
    assert a.describe() == "credit:* from 25.00 USD: manager"
    assert "automatic" in row("credit:promotional", "0").describe()
    assert "customer-tier=vip" in row("c", "0", "m", customer_tier="vip").describe()


# -- Directory ------------------------------------------------------------------


def grant(user: str, *roles: str, date: str = "2026-01-01", limit: str | None = None,
          ) -> UserGrant:
    return UserGrant(date=day(date), user=user, roles=roles,
                     limit=usd(limit) if limit else None, source=SRC)


DIRECTORY = Directory.build(
    [grant("bob", "manager", limit="1000"),
     grant("bob", date="2026-06-01"),
     grant("erin", "manager", limit="100", date="2026-02-01"),
     grant("erin", "finance", date="2026-02-01"),
     grant("erin", "manager", limit="500", date="2026-02-01"),
     grant("carol", "finance")],
    [CustomerRecord(date=day("2026-01-01"), customer="c1", tier="standard", source=SRC),
     CustomerRecord(date=day("2026-05-01"), customer="c1", tier="vip", source=SRC)])


def test_directory_effective_dated_users():
    assert DIRECTORY.is_user("bob", day("2026-01-01"))
    assert not DIRECTORY.is_user("bob", day("2025-12-31"))
    assert DIRECTORY.roles_on("bob", day("2026-05-31")) == ("manager",)
    assert DIRECTORY.roles_on("bob", day("2026-06-01")) == ()
    assert DIRECTORY.is_user("bob", day("2026-06-01"))   # still a user, without a role
    assert not DIRECTORY.is_user("nobody", day("2026-06-01"))
    assert DIRECTORY.roles_on("erin", day("2026-03-01")) == ("manager", "finance")
    assert DIRECTORY.roles_on("erin", day("2026-01-15")) == ()
    assert DIRECTORY.users_with_role("manager", day("2026-03-01")) == ["bob", "erin"]
    assert DIRECTORY.users_with_role("manager", day("2026-07-01")) == ["erin"]


def test_directory_limits():
    assert DIRECTORY.limit_for("bob", "manager", day("2026-03-01")) == (True, usd("1000"))
    assert DIRECTORY.limit_for("bob", "finance", day("2026-03-01")) == (False, None)
    assert DIRECTORY.limit_for("bob", "manager", day("2026-07-01")) == (False, None)
    # the same role twice on one day: the higher limit counts
    assert DIRECTORY.limit_for("erin", "manager", day("2026-03-01")) == (True, usd("500"))
    assert DIRECTORY.limit_for("erin", "finance", day("2026-03-01")) == (True, None)
    assert DIRECTORY.limit_for("carol", "finance", day("2026-03-01")) == (True, None)


def test_directory_customers():
    assert DIRECTORY.customer_on("c1", day("2025-12-31")) is None
    assert DIRECTORY.customer_on("c1", day("2026-04-30")).tier == "standard"
    assert DIRECTORY.customer_on("c1", day("2026-05-01")).tier == "vip"
    assert DIRECTORY.customer_on("c2", day("2026-05-01")) is None


# -- type policies ----------------------------------------------------------------


def test_type_policies_most_specific_setting_wins():
    policies = TypePolicies.build([
        TypePolicy(date=day("2026-01-01"), pattern="billing:*", separate_apply=True,
                   sla_days=3, source=SRC),
        TypePolicy(date=day("2026-01-01"), pattern="billing:tax", separate_apply=False,
                   source=SRC),
        TypePolicy(date=day("2026-03-01"), pattern="*", document_above=usd("500"),
                   sla_days=10, source=SRC),
    ])
    tax = policies.settings("billing:tax", day("2026-02-01"))
    assert (tax.separate_apply, tax.sla_days, tax.document_above) == (False, 3, None)
    discount = policies.settings("billing:discount", day("2026-04-01"))
    assert (discount.separate_apply, discount.sla_days) == (True, 3)
    assert discount.document_above == usd("500")
    credit = policies.settings("credit:refund", day("2026-02-01"))
    assert (credit.separate_apply, credit.document_above, credit.sla_days) == (False, None, None)


# -- lifecycle ------------------------------------------------------------------


DIAGRAM = {
    (State.PENDING, Action.APPROVE): State.APPROVED,
    (State.PENDING, Action.REJECT): State.REJECTED,
    (State.PENDING, Action.CANCEL): State.WITHDRAWN,
    (State.APPROVED, Action.APPLY): State.APPLIED,
    (State.APPROVED, Action.CANCEL): State.WITHDRAWN,
    # DESIGN.md: a reversal moves money too, and is approved like a request.
    (State.APPLIED, Action.CANCEL): State.REVERSING,
    (State.REVERSING, Action.APPROVE): State.REVERSED,
    (State.REVERSING, Action.REJECT): State.APPLIED,
}


def test_transitions_are_exactly_the_diagram():
    assert TRANSITIONS == DIAGRAM


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_allowed_and_refusal(state: State, action: Action):
    assert allowed(state, action) == ((state, action) in DIAGRAM)
    if not allowed(state, action):
        for separate in (False, True):
            text = refusal(state, action, separate)
            assert isinstance(text, str)
            assert text


def test_refusal_wording():
    assert "before its approvals" in refusal(State.PENDING, Action.APPLY, False)
    assert "cancelled twice" in refusal(State.REVERSED, Action.CANCEL, False)
    assert "cancelled twice" in refusal(State.WITHDRAWN, Action.CANCEL, False)
    assert "no apply is needed" in refusal(State.APPLIED, Action.APPLY, False)
    assert "already applied" in refusal(State.APPLIED, Action.APPLY, True)
    assert "rejected" in refusal(State.REJECTED, Action.APPROVE, False)


# -- digest -----------------------------------------------------------------------


def make_request(**changes: object) -> Request:
    fields: dict[str, object] = {
        "id": "ADJ-1", "date": day("2026-03-01"), "type": "credit:refund", "category": None,
        "customer": "c1", "requested_by": "alice", "reason": "Damaged", "payee": None,
        "narration": "Return",
        "postings": (Posting(account="Income:Sales", number=D("50.00"), currency="USD"),
                     Posting(account="Assets:Receivable", number=D("-50.00"), currency="USD")),
        "source": SRC,
    }
    fields.update(changes)
    return Request(**fields)


def test_digest_is_versioned_stable_and_short():
    digest = request_digest(make_request())
    version, _, value = digest.partition("-")
    assert version == "v2"
    assert len(value) == DIGEST_LENGTH
    assert all(c in "0123456789abcdef" for c in value)
    assert request_digest(make_request()) == digest
    assert matches(digest, make_request())


def test_unversioned_digests_are_version_one_and_keep_loading():
    # What tools wrote before digests had versions still matches its request.
    old = legacy_digest(make_request())
    assert "-" not in old
    assert matches(old, make_request())
    assert not matches(old, make_request(reason="Other"))
    assert not matches("v9-" + "0" * 32, make_request())


def test_digest_ignores_order_formatting_and_unbound_fields():
    digest = request_digest(make_request())
    swapped = (Posting(account="Assets:Receivable", number=D("-50"), currency="USD"),
               Posting(account="Income:Sales", number=D("50.000"), currency="USD"))
    assert request_digest(make_request(postings=swapped)) == digest
    assert request_digest(make_request(narration="Other", payee="P", ticket="T-1",
                                       source=Source(filename="x", lineno=9))) == digest


def test_digest_numbers_are_exact_beyond_28_digits():
    # Decimal.normalize() rounds to 28 digits: these two would share a digest.
    a = D("1234567890123456789012345678.01")
    b = D("1234567890123456789012345678.02")
    def postings(n: Decimal) -> tuple[Posting, ...]:
        return (Posting(account="Income:Sales", number=n, currency="USD"),
                Posting(account="Assets:Receivable", number=-n, currency="USD"))
    assert request_digest(make_request(postings=postings(a))) != request_digest(
        make_request(postings=postings(b)))


@pytest.mark.parametrize("change", [
    {"id": "ADJ-2"}, {"type": "credit:goodwill"}, {"customer": "c2"}, {"reason": "Other"},
    # every input the policy and the effects read (DESIGN.md, Integrity)
    {"category": "operational:billing-error"}, {"requested_by": "frank"},
    {"entered_by": "frank"}, {"date": day("2026-04-01")}, {"effective": day("2026-03-05")},
    {"invoice": "INV-1"}, {"order": "ORD-1"}, {"document": "proof.pdf"},
    {"risk": ("vip-review",)},
    {"postings": (Posting(account="Income:Sales", number=D("49.99"), currency="USD"),
                  Posting(account="Assets:Receivable", number=D("-49.99"), currency="USD"))},
    {"postings": (Posting(account="Income:Sales", number=D("50"), currency="EUR"),
                  Posting(account="Assets:Receivable", number=D("-50"), currency="EUR"))},
    {"postings": (Posting(account="Income:Other", number=D("50"), currency="USD"),
                  Posting(account="Assets:Receivable", number=D("-50"), currency="USD"))},
])
def test_digest_changes_with_content(change: dict[str, object]):
    assert request_digest(make_request(**change)) != request_digest(make_request())


def test_digest_zero_forms():
    zero = (Posting(account="A", number=D("0.00"), currency="USD"),)
    negative_zero = (Posting(account="A", number=D("-0"), currency="USD"),)
    assert request_digest(make_request(postings=zero)) == request_digest(
        make_request(postings=negative_zero))
