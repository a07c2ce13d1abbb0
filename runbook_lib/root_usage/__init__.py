"""S0 — stop using the root user, and audit IAM against CIS AWS Foundations v4.0.0 (read-only).

The notebook ``00_check_root_usage`` calls these verbs in this order:
``check_request`` → ``show_audit`` → ``verify``.
"""

from runbook_lib.root_usage.audit import show_audit
from runbook_lib.root_usage.request import check_request
from runbook_lib.root_usage.result import AuditReport, CheckResult
from runbook_lib.root_usage.verify import verify

__all__ = ["AuditReport", "CheckResult", "check_request", "show_audit", "verify"]
