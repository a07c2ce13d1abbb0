"""S5 Step 4, the writes: deactivate unused access keys, remove unused console passwords.

Each write stands alone and is safe to repeat: a run that dies after some of them is finished
by a re-run, which finds the done ones Inactive (or gone) and leaves them be. Just before each
write the credential's last use is read again, so a key used since Step 3 is kept.
"""

from __future__ import annotations

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.result import StepResult
from runbook_lib.unused_credentials.findings import STEP, record_credential, record_outcome
from runbook_lib.unused_credentials.state import DEACTIVATE, KEY, CleanupPlan, Credential, judge

_FIX = "The caller needs iam:UpdateAccessKey and iam:DeleteLoginProfile."


def used_since(ctx: RunContext, plan: CleanupPlan, cred: Credential) -> str:
    """Evidence that the credential was used within ``unused_days`` since Step 3, or ``""``."""
    if cred.kind == KEY:
        found = aws.call(
            ctx.iam.get_access_key_last_used,
            what=f"Reading the last use of {cred.key_id}",
            fix="The caller needs iam:GetAccessKeyLastUsed.",
            missing=("NoSuchEntity",),
            AccessKeyId=cred.key_id,
        )
        used = found["AccessKeyLastUsed"].get("LastUsedDate") if found else None
    else:
        user = aws.call(
            ctx.iam.get_user,
            what=f"Reading user '{cred.user_name}'",
            fix="The caller needs iam:GetUser.",
            missing=("NoSuchEntity",),
            UserName=cred.user_name,
        )
        used = user["User"].get("PasswordLastUsed") if user else None
    if used is None:
        return ""
    unused, said = judge(used, None, plan.now, plan.unused_days)
    return "" if unused else f"used since the plan ({said.replace('created', 'on')})"


def _act(ctx: RunContext, plan: CleanupPlan, cred: Credential) -> str:
    """Deactivate the key or remove the password; what was done, in words."""
    recent = used_since(ctx, plan, cred)
    if recent:
        record_outcome(ctx, cred, "kept", recent)
        return f"Kept {cred.name}: {recent}."
    if cred.action == DEACTIVATE:
        done = aws.call(
            ctx.iam.update_access_key,
            what=f"Deactivating the unused key {cred.key_id}",
            fix=_FIX,
            missing=("NoSuchEntity",),
            UserName=cred.user_name,
            AccessKeyId=cred.key_id,
            Status="Inactive",
        )
        change, verb = "deactivate-access-key", "Deactivated"
    else:
        done = aws.call(
            ctx.iam.delete_login_profile,
            what=f"Removing the unused console password of '{cred.user_name}'",
            fix=_FIX,
            missing=("NoSuchEntity",),
            UserName=cred.user_name,
        )
        change, verb = "delete-login-profile", "Removed"
    if done is None:
        record_outcome(ctx, cred, "gone", "deleted since Step 3")
        return f"{cred.name} is gone already (deleted since Step 3)."
    ctx.record.change(change, cred.resource)
    record_credential(ctx, cred, done=True, note=verb.lower())
    record_outcome(ctx, cred, verb.lower())
    return f"{verb} {cred.name}: {cred.why}."


def ensure_disabled(ctx: RunContext, plan: CleanupPlan) -> StepResult:
    """Step 4: deactivate each unused key, remove each unused console password; safe to re-run.

    Raises:
        AwsError: IAM refused a write (the ones before it are done; a re-run finishes).
    """
    todo = plan.to_change
    if ctx.plan:
        for c in todo:
            change = "deactivate-access-key" if c.action == DEACTIVATE else "delete-login-profile"
            ctx.record.would(STEP, change, c.resource, why=c.why)
        lines = [f"Plan mode: {c.describe(True)}." for c in todo]
        return StepResult("\n".join(lines) or "Plan mode: nothing to deactivate or remove.")
    if not todo:
        return StepResult(
            f"Nothing to do: no credential in scope is unused for {plan.unused_days} days or more."
        )
    lines = [_act(ctx, plan, c) for c in todo]
    lines.append(
        "A deactivated key can be re-activated to roll back (aws iam update-access-key "
        "--status Active); a removed password is gone: S1 sets a new one."
    )
    return StepResult("\n".join(lines))
