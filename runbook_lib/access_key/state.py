"""A user's access keys as read from IAM (never a secret), and the plan Steps 1–3 make of them.

``KeyPlan`` is what ``check_request`` decides; ``NewKey`` is what Step 4 created or found. The
marker tag that makes key creation crash-safe is ``marker``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from runbook_lib.access_key.destination import Destination
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import DELIVERED, Marker, utc_now
from runbook_lib.core.secrets import Secret


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
            _("last used {date} ({service})").format(
                date=f"{self.last_used:%Y-%m-%d}", service=self.service or _("unknown service")
            )
            if self.last_used
            else _("never used")
        )
        old = _("{days} days old").format(days=self.age_days(now))
        return f"{self.key_id} {self.status}, {old}, {used}"


def read_keys(ctx: RunContext, user_name: str) -> list[KeyInfo]:
    """The user's access keys with their last use, oldest first.

    Raises:
        AwsError: IAM refused a read.
    """
    iam = ctx.iam
    what = f"Reading the access keys of '{user_name}'"
    fix = "The caller needs iam:ListAccessKeys and iam:GetAccessKeyLastUsed."
    keys: list[KeyInfo] = []
    listed = aws.call(iam.list_access_keys, what=what, fix=fix, UserName=user_name)
    for meta in listed["AccessKeyMetadata"]:
        found = aws.call(
            iam.get_access_key_last_used,
            what=what,
            fix=fix,
            missing=("NoSuchEntity",),
            AccessKeyId=meta["AccessKeyId"],
        )
        if found is None:  # deleted since the list (another run's key it took back)
            continue
        used: dict[str, Any] = found["AccessKeyLastUsed"]
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
    return sorted(keys, key=lambda k: k.created)


CONSOLE_USER_WARNING = N_(
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
    #: keys an unfinished run may have made, unproven (``repair deactivate``): switched off
    deactivate: tuple[KeyInfo, ...] = ()
    adopted: KeyInfo | None = None
    kept: tuple[str, ...] = ()
    #: an unusable CSV an unfinished run left at the destination: moved aside in Step 4
    set_aside: str = ""
    #: why a rotate-if-older-than run rotates or not (the key's age in words)
    reason: str = ""
    now: datetime = field(default_factory=utc_now, repr=False, compare=False)

    @property
    def remaining(self) -> tuple[KeyInfo, ...]:
        """The keys left once the orphans are deleted (and the unproven ones switched off)."""
        gone = {k.key_id for k in self.orphans}
        off = {k.key_id for k in self.deactivate}
        return tuple(
            replace(k, status="Inactive") if k.key_id in off else k
            for k in self.keys
            if k.key_id not in gone
        )

    @property
    def old_keys(self) -> tuple[KeyInfo, ...]:
        """The keys a rotation retires (all but an adopted new key and the keys a repair
        switched off: those are never deleted)."""
        keep = {self.adopted.key_id if self.adopted else ""} | {k.key_id for k in self.deactivate}
        return tuple(k for k in self.remaining if k.key_id not in keep)

    def __repr__(self) -> str:
        lines = [
            _("User {user} ({arn}): {count} access key(s); console sign-in: {console}").format(
                user=self.user_name,
                arn=self.user_arn,
                count=len(self.keys),
                console=_("yes") if self.console_user else _("no"),
            )
        ]
        lines += [f"  {k.describe(self.now)}" for k in self.keys]
        lines += [
            _(
                "Repair: delete {key_id}: an unfinished run created it and its secret reached no "
                "destination"
            ).format(key_id=k.key_id)
            for k in self.orphans
        ]
        lines += [
            _(
                "Repair (repair deactivate): switch off {key_id} (reversible): an unfinished run "
                "may have created it, and nothing proves that nobody holds its secret"
            ).format(key_id=k.key_id)
            for k in self.deactivate
        ]
        if self.adopted and self.marker is not None and self.marker.state == DELIVERED:
            lines.append(
                _(
                    "Repair: the rotation to {key_id} stopped before the old key was "
                    "retired: finish it"
                ).format(key_id=self.adopted.key_id)
            )
        elif self.adopted:
            lines.append(
                _("Repair: {key_id} is already at the destination: finish its delivery").format(
                    key_id=self.adopted.key_id
                )
            )
        if self.set_aside:
            line = _("Repair: {path} holds no usable key: move it aside (kept)")
            lines.append(line.format(path=self.set_aside))
        lines += [_("Left alone: {note}").format(note=note) for note in self.kept]
        if self.action == "none":
            reason = self.reason or _("an active key exists: no new key")
            lines.append(_("Mode {mode}: {reason}").format(mode=self.mode, reason=reason))
        elif self.action == "resume":
            line = _("Mode rotate: continue the unfinished rotation to {key_id}")
            lines.append(line.format(key_id=self.adopted_id))
        else:
            why = f"{self.reason}: " if self.reason else ""
            lines.append(
                _("Mode {mode}: {why}create a key, deliver it to {where}").format(
                    mode=self.mode, why=why, where=self.destination.describe()
                )
            )
        if self.console_user:
            lines.append(_("Warning: ") + _(CONSOLE_USER_WARNING).format(user=self.user_name))
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
