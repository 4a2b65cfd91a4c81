"""Alerts delivered: the risk findings whose directive names recipients (`notify:`)
become notices, keyed `alert:<finding key>:<recipient>`, so each is sent once even as
the finding grows. `open_alerts` is what Fava's pages list.
"""

from __future__ import annotations

import datetime

from beancount_adjustments.core.book import Book
from beancount_adjustments.core.models import OPEN_STATES
from beancount_adjustments.core.risk import ARRIVAL_CHECKS
from beancount_adjustments.notify.notices import Notice
from beancount_adjustments.reports import risk


def recipients(book: Book, names: tuple[str, ...], today: datetime.date) -> list[str]:
    """`notify:` names as recipients: a role is its holders and its own channels (as for
    escalations), `*` everyone holding a role."""
    directory = book.directory
    out: list[str] = []
    for name in names:
        if name == "*":
            out += [u for u in sorted(directory.grants) if directory.roles_on(u, today)]
        elif name.startswith("role:"):
            out += [*directory.users_with_role(name[5:], today), name]
        else:
            out.append(name)
    return list(dict.fromkeys(out))


def alert_notices(book: Book, today: datetime.date,
                  found: list[risk.Finding] | None = None) -> list[Notice]:
    """A notice to each recipient of each finding sent to anyone, in a stable order."""
    out: list[Notice] = []
    for finding in risk.findings(book, today) if found is None else found:
        if not finding.notify:
            continue
        ids = ", ".join(finding.ids)
        for recipient in recipients(book, finding.notify, today):
            out.append(Notice(
                key=f"alert:{finding.key}:{recipient}", kind="alert", recipient=recipient,
                adjustment_id=finding.ids[0], date=finding.date or today,
                subject=f"[alert] {finding.check}: {finding.subject}",
                body=f"{finding.message}\n\nAdjustments: {ids}\n"
                     f"See them with: bean-adjust risk --check {finding.check}"))
    out.sort(key=lambda n: (n.date, n.key))
    return out


def is_alert(finding: risk.Finding) -> bool:
    """A threshold alert, an arrival finding, or a finding its directive sends."""
    return (finding.check.startswith("alert:") or finding.check in ARRIVAL_CHECKS
            or bool(finding.notify))


def open_alerts(book: Book, today: datetime.date) -> list[risk.Finding]:
    """The alerts with an adjustment still awaiting a decision or an action: what a
    reviewer can still act on."""
    still_open = {a.id for a in book.in_state(*OPEN_STATES)}
    return [f for f in risk.findings(book, today, among=still_open) if is_alert(f)]
