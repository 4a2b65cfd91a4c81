"""The cyclic collector paused while a large ledger is loaded or judged.

Loading and judging make millions of small acyclic objects that live as long
as the ledger (reference counting frees a dropped load: neither Beancount's
load nor the replay leaves a cycle). With the collector running, each full
collection during a load sweeps everything made so far, and the one the
load leaves due falls in whatever runs next (Fava's first page after a
reload): on the 100k-transaction benchmark, 4-7 s of an 18-20 s reload and
its page. Paused, what was made goes to the oldest generation at the end
(`_promote_to_old_generation`) and is swept no more often than it would be
had it been there all along.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Cyclic GC off inside, on again after (unless it was off already: then an
    enclosing pause, or the host, turns it back on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _promote_to_old_generation()
            gc.enable()


def _promote_to_old_generation() -> None:
    """Move the objects made since the last collection to the oldest generation.

    Left in the young generation, the first collections after the pause sweep
    all of it, and promoting it triggers one more full collection: on the
    100k-transaction benchmark that cost more than the plugin's pass itself
    (0.25 s, 0.28 s and 0.78 s). `freeze` then `unfreeze` moves every tracked
    object to the oldest generation without sweeping it; they are collected
    as usual from there. Skipped when the host froze objects of its own (a
    pre-fork server), which `unfreeze` would release.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
