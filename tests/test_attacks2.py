"""Second round of attacks on the controls (issue 11): holes found after the first round.

Each test is one way tried to move money without the approvals the policy asks
for, to sign or decide as someone else, or to rewrite the past unnoticed. Every
test here failed on the code it was written against.
"""

from __future__ import annotations

import datetime

import pytest
from beancount import loader
from repos import (
    BOOK,
    REQUEST_1,
    REQUEST_2,
    Repo,
    assert_finding,
    assert_intact,
    check,
)
from sample_ledgers import API_LEDGER, HOLD_UNTIL_BILLED, OWN_ACCOUNTS, WRITER_LEDGER, invoice
from tool_inputs import NOW, SEED, credit

import beancount_adjustments
from beancount_adjustments.core import signatures
from ledgers import BASE, block, load, request

# -- 1. a key registered today for another user -----------------------------------------

SIGNED = ('\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n'
          '  signatures: "required"\n')


def _forged_approval(at_rev: str, key: signatures.Ed25519PrivateKey) -> str:
    """bob's approval of ADJ-2, dated after REV's last decision, signed with `key`."""
    _, _, options = loader.load_string(at_rev)
    book = beancount_adjustments.book_of(options)
    assert book is not None
    digest = book.adjustments["ADJ-2"].digest
    signature = signatures.sign_with(key, "ADJ-2", "approve", "bob",
                                     datetime.date(2026, 3, 6), digest,
                                     recorded=signatures.Recorded(at="2026-03-06T10:00:00+01:00"))
    return (f'\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n'
            f'  at: "2026-03-06T10:00:00+01:00"\n  digest: "{digest}"\n'
            f'  signature: "{signature}"\n')


def _key_line(key: signatures.Ed25519PrivateKey, date: str = "2026-03-06",
              user: str = "bob") -> str:
    return f'{date} custom "adjustment-key" "{user}" "{signatures.public_b64(key)}"\n'


def test_a_new_key_for_another_user_is_a_git_identity_finding(tmp_path) -> None:
    """Mallory registers her own key for bob, dated after REV's last decision (an
    append), and signs "as bob": under git-identity the key line must be bob's."""
    mallory = signatures.generate_private_key()
    policy = SIGNED + '  git-identity: "required"\n'
    at_rev = BOOK + policy + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    now = at_rev + "\n" + _key_line(mallory) + _forged_approval(at_rev, mallory)
    # The approval itself is committed as bob (say, pushed from his account),
    # the key line in an earlier commit by mallory.
    repo.commit(at_rev + "\n" + _key_line(mallory), email="mallory@example.com")
    repo.commit(now, email="bob@example.com")
    line = assert_finding(check(repo, "HEAD~2"), "git-identity",
                          repo.at(signatures.public_b64(mallory)))
    assert "adjustment-key" in line
    assert "mallory@example.com" in line


def test_a_new_key_committed_by_its_user_is_fine(tmp_path) -> None:
    bob = signatures.generate_private_key()
    policy = SIGNED + '  git-identity: "required"\n'
    at_rev = BOOK + policy + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    repo.commit(at_rev + "\n" + _key_line(bob) + _forged_approval(at_rev, bob),
                email="bob@example.com")
    result = check(repo, "HEAD~1")
    assert_intact(result)


def test_a_new_git_email_is_committed_by_the_user_as_rev_knew_them(tmp_path) -> None:
    """The same walk around git-identity: a new user line giving bob mallory's
    e-mail, then decisions "by bob" committed by mallory."""
    policy = '\n2026-01-01 custom "adjustment-policy" "credit:goodwill"\n' \
             '  git-identity: "required"\n'
    at_rev = BOOK + policy + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    regrant = ('\n2026-03-06 custom "adjustment-user" "bob" "manager"\n'
               '  limit: 1000.00 USD\n  git: "mallory@example.com"\n')
    repo.commit(at_rev + regrant + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n'
                '  by: "bob"\n', email="mallory@example.com")
    regranted = repo.line('custom "adjustment-user" "bob"', 1)
    line = assert_finding(check(repo, "HEAD~1"), "git-identity", f"main.beancount:{regranted}: ")
    assert "bob@example.com" in line


