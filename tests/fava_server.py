"""A real Fava in a subprocess, for the end-to-end tests (a browser, or plain HTTP)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from fava_env import BASE
from receivers import free_port


def serve(ledger: Path) -> Iterator[tuple[str, Path]]:
    """Serve `ledger` with Fava on a free port; yields (the extension's URL, the
    ledger) once Fava answers, and stops Fava after."""
    port = free_port()
    fava_bin = Path(sys.executable).parent / "fava"
    proc = subprocess.Popen([str(fava_bin), "-H", "127.0.0.1", "-p", str(port), str(ledger)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(root + "/", timeout=2)
                break
            except OSError as exc:
                if proc.poll() is not None:
                    message = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(message) from exc
                time.sleep(0.2)
        yield root + BASE, ledger
    finally:
        proc.terminate()
        proc.wait(timeout=20)
