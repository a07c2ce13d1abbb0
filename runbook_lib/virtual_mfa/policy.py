"""S3 (optional): the customer-managed policy that lets users manage their own MFA device.

The document is AWS's documented example "Allows MFA-authenticated IAM users to manage their
own MFA device on the Security credentials page". Its last statement denies almost everything
until the user signs in with MFA: a user who must change the password at first sign-in
(``PasswordResetRequired``) cannot do so until MFA is on, and access-key calls without an MFA
session are denied to every member of the group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.virtual_mfa.state import MfaSetup

POLICY_NAME = "SelfManageMFA"
POLICY_DESCRIPTION = (
    "AWS example: allows MFA-authenticated IAM users to manage their own MFA device (iam-runbooks)"
)
_USER = "arn:aws:iam::*:user/${aws:username}"
_WHAT = "Setting up policy " + POLICY_NAME + " on group '{group}'"
_FIX = "The caller needs iam:CreatePolicy, iam:GetPolicy* and iam:AttachGroupPolicy."


def self_manage_mfa_document() -> dict[str, Any]:
    """Return AWS's documented self-manage-MFA policy document.

    Returns:
        The policy document (IAM JSON policy language, version 2012-10-17).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": "iam:ListVirtualMFADevices",
                "Resource": "*",
            },
            {
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/*",
            },
            {
                "Sid": "AllowManageOwnUserMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice",
                ],
                "Resource": _USER,
            },
            {
                "Sid": "DenyAllExceptListedIfNoMFA",
                "Effect": "Deny",
                "NotAction": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:ListMFADevices",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                    "sts:GetSessionToken",
                ],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }


@dataclass(frozen=True)
class SelfManagePolicyOutcome:
    """The self-manage-MFA policy and its group after the step."""

    arn: str
    group: str
    status: str
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        if not self.group:
            return _("Self-manage-MFA policy: {status}").format(status=_(self.status))
        lines = [
            _("Policy {arn} on group '{group}': {status}").format(
                arn=self.arn, group=self.group, status=_(self.status)
            )
        ]
        lines += [_("WARNING: {text}").format(text=text) for text in self.warnings]
        return "\n".join(lines)


def _document(raw: Any) -> Any:
    if isinstance(raw, str):
        from urllib.parse import unquote

        return json.loads(unquote(raw))
    return raw


def _existing_document(iam: Any, arn: str, what: str) -> Any | None:
    found = aws.call(iam.get_policy, what=what, fix=_FIX, missing=("NoSuchEntity",), PolicyArn=arn)
    if found is None:
        return None
    version = found["Policy"]["DefaultVersionId"]
    answer = aws.call(iam.get_policy_version, what=what, fix=_FIX, PolicyArn=arn, VersionId=version)
    return _document(answer["PolicyVersion"]["Document"])


def _warnings(ctx: RunContext, group: str) -> tuple[str, ...]:
    texts = [
        "its Deny blocks everything but MFA set-up until a member signs in with MFA: a member "
        "with password_reset_required cannot change the first-sign-in password until MFA is "
        "on, and access-key calls need an MFA session (aws sts get-session-token)."
    ]
    users = aws.items(
        ctx.iam, "get_group", "Users", what=_WHAT.format(group=group), fix=_FIX, GroupName=group
    )
    members = [str(u["UserName"]) for u in users]
    caller = ctx.caller_arn.rsplit("/", 1)[-1] if ":user/" in ctx.caller_arn else ""
    if caller in members:
        texts.append(
            _(
                "the caller '{caller}' is a member: its own calls without an MFA session "
                "will be denied from now on."
            ).format(caller=caller)
        )
    for text in texts:
        ctx.record.warn(
            _("Self-manage-MFA policy on group '{group}': {text}").format(group=group, text=text)
        )
    return tuple(texts)


def ensure_self_manage_policy(ctx: RunContext, setup: MfaSetup) -> SelfManagePolicyOutcome:
    """Create (if missing) the self-manage-MFA policy and attach it to ``setup.policy_group``.

    An existing policy of that name is kept as it is; if its document differs from AWS's, a
    warning says so (it may have been changed on purpose).

    Args:
        ctx: the run context.
        setup: the result of ``check_request`` (``policy_group`` empty: nothing to do).

    Returns:
        What was found or changed, with the warnings the operator must read.

    Raises:
        AwsError: IAM refused.
    """
    group = setup.policy_group
    arn = ctx.arn("policy", POLICY_NAME)
    if not group:
        return SelfManagePolicyOutcome(
            arn, "", N_("not requested (attach_self_manage_policy is false)")
        )
    iam = ctx.iam
    what = _WHAT.format(group=group)
    done: list[str] = []
    found = _existing_document(iam, arn, what)
    attached = {
        str(p["PolicyArn"])
        for p in aws.items(
            iam,
            "list_attached_group_policies",
            "AttachedPolicies",
            what=what,
            fix=_FIX,
            GroupName=group,
        )
    }
    if found is None:
        if not ctx.plan:
            aws.call(
                iam.create_policy,
                what=what,
                fix=_FIX,
                PolicyName=POLICY_NAME,
                PolicyDocument=json.dumps(self_manage_mfa_document()),
                Description=POLICY_DESCRIPTION,
            )
            ctx.record.change("create-policy", arn)
        else:
            ctx.record.would("S3 optional", "create-policy", arn)
        done.append(N_("created"))
    elif found != self_manage_mfa_document():
        ctx.record.warn(
            _("Policy {arn} differs from AWS's documented document: review it.").format(arn=arn)
        )
        done.append(_("exists with a different document (kept: review it)"))
    if arn not in attached:
        if not ctx.plan:
            aws.call(iam.attach_group_policy, what=what, fix=_FIX, GroupName=group, PolicyArn=arn)
            ctx.record.change("attach-group-policy", f"{ctx.arn('group', group)} {arn}")
        else:
            ctx.record.would(
                "S3 optional", "attach-group-policy", f"{ctx.arn('group', group)} {arn}"
            )
        done.append("attached")
    warnings = _warnings(ctx, group)
    if not done:
        return SelfManagePolicyOutcome(arn, group, "already in place (no change)", warnings)
    status = ", ".join(done)
    status = f"would be {status} (plan mode)" if ctx.plan else status
    return SelfManagePolicyOutcome(arn, group, status, warnings)
