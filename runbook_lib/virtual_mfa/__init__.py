"""S3 — enable a virtual MFA device for an IAM user.

The notebook ``03_enable_virtual_mfa`` calls these verbs in this order:
``check_request`` → ``ensure_virtual_device`` → ``show_device`` → ``ensure_assigned`` →
``ensure_self_manage_policy`` → ``verify``.
"""

from runbook_lib.virtual_mfa.apply import ensure_assigned
from runbook_lib.virtual_mfa.device import ensure_virtual_device
from runbook_lib.virtual_mfa.live import show_device
from runbook_lib.virtual_mfa.policy import ensure_self_manage_policy
from runbook_lib.virtual_mfa.request import check_request
from runbook_lib.virtual_mfa.verify import verify

__all__ = [
    "check_request",
    "ensure_assigned",
    "ensure_self_manage_policy",
    "ensure_virtual_device",
    "show_device",
    "verify",
]
