"""S3 Steps 4-5: create the virtual MFA device, storing its seed first.

An unassigned device left by an earlier run that stopped before EnableMFADevice is deleted and
replaced (its seed is lost), or kept when that run stored its seed in the chosen seed file. The
user's ``iam-runbooks:S3`` marker keeps two runs at once from replacing each other's device
(``virtual_mfa.lease``). The seed and the otpauth URI exist only as ``Secret`` values; moto's
``QRCodePNG`` (random bytes) is never used: the QR code is built locally from the seed
(``live``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import RunInProgress
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.otpauth import key_uri
from runbook_lib.core.secret_files import set_aside
from runbook_lib.core.secrets import Secret
from runbook_lib.virtual_mfa import lease
from runbook_lib.virtual_mfa.seed import store_seed, stored_seed_in_file
from runbook_lib.virtual_mfa.state import NOBODY, PERMISSIONS_FIX, MfaSetup, VirtualDevice


def _claim(ctx: RunContext, setup: MfaSetup) -> None:
    """Mark the user pending before the first device write (``virtual_mfa.lease``).

    Raises:
        RunInProgress: another run marked the user, or finished or removed the leftover,
            since Step 3.
    """
    replacing = setup.leftover == "replace"
    there = lease.claim(
        ctx, setup.user_name, setup.user_arn, setup.serial, lease=setup.lease, replacing=replacing
    )
    if not replacing or there:
        return
    user = setup.user_name
    if lease.ours(ctx, user, lease.read(ctx, user)[0]):  # no device write: take it back
        lease.release(ctx, setup.user_name, setup.user_arn)
    raise RunInProgress(
        _(
            "The unassigned MFA device {serial} changed since Step 3 (another run finished or "
            "removed it): run the notebook again from Step 3. No device was changed."
        ).format(serial=setup.serial)
    )


def _create(ctx: RunContext, setup: MfaSetup) -> tuple[str, Secret]:
    iam = ctx.iam
    _claim(ctx, setup)
    if setup.set_aside:
        aside = set_aside(Path(setup.set_aside))
        ctx.record.repair(
            "set-aside-unusable-file",
            str(aside),
            f"{setup.set_aside} was left empty or cut short by an earlier run; kept there",
        )
    if setup.leftover == "replace":
        aws.call(
            iam.delete_virtual_mfa_device,
            what=_("Deleting the unassigned MFA device {serial}").format(serial=setup.serial),
            fix=PERMISSIONS_FIX,
            SerialNumber=setup.serial,
        )
        ctx.record.repair(
            "delete-virtual-mfa-device",
            setup.serial,
            "unassigned device left by an earlier run that stopped before EnableMFADevice; "
            "its seed was lost",
        )
    resp: dict[str, Any] = aws.call(
        iam.create_virtual_mfa_device,
        what=_("Creating virtual MFA device '{device_name}'").format(device_name=setup.device_name),
        fix=PERMISSIONS_FIX,
        fixes={
            "EntityAlreadyExists": (
                "Another run (or a person) created a device of this name since Step 3: "
                "re-run once it has ended; its device is then left alone, finished or replaced."
            )
        },
        VirtualMFADeviceName=setup.device_name,
    )
    device = resp.pop("VirtualMFADevice")
    raw = device.pop("Base32StringSeed")
    device.pop("QRCodePNG", None)  # never used: the QR code is built locally from the seed
    text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    seed = Secret("mfa-seed", text, setup.user_name)
    del raw, text
    serial = str(device["SerialNumber"])
    ctx.record.change("create-virtual-mfa-device", serial)
    lease.reassert(ctx, setup.user_name, setup.user_arn)
    return serial, seed


def ensure_virtual_device(ctx: RunContext, setup: MfaSetup) -> VirtualDevice:
    """Create the virtual MFA device (Steps 4-5) unless the user has one; store the seed first.

    Args:
        ctx: the run context.
        setup: the result of ``check_request``.

    Returns:
        The device, holding its seed and otpauth URI as ``Secret`` values when created here.

    Raises:
        BadInput: the seed file cannot be written (the device is then replaced next run).
        AwsError: IAM or Secrets Manager refused.
    """
    if setup.has_mfa:
        if setup.marker is not None and not ctx.plan:  # Step 3 found it was no live run's
            lease.release(ctx, setup.user_name, setup.user_arn)
            ctx.record.repair(
                "clear-mfa-marker",
                setup.user_arn,
                "left by a run that stopped after EnableMFADevice, before removing it",
            )
        return VirtualDevice(setup, setup.existing[0], "user already has MFA: left alone")
    if setup.action == "resync":
        return VirtualDevice(setup, setup.serial, "assigned to the user: kept")
    if setup.codes_from == NOBODY:
        return VirtualDevice(
            setup, setup.serial, "not created: a headless run cannot scan a QR code (Step 6-7)"
        )
    if ctx.plan:
        if setup.leftover == "replace":
            ctx.record.would("S3.4-5", "delete-virtual-mfa-device", setup.serial)
        ctx.record.would("S3.4-5", "create-virtual-mfa-device", setup.serial)
        first = "would delete the unassigned leftover, then " if setup.leftover == "replace" else ""
        return VirtualDevice(setup, setup.serial, f"{first}would create it (plan mode)")
    if setup.leftover == "reuse":
        seed = stored_seed_in_file(Path(setup.seed_location), setup.serial, setup.user_name)
        assert seed is not None  # check_request found it
        ctx.record.repair(
            "finish-virtual-mfa-device",
            setup.serial,
            "unassigned device left by an earlier run; its seed is in the chosen seed file",
        )
        kept = "left unassigned by an earlier run: kept"
        return VirtualDevice(setup, setup.serial, kept, seed, marked=setup.marker is not None)
    serial, seed = _create(ctx, setup)
    uri = Secret(
        "otpauth-uri",
        key_uri(seed.text(), setup.user_name, setup.account_id, setup.issuer),
        setup.user_name,
    )
    stored = ""
    if setup.seed_destination != "none":
        stored = store_seed(
            ctx,
            setup.seed_destination,
            setup.seed_location,
            serial=serial,
            user_name=setup.user_name,
            seed=seed,
            uri=uri,
        )
    replaced = N_("replaced the unassigned leftover")
    status = replaced if setup.leftover == "replace" else N_("created")
    return VirtualDevice(setup, serial, status, seed, uri, stored, marked=True)
