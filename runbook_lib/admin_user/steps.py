"""S1: create the Administrator user and the Administrators group, one function per step.

Steps 3-6 validate the input and read the account (no writes), step 7 shows the review and
makes the writes (plan mode stops there; a live notebook waits for the Create button, see
``admin_live``), step 8 delivers the sign-in CSV, and ``verify`` reads everything back.
Re-running converges: a second run makes no writes, and a run that stopped half-way is
completed (see ``admin_apply`` for the one case that needs a repair).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook_lib.admin_user.apply import Created, apply_actions, plan_actions
from runbook_lib.admin_user.live import new_password, offer_create
from runbook_lib.admin_user.passwords import PasswordPolicy, get_password_policy
from runbook_lib.admin_user.request import ADMIN_POLICY_ARN, Request, validate_request
from runbook_lib.admin_user.signin import (
    SignIn,
    csv_delivered,
    csv_path,
    deliver,
    set_aside_unusable,
    signin_destination,
)
from runbook_lib.admin_user.state import GroupState, UserState, read_groups, read_users
from runbook_lib.admin_user.verify import Verified, verify
from runbook_lib.core import sinks
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import DEFAULT_LEASE, check_lease
from runbook_lib.core.result import StepResult
from runbook_lib.manual import manual_step

__all__ = [
    "GroupsFound",
    "TagReview",
    "UsersFound",
    "Verified",
    "billing_access",
    "check_request",
    "deliver_sign_in",
    "find_groups",
    "find_users",
    "review_and_create",
    "review_tags",
    "verify",
]

BILLING_STEP = "S1.2"
BILLING_TITLE = N_("Activate IAM access to billing information (root, console only)")
BILLING_HTML = (
    "<ol><li>Sign in to the AWS console as the <b>root user</b>.</li>"
    "<li>Top right: your account name → <b>Account</b> (My Account).</li>"
    "<li>Scroll to <b>IAM user and role access to Billing information</b> → <b>Edit</b>.</li>"
    "<li>Tick <b>Activate IAM Access</b> → <b>Update</b>.</li>"
    "<li>Return to the IAM dashboard.</li></ol>"
    "<p>There is no API for this setting: only root, only in the console.</p>"
)
PROWLER_NOTE = N_(
    "Note: AdministratorAccess on a group is flagged by security scanners (Prowler "
    "iam_group_administrator_access_policy): keep this group to the few bootstrap/break-glass "
    "administrators, and give everyone else narrower policies."
)


def billing_access(ctx: RunContext, *, confirmed: bool) -> StepResult:
    """Step 2: the root-only, console-only billing switch, tracked as a manual step.

    Headless it stays pending (exit code 3) unless ``billing_access_confirmed`` is true.
    """
    return manual_step(
        ctx,
        BILLING_STEP,
        _(BILLING_TITLE),
        BILLING_HTML,
        confirmed=confirmed,
        confirm_param="billing_access_confirmed",
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
) -> Request:
    """Step 3: check every input against IAM's rules before anything is read or written.

    ``lease_minutes``: another run's delivery marker on a user younger than this stops Step 7
    before any write (that run may still be working); an older one, or one whose process is
    gone, is repaired. ``0``: never wait for another run.

    Raises:
        BadInput: an input IAM would refuse (the message names the parameter to fix).
    """
    return validate_request(
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
    )


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


def review_and_create(ctx: RunContext, users: UsersFound, groups: GroupsFound) -> Created:
    """Step 7: show the plan, check the CSV destinations, then make the writes.

    In plan mode it stops after the plan, with zero writes. In a live notebook it writes
    nothing yet: the plan waits for a person to press Create (and optionally type the main
    user's console password; see ``admin_live``).

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

    actions = plan_actions(request, users.states, groups.states, delivered)
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
        return Created(request, actions, False, account, {}, finish)
    if ctx.interactive and actions:
        return offer_create(ctx, request, actions, users.policy, finish)
    passwords = {name: new_password(users.policy, name, account, None) for name in need}
    apply_actions(ctx, request, actions, passwords)
    return Created(request, actions, True, account, passwords, finish)


def deliver_sign_in(ctx: RunContext, created: Created) -> SignIn:
    """Step 8: write each new password's sign-in CSV (0600), then remove its delivery tag.

    Raises:
        AwsError: IAM refused the tag removal; a re-run finishes it.
    """
    return deliver(ctx, created)
