"""Quality gate: Great Expectations suites pushed down to SQL, and quarantine of every failing row.

The DAGs call two functions per target and logical date::

    outcome = validate("stg_public_security__household_registrations", logical_date)
    summary = quarantine_failures("stg_public_security__household_registrations", logical_date, outcome)
    if not outcome.success: ...  # a blocking expectation failed: do not publish

Importing this package is cheap; Great Expectations is imported only when a validation runs.
"""

from govlake.quality.quarantine import QuarantineError, QuarantineSummary, quarantine_failures
from govlake.quality.suites import Suite, SuiteError, get_suite, load_suites
from govlake.quality.validate import RuleResult, ValidationOutcome, validate

__all__ = [
    "QuarantineError",
    "QuarantineSummary",
    "RuleResult",
    "Suite",
    "SuiteError",
    "ValidationOutcome",
    "get_suite",
    "load_suites",
    "quarantine_failures",
    "validate",
]
