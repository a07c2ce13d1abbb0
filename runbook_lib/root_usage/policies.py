"""S0: the password policy (CIS v4.0.1 1.8, 1.9) and who may do what (1.15-1.17, 1.22), read from
GetAccountPasswordPolicy and GetAccountAuthorizationDetails; and what the procedure grants on
purpose (AdministratorAccess on its group, the administrator's key), reported as accepted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from runbook_lib.core.i18n import N_, _
from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import FAIL, PASS, CheckResult
from runbook_lib.root_usage.state import AccountFacts, policy_document

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
SUPPORT_POLICY_ARN = "arn:aws:iam::aws:policy/AWSSupportAccess"
CLOUDSHELL_POLICY_ARN = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess"
NO_POLICY = N_(
    "no account password policy: AWS's default applies (8 characters, no reuse prevention)"
)
SET_POLICY = N_("Run 04_set_password_policy.")
ADMIN_GROUP_REASON = N_(
    "the procedure (S1) gives this group AdministratorAccess on purpose: its members are the "
    "account's administrators, so nobody needs root; keep it small and every member on MFA (S3)"
)
SETUP_KEY_REASON = N_(
    "the procedure (S2) gives the administrator an access key on purpose; use it, or delete it "
    "when no tool needs it"
)


def _attached(entity: dict[str, Any]) -> set[str]:
    return {str(p.get("PolicyArn")) for p in entity.get("AttachedManagedPolicies", [])}


def password_length(facts: AccountFacts, request: AuditRequest, account_arn: str) -> CheckResult:
    """v4.0.1 1.8: the password policy requires at least ``min_password_length`` characters."""
    title = _("Password policy requires at least {count} characters").format(
        count=request.min_password_length
    )
    policy = facts.password_policy
    if policy.is_default:
        return CheckResult(
            "password_min_length", title, FAIL, account_arn, _(NO_POLICY), _(SET_POLICY)
        )
    length = policy.minimum_password_length
    status = PASS if length >= request.min_password_length else FAIL
    words = _("minimum length {length}").format(length=length)
    return CheckResult("password_min_length", title, status, account_arn, words, _(SET_POLICY))


def password_reuse(facts: AccountFacts, request: AuditRequest, account_arn: str) -> CheckResult:
    """v4.0.1 1.9: the password policy prevents reuse of the last ``password_reuse`` passwords."""
    title = _("Password policy prevents reuse of the last {count} passwords").format(
        count=request.password_reuse
    )
    policy = facts.password_policy
    if policy.is_default:
        return CheckResult("password_reuse", title, FAIL, account_arn, _(NO_POLICY), _(SET_POLICY))
    reuse = policy.password_reuse_prevention or 0
    status = PASS if reuse >= request.password_reuse else FAIL
    words = (
        _("remembers {count} passwords").format(count=reuse) if reuse else _("no reuse prevention")
    )
    return CheckResult("password_reuse", title, status, account_arn, words, _(SET_POLICY))


def permissions_through_groups(facts: AccountFacts, account_arn: str) -> CheckResult:
    """v4.0.1 1.15: users get permissions only through groups (no attached or inline policies)."""
    bad = []
    for user in facts.details["UserDetailList"]:
        attached = sorted(p.rsplit("/", 1)[-1] for p in _attached(user))
        inline = sorted(str(p.get("PolicyName")) for p in user.get("UserPolicyList", []))
        if attached or inline:
            what = ", ".join(
                [_("attached {name}").format(name=a) for a in attached]
                + [_("inline {name}").format(name=i) for i in inline]
            )
            bad.append((str(user["Arn"]), f"{user['UserName']}: {what}"))
    title = _("Users get permissions only through groups")
    if not bad:
        return CheckResult(
            "permissions_via_groups", title, PASS, account_arn, _("no user has its own policies")
        )
    return CheckResult(
        "permissions_via_groups", title, FAIL,
        ", ".join(a for a, _w in bad), "; ".join(w for _a, w in bad),
        _("Move those policies to a group and add the user to it; then detach/delete them."),
    )  # fmt: skip


def _grants_everything(document: dict[str, Any]) -> bool:
    statements = document.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        actions, resources = st.get("Action", []), st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if st.get("Effect") == "Allow" and "*" in actions and "*" in resources:
            return True
    return False


def no_full_admin_policies(facts: AccountFacts, account_arn: str) -> CheckResult:
    """v4.0.1 1.16: no customer managed policy's default version allows ``"*"`` on ``"*"``."""
    bad = [
        str(p["Arn"])
        for p in facts.details["Policies"]
        for v in p.get("PolicyVersionList", [])
        if v.get("IsDefaultVersion") and _grants_everything(policy_document(v.get("Document")))
    ]
    title = _('No customer managed policy allows "*:*"')
    if not bad:
        count = len(facts.details["Policies"])
        words = _("{count} customer policies, none").format(count=count)
        return CheckResult("no_full_admin_policies", title, PASS, account_arn, words)
    names = ", ".join(a.rsplit("/", 1)[-1] for a in bad)
    return CheckResult(
        "no_full_admin_policies", title, FAIL, ", ".join(bad),
        _("allows everything: {names}").format(names=names),
        _("Narrow them to the actions needed; AdministratorAccess (AWS managed) for admins only."),
    )  # fmt: skip


