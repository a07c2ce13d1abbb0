"""S3 Steps 6-8 for a person: the QR code, the code form, and the lines Assign MFA changes.

Interactive, a person scans the QR code (Steps 6-7) and types two codes into a form (Step 8);
headless, the holder of the stored seed (or the sandbox's virtual authenticator) stands in for
the phone; otherwise the scan is recorded as pending for a person. In a live notebook the lines
of Steps 7 and 8 say where the QR code and the form are (in the same cell, above the line) and
are live (``widgets.live``): once Assign MFA worked they go, and the QR panel and the form
above them say what was done (each result once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.otpauth import key_uri, qr_png
from runbook_lib.core.record import RunRecord
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret
from runbook_lib.virtual_mfa.state import (
    ASSIGN_STEP,
    NOBODY,
    PERSON,
    SCAN_STEP,
    STORED_SEED,
    VirtualDevice,
    step_result,
)
from runbook_lib.widgets.live import LiveRepr

SCAN_TITLE = N_("Scan the QR code with an authenticator app")


@dataclass(frozen=True, repr=False)  # keeps the parent's repr
class WaitingStepResult(LiveRepr, StepResult):
    """A step that waits for a person in a live notebook: its line until the record says the
    step is done, then nothing (the widget above it, in the same cell, says what was done)."""

    step: str = field(default="", compare=False)
    record: RunRecord = field(default_factory=RunRecord, compare=False)

    @property
    def live_key(self) -> str:
        """One live line per step."""
        return self.step

    def live_text(self) -> str:
        """The waiting line, or ``""`` once the record has the step done."""
        done = any(m.step == self.step and m.status == "done" for m in self.record.manual_steps)
        return "" if done else repr(self)


def _waiting(ctx: RunContext, step: str, status: str) -> WaitingStepResult:
    return WaitingStepResult(step_result(step, status).text, step, ctx.record)


def scan_done(ctx: RunContext, how: str) -> None:
    """Record Steps 6-7 as done (the device is in an authenticator, or stands in for one)."""
    ctx.record.manual(SCAN_STEP, _("Add the device to an authenticator app"), done=True, how=how)


def show_device(ctx: RunContext, device: VirtualDevice) -> StepResult:
    """Put the new device into an authenticator (Steps 6-7): the QR code for a person.

    Interactive, shows the QR code with the secret key behind Reveal (and, on the sandbox, the
    virtual authenticator). Headless, the stored seed or the virtual authenticator stands in
    for the phone; with neither, the step is recorded as pending (exit code 3).

    Args:
        ctx: the run context.
        device: the result of ``device.ensure_virtual_device``.

    Returns:
        What happened.

    Raises:
        BadInput: the device's seed is no longer in this kernel (re-run from Step 3).
    """
    setup = device.setup
    if setup.has_mfa or setup.action == "resync":
        return step_result(SCAN_STEP, N_("nothing to scan: the app already has this device"))
    if ctx.plan:
        if setup.codes_from == NOBODY:
            return step_result(SCAN_STEP, N_("would wait for a person to scan the QR code"))
        return step_result(
            SCAN_STEP,
            _("would add the device to an app ({source})").format(source=_(setup.codes_from)),
        )
    if setup.codes_from == NOBODY:
        how = _(
            "a person must scan the QR code: open this notebook in JupyterLab, or choose "
            "seed_destination file/secretsmanager for a seed kept in a vault; nothing was created"
        )
        ctx.record.manual(SCAN_STEP, _(SCAN_TITLE), done=False, how=how)
        return step_result(SCAN_STEP, _("pending: {how}").format(how=how))
    if setup.codes_from == STORED_SEED:
        where = setup.seed_destination
        scan_done(ctx, _("the seed is kept in {where}: its holder makes codes").format(where=where))
        return step_result(SCAN_STEP, N_("the stored seed stands in for the phone"))
    if setup.codes_from != PERSON:
        scan_done(ctx, _("sandbox: the virtual authenticator plays the phone (simulated)"))
        return step_result(SCAN_STEP, N_("sandbox: the virtual authenticator plays the phone"))
    from runbook_lib import widgets

    seed = device.held_seed()
    uri = device.uri or Secret(
        "otpauth-uri",
        key_uri(seed.text(), setup.user_name, setup.account_id, setup.issuer),
        setup.user_name,
    )
    qr = Secret("qr-png", qr_png(uri.text()), setup.user_name)
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
    return _waiting(
        ctx,
        SCAN_STEP,
        N_(
            "scan the QR code above with the app (or type its secret key), then type two codes "
            "in Step 8"
        ),
    )


def offer_codes(
    ctx: RunContext, device: VirtualDevice, submit: Callable[[str, str], str]
) -> StepResult:
    """Step 8 for a person: a form with two code boxes and an Assign (or Resync) button.

    Args:
        ctx: the run context.
        device: the result of ``device.ensure_virtual_device``.
        submit: assigns (or resyncs) the device with the two typed codes; returns the line the
            form shows.

    Returns:
        The waiting line, which Assign MFA replaces in place with what was done.
    """
    from runbook_lib import widgets

    setup = device.setup
    resync = setup.action == "resync"
    label = _("Resync MFA") if resync else _("Assign MFA")
    widgets.show(widgets.CodeForm(f"{label}: {device.serial}", submit, label))
    how = _("type two consecutive codes in Step 8's form and press {label}").format(label=label)
    title = _("Type two codes and resync") if resync else _("Type two codes and assign")
    ctx.record.manual(ASSIGN_STEP, title, done=False, how=how)
    return _waiting(
        ctx,
        ASSIGN_STEP,
        _("waiting: type two consecutive codes in the form above and press {label}").format(
            label=label
        ),
    )
