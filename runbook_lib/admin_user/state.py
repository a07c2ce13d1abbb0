"""S1 Steps 4-5: the users and groups the request meets, as read from IAM (read-only).

``read_users`` and ``read_groups`` only call ``Get*``/``List*``; a clash with what exists (a
name in another case, a user under another path, a missing policy) raises ``BadInput`` before
the runbook makes its first write. The request itself is checked in ``request``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_lib.admin_user.request import ADMIN_POLICY_ARN, Request, Tags, validate_request
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import PENDING, Marker
from runbook_lib.core.validation import check_name_clash

__all__ = ["ADMIN_POLICY_ARN", "MARKER_KEY", "validate_request"]

#: the tag that marks a console password set but not yet delivered (see ``apply``)
MARKER_KEY = "iam-runbooks:console-password"
MARKER_PENDING = PENDING


# ---- reading IAM ---------------------------------------------------------------------------
@dataclass(frozen=True)
class UserState:
    """A user as IAM has it now (``exists`` False: not there yet)."""

    name: str
    exists: bool
    path: str = ""
    groups: tuple[str, ...] = ()
    tags: Tags = ()
    login_profile: bool = False
    reset_required: bool = False

    @property
    def marker(self) -> Marker | None:
        """The runbook's password-delivery marker (``core.markers``), if the user has one."""
        value = dict(self.tags).get(MARKER_KEY, "")
        return Marker.parse(value) if value else None

    @property
    def pending(self) -> bool:
        """Whether a run set a console password and has not delivered it yet."""
        return self.marker is not None and self.marker.state == PENDING

    def __repr__(self) -> str:
        if not self.exists:
            return _("user {name!r}: not there yet").format(name=self.name)
        console = _("console password") if self.login_profile else _("no console password")
        if self.marker is not None:
            console += _(" ({MARKER_KEY}={state})").format(
                MARKER_KEY=MARKER_KEY, state=self.marker.state
            )
        groups = ", ".join(self.groups) or _("no groups")
        return _("user {name!r} exists (path {path}): {groups}; {console}").format(
            name=self.name, path=self.path, groups=groups, console=console
        )


@dataclass(frozen=True)
class GroupState:
    """A group as IAM has it now."""

    name: str
    exists: bool
    policies: tuple[str, ...] = ()

    def __repr__(self) -> str:
        if not self.exists:
            return _("group {name!r}: not there yet").format(name=self.name)
        names = ", ".join(p.rsplit("/", 1)[-1] for p in self.policies) or _("no managed policies")
        return _("group {name!r} exists: {names}").format(name=self.name, names=names)


def read_user(iam: Any, name: str) -> UserState:
    """Read one user: path, groups, tags and login profile.

    Raises:
        AwsError: IAM refused a read.
    """
    fix = "The caller needs iam:GetUser, ListGroupsForUser, ListUserTags, GetLoginProfile."
    what = f"Reading user {name!r}"
    user = aws.call(iam.get_user, what=what, fix=fix, missing=("NoSuchEntity",), UserName=name)
    if user is None:
        return UserState(name, exists=False)
    user = user["User"]
    groups = [
        g["GroupName"] for g in aws.items(iam, "list_groups_for_user", "Groups", UserName=name)
    ]
    tags = aws.call(
        iam.list_user_tags, what=f"Reading the tags of {name!r}", fix=fix, UserName=name
    )["Tags"]
    found = aws.call(
        iam.get_login_profile,
        what=_("Reading the login profile of {name!r}").format(name=name),
        fix=fix,
        missing=("NoSuchEntity",),
        UserName=name,
    )
    profile = found["LoginProfile"] if found else None
    return UserState(
        name,
        exists=True,
        path=str(user.get("Path", "/")),
        groups=tuple(sorted(groups)),
        tags=tuple((t["Key"], t["Value"]) for t in tags),
        login_profile=profile is not None,
        reset_required=bool(profile and profile.get("PasswordResetRequired")),
    )


def read_users(ctx: RunContext, request: Request) -> tuple[UserState, ...]:
    """Read every requested user, refusing case-insensitive clashes and foreign paths.

    Raises:
        BadInput: a user exists under another case or another path.
        AwsError: IAM refused a read.
    """
    names = [u["UserName"] for u in aws.items(ctx.iam, "list_users", "Users")]
    states = []
    for i, spec in enumerate(request.users):
        check_name_clash(spec.name, names, "user", "user_name" if i == 0 else f"users[{i - 1}]")
        state = read_user(ctx.iam, spec.name)
        if state.exists and state.path != request.path:
            raise BadInput(
                _(
                    "User {name!r} exists with path {path}, not {path2}: set path to "
                    "{path!r}, or move it (aws iam update-user --new-path) and re-run."
                ).format(name=spec.name, path=state.path, path2=request.path)
            )
        states.append(state)
    return tuple(states)


def read_groups(ctx: RunContext, request: Request) -> tuple[GroupState, ...]:
    """Read every requested group and check that the policy to attach exists.

    Raises:
        BadInput: a group exists under another case, or ``policy_arn`` does not exist.
        AwsError: IAM refused a read.
    """
    iam = ctx.iam
    aws.call(
        iam.get_policy,
        what=_("Reading policy {policy_arn}").format(policy_arn=request.policy_arn),
        fix=_("Fix policy_arn (AWS managed: arn:aws:iam::aws:policy/NAME)."),
        bad_input=("NoSuchEntity",),
        PolicyArn=request.policy_arn,
    )
    names = [g["GroupName"] for g in aws.items(iam, "list_groups", "Groups")]
    states = []
    for group in request.groups:
        if check_name_clash(group, names, "group", "group_name/users.groups") is None:
            states.append(GroupState(group, exists=False))
            continue
        attached = aws.items(
            iam, "list_attached_group_policies", "AttachedPolicies", GroupName=group
        )
        states.append(GroupState(group, True, tuple(sorted(p["PolicyArn"] for p in attached))))
    return tuple(states)
