"""Signed approvals: keys in the ledger, signatures on events, policy `signatures: "required"`."""

from __future__ import annotations

import base64
import datetime
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from signing import KEYS, digests, key_lines, signed, write_key

from beancount_adjustments.cli import main
from beancount_adjustments.core import signatures
from ledgers import event, ledger, load, load_file, request

DAY = datetime.date(2026, 2, 3)
REQUIRED = """
2026-01-01 custom "adjustment-policy" "credit:refund"
  signatures: "required"
"""


def test_sign_and_verify_round_trip(tmp_path: Path) -> None:
    pem = tmp_path / "bob.pem"
    write_key(pem, KEYS["bob"])
    public = signatures.public_b64(KEYS["bob"])
    sig = signatures.sign_event(pem, "ADJ-1", "approve", "bob", DAY, "abc")
    assert signatures.verify(public, sig, "ADJ-1", "approve", "bob", DAY, "abc")
    for changed in (("ADJ-2", "approve", "bob", DAY, "abc"),
                    ("ADJ-1", "reject", "bob", DAY, "abc"),
                    ("ADJ-1", "approve", "erin", DAY, "abc"),
                    ("ADJ-1", "approve", "bob", DAY + datetime.timedelta(days=1), "abc"),
                    ("ADJ-1", "approve", "bob", DAY, "abd")):
        assert not signatures.verify(public, sig, *changed)
    other = signatures.public_b64(KEYS["erin"])
    assert not signatures.verify(other, sig, "ADJ-1", "approve", "bob", DAY, "abc")
    assert not signatures.verify(public, "not base64!", "ADJ-1", "approve", "bob", DAY, "abc")
    assert not signatures.verify("garbage", sig, "ADJ-1", "approve", "bob", DAY, "abc")
    with pytest.raises(FileExistsError):
        write_key(pem, KEYS["bob"])


def test_keygen_writes_a_private_key_and_prints_the_directive(tmp_path: Path) -> None:
    out = tmp_path / "bob.pem"
    result = CliRunner().invoke(main, ["keygen", "--as", "bob", "-o", str(out),
                                       "--date", "2026-01-01"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    directive = result.stdout.strip()
    assert directive.startswith('2026-01-01 custom "adjustment-key" "bob" "')
    public = directive.rsplit('"', 2)[1]
    assert public == signatures.public_b64(signatures.load_private_key(out))
    loaded = load(directive + "\n")
    assert loaded.errors == []
    assert loaded.book is not None
    assert loaded.book.facts.keys[0].user == "bob"
    again = CliRunner().invoke(main, ["keygen", "--as", "bob", "-o", str(out)])
    assert again.exit_code == 1


BODY = (REQUIRED + key_lines("bob")
        + request("ADJ-1", "2026-02-02", "-50") + request("ADJ-2", "2026-02-02", "-60")
        + request("ADJ-3", "2026-02-02", "-70", type="credit:account",
                  account="Expenses:Goodwill"))


def test_required_signed_approval_counts() -> None:
    d = digests(BODY)
    loaded = load(BODY + signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"]))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").history[0].event.signature


def test_required_unsigned_approval_does_not_count() -> None:
    text = BODY + event("ADJ-1", "2026-02-03", "approve", "bob")
    loaded = load(text)
    assert loaded.codes == [(loaded.line('"ADJ-1" "approve"'), "unsigned-approval")]
    assert loaded.state("ADJ-1") == "pending"
    # Not required for credit:account: an unsigned approval counts there.
    other = load(BODY + event("ADJ-3", "2026-02-03", "approve", "bob"))
    assert other.errors == []
    assert other.state("ADJ-3") == "applied"


@pytest.mark.parametrize("case", ["forged", "replayed", "other-date", "other-content",
                                  "no-key", "garbage", "other-approver"])
def test_bad_signatures_do_not_count(case: str) -> None:
    d = digests(BODY)
    if case == "forged":  # mallory's key, claiming to be bob
        ev = signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"], key="mallory")
    elif case == "replayed":  # bob's genuine signature for ADJ-2, copied onto ADJ-1
        genuine = signed("ADJ-2", "2026-02-03", "bob", d["ADJ-2"])
        sig = genuine.split('signature: "')[1].split('"')[0]
        ev = event("ADJ-1", "2026-02-03", "approve", "bob", digest=d["ADJ-1"], signature=sig)
    elif case == "other-date":
        ev = signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"]).replace("2026-02-03",
                                                                      "2026-02-04")
    elif case == "other-content":  # signed for other content, digest line edited after
        ev = signed("ADJ-1", "2026-02-03", "bob", "0" * 32).replace("0" * 32, d["ADJ-1"])
    elif case == "no-key":  # erin signs with her own key, but never registered it
        ev = signed("ADJ-1", "2026-02-03", "erin", d["ADJ-1"])
    elif case == "other-approver":
        ev = signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"]).replace('by: "bob"',
                                                                      'by: "erin"')
    else:
        ev = event("ADJ-1", "2026-02-03", "approve", "bob", digest=d["ADJ-1"],
                   signature="AAAA")
    loaded = load(BODY + ev)
    line = loaded.line('"ADJ-1" "approve"')
    assert (line, "bad-signature") in loaded.codes
    assert loaded.state("ADJ-1") == "pending"
    assert not loaded.adj("ADJ-1").approvals


