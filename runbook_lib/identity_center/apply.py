"""S6 Steps 4-7: the writes, each one only if its read says it is missing.

Every ``ensure_*`` reads first and writes only what is missing, so a second run makes no write
and a run killed between two writes is finished by the next (nothing here holds a secret: no
crash marker is needed). Two runs at once: Identity Center refuses the second ``CreateUser``,
``CreateGroup``, ``CreateGroupMembership`` and ``CreatePermissionSet`` of a name with
``ConflictException``, and a second identical ``CreateAccountAssignment`` makes no second
assignment; on a conflict the run reads the winner's and goes on. Plan mode makes no write and
says what would be made.

An account assignment is asynchronous: ``CreateAccountAssignment`` answers IN_PROGRESS, and
``DescribeAccountAssignmentCreationStatus`` says SUCCEEDED, or FAILED with a ``FailureReason``
(e.g. a 403 from the target account). A failure in one account is one line for that account;
the other accounts go on, and Verify fails naming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError
from runbook_lib.core.i18n import N_, _
from runbook_lib.identity_center import state
from runbook_lib.identity_center.request import ADMIN_POLICY_ARN
from runbook_lib.identity_center.state import Setting

CREATED, FOUND, WOULD = N_("created"), N_("already there"), N_("would be created (plan mode)")
#: how often and how long an asynchronous request is polled
POLL_SECONDS, POLL_LIMIT_SECONDS = 1.0, 300.0
#: the clock and the pause of the polling loop (tests replace them)
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.monotonic

_CONFLICT = ("ConflictException",)


@dataclass(frozen=True)
class Ensured:
    """One thing (user, group, permission set) and what this run did about it."""

    kind: str
    name: str
    id: str | None
    status: str
    details: tuple[str, ...] = ()

    def line(self) -> str:
        """``✓ user alice: created``."""
        mark = "✓" if self.id else "·"
        text = _("{mark} {kind} {name}: {status}").format(
            mark=mark, kind=_(self.kind), name=self.name, status=_(self.status)
        )
        return "; ".join((text, *self.details))

    def __repr__(self) -> str:
        return self.line()


@dataclass(frozen=True)
class GroupOutcome:
    """Step 5: the group, and whether the user is in it."""

    group: Ensured
    membership: str

    def __repr__(self) -> str:
        return "\n".join((self.group.line(), self.membership))


def ensure_user(ctx: RunContext, setting: Setting) -> Ensured:
    """Create the Identity Center user unless it exists (Step 4).

    Raises:
        AwsError: Identity Center refused the read or the write.
    """
    request, store = setting.request, setting.instance.identity_store_id
    found = state.user_id(ctx, store, request.user_name)
    if found is not None:
        return Ensured(N_("user"), request.user_name, found, FOUND)
    if ctx.plan:
        target = f"{store}/user/{request.user_name}"
        ctx.record.would("S6.4", "create-identity-center-user", target)
        return Ensured(N_("user"), request.user_name, None, WOULD)
    answer = aws.call(
        state.identity_store(ctx).create_user,
        what=_("Creating user {name} (CreateUser)").format(name=request.user_name),
        fix=_("The caller needs identitystore:CreateUser; fix the permission, then re-run."),
        missing=_CONFLICT,
        IdentityStoreId=store,
        UserName=request.user_name,
        DisplayName=request.display_name,
        Name={"GivenName": request.given_name, "FamilyName": request.family_name},
        Emails=[{"Value": request.email, "Type": "work", "Primary": True}],
    )
    if answer is None:  # another run created it a moment ago
        return Ensured(N_("user"), request.user_name, _reread(ctx, store, request), FOUND)
    ctx.record.change("create-identity-center-user", f"{store}/user/{request.user_name}")
    return Ensured(N_("user"), request.user_name, str(answer["UserId"]), CREATED)


def _reread(ctx: RunContext, store: str, request: Any) -> str:
    found = state.user_id(ctx, store, request.user_name)
    if found is None:
        raise AwsError(
            _(
                "Identity Center answered that user {name} exists but GetUserId does not find "
                "it yet: re-run in a minute."
            ).format(name=request.user_name)
        )
    return found


def ensure_group(ctx: RunContext, setting: Setting, user: Ensured) -> GroupOutcome:
    """Create the group unless it exists, and put the user in it (Step 5).

    Raises:
        AwsError: Identity Center refused a read or a write.
    """
    request, store = setting.request, setting.instance.identity_store_id
    client = state.identity_store(ctx)
    name = request.group_name
    group_id = state.group_id(ctx, store, name)
    status = FOUND
    if group_id is None and ctx.plan:
        status = WOULD
        ctx.record.would("S6.5", "create-identity-center-group", f"{store}/group/{name}")
    elif group_id is None:
        answer = aws.call(
            client.create_group,
            what=_("Creating group {name} (CreateGroup)").format(name=name),
            fix=_("The caller needs identitystore:CreateGroup; fix the permission, then re-run."),
            missing=_CONFLICT,
            IdentityStoreId=store,
            DisplayName=name,
            Description=_("Administrators of the AWS accounts (runbook 06)"),
        )
        if answer is None:
            group_id = state.group_id(ctx, store, name)
        else:
            group_id, status = str(answer["GroupId"]), CREATED
            ctx.record.change("create-identity-center-group", f"{store}/group/{name}")
    group = Ensured(N_("group"), name, group_id, status)
    member = _("{mark} user {user} in group {group}: {status}")
    membership = f"{store}/group/{name}/{request.user_name}"
    if group_id is None or user.id is None:
        if ctx.plan:
            ctx.record.would("S6.5", "create-identity-center-group-membership", membership)
        text = member.format(mark="·", user=request.user_name, group=name, status=_(WOULD))
        return GroupOutcome(group, text)
    if state.is_member(ctx, store, group_id, user.id):
        return GroupOutcome(
            group, member.format(mark="✓", user=request.user_name, group=name, status=_(FOUND))
        )
    if ctx.plan:
        ctx.record.would("S6.5", "create-identity-center-group-membership", membership)
        text = member.format(mark="·", user=request.user_name, group=name, status=_(WOULD))
        return GroupOutcome(group, text)
    answer = aws.call(
        client.create_group_membership,
        what=_("Adding {user} to group {group} (CreateGroupMembership)").format(
            user=request.user_name, group=name
        ),
        fix=_(
            "The caller needs identitystore:CreateGroupMembership; fix the permission, then re-run."
        ),
        missing=_CONFLICT,
        IdentityStoreId=store,
        GroupId=group_id,
        MemberId={"UserId": user.id},
    )
    done = FOUND if answer is None else CREATED
    if answer is not None:
        ctx.record.change(
            "create-identity-center-group-membership", f"{store}/group/{name}/{request.user_name}"
        )
    return GroupOutcome(
        group, member.format(mark="✓", user=request.user_name, group=name, status=_(done))
    )


def _wait(describe: Callable[[], dict[str, Any]], key: str) -> tuple[str, str]:
    """Poll an asynchronous request until it leaves IN_PROGRESS.

    Returns:
        (status, failure reason): SUCCEEDED, FAILED or IN_PROGRESS (gave up waiting).
    """
    deadline = clock() + POLL_LIMIT_SECONDS
    while True:
        status = describe()[key]
        state_now = str(status.get("Status", ""))
        if state_now != "IN_PROGRESS" or clock() >= deadline:
            return state_now, str(status.get("FailureReason", ""))
        sleep(POLL_SECONDS)


def _provision(ctx: RunContext, setting: Setting, arn: str) -> str:
    """ProvisionPermissionSet where accounts have an older version; returns a detail line."""
    behind = state.not_provisioned(ctx, setting.instance, arn)
    if not behind:
        return ""
    if ctx.plan:
        ctx.record.would("S6.6", "provision-permission-set", arn, accounts=" ".join(behind))
        return _("would be provisioned again in {n} account(s) (plan mode)").format(n=len(behind))
    client = state.sso_admin(ctx)
    fix = _("The caller needs sso:ProvisionPermissionSet; fix the permission, then re-run.")
    answer = aws.call(
        client.provision_permission_set,
        what=_("Provisioning permission set {name} (ProvisionPermissionSet)").format(
            name=setting.request.permission_set_name
        ),
        fix=fix,
        InstanceArn=setting.instance.arn,
        PermissionSetArn=arn,
        TargetType="ALL_PROVISIONED_ACCOUNTS",
    )
    ctx.record.change("provision-permission-set", arn)
    request_id = answer["PermissionSetProvisioningStatus"]["RequestId"]
    status, reason = _wait(
        lambda: aws.call(
            client.describe_permission_set_provisioning_status,
            what=_("Reading the provisioning status"),
            fix=fix,
            InstanceArn=setting.instance.arn,
            ProvisionPermissionSetRequestId=request_id,
        ),
        "PermissionSetProvisioningStatus",
    )
    if status != "SUCCEEDED":
        raise AwsError(
            _("Provisioning permission set {name} ended {status}: {reason} Re-run.").format(
                name=setting.request.permission_set_name, status=status, reason=reason
            )
        )
    return _("provisioned again in {n} account(s)").format(n=len(behind))


def ensure_permission_set(ctx: RunContext, setting: Setting) -> Ensured:
    """The permission set with AdministratorAccess and the session duration (Step 6).

    Creates it unless it exists, attaches the policy unless attached, updates the session
    duration if it differs, and provisions it again where accounts have an older version.

    Raises:
        AwsError: Identity Center refused a read or a write.
    """
    request, instance = setting.request, setting.instance
    client = state.sso_admin(ctx)
    name = request.permission_set_name
    found = state.permission_set(ctx, instance, name)
    details: list[str] = []
    status = FOUND
    if found is None and ctx.plan:
        ctx.record.would("S6.6", "create-permission-set", f"{instance.arn}/{name}")
        ctx.record.would("S6.6", "attach-managed-policy-to-permission-set", name)
        return Ensured(N_("permission set"), name, None, WOULD, (_("with AdministratorAccess"),))
    if found is None:
        answer = aws.call(
            client.create_permission_set,
            what=_("Creating permission set {name} (CreatePermissionSet)").format(name=name),
            fix=_("The caller needs sso:CreatePermissionSet; fix the permission, then re-run."),
            missing=_CONFLICT,
            InstanceArn=instance.arn,
            Name=name,
            Description=_("Full access for administrators (runbook 06)"),
            SessionDuration=request.session_duration,
        )
        if answer is not None:
            status = CREATED
            ctx.record.change("create-permission-set", f"{instance.arn}/{name}")
        found = state.permission_set(ctx, instance, name)
        if found is None:
            raise AwsError(
                _(
                    "Permission set {name} was made but is not listed yet: re-run in a minute."
                ).format(name=name)
            )
    arn = found.arn
    if ADMIN_POLICY_ARN not in state.managed_policies(ctx, instance, arn):
        if ctx.plan:
            where = f"{arn} AdministratorAccess"
            ctx.record.would("S6.6", "attach-managed-policy-to-permission-set", where)
            details.append(_("would attach AdministratorAccess (plan mode)"))
        else:
            attached = aws.call(
                client.attach_managed_policy_to_permission_set,
                what=_("Attaching AdministratorAccess to {name}").format(name=name),
                fix=_(
                    "The caller needs sso:AttachManagedPolicyToPermissionSet; fix the "
                    "permission, then re-run."
                ),
                missing=_CONFLICT,
                InstanceArn=instance.arn,
                PermissionSetArn=arn,
                ManagedPolicyArn=ADMIN_POLICY_ARN,
            )
            if attached is not None:
                ctx.record.change(
                    "attach-managed-policy-to-permission-set", f"{arn} AdministratorAccess"
                )
            details.append(_("AdministratorAccess attached"))
    else:
        details.append(_("AdministratorAccess attached"))
    if found.session_duration != request.session_duration:
        if ctx.plan:
            where = f"{arn} {request.session_duration}"
            ctx.record.would("S6.6", "update-permission-set", where)
            details.append(
                _("would change sessions from {old} to {new} (plan mode)").format(
                    old=found.session_duration, new=request.session_duration
                )
            )
        else:
            aws.call(
                client.update_permission_set,
                what=_("Setting the session duration of {name}").format(name=name),
                fix=_("The caller needs sso:UpdatePermissionSet; fix the permission, then re-run."),
                InstanceArn=instance.arn,
                PermissionSetArn=arn,
                SessionDuration=request.session_duration,
            )
            ctx.record.change("update-permission-set", f"{arn} {request.session_duration}")
            details.append(_("sessions set to {new}").format(new=request.session_duration))
    else:
        details.append(_("sessions of {duration}").format(duration=request.session_duration))
    provisioned = _provision(ctx, setting, arn)
    if provisioned:
        details.append(provisioned)
    return Ensured(N_("permission set"), name, arn, status, tuple(details))


@dataclass(frozen=True)
class AccountAssigned:
    """One target account: assigned, already assigned, would be, or failed (and why)."""

    account: str
    status: str
    error: str = ""

    def line(self) -> str:
        """``✓ 111122223333: assigned`` or ``✗ 111122223333: FAILED — reason``."""
        if self.error:
            return _("✗ account {account}: {error}").format(account=self.account, error=self.error)
        mark = "·" if self.status == WOULD else "✓"
        return _("{mark} account {account}: {status}").format(
            mark=mark, account=self.account, status=_(self.status)
        )


@dataclass(frozen=True)
class Assignments:
    """Step 7: the group's assignment in every target account."""

    group_name: str
    permission_set_name: str
    accounts: tuple[AccountAssigned, ...]

    @property
    def failed(self) -> tuple[AccountAssigned, ...]:
        """The accounts whose assignment failed."""
        return tuple(a for a in self.accounts if a.error)

    def __repr__(self) -> str:
        head = _("Group {group} with permission set {name} in {n} account(s):").format(
            group=self.group_name, name=self.permission_set_name, n=len(self.accounts)
        )
        return "\n".join((head, *(f"  {a.line()}" for a in self.accounts)))


