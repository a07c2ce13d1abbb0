"""S5 Verify: read the credentials back from IAM; none the plan marked unused is still usable.

A credential Step 4 kept because it was used since the plan is not a failure.
"""

from __future__ import annotations

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.result import StepResult
from runbook_lib.unused_credentials.apply import used_since
from runbook_lib.unused_credentials.state import KEY, CleanupPlan


def verify(ctx: RunContext, plan: CleanupPlan) -> StepResult:
    """Verify: no credential the plan marked unused is still usable.

    Raises:
        VerifyFailed: a key to deactivate is still Active, or a password still exists.
    """
    if ctx.plan:
        return StepResult("Plan mode: nothing was changed, so there is nothing to verify.")
    users = sorted({c.user_name for c in plan.to_change})
    for user in users:
        active = {
            k["AccessKeyId"]
            for k in aws.items(
                ctx.iam,
                "list_access_keys",
                "AccessKeyMetadata",
                what=f"Reading the access keys of '{user}'",
                fix="The caller needs iam:ListAccessKeys.",
                UserName=user,
            )
            if k["Status"] == "Active"
        }
        profile = aws.call(
            ctx.iam.get_login_profile,
            what=f"Reading the login profile of '{user}'",
            fix="The caller needs iam:GetLoginProfile.",
            missing=("NoSuchEntity",),
            UserName=user,
        )
        for cred in (c for c in plan.to_change if c.user_name == user):
            still = cred.key_id in active if cred.kind == KEY else profile is not None
            if still and used_since(ctx, plan, cred):
                continue  # kept in Step 4: used since the plan
            if still:
                raise VerifyFailed(
                    f"{cred.name} is still usable although unused ({cred.why}): re-run "
                    "05_clean_up_unused_credentials (Step 4 repeats only what is left)."
                )
    n = len(plan.to_change)
    return StepResult(
        f"{n} unused credential(s) checked: none is usable any more."
        if n
        else "Nothing was to change; nothing to verify."
    )
