"""A user's access keys as read from IAM, and the marker that makes key creation crash-safe.

IAM shows a secret access key only in the CreateAccessKey response. A run that dies between
that response and the delivery of the secret leaves a key whose secret nobody holds. To tell
such a key apart from one somebody created elsewhere, the runbook tags the user *before*
CreateAccessKey with ``iam-runbooks:access-key = pending:<UTC time>:<keys present>:<destination>``
and replaces the value with ``delivered:<UTC time>:<key ID>:<destination>`` once the secret is
at its destination. A later run that finds ``pending`` treats a key that was not present
before, was created within minutes of the marker, was never used and whose secret is not at the
destination as an orphan of the dead run: it is deleted, and the run record says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, from_client_error
from runbook_lib.core.secrets import Secret
from runbook_lib.core.sinks import Destination

MARKER_TAG = "iam-runbooks:access-key"
PENDING, DELIVERED = "pending", "delivered"
#: how far a key's CreateDate may lie from the marker's time and still be the dead run's key
#: (AWS refuses requests signed with a clock more than 5 minutes off)
ORPHAN_BEFORE = timedelta(minutes=5)
ORPHAN_AFTER = timedelta(minutes=15)
MAX_USER_TAGS = 50
_STAMP = "%Y%m%dT%H%M%SZ"


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    """A compact UTC time that IAM tag values accept (``20240131T235959Z``)."""
    return moment.astimezone(timezone.utc).strftime(_STAMP)


@dataclass(frozen=True)
class KeyInfo:
    """One access key of a user (never its secret)."""

    key_id: str
    status: str
    created: datetime
    last_used: datetime | None = None
    service: str = ""

    def age_days(self, now: datetime) -> int:
        """Whole days since the key was created."""
        return max(0, (now - self.created).days)

    def describe(self, now: datetime) -> str:
        """``AKIA… Active, 12 days old, last used 2024-05-01 (s3)`` or ``…, never used``."""
        used = (
            f"last used {self.last_used:%Y-%m-%d} ({self.service or 'unknown service'})"
            if self.last_used
            else "never used"
        )
        return f"{self.key_id} {self.status}, {self.age_days(now)} days old, {used}"


@dataclass(frozen=True)
class Marker:
    """The value of the user's ``iam-runbooks:access-key`` tag."""

    state: str
    moment: datetime
    keys: tuple[str, ...]
    destination: str

    def value(self) -> str:
        """The tag value (only characters IAM allows in tags)."""
        keys = "+".join(self.keys) or "none"
        return f"{self.state}:{stamp(self.moment)}:{keys}:{self.destination}"

    @classmethod
    def parse(cls, value: str) -> Marker | None:
        """Read a tag value; ``None`` when it is not one this runbook wrote."""
        parts = value.split(":")
        if len(parts) != 4 or parts[0] not in (PENDING, DELIVERED):
            return None
        try:
            moment = datetime.strptime(parts[1], _STAMP).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        keys = () if parts[2] == "none" else tuple(parts[2].split("+"))
        return cls(parts[0], moment, keys, parts[3])

    def could_have_made(self, key: KeyInfo) -> bool:
        """Whether ``key`` may be the one the run that wrote this pending marker created."""
        return (
            self.state == PENDING
            and key.key_id not in self.keys
            and self.moment - ORPHAN_BEFORE <= key.created <= self.moment + ORPHAN_AFTER
        )


def unfinished_rotation(
    keys: list[KeyInfo], marker: Marker | None, delete_old: bool
) -> KeyInfo | None:
    """The key a rotation delivered but whose old key it never retired (the run stopped).

    That is: the marker says ``delivered`` for a key that is Active, and an older key is
    Active too (with ``delete_old``: still exists). The caller must still find the key's secret
    at the destination.
    """
    if marker is None or marker.state != DELIVERED or len(marker.keys) != 1:
        return None
    new = next((k for k in keys if k.key_id == marker.keys[0] and k.status == "Active"), None)
    if new is None:
        return None
    older = [
        k
        for k in keys
        if k is not new and (delete_old or k.status == "Active") and k.created <= new.created
    ]
    return new if older else None


def read_keys(ctx: RunContext, user_name: str) -> list[KeyInfo]:
    """The user's access keys with their last use, oldest first.

    Raises:
        AwsError: IAM refused a read.
    """
    iam = ctx.iam
    keys: list[KeyInfo] = []
    try:
        for meta in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]:
            used: dict[str, Any] = iam.get_access_key_last_used(AccessKeyId=meta["AccessKeyId"])[
                "AccessKeyLastUsed"
            ]
            service = str(used.get("ServiceName", ""))
            keys.append(
                KeyInfo(
                    key_id=str(meta["AccessKeyId"]),
                    status=str(meta["Status"]),
                    created=meta["CreateDate"].astimezone(timezone.utc),
                    last_used=used.get("LastUsedDate"),
                    service="" if service == "N/A" else service,
                )
            )
    except ClientError as err:
        raise from_client_error(
            err,
            f"Reading the access keys of '{user_name}'",
            "The caller needs iam:ListAccessKeys and iam:GetAccessKeyLastUsed.",
        ) from err
    return sorted(keys, key=lambda k: k.created)


