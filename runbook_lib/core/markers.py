"""Crash-safety markers: one tag scheme for every step whose secret exists in one place only.

IAM shows a new secret (a console password, a secret access key) once. A run that dies between
making it and delivering it leaves a secret nobody holds. So before such a write the run tags
the IAM user with a marker, and it changes or removes the marker once the secret is at its
destination. A later run that meets a ``pending`` marker knows what the dead run may have left.

A marker is the value of one user tag (``iam-runbooks:<what>``)::

    <state>:<UTC time>:<run ID>:<caller>[:<field>...]:m=<MAC>:<destination>

``state`` is ``pending`` or ``delivered``; the time is when the risky step started (the marker
was written); the run ID comes from the run record of the run that wrote it; ``caller`` is who
ran it (``user/alice``); the fields belong to the section (S2: the keys present before, the
destination's kind). ``destination`` names exactly where the secret was going: the absolute,
resolved path of the file, or the Secrets Manager secret's ARN (without AWS's random suffix);
when it does not fit in a tag value it is ``sha256=`` and its SHA-256. The ``MAC`` is an HMAC-SHA256
(``core.marker_key``) over the tag key, the account, the user and the rest of the value, under a
key only the runbooks' owner holds: ``verified`` tells a marker these runbooks wrote from a
forged one (anyone with ``iam:TagUser`` can write a tag) or one written elsewhere. A repair
that destroys something (a key, a password) acts only on a verified marker whose destination
it has checked. Only characters IAM allows in tag values are used. Markers written by earlier
versions (S1: bare ``pending``; S2: ``state:time:keys:destination``) are still read, as
unverified markers of an unknown, old run.

Concurrency: a pending marker of *another* run that is younger than a lease (default 15
minutes) means that run may still be working: ``check_lease`` stops this run before its first
write. The marker's run field (``<run ID>-<pid>@<host>``) lets a run on the same host see that
the other run's process is gone (a crash): its marker is then repaired at once, as an old one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from runbook_lib.core import aws, marker_key
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, RunInProgress
from runbook_lib.core.i18n import _
from runbook_lib.core.tags import MAX_TAGS

PENDING, DELIVERED = "pending", "delivered"
STATES = (PENDING, DELIVERED)
#: every marker tag key starts with this; S1 and S2 refuse user tags of their own with it
PREFIX = "iam-runbooks:"
#: how long another run's marker is taken to mean "that run may still be working"
DEFAULT_LEASE = timedelta(minutes=15)
#: seconds a run that claims a repair waits after marking before it reads the marker again
SETTLE = 1.0
#: how a marker names a destination by its digest
DIGEST = "sha256="
MAX_VALUE = 256
_STAMP = "%Y%m%dT%H%M%SZ"
_NOT_TAG_TEXT = re.compile(r"[^\w.=+@/-]")
_MAC_FIELD = "m="


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    """A compact UTC time that IAM tag values accept (``20240131T235959Z``)."""
    return moment.astimezone(timezone.utc).strftime(_STAMP)


def _parse_stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _tag_char(char: str) -> bool:
    """IAM's ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` for one character."""
    return unicodedata.category(char)[0] in "LZN" or char in "_.:/=+-@"


def caller_name(caller_arn: str) -> str:
    """Who ran it, as tag text: the ARN's resource part (``user/alice``, ``root``)."""
    name = caller_arn.rsplit(":", 1)[-1] if caller_arn else "unknown"
    return _NOT_TAG_TEXT.sub("_", name)[:64] or "unknown"


