"""S5 Steps 1–3, the reads: every access key and console password in scope, its last use and
what Step 4 does with it.

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
(every IAM user). This module reads and decides; ``request`` checks the input and makes the
plan, ``apply`` writes, ``verify`` reads the end state back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from runbook_lib.access_key.state import read_keys
from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.markers import utc_now

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
    #: the evidence as data (``evidence``): last_used (a date or "never"), idle_days, created
    facts: tuple[tuple[str, str], ...] = ()

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
    """Steps 1–3: every credential in scope and its action (read-only)."""

    scope: str
    user_name: str  # the user (scope user), or "" (scope account)
    unused_days: int
    credentials: tuple[Credential, ...]
    plan: bool = False
    now: datetime = field(default_factory=utc_now, repr=False, compare=False)

    @property
    def to_change(self) -> tuple[Credential, ...]:
        """The credentials this run deactivates or removes."""
        return tuple(c for c in self.credentials if c.action != KEEP)

    def __repr__(self) -> str:
        where = f"user {self.user_name}" if self.scope == "user" else "every IAM user"
        n = len(self.to_change)
        head = (
            f"Scope {where}: credentials unused for {self.unused_days} days or more "
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


def evidence(
    created: datetime, last_used: datetime | None, now: datetime
) -> tuple[tuple[str, str], ...]:
    """A credential's last use, creation and whole days idle, as language-neutral facts."""
    last = max(created, last_used) if last_used is not None else created
    return (
        ("last_used", f"{last_used:%Y-%m-%d}" if last_used is not None else "never"),
        ("created", f"{created:%Y-%m-%d}"),
        ("idle_days", str(max(0, (now - last).days))),
    )


def user_credentials(
    ctx: RunContext, user: dict[str, Any], plan: CleanupPlan, in_use: str
) -> list[Credential]:
    """The user's access keys and console password, each with its action and the evidence.

    Raises:
        AwsError: IAM refused a read.
    """
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
        facts = evidence(key.created, key.last_used, plan.now)
        found.append(Credential(name, arn, KEY, key.key_id, action, why, unused, facts))
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
        facts = evidence(created, used, plan.now)
        found.append(Credential(name, arn, PASSWORD, "", action, why, unused, facts))
    return found


def read_users(ctx: RunContext, scope: str, user_name: str) -> list[dict[str, Any]]:
    """The users in scope: ``user_name`` (scope ``user``) or every IAM user (``account``).

    Raises:
        BadInput: ``user_name`` does not exist.
        AwsError: IAM refused a read.
    """
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
