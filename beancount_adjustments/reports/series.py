"""The trends rows as the charts' series, one value per month from the first month to
the last (months with no request as zero): what the Fava reports page and the CLI's
HTML report chart, drawn by `charts.trend_charts` and the page's decision chart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount_adjustments.core.models import Kind
from beancount_adjustments.reports.tables import TrendRow


@dataclass(frozen=True, slots=True)
class TrendSeries:
    months: list[str]
    by_kind: dict[str, list[int]]
    """Requests per month, by kind (credit, debit, billing: the stack's order)."""
    requested: dict[str, list[Decimal]]
    applied: dict[str, list[Decimal]]
    decided: list[int]
    days_to_decision: list[Decimal | None]
    """`decision_days / decided` of the month, None with no decision."""
    approval_rate: list[Decimal | None]
    """`approved / decided` of the month in percent, None with no decision."""


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (`YYYY-MM`), those with no rows too."""
    out: list[str] = []
    year, mon = int(first[:4]), int(first[5:])
    while f"{year:04d}-{mon:02d}" <= last:
        out.append(f"{year:04d}-{mon:02d}")
        mon += 1
        if mon == 13:
            year, mon = year + 1, 1
    return out


def _ratio(part: int, whole: int, scale: int = 1) -> Decimal | None:
    return (Decimal(scale * part) / whole).quantize(Decimal("0.1")) if whole else None


def trend_series(rows: Sequence[TrendRow]) -> TrendSeries:
    if not rows:
        return TrendSeries([], {}, {}, {}, [], [], [])
    months = months_between(min(r.month for r in rows), max(r.month for r in rows))
    slot = {m: i for i, m in enumerate(months)}
    n = len(months)
    kinds = [k.value for k in Kind if any(r.kind == k.value for r in rows)]
    by_kind: dict[str, list[int]] = {k: [0] * n for k in kinds}
    requested: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * n)
    applied: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * n)
    decided, approved, days = [0] * n, [0] * n, [0] * n
    for r in rows:
        i = slot[r.month]
        by_kind.setdefault(r.kind, [0] * n)[i] += r.requested
        if r.currency:  # an invalid request has no amount
            requested[r.currency][i] += r.requested_amount
            applied[r.currency][i] += r.applied_amount
        decided[i] += r.decided
        approved[i] += r.approved
        days[i] += r.decision_days
    return TrendSeries(months=months, by_kind=by_kind, requested=dict(requested),
                       applied=dict(applied), decided=decided,
                       days_to_decision=[_ratio(days[i], decided[i]) for i in range(n)],
                       approval_rate=[_ratio(approved[i], decided[i], 100) for i in range(n)])
