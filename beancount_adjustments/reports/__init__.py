"""Reports: what reads the book. Report tables (`tables`, the auditor's in
`evidence`, what they select in `scope`) and their renderers
(`renderers`, one module per format), queries, exports, statements, charts and
`check --since` (`history`). The names below are the package's public API.
"""

from beancount_adjustments.reports.evidence import AuditRow, ComplianceRow, audit, compliance
from beancount_adjustments.reports.renderers import FORMATS, columns_of, render, report_text
from beancount_adjustments.reports.scope import Scope, as_of_day
from beancount_adjustments.reports.tables import (
    MODELS,
    REPORTS,
    Booking,
    EffectRow,
    ImpactRow,
    SummaryRow,
    TrendRow,
    bookings,
    build,
    effects,
    impact,
    summary,
    trends,
)

__all__ = [
    "FORMATS",
    "MODELS",
    "REPORTS",
    "AuditRow",
    "Booking",
    "ComplianceRow",
    "EffectRow",
    "ImpactRow",
    "Scope",
    "SummaryRow",
    "TrendRow",
    "as_of_day",
    "audit",
    "bookings",
    "build",
    "columns_of",
    "compliance",
    "effects",
    "impact",
    "render",
    "report_text",
    "summary",
    "trends",
]
