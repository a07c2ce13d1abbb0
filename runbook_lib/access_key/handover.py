"""S2 Steps 5–6: hand the new key over once: show it (live only), deliver it to its destination.

The secret leaves the kernel only here: to the person through a shown-once widget, or to the
destination the run chose (``destination``); then the user's marker says ``delivered``. With
``destination: widget`` in a live notebook, "I have stored it" delivers the key and proves it
(``live``). Step 7, the old key's retirement, is ``rotation``'s.
"""

from __future__ import annotations

from collections.abc import Callable

from runbook_lib.access_key.destination import SECRET_KIND, deliver
from runbook_lib.access_key.live import STORE_STEP, LiveStepResult, prove_at_store, stored
from runbook_lib.access_key.marker import run_marker, write_marker
from runbook_lib.access_key.state import KeyPlan, NewKey
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import DELIVERED
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret

STORE_TITLE = N_("Store the new access key")
ADVICE = N_(
    "Keep it confidential: never e-mail an access key or share it outside your organisation; "
    "AWS never asks for your secret access key."
)


def _mark_delivered(ctx: RunContext, plan: KeyPlan, key_id: str) -> None:
    marker = run_marker(ctx, DELIVERED, (key_id,), plan.destination)
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
        "your password manager now; it cannot be shown again."
    ).format(key_id=key.key_id, fingerprint=copy.fingerprint)
    # once "I have stored it" dropped the copy the line goes: the widget above says so (and
    # Step 6 carries the advice)
    return LiveStepResult(text, "S2.5", lambda: "" if copy.dropped else text)


def deliver_key(ctx: RunContext, plan: KeyPlan, key: NewKey) -> StepResult:
    """Step 6: put the secret at its destination, then mark the user's key as delivered.

    Raises:
        BadInput: the CSV cannot be created.
        AwsError: Secrets Manager or IAM refused.
    """
    if ctx.plan:
        if plan.action == "create":
            ctx.record.would("S2.6", "store-secret", plan.destination.describe())
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
