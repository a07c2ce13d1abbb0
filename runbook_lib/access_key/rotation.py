"""S2's rotation: which one a run does (finish an unfinished one, or rotate a key once it is
due), and Step 7, which retires the old key once the new one is proven.

``mode: rotate-if-older-than`` rotates (the same safe rotation as ``mode: rotate``: new key,
delivered, proven, old key retired) only when the user's oldest active key is at least
``max_age_days`` old (CIS AWS Foundations 1.14: rotate within 90 days). Otherwise the run makes
no write and says how old the key is and when it is due, so a daily scheduled run rotates on
exactly the day the key comes due. The age is counted from the run's clock (``KeyPlan.now``,
which tests set), never from the wall clock inside this module.

Order matters for a rotation: the new key is delivered, then proven with STS using the secret
read back from its destination, and only then is the old key deactivated (deleted only with
``delete_old``). Any failure before that leaves the old key Active.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from runbook_lib.access_key.live import proof_at_store
from runbook_lib.access_key.marker import marker_keys
from runbook_lib.access_key.proof import prove_key, read_delivered
from runbook_lib.access_key.state import KeyInfo, KeyPlan, NewKey
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, VerifyFailed
from runbook_lib.core.i18n import _, ngettext
from runbook_lib.core.markers import DELIVERED, Marker
from runbook_lib.core.result import StepResult

ROTATE_IF_OLDER = "rotate-if-older-than"
#: the step whose decision (due or not) the run record's ``outcomes`` holds
ROTATION_STEP = "S2.3"
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
    #: the key's age in whole days, and the day it is (or was) due
    age_days: int = 0
    due_on: date | None = None

    def record(self, ctx: RunContext, user_arn: str, max_age_days: int) -> None:
        """Put the decision in the run record's ``outcomes``: a schedule's log shows it."""
        facts = {"max_age_days": str(max_age_days), "detail": self.reason}
        if self.key is not None:
            facts |= {"key_id": self.key.key_id, "age_days": str(self.age_days)}
            facts["created"] = f"{self.key.created:%Y-%m-%d}"
        if self.due_on is not None:
            facts["due_on"] = self.due_on.isoformat()
        subject = f"{user_arn} access key {self.key.key_id}" if self.key else user_arn
        outcome = "due" if self.due else ("not due" if self.key else "no active key")
        ctx.record.outcome(ROTATION_STEP, subject, outcome, **facts)


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
    due_on = (oldest.created + timedelta(days=max_age_days)).date()
    if age >= max_age_days:
        return Due(
            True,
            _("key {name} is {age} old, max_age_days {max_age_days}: rotation is due").format(
                name=name, age=_days(age), max_age_days=max_age_days
            ),
            oldest,
            age,
            due_on,
        )
    reason = _("key {name} is {age} old, due in {left}").format(
        name=name, age=_days(age), left=_days(max_age_days - age)
    )
    return Due(False, reason, oldest, age, due_on)


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


def _retire(ctx: RunContext, plan: KeyPlan, k: KeyInfo) -> list[str]:
    """Deactivate (and with ``delete_old`` delete) one old key; what was done, as lines."""
    lines: list[str] = []
    where = f"{plan.user_arn} access key {k.key_id}"  # the record's change: language-neutral
    what = _("Retiring the old key {key_id}").format(key_id=k.key_id)
    fix = _("The caller needs iam:UpdateAccessKey/DeleteAccessKey; the new key works already.")
    gone = _("The old key {key_id} is gone already (another run retired it).").format(
        key_id=k.key_id
    )
    if k.status == "Active":
        done = aws.call(
            ctx.iam.update_access_key,
            what=what,
            fix=fix,
            missing=("NoSuchEntity",),
            UserName=plan.user_name,
            AccessKeyId=k.key_id,
            Status="Inactive",
        )
        if done is None:
            lines.append(gone)
            return lines
        ctx.record.change("deactivate-access-key", where)
        lines.append(_("Deactivated the old key {key_id}.").format(key_id=k.key_id))
    if plan.delete_old:
        done = aws.call(
            ctx.iam.delete_access_key,
            what=what,
            fix=fix,
            missing=("NoSuchEntity",),
            UserName=plan.user_name,
            AccessKeyId=k.key_id,
        )
        if done is None:
            lines.append(gone)
            return lines
        ctx.record.change("delete-access-key", where)
        lines.append(_("Deleted the old key {key_id} (delete_old).").format(key_id=k.key_id))
    return lines


def retire_old_key(
    ctx: RunContext,
    plan: KeyPlan,
    key: NewKey,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> StepResult:
    """Step 7: a new key is Active at once; a rotation proves it, then retires the old key.

    Raises:
        VerifyFailed: the new key did not authenticate; the old key was left Active.
        AwsError: IAM refused to deactivate or delete the old key.
    """
    if plan.mode == ROTATE_IF_OLDER:  # not due: the plan says why
        return StepResult(_("Not due: {reason}; nothing to retire.").format(reason=plan.reason))
    if plan.mode != "rotate" or plan.action == "none":
        return StepResult(_("The key is Active and usable now; nothing to retire (mode create)."))
    old = plan.old_keys
    verb = "delete" if plan.delete_old else "deactivate"
    if ctx.plan:
        for k in old:
            where = f"{plan.user_arn} access key {k.key_id}"
            ctx.record.would("S2.7", f"{verb}-access-key", where)
        names = ", ".join(k.key_id for k in old) or _("no old key")
        would = (
            _("Plan mode: would prove the new key with STS, then delete {names}.")
            if verb == "delete"
            else _("Plan mode: would prove the new key with STS, then deactivate {names}.")
        )
        return StepResult(would.format(names=names))
    secret = read_delivered(ctx, plan, key)
    at_store = proof_at_store(ctx, key.key_id) if secret is None else None
    if secret is None and at_store is None:
        raise VerifyFailed(
            _(
                "The secret of {key_id} is not at {where}: the old key was "
                "left Active; check the destination and re-run."
            ).format(key_id=key.key_id, where=plan.destination.describe())
        )
    if secret is not None:
        proof = prove_key(ctx, plan.user_arn, key.key_id, secret, sleep=sleep)
        at_store = _("Proven: {proof}.").format(proof=proof)
    lines = [str(at_store)]
    for k in old:
        lines += _retire(ctx, plan, k)
    if old and not plan.delete_old:
        lines.append(
            _(
                "The old key is Inactive, not deleted: once nothing breaks, delete it (re-run "
                "with delete_old) or re-activate it to roll back."
            )
        )
    if not old:
        lines.append(_("There was no old key to retire."))
    return StepResult("\n".join(lines))
