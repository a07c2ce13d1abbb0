"""S1 Step 3: the request, every input checked against IAM's rules before any AWS call.

``check_request`` reads nothing: a name, path, tag, policy ARN, flag or ``users`` entry that
IAM would refuse, or two names that differ only in case, raise ``BadInput`` (exit 2) naming the
parameter to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from runbook_lib.core import marker_key
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import DEFAULT_LEASE, PREFIX, lease_of
from runbook_lib.core.secret_files import resolve_secrets_dir
from runbook_lib.core.tags import MAX_TAGS, validate_tags
from runbook_lib.core.validation import (
    validate_bool,
    validate_choice,
    validate_group_name,
    validate_path,
    validate_user_name,
)

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
_RESERVED_PREFIX = PREFIX
_POLICY_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[\x21-\x7e]+")
_USER_KEYS = frozenset({"name", "groups", "tags"})
#: what a repair may do with a console password an unfinished run may have set: ``proven``
#: (default) resets it only on verified evidence and stops otherwise; ``reset-password`` sets a
#: new one anyway (the old one stops working)
REPAIRS = ("proven", "reset-password")

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UserSpec:
    """One user the runbook must set up."""

    name: str
    groups: tuple[str, ...]
    tags: Tags


@dataclass(frozen=True)
class Request:
    """The validated input of one S1 run."""

    users: tuple[UserSpec, ...]
    admin_group: str
    policy_arn: str
    path: str
    console_access: bool
    password_reset_required: bool
    secrets_dir: Path
    #: another run's pending marker younger than this stops this run (``core.markers``)
    lease: timedelta = DEFAULT_LEASE
    #: ``proven`` or ``reset-password`` (``REPAIRS``)
    repair: str = "proven"

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group the users need, the administrators' group first."""
        names = [self.admin_group]
        for user in self.users:
            names += [g for g in user.groups if g not in names]
        return tuple(names)

    def __repr__(self) -> str:
        console = _("console password") if self.console_access else _("no console access")
        lines = [
            _("Group {admin_group!r} with {value}; path {path}; {console}").format(
                admin_group=self.admin_group,
                value=self.policy_arn.rsplit("/", 1)[-1],
                path=self.path,
                console=console,
            )
            + (_(", new password at first sign-in") if self.password_reset_required else "")
        ]
        for user in self.users:
            tags = ", ".join(f"{k}={v}" for k, v in user.tags) or _("no tags")
            lines.append(
                _("  user {name!r} in {value}; {tags}").format(
                    name=user.name, value=", ".join(user.groups), tags=tags
                )
            )
        return "\n".join(lines)


def _tags(tags: Mapping[str, str] | None, param: str, console: bool) -> Tags:
    checked = validate_tags(tags, param)
    for tag in checked:
        if tag["Key"].lower().startswith(_RESERVED_PREFIX):
            raise BadInput(
                _(
                    "{param}: tag key {value!r} uses the prefix {RESERVED_PREFIX!r}, which "
                    "this runbook keeps for itself; choose another key."
                ).format(param=param, value=tag["Key"], RESERVED_PREFIX=_RESERVED_PREFIX)
            )
    if console and len(checked) >= MAX_TAGS:
        raise BadInput(
            _(
                "{param} has {value} tags: with console access this runbook needs one of "
                "IAM's {MAX_TAGS} tag slots while the password is delivered; use at most "
                "{value2}."
            ).format(param=param, value=len(checked), MAX_TAGS=MAX_TAGS, value2=MAX_TAGS - 1)
        )
    return tuple((t["Key"], t["Value"]) for t in checked)


def check_user_entry(entry: object, index: int, admin_group: str, console: bool) -> UserSpec:
    """The ``users[index]`` entry as S1 takes it (the runner checks it too, before a kernel).

    Raises:
        BadInput: the first part of the entry S1 (or IAM) would refuse.
    """
    param = f"users[{index}]"
    if not isinstance(entry, Mapping):
        raise BadInput(
            _(
                "{param} must be a mapping like {{name: alice, groups: [Administrators], "
                "tags: {{}}}}, not {name__}: fix the users parameter."
            ).format(param=param, name__=type(entry).__name__)
        )
    unknown = sorted(str(k) for k in entry if k not in _USER_KEYS)
    if unknown:
        raise BadInput(
            _("{param} has unknown key(s) {value}: use only name, groups and tags.").format(
                param=param, value=", ".join(unknown)
            )
        )
    name = validate_user_name(entry.get("name", ""), f"{param}.name")
    groups_value = entry.get("groups", [admin_group])
    if not isinstance(groups_value, list | tuple) or not groups_value:
        raise BadInput(
            _("{param}.groups must be a non-empty list of group names: fix it.").format(param=param)
        )
    groups = tuple(
        validate_group_name(g, f"{param}.groups[{i}]") for i, g in enumerate(groups_value)
    )
    return UserSpec(name, groups, _tags(entry.get("tags"), f"{param}.tags", console))


