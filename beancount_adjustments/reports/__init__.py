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
    ImpactRow,
    SummaryRow,
    TrendRow,
    build,
    impact,
    summary,
    trends,
)

__all__ = [
    "FORMATS",
    "MODELS",
    "REPORTS",
    "AuditRow",
    "ComplianceRow",
    "ImpactRow",
    "Scope",
    "SummaryRow",
    "TrendRow",
    "as_of_day",
    "audit",
    "build",
    "columns_of",
    "compliance",
    "impact",
    "render",
    "report_text",
    "summary",
    "trends",
]
