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

from botocore.exceptions import ClientError

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import from_client_error
from runbook_lib.virtual_mfa.setup import MfaSetup

POLICY_NAME = "SelfManageMFA"
POLICY_DESCRIPTION = (
    "AWS example: allows MFA-authenticated IAM users to manage their own MFA device (iam-runbooks)"
)
_USER = "arn:aws:iam::*:user/${aws:username}"


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
class PolicyOutcome:
    """The self-manage-MFA policy and its group after the step."""

    arn: str
    group: str
    status: str
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        if not self.group:
            return f"Self-manage-MFA policy: {self.status}"
        lines = [f"Policy {self.arn} on group '{self.group}': {self.status}"]
        lines += [f"WARNING: {text}" for text in self.warnings]
        return "\n".join(lines)


def _document(raw: Any) -> Any:
    if isinstance(raw, str):
        from urllib.parse import unquote

        return json.loads(unquote(raw))
    return raw


def _existing_document(iam: Any, arn: str) -> Any | None:
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise
    return _document(
        iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    )


def _warnings(ctx: RunContext, group: str) -> tuple[str, ...]:
    texts = [
        "its Deny blocks everything but MFA set-up until a member signs in with MFA: a member "
        "with password_reset_required cannot change the first-sign-in password until MFA is "
        "on, and access-key calls need an MFA session (aws sts get-session-token)."
    ]
    members = [
        str(u["UserName"])
        for page in ctx.iam.get_paginator("get_group").paginate(GroupName=group)
        for u in page["Users"]
    ]
    caller = ctx.caller_arn.rsplit("/", 1)[-1] if ":user/" in ctx.caller_arn else ""
    if caller in members:
        texts.append(
            f"the caller '{caller}' is a member: its own calls without an MFA session will be "
            "denied from now on."
        )
    for text in texts:
        ctx.record.warn(f"Self-manage-MFA policy on group '{group}': {text}")
    return tuple(texts)


def ensure_self_manage_policy(ctx: RunContext, setup: MfaSetup) -> PolicyOutcome:
    """Create (if missing) the self-manage-MFA policy and attach it to ``setup.policy_group``.

    An existing policy of that name is kept as it is; if its document differs from AWS's, a
    warning says so (it may have been changed on purpose).

    Args:
        ctx: the run context.
        setup: the result of ``mfa.prepare`` (``policy_group`` empty: nothing to do).

    Returns:
        What was found or changed, with the warnings the operator must read.

    Raises:
        AwsError: IAM refused.
    """
    group = setup.policy_group
    arn = ctx.arn("policy", POLICY_NAME)
    if not group:
        return PolicyOutcome(arn, "", "not requested (attach_self_manage_policy is false)")
    iam = ctx.iam
    done: list[str] = []
    try:
        found = _existing_document(iam, arn)
        attached = {
            str(p["PolicyArn"])
            for page in iam.get_paginator("list_attached_group_policies").paginate(GroupName=group)
            for p in page["AttachedPolicies"]
        }
        if found is None:
            if not ctx.plan:
                iam.create_policy(
                    PolicyName=POLICY_NAME,
                    PolicyDocument=json.dumps(self_manage_mfa_document()),
                    Description=POLICY_DESCRIPTION,
                )
                ctx.record.change("create-policy", arn)
            done.append("created")
        elif found != self_manage_mfa_document():
            ctx.record.warn(f"Policy {arn} differs from AWS's documented document: review it.")
            done.append("exists with a different document (kept: review it)")
        if arn not in attached:
            if not ctx.plan:
                iam.attach_group_policy(GroupName=group, PolicyArn=arn)
                ctx.record.change("attach-group-policy", f"{ctx.arn('group', group)} {arn}")
            done.append("attached")
        warnings = _warnings(ctx, group)
    except ClientError as err:
        raise from_client_error(
            err,
            f"Setting up policy {POLICY_NAME} on group '{group}'",
            "The caller needs iam:CreatePolicy, iam:GetPolicy* and iam:AttachGroupPolicy.",
        ) from err
    if not done:
        return PolicyOutcome(arn, group, "already in place (no change)", warnings)
    status = ", ".join(done)
    status = f"would be {status} (plan mode)" if ctx.plan else status
    return PolicyOutcome(arn, group, status, warnings)
