"""S3 Verify: read the user's MFA devices back from IAM, and the sign-in note.

In a live notebook Assign MFA refreshes the Verify cell in place (``widgets.live``).
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.virtual_mfa.state import PERMISSIONS_FIX, SIGN_IN_URL, VirtualDevice
from runbook_lib.widgets.live import live_result


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


def verify(ctx: RunContext, device: VirtualDevice) -> MfaVerified | None:
    """``verify_mfa``; in a live notebook Assign MFA refreshes it in place (``widgets.live``).

    Args:
        ctx: the run context.
        device: the result of ``ensure_virtual_device``.

    Returns:
        The devices found; ``None`` in a live notebook (the cell shows it already).

    Raises:
        VerifyFailed: the device is not on the user.
        AwsError: IAM refused the read.
    """

    def checked() -> MfaVerified:
        result = verify_mfa(ctx, device)
        if ctx.plan or device.serial in result.devices:
            ctx.record.verified()
        return result

    return live_result("verify", checked, record=ctx.record)
