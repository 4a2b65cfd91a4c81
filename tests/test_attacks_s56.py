"""Round 56 of attacks: a crash, a full disk or a race at the wrong moment, for
every tool that writes a file outside the ledger writer.

The ledger writer has its own rounds (test_writer_safety, test_writer_concurrency,
s22, s24, s53); notify's state file has s30. This round took every other path that
writes: the output files of `statement`, `report` and `export` (`-o`), `demo`
(`bean-adjust demo` and `python -m beancount_adjustments.demo`), `keygen`'s private
key, `init` (its new file, its trial copy of the ledger, the ledger), and notify's
state file named as a file of the ledger. A full disk is a real one as far as the
write can tell: the tool runs in a child process whose file size limit
(RLIMIT_FSIZE) stops every write past a few bytes, whichever way it writes. Kills
are a `KeyboardInterrupt` raised at each step, or a SIGKILL (init between its two
writes, notify holding its lock). Races are several processes at once: keygen,
init, notify, and CSV import of one file. Tests named `test_hole_...` failed on the
code they were written against (the commit that added them fixes it);
`test_holds_...` held.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import beancount_adjustments
from beancount_adjustments import api
from beancount_adjustments.beans import loading
from beancount_adjustments.cli import init as init_module
from beancount_adjustments.cli import main
from beancount_adjustments.core import signatures
from ledgers import ledger, request

ROOT = Path(beancount_adjustments.__file__).resolve().parent.parent

# Run a command with writes past `limit` bytes failing (EFBIG, SIGXFSZ ignored): a
# disk that fills up part way through whatever the command writes.
LIMITED = textwrap.dedent("""
    import resource, signal, sys
    {imports}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    sys.argv = ["bean-adjust", *sys.argv[2:]]
    sys.exit(main())
""")
CLI = "from beancount_adjustments.cli import main"
DEMO_MODULE = "from beancount_adjustments.demo.__main__ import main"

INVOICE = """
2026-01-05 * "Invoice"
  invoice: "INV-1"
  customer: "cust_123"
  Assets:Receivable:Customers  100.00 USD
  Income:Sales
"""
REQUEST = {"type": "credit:refund", "customer": "cust_123",
           "amount": "5.00 USD", "reason": "returned", "offset_account": "Income:Sales:Returns"}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def full_disk(cwd: Path, limit: int, *args: str, imports: str = CLI
              ) -> subprocess.CompletedProcess[str]:
    script = LIMITED.format(imports=imports)
    return subprocess.run([sys.executable, "-c", script, str(limit), *args], cwd=cwd,
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", f"{CLI}; main()", *args], cwd=cwd,
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (lock files are empty and expected)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def bean_check(path: Path) -> list[object]:
    return list(loading.load_uncached(path)[1])


@pytest.fixture
def books(tmp_path: Path) -> Path:
    """A ledger with an invoice and one request (an export has rows)."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE))
    api.create(main_file, **REQUEST, as_user="alice")
    return main_file


OUTPUTS = {
    "statement": ["statement", "cust_123", "--format", "html", "--to", "2026-03-31"],
    "report": ["report", "audit", "--format", "csv"],
    "export": ["export"],
}


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_hole_an_output_file_on_a_full_disk_is_left_as_it_was(books: Path, command: str
                                                                ) -> None:
    """`-o` onto an existing file, the disk full part way through: the file was
    truncated and left half-written (exit 1); now it is as it was and the line says
    nothing was written."""
    out = books.parent / "out.txt"
    args = [*OUTPUTS[command], "-f", str(books)]
    whole = cli(*args, "-o", str(out))  # also warms Beancount's cache: no write to it next
    assert whole.returncode == 0, whole.stderr
    assert out.stat().st_size > 200
    out.write_bytes(b"the report of last month\n")
    before = files(books.parent)
    result = full_disk(books.parent, 100, *args, "-o", str(out))
    assert files(books.parent) == before  # no temporary left either
    line = one_line_refusal(result)
    assert str(out) in line
    assert "nothing was written" in line


