"""S1's notebook steps called in-process, in notebook order (shared by the S1 tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook_lib import RunContext, preflight
from runbook_lib.admin_user import signin
from runbook_lib.admin_user import steps as admin_user
from runbook_lib.admin_user.apply import Created
from runbook_lib.core.record import is_write

PASSWORD_HEADER = "User name,Password,Console sign-in URL"


def params(secrets_dir: Path, **overrides: Any) -> dict[str, Any]:
    """The notebook's defaults (Step 3's keyword arguments) with ``overrides``."""
    base: dict[str, Any] = {
        "user_name": "Administrator",
        "group_name": "Administrators",
        "path": "/",
        "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess",
        "password_reset_required": True,
        "tags": {},
        "console_access": True,
        "secrets_dir": str(secrets_dir),
        "users": [],
    }
    base.update(overrides)
    return base


def new_ctx(plan: bool = False) -> RunContext:
    """A fresh run context on the sandbox (a new run: its own record)."""
    return preflight("test_s1", target="sandbox", plan=plan)


def run_steps(ctx: RunContext, secrets_dir: Path, **overrides: Any) -> Created:
    """Steps 3-8 and Verify, as the notebook runs them; returns Step 7's outcome."""
    request = admin_user.check_request(ctx, **params(secrets_dir, **overrides))
    users = admin_user.find_users(ctx, request)
    groups = admin_user.find_groups(ctx, request)
    admin_user.review_tags(users)
    created = admin_user.review_and_create(ctx, users, groups)
    signin.deliver(ctx, created)
    admin_user.verify(ctx, created)
    return created


class Crash(Exception):
    """The simulated death of a run."""


def crash_after_writes(ctx: RunContext, completed: int) -> Callable[..., None]:
    """Make the run die just before its write number ``completed + 1`` reaches AWS."""
    seen = {"writes": 0}

    def before_call(model: Any, **_: Any) -> None:
        if is_write(model.name):
            seen["writes"] += 1
            if seen["writes"] > completed:
                raise Crash(f"simulated crash before {model.name}")

    ctx.iam.meta.events.register("before-call", before_call)
    return before_call


def writes(ctx: RunContext) -> dict[str, int]:
    """The write operations this run called, with counts."""
    return {k.split(":", 1)[1]: n for k, n in ctx.record.calls.items() if is_write(k.split(":")[1])}


def empty_iam(iam: Any) -> None:
    """Delete every user, group, alias and the password policy (much faster than a reset,
    which rebuilds moto's IAM backend with every AWS managed policy: ≈ 5 s here)."""
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_login_profile(UserName=name)
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for device in iam.list_mfa_devices(UserName=name)["MFADevices"]:
            iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
        for group in iam.list_groups_for_user(UserName=name)["Groups"]:
            iam.remove_user_from_group(UserName=name, GroupName=group["GroupName"])
        for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
        for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy)
        iam.delete_user(UserName=name)
    for device in iam.list_virtual_mfa_devices()["VirtualMFADevices"]:
        iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    for group in iam.list_groups()["Groups"]:
        name = group["GroupName"]
        for policy in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]:
            iam.detach_group_policy(GroupName=name, PolicyArn=policy["PolicyArn"])
        for policy in iam.list_group_policies(GroupName=name)["PolicyNames"]:
            iam.delete_group_policy(GroupName=name, PolicyName=policy)
        iam.delete_group(GroupName=name)
    for alias in iam.list_account_aliases()["AccountAliases"]:
        iam.delete_account_alias(AccountAlias=alias)
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_account_password_policy()
