"""S3's crash-and-concurrency marker (``core.markers``): a device is being made for this user.

Before a run deletes an unassigned leftover or creates a device, it tags the user
``iam-runbooks:virtual-mfa = pending:<UTC time>:<run>:<caller>``; once the device is assigned
the tag goes. Another run that meets a pending marker younger than the lease stops in Step 3
(that run may be showing its QR code or storing its seed right now), so it never replaces a
device whose seed someone is about to hold. An older marker, or one whose process is gone, is
an earlier run's: its unassigned device is replaced as before.
"""

from __future__ import annotations

from datetime import timedelta

from runbook_lib.core import markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.markers import PENDING, new_marker

MARKER_TAG = "iam-runbooks:virtual-mfa"
_WHY = "the tag keeps two runs from making the same device"


def check(ctx: RunContext, user_name: str, lease: timedelta, *, will_create: bool) -> None:
    """Step 3: stop before any write while another run is making this user's device.

    Raises:
        RunInProgress: another run's marker is younger than ``lease``.
        BadInput: the user has 50 tags and a device is to be made.
        AwsError: IAM refused the read.
    """
    marker, tag_count = markers.read_marker(ctx, user_name, MARKER_TAG)
    markers.check_lease(ctx, marker, what=f"S3 on '{user_name}'", lease=lease)
    if will_create:
        markers.check_tag_room(user_name, MARKER_TAG, marker, tag_count)


def mark(ctx: RunContext, user_name: str) -> None:
    """Tag the user pending (one write) before a device is deleted or created."""
    resource = ctx.arn("user", user_name)
    marker = new_marker(ctx, PENDING)
    markers.write_marker(ctx, user_name, MARKER_TAG, marker, resource=resource, why=_WHY)


def ours(ctx: RunContext, user_name: str) -> bool:
    """Whether the user's marker is this run's (another run may have written its own)."""
    marker, _ = markers.read_marker(ctx, user_name, MARKER_TAG)
    return marker is not None and marker.run_id == markers.run_tag(ctx.record.run_id)


def clear(ctx: RunContext, user_name: str) -> None:
    """Remove the marker if the user has one (one write then)."""
    marker, _ = markers.read_marker(ctx, user_name, MARKER_TAG)
    if marker is None:
        return
    fix = f"The caller needs iam:UntagUser ({_WHY}); the device is assigned already."
    markers.clear_marker(ctx, user_name, MARKER_TAG, fix=fix)
    ctx.record.change("clear-virtual-mfa-marker", ctx.arn("user", user_name))
