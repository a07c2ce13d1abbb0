"""S1 steps 7 and 8: the review plan, the writes it needs, and the sign-in CSV.

Crash safety: a new console password exists in exactly one place, the sign-in CSV. Between
``CreateLoginProfile`` and the CSV it exists only in this process, so the runbook marks the user
first with the tag ``iam-runbooks:console-password=pending`` (in ``CreateUser`` itself for a new
user) and removes the tag only after the CSV is written. A later run that finds the tag, a login
profile and no CSV knows that nobody holds that password: it sets a new one (with
``UpdateLoginProfile`` *and* the password) and records a repair. A login profile without the tag
was set by someone else, or delivered already: it is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runbook_lib.admin_user.state import MARKER_KEY, MARKER_PENDING, GroupState, Request, UserState
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import aws_code, from_client_error
from runbook_lib.core.secrets import Secret, hidden_frames

if TYPE_CHECKING:
    from runbook_lib.admin_user.live import Waiting

#: action kinds, in the order they run, and how the review shows them
_TEXT = {
    "create-group": "create group {name}",
    "attach-policy": "attach {detail} to group {name}",
    "create-user": "create user {name} {detail}",
    "tag-user": "tag user {name}: {detail}",
    "add-to-group": "add user {name} to group {detail}",
    "mark-pending": "tag user {name} " + MARKER_KEY + "=" + MARKER_PENDING,
    "create-login-profile": "create console password of {name} {detail}",
    "reset-lost-password": "REPAIR: set a new console password for {name} {detail}",
    "finish-delivery": "REPAIR: finish delivery for {name} {detail}",
}
_REPAIRS = ("reset-lost-password", "finish-delivery")


@dataclass(frozen=True)
class Action:
    """One change the review plans."""

    kind: str
    name: str
    detail: str = ""

    def __repr__(self) -> str:
        return " ".join(_TEXT[self.kind].format(name=repr(self.name), detail=self.detail).split())


def plan_actions(
    request: Request,
    users: tuple[UserState, ...],
    groups: tuple[GroupState, ...],
    csv_exists: Callable[[str], bool],
) -> tuple[Action, ...]:
    """The writes that take the account from ``users``/``groups`` to ``request`` (pure).

    Args:
        request: what the operator asked for.
        users: the requested users as IAM has them, in request order.
        groups: the requested groups as IAM has them.
        csv_exists: whether a user's sign-in CSV exists already (by user name).

    Returns:
        The actions, in the order they must run; empty when nothing is to do.
    """
    actions: list[Action] = []
    policy = request.policy_arn.rsplit("/", 1)[-1]
    for group in groups:
        if not group.exists:
            actions.append(Action("create-group", group.name))
        if group.name == request.admin_group and request.policy_arn not in group.policies:
            actions.append(Action("attach-policy", group.name, policy))
    reset = "(new password at first sign-in)" if request.password_reset_required else ""
    for spec, state in zip(request.users, users, strict=True):
        if not state.exists:
            tags = ", ".join(f"{k}={v}" for k, v in spec.tags)
            actions.append(Action("create-user", spec.name, f"with tags {tags}" if tags else ""))
        else:
            have = {k.lower(): v for k, v in state.tags}
            missing = [f"{k}={v}" for k, v in spec.tags if have.get(k.lower()) != v]
            if missing:
                actions.append(Action("tag-user", spec.name, ", ".join(missing)))
        for group_name in spec.groups:
            if group_name not in state.groups:
                actions.append(Action("add-to-group", spec.name, group_name))
        if not request.console_access:
            continue
        if not state.login_profile:
            if state.exists and state.marker != MARKER_PENDING:
                actions.append(Action("mark-pending", spec.name))
            actions.append(Action("create-login-profile", spec.name, reset))
        elif state.marker == MARKER_PENDING and csv_exists(spec.name):
            actions.append(Action("finish-delivery", spec.name, "(its CSV exists already)"))
        elif state.marker == MARKER_PENDING:
            actions.append(
                Action("reset-lost-password", spec.name, "(an earlier run stopped before its CSV)")
            )
    return tuple(actions)


def _login_profile(iam: Any, user_name: str, sleep: Callable[[float], None]) -> dict[str, Any]:
    """Read a login profile just written (IAM is eventually consistent: retry briefly)."""
    for attempt in range(5):
        try:
            profile: dict[str, Any] = iam.get_login_profile(UserName=user_name)["LoginProfile"]
            return profile
        except ClientError as err:
            if aws_code(err) != "NoSuchEntity" or attempt == 4:
                raise
            sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def set_console_password(
    iam: Any,
    user_name: str,
    password: Secret,
    reset_required: bool,
    *,
    create: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Create (or replace) a console password and make sure the reset flag is right.

    AWS honours ``PasswordResetRequired`` on ``CreateLoginProfile``; moto ignores it, and moto's
    ``UpdateLoginProfile`` without ``Password`` deletes the password. So the flag is read back,
    and only if it is wrong it is set again *with the same password*: one write on AWS, the
    right end state on both.

    Returns:
        Whether the flag had to be set again (moto: always on create; AWS: never).

    Raises:
        AwsError: IAM refused (e.g. ``PasswordPolicyViolation``); re-running completes the set-up.
    """
    what = f"Setting the console password of {user_name!r}"
    fix = "Re-run: the runbook sets a new password and delivers it."
    # the password is built into each call and every failure is cut at ``hidden_frames``:
    # botocore's frames (api_params, the request body) never reach a verbose traceback
    call = iam.create_login_profile if create else iam.update_login_profile
    try:
        with hidden_frames():
            call(UserName=user_name, Password=password.text(), PasswordResetRequired=reset_required)
        profile = _login_profile(iam, user_name, sleep)
        if bool(profile.get("PasswordResetRequired")) == reset_required:
            return False
        with hidden_frames():
            iam.update_login_profile(
                UserName=user_name, Password=password.text(), PasswordResetRequired=reset_required
            )
        return True
    except ClientError as err:
        raise from_client_error(err, what, fix) from err