def test_without_git_identity_a_new_key_is_a_warning_line(tmp_path) -> None:
    mallory = signatures.generate_private_key()
    at_rev = BOOK + SIGNED + REQUEST_2
    repo = Repo(tmp_path / "books")
    repo.commit(at_rev)
    repo.write(at_rev + "\n" + _key_line(mallory) + _forged_approval(at_rev, mallory))
    result = check(repo)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.endswith("[new-key]")]
    assert len(warnings) == 1, result.output
    assert repo.at(signatures.public_b64(mallory)) + "warning: " in warnings[0]
    assert "bob" in warnings[0]
    assert "1 warning" in result.stdout.splitlines()[-1]


# -- 2. the digest's separators inside a field ------------------------------------------


def _request_with(key: str, value: str) -> str:
    """ADJ-1 with `key: "value"` (replacing its own line if it has one), built
    without `splitlines`, which splits at \\x1c-\\x1e too."""
    lines = request("ADJ-1", "2026-03-01", "-10.00").split("\n")
    lines = [line for line in lines if not line.startswith(f"  {key}:")]
    lines.insert(1, f'  {key}: "{value}"')
    return "\n".join(lines)


@pytest.mark.parametrize(("key", "value"), [
    ("reason", "Damaged\x1eitem"),
    ("customer", "cust\x1f456"),
    ("requested-by", "ali\x00ce"),
    ("invoice", "INV\x7f1"),
    ("order", "ORD\x1e1"),
    ("document", "docs/a\x1fb.pdf"),
    ("risk", "velo\x1ecity"),
    ("entered-by", "ali\x0bce"),
])
def test_a_control_character_in_a_digested_field_is_bad_metadata(key: str, value: str) -> None:
    loaded = load(_request_with(key, value))
    bad = [e for e in loaded.errors if "[bad-metadata]" in e.message]
    assert len(bad) == 1, loaded.errors
    assert bad[0].source["lineno"] == loaded.line("^ADJ-1")
    assert f"`{key}:`" in bad[0].message
    assert "control character" in bad[0].message
    assert not loaded.tagged("adjustment", "ADJ-1")


def test_text_moved_across_fields_keeps_the_digest_so_the_reader_refuses_it() -> None:
    """Why: the digest joins fields with \\x1e, so a reason "Refund\\x1ealice" with
    requested-by "x" hashes as reason "Refund" with requested-by "alice\\x1ex"."""
    from beancount_adjustments.core import digest
    request_model = load(request("ADJ-1", "2026-03-01", "-10.00")).adj("ADJ-1").request
    one = request_model._replace(reason="Refund\x1ealice", requested_by="x")
    two = request_model._replace(reason="Refund", requested_by="alice\x1ex")
    assert digest.request_digest(one) == digest.request_digest(two)
    for reason, by in (("Refund\x1ealice", "x"), ("Refund", "alice\x1ex")):
        text = request("ADJ-1", "2026-03-01", "-10.00", reason=reason, by=by)
        loaded = load(text)
        assert "bad-metadata" in loaded.code_set
        assert loaded.book is not None
        assert "ADJ-1" not in loaded.book.adjustments


def test_a_reason_on_several_lines_still_loads() -> None:
    """Tools write reasons with line breaks and tabs (neither is a separator): a
    ledger written now keeps loading."""
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00",
                          reason="Line one\nline two\tand a tab"))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"


def test_the_api_refuses_a_separator_with_the_same_reason(tmp_path) -> None:
    from beancount_adjustments import api
    ledger = tmp_path / "main.beancount"
    ledger.write_text(load("").text)
    before = ledger.read_text()
    with pytest.raises(api.ApiError) as raised:
        api.create(ledger, customer="cust_456", type="credit:refund", amount="10.00",
                   reason="Refund", invoice="INV\x1e1", as_user="alice")
    assert raised.value.code == "invalid"
    assert ledger.read_text() == before
    # The plugin refuses a hand-written one with the same reason.
    loaded = load(_request_with("invoice", "INV\x1e1"))
    plugin = next(e.message for e in loaded.errors if "[bad-metadata]" in e.message)
    reason = "holds the control character U+001E (at character 4)"
    assert reason in str(raised.value)
    assert reason in plugin


