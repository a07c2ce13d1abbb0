"""S3 Steps 4-5 and Verify: create the virtual MFA device (storing its seed first), read it back.

An unassigned device left by an earlier run that stopped before EnableMFADevice is deleted and
replaced (its seed is lost), or kept when that run stored its seed in the chosen seed file. The
seed and the otpauth URI exist only as ``Secret`` values; moto's ``QRCodePNG`` (random bytes) is
never used: the QR code is built locally from the seed (``mfa_assign``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.core import aws, totp
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.secret_files import set_aside
from runbook_lib.core.secrets import Secret
from runbook_lib.virtual_mfa.seed import store_seed, stored_seed_in_file
from runbook_lib.virtual_mfa.setup import (
    NOBODY,
    PERMISSIONS_FIX,
    SIGN_IN_URL,
    MfaSetup,
)
from runbook_lib.virtual_mfa.state import VirtualDevice


def _create(ctx: RunContext, setup: MfaSetup) -> tuple[str, Secret]:
    iam = ctx.iam
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
    return serial, seed


def ensure_virtual_device(ctx: RunContext, setup: MfaSetup) -> VirtualDevice:
    """Create the virtual MFA device (Steps 4-5) unless the user has one; store the seed first.

    Args:
        ctx: the run context.
        setup: the result of ``prepare``.

    Returns:
        The device, holding its seed and otpauth URI as ``Secret`` values when created here.

    Raises:
        BadInput: the seed file cannot be written (the device is then replaced next run).
        AwsError: IAM or Secrets Manager refused.
    """
    if setup.has_mfa:
        return VirtualDevice(setup, setup.existing[0], "user already has MFA: left alone")
    if setup.action == "resync":
        return VirtualDevice(setup, setup.serial, "assigned to the user: kept")
    if setup.codes_from == NOBODY:
        return VirtualDevice(
            setup, setup.serial, "not created: a headless run cannot scan a QR code (Step 6-7)"
        )
    if ctx.plan:
        first = "would delete the unassigned leftover, then " if setup.leftover == "replace" else ""
        return VirtualDevice(setup, setup.serial, f"{first}would create it (plan mode)")
    if setup.leftover == "reuse":
        seed = stored_seed_in_file(Path(setup.seed_location), setup.serial, setup.user_name)
        assert seed is not None  # prepare found it
        ctx.record.repair(
            "finish-virtual-mfa-device",
            setup.serial,
            "unassigned device left by an earlier run; its seed is in the chosen seed file",
        )
        return VirtualDevice(setup, setup.serial, "left unassigned by an earlier run: kept", seed)
    serial, seed = _create(ctx, setup)
    uri = Secret(
        "otpauth-uri",
        totp.key_uri(seed.text(), setup.user_name, setup.account_id, setup.issuer),
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
    return VirtualDevice(setup, serial, status, seed, uri, stored)


@dataclass(frozen=True)
class MfaVerified:
    """The end state read back from IAM."""

    user_name: str
    devices: tuple[str, ...]
    note: str

    def __repr__(self) -> str:
        found = ", ".join(self.devices) or _("none")
        return _("MFA devices of '{user_name}': {found}\n{note}").format(
            user_name=self.user_name, found=found, note=self.note
        )


def verify_mfa(ctx: RunContext, device: VirtualDevice) -> MfaVerified:
    """Read the user's MFA devices back (ListMFADevices) and give the sign-in note.

    Args:
        ctx: the run context.
        device: the result of ``ensure_virtual_device``.

    Returns:
        The devices found; a plan run or a run waiting for a person says so instead.

    Raises:
        VerifyFailed: the device is not on the user.
        AwsError: IAM refused the read.
    """
    setup = device.setup
    devices = aws.items(
        ctx.iam,
        "list_mfa_devices",
        "MFADevices",
        what=_("Listing the MFA devices of '{user_name}'").format(user_name=setup.user_name),
        fix=PERMISSIONS_FIX,
        UserName=setup.user_name,
    )
    found = tuple(sorted(str(d["SerialNumber"]) for d in devices))
    url = SIGN_IN_URL.format(account=setup.account_id)
    if device.serial in found:
        note = _(
            "Sign-in: at {url}, '{user}' is now asked for an MFA code after the password (the "
            "app's entry '{entry}')."
        ).format(
            url=url,
            user=setup.user_name,
            entry=f"{setup.issuer}:{setup.user_name}@{setup.account_id}",
        )
        return MfaVerified(setup.user_name, found, note)
    if ctx.plan:
        return MfaVerified(setup.user_name, found, _("Plan mode: nothing was changed."))
    if ctx.record.pending:
        steps = ", ".join(f"{m.step} ({m.how})" for m in ctx.record.pending)
        return MfaVerified(
            setup.user_name, found, _("Not verified yet: waiting for {steps}.").format(steps=steps)
        )
    raise VerifyFailed(
        _(
            "User '{user_name}' does not have MFA device {serial} (ListMFADevices): "
            "re-run this runbook; it replaces an unassigned device."
        ).format(user_name=setup.user_name, serial=device.serial)
    )
