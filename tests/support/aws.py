"""The sandbox account as the tests see it: its ID, clients, a snapshot of what a runbook could
change, and quick ways to empty it."""

from __future__ import annotations

import contextlib
from typing import Any

import boto3

from runbook_lib.core.sandbox import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_REGION,
    Sandbox,
    running_sandbox_url,
)

#: the account ID the sandbox answers with (the only place the tests spell it)
ACCOUNT = SANDBOX_ACCOUNT_ID
REGION = SANDBOX_REGION
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
CONSOLE_URL = f"https://{ACCOUNT}.signin.aws.amazon.com/console"


def sandbox_url() -> str:
    """The URL of the session's sandbox (started by ``support.plugin``)."""
    url = running_sandbox_url()
    assert url, "support.plugin starts the sandbox at session start"
    return url


def reset_sandbox() -> Sandbox:
    """A handle on the session's sandbox, emptied and re-seeded (≈1 s: use once per module)."""
    box = Sandbox(url=sandbox_url())
    box.reset()
    return box


def client(service: str) -> Any:
    """A boto3 client of ``service`` on the session's sandbox."""
    return boto3.client(service, endpoint_url=sandbox_url(), region_name=REGION)


def serial(user: str) -> str:
    """The serial number of a user's virtual MFA device named after the user."""
    return f"arn:aws:iam::{ACCOUNT}:mfa/{user}"


def moto_iam() -> Any:
    """The sandbox's IAM backend (the server runs in this process): what AWS really holds."""
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT]["aws"]


def _user_facts(iam: Any, name: str, path: str) -> dict[str, Any]:
    try:
        profile = iam.get_login_profile(UserName=name)["LoginProfile"]
        login: Any = bool(profile.get("PasswordResetRequired"))
    except iam.exceptions.NoSuchEntityException:
        login = None
    return {
        "path": path,
        "tags": iam.list_user_tags(UserName=name)["Tags"],
        "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
        "policies": iam.list_attached_user_policies(UserName=name)["AttachedPolicies"],
        "inline": iam.list_user_policies(UserName=name)["PolicyNames"],
        "keys": sorted(
            (k["AccessKeyId"], k["Status"])
            for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        ),
        "mfa": sorted(d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]),
        "login_profile": login,
    }


def snapshot(users: list[str] | None = None) -> dict[str, Any]:
    """Every IAM and Secrets Manager fact a runbook could change (no secret values).

    Args:
        users: only these users' details (all users are still listed); ``None``: every user.
    """
    iam, sm = client("iam"), client("secretsmanager")
    listed = {u["UserName"]: u["Path"] for u in iam.list_users()["Users"]}
    chosen = listed if users is None else {u: p for u, p in listed.items() if u in users}
    groups = {
        g["GroupName"]: sorted(
            p["PolicyArn"]
            for p in iam.list_attached_group_policies(GroupName=g["GroupName"])["AttachedPolicies"]
        )
        for g in iam.list_groups()["Groups"]
    }
    devices = sorted(
        (d["SerialNumber"], d.get("User", {}).get("UserName", ""))
        for d in iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    )
    try:
        password_policy: Any = iam.get_account_password_policy()["PasswordPolicy"]
    except iam.exceptions.NoSuchEntityException:
        password_policy = None
    return {
        "user_names": sorted(listed),
        "users": {name: _user_facts(iam, name, path) for name, path in chosen.items()},
        "groups": groups,
        "virtual_mfa_devices": devices,
        "local_policies": sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]),
        "password_policy": password_policy,
        "aliases": iam.list_account_aliases()["AccountAliases"],
        "secrets": sorted(s["Name"] for s in sm.list_secrets()["SecretList"]),
    }


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The top-level facts of a snapshot that differ (names only: no values are printed)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Fail, naming what changed, if the two snapshots differ."""
    diff = changed(before, after)
    assert not diff, f"the sandbox changed: {diff}"


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
