"""S1 — create the Administrator IAM user in the Administrators group.

The notebook ``01_create_admin_user`` calls these verbs in this order:
``billing_access`` → ``check_request`` → ``find_users`` → ``find_groups`` → ``review_tags`` →
``review_and_create`` → ``deliver_sign_in`` → ``verify``.
"""

from runbook_lib.admin_user.outcome import Created
from runbook_lib.admin_user.steps import (
    billing_access,
    check_request,
    deliver_sign_in,
    find_groups,
    find_users,
    review_and_create,
    review_tags,
)
from runbook_lib.admin_user.steps import verify as verify_admin
from runbook_lib.admin_user.verify import Verified
from runbook_lib.core.context import RunContext

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


def verify(ctx: RunContext, created: Created) -> Verified | None:
    """``steps.verify``; in a live notebook Create and "I have done this" refresh it in place
    (``widgets.live``)."""
    from runbook_lib.widgets.live import live_result

    return live_result("verify", lambda: verify_admin(ctx, created), record=ctx.record)
