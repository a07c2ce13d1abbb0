"""S5 Steps 1–3: check every input, then read the credentials in scope and decide; no change.

``check_request`` returns the plan: every access key and console password in scope with its
action (deactivate, remove, keep) and the evidence, each also recorded as a finding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from runbook_lib.access_key.rotation import validate_days
from runbook_lib.core.context import RunContext
from runbook_lib.core.markers import utc_now
from runbook_lib.core.validation import validate_choice, validate_user_name
from runbook_lib.unused_credentials.findings import record_credential
from runbook_lib.unused_credentials.state import (
    CleanupPlan,
    Credential,
    key_in_use,
    read_users,
    user_credentials,
)

SCOPES = ("user", "account")
DEFAULT_UNUSED_DAYS = 45


def check_inputs(
    user_name: str, *, cleanup_scope: str = "user", unused_days: int = DEFAULT_UNUSED_DAYS
) -> str:
    """The checks of ``check_request`` that need no AWS call: the host runs them before a
    kernel starts (``run.precheck``), the kernel again in Step 1.

    Returns:
        The scope.

    Raises:
        BadInput: an unknown scope, a bad number of days or user name.
    """
    scope = validate_choice(cleanup_scope, SCOPES, "cleanup_scope")
    validate_days(unused_days, "unused_days", DEFAULT_UNUSED_DAYS)
    if scope == "user":
        validate_user_name(user_name)
    return scope


def check_request(
    ctx: RunContext,
    user_name: str,
    *,
    cleanup_scope: str = "user",
    unused_days: int = DEFAULT_UNUSED_DAYS,
    now: datetime | None = None,
) -> CleanupPlan:
    """Steps 1–3: check the input, read every credential in scope and decide; makes no change.

    Args:
        ctx: the run context.
        user_name: the user whose credentials are checked (scope ``user``).
        cleanup_scope: ``user`` or ``account`` (every IAM user; ``user_name`` is not used).
        unused_days: a credential idle this many whole days or more is unused.
        now: the run's time (default: now, UTC); tests pass a fixed one.

    Returns:
        The plan: each credential with its action and the evidence.

    Raises:
        BadInput: a bad parameter or an unknown user.
        AwsError: IAM refused a read.
    """
    scope = check_inputs(user_name, cleanup_scope=cleanup_scope, unused_days=unused_days)
    who = user_name if scope == "user" else ""
    plan = CleanupPlan(scope, who, unused_days, (), ctx.plan, now or utc_now())
    in_use = key_in_use(ctx)
    found: list[Credential] = []
    for user in read_users(ctx, scope, user_name):
        found += user_credentials(ctx, user, plan, in_use)
    plan = replace(plan, credentials=tuple(found))
    for cred in plan.credentials:
        record_credential(ctx, cred, done=False)
    return plan