# -- 3. look-alike user names -----------------------------------------------------------

LOOKALIKE_BASE = block("""
    2026-01-01 custom "adjustment-user" "bob" "manager"
""")


@pytest.mark.parametrize("name", ["bo\u200bb", "\u200dbob", "bob\ufeff", "b\u00adob",
                                  "bo\u2060b"])
def test_a_user_name_with_an_invisible_character_is_refused(name: str) -> None:
    loaded = load(f'2026-02-01 custom "adjustment-user" "{name}" "manager"\n')
    bad = [e for e in loaded.errors if "[malformed-directive]" in e.message]
    assert len(bad) == 1, loaded.errors
    assert bad[0].source["lineno"] == loaded.line("2026-02-01 custom")
    assert "invisible" in bad[0].message
    assert loaded.book is not None
    assert not loaded.book.directory.is_user(name.strip(), datetime.date(2026, 3, 1))


@pytest.mark.parametrize("name", ["b\u043eb", "BOB", "\u0432ob", "bo\u0183", "\uff42ob",
                                  "b\u03bfb"])
def test_a_user_name_that_looks_like_another_is_a_warning(name: str) -> None:
    loaded = load(f'2026-02-01 custom "adjustment-user" "{name}" "manager"\n')
    assert loaded.book is not None
    found = [w for w in loaded.book.warnings if w.code == "lookalike-user"]
    if name == "bo\u0183":  # not in the map: a different letter, no warning
        assert found == []
        return
    assert len(found) == 1, loaded.book.warnings
    assert found[0].source.lineno == loaded.line(f'"{name}"')
    assert '"bob"' in found[0].message


def test_distinct_user_names_give_no_lookalike_warning() -> None:
    loaded = load("")
    assert loaded.book is not None
    assert [w for w in loaded.book.warnings if w.code == "lookalike-user"] == []


# -- 4. a lock REV held, removed or moved later ------------------------------------------

LATE_LOCK = '\n2026-06-05 custom "adjustment-lock" 2026-05-31\n  by: "carol"\n'


@pytest.mark.parametrize(("edit", "at_rev"), [
    (lambda text: text.replace(LATE_LOCK, ""), True),
    (lambda text: text.replace("2026-06-05 custom", "2026-07-05 custom"), False),
    (lambda text: text.replace("lock\" 2026-05-31", "lock\" 2026-04-30"), False),
])
def test_a_lock_rev_held_cannot_be_removed_or_moved_later(tmp_path, edit, at_rev: bool) -> None:
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK + LATE_LOCK)
    repo.write(edit(BOOK + LATE_LOCK))
    result = check(repo)
    where = "main.beancount:" if at_rev else repo.at("adjustment-lock")
    line = assert_finding(result, "reopened-period", where)
    assert "2026-05-31" in line
    if at_rev:
        assert "(at HEAD)" in line


def test_a_lock_moved_earlier_or_widened_is_fine(tmp_path) -> None:
    repo = Repo(tmp_path / "books")
    repo.commit(BOOK + LATE_LOCK)
    repo.write(BOOK + LATE_LOCK.replace("2026-05-31", "2026-06-01")
               .replace("2026-06-05", "2026-06-04"))
    # A changed lock is a changed directive only when dated on or before REV's last
    # decision (2026-03-02); this one is later: only the reopening rule judges it.
    assert_intact(check(repo))


# -- 5. an invoice a decided adjustment names, edited ------------------------------------

INVOICE = """
2026-02-01 * "cust_456" "Invoice"
  invoice-id: "INV-1"
  customer: "cust_456"
  Assets:Receivable:Customers   500.00 USD
  Income:Sales                 -500.00 USD
"""


