"""S3 Step 8: assign (or resync) the device with two codes.

The two codes are checked against the seed (``totp.check_codes``) before any call, so a typo,
a swapped, repeated or stale pair is refused in plain words and nothing is sent to AWS.
Interactive, a person types the codes into a form (``live``); headless, the holder of the
stored seed (or the sandbox's virtual authenticator) computes them; otherwise the step is
recorded as pending for a person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret
from runbook_lib.core.totp import check_codes
from runbook_lib.virtual_mfa import lease
from runbook_lib.virtual_mfa.live import offer_codes, scan_done
from runbook_lib.virtual_mfa.resync import resync_with_codes
from runbook_lib.virtual_mfa.seed import (
    recent_two_codes,
    stored_seed_in_file,
    stored_seed_in_secrets_manager,
)
from runbook_lib.virtual_mfa.state import (
    ASSIGN_STEP,
    FIXES,
    NOBODY,
    PERMISSIONS_FIX,
    PERSON,
    SCAN_STEP,
    VirtualDevice,
    step_result,
)


def enable_with_codes(
    ctx: RunContext, device: VirtualDevice, code1: str, code2: str, *, now: float | None = None
) -> StepResult:
    """Check two codes against the seed, then EnableMFADevice; forget the seed afterwards.

    Args:
        ctx: the run context.
        device: the device from ``device.ensure_virtual_device`` (with its seed).
        code1: MFA code 1.
        code2: MFA code 2, the code after code 1.
        now: the time to check the codes against (default: now).

    Returns:
        The device assigned.

    Raises:
        BadInput: the codes are malformed, repeated, swapped, stale or wrong (no call made).
        AwsError: IAM refused (``InvalidAuthenticationCode`` explained).
        RunInProgress: AWS refused the codes because another run replaced the device.
    """
    setup = device.setup
    checked = check_codes(device.held_seed().text(), code1, code2, now=now)
    try:
        aws.call(
            ctx.iam.enable_mfa_device,
            what=_("Assigning MFA device {serial}").format(serial=device.serial),
            fix=PERMISSIONS_FIX,
            fixes=FIXES,
            UserName=setup.user_name,
            SerialNumber=device.serial,
            AuthenticationCode1=checked.code1,
            AuthenticationCode2=checked.code2,
        )
    except AwsError as err:
        lease.enable_refused(ctx, device, err)  # another run replaced it: seed file set aside
        raise
    ctx.record.change("enable-mfa-device", device.serial)
    lease.after_enable(ctx, device)
    if any(m.step == SCAN_STEP for m in ctx.record.pending):
        scan_done(ctx, _("confirmed: the codes matched the device"))
    ctx.record.manual(ASSIGN_STEP, _("Type two codes and assign"), done=True, how=_("assigned"))
    device.forget()
    return step_result(
        ASSIGN_STEP,
        _("assigned {serial} to '{user}'").format(serial=device.serial, user=setup.user_name),
    )


def _stored_seed(ctx: RunContext, device: VirtualDevice) -> Secret:
    setup = device.setup
    if setup.action == "enable":
        return device.held_seed()
    if setup.seed_destination == "file":
        found = stored_seed_in_file(Path(setup.seed_location), device.serial, setup.user_name)
    else:
        found = stored_seed_in_secrets_manager(ctx, setup.seed_location, device.serial)
    if found is None:
        raise BadInput(
            _(
                "No seed of {serial} in {destination} {location}: "
                "resync it in JupyterLab with two codes from the app."
            ).format(
                serial=device.serial,
                destination=setup.seed_destination,
                location=setup.seed_location,
            )
        )
    return found


def ensure_assigned(
    ctx: RunContext,
    device: VirtualDevice,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> StepResult:
    """Type two codes and assign (or resync) the device (Step 8).

    Interactive: a form with two code boxes and an Assign button (``live.offer_codes``).
    Headless: the stored seed or the sandbox's virtual authenticator gives the codes of the
    previous and the current window (no 30-second wait; at most about 2.5 s near a window's
    end).

    Args:
        ctx: the run context.
        device: the result of ``device.ensure_virtual_device``.
        clock: returns the current Unix time (injectable for tests).
        sleep: sleeps for the given seconds (injectable for tests).

    Returns:
        What happened.

    Raises:
        BadInput: refused codes, or no stored seed to resync with.
        AwsError: IAM refused.
    """
    setup = device.setup
    resync = setup.action == "resync"
    if setup.has_mfa:
        return step_result(ASSIGN_STEP, N_("nothing to assign: the user already has MFA"))
    if ctx.plan:
        action = "resync-mfa-device" if resync else "enable-mfa-device"
        ctx.record.would(ASSIGN_STEP, action, setup.serial, user=setup.user_arn)
        would = (
            _("would resync with two codes from the {source}")
            if resync
            else _("would assign with two codes from the {source}")
        )
        return step_result(ASSIGN_STEP, would.format(source=_(setup.codes_from)))
    if setup.codes_from == NOBODY:
        if resync:
            how = _("type two new codes in JupyterLab, or keep the seed in a seed_destination")
            ctx.record.manual(ASSIGN_STEP, _("Type two codes and resync"), done=False, how=how)
            return step_result(ASSIGN_STEP, _("pending: {how}").format(how=how))
        return step_result(ASSIGN_STEP, N_("not assigned: Step 6-7 is waiting for a person"))
    if setup.codes_from == PERSON:

        def submit(code1: str, code2: str) -> str:
            if resync:
                return repr(resync_with_codes(ctx, device, code1, code2))
            return repr(enable_with_codes(ctx, device, code1, code2))

        return offer_codes(ctx, device, submit)
    seed = _stored_seed(ctx, device)
    code1, code2 = recent_two_codes(seed, clock=clock, sleep=sleep)
    if resync:
        return resync_with_codes(ctx, device, code1, code2, seed=seed, now=clock())
    return enable_with_codes(ctx, device, code1, code2, now=clock())
