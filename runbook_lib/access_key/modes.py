"""The notebook's verbs, one per step, for every mode: the verb decides by the plan it gets.

The notebook's cells are the same in every mode (no ``if`` in a cell): ``check_request``
returns a ``KeyPlan`` (``create``, ``rotate``, ``rotate-if-older-than``) or a ``CleanupPlan``
(``cleanup``), and each later verb does its mode's part:

============================ ========================= ==================================
verb                         create / rotate           cleanup
============================ ========================= ==================================
``ensure_access_key``        Step 4: create the key    no new key
``show_key``/``deliver_key`` Steps 5–6                 nothing to show or deliver
``retire_old_key``           Step 7: retire the old    deactivate/remove unused credentials
``verify``                   the key works             nothing unused is still usable
============================ ========================= ==================================

``rotate-if-older-than`` is a ``rotate`` when the key is due; when it is not, the plan says
so, and every verb makes no write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from runbook_lib.access_key import handover, request, steps
from runbook_lib.access_key.cleanup import DEFAULT_UNUSED_DAYS, CleanupPlan, check_cleanup
from runbook_lib.access_key.cleanup_apply import apply_cleanup, verify_cleanup
from runbook_lib.access_key.rotation import ROTATE_IF_OLDER, validate_days
from runbook_lib.access_key.state import KeyPlan, NewKey, read_keys
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import DEFAULT_LEASE
from runbook_lib.core.result import StepResult
from runbook_lib.core.validation import validate_choice

Plan = KeyPlan | CleanupPlan


def check_request(
    ctx: RunContext,
    user_name: str,
    *,
    mode: str = "create",
    delete_old: bool = False,
    destination: str = "file",
    secrets_dir: str = "",
    secret_name: str = "",
    max_age_days: int = request.DEFAULT_MAX_AGE_DAYS,
    unused_days: int = DEFAULT_UNUSED_DAYS,
    cleanup_scope: str = "user",
    lease_minutes: float = DEFAULT_LEASE.total_seconds() / 60,
    now: datetime | None = None,
) -> Plan:
    """Steps 1–3 in any mode: check every input, read the state, decide; makes no change.

    Args:
        ctx: the run context.
        user_name: the IAM user (never root); mode ``cleanup`` with scope ``account``: unused.
        mode: ``create``, ``rotate``, ``rotate-if-older-than`` or ``cleanup``.
        delete_old: rotating modes only: delete the old key instead of deactivating it.
        destination: where a new key's secret goes (``file``, ``secretsmanager``, ``widget``).
        secrets_dir: folder for the CSV (empty: the default secrets folder).
        secret_name: Secrets Manager name (empty: ``iam-runbooks/<user>/access-key``).
        max_age_days: ``rotate-if-older-than``: rotate a key this many days old or older.
        unused_days: ``cleanup``: a credential idle this many days or more is unused.
        cleanup_scope: ``cleanup``: ``user`` (``user_name``) or ``account`` (every IAM user).
        lease_minutes: how long another run's pending marker stops this run.
        now: the run's time (default: now, UTC); ages count from it (tests pass one).

    Returns:
        A ``KeyPlan`` or, in mode ``cleanup``, a ``CleanupPlan``.

    Raises:
        TargetRefused: ``user_name`` names the root user.
        BadInput: a bad parameter, an unknown user, an unusable destination, two keys already.
        RunInProgress: another run of S2 on this user is working now.
    """
    validate_choice(mode, request.MODES, "mode")
    validate_days(max_age_days, "max_age_days", request.DEFAULT_MAX_AGE_DAYS)
    validate_days(unused_days, "unused_days", DEFAULT_UNUSED_DAYS)
    validate_choice(cleanup_scope, ("user", "account"), "cleanup_scope")
    if mode == "cleanup":
        if delete_old:
            raise BadInput(
                "delete_old applies to modes rotate and rotate-if-older-than, not cleanup "
                "(cleanup only deactivates keys): set delete_old false."
            )
        return check_cleanup(ctx, user_name, scope=cleanup_scope, unused_days=unused_days, now=now)
    return request.check_request(
        ctx,
        user_name,
        mode=mode,
        delete_old=delete_old,
        destination=destination,
        secrets_dir=secrets_dir,
        secret_name=secret_name,
        lease_minutes=lease_minutes,
        max_age_days=max_age_days,
        now=now,
    )


def _not_due(plan: Plan) -> bool:
    return isinstance(plan, KeyPlan) and plan.mode == ROTATE_IF_OLDER


def ensure_access_key(ctx: RunContext, plan: Plan) -> NewKey:
    """Step 4: create the key (or repair, or find it); in mode cleanup, no key.

    Raises:
        AwsError: IAM refused.
    """
    if isinstance(plan, CleanupPlan):
        return NewKey(
            plan.user_name, "", False, _("Mode cleanup: no new key (Step 7 does the cleanup).")
        )
    return steps.ensure_access_key(ctx, plan)


def show_key(ctx: RunContext, plan: Plan, key: NewKey) -> StepResult:
    """Step 5: show a new key once (interactive only); nothing in mode cleanup."""
    if isinstance(plan, CleanupPlan):
        return StepResult(_("Mode cleanup: no key to show."))
    return handover.show_key(ctx, plan, key)


def deliver_key(ctx: RunContext, plan: Plan, key: NewKey) -> StepResult:
    """Step 6: deliver a new key's secret; nothing in mode cleanup.

    Raises:
        BadInput: the CSV cannot be created.
        AwsError: Secrets Manager or IAM refused.
    """
    if isinstance(plan, CleanupPlan):
        return StepResult(_("Mode cleanup: nothing to deliver."))
    return handover.deliver_key(ctx, plan, key)


def retire_old_key(
    ctx: RunContext, plan: Plan, key: NewKey, *, sleep: Callable[[float], None] = time.sleep
) -> StepResult:
    """Step 7: retire the old key after a rotation; in mode cleanup, the unused credentials.

    Raises:
        VerifyFailed: a rotation's new key did not authenticate (the old key stays Active).
        AwsError: IAM refused a write.
    """
    if isinstance(plan, CleanupPlan):
        return apply_cleanup(ctx, plan)
    if _not_due(plan):
        return StepResult(_("Not due: {reason}; nothing to retire.").format(reason=plan.reason))
    return handover.retire_old_key(ctx, plan, key, sleep=sleep)


def _verify_not_due(ctx: RunContext, plan: KeyPlan, key: NewKey) -> StepResult:
    if ctx.plan or not key.key_id:
        return StepResult(
            _("No change was due ({reason}); nothing to verify.").format(reason=plan.reason)
        )
    status = {k.key_id: k.status for k in read_keys(ctx, plan.user_name)}.get(key.key_id)
    if status != "Active":
        raise VerifyFailed(
            _(
                "Access key {key_id} of '{user}' is {status}, not "
                "Active: it changed during this run; check the user's keys, then re-run."
            ).format(key_id=key.key_id, user=plan.user_name, status=status or _("missing"))
        )
    return StepResult(
        _("{key_id} is Active and not due: {reason}.").format(key_id=key.key_id, reason=plan.reason)
    )


def verify(
    ctx: RunContext, plan: Plan, key: NewKey, *, sleep: Callable[[float], None] = time.sleep
) -> StepResult:
    """Verify: the key is Active and works; in mode cleanup, nothing unused is still usable.

    Raises:
        VerifyFailed: the end state read back from IAM is not what this run made.
    """
    if isinstance(plan, CleanupPlan):
        return verify_cleanup(ctx, plan)
    if _not_due(plan):
        return _verify_not_due(ctx, plan, key)
    return handover.verify_access_key(ctx, plan, key, sleep=sleep)
