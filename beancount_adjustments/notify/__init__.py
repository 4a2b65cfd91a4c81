"""Notifications: who should hear what, derived from the book, delivered at least once.

`notices` derives the staff notices (customer notices and alerts in `customers`,
`alerts`); `channels` and `secrets` say where they may go; `delivery` plans and
sends them through `state`; `revision` is `--since REV`. The user manual is
docs/notify.md. The names below are the package's public API.
"""

from beancount_adjustments.core.notice_lines import Channel
from beancount_adjustments.notify.channels import ChannelError, read_config
from beancount_adjustments.notify.delivery import (
    Delivery,
    Outcome,
    Unsettled,
    apprise_send,
    plan,
    run,
)
from beancount_adjustments.notify.notices import Notice, notice_id, notices
from beancount_adjustments.notify.revision import book_at_revision
from beancount_adjustments.notify.secrets import literal_secret
from beancount_adjustments.notify.state import SentState, locked

__all__ = [
    "Channel",
    "ChannelError",
    "Delivery",
    "Notice",
    "Outcome",
    "SentState",
    "Unsettled",
    "apprise_send",
    "book_at_revision",
    "literal_secret",
    "locked",
    "notice_id",
    "notices",
    "plan",
    "read_config",
    "run",
]