def _no_case_twins(names: Sequence[str], kind: str, param: str) -> None:
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise BadInput(
                _(
                    "{param}: {kind} names {other!r} and {name!r} differ only in case, and "
                    "IAM treats them as one name; write it one way."
                ).format(param=param, kind=kind, other=other, name=name)
            )


def check_request(
    ctx: RunContext,
    *,
    user_name: str,
    group_name: str,
    path: str = "/",
    policy_arn: str = ADMIN_POLICY_ARN,
    password_reset_required: bool = True,
    tags: Mapping[str, str] | None = None,
    console_access: bool = True,
    secrets_dir: str = "",
    users: Sequence[Mapping[str, Any]] | None = None,
    lease_minutes: float = DEFAULT_LEASE.total_seconds() / 60,
    repair: str = "proven",
) -> Request:
    """Step 3: check every input against IAM's rules before anything is read or written.

    ``lease_minutes``: another run's delivery marker on a user younger than this stops Step 7
    before any write (that run may still be working); an older one, or one whose process is
    gone, is repaired. ``0``: never wait for another run.

    ``repair``: a console password an unfinished run may have set and not delivered is reset
    only when the user's marker is verified (``core.markers``) and names this run's sign-in
    CSV, which does not hold it; otherwise ``proven`` (default) stops Step 7 before any write,
    naming the choice, and ``reset-password`` sets a new password anyway.

    Returns:
        The request: the main user first, then ``users`` in order.

    Raises:
        BadInput: a name, path, tag, policy ARN, flag or ``users`` entry IAM would refuse, or
            two names that differ only in case (the message names the parameter to fix).
    """
    del ctx  # the request reads nothing; the signature matches the other runbooks
    request = check_inputs(
        user_name=user_name,
        group_name=group_name,
        path=path,
        policy_arn=policy_arn,
        password_reset_required=password_reset_required,
        tags=tags,
        console_access=console_access,
        secrets_dir=secrets_dir,
        users=users,
        lease_minutes=lease_minutes,
        repair=repair,
    )
    if request.console_access:
        marker_key.marker_key()  # refuse an unsafe marker key before any AWS call
    return request


def check_inputs(
    *,
    user_name: str,
    group_name: str,
    path: str = "/",
    policy_arn: str = ADMIN_POLICY_ARN,
    password_reset_required: bool = True,
    tags: Mapping[str, str] | None = None,
    console_access: bool = True,
    secrets_dir: str = "",
    users: Sequence[Mapping[str, Any]] | None = None,
    lease_minutes: float = DEFAULT_LEASE.total_seconds() / 60,
    repair: str = "proven",
) -> Request:
    """The checks of ``check_request``: pure (no AWS call, no file), so the host runs them
    before a kernel starts (``run.precheck``) and the kernel again in Step 3.

    Raises:
        BadInput: as ``check_request``.
    """
    console = validate_bool(console_access, "console_access")
    reset = validate_bool(password_reset_required, "password_reset_required")
    admin_group = validate_group_name(group_name)
    validate_path(path)
    if not isinstance(policy_arn, str) or not _POLICY_ARN_RE.fullmatch(policy_arn):
        raise BadInput(
            _(
                "policy_arn {policy_arn!r} is not an IAM policy ARN: use e.g. {ADMIN_POLICY_ARN}."
            ).format(policy_arn=policy_arn, ADMIN_POLICY_ARN=ADMIN_POLICY_ARN)
        )
    if users is None:
        users = []
    if not isinstance(users, list | tuple):
        raise BadInput(
            _("users must be a list of {{name, groups, tags}}, not {name__}.").format(
                name__=type(users).__name__
            )
        )
    main = UserSpec(validate_user_name(user_name), (admin_group,), _tags(tags, "tags", console))
    specs = (main,) + tuple(
        check_user_entry(e, i, admin_group, console) for i, e in enumerate(users)
    )
    _no_case_twins([u.name for u in specs], "user", "user_name/users")
    if len({u.name for u in specs}) != len(specs):
        raise BadInput(_("user_name/users: a user is listed twice; list each user once."))
    _no_case_twins([admin_group] + [g for u in specs for g in u.groups], "group", "users.groups")
    if not isinstance(secrets_dir, str):
        raise BadInput(
            _("secrets_dir {secrets_dir!r} must be a folder path as text, or empty.").format(
                secrets_dir=secrets_dir
            )
        )
    folder = resolve_secrets_dir(secrets_dir)
    lease = lease_of(lease_minutes)
    validate_choice(repair, REPAIRS, "repair")
    return Request(specs, admin_group, policy_arn, path, console, reset, folder, lease, repair)
