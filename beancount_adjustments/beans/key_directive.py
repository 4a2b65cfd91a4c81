"""Reading `custom "adjustment-key"` directives."""

from __future__ import annotations

from beancount.core import data

from beancount_adjustments.beans.metadata import MetaReader, source_of
from beancount_adjustments.core.signatures import KEY, PublicKey, parse_public_key


def read_key(reader: MetaReader, entry: data.Custom) -> PublicKey | None:
    """A `custom "adjustment-key" USER KEY` entry, or None and a problem."""
    source = source_of(entry)
    values = reader.strings(entry, source, f'custom "{KEY}"')
    if values is None:
        return None
    if len(values) != 2:
        reader.problem("malformed-directive", source,
                       f'custom "{KEY}" takes a user and a base64 Ed25519 public key: '
                       f'custom "{KEY}" "bob" "<key>" (bean-adjust keygen prints it).')
        return None
    if parse_public_key(values[1]) is None:
        reader.problem("malformed-directive", source,
                       f'custom "{KEY}" for {values[0]}: {values[1]!r} is not a base64 '
                       "Ed25519 public key (32 bytes); bean-adjust keygen prints a valid one.")
        return None
    return PublicKey(date=entry.date, user=values[0], key=values[1],
                                     source=source)
