"""S4 Steps 4-6: set the account password policy, only if it differs.

One write, ``UpdateAccountPasswordPolicy``, with every setting (IAM resets the ones left out).
A re-run finds the policy in place and makes no write; plan mode makes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.password_policy.plan import API_NAMES, PolicyPlan
from runbook_lib.password_policy.state import PasswordPolicy, describe

CHANGE = "update-account-password-policy"


def resource(account_id: str) -> str:
    """How the run record names the account password policy (it has no ARN)."""
    return f"account {account_id} password policy"


def api_parameters(policy: PasswordPolicy) -> dict[str, Any]:
    """The UpdateAccountPasswordPolicy request for ``policy``: every setting, every time.

    IAM resets any setting left out to its default, so nothing is left out except the two
    that IAM can only express by their absence (no expiry, no reuse prevention).
    """
    params: dict[str, Any] = {
        "MinimumPasswordLength": policy.minimum_password_length,
        "RequireSymbols": policy.require_symbols,
        "RequireNumbers": policy.require_numbers,
        "RequireUppercaseCharacters": policy.require_uppercase_characters,
        "RequireLowercaseCharacters": policy.require_lowercase_characters,
        "AllowUsersToChangePassword": policy.allow_users_to_change_password,
        "HardExpiry": policy.hard_expiry,
    }
    if policy.max_password_age:
        params["MaxPasswordAge"] = policy.max_password_age
    if policy.password_reuse_prevention:
        params["PasswordReusePrevention"] = policy.password_reuse_prevention
    return params


@dataclass(frozen=True)
class PasswordPolicyOutcome:
    """What Steps 4-6 did: ``set``, ``already in place`` or ``would be set (plan mode)``."""

    plan: PolicyPlan
    status: str

    def __repr__(self) -> str:
        return _("Password policy {status}: {policy}").format(
            status=_(self.status), policy=describe(self.plan.wanted)
        )


def ensure_policy(ctx: RunContext, plan: PolicyPlan) -> PasswordPolicyOutcome:
    """Set the requested password policy unless the account already has it (Steps 4-6).

    Args:
        ctx: the run context.
        plan: the result of ``show_plan``.

    Returns:
        What was done.

    Raises:
        AwsError: IAM refused the write (e.g. ``AccessDenied``, ``ValidationError``); nothing
            changed, and a re-run tries again.
    """
    if not plan.changes:
        return PasswordPolicyOutcome(plan, N_("already in place (no change)"))
    if ctx.plan:
        changing = ", ".join(API_NAMES.get(name, name) for name in plan.changes)  # as changes
        ctx.record.would("S4.4-6", CHANGE, resource(ctx.account_id), settings=changing)
        return PasswordPolicyOutcome(plan, N_("would be set (plan mode, no change)"))
    aws.call(
        ctx.iam.update_account_password_policy,
        what="Setting the account password policy",
        fix="The caller needs iam:UpdateAccountPasswordPolicy; fix the permission or the "
        "parameter IAM names, then re-run.",
        **api_parameters(plan.wanted),
    )
    changed = ", ".join(API_NAMES.get(name, name) for name in plan.changes)
    ctx.record.change(CHANGE, f"{resource(ctx.account_id)} ({changed})")
    return PasswordPolicyOutcome(plan, N_("set"))
