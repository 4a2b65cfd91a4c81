"""The public Python API (README, "Python API"): file, decide on and read
adjustments from code, every change through the one writer.

`results` holds what it returns and raises, `arguments` the checks on what a
caller passes, `reading` and `writing` the calls, `bodies` the JSON fields
Fava's endpoint accepts. Users import this package: its names are below.
"""

from beancount_adjustments.api.bodies import create_fields
from beancount_adjustments.api.reading import filters_of, find, get, list
from beancount_adjustments.api.results import STATUS, Adjustment, ApiError
from beancount_adjustments.api.writing import apply, approve, cancel, create, reject

__all__ = ["STATUS", "Adjustment", "ApiError", "apply", "approve", "cancel", "create",
           "create_fields", "filters_of", "find", "get", "list", "reject"]
