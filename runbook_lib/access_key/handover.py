"""S2 Steps 5–7: show the new key once, deliver it, retire the old key (Verify: ``verify``).

Order matters for a rotation: the new key is delivered, then proven with STS using the secret
read back from its destination, and only then is the old key deactivated (deleted only with
``delete_old``). Any failure before that leaves the old key Active. With ``destination:
widget`` in a live notebook, "I have stored it" delivers the key and proves it (``live``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from runbook_lib.access_key.destination import SECRET_KIND, deliver
from runbook_lib.access_key.live import (
    STORE_STEP,
    LiveStepResult,
    proof_at_store,
    prove_at_store,
    stored,
)
from runbook_lib.access_key.proof import prove_key
from runbook_lib.access_key.state import KeyInfo, KeyPlan, NewKey, run_marker, write_marker
from runbook_lib.access_key.verify import read_delivered, verify_access_key
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import DELIVERED
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret

STORE_TITLE = N_("Store the new access key")
ADVICE = N_(
    "Keep it confidential: never e-mail an access key or share it outside your organisation; "
    "AWS never asks for your secret access key."
)

__all__ = ["deliver_key", "retire_old_key", "show_key", "verify_access_key"]


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
            _(
                "No new key in this run: nothing to show (AWS shows a secret only once, at "
                "creation)."
            )
        )
    if not ctx.interactive:
        return StepResult(
            _(
                "Headless run: the secret of {key_id} is not shown; Step 6 puts it in {where}."
            ).format(key_id=key.key_id, where=plan.destination.describe())
        )
    from runbook_lib import widgets

    copy = Secret(SECRET_KIND, key.secret.text(), key.user_name)
    on_stored: Callable[[], None] | None = None
    if plan.destination.kind == "widget":

        def on_stored() -> None:
            _mark_delivered(ctx, plan, key.key_id)
            ctx.record.secret_delivered(SECRET_KIND, "widget: stored by a person", copy.fingerprint)
            ctx.record.manual(STORE_STEP, _(STORE_TITLE), done=True, how=_("confirmed"))
            prove_at_store(ctx, plan, key)  # before the kernel's copy is dropped (``live``)

    widgets.show(
        widgets.ShownOnce(
            copy,
            _("Secret access key of {user}").format(user=key.user_name),
            extra=_("(access key ID {key_id})").format(key_id=key.key_id),
            on_stored=on_stored,
        )
    )
    text = _(
        "Shown once above: access key ID {key_id}, secret {fingerprint}. Copy it into "
        "your password manager now; it cannot be shown again. {advice}"
    ).format(key_id=key.key_id, fingerprint=copy.fingerprint, advice=_(ADVICE))
    if on_stored is None:
        return StepResult(text)
    done = _(
        "Stored by you: access key ID {key_id}, secret {fingerprint}; the value is gone "
        "from this page and this kernel. {advice}"
    ).format(key_id=key.key_id, fingerprint=copy.fingerprint, advice=_(ADVICE))
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
                _("Plan mode: would deliver the new key to {where}.").format(
                    where=plan.destination.describe()
                )
            )
        return StepResult(_("Plan mode: nothing to deliver."))
    if key.secret is None:
        return StepResult(
            _("Nothing to deliver: {key_id} was not created by this run.").format(
                key_id=key.key_id or _("no key")
            )
        )
    dest = plan.destination
    if dest.kind == "widget":
        ctx.record.manual(
            STORE_STEP,
            _(STORE_TITLE),
            done=False,
            how=_("copy it from the widget in Step 5, then press 'I have stored it'"),
        )
        text = _(
            "Waiting for you: copy the key from Step 5's widget into your password manager, then "
            "press 'I have stored it' there (until then a re-run treats {key_id} as "
            "undelivered). {advice}"
        ).format(key_id=key.key_id, advice=_(ADVICE))
        done = _("Delivered {key_id}: stored by you ('I have stored it'). {advice}").format(
            key_id=key.key_id, advice=_(ADVICE)
        )
        return LiveStepResult(text, STORE_STEP, lambda: done if stored(ctx) else text)
    where = deliver(ctx, dest, key.key_id, key.secret)
    _mark_delivered(ctx, plan, key.key_id)
    key.secret.drop()
    hint = (
        _(
            "Import it into the AWS CLI with: aws configure import --csv file://{where} "
            "(profile '{user}'), then keep or destroy the file."
        ).format(where=where, user=key.user_name)
        if dest.kind == "file"
        else _("Read it with: aws secretsmanager get-secret-value --secret-id {name}").format(
            name=dest.secret_name
        )
    )
    delivered = _("Delivered {key_id} to {where}.").format(key_id=key.key_id, where=dest.describe())
    return StepResult(f"{delivered}\n{hint}\n{_(ADVICE)}")


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
    if plan.mode != "rotate" or plan.action == "none":
        return StepResult(_("The key is Active and usable now; nothing to retire (mode create)."))
    old = plan.old_keys
    verb = "delete" if plan.delete_old else "deactivate"
    if ctx.plan:
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
