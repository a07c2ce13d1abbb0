"""S3's run marker: why two runs at once never delete each other's virtual MFA device.

A virtual device's serial is name-based (``arn:...:mfa/<device name>``), so a run that finds an
*unassigned* device of its name cannot tell a crashed run's leftover (seed lost: replace it)
from the device another run has just created and is about to enable (leave it alone). S3 uses
the one marker scheme of ``core.markers``: the user tag ``iam-runbooks:S3``.

The protocol, for the create/replace path (the only one that writes to a device):

1. Step 3 (``check_request``) reads the marker *before* listing the devices; another
   run's ``pending`` marker younger than the lease (and whose process is not gone) stops this
   run with ``RunInProgress`` before any write.
2. Just before the first device write, ``claim`` reads the marker again and applies the same
   lease check, then writes this run's own ``pending`` marker (TagUser). In the replace path it
   then lists the device once more: only a device still unassigned is deleted.
   A run about to *replace* a leftover waits ``SETTLE`` (1 s) after marking and reads the
   marker again: it goes on only if the marker is still its own.
3. CreateVirtualMFADevice follows; its ``EntityAlreadyExists`` is the final mutex: of two runs
   that both create, exactly one gets the name. The winner then checks that the marker is its
   own and writes it again if a losing run overwrote it.
4. After EnableMFADevice, ``release`` removes the marker (UntagUser). A run waiting for a person
   (JupyterLab: scan, then two codes) keeps its marker until Assign.

Why no interleaving of two runs A and B lets B delete A's device: B deletes only a device it
saw unassigned in a list made *after* its second marker read (2). A wrote its marker before it
created its device and removes it only after EnableMFADevice. So if A's device existed at B's
first list, A's marker was written before B's second read: B sees it and stops, unless A has
removed it already, in which case A enabled its device first and B's last list sees it assigned
and stops. If A's device did not exist at B's first list, either B plans a plain create, and
CreateVirtualMFADevice lets only one of them have the name, or both found a crashed run's
leftover and both mean to replace it: both passed their second read before either marked, so
each marker write overwrites the other's, and only the run whose marker is still there after
``SETTLE`` deletes anything; the other stops with ``RunInProgress``. This last case assumes no
run takes longer than ``SETTLE`` between its second marker read and its marker write (one IAM
round trip); IAM tags have no compare-and-set, so a timing bound is the most a tag can give.
On AWS, IAM's eventual consistency may also delay a tag's visibility to another reader.

A run whose device was deleted by another one anyway (a third run, a person) finds out at
Assign: AWS refuses its codes (``InvalidAuthenticationCode``), the marker is not its own, and
``stale_seed`` moves the seed file aside (kept, never looking valid) before it stops.

The lease (default 15 minutes, ``lease_minutes`` of ``check_request``) is not renewed while a
live notebook waits for a person: there is no code running to renew it. A person who takes longer
than the lease may see another run replace the device; Assign then fails as above and says to
run the notebook again from Step 3. A marker of a process that is gone on this host, or of this
very kernel (a re-run), never stops a run: its leftover is replaced as before.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from runbook_lib.core import aws, markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, RunInProgress
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import PENDING, Marker
from runbook_lib.core.secret_files import set_aside
from runbook_lib.virtual_mfa.state import VirtualDevice

MARKER_TAG = markers.PREFIX + "S3"
_WHY = "the tag keeps two runs from replacing each other's MFA device"
_FIX = "Check the caller's IAM permissions, then re-run."
#: seconds a run that replaces a leftover waits after marking before it reads the marker again
SETTLE = 1.0


def what(user_name: str) -> str:
    """The run in words, as ``check_lease`` names it."""
    return _("S3 on '{user_name}'").format(user_name=user_name)


def read(ctx: RunContext, user_name: str) -> tuple[Marker | None, int]:
    """The user's S3 marker (if any) and how many tags the user has.

    Raises:
        AwsError: IAM refused the read.
    """
    return markers.read_marker(ctx, user_name, MARKER_TAG)


def ours(ctx: RunContext, user_name: str, marker: Marker | None) -> bool:
    """Whether ``marker`` was written by this run: its run field and a valid MAC (a forged
    tag that copies this run's ID is not this run's)."""
    return markers.ours(ctx, user_name, MARKER_TAG, marker)


def _still_unassigned(ctx: RunContext, serial: str) -> bool:
    listed = aws.items(
        ctx.iam,
        "list_virtual_mfa_devices",
        "VirtualMFADevices",
        what=_("Listing the unassigned MFA devices"),
        fix=_FIX,
        AssignmentStatus="Unassigned",
    )  # never touch its other fields (moto: the seed)
    return any(str(d["SerialNumber"]) == serial for d in listed)


def claim(
    ctx: RunContext,
    user_name: str,
    user_arn: str,
    serial: str,
    *,
    lease: timedelta,
    replacing: bool = False,
) -> bool:
    """Before the first device write: check the lease again, mark the user pending (TagUser).

    Args:
        ctx: the run context.
        user_name: the IAM user.
        user_arn: the user's ARN (for the run record).
        serial: the device's serial.
        lease: how long another run's marker keeps this run away.
        replacing: the run is about to delete a leftover: wait ``SETTLE`` seconds after
            marking, then go on only if the marker is still this run's.

    Returns:
        Whether the unassigned device ``serial`` is still there (the replace path deletes it
        only then).

    Raises:
        RunInProgress: another run marked the user since Step 3 (nothing was changed), or
            assigned the device meanwhile.
        AwsError: IAM refused.
    """
    marker, _count = read(ctx, user_name)
    markers.check_lease(ctx, marker, what=what(user_name), lease=lease)
    markers.write_marker(
        ctx, user_name, MARKER_TAG, markers.new_marker(ctx, PENDING), resource=user_arn, why=_WHY
    )
    if replacing:  # of two runs replacing the same leftover, only the last to mark goes on
        time.sleep(SETTLE)
        marker, _count = read(ctx, user_name)
        if not ours(ctx, user_name, marker):
            markers.check_lease(ctx, marker, what=what(user_name), lease=lease)
    return _still_unassigned(ctx, serial)


def reassert(ctx: RunContext, user_name: str, user_arn: str) -> None:
    """After CreateVirtualMFADevice: write this run's marker again if another run overwrote it.

    That run lost the name (``EntityAlreadyExists``) and stopped; its marker would be taken for
    a crashed run's once its process ends, while this run still holds an unassigned device.

    Raises:
        AwsError: IAM refused.
    """
    marker, _count = read(ctx, user_name)
    if not ours(ctx, user_name, marker):
        markers.write_marker(
            ctx,
            user_name,
            MARKER_TAG,
            markers.new_marker(ctx, PENDING),
            resource=user_arn,
            why=_WHY,
        )


def release(ctx: RunContext, user_name: str, user_arn: str) -> None:
    """After EnableMFADevice: remove the marker (UntagUser); one write, recorded.

    Raises:
        AwsError: IAM refused (the device is assigned; a re-run removes the marker).
    """
    markers.clear_marker(
        ctx,
        user_name,
        MARKER_TAG,
        fix=_("The caller needs iam:UntagUser; the device is assigned: re-run to remove the tag."),
    )
    ctx.record.change("clear-mfa-marker", user_arn)


def stale_seed(ctx: RunContext, user_name: str, serial: str, seed_file: str, err: AwsError) -> None:
    """AWS refused codes made from this run's seed: if another run took the device, say so.

    When the user's marker is no longer this run's, another run replaced the device (same
    serial, new seed): the seed file this run wrote is moved aside (kept, never looking
    valid) and the run stops with ``RunInProgress``. Otherwise nothing happens (the caller
    re-raises ``err``: a clock or typing problem).

    Raises:
        RunInProgress: another run replaced the device.
    """
    if err.aws_code != "InvalidAuthenticationCode":
        return
    marker, _count = read(ctx, user_name)
    if ours(ctx, user_name, marker):
        return
    aside = ""
    if seed_file and Path(seed_file).exists():
        moved = set_aside(Path(seed_file))
        aside = str(moved)
        ctx.record.repair(
            "set-aside-stale-seed-file",
            aside,
            f"{seed_file} held the seed of {serial} before another run replaced that device",
        )
    kept = _(" The seed file this run wrote was moved to {aside}.").format(aside=aside)
    raise RunInProgress(
        _(
            "AWS refused the codes for {serial} (IAM InvalidAuthenticationCode): another run "
            "({other}) replaced the device after this run created it, so this run's seed is "
            "not the device's.{kept} Run the notebook again from Step 3 once that run has "
            "ended."
        ).format(
            serial=serial,
            other=marker.describe() if marker else _("its marker is gone"),
            kept=kept if aside else "",
        )
    ) from err


def after_enable(ctx: RunContext, device: VirtualDevice) -> None:
    """EnableMFADevice succeeded: remove the marker this run (or a dead one) left on the user.

    Raises:
        AwsError: IAM refused.
    """
    if device.marked:
        release(ctx, device.setup.user_name, device.setup.user_arn)


def enable_refused(ctx: RunContext, device: VirtualDevice, err: AwsError) -> None:
    """EnableMFADevice failed: when another run replaced the device, set the seed file aside.

    Raises:
        RunInProgress: another run replaced the device (the caller re-raises ``err`` otherwise).
    """
    setup = device.setup
    if not device.marked or setup.leftover == "reuse":
        return
    seed_file = setup.seed_location if setup.seed_destination == "file" else ""
    stale_seed(ctx, setup.user_name, device.serial, seed_file, err)
