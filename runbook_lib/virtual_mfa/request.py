"""S3 Step 3: check every input and read the user's MFA state; no change.

``check_request`` decides, before any write, what the run does: a user who already has an MFA
device is reported and left alone; an unassigned device of the same name left by an earlier run
is replaced or finished; who types the two codes (a person, a stored seed, the sandbox's virtual
authenticator, or nobody). Steps 4-5: ``device``; Steps 6-8: ``live`` and ``apply``; the
optional self-manage-MFA policy: ``policy``; Verify: ``verify``.
"""

from __future__ import annotations

import re
from pathlib import Path

from runbook_lib.core import markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.validation import validate_choice, validate_group_name, validate_user_name
from runbook_lib.virtual_mfa import lease
from runbook_lib.virtual_mfa.seed import (
    SEED_DESTINATIONS,
    check_seed_file,
    secret_name_for,
    seed_file_path,
    stored_seed_in_file,
    unusable_seed_file,
)
from runbook_lib.virtual_mfa.state import (
    NOBODY,
    PERSON,
    STORED_SEED,
    VIRTUAL,
    MfaSetup,
    check_group,
    read_devices,
    read_user,
)

ACTIONS = ("enable", "resync")
_DEVICE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,226}")


def _validate(
    device_name: str, issuer: str, secret_name: str, seed_destination: str, policy_group: str
) -> None:
    if not _DEVICE_NAME.fullmatch(device_name):
        raise BadInput(
            _(
                "device_name {device_name!r} is not a valid MFA device name: use 1-226 "
                "letters, digits and + = , . @ _ - (or leave it empty for the user name)."
            ).format(device_name=device_name)
        )
    if not issuer or ":" in issuer or len(issuer) > 64:
        raise BadInput(
            _(
                "issuer {issuer!r} cannot label an authenticator entry: use 1-64 "
                "characters without ':' (e.g. AWS or your company name)."
            ).format(issuer=issuer)
        )
    if secret_name and seed_destination != "secretsmanager":
        raise BadInput(
            _(
                "secret_name is set but seed_destination is not 'secretsmanager': set "
                "one or clear the other."
            )
        )
    if policy_group:
        validate_group_name(policy_group, "policy_group")


def _codes_from(ctx: RunContext, action: str, destination: str, virtual: bool) -> str:
    if ctx.interactive:
        return PERSON
    if destination != "none":
        return STORED_SEED
    # resync needs the seed, which AWS never returns again: only a stored seed will do
    return VIRTUAL if ctx.sandbox and virtual and action == "enable" else NOBODY


def _leftover(
    user_name: str,
    action: str,
    serial: str,
    existing: tuple[str, ...],
    owners: dict[str, str],
    seed_destination: str,
    location: str,
) -> str:
    """What an earlier run left: ``""``, ``"replace"`` or ``"reuse"`` (its seed is in the file).

    Raises:
        BadInput: the device belongs to another user, nothing to resynchronise, or the seed
            file exists and holds no seed of this device.
    """
    device = serial.rsplit("/", 1)[-1]
    owner = owners.get(serial)
    if owner and owner != user_name:
        raise BadInput(
            _(
                "MFA device '{device}' belongs to user '{owner}' (names are unique per "
                "account): choose another device_name."
            ).format(device=device, owner=owner)
        )
    if action == "resync" and serial not in existing:
        raise BadInput(
            _(
                "User '{user_name}' has no MFA device {serial} to resynchronise: use "
                "action enable, or set device_name to the device the user has."
            ).format(user_name=user_name, serial=serial)
        )
    if action != "enable" or existing:
        return ""
    leftover = "replace" if owner == "" and serial in owners else ""
    if seed_destination == "file":
        held = stored_seed_in_file(Path(location), serial, user_name) if leftover else None
        if held is not None:
            held.drop()
            return "reuse"
        if not (leftover and unusable_seed_file(Path(location))):
            check_seed_file(Path(location))  # else: moved aside before the device is replaced
    return leftover


