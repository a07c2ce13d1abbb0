"""S1 Steps 4-6: the users and groups the request meets, as read from IAM (read-only).

``find_users`` and ``find_groups`` only call ``Get*``/``List*``; a clash with what exists (a
name in another case, a user under another path, a missing policy) raises ``BadInput`` before
the runbook makes its first write. ``review_tags`` compares the tags read with the request.
The request itself is checked in ``request``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from runbook_lib.admin_user.request import ADMIN_POLICY_ARN, Request, Tags
from runbook_lib.core import aws, markers
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import PENDING, Marker
from runbook_lib.core.validation import check_name_clash
from runbook_lib.password_policy.state import PasswordPolicy, get_password_policy

#: the tag that marks a console password set but not yet delivered (see ``actions``)
MARKER_KEY = "iam-runbooks:console-password"
MARKER_PENDING = PENDING
PROWLER_NOTE = N_(
    "Note: AdministratorAccess on a group is flagged by security scanners (Prowler "
    "iam_group_administrator_access_policy): keep this group to the few bootstrap/break-glass "
    "administrators, and give everyone else narrower policies."
)


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
    #: the marker's MAC checks out: these runbooks wrote it, with this user's marker key
    verified: bool = False

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
        if state.marker is not None:
            ok = markers.verified(ctx, spec.name, MARKER_KEY, state.marker)
            state = replace(state, verified=ok)
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


# ---- Steps 4-6 -------------------------------------------------------------------------------
@dataclass(frozen=True)
class UsersFound:
    """Step 4: the requested users as IAM has them, and the password policy."""

    request: Request
    states: tuple[UserState, ...]
    policy: PasswordPolicy

    def __repr__(self) -> str:
        lines = [repr(s) for s in self.states]
        if self.request.console_access:
            lines.append(_("Password policy: {value}").format(value=self.policy.describe()))
            lines.append(
                _(
                    "New console passwords are generated (CSPRNG) to meet it, never typed "
                    "into parameters; they go only into the sign-in CSV (Step 8)."
                )
            )
        return "\n".join(lines)


def find_users(ctx: RunContext, request: Request) -> UsersFound:
    """Step 4: read the users (clash and path checks) and the account's password policy.

    Raises:
        BadInput: a user exists under another case or another path.
        AwsError: IAM refused a read.
    """
    states = read_users(ctx, request)
    policy = (
        get_password_policy(ctx.iam) if request.console_access else PasswordPolicy.aws_default()
    )
    return UsersFound(request, states, policy)


@dataclass(frozen=True)
class GroupsFound:
    """Step 5: the requested groups as IAM has them."""

    request: Request
    states: tuple[GroupState, ...]

    def __repr__(self) -> str:
        lines = [repr(s) for s in self.states]
        lines.append(
            _("Group {admin_group!r} gets {policy_arn}").format(
                admin_group=self.request.admin_group, policy_arn=self.request.policy_arn
            )
        )
        if self.request.policy_arn == ADMIN_POLICY_ARN:
            lines.append(_(PROWLER_NOTE))
        return "\n".join(lines)


def find_groups(ctx: RunContext, request: Request) -> GroupsFound:
    """Step 5: read the groups and check that ``policy_arn`` exists.

    Raises:
        BadInput: a group exists under another case, or the policy does not exist.
        AwsError: IAM refused a read.
    """
    return GroupsFound(request, read_groups(ctx, request))


@dataclass(frozen=True)
class TagReview:
    """Step 6: the tags each user gets (validated in Step 3) and those still missing."""

    lines: tuple[str, ...]

    def __repr__(self) -> str:
        return "\n".join(self.lines)


def review_tags(users: UsersFound) -> TagReview:
    """Step 6: compare the requested tags with the users' tags (no AWS call)."""
    lines = []
    for spec, state in zip(users.request.users, users.states, strict=True):
        have = {k.lower(): v for k, v in state.tags}
        missing = [f"{k}={v}" for k, v in spec.tags if have.get(k.lower()) != v]
        wanted = ", ".join(f"{k}={v}" for k, v in spec.tags) or _("none")
        todo = (
            _("to add: {tags}").format(tags=", ".join(missing)) if missing else _("nothing to add")
        )
        lines.append(
            _("user {name!r}: tags {wanted}; {todo}").format(
                name=spec.name, wanted=wanted, todo=todo
            )
        )
    return TagReview(tuple(lines))