@pytest.mark.parametrize("which", ["main", "include", "symlink"])
def test_hole_an_output_onto_the_ledgers_own_file_is_refused(tmp_path: Path, which: str
                                                              ) -> None:
    """`export -o main.beancount` (or an included file, or a link to the ledger):
    the export replaced the ledger; now it is refused and the ledger is untouched."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE) + 'include "more.beancount"\n')
    (tmp_path / "more.beancount").write_text("2026-01-01 open Assets:Cash\n")
    (tmp_path / "link.beancount").symlink_to(main_file)
    output = {"main": main_file, "include": tmp_path / "more.beancount",
              "symlink": tmp_path / "link.beancount"}[which]
    before = files(tmp_path)
    for args in (["export"], ["report", "summary"],
                 ["statement", "cust_123", "--to", "2026-03-31"]):
        result = CliRunner().invoke(main, [*args, "-f", str(main_file), "-o", str(output)])
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "is a file of the ledger" in result.output
        assert files(tmp_path) == before
        assert bean_check(main_file) == []


def test_hole_demo_on_a_full_disk_keeps_the_ledger_it_would_replace(tmp_path: Path) -> None:
    """`bean-adjust demo -o demo.beancount` over an existing demo, the disk full part
    way: the old ledger was replaced by the head of a new one that fails bean-check;
    now the old one stays, byte for byte."""
    target = tmp_path / "demo.beancount"
    target.write_text(ledger(INVOICE))
    before = files(tmp_path)
    result = full_disk(tmp_path, 1000, "demo", "-o", str(target), "--transactions", "10")
    assert files(tmp_path) == before
    line = one_line_refusal(result)
    assert str(target) in line
    assert "nothing was written" in line
    assert bean_check(target) == []


def test_hole_python_m_demo_that_cannot_write_says_so_in_one_line(tmp_path: Path) -> None:
    """`python -m beancount_adjustments.demo -o` into a missing folder or onto a full
    disk: a traceback; now one line naming the file, exit 1, nothing left behind."""
    missing = tmp_path / "no-such-folder" / "demo.beancount"
    line = one_line_refusal(full_disk(tmp_path, 10**9, "--transactions", "10", "-o",
                                      str(missing), imports=DEMO_MODULE))
    assert str(missing) in line
    target = tmp_path / "demo.beancount"
    target.write_text(ledger(INVOICE))
    before = files(tmp_path)
    line = one_line_refusal(full_disk(tmp_path, 1000, "--transactions", "10", "-o",
                                      str(target), imports=DEMO_MODULE))
    assert str(target) in line
    assert "nothing was written" in line
    assert files(tmp_path) == before


def test_hole_keygen_on_a_full_disk_leaves_no_half_a_key(tmp_path: Path) -> None:
    """`keygen -o bob.pem`, the disk full part way through the PEM: half a key was
    left, and keygen then refused ever to write it ("never overwritten"); now no
    file is left, and keygen run again writes the key."""
    pem = tmp_path / "bob.pem"
    result = full_disk(tmp_path, 40, "keygen", "--as", "bob", "-o", str(pem))
    assert files(tmp_path) == {}
    line = one_line_refusal(result)
    assert str(pem) in line
    assert "nothing was written" in line
    again = cli("keygen", "--as", "bob", "-o", str(pem), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oct(pem.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("step", ["pem", "write"])
def test_hole_keygen_interrupted_after_creating_the_file_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Ctrl-C (or a kill) as the key is turned into PEM or written: an empty key file
    stayed, and keygen refused ever to replace it; now nothing is left and a second
    run writes the key."""
    pem = tmp_path / "bob.pem"
    real_write = os.write

    def stop(*args: object) -> None:
        raise KeyboardInterrupt

    def write(fd: int, data: bytes) -> int:
        if fd > 2:
            raise KeyboardInterrupt
        return real_write(fd, data)

    if step == "pem":
        monkeypatch.setattr(signatures, "private_pem", stop)
    else:
        monkeypatch.setattr(os, "write", write)
    stopped = CliRunner().invoke(main, ["keygen", "--as", "bob", "-o", str(pem)])
    assert (stopped.exit_code, stopped.output.strip()) == (1, "Aborted!")
    monkeypatch.undo()
    assert files(tmp_path) == {}
    result = CliRunner().invoke(main, ["keygen", "--as", "bob", "-o", str(pem)])
    assert result.exit_code == 0, result.output


