"""S4 — set the account password policy (an addition to the procedure's S0-S3).

The notebook ``04_set_password_policy`` calls these verbs in this order:
``check_request`` → ``show_plan`` → ``ensure_policy`` → ``verify``.
"""

from runbook_lib.password_policy.apply import ensure_policy
from runbook_lib.password_policy.plan import show_plan
from runbook_lib.password_policy.request import check_request
from runbook_lib.password_policy.verify import verify

__all__ = [
    "check_request",
    "ensure_policy",
    "show_plan",
    "verify",
]
