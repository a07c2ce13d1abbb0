"""S5 — clean up unused credentials: deactivate access keys and remove console passwords that
nobody used for ``unused_days`` (CIS 1.12), never the caller's own.

The notebook ``05_clean_up_unused_credentials`` calls these verbs in this order:
``check_request`` → ``ensure_disabled`` → ``verify``.
"""

from runbook_lib.unused_credentials.apply import ensure_disabled
from runbook_lib.unused_credentials.request import check_request
from runbook_lib.unused_credentials.verify import verify

__all__ = [
    "check_request",
    "ensure_disabled",
    "verify",
]
