"""S2 Steps 5–7 and Verify: show the new key once, deliver it, retire the old key, check it all.

Order matters for a rotation: the new key is delivered, then proven with STS using the secret
read back from its destination, and only then is the old key deactivated (deleted only with
``delete_old``). Any failure before that leaves the old key Active. With ``destination:
widget`` in a live notebook, "I have stored it" delivers the key and proves it (``live``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from runbook_lib.access_key.destination import SECRET_KIND, deliver, read_back
from runbook_lib.access_key.live import (
    STORE_STEP,
    LiveStepResult,
    StepResult,
    proof_at_store,
    prove_at_store,
    stored,
    waits_for_store,
)
from runbook_lib.access_key.proof import prove_key
from runbook_lib.access_key.state import (
    KeyInfo,
    KeyPlan,
    NewKey,
    read_keys,
    run_marker,
    write_marker,
)
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import RunbookError, VerifyFailed
from runbook_lib.core.markers import DELIVERED
from runbook_lib.core.secrets import Secret

ADVICE = (
    "Keep it confidential: never e-mail an access key or share it outside your organisation; "
    "AWS never asks for your secret access key."
)


def _mark_delivered(ctx: RunContext, plan: KeyPlan, key_id: str) -> None:
    marker = run_marker(ctx, DELIVERED, (key_id,), plan.destination.kind)
    write_marker(ctx, plan.user_name, plan.user_arn, marker)


def show_key(ctx: RunContext, plan: KeyPlan, key: NewKey) -> StepResult:
    """Step 5: show the new key pair once (interactive: a masked widget; headless: nothing).

    Returns:
        What was shown; never the secret.
    """
    if key.secret is None or key.secret.dropped:
        return StepResult(
            "No new key in this run: nothing to show (AWS shows a secret only once, at creation)."
        )
    if not ctx.interactive:
        return StepResult(
            f"Headless run: the secret of {key.key_id} is not shown; Step 6 puts it in "
            f"{plan.destination.describe()}."
        )
    from runbook_lib import widgets

    copy = Secret(SECRET_KIND, key.secret.text(), key.user_name)
    on_stored: Callable[[], None] | None = None
    if plan.destination.kind == "widget":

        def on_stored() -> None:
            _mark_delivered(ctx, plan, key.key_id)
            ctx.record.secret_delivered(SECRET_KIND, "widget: stored by a person", copy.fingerprint)
            ctx.record.manual(STORE_STEP, "Store the new access key", done=True, how="confirmed")
            prove_at_store(ctx, plan, key)  # before the kernel's copy is dropped (``live``)

    widgets.show(
        widgets.ShownOnce(
            copy,
            f"Secret access key of {key.user_name}",
            extra=f"(access key ID {key.key_id})",
            on_stored=on_stored,
        )
    )
    text = (
        f"Shown once above: access key ID {key.key_id}, secret {copy.fingerprint}. Copy it into "
        f"your password manager now; it cannot be shown again. {ADVICE}"
    )
    if on_stored is None:
        return StepResult(text)
    done = (
        f"Stored by you: access key ID {key.key_id}, secret {copy.fingerprint}; the value is gone "
        f"from this page and this kernel. {ADVICE}"
    )
    return LiveStepResult(text, "S2.5", lambda: done if stored(ctx) else text)


def deliver_key(ctx: RunContext, plan: KeyPlan, key: NewKey) -> StepResult:
    """Step 6: put the secret at its destination, then mark the user's key as delivered.

    Raises:
        BadInput: the CSV cannot be created.
        AwsError: Secrets Manager or IAM refused.
    """
    if ctx.plan:
        if plan.action == "create":
            return StepResult(
                f"Plan mode: would deliver the new key to {plan.destination.describe()}."
            )
        return StepResult("Plan mode: nothing to deliver.")
    if key.secret is None:
        return StepResult(
            f"Nothing to deliver: {key.key_id or 'no key'} was not created by this run."
        )
    dest = plan.destination
    if dest.kind == "widget":
        ctx.record.manual(
            STORE_STEP,
            "Store the new access key",
            done=False,
            how="copy it from the widget in Step 5, then press 'I have stored it'",
        )
        text = (
            "Waiting for you: copy the key from Step 5's widget into your password manager, then "
            f"press 'I have stored it' there (until then a re-run treats {key.key_id} as "
            f"undelivered). {ADVICE}"
        )
        done = f"Delivered {key.key_id}: stored by you ('I have stored it'). {ADVICE}"
        return LiveStepResult(text, STORE_STEP, lambda: done if stored(ctx) else text)
    where = deliver(ctx, dest, key.key_id, key.secret)
    _mark_delivered(ctx, plan, key.key_id)
    key.secret.drop()
    hint = (
        f"Import it into the AWS CLI with: aws configure import --csv file://{where} "
        f"(profile '{key.user_name}'), then keep or destroy the file."
        if dest.kind == "file"
        else f"Read it with: aws secretsmanager get-secret-value --secret-id {dest.secret_name}"
    )
    return StepResult(f"Delivered {key.key_id} to {dest.describe()}.\n{hint}\n{ADVICE}")


def _read_delivered(ctx: RunContext, plan: KeyPlan, key: NewKey) -> Secret | None:
    if key.secret is not None and not key.secret.dropped:
        return key.secret
    return read_back(ctx, plan.destination, key.key_id)


def _retire(ctx: RunContext, plan: KeyPlan, k: KeyInfo) -> list[str]:
    """Deactivate (and with ``delete_old`` delete) one old key; what was done, as lines."""
    lines: list[str] = []
    where = f"{plan.user_arn} access key {k.key_id}"
    what = f"Retiring the old key {k.key_id}"
    fix = "The caller needs iam:UpdateAccessKey/DeleteAccessKey; the new key works already."
    gone = f"The old key {k.key_id} is gone already (another run retired it)."
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
        lines.append(f"Deactivated the old key {k.key_id}.")
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
        lines.append(f"Deleted the old key {k.key_id} (delete_old).")
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
    if plan.mode != "rotate" or plan.action == "none":
        return StepResult("The key is Active and usable now; nothing to retire (mode create).")
    old = plan.old_keys
    verb = "delete" if plan.delete_old else "deactivate"
    if ctx.plan:
        names = ", ".join(k.key_id for k in old) or "no old key"
        return StepResult(f"Plan mode: would prove the new key with STS, then {verb} {names}.")
    secret = _read_delivered(ctx, plan, key)
    at_store = proof_at_store(ctx, key.key_id) if secret is None else None
    if secret is None and at_store is None:
        raise VerifyFailed(
            f"The secret of {key.key_id} is not at {plan.destination.describe()}: the old key was "
            "left Active; check the destination and re-run."
        )
    if secret is not None:
        at_store = f"Proven: {prove_key(ctx, plan.user_arn, key.key_id, secret, sleep=sleep)}."
    lines = [str(at_store)]
    for k in old:
        lines += _retire(ctx, plan, k)
    if old and not plan.delete_old:
        lines.append(
            "The old key is Inactive, not deleted: once nothing breaks, delete it (re-run "
            "with delete_old) or re-activate it to roll back."
        )
    if not old:
        lines.append("There was no old key to retire.")
    return StepResult("\n".join(lines))


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
        return StepResult("Plan mode: nothing was changed, so there is nothing to verify.")
    keys = {k.key_id: k for k in read_keys(ctx, plan.user_name)}
    found = keys.get(key.key_id)
    if found is None or found.status != "Active":
        state = "missing" if found is None else found.status
        raise VerifyFailed(
            f"Access key {key.key_id} of '{plan.user_name}' is {state}, not Active: re-run the "
            "runbook (it repairs unfinished runs)."
        )
    lines = [f"{key.key_id} is Active and belongs to {plan.user_name}."]
    if plan.mode == "rotate":
        still = [k for k in plan.old_keys if k.key_id in keys and keys[k.key_id].status == "Active"]
        if still:
            raise VerifyFailed(f"The old key {still[0].key_id} is still Active: re-run Step 7.")
        lines.append("No old key is Active.")
    if waits_for_store(ctx, plan, key):  # "I have stored it" proves it and refreshes this
        lines.append(
            "Not verified yet: waiting for 'I have stored it' in Step 5 (that button proves the "
            "secret you stored with STS, then this line updates)."
        )
        return LiveStepResult(
            "\n".join(lines),
            "verify",
            lambda: repr(verify_access_key(ctx, plan, key, sleep=sleep)),
        )
    at_store = proof_at_store(ctx, key.key_id)
    secret = None if at_store is not None else _read_delivered(ctx, plan, key)
    if at_store is not None:
        lines.append(at_store)
    elif secret is None:
        if key.created or plan.action == "resume":
            raise VerifyFailed(
                f"The secret of {key.key_id} is not at {plan.destination.describe()}: check the "
                "destination; a re-run cleans up an undelivered key."
            )
        lines.append(
            f"Its secret was delivered before this run and is not at "
            f"{plan.destination.describe()}; it was not re-checked."
        )
    else:
        proof = prove_key(ctx, plan.user_arn, key.key_id, secret, sleep=sleep)
        lines.append(f"The delivered secret authenticates: {proof}.")
        secret.drop()
    ctx.record.verified()
    return StepResult("\n".join(lines))