@pytest.mark.parametrize("edit", [
    lambda text: text.replace("   500.00 USD", "   900.00 USD").replace("-500.00", "-900.00"),
    lambda text: text.replace("500.00 USD", "500.00 EUR"),
    lambda text: text.replace('invoice-id: "INV-1"\n  customer: "cust_456"',
                              'invoice-id: "INV-1"\n  customer: "cust_123"'),
])
def test_an_invoice_named_by_a_decided_adjustment_cannot_change(tmp_path, edit) -> None:
    repo = Repo(tmp_path / "books")
    book = (BASE + INVOICE + REQUEST_2.replace('reason: "Late delivery"',
                                               'reason: "Late delivery"\n  invoice: "INV-1"')
            + '\n2026-03-06 custom "adjustment" "ADJ-2" "approve"\n  by: "bob"\n')
    repo.commit(book)
    repo.write(edit(book))
    result = check(repo)
    assert result.exit_code == 1, result.output
    matching = [line for line in result.stdout.splitlines() if line.endswith("[edited-invoice]")]
    assert len(matching) == 1, result.output
    invoice_line = repo.line('"Invoice"')
    assert f"main.beancount:{invoice_line}: " in matching[0]
    assert "ADJ-2" in matching[0]


def test_an_invoice_nobody_decided_on_may_change(tmp_path) -> None:
    repo = Repo(tmp_path / "books")
    book = BASE + INVOICE + REQUEST_1
    repo.commit(book)
    repo.write(book.replace("   500.00 USD", "   900.00 USD").replace("-500.00", "-900.00"))
    assert_intact(check(repo))




# -- second round: known customers -------------------------------------------------------


def test_a_request_for_a_known_customer_cannot_move_another_customers_account() -> None:
    """Ghost is known (its account is opened: default tier); a 20 USD goodwill
    credit "for Ghost" on Acme's own account would skip Acme's vip chain (goodwill
    from 0.00 needs a manager) and still lower Acme's balance and statement."""
    text = OWN_ACCOUNTS + request("ADJ-1", "2026-03-01", "-20.00", type="credit:goodwill",
                                  customer="Ghost", account="Expenses:Goodwill",
                                  receivable="Assets:Receivable:Acme")
    loaded = load(text, base=False)
    assert loaded.codes == [(loaded.line("^ADJ-1"), "customer-account")]
    assert "Acme" in loaded.errors[0].message
    assert loaded.balance("Assets:Receivable:Acme") == 0


def test_a_request_on_its_own_customers_account_is_judged_at_its_tier() -> None:
    text = OWN_ACCOUNTS + request("ADJ-1", "2026-03-01", "-20.00", type="credit:goodwill",
                                  customer="Acme", account="Expenses:Goodwill",
                                  receivable="Assets:Receivable:Acme")
    loaded = load(text, base=False)
    assert loaded.errors == []
    assert loaded.adj("ADJ-1").chain == ("manager",)


# -- second round: the create endpoint's external-id replay ------------------------------


def test_an_external_id_replays_only_for_who_filed_it(tmp_path) -> None:
    """bob sends alice's external id: he gets a conflict, not alice's adjustment
    (its reason, notes and customer) as if it were his own."""
    from beancount_adjustments import api
    ledger = tmp_path / "main.beancount"
    ledger.write_text(API_LEDGER)
    first = api.create(ledger, **SEED, external_id="crm-1", as_user="alice")
    before = ledger.read_bytes()
    with pytest.raises(api.ApiError) as raised:
        api.create(ledger, **{**SEED, "notes": None}, external_id="crm-1", as_user="bob")
    assert raised.value.code == "conflict"
    assert first.id not in raised.value.message
    assert SEED["reason"] not in raised.value.message
    assert ledger.read_bytes() == before
    assert api.create(ledger, **SEED, external_id="crm-1", as_user="alice") == first


# -- second round: hold-until-billed -----------------------------------------------------


