"""Seals: a sealed, signed ledger detects every way of tampering with it."""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from signing import digests, seal

from beancount_adjustments.cli import main
from beancount_adjustments.core import seals, signatures
from ledgers import DEMO, code_of, event, ledger, load, load_file, request

BOB = Ed25519PrivateKey.generate()
MALLORY = Ed25519PrivateKey.generate()

HEAD = f"""
2026-01-01 custom "adjustment-policy" "credit:*"
  signatures: "required"
2026-01-01 custom "adjustment-key" "bob" "{signatures.public_b64(BOB)}"
2026-01-01 custom "adjustment-key" "erin" "{signatures.public_b64(MALLORY)}"
"""
REQUESTS = (request("ADJ-1", "2026-02-02", "-50", reason="Damaged item")
            + request("ADJ-2", "2026-02-02", "-60", reason="Late delivery")
            + request("ADJ-3", "2026-02-05", "60", type="debit:fee", account="Income:Fees",
                      reason="Late fee"))


DIGESTS = digests(HEAD + REQUESTS)


def approve(adj_id: str, date: str, by: str = "bob", key: Ed25519PrivateKey = BOB) -> str:
    digest = DIGESTS[adj_id]
    sig = signatures.sign_with(key, adj_id, "approve", by, datetime.date.fromisoformat(date),
                               digest)
    return event(adj_id, date, "approve", by, digest=digest, signature=sig)


EVENTS = (approve("ADJ-1", "2026-02-03")
          + approve("ADJ-2", "2026-02-03")
          + event("ADJ-3", "2026-02-06", "approve", "erin")
          + event("ADJ-2", "2026-02-20", "cancel", "carol", reason="Customer kept it"))
LATER = event("ADJ-1", "2026-04-02", "cancel", "carol", reason="Refund bounced")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The ledger's text after a seal on 2026-02-28, a later event, a seal on 2026-04-30."""
    path = tmp_path_factory.mktemp("sealed") / "main.beancount"
    path.write_text(ledger(HEAD + REQUESTS + EVENTS))
    seal(path, "2026-02-28")
    text = path.read_text()
    path.write_text(text + "\n" + LATER)
    seal(path, "2026-04-30")
    return path.read_text()


def check(text: str, tmp_path: Path) -> list[tuple[int, str | None, str]]:
    path = tmp_path / "main.beancount"
    path.write_text(text)
    loaded = load_file(path)
    return [(e.source["lineno"], code_of(e), e.message) for e in loaded.errors]


def line_of(text: str, marker: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if marker in line][nth]


def broken(errors: list[tuple[int, str | None, str]]) -> list[tuple[int, str]]:
    return [(line, message) for line, code, message in errors if code == "seal-broken"]


def test_sealed_ledger_is_clean(sealed: str, tmp_path: Path) -> None:
    assert check(sealed, tmp_path) == []
    found = re.findall(r'custom "adjustment-seal" "([0-9a-f]{64})"\n  by: "carol"\n'
                       r"  count: (\d+)", sealed)
    assert len(found) == 2
    # the plugin's settings, the preamble's 16 users, customers and rows, 3 policy and
    # keys, 3 requests, events
    assert [int(c) for _, c in found] == [1 + 16 + 3 + 3 + 4, 1 + 16 + 3 + 3 + 5]
    assert len({h for h, _ in found}) == 2


def test_entries_after_the_last_seal_are_free(sealed: str, tmp_path: Path) -> None:
    later = sealed + "\n" + event("ADJ-3", "2026-05-02", "cancel", "carol", reason="Waived")
    errors = check(later, tmp_path)
    assert errors == []
    path = tmp_path / "main.beancount"
    seal(path, "2026-05-31")
    assert check(path.read_text(), tmp_path) == []


