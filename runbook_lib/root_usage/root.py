"""S0: the root user (CIS v4.0.1 1.4-1.7, v7.0.0 2.4-2.7) and who calls the audit.

Root's MFA and access keys come from the credential report's ``<root_account>`` row, or from
the account summary on real AWS. Where the target cannot answer truthfully (moto has no root
row and hard-codes ``AccountMFAEnabled``/``AccountAccessKeysPresent`` to 0), the result is
NOT_KNOWN with the reason, never an invented pass or fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.root_usage.result import FAIL, NOT_KNOWN, PASS, CheckResult
from runbook_lib.root_usage.state import AccountFacts, parse_time

ROOT_TASKS_URL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html"
#: root used within this many days fails root_not_used (v4.0.1 1.7)
RECENT_ROOT_USE = timedelta(days=30)
WHY_UNKNOWN = N_("this target has no <root_account> row and a hard-coded account summary")


def _root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def caller(ctx: RunContext) -> CheckResult:
    """S0: the audit itself does not run as root."""
    title = _("Caller is not the root user")
    if ctx.is_root:
        return CheckResult(
            "caller_not_root",
            title,
            FAIL,
            ctx.caller_arn,
            _("this notebook runs as the root user"),
            _("Use an IAM user for everyday work; root only for {url}").format(url=ROOT_TASKS_URL),
        )
    return CheckResult("caller_not_root", title, PASS, ctx.caller_arn, _("not root"))


def _root_flags(facts: AccountFacts) -> tuple[bool | None, bool | None]:
    """(root MFA on, root access key present), ``None`` where the target cannot say."""
    root = facts.root
    if root is not None:
        keys = "true" in (root.get("access_key_1_active"), root.get("access_key_2_active"))
        return root.get("mfa_active") == "true", keys
    if facts.trusted_summary:
        summary = facts.summary
        return summary.get("AccountMFAEnabled") == 1, summary.get("AccountAccessKeysPresent") == 1
    return None, None


def root_access_keys(facts: AccountFacts, account_id: str) -> CheckResult:
    """v4.0.1 1.4: no access key exists for the root user."""
    title, (_mfa, keys) = _("No root user access key"), _root_flags(facts)
    advice = _("Delete the root user's access keys (as root: Security credentials).")
    if keys is None:
        return CheckResult(
            "root_access_keys", title, NOT_KNOWN, _root_arn(account_id), _(WHY_UNKNOWN),
            _("Check Security credentials as root."),
        )  # fmt: skip
    evidence = _("the root user has an active access key") if keys else _("no root access key")
    return CheckResult(
        "root_access_keys", title, FAIL if keys else PASS, _root_arn(account_id), evidence, advice
    )


def root_mfa(facts: AccountFacts, account_id: str) -> CheckResult:
    """v4.0.1 1.5: MFA is enabled for the root user."""
    title, (mfa, _keys) = _("MFA enabled for the root user"), _root_flags(facts)
    if mfa is None:
        return CheckResult(
            "root_mfa", title, NOT_KNOWN, _root_arn(account_id), _(WHY_UNKNOWN),
            _("Check it in the console (IAM → Dashboard)."),
        )  # fmt: skip
    return CheckResult(
        "root_mfa",
        title,
        PASS if mfa else FAIL,
        _root_arn(account_id),
        _("root MFA enabled") if mfa else _("root MFA not enabled"),
        _("Enable MFA for the root user (IAM → Security recommendations)."),
    )


def root_hardware_mfa(facts: AccountFacts, account_id: str) -> CheckResult:
    """v4.0.1 1.6: the root user's MFA is a hardware device (no virtual device assigned to root)."""
    title, (mfa, _keys) = _("Hardware MFA for the root user"), _root_flags(facts)
    advice = _("Assign a hardware MFA device (FIDO security key or TOTP token) to the root user.")
    if mfa is None:
        return CheckResult(
            "root_hardware_mfa", title, NOT_KNOWN, _root_arn(account_id), _(WHY_UNKNOWN), advice
        )
    if not mfa:
        evidence = _("root MFA not enabled")
    elif facts.root_virtual_mfa:
        evidence = _("root MFA is a virtual device (root-account-mfa-device)")
    else:
        return CheckResult(
            "root_hardware_mfa", title, PASS, _root_arn(account_id), _("root MFA is not virtual")
        )
    return CheckResult("root_hardware_mfa", title, FAIL, _root_arn(account_id), evidence, advice)


def root_last_used(facts: AccountFacts, account_id: str, now: datetime) -> CheckResult:
    """v4.0.1 1.7: the root user is not used for everyday tasks (no use in the last 30 days)."""
    title = _("Root user not used recently")
    root = facts.root
    if root is None:
        return CheckResult(
            "root_not_used", title, NOT_KNOWN, _root_arn(account_id),
            _("no <root_account> row on this target"),
            _("Check the credential report's <root_account> row as an administrator."),
        )  # fmt: skip
    stamps = [
        parse_time(root.get(k))
        for k in (
            "password_last_used",
            "access_key_1_last_used_date",
            "access_key_2_last_used_date",
        )
    ]
    used = max((s for s in stamps if s is not None), default=None)
    recent = used is not None and now - used < RECENT_ROOT_USE
    return CheckResult(
        "root_not_used",
        title,
        FAIL if recent else PASS,
        _root_arn(account_id),
        _("root last used {date}").format(date=f"{used:%Y-%m-%d}")
        if used
        else _("root never used"),
        _("Root was used in the last {days} days: keep it for {url}").format(
            days=RECENT_ROOT_USE.days, url=ROOT_TASKS_URL
        ),
    )


def administrators(facts: AccountFacts) -> list[str]:
    """IAM users that hold ``AdministratorAccess`` directly or through a group (sorted)."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    groups = {
        g["GroupName"]
        for g in facts.details["GroupDetailList"]
        if any(p.get("PolicyArn") == admin for p in g.get("AttachedManagedPolicies", []))
    }
    return sorted(
        u["UserName"]
        for u in facts.details["UserDetailList"]
        if groups & set(u.get("GroupList", []))
        or any(p.get("PolicyArn") == admin for p in u.get("AttachedManagedPolicies", []))
    )


def has_administrators(facts: AccountFacts, account_id: str) -> CheckResult:
    """S0: an IAM user holds AdministratorAccess, so nobody needs root for everyday work."""
    admins = administrators(facts)
    title = _("An IAM administrator exists")
    if admins:
        return CheckResult(
            "iam_administrator",
            title,
            PASS,
            _root_arn(account_id),
            f"{len(admins)}: {', '.join(admins)}",
        )
    return CheckResult(
        "iam_administrator",
        title,
        FAIL,
        _root_arn(account_id),
        _("no IAM user holds AdministratorAccess"),
        _("Run 01_create_admin_user so nobody needs root for everyday work."),
    )