def test_an_invoice_that_bills_nothing_does_not_release_the_hold() -> None:
    """A transaction carrying `invoice-id:` and the customer, moving nothing on the
    receivable (or lowering it), is no bill."""
    for legs in ("  Assets:Bank    1.00 USD\n  Income:Sales  -1.00 USD\n",
                 "  Assets:Receivable:Customers  -1.00 USD\n  Income:Sales  1.00 USD\n"):
        fake = ('2026-03-01 * "cust_456" "Not a bill"\n  invoice-id: "INV-F"\n'
                '  customer: "cust_456"\n' + legs)
        loaded = load(HOLD_UNTIL_BILLED
                      + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                      + fake + '2026-03-02 custom "adjustment" "ADJ-1" "apply"\n  by: "bob"\n')
        assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]
        assert loaded.state("ADJ-1") == "approved"


def test_an_effective_date_before_the_next_invoice_does_not_release_the_hold() -> None:
    """Applied after the invoice, yet booked (`effective:`) before it: the credit
    would land on the bill it was held from."""
    loaded = load(HOLD_UNTIL_BILLED
                  + request("ADJ-1", "2026-02-10", "-10.00", type="credit:goodwill")
                  + invoice(2, "cust_456", date="2026-03-01")
                  + '2026-03-02 custom "adjustment" "ADJ-1" "apply"\n  by: "bob"\n'
                  + "  effective: 2026-02-20\n")
    assert loaded.codes == [(loaded.line('"ADJ-1" "apply"'), "held-until-billed")]
    assert not loaded.tagged("adjustment", "ADJ-1")
    ok = load(loaded.text.replace("effective: 2026-02-20", "effective: 2026-03-01"), base=False)
    assert ok.codes == []
    assert ok.state("ADJ-1") == "applied"


# -- second round: the writer's file between reading and replacing -----------------------


def _during_judging(monkeypatch: pytest.MonkeyPatch, act) -> None:
    """Run `act` after the writer read its target and before it replaces it."""
    from beancount_adjustments.writer import write
    judge = write.judge

    def judged(*args, **kwargs):
        act()
        return judge(*args, **kwargs)

    monkeypatch.setattr(write, "judge", judged)


def test_a_symlink_swapped_during_a_write_overwrites_nothing(tmp_path, monkeypatch) -> None:
    from beancount_adjustments import writer
    real, other = tmp_path / "real.beancount", tmp_path / "other.beancount"
    real.write_text(WRITER_LEDGER)
    other.write_text("; another file, not this ledger\n")
    link = tmp_path / "main.beancount"
    link.symlink_to(real)
    before = {p: p.read_bytes() for p in (real, other)}

    def swap() -> None:
        link.unlink()
        link.symlink_to(other)

    _during_judging(monkeypatch, swap)
    with pytest.raises(writer.WriteRefused) as refused:
        writer.write_requests(link, [credit("10.00")], now=NOW)
    assert "changed" in str(refused.value)
    assert {p: p.read_bytes() for p in (real, other)} == before


def test_an_edit_saved_during_a_write_is_not_lost(tmp_path, monkeypatch) -> None:
    """An editor saving the file (no lock taken) while the writer judges: the
    write must not replace the file with what it read before."""
    from beancount_adjustments import writer
    path = tmp_path / "main.beancount"
    path.write_text(WRITER_LEDGER)
    edit = "\n2024-03-20 custom \"adjustment-user\" \"dana\" \"agent\"\n"
    _during_judging(monkeypatch, lambda: path.write_text(WRITER_LEDGER + edit))
    with pytest.raises(writer.WriteRefused) as refused:
        writer.write_requests(path, [credit("10.00")], now=NOW)
    assert "changed" in str(refused.value)
    assert path.read_text() == WRITER_LEDGER + edit


def test_a_statement_file_name_never_breaks_the_header() -> None:
    """A customer id is ledger text and may hold a line break: the download's
    Content-Disposition must stay one header line (Werkzeug refuses it: a 500)."""
    from beancount_adjustments.fava_ext.responses import inline_disposition
    header = inline_disposition("statement-cust\r\nSet-Cookie: x=1.html")
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('inline; filename="statement-cust__Set-Cookie: x=1.html"')