@dataclass(frozen=True)
class Marker:
    """One crash-safety marker (the value of one user tag).

    Attributes:
        state: ``pending`` (a secret is about to exist) or ``delivered``.
        moment: when it was written, i.e. when the risky step started (``None``: an old marker
            without a time).
        run_id: that run's ID (``""``: written by an older version).
        by: who ran it (``user/alice``).
        fields: the section's own fields (no ``:`` in them).
        destination: where the secret was going (absolute path, ARN, ``sha256=<hex>``; may hold
            ``:``).
        mac: the marker's MAC (``""``: unsigned, e.g. an older version's marker).
    """

    state: str
    moment: datetime | None
    run_id: str = ""
    by: str = ""
    fields: tuple[str, ...] = ()
    destination: str = ""
    mac: str = ""

    def _head(self) -> str:
        when = stamp(self.moment) if self.moment else "unknown"
        return f"{self.state}:{when}:{self.run_id or 'unknown'}:"

    def _tail(self) -> str:
        return "".join(f":{f}" for f in self.fields)

    def body(self) -> str:
        """What the MAC covers: the value without its MAC field."""
        return f"{self._head()}{self.by or 'unknown'}{self._tail()}:{self.destination}"

    def value(self) -> str:
        """The tag value (only characters IAM allows in tags, at most 256)."""
        head, tail = self._head(), self._tail()
        if not self.mac:  # unsigned (tests, older versions): the old layout
            room = MAX_VALUE - len(head) - len(tail)
            return head + (self.by or "unknown")[: max(room, 1)] + tail
        return f"{head}{self.by or 'unknown'}{tail}:{_MAC_FIELD}{self.mac}:{self.destination}"

    def compact(self) -> Marker:
        """The marker shortened to fit a tag value: a long or untaggable destination becomes
        its digest, then the caller is cut."""
        dest = self.destination
        fixed = len(self._head()) + len(self._tail()) + 2 + len(_MAC_FIELD) + marker_key.MAC_CHARS
        fits = fixed + len(self.by or "unknown") + len(dest) <= MAX_VALUE
        if not fits or not all(_tag_char(c) for c in dest):
            dest = destination_digest(dest)
        room = MAX_VALUE - fixed - len(dest)
        return replace(self, by=(self.by or "unknown")[: max(room, 1)], destination=dest)

    @property
    def place(self) -> str:
        """The destination as named (``""`` when only its digest is known)."""
        return "" if self.destination.startswith(DIGEST) else self.destination

    def names(self, location: str) -> bool:
        """Whether the marker's destination is ``location`` (or its digest)."""
        return bool(location) and self.destination in (location, destination_digest(location))

    @classmethod
    def parse(cls, value: str, fields: int = 0) -> Marker | None:
        """Read a tag value with ``fields`` section fields; ``None`` if not a marker."""
        parts = value.split(":")
        if not parts or parts[0] not in STATES:
            return None
        if len(parts) == 1 and fields == 0:  # S1 before run IDs: a bare "pending"
            return cls(parts[0], None)
        if len(parts) == 2 + fields:  # S2 before run IDs: state:time:fields
            moment = _parse_stamp(parts[1])
            return None if moment is None else cls(parts[0], moment, "", "", tuple(parts[2:]))
        signed = len(parts) >= 6 + fields and parts[4 + fields].startswith(_MAC_FIELD)
        if len(parts) != 4 + fields and not signed:
            return None
        moment = _parse_stamp(parts[1])
        if moment is None and parts[1] != "unknown":
            return None
        run_id = "" if parts[2] == "unknown" else parts[2]
        own = tuple(parts[4 : 4 + fields])
        if not signed:
            return cls(parts[0], moment, run_id, parts[3], own)
        mac = parts[4 + fields].removeprefix(_MAC_FIELD)
        return cls(parts[0], moment, run_id, parts[3], own, ":".join(parts[5 + fields :]), mac)

    def age(self, now: datetime) -> timedelta | None:
        """How long ago its run started (``None`` when the marker has no time)."""
        return None if self.moment is None else now - self.moment

    def describe(self) -> str:
        """``pending since 2024-01-31 23:59 UTC (run r1a2b3c, user/alice)``."""
        when = f" since {self.moment:%Y-%m-%d %H:%M} UTC" if self.moment else ""
        who = ", ".join(x for x in (self.run_id and f"run {self.run_id}", self.by) if x)
        return f"{self.state}{when}" + (f" ({who})" if who else "")


def destination_digest(location: str) -> str:
    """A destination as a marker names it when it does not fit: ``sha256=`` and its digest."""
    return DIGEST + hashlib.sha256(location.encode("utf-8")).hexdigest()[:40]


def _mac(key: bytes, account: str, user_name: str, tag_key: str, marker: Marker) -> str:
    return marker_key.mac(key, tag_key, account, user_name, marker.body())