def read_marker(ctx: RunContext, user_name: str) -> tuple[Marker | None, int]:
    """The user's marker (if any) and how many tags the user has.

    Raises:
        AwsError: IAM refused the read.
    """
    try:
        tags = ctx.iam.list_user_tags(UserName=user_name)["Tags"]
    except ClientError as err:
        raise from_client_error(
            err, f"Reading the tags of '{user_name}'", "The caller needs iam:ListUserTags."
        ) from err
    value = next((str(t["Value"]) for t in tags if t["Key"] == MARKER_TAG), "")
    return (Marker.parse(value) if value else None), len(tags)


def write_marker(ctx: RunContext, user_name: str, user_arn: str, marker: Marker | None) -> None:
    """Set (or, with ``None``, remove) the user's marker tag; one IAM write.

    Raises:
        AwsError: IAM refused.
    """
    try:
        if marker is None:
            ctx.iam.untag_user(UserName=user_name, TagKeys=[MARKER_TAG])
            ctx.record.change("clear-access-key-marker", user_arn)
        else:
            ctx.iam.tag_user(
                UserName=user_name, Tags=[{"Key": MARKER_TAG, "Value": marker.value()}]
            )
            ctx.record.change(f"mark-access-key-{marker.state}", user_arn)
    except ClientError as err:
        raise from_client_error(
            err,
            f"Tagging '{user_name}' with {MARKER_TAG}",
            "The caller needs iam:TagUser and iam:UntagUser (the tag makes key creation "
            "crash-safe).",
        ) from err


def check_tag_room(user_name: str, marker: Marker | None, tag_count: int) -> None:
    """Refuse before any write when the marker tag would exceed IAM's 50 tags per user.

    Raises:
        BadInput: the user has 50 tags and none is the marker.
    """
    if marker is None and tag_count >= MAX_USER_TAGS:
        raise BadInput(
            f"User '{user_name}' has {tag_count} tags, the most IAM allows, and this runbook "
            f"needs one ({MARKER_TAG}) to create a key crash-safely: remove one tag, then re-run."
        )


CONSOLE_USER_WARNING = (
    "User '{user}' can sign in to the console: AWS and CIS 1.11 (Prowler "
    "iam_user_no_setup_initial_access_key) advise against access keys for console users at "
    "set-up; prefer IAM Identity Center or temporary credentials where they serve."
)


@dataclass(frozen=True)
class KeyPlan:
    """Steps 1–3: the user, their keys, and what this run will do (read-only)."""

    user_name: str
    user_arn: str
    mode: str
    delete_old: bool
    destination: Destination
    keys: tuple[KeyInfo, ...]
    console_user: bool
    action: str  # "none" | "create" | "resume"
    marker: Marker | None = None
    orphans: tuple[KeyInfo, ...] = ()
    adopted: KeyInfo | None = None
    kept: tuple[str, ...] = ()
    now: datetime = field(default_factory=utc_now, repr=False, compare=False)

    @property
    def remaining(self) -> tuple[KeyInfo, ...]:
        """The keys left once the orphans are deleted."""
        gone = {k.key_id for k in self.orphans}
        return tuple(k for k in self.keys if k.key_id not in gone)

    @property
    def old_keys(self) -> tuple[KeyInfo, ...]:
        """The keys a rotation retires (all but an adopted new key)."""
        new = self.adopted.key_id if self.adopted else ""
        return tuple(k for k in self.remaining if k.key_id != new)

    def __repr__(self) -> str:
        lines = [
            f"User {self.user_name} ({self.user_arn}): {len(self.keys)} access key(s); "
            f"console sign-in: {'yes' if self.console_user else 'no'}"
        ]
        lines += [f"  {k.describe(self.now)}" for k in self.keys]
        lines += [
            f"Repair: delete {k.key_id}: an unfinished run created it and its secret reached no "
            "destination"
            for k in self.orphans
        ]
        if self.adopted and self.marker is not None and self.marker.state == DELIVERED:
            lines.append(
                f"Repair: the rotation to {self.adopted.key_id} stopped before the old key was "
                "retired: finish it"
            )
        elif self.adopted:
            lines.append(
                f"Repair: {self.adopted.key_id} is already at the destination: finish its delivery"
            )
        lines += [f"Left alone: {note}" for note in self.kept]
        if self.action == "none":
            lines.append(f"Mode {self.mode}: an active key exists: no new key")
        elif self.action == "resume":
            lines.append(f"Mode rotate: continue the unfinished rotation to {self.adopted_id}")
        else:
            lines.append(
                f"Mode {self.mode}: create a key, deliver it to {self.destination.describe()}"
            )
        if self.console_user:
            lines.append("Warning: " + CONSOLE_USER_WARNING.format(user=self.user_name))
        return "\n".join(lines)

    @property
    def adopted_id(self) -> str:
        """The adopted key's ID (empty when none)."""
        return self.adopted.key_id if self.adopted else ""


@dataclass(frozen=True)
class NewKey:
    """Step 4: the key this run created (with its secret) or the one it found."""

    user_name: str
    key_id: str
    created: bool
    note: str
    secret: Secret | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return self.note
