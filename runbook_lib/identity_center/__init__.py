"""S6 — an administrator through IAM Identity Center: user → group → permission set → accounts.

The notebook ``06_identity_center_admin`` calls these verbs in this order:
``check_request`` → ``find_instance`` → ``ensure_user`` → ``ensure_group`` →
``ensure_permission_set`` → ``ensure_assignments`` → ``password_setup`` → ``mfa_registration``
→ ``show_portal`` → ``verify``.
"""

from runbook_lib.identity_center.apply import (
    ensure_assignments,
    ensure_group,
    ensure_permission_set,
    ensure_user,
)
from runbook_lib.identity_center.live import mfa_registration, password_setup, show_portal
from runbook_lib.identity_center.request import check_request
from runbook_lib.identity_center.state import find_instance
from runbook_lib.identity_center.verify import verify

__all__ = [
    "check_request",
    "ensure_assignments",
    "ensure_group",
    "ensure_permission_set",
    "ensure_user",
    "find_instance",
    "mfa_registration",
    "password_setup",
    "show_portal",
    "verify",
]
