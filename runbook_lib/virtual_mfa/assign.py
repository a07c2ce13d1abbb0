"""S3 Steps 6-8: put the device in an authenticator, then assign (or resync) it with two codes.

The two codes are checked against the seed (``totp.check_codes``) before any call, so a typo,
a swapped, repeated or stale pair is refused in plain words and nothing is sent to AWS.
Interactive, a person scans the QR code and types the codes into a form; headless, the holder
of the stored seed (or the sandbox's virtual authenticator) computes them; otherwise the step
is recorded as pending for a person. In a live notebook the lines of Steps 7 and 8 say where
the QR code and the form are (in the same cell, above the line) and are live
(``widgets.live``): Assign MFA replaces them in place with what was done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.core import aws, totp
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.record import RunRecord
from runbook_lib.core.secrets import Secret
from runbook_lib.virtual_mfa import lease
from runbook_lib.virtual_mfa.resync import ASSIGN_STEP, FIXES, resync_with_codes
from runbook_lib.virtual_mfa.seed import (
    recent_two_codes,
    stored_seed_in_file,
    stored_seed_in_secrets_manager,
)
from runbook_lib.virtual_mfa.setup import (
    NOBODY,
    PERMISSIONS_FIX,
    PERSON,
    STORED_SEED,
)
from runbook_lib.virtual_mfa.state import StepOutcome, VirtualDevice
from runbook_lib.widgets.live import LiveRepr

SCAN_STEP = "S3.7"
SCAN_TITLE = N_("Scan the QR code with an authenticator app")


@dataclass(frozen=True, repr=False)  # keeps the parent\'s repr
class LiveStepOutcome(LiveRepr, StepOutcome):
    """A step that waits for a person in a live notebook: ``status`` until the record says the
    step is done, then ``done_status``."""

    record: RunRecord = field(default_factory=RunRecord, repr=False, compare=False)
    done_status: str = field(default="done", repr=False, compare=False)

    @property
    def live_key(self) -> str:
        """One live line per step."""
        return self.step

    def live_text(self) -> str:
        """The waiting line, or the done line once the record has the step done."""
        done = any(m.step == self.step and m.status == "done" for m in self.record.manual_steps)
        return repr(StepOutcome(self.step, self.done_status)) if done else repr(self)


def _scan_done(ctx: RunContext, how: str) -> None:
    ctx.record.manual(SCAN_STEP, _("Add the device to an authenticator app"), done=True, how=how)


def show_device(ctx: RunContext, device: VirtualDevice) -> StepOutcome:
    """Put the new device into an authenticator (Steps 6-7): the QR code for a person.

    Interactive, shows the QR code with the secret key behind Reveal (and, on the sandbox, the
    virtual authenticator). Headless, the stored seed or the virtual authenticator stands in
    for the phone; with neither, the step is recorded as pending (exit code 3).

    Args:
        ctx: the run context.
        device: the result of ``mfa_device.ensure_virtual_device``.

    Returns:
        What happened.

    Raises:
        BadInput: the device's seed is no longer in this kernel (re-run from Step 3).
    """
    setup = device.setup
    if setup.has_mfa or setup.action == "resync":
        return StepOutcome(SCAN_STEP, N_("nothing to scan: the app already has this device"))
    if ctx.plan:
        if setup.codes_from == NOBODY:
            return StepOutcome(SCAN_STEP, N_("would wait for a person to scan the QR code"))
        return StepOutcome(
            SCAN_STEP,
            _("would add the device to an app ({source})").format(source=setup.codes_from),
        )
    if setup.codes_from == NOBODY:
        how = _(
            "a person must scan the QR code: open this notebook in JupyterLab, or choose "
            "seed_destination file/secretsmanager for a seed kept in a vault; nothing was created"
        )
        ctx.record.manual(SCAN_STEP, _(SCAN_TITLE), done=False, how=how)
        return StepOutcome(SCAN_STEP, _("pending: {how}").format(how=how))
    if setup.codes_from == STORED_SEED:
        where = setup.seed_destination
        _scan_done(
            ctx, _("the seed is kept in {where}: its holder makes codes").format(where=where)
        )
        return StepOutcome(SCAN_STEP, N_("the stored seed stands in for the phone"))
    if setup.codes_from != PERSON:
        _scan_done(ctx, _("sandbox: the virtual authenticator plays the phone (simulated)"))
        return StepOutcome(SCAN_STEP, N_("sandbox: the virtual authenticator plays the phone"))
    from runbook_lib import widgets

    seed = _seed(device)
    uri = device.uri or Secret(
        "otpauth-uri",
        totp.key_uri(seed.text(), setup.user_name, setup.account_id, setup.issuer),
        setup.user_name,
    )
    qr = Secret("qr-png", totp.qr_png(uri.text()), setup.user_name)
    device.secrets.extend([uri, qr])
    title = _("Virtual MFA device of {user}").format(user=setup.user_name)
    panel = widgets.QrPanel(qr, seed, title)
    device.on_forget.append(panel.clear)
    widgets.show(panel)
    if ctx.sandbox and setup.virtual_authenticator:
        phone = widgets.VirtualAuthenticator(ctx, seed, f"{setup.issuer}:{setup.user_name}")
        device.on_forget.append(phone.stop)
        widgets.show(phone)
    ctx.record.manual(
        SCAN_STEP,
        _(SCAN_TITLE),
        done=False,
        how=_("scan the QR code (or type the secret key), then type two codes in Step 8"),
    )
    return LiveStepOutcome(
        SCAN_STEP,
        N_(
            "scan the QR code above with the app (or type its secret key), then type two codes "
            "in Step 8"
        ),
        ctx.record,
        N_("the app has the device (its codes matched); the QR code is gone from the page"),
    )


def _seed(device: VirtualDevice) -> Secret:
    if device.seed is None or device.seed.dropped:
        raise BadInput(
            _(
                "The device's seed is no longer in this kernel: run the notebook again from "
                "Step 3 (an unassigned device is replaced)."
            )
        )
    return device.seed


def enable_with_codes(
    ctx: RunContext, device: VirtualDevice, code1: str, code2: str, *, now: float | None = None
) -> StepOutcome:
    """Check two codes against the seed, then EnableMFADevice; forget the seed afterwards.

    Args:
        ctx: the run context.
        device: the device from ``mfa_device.ensure_virtual_device`` (with its seed).
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
    checked = totp.check_codes(_seed(device).text(), code1, code2, now=now)
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
        _scan_done(ctx, _("confirmed: the codes matched the device"))
    ctx.record.manual(ASSIGN_STEP, _("Type two codes and assign"), done=True, how=_("assigned"))
    device.forget()
    return StepOutcome(
        ASSIGN_STEP,
        _("assigned {serial} to '{user}'").format(serial=device.serial, user=setup.user_name),
    )