def tamper_cases(text: str) -> dict[str, tuple[str, int, str]]:
    """name: (tampered text, line the error must be at, words the message must hold)."""
    adj1 = line_of(text, "^ADJ-1")
    approve1 = line_of(text, '"ADJ-1" "approve"')
    approve2 = line_of(text, '"ADJ-2" "approve"')
    seal1 = line_of(text, '"adjustment-seal"')
    lines = text.splitlines(keepends=True)

    def block(start: int) -> tuple[int, int]:
        end = start
        while end < len(lines) and lines[end].startswith("  "):
            end += 1
        return start - 1, end

    s1, e1 = block(approve1)
    s2, e2 = block(approve2)
    swapped = "".join(lines[:s1] + lines[s2:e2] + lines[s1:e1] + lines[e2:])
    deleted = "".join(lines[:s2] + lines[e2:])
    adj1_sig = re.search(r'signature: "([^"]+)"', "".join(lines[s1:e1]))
    assert adj1_sig is not None
    replayed = "".join(lines[:s2]) + re.sub(r'signature: "[^"]+"',
                                            f'signature: "{adj1_sig.group(1)}"',
                                            "".join(lines[s2:e2])) + "".join(lines[e2:])
    forged = "".join(lines[:s2]) + re.sub(r'signature: "[^"]+"', 'signature: "'
                                          + signatures.sign_with(
                                              MALLORY, "ADJ-2", "approve", "bob",
                                              datetime.date(2026, 2, 3), DIGESTS["ADJ-2"])
                                          + '"', "".join(lines[s2:e2])) + "".join(lines[e2:])
    hash1 = re.findall(r'"adjustment-seal" "([0-9a-f]{64})"', text)[0]
    return {
        "amount": (text.replace("Income:Sales:Returns  50 USD", "Income:Sales:Returns  55 USD")
                   .replace("Assets:Receivable:Customers  -50 USD",
                            "Assets:Receivable:Customers  -55 USD"), adj1,
                   "request ADJ-1 dated 2026-02-02"),
        "approver": ("".join(lines[:s1]) + "".join(lines[s1:e1]).replace('by: "bob"',
                                                                        'by: "erin"')
                     + "".join(lines[e1:]), approve1, "ADJ-1 approve by erin"),
        "date": (text.replace('2026-02-03 custom "adjustment" "ADJ-1"',
                              '2026-02-04 custom "adjustment" "ADJ-1"'), approve1,
                 "ADJ-1 approve by bob on 2026-02-04"),
        "delete": (deleted, line_of(deleted, "^ADJ-3"), "deleted between ADJ-1 approve"),
        "reorder": (swapped, line_of(swapped, '"ADJ-2" "approve"'), "reordered"),
        "insert": (text.replace(LATER, "") + "\n" + event("ADJ-3", "2026-02-10", "approve",
                                                           "bob"),
                   -1, "added to a sealed day"),
        "replayed-signature": (replayed, approve2, "ADJ-2 approve by bob"),
        "forged-signature": (forged, approve2, "ADJ-2 approve by bob"),
        "requester": (text.replace('requested-by: "alice"', 'requested-by: "frank"', 1), adj1,
                      "request ADJ-1"),
        "key": (text.replace(signatures.public_b64(BOB), signatures.public_b64(MALLORY)),
                line_of(text, '"adjustment-key" "bob"'), "key of bob"),
        "role": (text.replace('"adjustment-user" "erin" "manager"',
                              '"adjustment-user" "erin" "cfo"'),
                 line_of(text, '"adjustment-user" "erin"'), "user erin"),
        "seal-hash": (text.replace(hash1, "0" * 64), seal1, "seal"),
    }


CASES = ("amount", "approver", "date", "delete", "reorder", "insert", "replayed-signature",
         "forged-signature", "requester", "key", "role", "seal-hash")


@pytest.mark.parametrize("case", CASES)
def test_every_tampering_is_detected(sealed: str, tmp_path: Path, case: str) -> None:
    text, line, words = tamper_cases(sealed)[case]
    assert text != sealed
    found = broken(check(text, tmp_path))
    assert found, f"{case}: not detected"
    first_line, message = found[0]
    if line == -1:
        line = line_of(text, '"ADJ-3" "approve"', 1)
    assert first_line == line, (case, found)
    assert words in message, (case, message)
    assert "seal of 2026-02-28" in message


def test_signature_tampering_is_also_refused_by_the_replay(sealed: str, tmp_path: Path) -> None:
    for case in ("replayed-signature", "forged-signature"):
        text, line, _ = tamper_cases(sealed)[case]
        assert (line, "bad-signature") in [(ln, c) for ln, c, _ in check(text, tmp_path)]


