"""S1 — create the Administrator IAM user in the Administrators group.

The notebook ``01_create_admin_user`` calls these verbs in this order:
``billing_access`` → ``check_request`` → ``find_users`` → ``find_groups`` → ``review_tags`` →
``review_and_create`` → ``deliver_sign_in`` → ``verify``.
"""

from runbook_lib.admin_user.apply import review_and_create
from runbook_lib.admin_user.billing import billing_access
from runbook_lib.admin_user.request import check_request
from runbook_lib.admin_user.signin import deliver_sign_in
from runbook_lib.admin_user.state import find_groups, find_users, review_tags
from runbook_lib.admin_user.verify import verify

__all__ = [
    "billing_access",
    "check_request",
    "deliver_sign_in",
    "find_groups",
    "find_users",
    "review_and_create",
    "review_tags",
    "verify",
]