@dataclass(frozen=True)
class Created:
    """Step 7's outcome: the plan and, unless in plan mode, the writes made.

    In a live notebook (``waiting`` set) nothing is written until a person presses Create.
    """

    request: Request
    actions: tuple[Action, ...]
    applied: bool
    account_id: str
    passwords: Mapping[str, Secret] = field(default_factory=dict, repr=False, compare=False)
    finish: tuple[str, ...] = ()
    waiting: Waiting | None = field(default=None, repr=False, compare=False)

    @property
    def new_passwords(self) -> tuple[str, ...]:
        """Users whose console password this run sets (would set, in plan mode)."""
        kinds = ("create-login-profile", "reset-lost-password")
        return tuple(a.name for a in self.actions if a.kind in kinds)

    def __repr__(self) -> str:
        if self.waiting is not None:
            return (
                "Step 7 waits for you: check the plan above, then press Create (nothing is "
                "changed until then; Step 8 and Verify run from the button)."
            )
        return self.review()

    def review(self, live: bool = False) -> str:
        """The plan as text; ``live``: as a person sees it before pressing Create."""
        if not self.actions:
            return "Review: everything is in place; nothing to change (0 writes)."
        head = "Review — made these changes:" if self.applied else "Review — would make:"
        head = "Review — Create will make these changes:" if live else head
        lines = [head] + [f"  {'✓' if self.applied else '•'} {a!r}" for a in self.actions]
        delivered = [*self.new_passwords, *self.finish]
        if delivered:
            then = "will" if self.applied or live else "would"
            lines.append(
                f"Step 8 {then} write the sign-in CSV and remove the delivery tag for "
                + ", ".join(repr(u) for u in delivered)
            )
        if not self.applied and not live:
            lines.append("Plan mode: nothing was changed.")
        return "\n".join(lines)


def _write(action: Action, call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as err:
        raise from_client_error(
            err, f"Step 7 could not {action!r}", "Fix the cause and re-run: done steps are kept."
        ) from err


def apply_actions(
    ctx: RunContext,
    request: Request,
    actions: tuple[Action, ...],
    passwords: Mapping[str, Secret],
) -> None:
    """Make the planned writes, in order, recording each change.

    Raises:
        AwsError: IAM refused a write; what was done stays done and a re-run completes it.
    """
    iam, path, record = ctx.iam, request.path, ctx.record
    specs = {u.name: u for u in request.users}
    for action in actions:
        name = action.name
        user_arn = ctx.arn("user", name, path)
        if action.kind == "create-group":
            _write(action, iam.create_group, GroupName=name, Path=path)
            record.change("create-group", ctx.arn("group", name, path))
        elif action.kind == "attach-policy":
            arn = request.policy_arn
            _write(action, iam.attach_group_policy, GroupName=name, PolicyArn=arn)
            record.change("attach-group-policy", f"{arn} -> {name}")
        elif action.kind == "create-user":
            tags = [{"Key": k, "Value": v} for k, v in specs[name].tags]
            if request.console_access:
                tags.append({"Key": MARKER_KEY, "Value": MARKER_PENDING})
            kwargs: dict[str, Any] = {"UserName": name, "Path": path}
            if tags:
                kwargs["Tags"] = tags
            _write(action, iam.create_user, **kwargs)
            record.change("create-user", user_arn)
        elif action.kind in ("tag-user", "mark-pending"):
            tags = [{"Key": k, "Value": v} for k, v in specs[name].tags]
            if action.kind == "mark-pending":
                tags = [{"Key": MARKER_KEY, "Value": MARKER_PENDING}]
            _write(action, iam.tag_user, UserName=name, Tags=tags)
            record.change(action.kind, user_arn)
        elif action.kind == "add-to-group":
            _write(action, iam.add_user_to_group, GroupName=action.detail, UserName=name)
            record.change("add-user-to-group", f"{user_arn} -> {action.detail}")
        elif action.kind in ("create-login-profile", "reset-lost-password"):
            create = action.kind == "create-login-profile"
            reset = request.password_reset_required
            fixed = set_console_password(iam, name, passwords[name], reset, create=create)
            if fixed:
                record.warn(
                    "The target ignored PasswordResetRequired on CreateLoginProfile (moto does); "
                    "it was set again with the same password."
                )
            if create:
                record.change("create-login-profile", user_arn)
            else:
                record.repair(
                    "update-login-profile",
                    user_arn,
                    "an earlier run set a password and stopped before its CSV was written; "
                    "nobody held that password, so a new one was set",
                )
