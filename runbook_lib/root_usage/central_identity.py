"""S0: people sign in through IAM Identity Center (or another identity provider), not as IAM
users: CIS "Ensure IAM users are managed centrally via identity federation or AWS Organizations
for multi-account environments" (v4.0.1 1.21, v5.0.0 1.20, v6.0.0 2.20, v7.0.0 2.19; a manual
control in the benchmark, Prowler ``iam_check_saml_providers_sts``).

What counts, in this order:

1. a role Identity Center provisioned in this account (path ``/aws-reserved/sso.amazonaws.com/``,
   ``AWSReservedSSO_<permission set>_<id>``): on AWS every account with an assignment has one,
   member accounts included (they cannot see the Organization's instance);
2. the run's Identity Center instance (ListInstances) assigns a permission set in this account
   (the sandbox creates no reserved roles, so this is how it answers);
3. a role that trusts an IAM SAML provider (federation without Identity Center).

None of these in an account outside any Organization: NOT_APPLICABLE (the control is for
multi-account environments, and an account instance of Identity Center gives no AWS account
access: S1's IAM administrator is the set-up there). Otherwise a FAIL whose advice is runbook 06,
or NOT_KNOWN when Identity Center refused the reads.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.core.i18n import N_, _
from runbook_lib.root_usage.result import FAIL, NOT_APPLICABLE, NOT_KNOWN, PASS, CheckResult
from runbook_lib.root_usage.state import MEMBER, STANDALONE, AccountFacts, policy_document

CHECK = "central_identity"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_ROLE_PREFIX = "AWSReservedSSO_"
#: what to do when nobody signs in through Identity Center (runbook 06)
RUN_06 = N_(
    "Give people access through IAM Identity Center: runbook run 06 -p user_name NAME "
    "-p email ADDRESS -p given_name GIVEN -p family_name FAMILY (keep IAM users for "
    "break-glass)."
)


def _permission_set_of(role_name: str) -> str:
    """``AWSReservedSSO_AdministratorAccess_0123456789abcdef`` → ``AdministratorAccess``."""
    middle = role_name.removeprefix(SSO_ROLE_PREFIX)
    name, _sep, _suffix = middle.rpartition("_")
    return name or middle


def _trusts_saml(role: dict[str, Any]) -> bool:
    document = policy_document(role.get("AssumeRolePolicyDocument"))
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal") or {}
        federated = principal.get("Federated", []) if isinstance(principal, dict) else []
        federated = [federated] if isinstance(federated, str) else federated
        if statement.get("Effect") == "Allow" and any(":saml-provider/" in f for f in federated):
            return True
    return False


def central_identity(facts: AccountFacts, account_arn: str) -> CheckResult:
    """Whether people get access to this account through IAM Identity Center or federation."""
    title = _("People sign in through IAM Identity Center, not IAM users")
    idc = facts.identity_center
    roles = facts.details["RoleDetailList"]
    reserved = [
        r
        for r in roles
        if str(r.get("Path", "")).startswith(SSO_ROLE_PATH)
        and str(r.get("RoleName", "")).startswith(SSO_ROLE_PREFIX)
    ]
    if reserved:
        names = sorted({_permission_set_of(str(r["RoleName"])) for r in reserved})
        words = _("IAM Identity Center permission sets provisioned here: {names}").format(
            names=", ".join(names)
        )
        return CheckResult(CHECK, title, PASS, str(reserved[0]["Arn"]), words)
    if idc.assigned:
        words = _("IAM Identity Center assigns {names} in this account").format(
            names=", ".join(idc.assigned)
        )
        return CheckResult(CHECK, title, PASS, idc.instance_arn, words)
    federated = [r for r in roles if _trusts_saml(r)]
    if federated:
        words = _("roles federated through a SAML provider: {names}").format(
            names=", ".join(sorted(str(r["RoleName"]) for r in federated))
        )
        return CheckResult(CHECK, title, PASS, str(federated[0]["Arn"]), words)
    if idc.organization == STANDALONE:
        return CheckResult(
            CHECK, title, NOT_APPLICABLE, account_arn,
            _(
                "no AWS Organization: Identity Center gives account access only through one, so "
                "S1's IAM administrator is the set-up here"
            ),
            _("If the account joins an Organization, run 06 from its management account."),
        )  # fmt: skip
    if idc.refused:
        return CheckResult(
            CHECK, title, NOT_KNOWN, account_arn,
            _("IAM Identity Center did not answer ({code})").format(code=idc.refused),
            _(
                "Give the audit sso:ListInstances, sso:ListPermissionSets and "
                "sso:ListAccountAssignments, or check IAM Identity Center in the console."
            ),
        )  # fmt: skip
    if not idc.instance_arn and idc.organization == MEMBER:
        words = _(
            "no IAM Identity Center permission set is provisioned in this account (a member "
            "account cannot see the Organization's instance)"
        )
        advice = _(
            "From the management account: runbook run 06 -p assign_to {account} (with the "
            "user's parameters)."
        ).format(account=account_arn.split(":")[4])
        return CheckResult(CHECK, title, FAIL, account_arn, words, advice)
    if not idc.instance_arn:
        words = _("IAM Identity Center is not enabled in {region} (no instance)").format(
            region=idc.region
        )
        advice = _(
            "Enable IAM Identity Center in the Organization's management account (console; it "
            "costs nothing), then: {run_06}"
        ).format(run_06=_(RUN_06))
        return CheckResult(CHECK, title, FAIL, account_arn, words, advice)
    words = _("IAM Identity Center is enabled but assigns nothing in this account")
    return CheckResult(CHECK, title, FAIL, idc.instance_arn, words, _(RUN_06))
