"""S2 ``mode: cleanup``: find access keys and console passwords unused for ``unused_days``.

CIS AWS Foundations 1.12 (v3.0/v4.0 numbering): credentials unused for 45 days or more are
disabled. A credential's last activity is the later of its creation and its last use
(``GetAccessKeyLastUsed``; the user's ``PasswordLastUsed``), so a key never used and created
more than ``unused_days`` ago counts as unused, and a password re-created last week is not
removed for a sign-in months ago. Active keys unused that long are deactivated (reversible:
re-activate to roll back); unused console passwords are removed (``DeleteLoginProfile``).

Never touched: the key this run signs with (the caller's own, compared with the credentials in
use; a caller signing with temporary credentials keeps every key of its own user, as the key
behind them cannot be told), the caller's own console password, a key already Inactive, and
any credential used within ``unused_days``. Scope: ``user`` (``user_name``) or ``account``
(every IAM user). This module reads and plans; ``cleanup_apply`` writes and verifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from runbook_lib.access_key.rotation import validate_days
from runbook_lib.access_key.state import read_keys
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.markers import utc_now
from runbook_lib.core.validation import validate_choice, validate_user_name

SCOPES = ("user", "account")
DEFAULT_UNUSED_DAYS = 45
KEY, PASSWORD = "access key", "console password"
DEACTIVATE, REMOVE, KEEP = "deactivate", "remove", "keep"


@dataclass(frozen=True)
class Credential:
    """One access key or console password, and what cleanup does with it (never a secret)."""

    user_name: str
    user_arn: str
    kind: str  # KEY | PASSWORD
    key_id: str  # "" for a password
    action: str  # DEACTIVATE | REMOVE | KEEP
    why: str
    #: idle for unused_days or more (kept only if the caller's own or already inactive)
    unused: bool = False

    @property
    def name(self) -> str:
        """``Alice access key AKIA…`` or ``Alice console password``."""
        return f"{self.user_name} {self.kind}{' ' + self.key_id if self.key_id else ''}"

    @property
    def resource(self) -> str:
        """The resource as the run record names it."""
        if self.kind == KEY:
            return f"{self.user_arn} access key {self.key_id}"
        return f"{self.user_arn} login profile"

    def describe(self, plan: bool) -> str:
        """One line: the credential, the action (``would …`` in plan mode) and why."""
        verb = {DEACTIVATE: "deactivate", REMOVE: "remove", KEEP: "keep"}[self.action]
        if plan and self.action != KEEP:
            verb = "would " + verb
        return f"{self.name}: {verb}: {self.why}"


@dataclass(frozen=True)
class CleanupPlan:
    """Steps 1–3 of a cleanup: every credential in scope and its action (read-only)."""

    scope: str
    user_name: str  # the user (scope user), or "" (scope account)
    unused_days: int
    credentials: tuple[Credential, ...]
    plan: bool = False
    now: datetime = field(default_factory=utc_now, repr=False, compare=False)
    mode: str = "cleanup"

    @property
    def to_change(self) -> tuple[Credential, ...]:
        """The credentials this run deactivates or removes."""
        return tuple(c for c in self.credentials if c.action != KEEP)

    def __repr__(self) -> str:
        where = f"user {self.user_name}" if self.scope == "user" else "every IAM user"
        n = len(self.to_change)
        head = (
            f"Mode cleanup ({where}): credentials unused for {self.unused_days} days or more "
            f"(CIS 1.12): {len(self.credentials)} found, {n} to deactivate or remove"
        )
        lines = [head] + [f"  {c.describe(self.plan)}" for c in self.credentials]
        if not self.credentials:
            lines.append("  no access key or console password in scope")
        return "\n".join(lines)


_TEMPORARY = "the run signs with temporary credentials: the key behind them cannot be told"


def key_in_use(ctx: RunContext) -> str:
    """The access key ID this run signs with (``""`` if the session cannot say)."""
    creds = ctx.connection.session.get_credentials()
    return str(creds.access_key) if creds is not None and creds.access_key else ""


def _caller_user(ctx: RunContext) -> str:
    """The caller's IAM user name, or ``""`` (a role, root, a federated session)."""
    prefix = f"arn:aws:iam::{ctx.account_id}:user/"
    return ctx.caller_arn.rsplit("/", 1)[-1] if ctx.caller_arn.startswith(prefix) else ""


def judge(
    created: datetime, last_used: datetime | None, now: datetime, unused_days: int
) -> tuple[bool, str]:
    """Whether a credential is unused for ``unused_days`` or more, and the evidence in words."""
    last = max(created, last_used) if last_used is not None else created
    idle = max(0, (now - last).days)
    if last_used is None:
        said = f"never used, created {idle} days ago"
    elif last_used >= created:
        said = f"last used {idle} days ago ({last_used:%Y-%m-%d})"
    else:
        said = f"re-created {idle} days ago, last used {max(0, (now - last_used).days)} days ago"
    return idle >= unused_days, said


