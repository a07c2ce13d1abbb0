"""S0 — stop using the root user: root hygiene, read-only.

The notebook ``00_check_root_usage`` calls these verbs in this order:
``show_root_usage`` → ``verify``.
"""

from runbook_lib.root_usage.checks import RootReport
from runbook_lib.root_usage.checks import root_hygiene as show_root_usage
from runbook_lib.root_usage.checks import verify_report as verify

__all__ = ["RootReport", "show_root_usage", "verify"]
