"""S0: root hygiene, read from the account summary and the credential report (read-only).

Where the target cannot answer truthfully (moto has no ``<root_account>`` row and hard-codes
``AccountMFAEnabled``/``AccountAccessKeysPresent`` to 0), a finding says NOT KNOWN instead of
inventing a pass or a fail.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import FindingsFailed, VerifyFailed
from runbook_lib.core.record import RunRecord

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ROOT_TASKS_URL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html"
RECENT_ROOT_USE = timedelta(days=30)

PASS, FAIL, WARN, UNKNOWN = "PASS", "FAIL", "WARN", "NOT KNOWN"


@dataclass(frozen=True)
class Finding:
    """One check: its status, what was seen and what AWS advises."""

    check: str
    status: str
    detail: str
    advice: str = ""

    def __repr__(self) -> str:
        advice = f"\n    → {self.advice}" if self.advice and self.status != PASS else ""
        return f"[{self.status:^9}] {self.check}: {self.detail}{advice}"


@dataclass(frozen=True)
class RootReport:
    """The root-hygiene report."""

    account_id: str
    findings: tuple[Finding, ...]
    #: the run's record: Verify marks an interactive run done in it
    record: RunRecord | None = field(default=None, repr=False, compare=False)

    @property
    def failed(self) -> list[Finding]:
        """The findings that failed."""
        return [f for f in self.findings if f.status == FAIL]

    def __repr__(self) -> str:
        counts = {s: sum(f.status == s for f in self.findings) for s in (PASS, FAIL, WARN, UNKNOWN)}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines = [f"Root hygiene of account {self.account_id}: {summary}"]
        lines += [repr(f) for f in self.findings]
        return "\n".join(lines)


def _trusts_summary(ctx: RunContext) -> bool:
    # moto (the sandbox, or a moto/LocalStack endpoint) hard-codes these fields
    return ctx.spec.target == "profile"


def credential_report(
    ctx: RunContext, *, sleep: Callable[[float], None] = time.sleep, timeout: float = 60
) -> list[dict[str, str]]:
    """Generate (if needed) and read the IAM credential report as rows.

    Raises:
        AwsError: IAM refused, or the report did not finish within ``timeout`` seconds.
    """
    iam = ctx.iam
    what = "Reading the credential report"
    fix = "The caller needs iam:GenerateCredentialReport and iam:GetCredentialReport."
    waited, pause = 0.0, 0.1
    while aws.call(iam.generate_credential_report, what=what, fix=fix)["State"] != "COMPLETE":
        if waited >= timeout:
            raise VerifyFailed(
                f"The IAM credential report was not ready after {timeout:.0f} s: re-run later."
            )
        sleep(pause)
        waited += pause
        pause = min(pause * 2, 2.0)
    content = aws.call(iam.get_credential_report, what=what, fix=fix)["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def _last_used(row: dict[str, str]) -> datetime | None:
    stamps = [
        row.get(k, "")
        for k in (
            "password_last_used",
            "access_key_1_last_used_date",
            "access_key_2_last_used_date",
        )
    ]
    parsed = []
    for stamp in stamps:
        try:
            parsed.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        except ValueError:  # "N/A", "no_information", "not_supported"
            continue
    return max(parsed) if parsed else None


def administrators(ctx: RunContext) -> list[str]:
    """IAM users that hold ``AdministratorAccess`` directly or through a group (sorted)."""
    iam = ctx.iam
    users: set[str] = set()
    for page in aws.pages(iam, "list_entities_for_policy", PolicyArn=ADMIN_POLICY_ARN):
        users.update(u["UserName"] for u in page.get("PolicyUsers", []))
        for group in page.get("PolicyGroups", []):
            members = aws.items(iam, "get_group", "Users", GroupName=group["GroupName"])
            users.update(u["UserName"] for u in members)
    return sorted(users)


def _caller(ctx: RunContext) -> Finding:
    if ctx.is_root:
        return Finding(
            "caller",
            FAIL,
            "this notebook runs as the root user",
            f"Use an IAM user for everyday work; root only for {ROOT_TASKS_URL}",
        )
    return Finding("caller", PASS, f"not root ({ctx.caller_arn})")


def _root_credentials(
    root: dict[str, str] | None, summary: dict[str, Any], trusted: bool
) -> list[Finding]:
    """Root MFA and root access keys: from the root row, a trusted summary, or NOT KNOWN."""
    if root is not None:
        mfa: bool | None = root.get("mfa_active") == "true"
        keys: bool | None = "true" in (
            root.get("access_key_1_active"),
            root.get("access_key_2_active"),
        )
    elif trusted:
        mfa = summary.get("AccountMFAEnabled") == 1
        keys = summary.get("AccountAccessKeysPresent") == 1
    else:
        mfa = keys = None
    why_unknown = "this target has no <root_account> row and a hard-coded account summary"
    return [
        Finding("root MFA", UNKNOWN, why_unknown, "Check it in the console (IAM → Dashboard).")
        if mfa is None
        else Finding(
            "root MFA",
            PASS if mfa else FAIL,
            "enabled" if mfa else "not enabled",
            "Enable MFA for the root user (IAM → Security recommendations).",
        ),
        Finding("root access keys", UNKNOWN, why_unknown, "Check Security credentials as root.")
        if keys is None
        else Finding(
            "root access keys",
            FAIL if keys else PASS,
            "present" if keys else "none",
            "Delete the root user's access keys; use IAM users' keys instead.",
        ),
    ]


def _root_last_used(root: dict[str, str] | None, now: datetime) -> Finding:
    if root is None:
        return Finding("root last used", UNKNOWN, "no <root_account> row on this target")
    used = _last_used(root)
    recent = used is not None and now - used < RECENT_ROOT_USE
    return Finding(
        "root last used",
        WARN if recent else PASS,
        used.strftime("%Y-%m-%d") if used else "never",
        f"Root was used in the last {RECENT_ROOT_USE.days} days: keep it for {ROOT_TASKS_URL}",
    )


def _administrators(ctx: RunContext) -> Finding:
    admins = administrators(ctx)
    if admins:
        return Finding("IAM administrators", PASS, f"{len(admins)}: {', '.join(admins)}")
    return Finding(
        "IAM administrators",
        FAIL,
        "no IAM user holds AdministratorAccess",
        "Run 01_create_admin_user so nobody needs root for everyday work.",
    )


def _console_users_without_mfa(rows: list[dict[str, str]]) -> Finding:
    no_mfa = sorted(
        r["user"]
        for r in rows
        if r.get("user") != "<root_account>"
        and r.get("password_enabled") == "true"
        and r.get("mfa_active") != "true"
    )
    if not no_mfa:
        return Finding("console users without MFA", PASS, "none")
    return Finding(
        "console users without MFA",
        WARN,
        ", ".join(no_mfa),
        "Run 03_enable_virtual_mfa for each of them.",
    )


def root_hygiene(ctx: RunContext, *, now: datetime | None = None) -> RootReport:
    """Check who is calling, root MFA, root access keys, root's last use and the administrators.

    Args:
        ctx: the run context.
        now: the time to judge "recent" against (tests pass a fixed one).

    Returns:
        The report; it never changes anything.
    """
    now = now or datetime.now(timezone.utc)
    caller = _caller(ctx)
    rows = credential_report(ctx)
    root = next((r for r in rows if r.get("user") == "<root_account>"), None)
    summary: dict[str, Any] = aws.call(
        ctx.iam.get_account_summary,
        what="Reading the account summary",
        fix="The caller needs iam:GetAccountSummary.",
    )["SummaryMap"]
    findings = [
        caller,
        *_root_credentials(root, summary, _trusts_summary(ctx)),
        _root_last_used(root, now),
        _administrators(ctx),
        _console_users_without_mfa(rows),
    ]
    for finding in findings:  # structured, in run.json: the terminal summary counts them
        ctx.record.finding(finding.check, finding.status, finding.detail, finding.advice)
    return RootReport(ctx.account_id, tuple(findings), ctx.record)


def verify_report(report: RootReport, *, fail_on_findings: bool = False) -> str:
    """Check the report covers every check; with ``fail_on_findings``, fail on any FAIL.

    Raises:
        VerifyFailed: a check is missing.
        FindingsFailed: (when asked) a finding failed; exit code 4.
    """
    expected = {
        "caller",
        "root MFA",
        "root access keys",
        "root last used",
        "IAM administrators",
        "console users without MFA",
    }
    missing = expected - {f.check for f in report.findings}
    if missing:
        raise VerifyFailed(f"The report lacks {', '.join(sorted(missing))}: this is a bug.")
    if fail_on_findings and report.failed:
        what = "; ".join(f"{f.check} ({(f.advice or f.detail).rstrip('.')})" for f in report.failed)
        raise FindingsFailed(f"Root hygiene failed: {what}. Then re-run.")
    if report.record is not None:
        report.record.verified()
    return f"Report complete: {len(report.findings)} checks, {len(report.failed)} failed."