def _user_credentials(
    ctx: RunContext, user: dict[str, Any], plan: CleanupPlan, in_use: str
) -> list[Credential]:
    name, arn = str(user["UserName"]), str(user["Arn"])
    mine = name == _caller_user(ctx)
    found: list[Credential] = []
    for key in read_keys(ctx, name):
        unused, said = judge(key.created, key.last_used, plan.now, plan.unused_days)
        own = key.key_id == in_use or (mine and not in_use.startswith("AKIA"))
        if key.status != "Active":
            action, why, unused = KEEP, f"already {key.status}", False
        elif own:
            how = "this run signs with it" if key.key_id == in_use else _TEMPORARY
            action, why = KEEP, f"{said}; the caller's own key ({how})"
        else:
            action, why = (DEACTIVATE, said) if unused else (KEEP, f"in use: {said}")
        found.append(Credential(name, arn, KEY, key.key_id, action, why, unused))
    profile = aws.call(
        ctx.iam.get_login_profile,
        what=f"Reading the login profile of '{name}'",
        fix="The caller needs iam:GetLoginProfile.",
        missing=("NoSuchEntity",),
        UserName=name,
    )
    if profile is not None:
        created = profile["LoginProfile"]["CreateDate"].astimezone(timezone.utc)
        used = user.get("PasswordLastUsed")
        unused, said = judge(created, used, plan.now, plan.unused_days)
        if mine:
            action, why = KEEP, f"{said}; the caller's own password (remove it by hand if meant)"
        else:
            action, why = (REMOVE, said) if unused else (KEEP, f"in use: {said}")
        found.append(Credential(name, arn, PASSWORD, "", action, why, unused))
    return found


def _users(ctx: RunContext, scope: str, user_name: str) -> list[dict[str, Any]]:
    what, fix = "Reading the IAM users", "The caller needs iam:ListUsers and iam:GetUser."
    if scope == "account":
        return aws.items(ctx.iam, "list_users", "Users", what=what, fix=fix)
    user = aws.call(
        ctx.iam.get_user,
        what=f"Reading user '{user_name}'",
        fix=fix,
        errors={
            "NoSuchEntity": BadInput(
                f"User '{user_name}' does not exist in account {ctx.account_id} (IAM "
                "NoSuchEntity): fix user_name, or set cleanup_scope account for every user."
            )
        },
        UserName=user_name,
    )
    return [user["User"]]


def check_cleanup(
    ctx: RunContext,
    user_name: str,
    *,
    scope: str = "user",
    unused_days: int = DEFAULT_UNUSED_DAYS,
    now: datetime | None = None,
) -> CleanupPlan:
    """Steps 1–3 of a cleanup: read every credential in scope and decide; makes no change.

    Args:
        ctx: the run context.
        user_name: the user whose credentials are checked (scope ``user``).
        scope: ``user`` or ``account`` (every IAM user; ``user_name`` is not used).
        unused_days: a credential idle this many whole days or more is unused.
        now: the run's time (default: now, UTC); tests pass a fixed one.

    Returns:
        The plan: each credential with its action and the evidence.

    Raises:
        BadInput: a bad parameter or an unknown user.
        AwsError: IAM refused a read.
    """
    validate_choice(scope, SCOPES, "cleanup_scope")
    validate_days(unused_days, "unused_days", DEFAULT_UNUSED_DAYS)
    if scope == "user":
        validate_user_name(user_name)
    who = user_name if scope == "user" else ""
    plan = CleanupPlan(scope, who, unused_days, (), ctx.plan, now or utc_now())
    in_use = key_in_use(ctx)
    found: list[Credential] = []
    for user in _users(ctx, scope, user_name):
        found += _user_credentials(ctx, user, plan, in_use)
    plan = replace(plan, credentials=tuple(found))
    for cred in plan.credentials:
        record_credential(ctx, cred, done=False)
    return plan


def record_credential(ctx: RunContext, cred: Credential, *, done: bool, note: str = "") -> None:
    """Record one credential in the run record's ``findings`` (one entry per credential).

    The shape is S0's (control ``1.12``): ``PASS``: in use, already inactive, or
    deactivated/removed by this run; ``FAIL``: unused and still usable (plan mode, or before
    Step 7); a FAIL with ``accepted``: unused but the caller's own, which cleanup never touches.
    """
    accepted = ""
    if cred.action == KEEP:
        status, detail = ("FAIL" if cred.unused else "PASS"), f"kept: {cred.why}"
        if cred.unused:
            accepted = "the caller's own credential: cleanup never touches it"
    elif done:
        status, detail = "PASS", f"{note or cred.action + 'd'} by this run: {cred.why}"
    else:
        status, detail = "FAIL", f"{cred.action} (unused): {cred.why}"
    advice = "" if status == "PASS" else f"Run 02 with mode cleanup to {cred.action} it."
    if accepted:
        advice = "Check it is still needed, and retire it from another identity if not."
    ctx.record.finding(
        "1.12",
        f"unused credential: {cred.name}",
        status,
        resource=cred.user_arn,
        evidence=detail,
        advice=advice,
        accepted=accepted,
    )
