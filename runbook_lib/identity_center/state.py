"""S6 reads: the Identity Center instance, the target accounts, and what already exists.

Every read goes through ``core.aws``. A thing that is not there is ``None`` (Identity Center
answers ``ResourceNotFoundException``), never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.identity_center.request import CALLER, ORG, IdcRequest

#: Identity Center's "not there" answer
MISSING = ("ResourceNotFoundException",)


@dataclass(frozen=True)
class Instance:
    """The Identity Center instance: its ARN, its identity store, the account that owns it."""

    arn: str
    identity_store_id: str
    owner_account_id: str

    @property
    def portal_url(self) -> str:
        """The AWS access portal's default URL (a customised one is in the console's Settings)."""
        return f"https://{self.identity_store_id}.awsapps.com/start"


@dataclass(frozen=True)
class Setting:
    """Step 3: the instance, the accounts the group is assigned to, and the request."""

    instance: Instance
    accounts: tuple[str, ...]
    request: IdcRequest
    plan: bool = False

    def __repr__(self) -> str:
        return "\n".join(
            (
                _(
                    "IAM Identity Center instance {arn} (identity store {store}, account {owner})"
                ).format(
                    arn=self.instance.arn,
                    store=self.instance.identity_store_id,
                    owner=self.instance.owner_account_id,
                ),
                _("Target accounts ({n}): {accounts}").format(
                    n=len(self.accounts), accounts=", ".join(self.accounts)
                ),
            )
        )


def sso_admin(ctx: RunContext) -> Any:
    """The ``sso-admin`` client of the run."""
    return ctx.client("sso-admin")


def identity_store(ctx: RunContext) -> Any:
    """The ``identitystore`` client of the run."""
    return ctx.client("identitystore")


def _instance(ctx: RunContext) -> Instance:
    found = aws.items(
        sso_admin(ctx),
        "list_instances",
        "Instances",
        what=_("Finding the IAM Identity Center instance (ListInstances)"),
        fix=_("The caller needs sso:ListInstances; fix the permission, then re-run."),
    )
    active = [i for i in found if i.get("Status", "ACTIVE") == "ACTIVE"]
    if not active:
        raise BadInput(
            _(
                "IAM Identity Center is not enabled in {region} for account {account}: enable "
                "it in the console (IAM Identity Center → Enable; it costs nothing), or set "
                "region to the Region where it is enabled, then re-run."
            ).format(region=ctx.spec.region, account=ctx.account_id)
        )
    own = [i for i in active if i.get("OwnerAccountId") == ctx.account_id] or active
    first = own[0]
    return Instance(
        str(first["InstanceArn"]),
        str(first["IdentityStoreId"]),
        str(first.get("OwnerAccountId", ctx.account_id)),
    )


def _organization_accounts(ctx: RunContext) -> list[str] | None:
    """The ACTIVE accounts of the caller's Organization, or ``None`` outside one."""
    org = ctx.client("organizations")
    what = _("Reading the Organization's accounts (ListAccounts)")
    fix = _(
        "Run as the management account (or Identity Center's delegated administrator) with "
        "organizations:ListAccounts, then re-run."
    )
    described = aws.call(
        org.describe_organization,
        what=_("Reading the Organization (DescribeOrganization)"),
        fix=fix,
        missing=("AWSOrganizationsNotInUseException",),
    )
    if described is None:
        return None
    accounts = aws.items(org, "list_accounts", "Accounts", what=what, fix=fix)
    return [str(a["Id"]) for a in accounts if a.get("Status") == "ACTIVE"]


def _target_accounts(ctx: RunContext, request: IdcRequest) -> tuple[str, ...]:
    if request.assign_to == (CALLER,):
        return (ctx.account_id,)
    members = _organization_accounts(ctx)
    if request.assign_to == (ORG,):
        if members is None:
            raise BadInput(
                _(
                    "assign_to org, but account {account} is not in an AWS Organization: use "
                    "assign_to caller, or run from the Organization's management account."
                ).format(account=ctx.account_id)
            )
        return tuple(members)
    known = set(members) if members is not None else {ctx.account_id}
    unknown = [a for a in request.assign_to if a not in known]
    if unknown:
        raise BadInput(
            _(
                "assign_to names {accounts}, not an ACTIVE account of this Organization: fix "
                "assign_to (see 'aws organizations list-accounts')."
            ).format(accounts=", ".join(unknown))
        )
    return request.assign_to


def find_instance(ctx: RunContext, request: IdcRequest) -> Setting:
    """Find the Identity Center instance and the accounts to assign (Step 3); reads only.

    Args:
        ctx: the run context.
        request: the result of ``check_request``.

    Returns:
        The instance and the target accounts.

    Raises:
        BadInput: Identity Center is not enabled here, or ``assign_to`` names accounts that
            are not ACTIVE accounts of the Organization (nothing was changed).
        AwsError: a read was refused.
    """
    instance = _instance(ctx)
    return Setting(instance, _target_accounts(ctx, request), request, ctx.plan)


