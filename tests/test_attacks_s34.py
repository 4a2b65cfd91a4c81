"""Thirty-fourth round of attacks: the latest controls, tried again.

The plugin order (`plugin-after`, `changed-by-plugin`) under other spellings of
this plugin's name, names and customer ids with invisible marks that are not
format characters, and stamps without offset. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from site_plugins import INFLATE_APPLIED, forget, site_plugin

from ledgers import BASE, load, load_file, request

SMALL = request("ADJ-1", "2026-03-01", "-10.00")
"""A 10 USD credit: under every threshold, it is applied as written."""

ALIAS = "beancount_adjustments.__init__"
"""Our package's `__init__` imported under a second name: Beancount runs its
`__plugins__`, which are ours."""


@pytest.fixture(autouse=True)
def _forget_site_plugins() -> Iterator[None]:
    yield
    forget(ALIAS)


def _base_as(first_line: str) -> str:
    return BASE.replace('plugin "beancount_adjustments"\n', first_line, 1)


def test_our_plugin_under_its_init_name_still_sees_a_plugin_after_it(tmp_path: Path) -> None:
    """Hole: enabled as `plugin "beancount_adjustments.__init__"` (the same module
    under a second name, which Beancount imports and runs), this plugin did not
    find itself in the plugin list, so a plugin after it that multiplied the
    booked credit by 100 was no [plugin-after] error: the receivable moved
    1,000 USD while the book said 10."""
    site = site_plugin(tmp_path, INFLATE_APPLIED)
    path = tmp_path / "main.beancount"
    path.write_text('option "insert_pythonpath" "TRUE"\n'
                    + _base_as(f'plugin "{ALIAS}"\nplugin "{site}"\n') + SMALL)
    loaded = load_file(path)
    assert "plugin-after" in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_our_plugin_enabled_under_two_names_is_enabled_twice(tmp_path: Path) -> None:
    """Hole: `plugin "beancount_adjustments"` and `plugin "beancount_adjustments.__init__"`
    ran the plugin twice (the second judging what the first booked) without the
    "enabled 2 times" error, which counted the one spelling only."""
    path = tmp_path / "main.beancount"
    path.write_text(BASE + f'plugin "{ALIAS}"\n' + SMALL)
    loaded = load_file(path)
    assert any("enabled 2 times" in e.message for e in loaded.errors), loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_a_plugin_before_our_alias_is_still_judged_earlier(tmp_path: Path) -> None:
    """Held with the fix: a plugin listed before our `__init__` alias is an earlier
    one (its changes are compared with the files), and no plugin after it is later."""
    site = site_plugin(tmp_path, INFLATE_APPLIED)
    path = tmp_path / "main.beancount"
    path.write_text('option "insert_pythonpath" "TRUE"\n'
                    + _base_as(f'plugin "{site}"\nplugin "{ALIAS}"\n') + SMALL)
    loaded = load_file(path)
    assert "plugin-after" not in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == -10


def test_our_plugin_under_its_own_module_path_runs_nothing() -> None:
    """Held: `plugin "beancount_adjustments.plugin"` names a module without
    `__plugins__`, which Beancount skips: no book is made, so no tool reads one
    (the requests' postings are plain Beancount's, as in any ledger without the
    plugin line)."""
    loaded = load(_base_as('plugin "beancount_adjustments.plugin"\n') + SMALL, base=False)
    assert loaded.book is None


WRAPPER = '''
from beancount_adjustments import adjustments

__plugins__ = ["wrapped"]


def wrapped(entries, options_map):
    return adjustments(entries, options_map)
'''


def test_a_site_module_wrapping_our_plugin_is_taken_as_after_it(tmp_path: Path) -> None:
    """Hole (with the alias fix): a site module calling this plugin from a function
    of its own names no line this plugin can find as its own, and a plugin after it
    was taken for an earlier one. Now, its place unknown, every listed plugin may
    follow it: [plugin-after] and nothing booked."""
    wrapper, site = site_plugin(tmp_path, WRAPPER), site_plugin(tmp_path, INFLATE_APPLIED)
    path = tmp_path / "main.beancount"
    path.write_text('option "insert_pythonpath" "TRUE"\n'
                    + _base_as(f'plugin "{wrapper}"\nplugin "{site}"\n') + SMALL)
    loaded = load_file(path)
    assert "plugin-after" in loaded.code_set, loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == 0


# Invisible but not format (Cf) characters: the combining grapheme joiner (Mn),
# a variation selector (Mn), the Hangul filler (Lo) and the braille blank (So).
HIDDEN_MARKS = ["\u034f", "\ufe0f", "\u3164", "\u2800", "\U000e0100", "\u115f"]


@pytest.mark.parametrize("mark", HIDDEN_MARKS, ids=[f"U+{ord(m):04X}" for m in HIDDEN_MARKS])
def test_a_customer_id_holding_an_invisible_mark_is_refused(mark: str) -> None:
    """Hole: the refusal asked for format (Cf) characters only; a combining grapheme
    joiner, a variation selector or a Hangul filler draws nothing either, and
    "cust_123" with one read as cust_123 on every page without even the look-alike
    warning (the skeleton kept it)."""
    hidden = f"cust_123{mark}"
    declared = load(f'2026-01-01 custom "adjustment-customer" "{hidden}" "vip"\n')
    assert "malformed-directive" in declared.code_set, declared.codes
    loaded = load(f'2026-02-01 * "x" "Invoice"\n  invoice-id: "INV-9"\n'
                  f'  customer: "{hidden}"\n  Assets:Receivable:Customers  50.00 USD\n'
                  '  Income:Sales  -50.00 USD\n'
                  + request("ADJ-1", "2026-03-01", "-5.00", customer=hidden))
    assert (loaded.line("^ADJ-1"), "bad-metadata") in loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == 50


@pytest.mark.parametrize("mark", HIDDEN_MARKS, ids=[f"U+{ord(m):04X}" for m in HIDDEN_MARKS])
def test_a_user_name_holding_an_invisible_mark_is_refused(mark: str) -> None:
    """Hole: as a customer id: "bob" with a combining grapheme joiner was a second
    user reading as bob, and not even a look-alike of him."""
    loaded = load(f'2026-01-01 custom "adjustment-user" "bob{mark}" "manager"\n')
    assert "malformed-directive" in loaded.code_set, loaded.codes


def test_a_customer_id_with_a_combining_accent_is_a_lookalike_not_refused() -> None:
    """Held: a combining accent draws a visible mark ("cust_123\\u0301" shows an
    accent on the 3); NFKC does not fold it away, so it is a customer of its own."""
    loaded = load('2026-01-01 custom "adjustment-customer" "cust_123\u0301" "vip"\n')
    assert "malformed-directive" not in loaded.code_set, loaded.codes


def test_a_customer_id_with_a_bidi_override_is_refused() -> None:
    """Held: bidirectional overrides and isolates are format characters."""
    for mark in ("\u202e", "\u2066", "\u061c"):
        loaded = load(f'2026-01-01 custom "adjustment-customer" "cust_{mark}321" "vip"\n')
        assert "malformed-directive" in loaded.code_set, (mark, loaded.codes)


def _filing(tmp_path: Path) -> Path:
    path = tmp_path / "main.beancount"
    path.write_text(BASE, encoding="utf-8")
    return path


def _create(path: Path, external_id: str) -> str:
    from beancount_adjustments import api
    return api.create(path, customer="cust_123", type="credit:refund", amount="5.00 USD",
                      offset_account="Income:Sales:Returns", reason="Damaged item",
                      as_user="alice", external_id=external_id).id


@pytest.mark.parametrize("variant", ["TICKET-e\u0301\u200b", "TICKET-e\u0301"],
                         ids=["invisible", "decomposed"])
def test_an_external_id_that_reads_as_a_filed_one_files_nothing(tmp_path: Path,
                                                                 variant: str) -> None:
    """Hole: a retry is known by its external id's text, and "TICKET-é" filed once was
    filed again (a second 5 USD credit) when the retry came with the é decomposed
    (e + U+0301, as macOS file names and some clients write it) or with a zero-width
    space: both read as the filed id on every page. Such an id is now bad-metadata
    at its request (the tools refuse to write it; by hand it moves nothing)."""
    from beancount_adjustments.api import ApiError
    path = _filing(tmp_path)
    first = _create(path, "TICKET-\u00e9")
    assert _create(path, " TICKET-\u00e9 ") == first  # held: blanks aside, the retry
    before = path.read_bytes()
    with pytest.raises(ApiError, match="external-id"):
        _create(path, variant)
    assert path.read_bytes() == before


def test_a_hand_written_external_id_with_an_invisible_character_moves_nothing() -> None:
    """Hole, as above, for a request written by hand: it is bad-metadata, booked as
    nothing."""
    loaded = load(request("ADJ-1", "2026-03-01", "-10.00", extra='external-id: "T-1\u200b"'))
    assert (loaded.line("^ADJ-1"), "bad-metadata") in loaded.codes
    assert loaded.balance("Assets:Receivable:Customers") == 0


def test_an_external_id_in_another_case_is_another_id(tmp_path: Path) -> None:
    """Held (by design): external ids are the issuing system's, case-sensitive as
    idempotency keys are; "ticket-1" is not a retry of "TICKET-1"."""
    path = _filing(tmp_path)
    assert _create(path, "TICKET-1") != _create(path, "ticket-1")


@pytest.mark.parametrize("alias", ["bob ", " bob", "bob\u00a0", "bob\u3000", "bob \t",
                                   "bob _.", "\uff42\uff4f\uff42."])
def test_an_alias_with_blanks_around_it_is_the_same_person(alias: str) -> None:
    """Hole: "bob " (a trailing space, or a no-break or ideographic one) reads as bob
    on every page, HTML drawing no trailing blank, yet was a second person for
    segregation of duties: the skeleton set aside a trailing full stop or underscore
    but not a blank. Fullwidth letters with a full stop held."""
    import datetime
    loaded = load(f'2026-01-01 custom "adjustment-user" "{alias}" "manager"\n')
    assert loaded.book is not None
    why = loaded.book.directory.same_person(alias, "bob", datetime.date(2026, 3, 1))
    assert why is not None, alias


def test_names_with_blanks_between_their_words_read_as_themselves() -> None:
    """Held with the fix: "bob  smith" (two spaces) reads as "bob smith" (a page draws
    one), but "b ob" is not bob."""
    from beancount_adjustments.core.lookalike import reads_as
    assert reads_as("bob  smith", "bob smith")
    assert not reads_as("b ob", "bob")


@pytest.mark.parametrize(("at", "ahead"), [
    ("2026-03-01T12:00:00", False), ("2026-03-01T11:59:59", True),
    ("2026-03-01T11:59:59Z", True), ("2026-03-01T23:00:00+01:00", True),
    ("2026-03-02t10:00:00", None), ("2026-03-01T24:00:00", None)])
def test_a_request_stamped_without_offset_the_day_before_gets_half_a_day(
        at: str, ahead: bool | None) -> None:
    """Held: a stamp without offset is UTC, which may be half a day behind its
    writer's day: a request dated 2026-03-02 written at noon UTC the day before
    is of its day somewhere (UTC+12), one written a second earlier is dated ahead;
    an offset names its own day; a lower-case `t` or hour 24 is no moment."""
    loaded = load(request("ADJ-1", "2026-03-02", "-10.00", extra=f'at: "{at}"'))
    codes = {code for line, code in loaded.codes if line == loaded.line("^ADJ-1")}
    if ahead is None:
        assert "bad-metadata" in codes, loaded.codes
    else:
        assert ("dated-ahead" in codes) is ahead, loaded.codes
