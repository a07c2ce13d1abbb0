"""S1 Step 7: review the plan, then make the writes (``actions``), or wait for Create.

The plan is checked before the first write: another live run's delivery marker stops this run
(``core.markers``), and every sign-in CSV destination must be writable. Plan mode stops after
the plan; a live notebook waits for a person to press Create (``live``); a headless run
generates the new console passwords and makes the writes at once. Step 8 (``signin``) then
delivers the passwords. Re-running converges: a second run makes no writes, and a run that
stopped half-way is completed (``actions`` explains the one case that needs a repair).
"""

from __future__ import annotations

from runbook_lib.admin_user.actions import apply_actions, csv_place, plan_actions
from runbook_lib.admin_user.live import offer_create
from runbook_lib.admin_user.outcome import Created
from runbook_lib.admin_user.passwords import new_password
from runbook_lib.admin_user.signin import (
    csv_delivered,
    csv_path,
    set_aside_unusable,
    signin_destination,
)
from runbook_lib.admin_user.state import GroupsFound, UsersFound
from runbook_lib.core import sinks
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import check_lease


def review_and_create(ctx: RunContext, users: UsersFound, groups: GroupsFound) -> Created:
    """Step 7: show the plan, check the CSV destinations, then make the writes.

    In plan mode it stops after the plan, with zero writes. In a live notebook it writes
    nothing yet: the plan waits for a person to press Create (and optionally type the main
    user's console password; see ``live``).

    Raises:
        BadInput: a sign-in CSV exists already or cannot be written (before the first write).
        RunInProgress: another run of S1 is delivering a password to one of the users now.
        AwsError: IAM refused a write; a re-run completes what is missing.
    """
    request = users.request
    account = ctx.account_id
    for state in users.states:  # before any write: another live run's marker stops this run
        check_lease(
            ctx, state.marker, what=_("S1 on '{name}'").format(name=state.name), lease=request.lease
        )

    def delivered(name: str) -> bool:
        return csv_delivered(csv_path(request.secrets_dir, account, name), name)

    def place(name: str) -> str:
        return csv_place(request, account, name)

    actions = plan_actions(request, users.states, groups.states, delivered, place)
    need = [a.name for a in actions if a.kind in ("create-login-profile", "reset-lost-password")]
    finish = tuple(a.name for a in actions if a.kind == "finish-delivery")
    lost = {a.name for a in actions if a.kind == "reset-lost-password"}
    for name in need:
        path = csv_path(request.secrets_dir, account, name)
        if name in lost and path.exists():  # an unusable CSV of the dead run: keep it aside
            if ctx.plan:
                continue
            aside = set_aside_unusable(path, name)
            if aside is not None:
                ctx.record.warn(
                    _("The unusable sign-in CSV of {name!r} was moved to {aside}.").format(
                        name=name, aside=aside
                    )
                )
        sinks.check(signin_destination(path))
    if ctx.plan:
        for a in actions:  # run.json's ``planned``, the terminal's ``would …`` lines
            ctx.record.would("S1.7", a.kind, a.name, **({"detail": a.detail} if a.detail else {}))
        return Created(request, actions, False, account, {}, finish)
    if ctx.interactive and actions:
        return offer_create(ctx, request, actions, users.policy, finish)
    passwords = {name: new_password(users.policy, name, account, None) for name in need}
    apply_actions(ctx, request, actions, passwords)
    return Created(request, actions, True, account, passwords, finish)
