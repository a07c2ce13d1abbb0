"""S2: an access key for an IAM user — created once, delivered once, rotated safely.

Steps: ``plan_access_key`` (read-only: user, keys, marker, destination; all input checked),
``ensure_access_key`` (repairs an unfinished run, then creates a key unless one is active),
``show_key`` (Step 5), ``deliver_key`` (Step 6), ``retire_old_key`` (Step 7: a rotation proves
the new key, then deactivates the old one), ``verify_access_key``. Never for the root user.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from botocore.exceptions import ClientError

from runbook_lib.access_key.handover import deliver_key, retire_old_key, show_key, verify_access_key
from runbook_lib.access_key.state import (
    CONSOLE_USER_WARNING,
    DELIVERED,
    PENDING,
    KeyInfo,
    KeyPlan,
    Marker,
    NewKey,
    check_tag_room,
    read_keys,
    read_marker,
    stamp,
    unfinished_rotation,
    utc_now,
    write_marker,
)
from runbook_lib.core.context import S0_ADVICE, RunContext
from runbook_lib.core.errors import AwsError, BadInput, TargetRefused, from_client_error
from runbook_lib.core.secrets import Secret
from runbook_lib.core.sinks import SECRET_KIND, check_destination, read_back, resolve_destination
from runbook_lib.core.validation import validate_choice, validate_user_name

__all__ = [
    "KeyPlan",
    "NewKey",
    "deliver_key",
    "ensure_access_key",
    "check_request",
    "retire_old_key",
    "show_key",
    "verify_access_key",
]

MODES = ("create", "rotate")
_ROOT_NAMES = frozenset({"root", "<root_account>", "root_account", "root user"})


def _refuse_root(user_name: str) -> None:
    if user_name.strip().lower() in _ROOT_NAMES or user_name.endswith(":root"):
        raise TargetRefused(
            f"user_name {user_name!r} names the root user: no access keys for root. {S0_ADVICE}"
        )


def _read_user(ctx: RunContext, user_name: str) -> tuple[str, bool]:
    iam = ctx.iam
    try:
        arn = str(iam.get_user(UserName=user_name)["User"]["Arn"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            raise BadInput(
                f"User '{user_name}' does not exist in account {ctx.account_id} (IAM "
                "NoSuchEntity): create it with 01_create_admin_user or fix user_name."
            ) from err
        raise from_client_error(
            err, f"Reading user '{user_name}'", "The caller needs iam:GetUser."
        ) from err
    try:
        iam.get_login_profile(UserName=user_name)
        console = True
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise from_client_error(
                err,
                f"Reading the login profile of '{user_name}'",
                "The caller needs iam:GetLoginProfile.",
            ) from err
        console = False
    return arn, console


def check_request(
    ctx: RunContext,
    user_name: str,
    *,
    mode: str = "create",
    delete_old: bool = False,
    destination: str = "file",
    secrets_dir: str = "",
    secret_name: str = "",
) -> KeyPlan:
    """Steps 1–3: check every input and read the user's keys; makes no change.

    Args:
        ctx: the run context.
        user_name: the IAM user who gets the key (never root).
        mode: ``create`` (one key, once) or ``rotate`` (new key, prove it, retire the old).
        delete_old: rotate only: delete the old key instead of leaving it Inactive.
        destination: ``file``, ``secretsmanager`` or ``widget`` (interactive only).
        secrets_dir: folder for the CSV (empty: the default secrets folder).
        secret_name: Secrets Manager name (empty: ``iam-runbooks/<user>/access-key``).

    Returns:
        The plan.

    Raises:
        TargetRefused: ``user_name`` names the root user.
        BadInput: a bad parameter, an unknown user, an unusable destination, two keys already.
    """
    validate_choice(mode, MODES, "mode")
    _refuse_root(str(user_name))
    validate_user_name(user_name)
    if delete_old and mode != "rotate":
        raise BadInput(
            "delete_old applies to mode rotate only: set mode rotate or delete_old false."
        )
    now = utc_now()
    dest = resolve_destination(
        destination,
        user_name,
        mode=mode,
        secrets_dir=secrets_dir,
        secret_name=secret_name,
        interactive=ctx.interactive,
        stamp=stamp(now)[:8],
    )
    user_arn, console = _read_user(ctx, user_name)
    keys = read_keys(ctx, user_name)
    marker, tag_count = read_marker(ctx, user_name)
    orphans: list[KeyInfo] = []
    adopted: KeyInfo | None = None
    kept: list[str] = []
    if marker is not None and marker.state == PENDING:
        if marker.destination in ("file", "secretsmanager") and marker.destination != dest.kind:
            raise BadInput(
                f"An unfinished run (since {marker.moment:%Y-%m-%d %H:%M} UTC) was delivering a "
                f"key of '{user_name}' to {marker.destination}: re-run with destination "
                f"{marker.destination} (same secrets_dir/secret_name) so it can finish or clean up."
            )
        for key in keys:
            if key.key_id in marker.keys:
                continue
            held = read_back(ctx, dest, key.key_id)
            if held is not None:
                held.drop()
                adopted = key
            elif marker.could_have_made(key) and key.last_used is None:
                orphans.append(key)
            else:
                kept.append(f"{key.key_id} (created or used outside the unfinished run's window)")
    elif (
        mode == "rotate"
        and (resumable := unfinished_rotation(keys, marker, delete_old)) is not None
    ):
        held = read_back(ctx, dest, resumable.key_id)
        if held is not None:  # delivered, and proven before: only the retirement is missing
            held.drop()
            adopted = resumable
    plan = KeyPlan(
        user_name,
        user_arn,
        mode,
        delete_old,
        dest,
        tuple(keys),
        console,
        "create",
        marker,
        tuple(orphans),
        adopted,
        tuple(kept),
        now,
    )
    remaining = list(plan.remaining)
    if mode == "create" and any(k.status == "Active" for k in remaining):
        return replace(plan, action="none")
    if mode == "rotate" and adopted is not None:
        return replace(plan, action="resume")
    if len(remaining) >= 2:
        raise BadInput(two_keys_message(user_name, remaining, now, mode))
    check_destination(dest)
    check_tag_room(user_name, marker, tag_count)
    return plan


def _repair(ctx: RunContext, plan: KeyPlan) -> None:
    for key in plan.orphans:
        try:
            ctx.iam.delete_access_key(UserName=plan.user_name, AccessKeyId=key.key_id)
        except ClientError as err:
            raise from_client_error(
                err, f"Deleting orphan key {key.key_id}", "The caller needs iam:DeleteAccessKey."
            ) from err
        ctx.record.repair(
            "delete-access-key",
            f"{plan.user_arn} access key {key.key_id}",
            f"created by an unfinished run ({plan.marker.value() if plan.marker else ''}); its "
            "secret reached no destination, so nobody holds it",
        )
    if plan.adopted is not None and plan.marker is not None and plan.marker.state == DELIVERED:
        ctx.record.repair(
            "resume-rotation",
            f"{plan.user_arn} access key {plan.adopted.key_id}",
            "an earlier rotation delivered this key but stopped before retiring the old key",
        )
    elif plan.adopted is not None:
        done = Marker(DELIVERED, utc_now(), (plan.adopted.key_id,), plan.destination.kind)
        write_marker(ctx, plan.user_name, plan.user_arn, done)
        ctx.record.repair(
            "finish-delivery",
            f"{plan.user_arn} access key {plan.adopted.key_id}",
            f"an unfinished run delivered its secret to {plan.destination.describe()} but did "
            "not mark it delivered",
        )
    elif plan.marker is not None and plan.marker.state == PENDING and plan.action == "none":
        write_marker(ctx, plan.user_name, plan.user_arn, None)
        ctx.record.repair(
            "clear-access-key-marker", plan.user_arn, "left pending by an unfinished run"
        )


def ensure_access_key(ctx: RunContext, plan: KeyPlan) -> NewKey:
    """Step 4: clean up after an unfinished run, then create a key unless the plan says not to.

    A key is created only after the user is tagged ``pending``; the tag changes to
    ``delivered`` in Step 6. In plan mode nothing is changed and the result says what would be.

    Raises:
        AwsError: IAM refused (``LimitExceeded`` names both keys and the next action).
    """
    user = plan.user_name
    repairs = [f"deleted orphan key {k.key_id}" for k in plan.orphans]
    if plan.adopted and plan.marker is not None and plan.marker.state == PENDING:
        repairs.append(f"finished the delivery of {plan.adopted.key_id}")
    done = f" Repaired: {'; '.join(repairs)}." if repairs else ""
    if ctx.plan:
        would = "; ".join(f"would delete orphan key {k.key_id}" for k in plan.orphans)
        what = {
            "none": "no new key (an active key exists)",
            "resume": "would continue the rotation",
            "create": "would create an access key",
        }[plan.action]
        return NewKey(
            user, "", False, f"Plan mode: {'; '.join(x for x in (would, what) if x)} for {user}."
        )
    _repair(ctx, plan)
    if plan.action == "none":
        active = next(k for k in plan.remaining if k.status == "Active")
        return NewKey(
            user,
            active.key_id,
            False,
            f"No change: {user} already has an active key, {active.describe(plan.now)}. A re-run "
            f"never makes a second key; use mode rotate to replace it.{done}",
        )
    if plan.action == "resume" and plan.adopted is not None:
        return NewKey(
            user,
            plan.adopted.key_id,
            False,
            f"Continuing the rotation to {plan.adopted.key_id}, whose secret is at "
            f"{plan.destination.describe()}.{done}",
        )
    prior = tuple(k.key_id for k in plan.remaining)
    write_marker(ctx, user, plan.user_arn, Marker(PENDING, utc_now(), prior, plan.destination.kind))
    try:
        made = ctx.iam.create_access_key(UserName=user)["AccessKey"]
    except ClientError as err:
        # undo: no key was created; a stale pending marker goes too (it could condemn a key
        # someone else is creating right now)
        kept = plan.marker if plan.marker and plan.marker.state == DELIVERED else None
        write_marker(ctx, user, plan.user_arn, kept)
        if err.response.get("Error", {}).get("Code") == "LimitExceeded":
            raise AwsError(
                two_keys_message(user, read_keys(ctx, user), utc_now(), plan.mode),
                aws_code="LimitExceeded",
            ) from err
        raise from_client_error(
            err, f"Creating an access key for '{user}'", "The caller needs iam:CreateAccessKey."
        ) from err
    key_id = str(made["AccessKeyId"])
    secret = Secret(SECRET_KIND, str(made["SecretAccessKey"]), user)
    del made  # from here on only inside the Secret: the record writes below can fail
    ctx.record.change("create-access-key", f"{plan.user_arn} access key {key_id}")
    if plan.console_user:
        ctx.record.warn(CONSOLE_USER_WARNING.format(user=user))
    return NewKey(
        user,
        key_id,
        True,
        f"Created access key {key_id} for {user}: Active, secret {secret.fingerprint}.{done}",
        secret,
    )


def two_keys_message(user_name: str, keys: list[KeyInfo], now: datetime, mode: str) -> str:
    """The message for a user who already holds IAM's maximum of 2 keys: both keys, what next."""
    listed = "; ".join(k.describe(now) for k in keys)
    pick = sorted(keys, key=lambda k: (k.status == "Active", k.last_used is not None, k.created))[0]
    why = (
        "inactive"
        if pick.status != "Active"
        else "never used"
        if pick.last_used is None
        else "used least recently"
    )
    goal = "mode rotate" if mode == "rotate" else "mode create"
    return (
        f"User '{user_name}' already has 2 access keys, the most IAM allows (LimitExceeded): "
        f"{listed}. Delete the one no longer needed, e.g. {pick.key_id} ({why}), after checking "
        f"nothing uses it: aws iam delete-access-key --user-name {user_name} --access-key-id "
        f"{pick.key_id}; then re-run with {goal}. Nothing was deleted."
    )
