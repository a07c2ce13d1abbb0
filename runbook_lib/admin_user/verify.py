"""S1 Verify: read the users, groups, memberships, login profiles and tags back from IAM.

``verify`` is the notebook's cell: in a live notebook Create and "I have done this" refresh it
in place (``widgets.live``); ``verify_end_state`` is the check itself, which Create also runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from runbook_lib.admin_user.outcome import Created
from runbook_lib.admin_user.state import (
    MARKER_KEY,
    MARKER_PENDING,
    GroupState,
    UserState,
    read_groups,
    read_user,
)
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.widgets.live import live_result


@dataclass(frozen=True)
class Verified:
    """The end state read back from IAM."""

    lines: tuple[str, ...]

    def __repr__(self) -> str:
        return "\n".join(self.lines)


def _differences(
    created: Created, states: list[UserState], groups: tuple[GroupState, ...]
) -> list[str]:
    request, problems = created.request, []
    for spec, st in zip(request.users, states, strict=True):
        if not st.exists:
            problems.append(_("user {name} does not exist").format(name=repr(spec.name)))
            continue
        if st.path != request.path:
            problems.append(
                _("user {name} has path {path}, not {want}").format(
                    name=repr(spec.name), path=st.path, want=request.path
                )
            )
        problems += [
            _("{name} is not in group {group}").format(name=repr(spec.name), group=repr(g))
            for g in spec.groups
            if g not in st.groups
        ]
        have = {k.lower(): v for k, v in st.tags}
        problems += [
            _("{name} lacks tag {tag}").format(name=repr(spec.name), tag=f"{k}={v}")
            for k, v in spec.tags
            if have.get(k.lower()) != v
        ]
        if not request.console_access:
            continue
        if not st.login_profile:
            problems.append(_("{name} has no console password").format(name=repr(spec.name)))
        elif (
            spec.name in created.new_passwords
            and st.reset_required != request.password_reset_required
        ):
            problems.append(
                _("{name} has PasswordResetRequired={value}").format(
                    name=repr(spec.name), value=st.reset_required
                )
            )
        if st.pending:
            problems.append(
                _("{name} still has {tag} (Step 8 not done)").format(
                    name=repr(spec.name), tag=f"{MARKER_KEY}={MARKER_PENDING}"
                )
            )
    for group in groups:
        if not group.exists:
            problems.append(_("group {name} does not exist").format(name=repr(group.name)))
        elif group.name == request.admin_group and request.policy_arn not in group.policies:
            problems.append(
                _("group {name} lacks {policy}").format(
                    name=repr(group.name), policy=request.policy_arn
                )
            )
    return problems


def verify_end_state(ctx: RunContext, created: Created, *, attempts: int = 0) -> Verified:
    """Verify: read users, memberships, the attached policy, login profiles and tags back.

    Args:
        ctx: the run context.
        created: Step 7's outcome (which passwords this run set); in a live notebook, until
            Create is pressed, "not verified yet" (no raise).
        attempts: how often to read (default: 1 on the sandbox, 4 on AWS, which is eventually
            consistent).

    Raises:
        VerifyFailed: anything differs from the request.
        AwsError: IAM refused a read.
    """
    if created.waiting is not None:  # a live notebook: Step 7's Create button makes the writes
        if created.waiting.created is None:
            return Verified((_("Not verified yet: waiting for Step 7 (press Create)."),))
        created = created.waiting.created
    request = created.request
    if not created.applied:
        ctx.record.verified()
        return Verified((_("Plan mode: nothing was changed, so there is nothing to verify."),))
    tries = attempts or (1 if ctx.sandbox else 4)
    for attempt in range(tries):
        states = [read_user(ctx.iam, u.name) for u in request.users]
        groups = read_groups(ctx, request)
        problems = _differences(created, states, groups)
        if not problems:
            break
        if attempt < tries - 1:
            time.sleep(2)
    if problems:
        raise VerifyFailed(
            _(
                "Verify found {count} difference(s): {problems}. Re-run the notebook to converge."
            ).format(count=len(problems), problems="; ".join(problems))
        )
    ctx.record.verified()
    lines = [f"✓ {g!r}" for g in groups]
    for st in states:
        console = _("no console password")
        if st.login_profile:
            reset = _("yes") if st.reset_required else _("no")
            console = _("console password (new password at next sign-in: {reset})").format(
                reset=reset
            )
        tags = ", ".join(f"{k}={v}" for k, v in st.tags) or _("none")
        groups_text = ", ".join(st.groups)
        lines.append(
            _("✓ user {name} (path {path}): in {groups}; {console}; tags: {tags}").format(
                name=repr(st.name), path=st.path, groups=groups_text, console=console, tags=tags
            )
        )
    return Verified(tuple(lines))


def verify(ctx: RunContext, created: Created) -> Verified | None:
    """Verify (``verify_end_state``); in a live notebook Create and "I have done this" refresh
    it in place (``widgets.live``).

    Returns:
        The end state read back; ``None`` in a live notebook (the cell shows it already).

    Raises:
        VerifyFailed: anything differs from the request.
        AwsError: IAM refused a read.
    """
    return live_result("verify", lambda: verify_end_state(ctx, created), record=ctx.record)
