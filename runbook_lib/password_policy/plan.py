"""S4 Step 3: the account's current password policy next to the requested one.

``GetAccountPasswordPolicy`` answers ``NoSuchEntity`` when the account has no custom policy:
AWS's default applies then (8 characters, 3 of 4 character types, no reuse prevention, no
expiry). The plan shows both, setting by setting, with the CIS AWS Foundations v4.0 controls
1.8 and 1.9 evaluated before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runbook_lib.admin_user.passwords import PasswordPolicy, get_password_policy
from runbook_lib.core.context import RunContext
from runbook_lib.password_policy.request import (
    CIS_MIN_LENGTH,
    CIS_REUSE_PREVENTION,
    CIS_VERSION,
    PolicyRequest,
)

_DEFAULT_TYPES = "3 of 4 types"


def _required(attribute: str) -> Callable[[PasswordPolicy], str]:
    def show(policy: PasswordPolicy) -> str:
        if policy.is_default:
            return _DEFAULT_TYPES
        return "required" if getattr(policy, attribute) else "-"

    return show


def _age(policy: PasswordPolicy) -> str:
    return f"{policy.max_password_age} days" if policy.max_password_age else "never"


def _reuse(policy: PasswordPolicy) -> str:
    reuse = policy.password_reuse_prevention
    return f"last {reuse}" if reuse else "none"


#: (setting in the console's words, how a policy shows it)
SETTINGS: tuple[tuple[str, Callable[[PasswordPolicy], str]], ...] = (
    ("Minimum length", lambda p: str(p.minimum_password_length)),
    ("Uppercase letter (A-Z)", _required("require_uppercase_characters")),
    ("Lowercase letter (a-z)", _required("require_lowercase_characters")),
    ("Number (0-9)", _required("require_numbers")),
    ("Symbol", _required("require_symbols")),
    ("Users change own password", lambda p: "yes" if p.allow_users_to_change_password else "no"),
    ("Expire passwords after", _age),
    ("Prevent reuse of", _reuse),
    ("Expired: admin must reset", lambda p: "yes" if p.hard_expiry else "no"),
)

#: (control, what it asks, whether a policy passes)
CIS_CONTROLS: tuple[tuple[str, str, Callable[[PasswordPolicy], bool]], ...] = (
    (
        "1.8",
        f"minimum length ≥ {CIS_MIN_LENGTH}",
        lambda p: p.minimum_password_length >= CIS_MIN_LENGTH,
    ),
    (
        "1.9",
        f"reuse prevention {CIS_REUSE_PREVENTION}",
        lambda p: (p.password_reuse_prevention or 0) >= CIS_REUSE_PREVENTION,
    ),
)


def cis_status(policy: PasswordPolicy) -> dict[str, str]:
    """``{"1.8": "PASS" | "FAIL", "1.9": ...}`` for a policy."""
    return {control: "PASS" if passes(policy) else "FAIL" for control, _, passes in CIS_CONTROLS}


def differences(current: PasswordPolicy, wanted: PasswordPolicy) -> tuple[str, ...]:
    """The settings (console words) in which two policies differ."""
    return tuple(name for name, show in SETTINGS if show(current) != show(wanted))


@dataclass(frozen=True)
class PolicyPlan:
    """Step 3: the current policy, the requested one, and what Steps 4-6 change."""

    account_id: str
    current: PasswordPolicy
    wanted: PasswordPolicy
    plan_mode: bool = False

    @property
    def changes(self) -> tuple[str, ...]:
        """The settings that differ (empty: the account already has the requested policy)."""
        if self.current == self.wanted:
            return ()
        return differences(self.current, self.wanted) or ("(a setting IAM does not show)",)

    def __repr__(self) -> str:
        kind = "none set, AWS's default applies" if self.current.is_default else "custom policy set"
        lines = [f"Password policy of account {self.account_id}: {kind}"]
        width = max(len(name) for name, _ in SETTINGS)
        lines.append(f"  {'setting':<{width}}  {'current':<13} new")
        for name, show in SETTINGS:
            old, new = show(self.current), show(self.wanted)
            mark = "(change)" if old != new else ""
            lines.append(f"  {name:<{width}}  {old:<13} {new:<13}{mark}".rstrip())
        before, after = cis_status(self.current), cis_status(self.wanted)
        cis = "; ".join(
            f"{control} {title}: {before[control]} → {after[control]}"
            for control, title, _ in CIS_CONTROLS
        )
        lines.append(f"{CIS_VERSION}: {cis}")
        if not self.changes:
            lines.append("Already in place: Steps 4-6 change nothing.")
        elif self.plan_mode:
            lines.append("Plan mode: Steps 4-6 would set it (UpdateAccountPasswordPolicy).")
        else:
            lines.append("Steps 4-6 set it (UpdateAccountPasswordPolicy, every setting above).")
        return "\n".join(lines)


def show_plan(ctx: RunContext, request: PolicyRequest) -> PolicyPlan:
    """Read the account's password policy and show it next to the requested one (Step 3).

    Args:
        ctx: the run context.
        request: the result of ``check_request``.

    Returns:
        The plan; its ``repr`` is the table of settings, current and new.

    Raises:
        AwsError: IAM refused the read (``NoSuchEntity`` is not an error: AWS's default).
    """
    current = get_password_policy(ctx.iam)
    return PolicyPlan(ctx.account_id, current, request.policy, ctx.plan)