def check_inputs(
    *,
    user_name: str,
    device_name: str = "",
    action: str = "enable",
    seed_destination: str = "none",
    secret_name: str = "",
    issuer: str = "AWS",
    policy_group: str = "",
    attach_self_manage_policy: bool = True,
    lease_minutes: float = markers.DEFAULT_LEASE.total_seconds() / 60,
) -> None:
    """The checks of ``check_request`` that need no AWS call: the host runs them before a
    kernel starts (``run.precheck``), the kernel again in Step 3.

    Raises:
        BadInput: an invalid user or device name, action, seed destination, issuer, secret
            name without Secrets Manager, policy group or lease.
    """
    validate_user_name(user_name)
    validate_choice(action, ACTIONS, "action")
    validate_choice(seed_destination, SEED_DESTINATIONS, "seed_destination")
    group = policy_group if attach_self_manage_policy else ""
    _validate(device_name or user_name, issuer, secret_name, seed_destination, group)
    markers.lease_of(lease_minutes)


def check_request(
    ctx: RunContext,
    *,
    user_name: str,
    device_name: str = "",
    action: str = "enable",
    seed_destination: str = "none",
    secrets_dir: str = "",
    secret_name: str = "",
    issuer: str = "AWS",
    virtual_authenticator: bool = True,
    policy_group: str = "",
    attach_self_manage_policy: bool = True,
    lease_minutes: float = markers.DEFAULT_LEASE.total_seconds() / 60,
) -> MfaSetup:
    """Check every input and read the user's MFA state (Step 3); makes no change.

    Args:
        ctx: the run context.
        user_name: the IAM user.
        device_name: the virtual device's name (empty: the user name).
        action: ``enable`` a new device or ``resync`` the user's device.
        seed_destination: ``none``, ``file`` (0600 file) or ``secretsmanager``.
        secrets_dir: the seed file's folder (empty: the default secrets folder).
        secret_name: the Secrets Manager name (empty: ``iam-runbooks/mfa/DEVICE``).
        issuer: the name the authenticator app shows above the entry.
        virtual_authenticator: on the sandbox, headless, let the library play the phone.
        policy_group: attach the self-manage-MFA policy to this group (empty: do not).
        attach_self_manage_policy: false: ignore ``policy_group`` (the notebook's switch).
        lease_minutes: another run's ``iam-runbooks:S3`` marker younger than this stops this
            run (that run may still be working; ``virtual_mfa.lease``). ``0``: never wait.

    Returns:
        What the next steps will do.

    Raises:
        BadInput: an invalid parameter, a missing user or group, a device name taken by
            another user, a seed file that exists, or nothing to resynchronise.
        RunInProgress: another run of S3 on this user is working now (nothing was changed).
    """
    check_inputs(
        user_name=user_name,
        device_name=device_name,
        action=action,
        seed_destination=seed_destination,
        secret_name=secret_name,
        issuer=issuer,
        policy_group=policy_group,
        attach_self_manage_policy=attach_self_manage_policy,
        lease_minutes=lease_minutes,
    )
    device = device_name or user_name
    if not attach_self_manage_policy:
        policy_group = ""
    location = ""
    if seed_destination == "file":
        location = str(seed_file_path(secrets_dir, device))
    elif seed_destination == "secretsmanager":
        location = secret_name_for(secret_name, device, ctx)
    serial = ctx.arn("mfa", device)
    span = markers.lease_of(lease_minutes)
    read_user(ctx, user_name)
    marker, tag_count = lease.read(ctx, user_name)  # before the devices: see virtual_mfa.lease
    markers.check_lease(ctx, marker, what=lease.what(user_name), lease=span)
    existing, owners = read_devices(ctx, user_name)
    leftover = _leftover(user_name, action, serial, existing, owners, seed_destination, location)
    if policy_group:
        check_group(ctx, policy_group)
    if action == "enable" and not existing:
        markers.check_tag_room(user_name, lease.MARKER_TAG, marker, tag_count)
    aside = ""
    if leftover == "replace" and seed_destination == "file" and unusable_seed_file(Path(location)):
        aside = location  # an earlier run's empty or cut-short seed file: kept, moved aside
    return MfaSetup(
        user_name=user_name,
        device_name=device,
        serial=serial,
        action=action,
        codes_from=_codes_from(ctx, action, seed_destination, virtual_authenticator),
        virtual_authenticator=ctx.sandbox and virtual_authenticator,
        existing=existing,
        leftover=leftover,
        seed_destination=seed_destination,
        seed_location=location,
        issuer=issuer,
        policy_group=policy_group,
        account_id=ctx.account_id,
        set_aside=aside,
        marker=marker,
        lease=span,
    )