def sign(ctx: RunContext, user_name: str, tag_key: str, marker: Marker) -> Marker:
    """The marker, compacted and carrying its MAC for this account, user and tag key.

    Raises:
        BadInput: the marker key is not private to this user (``core.marker_key``).
    """
    short = marker.compact()
    key = marker_key.marker_key()
    return replace(short, mac=_mac(key, ctx.account_id, user_name, tag_key, short))


def verified(ctx: RunContext, user_name: str, tag_key: str, marker: Marker | None) -> bool:
    """Whether ``marker`` was written by these runbooks, with this user's marker key, for this
    account, user and tag (a forged tag, one copied from another user, or one written on
    another machine is not).

    Raises:
        BadInput: the marker key is not private to this user.
    """
    if marker is None or not marker.mac:
        return False
    want = _mac(marker_key.marker_key(), ctx.account_id, user_name, tag_key, marker)
    return hmac.compare_digest(want, marker.mac)


def _host() -> str:
    return _NOT_TAG_TEXT.sub("-", socket.gethostname())[:40] or "localhost"


def run_tag(run_id: str) -> str:
    """A run's ID as a marker carries it: ``<run ID>-<pid>@<host>`` (tells a dead run apart)."""
    return f"{run_id}-{os.getpid()}@{_host()}"


def _process_gone(run: str) -> bool:
    """Whether the run's process is certainly not working any more.

    True when the marker names this host and either this very process (a kernel runs one
    cell at a time: a marker of an earlier run in it is not a concurrent run) or a process
    that no longer exists.
    """
    left, at, host = run.rpartition("@")
    pid_text = left.rpartition("-")[2]
    if not at or host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def new_marker(
    ctx: RunContext,
    state: str,
    *fields: str,
    moment: datetime | None = None,
    destination: str = "",
) -> Marker:
    """A marker of this run: now (or ``moment``), its run ID and caller, ``fields`` and the
    exact ``destination`` of the secret (unsigned: ``sign`` adds the MAC)."""
    return Marker(
        state,
        moment or utc_now(),
        run_tag(ctx.record.run_id),
        caller_name(ctx.caller_arn),
        tuple(fields),
        destination,
    )


def as_tag(ctx: RunContext, user_name: str, key: str, marker: Marker) -> dict[str, str]:
    """The marker, signed, as an IAM tag (for a ``CreateUser`` that tags the new user at once).

    Raises:
        BadInput: the marker key is not private to this user.
    """
    return {"Key": key, "Value": sign(ctx, user_name, key, marker).value()}


def ours(ctx: RunContext, user_name: str, tag_key: str, marker: Marker | None) -> bool:
    """Whether ``marker`` is this run's own (its run field, and a valid MAC)."""
    return (
        marker is not None
        and marker.run_id == run_tag(ctx.record.run_id)
        and verified(ctx, user_name, tag_key, marker)
    )


def read_marker(
    ctx: RunContext, user_name: str, key: str, fields: int = 0
) -> tuple[Marker | None, int]:
    """The user's marker under ``key`` (if any) and how many tags the user has.

    Raises:
        AwsError: IAM refused the read.
    """
    tags = aws.items(
        ctx.iam,
        "list_user_tags",
        "Tags",
        what=f"Reading the tags of '{user_name}'",
        fix="The caller needs iam:ListUserTags.",
        UserName=user_name,
    )
    value = next((str(t["Value"]) for t in tags if t["Key"] == key), "")
    return (Marker.parse(value, fields) if value else None), len(tags)


def write_marker(
    ctx: RunContext, user_name: str, key: str, marker: Marker, *, resource: str, why: str
) -> None:
    """Set the user's marker tag; one IAM write, recorded as ``mark-<what>-<state>``.

    Args:
        ctx: the run context.
        user_name: the user to tag.
        key: the tag key (``iam-runbooks:...``).
        marker: the marker.
        resource: the user's ARN (for the run record).
        why: what the tag is for, in operator words (named when IAM refuses).

    Raises:
        AwsError: IAM refused.
    """
    aws.call(
        ctx.iam.tag_user,
        what=f"Tagging '{user_name}' with {key}",
        fix=f"The caller needs iam:TagUser and iam:UntagUser ({why}).",
        UserName=user_name,
        Tags=[as_tag(ctx, user_name, key, marker)],
    )
    ctx.record.change(f"mark-{key.removeprefix(PREFIX)}-{marker.state}", resource)


