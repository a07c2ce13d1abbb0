"""S1 Step 7's changes: each one an ``Action``, planned from what IAM has (pure), then made.

Crash safety: a new console password exists in exactly one place, the sign-in CSV. Between
``CreateLoginProfile`` and the CSV it exists only in this process, so the runbook marks the user
first with the marker (``core.markers``) ``iam-runbooks:console-password=pending:<time>:<run>:
<caller>:m=<MAC>:<the CSV's absolute path>`` (in ``CreateUser`` itself for a new user) and
removes the tag only after the CSV is written. A later run that finds a *verified* marker (its
MAC checks out with this user's marker key, ``core.markers``) naming this run's CSV, a login
profile and no usable CSV there (no row for the user with a password) knows that nobody holds
that password: it takes the repair over (``markers.claim``: of two runs at once, one goes on),
sets a new one (with ``UpdateLoginProfile`` *and* the password) and records a repair. A marker
that is not verified (forged by someone who can tag users, written on another machine) or that
names another CSV proves nothing: the password is left alone and the run stops before any
write, naming ``repair reset-password``. A login profile without the tag was set by someone
else, or delivered already: it is never touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.admin_user.request import Request
from runbook_lib.admin_user.state import MARKER_KEY, MARKER_PENDING, GroupState, UserState
from runbook_lib.core import aws, markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import as_tag, new_marker
from runbook_lib.core.secrets import Secret, hidden_frames

#: action kinds, in the order they run, and how the review shows them
_TEXT = {
    "create-group": N_("create group {name}"),
    "attach-policy": N_("attach {detail} to group {name}"),
    "create-user": N_("create user {name} {detail}"),
    "tag-user": N_("tag user {name}: {detail}"),
    "add-to-group": N_("add user {name} to group {detail}"),
    "mark-pending": N_("tag user {name} {marker}"),
    "create-login-profile": N_("create console password of {name} {detail}"),
    "reset-lost-password": N_("REPAIR: set a new console password for {name} {detail}"),
    "finish-delivery": N_("REPAIR: finish delivery for {name} {detail}"),
}
_MARKER = f"{MARKER_KEY}={MARKER_PENDING}"


@dataclass(frozen=True)
class Action:
    """One change the review plans."""

    kind: str
    name: str
    detail: str = ""

    def __repr__(self) -> str:
        text = _(_TEXT[self.kind]).format(name=repr(self.name), detail=self.detail, marker=_MARKER)
        return " ".join(text.split())


def csv_place(request: Request, account_id: str, user_name: str) -> str:
    """The sign-in CSV of ``user_name`` as a marker names it: its absolute resolved path."""
    name = f"{account_id}-{user_name}_credentials.csv"  # signin.csv_path's name
    return os.path.realpath(Path(request.secrets_dir) / name)


def _proven(state: UserState, place: str) -> bool:
    """Whether the user's marker is verified evidence about this run's sign-in CSV."""
    return state.verified and state.marker is not None and state.marker.names(place)


def _unproven(state: UserState, place: str) -> BadInput:
    """The one line that stops a run whose password reset would rest on unproven evidence."""
    marker = state.marker
    assert marker is not None
    if state.verified:
        since = f"{marker.moment:%Y-%m-%d %H:%M} UTC" if marker.moment else _("an unknown time")
        why = _(
            "an unfinished run (run {run}, since {since}) was delivering it to {where}, not to "
            "this run's {here}: re-run with that run's secrets_dir so it can be finished"
        ).format(
            run=marker.run_id or "?",
            since=since,
            where=marker.place or _("another sign-in CSV"),
            here=place,
        )
    else:
        why = _(
            "the user's {tag} tag says an unfinished run set it, but these runbooks cannot "
            "verify that tag (no valid MAC: written on another machine, by an older version, or "
            "by someone who can tag users), so the user may hold it; to keep it, remove the tag "
            "(aws iam untag-user --user-name {user} --tag-keys {tag})"
        ).format(tag=MARKER_KEY, user=state.name)
    return BadInput(
        _(
            "The console password of {user!r} was left alone: {why}. To set a new one and "
            "deliver it instead (the old one stops working), re-run with -p repair "
            "reset-password. Nothing was changed."
        ).format(user=state.name, why=why)
    )


def plan_actions(
    request: Request,
    users: tuple[UserState, ...],
    groups: tuple[GroupState, ...],
    csv_delivered: Callable[[str], bool],
    place: Callable[[str], str] = lambda _name: "",
) -> tuple[Action, ...]:
    """The writes that take the account from ``users``/``groups`` to ``request`` (pure).

    Args:
        request: what the operator asked for.
        users: the requested users as IAM has them, in request order.
        groups: the requested groups as IAM has them.
        csv_delivered: whether a user's sign-in CSV exists and holds a usable row (by name).
        place: a user's sign-in CSV as a marker names it (``csv_place``).

    Returns:
        The actions, in the order they must run; empty when nothing is to do.

    Raises:
        BadInput: a password reset would rest on unproven evidence and ``request.repair`` is
            ``proven`` (before any write).
    """
    actions: list[Action] = []
    policy = request.policy_arn.rsplit("/", 1)[-1]
    for group in groups:
        if not group.exists:
            actions.append(Action("create-group", group.name))
        if group.name == request.admin_group and request.policy_arn not in group.policies:
            actions.append(Action("attach-policy", group.name, policy))
    reset = _("(new password at first sign-in)") if request.password_reset_required else ""
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
        here = place(spec.name)
        if not state.login_profile:
            if state.exists and not (state.pending and _proven(state, here)):
                actions.append(Action("mark-pending", spec.name))
            actions.append(Action("create-login-profile", spec.name, reset))
        elif state.pending and csv_delivered(spec.name):
            actions.append(Action("finish-delivery", spec.name, "(its CSV exists already)"))
        elif state.pending:
            if not _proven(state, here) and request.repair != "reset-password":
                raise _unproven(state, here)
            actions.append(
                Action("reset-lost-password", spec.name, "(an earlier run stopped before its CSV)")
            )
    return tuple(actions)


def _login_profile(iam: Any, user_name: str, sleep: Callable[[float], None]) -> dict[str, Any]:
    """Read a login profile just written (IAM is eventually consistent: retry briefly).

    Raises:
        AwsError: IAM refused, or the profile is still not visible after 5 reads.
    """
    what = f"Setting the console password of {user_name!r}"
    fix = "Re-run: the runbook sets a new password and delivers it."
    for attempt in range(4):
        found = aws.call(
            iam.get_login_profile, what=what, fix=fix, missing=("NoSuchEntity",), UserName=user_name
        )
        if found is not None:
            return dict(found["LoginProfile"])
        sleep(0.5 * 2**attempt)
    return dict(
        aws.call(iam.get_login_profile, what=what, fix=fix, UserName=user_name)["LoginProfile"]
    )


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
    first = iam.create_login_profile if create else iam.update_login_profile
    # a failure is cut at ``hidden_frames``: the frames below (aws.call's parameters, botocore's
    # request body) never reach a verbose traceback; this frame holds only the ``Secret``
    with hidden_frames():
        aws.call(
            first,
            what=what,
            fix=fix,
            fixes={"EntityAlreadyExists": CONCURRENT_FIX},
            UserName=user_name,
            Password=password.text(),
            PasswordResetRequired=reset_required,
        )
    profile = _login_profile(iam, user_name, sleep)
    if bool(profile.get("PasswordResetRequired")) == reset_required:
        return False
    with hidden_frames():
        aws.call(
            iam.update_login_profile,
            what=what,
            fix=fix,
            UserName=user_name,
            Password=password.text(),
            PasswordResetRequired=reset_required,
        )
    return True


#: IAM's EntityAlreadyExists on a create that Step 4 planned: someone made it meanwhile
CONCURRENT_FIX = (
    "Another run (or a person) created it since Step 4 read the account: re-run once that "
    "run has ended; a re-run keeps what exists and completes what is missing."
)


def _write(action: Action, call: Callable[..., Any], **kwargs: Any) -> None:
    aws.call(
        call,
        what=_("Step 7 could not {action!r}").format(action=action),
        fix=_("Fix the cause and re-run: done steps are kept."),
        fixes={"EntityAlreadyExists": CONCURRENT_FIX},
        **kwargs,
    )


def _user_write(ctx: RunContext, request: Request, action: Action) -> None:
    """create-user, tag-user, mark-pending: the writes that tag a user (the marker included)."""
    name, path, iam = action.name, request.path, ctx.iam
    user_arn = ctx.arn("user", name, path)
    tags = [{"Key": k, "Value": v} for k, v in _spec(request, name).tags]
    here = csv_place(request, ctx.account_id, name)
    if action.kind == "create-user":
        if request.console_access:
            marker = new_marker(ctx, MARKER_PENDING, destination=here)
            tags.append(as_tag(ctx, name, MARKER_KEY, marker))
        kwargs: dict[str, Any] = {"UserName": name, "Path": path}
        if tags:
            kwargs["Tags"] = tags
        _write(action, iam.create_user, **kwargs)
        ctx.record.change("create-user", user_arn)
        return
    if action.kind == "mark-pending":
        tags = [as_tag(ctx, name, MARKER_KEY, new_marker(ctx, MARKER_PENDING, destination=here))]
    _write(action, iam.tag_user, UserName=name, Tags=tags)
    ctx.record.change(action.kind, user_arn)


def _spec(request: Request, name: str) -> Any:
    return next(u for u in request.users if u.name == name)


def _password_write(
    ctx: RunContext, request: Request, action: Action, passwords: Mapping[str, Secret]
) -> None:
    """create-login-profile, reset-lost-password: set the console password, record it."""
    name, record = action.name, ctx.record
    create = action.kind == "create-login-profile"
    reset = request.password_reset_required
    if not create:  # the reset path: of two runs repairing at once, only one resets
        markers.claim(
            ctx,
            name,
            MARKER_KEY,
            new_marker(ctx, MARKER_PENDING, destination=csv_place(request, ctx.account_id, name)),
            what=_("S1 on '{name}'").format(name=name),
            lease=request.lease,
            resource=ctx.arn("user", name, request.path),
            why=_("the tag makes the console password crash-safe"),
        )
    fixed = set_console_password(ctx.iam, name, passwords[name], reset, create=create)
    user_arn = ctx.arn("user", name, request.path)
    if create:  # listed in the order the writes were made
        record.change("create-login-profile", user_arn)
    if fixed:  # a write of its own: the changes listed and the writes counted agree
        record.change("update-login-profile", user_arn)
        record.warn(
            _(
                "The target ignored PasswordResetRequired on CreateLoginProfile (moto "
                "does); it was set again with the same password."
            )
        )
    if not create:
        record.repair(
            "update-login-profile",
            user_arn,
            "an earlier run set a password and stopped before its CSV was written; "
            + (
                "its verified marker names this CSV, which does not hold it: nobody held that "
                "password, so a new one was set"
                if request.repair != "reset-password"
                else "a new one was set as asked (repair reset-password)"
            ),
        )


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
    for action in actions:
        name = action.name
        if action.kind == "create-group":
            _write(action, iam.create_group, GroupName=name, Path=path)
            record.change("create-group", ctx.arn("group", name, path))
        elif action.kind == "attach-policy":
            arn = request.policy_arn
            _write(action, iam.attach_group_policy, GroupName=name, PolicyArn=arn)
            record.change("attach-group-policy", f"{arn} -> {name}")
        elif action.kind in ("create-user", "tag-user", "mark-pending"):
            _user_write(ctx, request, action)
        elif action.kind == "add-to-group":
            _write(action, iam.add_user_to_group, GroupName=action.detail, UserName=name)
            user_arn = ctx.arn("user", name, path)
            record.change("add-user-to-group", f"{user_arn} -> {action.detail}")
        elif action.kind in ("create-login-profile", "reset-lost-password"):
            _password_write(ctx, request, action, passwords)