def test_a_bad_signature_counts_against_even_where_not_required() -> None:
    ev = signed("ADJ-3", "2026-02-03", "bob", "f" * 32, key="mallory")
    loaded = load(BODY + ev)
    assert (loaded.line('"ADJ-3" "approve"'), "bad-signature") in loaded.codes
    assert loaded.state("ADJ-3") == "pending"


def test_keys_are_effective_dated() -> None:
    d = digests(BODY)
    # bob's key is replaced on 2026-02-01 by a new one: the old key no longer signs.
    rotated = BODY.replace(signatures.public_b64(KEYS["bob"]), signatures.public_b64(
        KEYS["mallory"]))
    text = (BODY + key_lines("mallory", date="2026-02-01").replace('"mallory"', '"bob"')
            + signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"]))
    loaded = load(text)
    assert (loaded.line('"ADJ-1" "approve"'), "bad-signature") in loaded.codes
    ok = load(rotated + signed("ADJ-1", "2026-02-03", "bob", d["ADJ-1"], key="mallory"))
    assert ok.errors == []
    assert ok.state("ADJ-1") == "applied"


def test_malformed_keys_and_policies_are_errors() -> None:
    loaded = load('2026-01-01 custom "adjustment-key" "bob" "bm90IGEga2V5"\n'
                  '2026-01-01 custom "adjustment-key" "bob"\n'
                  '2026-01-01 custom "adjustment-policy" "debit:*"\n'
                  '  signatures: "sometimes"\n')
    assert [c for _, c in loaded.codes] == ["malformed-directive"] * 3


def _signing_ledger(tmp_path: Path) -> tuple[Path, Path]:
    """bob's key file, and a ledger requiring signatures with ADJ-1 pending."""
    from ledgers import BACKDATING, BASE

    pem = tmp_path / "bob.pem"
    write_key(pem, KEYS["bob"])
    ledger = tmp_path / "main.beancount"
    ledger.write_text(BASE + BACKDATING + REQUIRED + key_lines("bob")
                      + request("ADJ-1", "2026-02-01", "-100.00"))
    return pem, ledger


def test_approve_sign_writes_a_signature_the_plugin_accepts(tmp_path: Path) -> None:
    pem, ledger = _signing_ledger(tmp_path)
    runner = CliRunner()
    args = ["approve", "ADJ-1", "-f", str(ledger), "--as", "bob", "--date", "2026-02-03"]
    before = ledger.read_bytes()
    unsigned = runner.invoke(main, args)
    assert unsigned.exit_code == 1
    assert "unsigned-approval" in unsigned.output + str(unsigned.stderr_bytes or b"")
    assert ledger.read_bytes() == before
    signed_run = runner.invoke(main, [*args, "--sign", str(pem)])
    assert signed_run.exit_code == 0, signed_run.output
    assert "signature:" in ledger.read_text()
    loaded = load(ledger.read_text(), base=False)
    assert loaded.errors == []
    assert str(loaded.state("ADJ-1")) == "applied"


def test_a_tool_that_cannot_sign_is_told_the_option_that_signs() -> None:
    from beancount_adjustments.core.models import Action
    from beancount_adjustments.core.permissions import denial

    loaded = load(REQUIRED + key_lines("bob") + request("ADJ-1", "2026-02-01", "-100.00"))
    assert loaded.book is not None
    refused = denial(loaded.book.rules, loaded.adj("ADJ-1"), Action.APPROVE, "bob",
                     datetime.date(2026, 2, 3), signed=False)
    assert refused is not None
    assert refused.code == "unsigned-approval"
    assert refused.message.endswith("approve with the CLI's --sign KEYFILE.")


# -- what a signature covers: `effective:` too (v2), and signatures made before --------


def _signed_effective(digest: str, effective: str | None, *, tag: str | None = None) -> str:
    """bob's signed final approval of ADJ-1 with `effective:` (signed over `effective`
    with the message `tag`, the current one by default)."""
    day = datetime.date(2026, 2, 3)
    payload = signatures.message("ADJ-1", "approve", "bob", day, digest,
                                 datetime.date.fromisoformat(effective) if effective else None,
                                 tag=tag or signatures.MESSAGE_TAG)
    return base64.b64encode(KEYS["bob"].sign(payload)).decode("ascii")


@pytest.mark.parametrize(("signed_over", "written"), [
    ("2026-02-10", "2026-03-31"),  # the booking date moved after bob signed
    (None, "2026-03-31"),          # a booking date added to his signed approval
    ("2026-02-10", None),          # the date he signed for removed
])
def test_an_edited_effective_breaks_the_signature(signed_over: str | None,
                                                  written: str | None) -> None:
    d = digests(BODY)
    signature = _signed_effective(d["ADJ-1"], signed_over)
    meta = {"digest": d["ADJ-1"], "signature": signature}
    if written is not None:
        meta["effective"] = written
    loaded = load(BODY + event("ADJ-1", "2026-02-03", "approve", "bob", **meta))
    assert (loaded.line('"ADJ-1" "approve"'), "bad-signature") in loaded.codes
    assert loaded.state("ADJ-1") == "pending"


def test_a_signature_over_the_effective_written_counts() -> None:
    d = digests(BODY)
    signature = _signed_effective(d["ADJ-1"], "2026-02-10")
    loaded = load(BODY + event("ADJ-1", "2026-02-03", "approve", "bob", digest=d["ADJ-1"],
                               effective="2026-02-10", signature=signature))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.adj("ADJ-1").effective_date == datetime.date(2026, 2, 10)


@pytest.mark.parametrize("effective", [None, "2026-02-10"])
def test_a_signature_made_before_effective_was_covered_still_counts(
        effective: str | None) -> None:
    """Signed with the v1 message (no `effective:` in it): the past keeps counting."""
    d = digests(BODY)
    signature = _signed_effective(d["ADJ-1"], None, tag=signatures.LEGACY_TAG)
    meta = {"digest": d["ADJ-1"], "signature": signature}
    if effective is not None:
        meta["effective"] = effective
    loaded = load(BODY + event("ADJ-1", "2026-02-03", "approve", "bob", **meta))
    assert loaded.errors == []
    assert loaded.state("ADJ-1") == "applied"
    assert loaded.book is not None
    # The booking date such a signature does not cover is shown to the auditor; with
    # none, that the signature is of before (it covers no `at:` nor `chain:` either).
    warned = [(w.source.lineno, w.code) for w in loaded.book.warnings]
    expected = [(loaded.line('"ADJ-1" "approve"'),
                 "unsigned-effective" if effective is not None else "old-signature")]
    assert warned == expected


def test_show_and_check_list_the_uncovered_effective(tmp_path: Path) -> None:
    d = digests(BODY)
    signature = _signed_effective(d["ADJ-1"], None, tag=signatures.LEGACY_TAG)
    path = tmp_path / "main.beancount"
    path.write_text(ledger(BODY + event("ADJ-1", "2026-02-03", "approve", "bob",
                                        digest=d["ADJ-1"], effective="2026-02-10",
                                        signature=signature)), encoding="utf-8")
    line = load_file(path).line('"ADJ-1" "approve"')
    where = f"{path}:{line}: "
    shown = CliRunner().invoke(main, ["show", "ADJ-1", "-f", str(path)])
    assert shown.exit_code == 0, shown.output
    listed = shown.output[shown.output.index("warnings:"):]
    assert where in listed
    assert listed.split("\n")[1].endswith("[unsigned-effective]")
    as_json = CliRunner().invoke(main, ["show", "ADJ-1", "-f", str(path), "--json"])
    assert [(w["code"], w["line"]) for w in json.loads(as_json.output)["warnings"]] == [
        ("unsigned-effective", line)]
    checked = CliRunner().invoke(main, ["check", "-f", str(path)])
    assert checked.exit_code == 0, checked.output  # a warning fails nothing
    assert f"warning: {where}" in checked.output


def test_a_signature_over_the_effective_is_no_warning() -> None:
    d = digests(BODY)
    signature = _signed_effective(d["ADJ-1"], "2026-02-10")
    loaded = load(BODY + event("ADJ-1", "2026-02-03", "approve", "bob", digest=d["ADJ-1"],
                               effective="2026-02-10", signature=signature))
    assert loaded.book is not None
    assert [w.code for w in loaded.book.warnings] == []


def test_approve_sign_with_effective_signs_the_date(tmp_path: Path) -> None:
    pem, ledger = _signing_ledger(tmp_path)
    run = CliRunner().invoke(main, ["approve", "ADJ-1", "-f", str(ledger), "--as", "bob",
                                    "--date", "2026-02-03", "--effective", "2026-02-10",
                                    "--sign", str(pem)])
    assert run.exit_code == 0, run.output
    loaded = load(ledger.read_text(), base=False)
    assert loaded.errors == []
    assert loaded.adj("ADJ-1").effective_date == datetime.date(2026, 2, 10)
    moved = ledger.read_text().replace("effective: 2026-02-10", "effective: 2026-03-31")
    assert moved != ledger.read_text()
    edited = load(moved, base=False)
    assert "bad-signature" in {code for _, code in edited.codes}
    assert str(edited.state("ADJ-1")) == "pending"