def test_holds_two_keygens_at_once_leave_one_whole_key(tmp_path: Path) -> None:
    """Two `keygen -o bob.pem` at once: one writes the key, the other refuses in one
    line; the key on disk is a whole one, the one whose directive was printed."""
    pem = tmp_path / "bob.pem"
    runs = [subprocess.Popen([sys.executable, "-c", f"{CLI}; main()", "keygen", "--as",
                              "bob", "-o", str(pem)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env())
            for _ in range(4)]
    outcomes = [(run.returncode, out, err)
                for run in runs for out, err in [run.communicate(timeout=60)]]
    won = [out for code, out, _ in outcomes if code == 0]
    assert len(won) == 1, outcomes
    for code, _, err in outcomes:
        if code:
            assert code == 1
            assert "Traceback" not in err
            assert len(err.strip().splitlines()) == 1
    public = signatures.public_b64(signatures.load_private_key(pem))
    assert public in won[0]


def test_holds_keygen_never_writes_through_a_dangling_symlink(tmp_path: Path) -> None:
    """`-o` a symlink to a file that does not exist yet (elsewhere): refused in one
    line; nothing is created at the far end."""
    far = tmp_path / "elsewhere" / "stolen.pem"
    far.parent.mkdir()
    pem = tmp_path / "bob.pem"
    pem.symlink_to(far)
    result = CliRunner().invoke(main, ["keygen", "--as", "bob", "-o", str(pem)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not far.exists()


# -- init ------------------------------------------------------------------------

PLAIN = """\
option "operating_currency" "USD"

2026-01-01 open Assets:Bank USD
2026-01-01 open Assets:Receivable USD
2026-01-01 open Income:Sales USD
"""
INIT = ("--user", "alice:agent", "--user", "bob:manager", "--customer", "cust_1")


def _plain(tmp_path: Path, padding: int = 0) -> Path:
    tmp_path.mkdir(exist_ok=True)
    main_file = tmp_path / "main.beancount"
    main_file.write_text(PLAIN + "".join(f"; note {i:06d} of a long ledger\n"
                                         for i in range(padding)))
    return main_file


def test_hole_init_on_a_full_disk_leaves_no_half_written_trial_copy(tmp_path: Path) -> None:
    """init with the disk full after its new file and part way through its trial copy
    of the ledger: the half-written `.main.beancount.init-check.beancount` was left
    beside the ledger; now every file is as it was."""
    main_file = _plain(tmp_path, padding=2000)  # ~64 KB: the trial copy is the big write
    before = files(tmp_path)
    result = full_disk(tmp_path, 30000, "init", "-f", str(main_file), *INIT)
    assert files(tmp_path) == before
    one_line_refusal(result)
    assert bean_check(main_file) == []


def test_hole_init_does_not_write_through_a_link_planted_at_its_trial_copy(
        tmp_path: Path) -> None:
    """A symlink named like init's trial copy, pointing at a file outside the
    ledger's folder: init wrote the ledger's text into that file; now it never
    opens a name it did not create, and the far file is untouched."""
    main_file = _plain(tmp_path / "books")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me\n")
    (tmp_path / "books" / ".main.beancount.init-check.beancount").symlink_to(victim)
    result = CliRunner().invoke(main, ["init", "-f", str(main_file), *INIT])
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b"keep me\n"
    assert bean_check(main_file) == []


def test_hole_init_on_a_large_ledger_leaves_no_cache_of_its_trial_copy(tmp_path: Path
                                                                       ) -> None:
    """init on a ledger that takes over a second to load: Beancount's loader pickled
    the trial copy's load beside it (`..main.beancount.init-check.beancount.picklecache`,
    as big as the ledger's own cache) and nothing removed it; now the trial copy is
    loaded uncached, and only the ledger, the new file and the locks remain."""
    main_file = _plain(tmp_path)
    with main_file.open("a") as out:
        for i in range(40000):
            out.write(f'2026-01-02 * "Sale {i}"\n  Assets:Bank  {i % 97 + 1}.00 USD\n'
                      "  Income:Sales\n\n")
    result = CliRunner().invoke(main, ["init", "-f", str(main_file), *INIT])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir() if "init-check" in p.name] == []


@pytest.mark.parametrize("step", ["new file", "trial load", "ledger"])
def test_holds_init_interrupted_at_each_step_leaves_every_file_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Ctrl-C while init writes its new file, loads its trial copy, or replaces the
    ledger: every file is as it was (no adjustments.beancount, no trial copy), and
    init run again sets the ledger up."""
    main_file = _plain(tmp_path)
    before = files(tmp_path)
    real_write = init_module.atomic_write
    real_loads = {name: getattr(init_module.loading, name)
                  for name in ("load_file", "load_uncached")}
    writes: list[Path] = []

    def write(target: Path, content: bytes) -> None:
        writes.append(target)
        if (step, len(writes)) in (("new file", 1), ("ledger", 2)):
            raise KeyboardInterrupt
        real_write(target, content)

    def stopping(name: str) -> object:
        def load(path: str) -> object:
            if step == "trial load" and "init-check" in str(path):
                raise KeyboardInterrupt
            return real_loads[name](path)
        return load

    monkeypatch.setattr(init_module, "atomic_write", write)
    for name in real_loads:
        monkeypatch.setattr(init_module.loading, name, stopping(name))
    stopped = CliRunner().invoke(main, ["init", "-f", str(main_file), *INIT])
    assert (stopped.exit_code, stopped.output.strip()) == (1, "Aborted!")
    monkeypatch.undo()
    assert files(tmp_path) == before
    result = CliRunner().invoke(main, ["init", "-f", str(main_file), *INIT])
    assert result.exit_code == 0, result.output
    assert bean_check(main_file) == []


def test_holds_two_inits_at_once_set_the_ledger_up_once(tmp_path: Path) -> None:
    """Two `init` at once on one ledger: one sets it up, the others refuse in one line
    (init runs once); one include line, and the ledger passes bean-check."""
    main_file = _plain(tmp_path)
    runs = [subprocess.Popen([sys.executable, "-c", f"{CLI}; main()", "init", "-f",
                              str(main_file), *INIT], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env())
            for _ in range(3)]
    outcomes = [(run.returncode, out, err)
                for run in runs for out, err in [run.communicate(timeout=120)]]
    assert sorted(code for code, _, _ in outcomes) == [0, 1, 1], outcomes
    for code, _, err in outcomes:
        if code:
            assert "init runs once" in err, err
            assert len(err.strip().splitlines()) == 1, err
    assert main_file.read_text().count('include "adjustments.beancount"') == 1
    assert bean_check(main_file) == []
    assert sorted(files(tmp_path)) == ["adjustments.beancount", "main.beancount"]


# -- notify's lock ------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from beancount_adjustments import notify
    with notify.locked(Path(sys.argv[1])):
        print("held", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_holds_a_notify_run_killed_holding_the_lock_does_not_block_the_next(
        tmp_path: Path) -> None:
    """A notify run SIGKILLed while it holds the state file's lock: the lock file stays
    but the lock dies with its holder, so the next run goes ahead at once."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE))
    state = tmp_path / ".bean-adjust-notify.json"
    holder = subprocess.run([sys.executable, "-c", HOLDER, str(state)], capture_output=True,
                            text=True, env=_env(), timeout=60, check=False)
    assert holder.returncode == -signal.SIGKILL
    assert holder.stdout == "held\n"
    assert (tmp_path / ".bean-adjust-notify.json.lock").exists()
    started = time.monotonic()
    result = CliRunner().invoke(main, ["notify", "-f", str(main_file), "--today", "2026-03-03"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30


def test_holds_two_notify_runs_at_once_send_each_notice_once(tmp_path: Path, hooks: Any
                                                             ) -> None:
    """Three `notify` runs started together: the state file's lock lets one send and
    the others find it recorded; bob is told once, and every run exits 0."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00")))
    runs = [subprocess.Popen([sys.executable, "-c", f"{CLI}; main()", "notify", "-f",
                              str(main_file), "--today", "2026-03-03"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env()) for _ in range(3)]
    outcomes = [(run.returncode, out, err)
                for run in runs for out, err in [run.communicate(timeout=120)]]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
    assert len(hooks.to("/bob")) == 1, hooks.received


CSV = """type,customer,amount,currency,reason,external-id,offset-account
credit:refund,cust_123,10.00,USD,Damaged,crm-1,Income:Sales:Returns
credit:refund,cust_456,12.00,USD,Late,crm-2,Income:Sales:Returns
credit:refund,cust_123,14.00,USD,Missing,crm-3,Income:Sales:Returns
"""


def test_holds_three_imports_of_one_csv_at_once_book_each_row_once(tmp_path: Path) -> None:
    """The same CSV imported three times at once (a retried cron job): each row is
    booked once under its own id, the later runs skip what is there, and the ledger
    passes bean-check."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE))
    rows = tmp_path / "rows.csv"
    rows.write_text(CSV)
    runs = [subprocess.Popen([sys.executable, "-c", f"{CLI}; main()", "import", "-f",
                              str(main_file), "--as", "alice", str(rows)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env()) for _ in range(3)]
    outcomes = [(run.returncode, out, err)
                for run in runs for out, err in [run.communicate(timeout=120)]]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
    assert bean_check(main_file) == []
    text = main_file.read_text()
    for key in ("crm-1", "crm-2", "crm-3"):
        assert text.count(f'external-id: "{key}"') == 1, text
    ids = re.findall(r"\^(ADJ-\d{4}-\d{4})", text)
    assert len(ids) == len(set(ids)) == 3, ids


def test_hole_an_import_planned_before_another_run_wrote_skips_its_rows(
        tmp_path: Path) -> None:
    """Hole (review s15): an import reads the ledger, another run of the same CSV
    writes the rows, then the first writes: the writer refused its rows as already
    recorded and the run failed (exit 1, one run in three of the test above). Planned
    again on the ledger as it is now, the rows are skipped, nothing is written twice,
    and the run succeeds."""
    from beancount_adjustments.intake.csv_import import import_csv
    from beancount_adjustments.intake.templates import LedgerContext

    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE))
    rows = tmp_path / "rows.csv"
    rows.write_text(CSV)
    stale = LedgerContext.load(main_file)
    first = import_csv(main_file, rows, user="alice")
    assert first.errors == [], first.errors
    assert first.result is not None
    after_first = main_file.read_bytes()
    late = import_csv(main_file, rows, user="alice", ctx=stale)
    assert late.errors == [], late.errors
    assert late.result is None
    assert len(late.plan.skipped) == 3, late.plan.skipped
    assert main_file.read_bytes() == after_first


KILLED_INIT = textwrap.dedent("""
    import os, signal, sys
    from beancount_adjustments.cli import init, main
    real, calls = init.atomic_write, []
    def write(target, content):
        calls.append(target)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        real(target, content)
    init.atomic_write = write
    sys.argv = ["bean-adjust", *sys.argv[1:]]
    main()
""")


def test_holds_init_killed_between_its_two_writes_is_said_and_undone_by_hand(
        tmp_path: Path) -> None:
    """init SIGKILLed after writing adjustments.beancount and before the ledger: the
    ledger is as it was and passes bean-check; the next init says in one line that
    the file is there but not included (remove it to start over), and after that
    init sets the ledger up."""
    main_file = _plain(tmp_path)
    before = main_file.read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILLED_INIT, "init", "-f", str(main_file),
                             *INIT], capture_output=True, text=True, env=_env(), timeout=120,
                            check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert main_file.read_bytes() == before
    assert bean_check(main_file) == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    again = cli("init", "-f", str(main_file), *INIT)
    line = one_line_refusal(again)
    assert "does not include it" in line
    (tmp_path / "adjustments.beancount").unlink()
    assert cli("init", "-f", str(main_file), *INIT).returncode == 0
    assert bean_check(main_file) == []


@pytest.mark.parametrize("mode", ["--baseline", "send"])
def test_hole_a_notify_state_file_that_is_a_file_of_the_ledger_is_refused(
        tmp_path: Path, hooks: Any, mode: str) -> None:
    """`notify --state-file more.beancount`, an included file that is still empty
    (read as an empty state): notify wrote its JSON into the ledger, which then
    failed bean-check; now it is refused in one line, before anything is sent."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(f"""
2026-01-01 custom "adjustment-channel" "bob" "json://127.0.0.1:{hooks.port}/bob"
""" + request("A-1", "2026-03-02", "-50.00")) + 'include "more.beancount"\n')
    (tmp_path / "more.beancount").write_text("")
    before = files(tmp_path)
    result = CliRunner().invoke(main, ["notify", "-f", str(main_file), "--today", "2026-03-03",
                                       "--state-file", str(tmp_path / "more.beancount"),
                                       *([mode] if mode != "send" else [])])
    assert files(tmp_path) == before
    assert bean_check(main_file) == []
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "is a file of the ledger" in result.output
    assert hooks.received == []


@pytest.mark.usefixtures("poll_watcher")
def test_holds_a_full_disk_under_favas_create_is_one_clean_http_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`POST create` (a ticket system filing a request) while the disk is full: a JSON
    error naming the file and the cause in one line, every file as it was, no
    temporary; the retry once there is room files it (201, not "existing")."""
    import errno
    import json

    from fava_env import BASE, CREATE_EXTRA, Env

    env = Env(tmp_path, extra=CREATE_EXTRA)
    before = env.snapshot()
    body = json.dumps({"customerId": "cust_123", "type": "credit:refund", "amount": "50.00",
                       "reason": "Damaged", "externalId": "crm-7"})
    real = os.write

    def full(fd: int, data: bytes) -> int:
        if fd > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    def create() -> Any:
        return env.client.post(BASE + "create", data=body, content_type="application/json",
                               headers={"X-Remote-User": "alice"})

    monkeypatch.setattr(os, "write", full)
    response = create()
    monkeypatch.undo()
    answer = response.get_json()
    assert response.status_code >= 400, answer
    assert "no space left" in answer["message"]
    assert "\n" not in answer["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert env.snapshot() == before
    assert not list(tmp_path.rglob("*.tmp"))
    again = create()
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["existing"] is False


SCHEDULED = """
2026-01-01 custom "adjustment-template" "goodwill"
  type: "credit:goodwill"
  amount: 10.00 USD
  offset-account: "Expenses:Goodwill"
  reason: "Goodwill {note}"
2026-01-01 custom "adjustment-schedule" "monthly" "goodwill"
  every: "month"
  start: 2026-03-01
  end: 2026-03-31
  customers: "cust_456"
  requested-by: "bob"
  note: "monthly"
"""


@pytest.mark.parametrize("args", [
    ["run-schedules", "--as", "alice", "--through", "2026-03-31"],
    ["from-template", "goodwill", "--as", "alice", "--customer", "cust_456", "-p",
     "note=once"],
    ["seal", "--as", "carol", "--date", "2026-03-31"],
], ids=lambda a: a[0])
def test_holds_schedules_templates_and_seals_on_a_full_disk_write_nothing(
        tmp_path: Path, args: list[str]) -> None:
    """`run-schedules`, `from-template` and `seal` (the ledger writes no round had
    filled the disk under), with every write past a few bytes failing: one line,
    exit 1, every file as it was."""
    main_file = tmp_path / "main.beancount"
    main_file.write_text(ledger(INVOICE + SCHEDULED))
    api.create(main_file, **REQUEST, as_user="alice")
    before = files(tmp_path)
    result = full_disk(tmp_path, 100, args[0], "-f", str(main_file), *args[1:])
    assert files(tmp_path) == before
    line = one_line_refusal(result)
    assert "nothing was written" in line
    assert bean_check(main_file) == []
