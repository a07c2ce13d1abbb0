"""S1 Step 7 in a live notebook: the reviewed plan waits for a person to press Create.

In JupyterLab (Run All) and Voilà every cell runs before anyone can type, so a live Step 7 makes
no write when its cell runs. It shows the plan, a masked field for the main user's console
password (left empty: a generated one) and a Create button. Pressing Create checks the typed
password against the account's password policy (refused in the form, nothing written), makes
the writes and Step 8 (the sign-in CSV), and shows the changes made in the form, in place of
the plan. Until then Step 8 and Verify say that they wait for Step 7; their lines are live
(``widgets.live``): Create replaces them in place with what was done (Verify runs there), so
each result is on the page once, in its own cell. Step 7's own "press Create" line goes.
Headless runs never come here.
"""

from __future__ import annotations

from runbook_lib.admin_user.actions import Action, apply_actions
from runbook_lib.admin_user.outcome import Created, Waiting
from runbook_lib.admin_user.passwords import new_password
from runbook_lib.admin_user.request import Request
from runbook_lib.admin_user.signin import csv_path, deliver_sign_in
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.secret_files import check_file_destination
from runbook_lib.core.secrets import Secret
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.widgets.live import LiveRepr

CREATE_STEP = "S1.7"
CREATE_TITLE = N_("Review the plan and press Create")


class LiveCreated(LiveRepr, Created):
    """Step 7 in a live notebook: "press Create" until Create is pressed, then what it made."""

    @property
    def live_key(self) -> str:
        """Step 7's line."""
        return CREATE_STEP

    def live_text(self) -> str:
        """The line waiting for Create; nothing once pressed (the form above shows the changes
        made, in place of the plan)."""
        done = self.waiting.created if self.waiting is not None else None
        return repr(self) if done is None else ""


def offer_create(
    ctx: RunContext,
    request: Request,
    actions: tuple[Action, ...],
    policy: PasswordPolicy,
    finish: tuple[str, ...],
) -> Created:
    """Show the plan with a Create button (and the password field); write nothing yet.

    Args:
        ctx: the run context (interactive, not plan mode).
        request: the validated request.
        actions: the planned writes (not empty).
        policy: the account's password policy.
        finish: users whose earlier delivery Step 8 finishes.

    Returns:
        Step 7's outcome, waiting for Create (``waiting.created`` is set when pressed).
    """
    from runbook_lib import widgets

    account, main = ctx.account_id, request.users[0].name
    waiting = Waiting()
    plan = Created(request, actions, False, account, {}, finish)
    need = plan.new_passwords

    def create(typed: str) -> str:
        if waiting.created is not None:
            raise BadInput(_("Step 7 is done already: re-run the notebook for further changes."))
        chosen = Secret("password", typed, label=main, keyed=True) if typed else None
        del typed  # from here on only inside the Secret (no local for a verbose traceback)
        try:
            passwords = {
                name: new_password(policy, name, account, chosen if name == main else None)
                for name in need
            }
            for name in need:
                check_file_destination(csv_path(request.secrets_dir, account, name))
        except BadInput:
            if chosen is not None:
                chosen.drop()
            raise
        apply_actions(ctx, request, actions, passwords)
        done = Created(request, actions, True, account, passwords, finish)
        waiting.created = done
        ctx.record.manual(CREATE_STEP, _(CREATE_TITLE), done=True, how=_("pressed Create"))
        waiting.sign_in = deliver_sign_in(ctx, done)  # shown by Step 8's cell, and Verify by its
        return repr(done)  # own: the buttons' ``refresh_live`` runs them again there

    password_title = ""
    if main in need:
        policy_text = policy.describe()
        password_title = _("Console password of {user} (optional; {policy})").format(
            user=main, policy=policy_text
        )
    widgets.show(
        widgets.ApplyForm(
            _("Step 7 — review, then create"),
            plan.review(live=True),
            create,
            password_title,
            _("Create"),
        )
    )
    ctx.record.manual(CREATE_STEP, _(CREATE_TITLE), done=False, how=_("press Create in Step 7"))
    return LiveCreated(request, actions, False, account, {}, finish, waiting)
