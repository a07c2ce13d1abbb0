"""S3 Step 8 for ``action: resync``: two new consecutive codes put a drifted device back in sync.

AWS never returns a device's seed again, so the codes come from the app (a person) or from a
stored seed; with the seed they are checked locally first, as for EnableMFADevice.
"""

from __future__ import annotations

import re

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret
from runbook_lib.core.totp import check_codes
from runbook_lib.virtual_mfa.state import (
    ASSIGN_STEP,
    FIXES,
    PERMISSIONS_FIX,
    VirtualDevice,
    step_result,
)

_SIX_DIGITS = re.compile(r"[0-9]{6}")


def resync_with_codes(
    ctx: RunContext,
    device: VirtualDevice,
    code1: str,
    code2: str,
    *,
    seed: Secret | None = None,
    now: float | None = None,
) -> StepResult:
    """Resynchronise the user's device with two new consecutive codes (ResyncMFADevice).

    Args:
        ctx: the run context.
        device: the device from ``device.ensure_virtual_device``.
        code1: the code the app shows now.
        code2: the code after it.
        seed: the stored seed, if known: the codes are then checked against it first.
        now: the time to check the codes against (default: now).

    Returns:
        The device resynchronised.

    Raises:
        BadInput: malformed or repeated codes, or codes that do not match the seed.
        AwsError: IAM refused, or the target does not implement ResyncMFADevice (moto).
    """
    if seed is not None:
        checked = check_codes(seed.text(), code1, code2, now=now)
        code1, code2 = checked.code1, checked.code2
    else:
        code1, code2 = "".join(code1.split()), "".join(code2.split())
        for n, code in ((1, code1), (2, code2)):
            if not _SIX_DIGITS.fullmatch(code):
                raise BadInput(
                    _("MFA code {n} must be 6 digits: type it exactly as the app shows.").format(
                        n=n
                    )
                )
        if code1 == code2:
            raise BadInput(_("You typed the same code twice: wait for the next code for code 2."))
    serial = device.serial
    no_answer = AwsError(
        _(
            "Resynchronising MFA device {serial} failed: the target gave no valid "
            "answer to ResyncMFADevice (the sandbox does not implement it). Resync "
            "on a real account."
        ).format(serial=serial)
    )
    aws.call(
        ctx.iam.resync_mfa_device,
        what=_("Resynchronising MFA device {serial}").format(serial=serial),
        fix=PERMISSIONS_FIX,
        fixes=FIXES,
        errors={aws.NO_ANSWER: no_answer},
        UserName=device.setup.user_name,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    ctx.record.change("resync-mfa-device", serial)
    ctx.record.manual(ASSIGN_STEP, "Type two codes and resync", done=True, how="resynchronised")
    return step_result(ASSIGN_STEP, f"resynchronised {serial}")
