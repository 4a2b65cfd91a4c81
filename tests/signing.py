"""Signing in the tests: a key for each signer, their `adjustment-key` lines,
approvals signed over the digest the plugin computes, and `bean-adjust seal`."""

from __future__ import annotations

import datetime
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from beancount_adjustments.cli import main
from beancount_adjustments.core import signatures
from beancount_adjustments.writer.files import create_new
from ledgers import event, load

KEYS = {name: Ed25519PrivateKey.generate() for name in ("bob", "erin", "mallory")}


def write_key(path: Path, key: Ed25519PrivateKey) -> None:
    """The key as PEM at `path`, as `bean-adjust keygen` writes it (0600, never over
    a file there)."""
    create_new(path, signatures.private_pem(key), mode=0o600)


def key_lines(*names: str, date: str = "2026-01-01") -> str:
    """The `adjustment-key` directives registering each named user's key."""
    return "".join(f'{date} custom "adjustment-key" "{n}" "{signatures.public_b64(KEYS[n])}"\n'
                   for n in names)


def digests(text: str) -> dict[str, str]:
    """Each adjustment's digest in the ledger `text` (on the standard preamble)."""
    loaded = load(text)
    assert loaded.book is not None
    return {k: a.digest for k, a in loaded.book.adjustments.items()}


def signed(adj_id: str, date: str, by: str, digest: str, *, key: str | None = None,
           action: str = "approve") -> str:
    """`by`'s event carrying `digest`, signed with `key`'s key (`by`'s own by default)."""
    signature = signatures.sign_with(KEYS[key or by], adj_id, action, by,
                                     datetime.date.fromisoformat(date), digest)
    return event(adj_id, date, action, by, digest=digest, signature=signature)


def seal(path: Path, date: str, user: str = "carol") -> None:
    """Seal the ledger at `path` through `date` as `user`, with the CLI."""
    result = CliRunner().invoke(main, ["seal", "-f", str(path), "--as", user,
                                       "--date", date])
    assert result.exit_code == 0, result.output
    assert "sealed" in result.output