def user_id(ctx: RunContext, store: str, user_name: str) -> str | None:
    """The ID of the Identity Center user ``user_name`` (GetUserId), or ``None``."""
    found = aws.call(
        identity_store(ctx).get_user_id,
        what=_("Looking up user {name} (GetUserId)").format(name=user_name),
        fix=_("The caller needs identitystore:GetUserId; fix the permission, then re-run."),
        missing=MISSING,
        IdentityStoreId=store,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": user_name}
        },
    )
    return None if found is None else str(found["UserId"])


def group_id(ctx: RunContext, store: str, group_name: str) -> str | None:
    """The ID of the group ``group_name`` (GetGroupId by display name), or ``None``."""
    found = aws.call(
        identity_store(ctx).get_group_id,
        what=_("Looking up group {name} (GetGroupId)").format(name=group_name),
        fix=_("The caller needs identitystore:GetGroupId; fix the permission, then re-run."),
        missing=MISSING,
        IdentityStoreId=store,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": group_name}
        },
    )
    return None if found is None else str(found["GroupId"])


def is_member(ctx: RunContext, store: str, group: str, user: str) -> bool:
    """Whether ``user`` is in ``group`` (IsMemberInGroups)."""
    answer = aws.call(
        identity_store(ctx).is_member_in_groups,
        what=_("Reading the group membership (IsMemberInGroups)"),
        fix=_("The caller needs identitystore:IsMemberInGroups; fix the permission, then re-run."),
        IdentityStoreId=store,
        GroupIds=[group],
        MemberId={"UserId": user},
    )
    return any(r.get("MembershipExists") for r in answer.get("Results", []))


@dataclass(frozen=True)
class PermissionSetFound:
    """A permission set as Identity Center has it."""

    arn: str
    name: str
    session_duration: str


def permission_set(ctx: RunContext, instance: Instance, name: str) -> PermissionSetFound | None:
    """The instance's permission set called ``name``, or ``None`` (the oldest if several)."""
    client = sso_admin(ctx)
    fix = _(
        "The caller needs sso:ListPermissionSets and sso:DescribePermissionSet; fix the "
        "permission, then re-run."
    )
    arns = aws.items(
        client,
        "list_permission_sets",
        "PermissionSets",
        what=_("Listing permission sets (ListPermissionSets)"),
        fix=fix,
        InstanceArn=instance.arn,
    )
    found = []
    for arn in arns:
        described = aws.call(
            client.describe_permission_set,
            what=_("Reading permission set {arn} (DescribePermissionSet)").format(arn=arn),
            fix=fix,
            missing=MISSING,
            InstanceArn=instance.arn,
            PermissionSetArn=arn,
        )
        if described is not None and described["PermissionSet"].get("Name") == name:
            found.append(described["PermissionSet"])
    if not found:
        return None
    first = min(found, key=lambda p: (str(p.get("CreatedDate", "")), p["PermissionSetArn"]))
    return PermissionSetFound(
        str(first["PermissionSetArn"]), name, str(first.get("SessionDuration", ""))
    )


def managed_policies(ctx: RunContext, instance: Instance, permission_set_arn: str) -> list[str]:
    """The AWS managed policies attached to a permission set."""
    attached = aws.items(
        sso_admin(ctx),
        "list_managed_policies_in_permission_set",
        "AttachedManagedPolicies",
        what=_("Reading the permission set's managed policies"),
        fix=_(
            "The caller needs sso:ListManagedPoliciesInPermissionSet; fix the permission, "
            "then re-run."
        ),
        InstanceArn=instance.arn,
        PermissionSetArn=permission_set_arn,
    )
    return [str(p["Arn"]) for p in attached]


def not_provisioned(ctx: RunContext, instance: Instance, permission_set_arn: str) -> list[str]:
    """Accounts that have an older version of the permission set (ProvisionPermissionSet due)."""
    accounts = aws.items(
        sso_admin(ctx),
        "list_accounts_for_provisioned_permission_set",
        "AccountIds",
        what=_("Reading where the permission set is provisioned"),
        fix=_(
            "The caller needs sso:ListAccountsForProvisionedPermissionSet; fix the "
            "permission, then re-run."
        ),
        InstanceArn=instance.arn,
        PermissionSetArn=permission_set_arn,
        ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED",
    )
    return [str(a) for a in accounts]


def group_assigned(
    ctx: RunContext, instance: Instance, account: str, permission_set_arn: str, group: str
) -> bool:
    """Whether ``group`` has the permission set in ``account`` (ListAccountAssignments)."""
    assignments = aws.items(
        sso_admin(ctx),
        "list_account_assignments",
        "AccountAssignments",
        what=_("Reading the assignments of account {account} (ListAccountAssignments)").format(
            account=account
        ),
        fix=_("The caller needs sso:ListAccountAssignments; fix the permission, then re-run."),
        InstanceArn=instance.arn,
        AccountId=account,
        PermissionSetArn=permission_set_arn,
    )
    return any(
        a.get("PrincipalType") == "GROUP" and a.get("PrincipalId") == group for a in assignments
    )
