"""S6 Verify: read membership, the permission set's policies and every assignment back."""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.identity_center import state
from runbook_lib.identity_center.apply import Assignments
from runbook_lib.identity_center.live import MFA_STEP, PASSWORD_STEP
from runbook_lib.identity_center.request import ADMIN_POLICY_ARN
from runbook_lib.identity_center.state import Setting
from runbook_lib.widgets.live import live_result


@dataclass(frozen=True)
class IdcVerified:
    """What Identity Center has after the run, and what the user does next."""

    lines: tuple[str, ...]
    next_step: str

    def __repr__(self) -> str:
        return "\n".join((*self.lines, self.next_step))


def _next_step(ctx: RunContext, setting: Setting) -> str:
    pending = [
        m.step
        for m in ctx.record.manual_steps
        if m.step in (PASSWORD_STEP, MFA_STEP) and m.status != "done"
    ]
    if pending:
        return _(
            "Next: finish manual step(s) {steps}; then {user} signs in at {url} with MFA."
        ).format(
            steps=", ".join(pending),
            user=setting.request.user_name,
            url=setting.instance.portal_url,
        )
    return _(
        "Next: {user} signs in at {url} with MFA and chooses an account → {name}. Keep the "
        "Administrator IAM user (S1) for break-glass access only."
    ).format(
        user=setting.request.user_name,
        url=setting.instance.portal_url,
        name=setting.request.permission_set_name,
    )


def verify_end_state(ctx: RunContext, setting: Setting, assignments: Assignments) -> IdcVerified:
    """Read the end state back; raise on any difference (plan mode: report only).

    Raises:
        VerifyFailed: something is missing (each thing named), or an account failed.
    """
    request, instance = setting.request, setting.instance
    store = instance.identity_store_id
    problems: list[str] = []
    lines: list[str] = []
    user = state.user_id(ctx, store, request.user_name)
    group = state.group_id(ctx, store, request.group_name)
    if user is None or group is None:
        problems.append(
            _("user {user} or group {group} is missing").format(
                user=request.user_name, group=request.group_name
            )
        )
    elif not state.is_member(ctx, store, group, user):
        problems.append(
            _("{user} is not in group {group}").format(
                user=request.user_name, group=request.group_name
            )
        )
    else:
        lines.append(
            _("✓ {user} is in group {group} (IsMemberInGroups)").format(
                user=request.user_name, group=request.group_name
            )
        )
    found = state.permission_set(ctx, instance, request.permission_set_name)
    if found is None:
        problems.append(
            _("permission set {name} is missing").format(name=request.permission_set_name)
        )
    elif ADMIN_POLICY_ARN not in state.managed_policies(ctx, instance, found.arn):
        problems.append(
            _("permission set {name} lacks AdministratorAccess").format(
                name=request.permission_set_name
            )
        )
    else:
        lines.append(
            _("✓ permission set {name}: AdministratorAccess, sessions of {d}").format(
                name=request.permission_set_name, d=found.session_duration
            )
        )
    if found is not None and group is not None:
        missing = [
            a
            for a in setting.accounts
            if not state.group_assigned(ctx, instance, a, found.arn, group)
        ]
        for account in setting.accounts:
            if account not in missing:
                lines.append(
                    _("✓ account {account}: group {group} has {name}").format(
                        account=account, group=request.group_name, name=request.permission_set_name
                    )
                )
        if missing:
            problems.append(
                _("no assignment in account(s) {accounts}").format(accounts=", ".join(missing))
            )
    if problems and ctx.plan:
        lines.append(
            _("Plan mode: nothing was changed; a run without plan makes: {what}.").format(
                what="; ".join(problems)
            )
        )
        ctx.record.verified()
        return IdcVerified(tuple(lines), "")
    if problems:
        failed = "; ".join(a.line() for a in assignments.failed)
        raise VerifyFailed(
            _(
                "Identity Center is not as requested: {problems}{failed}. Fix what is named, "
                "then re-run this runbook."
            ).format(problems="; ".join(problems), failed=f" ({failed})" if failed else "")
        )
    ctx.record.verified()
    return IdcVerified(tuple(lines), _next_step(ctx, setting))


def verify(ctx: RunContext, setting: Setting, assignments: Assignments) -> IdcVerified | None:
    """Verify: membership (IsMemberInGroups), the permission set's managed policies and
    ListAccountAssignments in every target account; says what the user does next.

    In a live notebook the result is shown live: the manual steps' buttons update its next step.

    Raises:
        VerifyFailed: the end state differs from the request (each difference named).
        AwsError: a read was refused.
    """
    return live_result(
        "verify", lambda: verify_end_state(ctx, setting, assignments), record=ctx.record
    )