def _stored_seed(ctx: RunContext, device: VirtualDevice) -> Secret:
    setup = device.setup
    if setup.action == "enable":
        return _seed(device)
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


def assign(
    ctx: RunContext,
    device: VirtualDevice,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> StepOutcome:
    """Type two codes and assign (or resync) the device (Step 8).

    Interactive: a form with two code boxes and an Assign button. Headless: the stored seed or
    the sandbox's virtual authenticator gives the codes of the previous and the current window
    (no 30-second wait; at most about 2.5 s near a window's end).

    Args:
        ctx: the run context.
        device: the result of ``mfa_device.ensure_virtual_device``.
        clock: returns the current Unix time (injectable for tests).
        sleep: sleeps for the given seconds (injectable for tests).

    Returns:
        What happened.

    Raises:
        BadInput: refused codes, or no stored seed to resync with.
        AwsError: IAM refused.
    """
    setup = device.setup
    verb = "resync" if setup.action == "resync" else "assign"
    if setup.has_mfa:
        return StepOutcome(ASSIGN_STEP, N_("nothing to assign: the user already has MFA"))
    if ctx.plan:
        would = (
            _("would resync with two codes from the {source}")
            if verb == "resync"
            else _("would assign with two codes from the {source}")
        )
        return StepOutcome(ASSIGN_STEP, would.format(source=setup.codes_from))
    if setup.codes_from == NOBODY:
        if setup.action == "resync":
            how = _("type two new codes in JupyterLab, or keep the seed in a seed_destination")
            ctx.record.manual(ASSIGN_STEP, _("Type two codes and resync"), done=False, how=how)
            return StepOutcome(ASSIGN_STEP, _("pending: {how}").format(how=how))
        return StepOutcome(ASSIGN_STEP, N_("not assigned: Step 6-7 is waiting for a person"))
    if setup.codes_from == PERSON:
        from runbook_lib import widgets

        def submit(code1: str, code2: str) -> str:
            if setup.action == "resync":
                return repr(resync_with_codes(ctx, device, code1, code2))
            return repr(enable_with_codes(ctx, device, code1, code2))

        resync = setup.action == "resync"
        label = _("Resync MFA") if resync else _("Assign MFA")
        widgets.show(widgets.CodeForm(f"{label}: {device.serial}", submit, label))
        how = _("type two consecutive codes in Step 8's form and press {label}").format(label=label)
        title = _("Type two codes and resync") if resync else _("Type two codes and assign")
        ctx.record.manual(ASSIGN_STEP, title, done=False, how=how)
        done = _("resynced {serial} to '{user}'") if resync else _("assigned {serial} to '{user}'")
        return LiveStepOutcome(
            ASSIGN_STEP,
            _("waiting: type two consecutive codes in the form above and press {label}").format(
                label=label
            ),
            ctx.record,
            done.format(serial=device.serial, user=setup.user_name),
        )
    seed = _stored_seed(ctx, device)
    code1, code2 = recent_two_codes(seed, clock=clock, sleep=sleep)
    if setup.action == "resync":
        return resync_with_codes(ctx, device, code1, code2, seed=seed, now=clock())
    return enable_with_codes(ctx, device, code1, code2, now=clock())
