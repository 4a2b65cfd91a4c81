"""Twenty-sixth round of attacks: the auditor's evidence.

A plugin listed before this one hands it the entries it changed: whatever it
adds, drops or rewrites among the adjustment directives is judged as if it
were written, while the files an auditor reads (and git holds) say otherwise.
A test whose docstring says "Hole:" failed on the code it was written against
(the fix is named in the commit that added it); the others held and add
coverage no earlier test had.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from site_plugins import site_plugin

from ledgers import BASE, event, load, load_file, request

pytestmark = pytest.mark.usefixtures("forget_site_plugins")

FORGE_APPROVAL = '''
from beancount.core import data
from beancount.parser.grammar import ValueType

__plugins__ = ["forge"]


def forge(entries, options_map):
    out = list(entries)
    for entry in entries:
        if isinstance(entry, data.Transaction) and "adjustment-type" in entry.meta:
            meta = {"filename": entry.meta["filename"], "lineno": entry.meta["lineno"] + 1,
                    "by": "bob"}
            out.append(data.Custom(meta, entry.date, "adjustment",
                                   [ValueType("ADJ-1", str),
                                    ValueType("approve", str)]))
    return out, []
'''

RAISE_AMOUNT = '''
from decimal import Decimal
from beancount.core import data
from beancount.core.amount import Amount

__plugins__ = ["inflate"]


def inflate(entries, options_map):
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction) and "adjustment-type" in entry.meta:
            entry = entry._replace(postings=[
                p._replace(units=Amount(p.units.number * 100, p.units.currency))
                for p in entry.postings])
        out.append(entry)
    return out, []
'''

DROP_REJECT = '''
from beancount.core import data

__plugins__ = ["drop"]


def drop(entries, options_map):
    return [e for e in entries if not (isinstance(e, data.Custom) and e.type == "adjustment"
                                       and e.values[1].value == "reject")], []
'''

HARMLESS = '''
from beancount.core import data

__plugins__ = ["note"]


def note(entries, options_map):
    # Adds an ordinary transaction, leaves every adjustment directive alone.
    meta = data.new_metadata("<harmless>", 1)
    import datetime
    return list(entries) + [data.Open(meta, datetime.date(2026, 1, 1), "Expenses:Other",
                                      None, None)], []
'''


def _ledger(tmp_path: Path, module: str, body: str) -> tuple[Path, str]:
    """main.beancount with the site plugin `module` (written beside it) listed before ours."""
    name = site_plugin(tmp_path, module)
    text = (f'option "insert_pythonpath" "TRUE"\nplugin "{name}"\n' + BASE + body)
    path = tmp_path / "main.beancount"
    path.write_text(text)
    return path, name


def _booked(loaded: object, adj_id: str) -> bool:
    return bool(loaded.tagged("adjustment", adj_id))  # type: ignore[attr-defined]


PENDING = request("ADJ-1", "2026-03-01", "-500.00")
"""A 500 USD credit: it needs a manager."""


def test_a_plugin_before_ours_forging_an_approval_is_named_and_books_nothing(
        tmp_path: Path) -> None:
    """Hole: a site plugin beside the ledger, listed before ours, appended an approval
    by bob for every request: the pending credit was approved and booked with
    bean-check clean, though no file holds that approval. Now the entry it added is an
    error naming the plugin, and no request is booked."""
    path, name = _ledger(tmp_path, FORGE_APPROVAL, PENDING)
    loaded = load_file(path)
    assert not _booked(loaded, "ADJ-1")
    assert "changed-by-plugin" in loaded.code_set
    message = next(str(e.message) for e in loaded.errors if "[changed-by-plugin]" in e.message)
    assert name in message


def test_a_plugin_before_ours_rewriting_a_request_is_an_error_at_its_line(
        tmp_path: Path) -> None:
    """Hole: a plugin before ours multiplied a request's postings by 100: the book
    judged (and the reports showed) 50,000 USD while the file says 500. Now it is an
    error at the request's line as written, and nothing is booked."""
    small = request("ADJ-1", "2026-03-01", "-5.00")
    path, _ = _ledger(tmp_path, RAISE_AMOUNT, small)
    loaded = load_file(path)
    assert (loaded.line("^ADJ-1"), "changed-by-plugin") in loaded.codes
    assert not _booked(loaded, "ADJ-1")
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_a_plugin_before_ours_dropping_a_rejection_is_an_error_at_the_rejection(
        tmp_path: Path) -> None:
    """Hole: a plugin before ours dropped every reject: a rejected credit was pending
    again for anyone to approve. Now the rejection it dropped is the error's line."""
    body = (request("ADJ-1", "2026-03-01", "-5.00")
            + event("ADJ-1", "2026-03-02", "reject", "bob", reason="No"))
    path, _ = _ledger(tmp_path, DROP_REJECT, body)
    loaded = load_file(path)
    assert (loaded.line('"ADJ-1" "reject"'), "changed-by-plugin") in loaded.codes


