"""S2 Step 4, the key's writes: repair what an unfinished run left, then create a key unless
one is active.

Steps 1-3 (``check_request``) are ``request``'s; Steps 5-6 ``handover``'s, Step 7
``rotation``'s, Verify ``verify``'s. A key is created only after the user carries a ``pending``
marker (``marker``), so a run that dies before the secret is delivered is cleaned up by the
next one. Never for the root user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runbook_lib.access_key.destination import SECRET_KIND
from runbook_lib.access_key.marker import MARKER_TAG, read_marker, run_marker, write_marker
from runbook_lib.access_key.request import two_keys_message
from runbook_lib.access_key.state import CONSOLE_USER_WARNING, KeyPlan, NewKey, read_keys
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, RunInProgress
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import DELIVERED, PENDING, ours, utc_now
from runbook_lib.core.secret_files import set_aside
from runbook_lib.core.secrets import Secret

#: how long a run that made a key waits for another run that made one at the same moment
RACE_WAIT, RACE_POLL = 10.0, 0.2


def _repair(ctx: RunContext, plan: KeyPlan) -> None:
    if plan.set_aside and plan.action == "create":
        aside = set_aside(Path(plan.set_aside))
        ctx.record.repair(
            "set-aside-unusable-file",
            str(aside),
            f"{plan.set_aside} was left empty or cut short by an unfinished run; kept there",
        )
    for key in plan.orphans:
        aws.call(
            ctx.iam.delete_access_key,
            what=f"Deleting orphan key {key.key_id}",
            fix="The caller needs iam:DeleteAccessKey.",
            UserName=plan.user_name,
            AccessKeyId=key.key_id,
        )
        ctx.record.repair(
            "delete-access-key",
            f"{plan.user_arn} access key {key.key_id}",
            f"created by an unfinished run ({plan.marker.describe() if plan.marker else ''}); "
            "its verified marker names this destination, which does not hold its secret, so "
            "nobody holds it",
        )
    for key in plan.deactivate:
        aws.call(
            ctx.iam.update_access_key,
            what=_("Switching off key {key_id}").format(key_id=key.key_id),
            fix=_("The caller needs iam:UpdateAccessKey."),
            UserName=plan.user_name,
            AccessKeyId=key.key_id,
            Status="Inactive",
        )
        ctx.record.repair(
            "deactivate-access-key",
            f"{plan.user_arn} access key {key.key_id}",
            "an unfinished run may have created it and nothing proves that nobody holds its "
            "secret (repair deactivate): switched off, not deleted",
        )
    if plan.adopted is not None and plan.marker is not None and plan.marker.state == DELIVERED:
        ctx.record.repair(
            "resume-rotation",
            f"{plan.user_arn} access key {plan.adopted.key_id}",
            "an earlier rotation delivered this key but stopped before retiring the old key",
        )
    elif plan.adopted is not None:
        done = run_marker(ctx, DELIVERED, (plan.adopted.key_id,), plan.destination)
        write_marker(ctx, plan.user_name, plan.user_arn, done)
        ctx.record.repair(
            "finish-delivery",
            f"{plan.user_arn} access key {plan.adopted.key_id}",
            f"an unfinished run delivered its secret to {plan.destination.describe()} but did "
            "not mark it delivered",
        )
    elif plan.marker is not None and plan.marker.state == PENDING and plan.action == "none":
        write_marker(ctx, plan.user_name, plan.user_arn, None)
        ctx.record.repair(
            "clear-access-key-marker", plan.user_arn, "left pending by an unfinished run"
        )


def _plan_note(plan: KeyPlan) -> str:
    would = "; ".join(
        [_("would delete orphan key {key_id}").format(key_id=k.key_id) for k in plan.orphans]
        + [_("would switch off key {key_id}").format(key_id=k.key_id) for k in plan.deactivate]
    )
    what = {
        "none": _("no new key ({reason})").format(reason=plan.reason or _("an active key exists")),
        "resume": _("would continue the rotation"),
        "create": _("would create an access key"),
    }[plan.action]
    return _("Plan mode: {what} for {user}.").format(
        what="; ".join(x for x in (would, what) if x), user=plan.user_name
    )


def _ours(ctx: RunContext, user_name: str) -> bool:
    """Whether the user's marker is still this run's (another run may have written its own)."""
    marker, _ = read_marker(ctx, user_name)
    return ours(ctx, user_name, MARKER_TAG, marker)


def _yield_to_other_run(ctx: RunContext, plan: KeyPlan, key_id: str, secret: Secret) -> None:
    """Another run marked the user while this one created a key: delete ours, then stop.

    Raises:
        RunInProgress: always (after the key this run made is deleted again).
    """
    secret.drop()
    aws.call(
        ctx.iam.delete_access_key,
        what=_("Deleting the key {key_id} this run just created").format(key_id=key_id),
        fix=_("Delete it by hand (nobody holds its secret), then re-run."),
        UserName=plan.user_name,
        AccessKeyId=key_id,
    )
    ctx.record.change("delete-access-key", f"{plan.user_arn} access key {key_id}")
    raise RunInProgress(
        _(
            "Another run of S2 on '{user}' started while this one was creating a key: "
            "this run deleted the key it had just made ({key_id}; its secret was never "
            "delivered) and stopped so that the user ends with one new key; re-run after the "
            "other run ends."
        ).format(user=plan.user_name, key_id=key_id)
    )


def _alone(ctx: RunContext, plan: KeyPlan, key_id: str, sleep: Callable[[float], None]) -> bool:
    """Whether this run's key is the only new one (another run may have made one too).

    Two runs that both passed Step 3 both mark the user; the marker's owner is the last
    writer. A run whose key is the only new one goes on (and marks the user again if the
    other run's marker, or none, is there: that run made no key, e.g. IAM refused its third
    key). A run that sees another new key yields unless it owns the marker; the owner waits
    (up to ``RACE_WAIT``) until the other key disappears (that run yielded: go on) or the
    other run takes the marker (it goes on: yield to it). Exactly one run keeps its key.
    """
    before = {k.key_id for k in plan.remaining}
    for _attempt in range(int(RACE_WAIT / RACE_POLL)):
        others = {k.key_id for k in read_keys(ctx, plan.user_name)} - before - {key_id}
        ours = _ours(ctx, plan.user_name)
        if not others:
            if not ours:
                prior = tuple(sorted(before))
                mark = run_marker(ctx, PENDING, prior, plan.destination)
                write_marker(ctx, plan.user_name, plan.user_arn, mark)
            return True
        if not ours:
            return False
        sleep(RACE_POLL)
    return False


def _create(
    ctx: RunContext, plan: KeyPlan, done: str, sleep: Callable[[float], None] = time.sleep
) -> NewKey:
    """Mark the user pending, create the key, check the marker is still ours; undo on failure.

    Two runs that both pass Step 3 both write their marker; the last one written wins, and
    the other run deletes the key it made (nobody holds its secret) and stops.

    Raises:
        AwsError: IAM refused (``LimitExceeded`` names both keys and the next action).
        RunInProgress: another run marked the user meanwhile.
    """
    user = plan.user_name
    prior = tuple(k.key_id for k in plan.remaining)
    write_marker(ctx, user, plan.user_arn, run_marker(ctx, PENDING, prior, plan.destination))
    try:
        made = aws.call(
            ctx.iam.create_access_key,
            what=_("Creating an access key for '{user}'").format(user=user),
            fix=_("The caller needs iam:CreateAccessKey."),
            UserName=user,
        )["AccessKey"]
    except AwsError as err:
        # undo: no key was created; a stale pending marker goes too (it could condemn a key
        # someone else is creating right now), unless another run's marker replaced ours
        if _ours(ctx, user):
            kept = plan.marker if plan.marker and plan.marker.state == DELIVERED else None
            write_marker(ctx, user, plan.user_arn, kept)
        if err.aws_code == "LimitExceeded":
            raise AwsError(
                two_keys_message(user, read_keys(ctx, user), utc_now(), plan.mode),
                aws_code="LimitExceeded",
            ) from err
        raise
    key_id = str(made["AccessKeyId"])
    secret = Secret(SECRET_KIND, str(made.pop("SecretAccessKey")), user)
    ctx.record.change("create-access-key", f"{plan.user_arn} access key {key_id}")
    if not _alone(ctx, plan, key_id, sleep):
        _yield_to_other_run(ctx, plan, key_id, secret)
    if plan.console_user:
        ctx.record.warn(_(CONSOLE_USER_WARNING).format(user=user))
    return NewKey(
        user,
        key_id,
        True,
        _("Created access key {key_id} for {user}: Active, secret {fingerprint}.").format(
            key_id=key_id, user=user, fingerprint=secret.fingerprint
        )
        + done,
        secret,
    )


def ensure_access_key(ctx: RunContext, plan: KeyPlan) -> NewKey:
    """Step 4: clean up after an unfinished run, then create a key unless the plan says not to.

    A key is created only after the user is tagged ``pending``; the tag changes to
    ``delivered`` in Step 6. In plan mode nothing is changed and the result says what would be.

    Raises:
        AwsError: IAM refused (``LimitExceeded`` names both keys and the next action).
    """
    user = plan.user_name
    repairs = [_("deleted orphan key {key_id}").format(key_id=k.key_id) for k in plan.orphans]
    repairs += [_("switched off key {key_id}").format(key_id=k.key_id) for k in plan.deactivate]
    if plan.set_aside:
        name = Path(plan.set_aside).name
        repairs.append(_("moved the unusable {name} aside").format(name=name))
    if plan.adopted and plan.marker is not None and plan.marker.state == PENDING:
        key_id = plan.adopted.key_id
        repairs.append(_("finished the delivery of {key_id}").format(key_id=key_id))
    done = _(" Repaired: {repairs}.").format(repairs="; ".join(repairs)) if repairs else ""
    if ctx.plan:
        where = f"{plan.user_arn} access key "
        for k in plan.orphans:
            ctx.record.would("S2.4", "delete-access-key", where + k.key_id, why="orphan")
        for k in plan.deactivate:
            ctx.record.would("S2.4", "deactivate-access-key", where + k.key_id, why="unproven")
        if plan.action == "create":
            ctx.record.would("S2.4", "create-access-key", plan.user_arn, mode=plan.mode)
        return NewKey(user, "", False, _plan_note(plan))
    _repair(ctx, plan)
    if plan.action == "none" and plan.reason:  # rotate-if-older-than: not due
        found = next((k.key_id for k in plan.remaining if k.status == "Active"), "")
        return NewKey(
            user, found, False, _("No change: {reason}.").format(reason=plan.reason) + done
        )
    if plan.action == "none":
        active = next(k for k in plan.remaining if k.status == "Active")
        return NewKey(
            user,
            active.key_id,
            False,
            _(
                "No change: {user} already has an active key, {key}. A re-run "
                "never makes a second key; use mode rotate to replace it."
            ).format(user=user, key=active.describe(plan.now))
            + done,
        )
    if plan.action == "resume" and plan.adopted is not None:
        return NewKey(
            user,
            plan.adopted.key_id,
            False,
            _("Continuing the rotation to {key_id}, whose secret is at {where}.").format(
                key_id=plan.adopted.key_id, where=plan.destination.describe()
            )
            + done,
        )
    return _create(ctx, plan, done)
