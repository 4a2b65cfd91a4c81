"""Twenty-fourth round of attacks: this session's own changes.

The writer reading and hashing its target once (its bytes stand for it in the check
that Fava's load is still the files' state), seals written through it, Fava's guard
on the whole app, strict amounts and external-id retries. A test whose docstring
says "Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from fava_env import shared_fava
from sample_ledgers import WRITER_LEDGER

from beancount_adjustments.beans.loading import load_uncached
from beancount_adjustments.core.models import Action
from beancount_adjustments.writer import Decision, WriteRefused, judging, write_decisions

NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=datetime.UTC)
INCLUDED = 'include "adjustments.beancount"\n'
APPROVE = [Decision("ADJ-2024-0001", Action.APPROVE, by="bob",
                    date=datetime.date(2024, 3, 10))]


pytestmark = pytest.mark.usefixtures("no_tool_env")


@pytest.fixture
def ledger(writer_ledger: Path) -> Path:
    return writer_ledger


def _during_judging(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    real = judging.record_judgement

    def meanwhile(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        action()

    monkeypatch.setattr("beancount_adjustments.writer.write.record_judgement", meanwhile)


# -- 1. the target read once -----------------------------------------------------------


def test_an_in_place_save_of_the_same_size_with_its_mtime_kept_is_not_overwritten(
        ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: a program saving the target in place, the same number of bytes, and
    keeping its modification time (`cp -p`, `rsync --inplace -t`, `touch -r`) while
    the entries were judged left the file's (device, inode, size, mtime) as read:
    the writer replaced it with the bytes it had read, and the edit was lost."""
    before = ledger.read_bytes()
    edited = before.replace(b"Damaged item", b"Damaged ITEM")
    assert len(edited) == len(before)

    def save_in_place() -> None:
        st = os.stat(ledger)
        with ledger.open("r+b") as handle:
            handle.write(edited)
        os.utime(ledger, ns=(st.st_atime_ns, st.st_mtime_ns))

    _during_judging(monkeypatch, save_in_place)
    with pytest.raises(WriteRefused, match="changed while"):
        write_decisions(ledger, APPROVE, now=NOW)
    assert ledger.read_bytes() == edited


REQUEST_FILE = (
    '2024-03-06 ! "cust_123" "Late parcel" ^ADJ-2024-0002\n'
    '  adjustment-type: "credit:refund"\n  customer: "cust_123"\n'
    '  reason: "Late parcel"\n  requested-by: "alice"\n'
    '  Income:Sales:Returns            10.00 USD\n'
    '  Assets:Receivable:Customers    -10.00 USD\n')


@pytest.mark.parametrize("shape", ["empty", "no-final-newline", "crlf", "bom", "blank-end"])
def test_a_target_of_any_shape_is_appended_to_as_read_and_hashed_as_written(
        tmp_path: Path, shape: str) -> None:
    """Held: the block is appended to the very bytes read (an empty file, one with no
    final newline, CRLF line ends, a UTF-8 BOM, blank lines at its end), the sha256
    reported is the file's, and the files' state handed to the reload is theirs."""
    main = tmp_path / "main.beancount"
    main.write_text(WRITER_LEDGER + INCLUDED)
    body = {"empty": b"", "no-final-newline": REQUEST_FILE.rstrip("\n").encode(),
            "crlf": REQUEST_FILE.replace("\n", "\r\n").encode(),
            "bom": b"\xef\xbb\xbf; adjustments\n" + REQUEST_FILE.encode(),
            "blank-end": REQUEST_FILE.encode() + b"\n\n\n"}[shape]
    target = tmp_path / "adjustments.beancount"
    target.write_bytes(body)
    before = [e.message for e in load_uncached(main)[1]]
    assert bool(before) == (shape == "bom")  # Beancount's lexer refuses a BOM itself
    result = write_decisions(main, APPROVE, now=NOW)
    after = target.read_bytes()
    assert after.startswith(body)
    assert result.sha256 == hashlib.sha256(after).hexdigest()
    assert [e.message for e in load_uncached(main)[1]] == before  # nothing new to fix
    assert main.read_text() == WRITER_LEDGER + INCLUDED
    assert result.written == 1


