"""S0: what the audit reads, once per run: the credential report, the account's IAM entities
and policies (one paginated GetAccountAuthorizationDetails), the password policy, the account
summary, the assigned virtual MFA devices, and whether IAM Identity Center gives access to this
account (the Organization, the instance, its permission sets assigned here). Read-only; every
call goes through ``core.aws`` (the password policy through ``password_policy.state``, the one
read of it).
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import RunbookError, VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.password_policy.state import PasswordPolicy, get_password_policy

ROOT_USER = "<root_account>"
#: the entity types the audit needs (AWS managed policies are not read: thousands of them)
_DETAILS_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]


#: the Organization as the audited account sees it (``IdentityCenterFacts.organization``)
STANDALONE, MEMBER, MANAGEMENT = "standalone", "member", "management"


@dataclass(frozen=True)
class IdentityCenterFacts:
    """Whether IAM Identity Center gives people access to this account, as far as this
    account's caller can read it (``gather_identity_center``).

    ``organization`` is ``STANDALONE``, ``MEMBER``, ``MANAGEMENT`` or ``""`` (not known: the
    read was refused); ``instance_arn`` is ``""`` when ListInstances found none;
    ``assigned`` names the instance's permission sets assigned in this account; ``refused`` is
    the AWS code of a refused Identity Center read (``""``: the reads were answered).
    """

    organization: str = ""
    region: str = ""
    instance_arn: str = ""
    assigned: tuple[str, ...] = ()
    refused: str = ""


@dataclass(frozen=True)
class AccountFacts:
    """Everything the checks judge, read once."""

    rows: list[dict[str, str]]
    details: dict[str, list[dict[str, Any]]]
    password_policy: PasswordPolicy
    summary: dict[str, Any]
    root_virtual_mfa: bool
    trusted_summary: bool
    identity_center: IdentityCenterFacts = field(default_factory=IdentityCenterFacts)
    users: list[dict[str, str]] = field(init=False)
    root: dict[str, str] | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", [r for r in self.rows if r.get("user") != ROOT_USER])
        root = next((r for r in self.rows if r.get("user") == ROOT_USER), None)
        object.__setattr__(self, "root", root)


def credential_report(
    ctx: RunContext,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 60,
) -> list[dict[str, str]]:
    """Generate (if needed) and read the IAM credential report as rows.

    Args:
        ctx: the run context.
        clock: a monotonic clock (tests pass a fake one that ``sleep`` advances).
        sleep: the pause between polls.
        timeout: give up after this many seconds.

    Raises:
        AwsError: IAM refused.
        VerifyFailed: the report did not finish within ``timeout`` seconds.
    """
    iam = ctx.iam
    what = _("Reading the credential report")
    fix = _("The caller needs iam:GenerateCredentialReport and iam:GetCredentialReport.")
    started, pause = clock(), 0.1
    while aws.call(iam.generate_credential_report, what=what, fix=fix)["State"] != "COMPLETE":
        if clock() - started >= timeout:
            raise VerifyFailed(
                _(
                    "The IAM credential report was not ready after {seconds} s: re-run later."
                ).format(seconds=f"{timeout:.0f}")
            )
        sleep(pause)
        pause = min(pause * 2, 2.0)
    content = aws.call(iam.get_credential_report, what=what, fix=fix)["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def policy_document(document: Any) -> dict[str, Any]:
    """A policy document as data (boto3 decodes it; a raw answer is URL-encoded JSON)."""
    if isinstance(document, dict):
        return document
    text = urllib.parse.unquote(str(document or "{}"))
    data = json.loads(text)
    return data if isinstance(data, dict) else {}


def authorization_details(ctx: RunContext) -> dict[str, list[dict[str, Any]]]:
    """Users, groups, roles and customer managed policies with their attachments and documents.

    Raises:
        AwsError: IAM refused.
    """
    keys = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    found: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for page in aws.pages(
        ctx.iam,
        "get_account_authorization_details",
        what=_("Reading users, groups, roles and policies"),
        fix=_("The caller needs iam:GetAccountAuthorizationDetails (SecurityAudit has it)."),
        Filter=_DETAILS_FILTER,
    ):
        for key in keys:
            found[key].extend(page.get(key, []))
    return found


def _root_virtual_mfa(ctx: RunContext) -> bool:
    """Whether root's MFA is a virtual device (its serial ends in ``root-account-mfa-device``);
    only serials and users are read, never a seed."""
    devices = aws.items(
        ctx.iam,
        "list_virtual_mfa_devices",
        "VirtualMFADevices",
        what=_("Listing virtual MFA devices"),
        fix=_("The caller needs iam:ListVirtualMFADevices."),
        AssignmentStatus="Assigned",
    )
    return any(
        str(d.get("SerialNumber", "")).endswith(":mfa/root-account-mfa-device") for d in devices
    )


def _organization(ctx: RunContext) -> str:
    """``STANDALONE``, ``MEMBER`` or ``MANAGEMENT``; ``""`` when the read is refused (the
    audit then does not assume a single account)."""
    try:
        described = aws.call(
            ctx.client("organizations").describe_organization,
            what=_("Reading the Organization (DescribeOrganization)"),
            fix=_("The caller needs organizations:DescribeOrganization."),
            missing=("AWSOrganizationsNotInUseException",),
        )
    except RunbookError:
        return ""
    if described is None:
        return STANDALONE
    owner = str(described["Organization"].get("MasterAccountId", ""))
    return MANAGEMENT if owner == ctx.account_id else MEMBER


def _assigned_here(ctx: RunContext, sso: Any, instance_arn: str) -> tuple[str, ...]:
    """The names of the instance's permission sets with an assignment in this account."""
    fix = _(
        "The caller needs sso:ListPermissionSets, sso:ListAccountAssignments and "
        "sso:DescribePermissionSet."
    )
    names = []
    for arn in aws.items(
        sso,
        "list_permission_sets",
        "PermissionSets",
        what=_("Listing IAM Identity Center permission sets"),
        fix=fix,
        InstanceArn=instance_arn,
    ):
        assignments = aws.items(
            sso,
            "list_account_assignments",
            "AccountAssignments",
            what=_("Reading IAM Identity Center assignments"),
            fix=fix,
            InstanceArn=instance_arn,
            AccountId=ctx.account_id,
            PermissionSetArn=arn,
        )
        if assignments:
            described = aws.call(
                sso.describe_permission_set,
                what=_("Reading an IAM Identity Center permission set"),
                fix=fix,
                InstanceArn=instance_arn,
                PermissionSetArn=arn,
            )
            names.append(str(described["PermissionSet"].get("Name") or arn))
    return tuple(sorted(names))