def _assign_one(
    ctx: RunContext, setting: Setting, account: str, permission_set_arn: str, group_id: str
) -> AccountAssigned:
    client, instance = state.sso_admin(ctx), setting.instance
    if state.group_assigned(ctx, instance, account, permission_set_arn, group_id):
        return AccountAssigned(account, FOUND)
    if ctx.plan:
        target = f"{account} {permission_set_arn} GROUP {group_id}"
        ctx.record.would("S6.7", "create-account-assignment", target)
        return AccountAssigned(account, WOULD)
    fix = _(
        "The caller needs sso:CreateAccountAssignment (and the permission set's policies must be "
        "allowed in that account); fix it, then re-run."
    )
    answer = aws.call(
        client.create_account_assignment,
        what=_("Assigning the group in account {account} (CreateAccountAssignment)").format(
            account=account
        ),
        fix=fix,
        InstanceArn=instance.arn,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=permission_set_arn,
        PrincipalType="GROUP",
        PrincipalId=group_id,
    )
    ctx.record.change(
        "create-account-assignment", f"{account} {permission_set_arn} GROUP {group_id}"
    )
    started = answer["AccountAssignmentCreationStatus"]
    status, reason = str(started.get("Status", "")), str(started.get("FailureReason", ""))
    if status == "IN_PROGRESS":
        request_id = started["RequestId"]
        status, reason = _wait(
            lambda: aws.call(
                client.describe_account_assignment_creation_status,
                what=_("Reading the assignment status of account {account}").format(
                    account=account
                ),
                fix=fix,
                InstanceArn=instance.arn,
                AccountAssignmentCreationRequestId=request_id,
            ),
            "AccountAssignmentCreationStatus",
        )
    if status == "SUCCEEDED":
        return AccountAssigned(account, N_("assigned"))
    if status == "IN_PROGRESS":
        return AccountAssigned(
            account,
            status,
            _("still IN_PROGRESS after {n} s: re-run later to check it").format(
                n=int(POLL_LIMIT_SECONDS)
            ),
        )
    return AccountAssigned(
        account,
        status,
        _("assignment FAILED ({reason}): fix that account, then re-run").format(
            reason=" ".join(reason.split()) or _("no reason given")
        ),
    )


def ensure_assignments(
    ctx: RunContext, setting: Setting, group: GroupOutcome, permission_set: Ensured
) -> Assignments:
    """Assign the group with the permission set in every target account (Step 7).

    Each account is read first (ListAccountAssignments) and assigned only if missing; the
    asynchronous request is polled until SUCCEEDED or FAILED. A failure (FAILED with AWS's
    FailureReason, or a refused call) is one line for that account, also in the run record's
    warnings; the other accounts go on, and Verify fails naming it.

    Raises:
        AwsError: only for errors that are not about one account (none so far).
    """
    request = setting.request
    results = []
    for account in setting.accounts:
        if group.group.id is None or permission_set.id is None:
            if ctx.plan:
                where = f"{account} {request.permission_set_name} GROUP {request.group_name}"
                ctx.record.would("S6.7", "create-account-assignment", where)
            results.append(AccountAssigned(account, WOULD))
            continue
        try:
            outcome = _assign_one(ctx, setting, account, permission_set.id, group.group.id)
        except AwsError as err:
            outcome = AccountAssigned(account, "FAILED", err.message)
        if outcome.error:
            ctx.record.warn(outcome.line())
        results.append(outcome)
    return Assignments(request.group_name, request.permission_set_name, tuple(results))
