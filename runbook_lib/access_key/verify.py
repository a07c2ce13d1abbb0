"""S2 Verify: the new key is Active and the user's, and the delivered secret authenticates.

``rotate-if-older-than`` when the key was not due: the key found is still Active.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from runbook_lib.access_key.live import LiveStepResult, proof_at_store, waits_for_store
from runbook_lib.access_key.proof import prove_key, read_delivered
from runbook_lib.access_key.rotation import ROTATE_IF_OLDER
from runbook_lib.access_key.state import KeyPlan, NewKey, read_keys
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import RunbookError, VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.core.result import StepResult


def verify(
    ctx: RunContext, plan: KeyPlan, key: NewKey, *, sleep: Callable[[float], None] = time.sleep
) -> StepResult:
    """Verify: the key is Active and works (not due: the key found is still Active).

    Raises:
        VerifyFailed: the end state read back from IAM is not what this run made.
    """
    if plan.mode == ROTATE_IF_OLDER:
        return _verify_not_due(ctx, plan, key)
    return verify_access_key(ctx, plan, key, sleep=sleep)


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


def verify_access_key(
    ctx: RunContext,
    plan: KeyPlan,
    key: NewKey,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> StepResult:
    """Verify: the key is Active, belongs to the user, and the delivered secret authenticates.

    A live run's record notes a failure in its status (``RunRecord.verify_failed``).

    Raises:
        VerifyFailed: any of these is not so.
    """
    try:
        return _verify(ctx, plan, key, sleep)
    except RunbookError as err:
        ctx.record.verify_failed(err.message)
        raise


def _verify(
    ctx: RunContext, plan: KeyPlan, key: NewKey, sleep: Callable[[float], None]
) -> StepResult:
    if ctx.plan:
        ctx.record.verified()
        return StepResult(_("Plan mode: nothing was changed, so there is nothing to verify."))
    keys = {k.key_id: k for k in read_keys(ctx, plan.user_name)}
    found = keys.get(key.key_id)
    if found is None or found.status != "Active":
        state = _("missing") if found is None else found.status
        raise VerifyFailed(
            _(
                "Access key {key_id} of '{user}' is {state}, not Active: re-run the "
                "runbook (it repairs unfinished runs)."
            ).format(key_id=key.key_id, user=plan.user_name, state=state)
        )
    lines = [
        _("{key_id} is Active and belongs to {user}.").format(
            key_id=key.key_id, user=plan.user_name
        )
    ]
    if plan.mode == "rotate":
        still = [k for k in plan.old_keys if k.key_id in keys and keys[k.key_id].status == "Active"]
        if still:
            raise VerifyFailed(
                _("The old key {key_id} is still Active: re-run Step 7.").format(
                    key_id=still[0].key_id
                )
            )
        lines.append(_("No old key is Active."))
    if waits_for_store(ctx, plan, key):  # "I have stored it" proves it and refreshes this
        lines.append(
            _(
                "Not verified yet: waiting for 'I have stored it' in Step 5 (that button proves "
                "the secret you stored with STS, then this line updates)."
            )
        )
        return LiveStepResult(
            "\n".join(lines),
            "verify",
            lambda: repr(verify_access_key(ctx, plan, key, sleep=sleep)),
        )
    lines.append(_secret_line(ctx, plan, key, sleep))
    ctx.record.verified()
    return StepResult("\n".join(lines))


def _secret_line(
    ctx: RunContext, plan: KeyPlan, key: NewKey, sleep: Callable[[float], None]
) -> str:
    """Whether the delivered secret authenticates (proven at 'I have stored it', or now)."""
    at_store = proof_at_store(ctx, key.key_id)
    if at_store is not None:
        return at_store
    secret = read_delivered(ctx, plan, key)
    if secret is None:
        if key.created or plan.action == "resume":
            raise VerifyFailed(
                _(
                    "The secret of {key_id} is not at {where}: check the "
                    "destination; a re-run cleans up an undelivered key."
                ).format(key_id=key.key_id, where=plan.destination.describe())
            )
        return _(
            "Its secret was delivered before this run and is not at {where}; it was not re-checked."
        ).format(where=plan.destination.describe())
    proof = prove_key(ctx, plan.user_arn, key.key_id, secret, sleep=sleep)
    secret.drop()
    return _("The delivered secret authenticates: {proof}.").format(proof=proof)