def support_role(facts: AccountFacts, account_arn: str) -> CheckResult:
    """v4.0.1 1.17: a role with AWSSupportAccess exists to manage incidents with AWS Support."""
    roles = [r for r in facts.details["RoleDetailList"] if SUPPORT_POLICY_ARN in _attached(r)]
    title = _("A support role exists (AWSSupportAccess)")
    if roles:
        names = ", ".join(str(r["RoleName"]) for r in roles)
        words = _("role(s): {names}").format(names=names)
        return CheckResult("support_role", title, PASS, str(roles[0]["Arn"]), words)
    return CheckResult(
        "support_role", title, FAIL, account_arn, _("no role has AWSSupportAccess"),
        _("Create a role that your support staff can assume and attach AWSSupportAccess to it."),
    )  # fmt: skip


def no_cloudshell_full_access(facts: AccountFacts, account_arn: str) -> CheckResult:
    """v4.0.1 1.22: AWSCloudShellFullAccess is attached to no user, group or role."""
    kinds = (("UserDetailList", "UserName"), ("GroupDetailList", "GroupName"))
    entities = [(e, name) for key, name in kinds for e in facts.details[key]]
    entities += [(r, "RoleName") for r in facts.details["RoleDetailList"]]
    bad = [(str(e["Arn"]), str(e[n])) for e, n in entities if CLOUDSHELL_POLICY_ARN in _attached(e)]
    title = _("AWSCloudShellFullAccess not attached")
    if not bad:
        return CheckResult(
            "no_cloudshell_full_access", title, PASS, account_arn, _("attached to nobody")
        )
    return CheckResult(
        "no_cloudshell_full_access", title, FAIL, ", ".join(a for a, _n in bad),
        _("attached to {names}").format(names=", ".join(n for _a, n in bad)),
        _("Detach it; grant CloudShell with a policy that denies file upload/download."),
    )  # fmt: skip


def admin_group(facts: AccountFacts, request: AuditRequest, account_arn: str) -> CheckResult:
    """Prowler ``iam_group_administrator_access_policy``: AdministratorAccess on a group.

    The procedure's own group is an accepted finding (with the reason); any other is a FAIL.
    """
    groups = [g for g in facts.details["GroupDetailList"] if ADMIN_POLICY_ARN in _attached(g)]
    title = _("AdministratorAccess on a group")
    if not groups:
        return CheckResult("admin_group", title, PASS, account_arn, _("no group has it"))
    names = [str(g["GroupName"]) for g in groups]
    others = [n for n in names if n != request.admin_group]
    return CheckResult(
        "admin_group", title, FAIL, ", ".join(str(g["Arn"]) for g in groups),
        _("AdministratorAccess on group(s) {names}").format(names=", ".join(names)),
        _("Keep AdministratorAccess to one small group of administrators with MFA."),
        accepted="" if others else _(ADMIN_GROUP_REASON),
    )  # fmt: skip


def accept_setup_keys(
    result: CheckResult, facts: AccountFacts, request: AuditRequest
) -> CheckResult:
    """``no_keys_at_setup`` failing only for members of the procedure's admin group: accepted
    (S2's key)."""
    if result.status != FAIL:
        return result
    members = {
        str(u["Arn"])
        for u in facts.details["UserDetailList"]
        if request.admin_group in u.get("GroupList", [])
    }
    offenders = set(result.resource.split(", "))
    return replace(result, accepted=_(SETUP_KEY_REASON)) if offenders <= members else result
