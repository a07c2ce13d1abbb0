"""Which rotation a run does: finish an unfinished one, or rotate a key once it is due.

``mode: rotate-if-older-than`` rotates (the same safe rotation as ``mode: rotate``: new key,
delivered, proven, old key retired) only when the user's oldest active key is at least
``max_age_days`` old (CIS AWS Foundations 1.14: rotate within 90 days). Otherwise the run makes
no write and says how old the key is and when it is due, so a daily scheduled run rotates on
exactly the day the key comes due. The age is counted from the run's clock (``KeyPlan.now``,
which tests set), never from the wall clock inside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runbook_lib.access_key.state import KeyInfo, marker_keys
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _, ngettext
from runbook_lib.core.markers import DELIVERED, Marker

ROTATE_IF_OLDER = "rotate-if-older-than"
#: the longest threshold accepted: ten years (a larger one is a typo, not a policy)
MAX_DAYS = 3650


def validate_days(value: object, param: str, default: int) -> int:
    """A whole number of days from 1 to ``MAX_DAYS`` (not a bool, not text).

    Raises:
        BadInput: anything else, named, with the accepted range and the default.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DAYS:
        return value
    shown = repr(value) if isinstance(value, str) else str(value)
    raise BadInput(
        _(
            "{param} {shown} is not a number of days from 1 to {max_days}: give a whole number "
            "of days (default {default})."
        ).format(param=param, shown=shown, max_days=MAX_DAYS, default=default)
    )


def short_id(key_id: str) -> str:
    """An access key ID with only its last 4 characters: ``AKIA…WXYZ``."""
    return f"{key_id[:4]}…{key_id[-4:]}"


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=n)


@dataclass(frozen=True)
class Due:
    """Whether the user's key is due for rotation, and why, in words."""

    due: bool
    reason: str
    key: KeyInfo | None = None


def rotation_due(keys: tuple[KeyInfo, ...], max_age_days: int, now: datetime) -> Due:
    """Whether the oldest active key is ``max_age_days`` old or older (read-only).

    Args:
        keys: the user's keys (orphans of an unfinished run already left out).
        max_age_days: the age at which a key is due.
        now: the run's time.

    Returns:
        Due or not, with ``key AKIA…WXYZ is N days old, due in M days`` or why it is due.
    """
    active = sorted((k for k in keys if k.status == "Active"), key=lambda k: k.created)
    if not active:
        return Due(False, _("no active key to rotate (mode create makes one); nothing changed"))
    oldest = active[0]
    age = oldest.age_days(now)
    name = short_id(oldest.key_id)
    if age >= max_age_days:
        return Due(
            True,
            _("key {name} is {age} old, max_age_days {max_age_days}: rotation is due").format(
                name=name, age=_days(age), max_age_days=max_age_days
            ),
            oldest,
        )
    reason = _("key {name} is {age} old, due in {left}").format(
        name=name, age=_days(age), left=_days(max_age_days - age)
    )
    return Due(False, reason, oldest)


def unfinished_rotation(
    keys: list[KeyInfo], marker: Marker | None, delete_old: bool
) -> KeyInfo | None:
    """The key a rotation delivered but whose old key it never retired (the run stopped).

    That is: the marker says ``delivered`` for a key that is Active, and an older key is
    Active too (with ``delete_old``: still exists). The caller must still find the key's secret
    at the destination.
    """
    done = marker_keys(marker) if marker is not None else ()
    if marker is None or marker.state != DELIVERED or len(done) != 1:
        return None
    new = next((k for k in keys if k.key_id == done[0] and k.status == "Active"), None)
    if new is None:
        return None
    older = [
        k
        for k in keys
        if k is not new and (delete_old or k.status == "Active") and k.created <= new.created
    ]
    return new if older else None
