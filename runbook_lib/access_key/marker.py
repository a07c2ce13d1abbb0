"""The marker that makes key creation crash-safe: the user's ``iam-runbooks:access-key`` tag.

IAM shows a secret access key only in the CreateAccessKey response. A run that dies between
that response and the delivery of the secret leaves a key whose secret nobody holds. To tell
such a key apart from one somebody created elsewhere, the runbook tags the user *before*
CreateAccessKey with the marker (``core.markers``) ``iam-runbooks:access-key = pending:<UTC
time>:<run>:<caller>:<keys present>:<destination kind>:m=<MAC>:<exact destination>`` and
replaces it with ``delivered:…:<key ID>:…`` once the secret is at its destination. A later run
that finds ``pending`` treats a key that was not present before, was created within minutes of
the marker and was never used as the dead run's key. Whether nobody holds its secret is decided
only from a *verified* marker (its MAC checks out with this user's marker key) that names this
run's destination, checked: the secret is not there. Such an orphan is deleted, and the run
record says so. Any other evidence (no MAC: forged, an older version; another key: another
machine; another destination: another secrets folder) proves nothing: the run stops before any
write, naming ``repair deactivate`` (switch the key off, reversible), ``delivered_here`` and
``check_request`` say how.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from runbook_lib.access_key.destination import Destination
from runbook_lib.access_key.state import KeyInfo
from runbook_lib.core import markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.markers import PENDING, Marker, new_marker

MARKER_TAG = "iam-runbooks:access-key"
#: how far a key's CreateDate may lie from the marker's time and still be the dead run's key
#: (AWS refuses requests signed with a clock more than 5 minutes off)
ORPHAN_BEFORE = timedelta(minutes=5)
ORPHAN_AFTER = timedelta(minutes=15)


def key_marker(
    state: str,
    moment: datetime,
    keys: tuple[str, ...],
    destination: str,
    run_id: str = "",
    by: str = "",
    place: str = "",
) -> Marker:
    """An S2 marker: its fields are the keys present before and the destination's kind;
    ``place`` is the exact destination (``location``)."""
    return Marker(state, moment, run_id, by, ("+".join(keys) or "none", destination), place)


def location(ctx: RunContext, dest: Destination) -> str:
    """The exact destination a marker names: the CSV's absolute resolved path, the Secrets
    Manager secret's ARN (without AWS's random suffix), or ``widget``."""
    if dest.kind == "file" and dest.path is not None:
        return os.path.realpath(dest.path)
    if dest.kind == "secretsmanager":
        region = ctx.spec.region
        return f"arn:aws:secretsmanager:{region}:{ctx.account_id}:secret:{dest.secret_name}"
    return dest.kind


def run_marker(ctx: RunContext, state: str, keys: tuple[str, ...], dest: Destination) -> Marker:
    """An S2 marker of this run (now, its run ID and caller, the exact destination)."""
    return new_marker(
        ctx, state, "+".join(keys) or "none", dest.kind, destination=location(ctx, dest)
    )


def delivered_here(ctx: RunContext, marker: Marker, dest: Destination) -> bool:
    """Whether ``marker`` is verified evidence about this run's destination.

    True when its MAC checks out (these runbooks wrote it, with this user's marker key, for
    this account and user) and it names this run's destination: the same CSV file, or another
    ``<account>-<user>_accessKeys*.csv`` of the same folder (a rotation's file carries its
    date), or the same secret. Only then can this run check that destination and know that
    nobody holds a secret missing from it.

    Raises:
        BadInput: the marker key is not private to this user.
    """
    if not markers.verified(ctx, dest.user_name, MARKER_TAG, marker):
        return False
    here = location(ctx, dest)
    if marker.names(here):
        return True
    if dest.kind != "file" or marker_destination(marker) != "file":
        return False
    named = Path(marker.destination)
    return (
        named.is_absolute()
        and str(named.parent) == str(Path(here).parent)
        and named.name.startswith(dest.file_prefix)
    )


def marker_keys(marker: Marker) -> tuple[str, ...]:
    """The keys the user had when the marker was written."""
    keys = marker.fields[0] if marker.fields else "none"
    return () if keys == "none" else tuple(keys.split("+"))


def marker_destination(marker: Marker) -> str:
    """The destination kind the marked run was delivering to."""
    return marker.fields[1] if len(marker.fields) > 1 else ""


def marker_place(marker: Marker) -> str:
    """Where the marked run was delivering, in words (its exact destination when named)."""
    return marker.place or marker_destination(marker) or "an unknown destination"


def could_have_made(marker: Marker, key: KeyInfo) -> bool:
    """Whether ``key`` may be the one the run that wrote this pending marker created."""
    return (
        marker.state == PENDING
        and marker.moment is not None
        and key.key_id not in marker_keys(marker)
        and marker.moment - ORPHAN_BEFORE <= key.created <= marker.moment + ORPHAN_AFTER
    )


def read_marker(ctx: RunContext, user_name: str) -> tuple[Marker | None, int]:
    """The user's S2 marker (if any) and how many tags the user has.

    Raises:
        AwsError: IAM refused the read.
    """
    return markers.read_marker(ctx, user_name, MARKER_TAG, 2)


def write_marker(ctx: RunContext, user_name: str, user_arn: str, marker: Marker | None) -> None:
    """Set (or, with ``None``, remove) the user's S2 marker tag; one IAM write.

    Raises:
        AwsError: IAM refused.
    """
    why = "the tag makes key creation crash-safe"
    if marker is None:
        fix = f"The caller needs iam:TagUser and iam:UntagUser ({why})."
        what = f"Tagging '{user_name}' with {MARKER_TAG}"
        markers.clear_marker(ctx, user_name, MARKER_TAG, what=what, fix=fix)
        ctx.record.change("clear-access-key-marker", user_arn)
    else:
        markers.write_marker(ctx, user_name, MARKER_TAG, marker, resource=user_arn, why=why)


def check_tag_room(user_name: str, marker: Marker | None, tag_count: int) -> None:
    """Refuse before any write when the marker tag would exceed IAM's 50 tags per user.

    Raises:
        BadInput: the user has 50 tags and none is the marker.
    """
    markers.check_tag_room(user_name, MARKER_TAG, marker, tag_count)