def gather_identity_center(ctx: RunContext) -> IdentityCenterFacts:
    """Whether IAM Identity Center gives access to this account: the Organization
    (DescribeOrganization), the instance in the run's Region (ListInstances) and its permission
    sets assigned here (ListPermissionSets, ListAccountAssignments, DescribePermissionSet).

    "In use" means an instance AND at least one assignment in this account: the sandbox (moto)
    pre-seeds an instance in every account, and an instance that assigns nothing gives nobody
    access. A refused or unanswered Identity Center read is recorded (``refused``), never
    raised: the check then says NOT_KNOWN.
    """
    organization = _organization(ctx)
    sso = ctx.client("sso-admin")
    region = str(ctx.spec.region or sso.meta.region_name or "")
    try:
        instances = aws.items(
            sso,
            "list_instances",
            "Instances",
            what=_("Finding the IAM Identity Center instance (ListInstances)"),
            fix=_("The caller needs sso:ListInstances."),
        )
        active = [i for i in instances if i.get("Status", "ACTIVE") == "ACTIVE"]
        own = [i for i in active if i.get("OwnerAccountId") == ctx.account_id] or active
        if not own:
            return IdentityCenterFacts(organization, region)
        arn = str(own[0]["InstanceArn"])
        return IdentityCenterFacts(organization, region, arn, _assigned_here(ctx, sso, arn))
    except RunbookError as err:
        return IdentityCenterFacts(organization, region, refused=err.aws_code or "Unknown")


def gather(ctx: RunContext, **wait: Any) -> AccountFacts:
    """Read everything the checks need (``wait``: ``clock``/``sleep``/``timeout`` for the
    credential report).

    Raises:
        AwsError: IAM refused a read.
        VerifyFailed: the credential report was not ready in time.
    """
    rows = credential_report(ctx, **wait)
    summary: dict[str, Any] = aws.call(
        ctx.iam.get_account_summary,
        what=_("Reading the account summary"),
        fix=_("The caller needs iam:GetAccountSummary."),
    )["SummaryMap"]
    return AccountFacts(
        rows=rows,
        details=authorization_details(ctx),
        password_policy=get_password_policy(
            ctx.iam, fix=_("The caller needs iam:GetAccountPasswordPolicy.")
        ),
        summary=summary,
        root_virtual_mfa=_root_virtual_mfa(ctx),
        # moto (the sandbox, or a moto/LocalStack endpoint) hard-codes the root fields
        trusted_summary=ctx.spec.target == "profile",
        identity_center=gather_identity_center(ctx),
    )


def parse_time(stamp: str | None) -> datetime | None:
    """A credential report time, or ``None`` for ``N/A``, ``no_information``, ``not_supported``."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