def test_deleting_a_seal_breaks_the_next(sealed: str, tmp_path: Path) -> None:
    lines = sealed.splitlines(keepends=True)
    start = line_of(sealed, '"adjustment-seal"') - 1
    end = start + 1
    while lines[end].startswith("  "):
        end += 1
    text = "".join(lines[:start] + lines[end:])
    found = broken(check(text, tmp_path))
    assert found
    assert all("seal of 2026-04-30" in m for _, m in found)


def test_sealing_refuses_over_a_broken_seal(sealed: str, tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(tamper_cases(sealed)["approver"][0])
    result = CliRunner().invoke(main, ["seal", "-f", str(path), "--as", "carol",
                                       "--date", "2026-05-31"])
    assert result.exit_code == 1
    assert "do not verify" in result.output
    path.write_text(sealed)
    before = path.read_text()
    result = CliRunner().invoke(main, ["seal", "-f", str(path), "--as", "carol",
                                       "--date", "2026-03-31"])
    assert result.exit_code == 1
    assert "before it" in result.output
    assert path.read_text() == before
    result = CliRunner().invoke(main, ["seal", "-f", str(path), "--date", "2026-05-31"],
                                env={"BEAN_ADJUST_USER": ""})
    assert result.exit_code == 1
    assert path.read_text() == before


def test_an_empty_span_seal_and_malformed_seals(tmp_path: Path) -> None:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(REQUESTS))
    seal(path, "2026-01-31")  # nothing dated in January but the preamble
    seal(path, "2026-01-31")  # an empty span
    assert check(path.read_text(), tmp_path) == []
    loaded = load('2026-03-01 custom "adjustment-seal" "abc"\n'
                  '2026-03-01 custom "adjustment-seal" "' + "a" * 64 + '"\n  count: -1\n')
    assert [c for _, c in loaded.codes] == ["malformed-directive", "malformed-directive"]


def test_verify_seals_is_pure_over_facts() -> None:
    loaded = load(HEAD + REQUESTS + EVENTS)
    assert loaded.book is not None
    facts, settings = loaded.book.facts, loaded.book.settings
    plan = seals.next_seal(facts, [], datetime.date(2026, 2, 28), "carol", settings=settings)
    assert plan.count == len(seals.sealed_items(facts, settings=settings))
    assert len(plan.fingerprints) == plan.span * seals.FINGERPRINT
    good = seals.Seal(date=plan.date, hash=plan.hash, count=plan.count,
                      fingerprints=plan.fingerprints, by="carol",
                      source=facts.requests[0].source)
    assert seals.verify_seals(facts, [good], settings=settings) == []
    bad = dataclasses.replace(good, hash="f" * 64)
    assert [p.code for p in seals.verify_seals(facts, [bad], settings=settings)] == ["seal-broken"]


def test_writer_refuses_a_decision_on_a_sealed_day(tmp_path):
    import datetime
    import shutil

    from beancount_adjustments.core.models import Action
    from beancount_adjustments.writer import Decision, WriteRefused, write_decisions

    ledger = tmp_path / "demo.beancount"
    shutil.copy(DEMO, ledger)
    runner = CliRunner()
    sealed = runner.invoke(main, ["seal", "-f", str(ledger), "--as", "carol",
                                  "--date", "2026-11-23"])
    assert sealed.exit_code == 0, sealed.output
    before = ledger.read_bytes()
    from beancount_adjustments import book_of
    from beancount_adjustments.beans.loading import load_uncached
    from beancount_adjustments.reports.queries import may
    book = book_of(load_uncached(ledger)[2])
    assert book is not None
    # Something carol may approve on both days, whatever the demo holds today.
    adj_id = next(a.id for a in book.adjustments.values()
                  if may(book, a, "carol", Action.APPROVE, datetime.date(2026, 11, 23))
                  and may(book, a, "carol", Action.APPROVE, datetime.date(2026, 11, 24)))
    decision = Decision(adj_id, Action.APPROVE, "carol", date=datetime.date(2026, 11, 23))
    # Written on the day it is dated: `at:` must not make it back-dated.
    noon = datetime.datetime(2026, 11, 23, 12, tzinfo=datetime.UTC)
    with pytest.raises(WriteRefused, match=r"seal-broken"):
        write_decisions(ledger, [decision], now=noon)
    assert ledger.read_bytes() == before
    later = Decision(adj_id, Action.APPROVE, "carol", date=datetime.date(2026, 11, 24))
    assert write_decisions(ledger, [later],
                           now=noon + datetime.timedelta(days=1)).written == 1
