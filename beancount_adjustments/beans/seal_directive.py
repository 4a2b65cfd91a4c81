"""Reading and writing `custom "adjustment-seal"` directives."""

from __future__ import annotations

from decimal import Decimal

from beancount.core import data

from beancount_adjustments.beans.metadata import MetaReader, source_of
from beancount_adjustments.core.seals import SEAL, Seal, SealPlan


def read_seal(reader: MetaReader, entry: data.Custom) -> Seal | None:
    """A `custom "adjustment-seal" HASH` entry, or None and a problem."""
    source = source_of(entry)
    what = f'custom "{SEAL}"'
    values = reader.strings(entry, source, what)
    if values is None:
        return None
    if len(values) != 1 or len(values[0]) != 64 or any(
            c not in "0123456789abcdef" for c in values[0]):
        reader.problem("malformed-directive", source,
                       f"{what} takes one value, the 64-hex-digit hash that "
                       "`bean-adjust seal` computes.")
        return None
    count = entry.meta.get("count")
    if count is not None and not (isinstance(count, Decimal) and count >= 0
                                  and count == count.to_integral_value()):
        reader.problem("malformed-directive", source,
                       f"{what}: `count:` must be a whole number, not {count!r}.")
        return None
    fingerprints = reader.text(entry.meta, "fingerprints", source, what)
    return Seal(date=entry.date, hash=values[0],
                 by=reader.text(entry.meta, "by", source, what),
                 count=int(count) if count is not None else None,
                 fingerprints=fingerprints, source=source)


def render_seal(plan: SealPlan) -> str:
    """The directive text for `plan`."""
    escaped = plan.by.replace("\\", "\\\\").replace('"', '\\"')
    text = (f'{plan.date.isoformat()} custom "{SEAL}" "{plan.hash}"\n'
            f'  by: "{escaped}"\n'
            f"  count: {plan.count}\n")
    if plan.fingerprints:
        text += f'  fingerprints: "{plan.fingerprints}"\n'
    return text