def test_a_plugin_before_ours_leaving_adjustments_alone_is_no_error(tmp_path: Path) -> None:
    """Held (the rule's other side): a plugin before ours that changes no adjustment
    directive (here it opens an account) is no finding; requests book as usual."""
    body = (request("ADJ-1", "2026-03-01", "-5.00")
            + request("ADJ-2", "2026-03-01", "-500.00")
            + event("ADJ-2", "2026-03-02", "approve", "bob"))
    path, _ = _ledger(tmp_path, HARMLESS, body)
    loaded = load_file(path)
    assert "changed-by-plugin" not in loaded.code_set, loaded.codes
    assert _booked(loaded, "ADJ-1")
    assert _booked(loaded, "ADJ-2")


def test_beancounts_own_plugins_before_ours_are_no_error() -> None:
    """Held: Beancount's own plugins that add only accounts or prices run before ours
    without a finding, even on a ledger read from a string (nothing to compare)."""
    text = 'plugin "beancount.plugins.auto_accounts"\n' + BASE.replace(
        "2026-01-01 open Income:Sales:Returns\n", "") + request("ADJ-1", "2026-03-01", "-5.00")
    loaded = load(text, base=False)
    assert "changed-by-plugin" not in loaded.code_set
    assert _booked(loaded, "ADJ-1")


def test_a_site_plugin_before_ours_on_a_string_ledger_books_nothing() -> None:
    """Hole: a ledger read from a string has no file to compare with: a plugin of the
    site before ours cannot be told harmless, so nothing is booked."""
    text = ('plugin "beancount.plugins.currency_accounts"\n' + BASE
            + request("ADJ-1", "2026-03-01", "-5.00"))
    loaded = load(text, base=False)
    assert "changed-by-plugin" in loaded.code_set
    assert not _booked(loaded, "ADJ-1")


def test_entries_as_written_match_through_includes_pushtag_pushmeta_and_booking(
        tmp_path: Path) -> None:
    """Held (no false finding): with a harmless plugin before ours, requests in an
    included file under `pushtag`/`pushmeta`, with price and cost annotations, an
    amount Beancount fills in and a seal-free event are the directives as written."""
    (tmp_path / "adjustments.beancount").write_text(
        "pushtag #imported\npushmeta source: \"crm\"\n"
        + request("ADJ-1", "2026-03-01", "-5.00")
        + '2026-03-01 ! "cust_456" "Priced" ^ADJ-2\n  adjustment-type: "credit:refund"\n'
        '  customer: "cust_456"\n  reason: "Priced"\n  requested-by: "alice"\n'
        "  Assets:Receivable:Customers  -5.00 USD\n  Assets:Bank  4.00 EUR @ 1.25 USD\n"
        + '2026-03-01 ! "cust_456" "Filled" ^ADJ-3\n  adjustment-type: "credit:refund"\n'
        '  customer: "cust_456"\n  reason: "Filled"\n  requested-by: "alice"\n'
        "  Assets:Receivable:Customers  -5.00 USD\n  Income:Sales:Returns\n"
        + "popmeta source:\npoptag #imported\n"
        + event("ADJ-1", "2026-03-02", "cancel", "alice", reason="Typo"))
    path, _ = _ledger(tmp_path, HARMLESS, 'include "adjustments.beancount"\n')
    loaded = load_file(path)
    assert "changed-by-plugin" not in loaded.code_set, loaded.codes
    assert loaded.state("ADJ-3") == "applied"
    assert loaded.state("ADJ-1") == "reversed"


def test_a_pushmeta_around_a_decided_approval_is_an_edit_of_it(tmp_path: Path) -> None:
    """Held: wrapping REV's approval in `pushmeta by: "erin"` leaves its text word for
    word and Beancount pushes no metadata onto custom entries (intact: nothing
    changed); wrapping the decided request in `pushmeta ticket:` adds a key it lacked,
    an edit of the request as Beancount reads it: check --since names it."""
    from repos import Repo, check, findings
    repo = Repo(tmp_path / "repo")
    from ledgers import decided, ledger
    text = request("ADJ-1", "2026-03-01", "-500.00")
    text = ledger(text + decided(text, "ADJ-1", "2026-03-02", "approve", "bob"))
    repo.commit(text)
    wrapped = text.replace('2026-03-02 custom "adjustment"',
                           'pushmeta by: "erin"\n2026-03-02 custom "adjustment"')
    wrapped += 'popmeta by:\n'
    repo.write(wrapped)
    result = check(repo)
    assert result.exit_code == 0, result.output
    repo.write(text.replace('2026-03-01 ! "cust_456"',
                            'pushmeta ticket: "T-9"\n2026-03-01 ! "cust_456"')
               .replace('2026-03-02 custom "adjustment"', 'popmeta ticket:\n'
                        '2026-03-02 custom "adjustment"'))
    result = check(repo)
    assert result.exit_code == 1, result.output
    assert findings(result, "edited-request"), result.output


def test_a_plugin_added_since_rev_fails_check_since(tmp_path: Path) -> None:
    """Held with the fix: a commit adding a site plugin before ours that forges an
    approval makes the ledger fail (its error), so check --since exits 1."""
    from repos import Repo, check
    repo = Repo(tmp_path / "repo")
    text = BASE + PENDING
    repo.commit(text)
    name = site_plugin(repo.root, FORGE_APPROVAL)
    repo.commit(f'option "insert_pythonpath" "TRUE"\nplugin "{name}"\n' + text)
    result = check(repo)
    assert result.exit_code == 1, result.output
    assert "[changed-by-plugin]" in result.output