@pytest.mark.parametrize("fails", ["second-part", "fsync", "replace"])
def test_a_crash_while_writing_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str) -> None:
    """Held: the write failing after the first part (the bytes read) is written, at
    the fsync, or at the rename: the old file intact, no temporary left beside it, a
    one-line refusal naming the file."""
    main = tmp_path / "main.beancount"
    main.write_text(WRITER_LEDGER + INCLUDED)
    target = tmp_path / "adjustments.beancount"
    target.write_bytes(REQUEST_FILE.encode())
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_write, real_fsync, real_replace = os.write, os.fsync, os.replace
    calls: list[int] = []

    def write(fd: int, data: Any) -> int:
        calls.append(fd)
        if fails == "second-part" and len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        if fails == "fsync":
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    def replace(a: Any, b: Any) -> None:
        if fails == "replace":
            raise OSError(13, "Permission denied")
        real_replace(a, b)

    from beancount_adjustments.writer import files as files_mod
    monkeypatch.setattr(files_mod.os, "write", write)
    monkeypatch.setattr(files_mod.os, "fsync", fsync)
    monkeypatch.setattr(files_mod.os, "replace", replace)
    with pytest.raises(WriteRefused) as raised:
        write_decisions(main, APPROVE, now=NOW)
    monkeypatch.undo()
    message = str(raised.value)
    assert "\n" not in message.strip()
    assert "nothing was written" in message
    assert str(target) in message
    left = {p.name: p.read_bytes() for p in tmp_path.iterdir()
            if not p.name.endswith(".lock")}
    assert left == files


# -- 3. Fava's guard on the whole app: a second ledger reaching a guarded file --------


FORGED = '2026-01-01 custom "adjustment" "ADJ-2" "approve"\n  by: "erin"\n'
USER = {"X-Remote-User": "bob"}


def _other(tmp_path: Path, folder: Path) -> str:
    return ('option "title" "Other"\n'
            f'option "documents" "{folder}"\n'
            f'2024-01-01 custom "fava-option" "import-dirs" "{folder}"\n'
            '2024-01-01 open Assets:Cash\n'
            f'2024-01-02 document Assets:Cash "{tmp_path / "adjustments.beancount"}"\n')


def test_a_second_ledger_cannot_replace_a_guarded_file_through_its_documents(
        tmp_path: Path) -> None:
    """Hole: a second ledger of the same Fava that includes no file of the guarded
    one, but names its adjustments.beancount as a document and its folder as an
    import folder, deleted that file (/other/api/document) and uploaded a forged one
    under its name (/other/api/upload_import_file); or moved it away
    (/other/api/move): the guard compared only the files the ledgers include."""
    app = shared_fava(tmp_path, _other(tmp_path, tmp_path),
                      decisions="; the team's decisions\n")
    client = app.test_client()
    shared = tmp_path / "adjustments.beancount"
    before = shared.read_bytes()
    deleted = client.delete("/other/api/document", query_string={"filename": str(shared)},
                            headers=USER)
    assert deleted.status_code == 403, deleted.get_data(as_text=True)
    assert "adjustments.beancount" in deleted.get_json()["error"]
    moved = client.put("/other/api/move", json={"account": "Assets:Cash", "new_name": "x",
                                                "filename": str(shared)}, headers=USER)
    assert moved.status_code == 403, moved.get_data(as_text=True)
    uploaded = client.put("/other/api/upload_import_file", headers=USER,
                          data={"file": (io.BytesIO(FORGED.encode()), "forged.beancount")},
                          content_type="multipart/form-data")
    assert uploaded.status_code == 403, uploaded.get_data(as_text=True)
    added = client.put("/other/api/add_document", headers=USER,
                       data={"file": (io.BytesIO(FORGED.encode()), "forged.beancount"),
                             "folder": str(tmp_path), "account": "Assets:Cash"},
                       content_type="multipart/form-data")
    assert added.status_code == 403, added.get_data(as_text=True)
    assert shared.read_bytes() == before
    assert not (tmp_path / "forged.beancount").exists()


def test_a_seal_is_not_dated_back_to_a_day_its_author_still_held_a_role(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gone` lost every role on 2024-02-01; `seal --as gone --date 2024-01-31`
    written today was accepted, a seal made by nobody holding a role on the day
    it was made. The sealer must hold a role on the seal's date and on the day
    it is written, as a decision's author must (`permissions.denial`)."""
    from click.testing import CliRunner

    from beancount_adjustments.cli import main
    path = tmp_path / "main.beancount"
    path.write_text(WRITER_LEDGER)
    monkeypatch.setenv("BEAN_ADJUST_LEDGER", str(path))
    monkeypatch.delenv("BEAN_ADJUST_USER", raising=False)
    monkeypatch.delenv("BEAN_ADJUST_TARGET", raising=False)
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["seal", "--as", "gone", "--date", "2024-01-31"])
    assert result.exit_code == 1, result.output
    assert "gone" in result.output
    assert "today" in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == before
    result = CliRunner().invoke(main, ["seal", "--as", "carol", "--date", "2024-01-31"])
    assert result.exit_code == 0, result.output