def clear_marker(ctx: RunContext, user_name: str, key: str, *, fix: str, what: str = "") -> None:
    """Remove the user's marker tag; one IAM write (the caller records it).

    Raises:
        AwsError: IAM refused.
    """
    aws.call(
        ctx.iam.untag_user,
        what=what or f"Removing the tag {key} of '{user_name}'",
        fix=fix,
        UserName=user_name,
        TagKeys=[key],
    )


def check_lease(
    ctx: RunContext,
    marker: Marker | None,
    *,
    what: str,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> None:
    """Stop before any write when another run's pending marker is younger than ``lease``.

    Args:
        ctx: the run context.
        marker: the marker found (``None``: nothing to check).
        what: the run in words, e.g. ``"S2 on 'Administrator'"``.
        lease: how long a marker keeps other runs away; ``timedelta(0)``: never.
        now: the time to judge the marker's age against.

    Raises:
        RunInProgress: another run started less than ``lease`` ago and may still be working.
    """
    if marker is None or marker.state != PENDING or not marker.run_id:
        return  # no marker, a finished one, or one of an older version (no run ID): repair
    age = marker.age(now or utc_now())
    if age is None or age >= lease or _process_gone(marker.run_id):
        return
    when = f"{marker.moment:%Y-%m-%d %H:%M:%S} UTC" if marker.moment else _("an unknown time")
    minutes = max(1, round((lease - age).total_seconds() / 60))
    writes = ctx.record.writes
    done = (
        " " + _("Nothing was changed.")
        if not writes
        else " " + _("This run made {writes} write(s) first.").format(writes=writes)
    )
    raise RunInProgress(
        _(
            "Another run of {what} started at {when} by {by} (run {run}) and may still be "
            "working: re-run after it ends (its marker is taken for a crashed run's in about "
            "{minutes} min)."
        ).format(
            what=what,
            when=when,
            by=marker.by or _("an unknown caller"),
            run=marker.run_id,
            minutes=minutes,
        )
        + done
    )


def claim(
    ctx: RunContext,
    user_name: str,
    key: str,
    marker: Marker,
    *,
    what: str,
    lease: timedelta,
    resource: str,
    why: str,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Take a repair over before its destructive write: of two runs, only one goes on.

    Reads the marker again and applies the lease (another live run's marker stops this run
    before any write), writes ``marker`` (this run's), waits ``SETTLE`` seconds and reads it
    once more: the run goes on only if the marker is still its own (the last of two writers
    wins; the other stops, naming the one write it made). IAM tags have no compare-and-set:
    this assumes no run takes longer than ``SETTLE`` between its read and its write.

    Raises:
        RunInProgress: another run is working on the user, or took the repair over.
        AwsError: IAM refused.
    """
    found, _count = read_marker(ctx, user_name, key)
    check_lease(ctx, found, what=what, lease=lease)
    write_marker(ctx, user_name, key, marker, resource=resource, why=why)
    sleep(SETTLE)
    found, _count = read_marker(ctx, user_name, key)
    if ours(ctx, user_name, key, found):
        return
    other = found.describe() if found is not None else _("its marker removed since")
    raise RunInProgress(
        _(
            "Another run of {what} ({other}) took over the same repair while this one was "
            "about to make it: this run stopped before it, after {writes} write(s) (its {key} "
            "tag, replaced by the other run's). Re-run after that run ends."
        ).format(what=what, other=other, writes=ctx.record.writes, key=key)
    )


def check_tag_room(user_name: str, key: str, marker: Marker | None, tag_count: int) -> None:
    """Refuse before any write when the marker tag would exceed IAM's 50 tags per user.

    Raises:
        BadInput: the user has 50 tags and none is the marker.
    """
    if marker is None and tag_count >= MAX_TAGS:
        raise BadInput(
            f"User '{user_name}' has {tag_count} tags, the most IAM allows, and this runbook "
            f"needs one ({key}) to work crash-safely: remove one tag, then re-run."
        )


def lease_of(minutes: Any) -> timedelta:
    """A lease parameter (minutes, ``>= 0``) as a duration.

    Raises:
        BadInput: not a number of minutes.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 0:
        raise BadInput(
            f"lease_minutes {minutes!r} must be a number of minutes >= 0 (default 15): fix it."
        )
    return timedelta(minutes=minutes)
