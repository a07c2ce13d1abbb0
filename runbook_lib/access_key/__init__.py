"""S2 — an access key for an IAM user: created once, delivered once, rotated safely.

The notebook ``02_create_access_key`` calls these verbs in this order:
``check_request`` → ``ensure_access_key`` → ``show_key`` → ``deliver_key`` → ``retire_old_key``
→ ``verify``.
"""

from runbook_lib.access_key.handover import deliver_key, retire_old_key, show_key
from runbook_lib.access_key.handover import verify_access_key as verify
from runbook_lib.access_key.request import check_request
from runbook_lib.access_key.steps import ensure_access_key

__all__ = [
    "check_request",
    "deliver_key",
    "ensure_access_key",
    "retire_old_key",
    "show_key",
    "verify",
]
