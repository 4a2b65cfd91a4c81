"""The one writer: every change any tool makes to a ledger goes through here.

Callers describe what to add (`NewRequest`, `Decision`) and call
`write_requests` or `write_decisions` (`write_seal` for the next seal);
README's "One writer" is the manual.
A write, in order (`write._write`, and the module named):

1. choose the target file (`target.resolve_target`);
2. lock the ledger's root and the target (`target.ledger_locked`);
3. read and hash the target once, and check it did not change
   (`expected_sha256`);
4. load the ledger once under the lock, or reuse the caller's `loaded=`
   snapshot while its files are unchanged, the target's bytes read in 3
   standing for it (`write`);
5. render the entries, refusing what the book cannot see (`items`); decisions
   of one write on one adjustment are judged against each other (`batch`);
6. judge them as the plugin and Beancount will (`judging`);
7. write atomically (`files.atomic_write`): those bytes, then the new block.
"""

from beancount_adjustments.writer.ids import next_id
from beancount_adjustments.writer.items import request_meta
from beancount_adjustments.writer.ledger import stamp_of, written_today
from beancount_adjustments.writer.results import (
    USER_ENV,
    Decision,
    NewRequest,
    Refusal,
    WriteRefused,
    WriteResult,
)
from beancount_adjustments.writer.target import (
    DEFAULT_TARGET_NAME,
    TARGET_ENV,
    file_sha256,
    resolve_target,
)
from beancount_adjustments.writer.write import (
    FromLedger,
    write_decisions,
    write_requests,
    write_seal,
)

__all__ = [
    "DEFAULT_TARGET_NAME",
    "TARGET_ENV",
    "USER_ENV",
    "Decision",
    "FromLedger",
    "NewRequest",
    "Refusal",
    "WriteRefused",
    "WriteResult",
    "file_sha256",
    "next_id",
    "request_meta",
    "resolve_target",
    "stamp_of",
    "write_decisions",
    "write_requests",
    "write_seal",
    "written_today",
]
