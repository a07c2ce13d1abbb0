"""S4 Step 3: the account's current password policy next to the requested one.

``GetAccountPasswordPolicy`` answers ``NoSuchEntity`` when the account has no custom policy:
AWS's default applies then (8 characters, 3 of 4 character types, no reuse prevention, no
expiry). The plan shows both, setting by setting, with the CIS AWS Foundations v4.0 controls
1.8 and 1.9 evaluated before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.wording import pad, width
from runbook_lib.password_policy.request import (
    CIS_MIN_LENGTH,
    CIS_REUSE_PREVENTION,
    CIS_VERSION,
    PolicyRequest,
)
from runbook_lib.password_policy.state import PasswordPolicy, get_password_policy

_DEFAULT_TYPES = N_("3 of 4 types")


def _required(attribute: str) -> Callable[[PasswordPolicy], str]:
    def show(policy: PasswordPolicy) -> str:
        if policy.is_default:
            return _(_DEFAULT_TYPES)
        return _("required") if getattr(policy, attribute) else "-"

    return show


def _age(policy: PasswordPolicy) -> str:
    age = policy.max_password_age
    return _("{n} days").format(n=age) if age else _("never")


def _reuse(policy: PasswordPolicy) -> str:
    reuse = policy.password_reuse_prevention
    return _("last {n}").format(n=reuse) if reuse else _("none")


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


#: (setting in the console's words, how a policy shows it); shown translated (``_()``)
SETTINGS: tuple[tuple[str, Callable[[PasswordPolicy], str]], ...] = (
    (N_("Minimum length"), lambda p: str(p.minimum_password_length)),
    (N_("Uppercase letter (A-Z)"), _required("require_uppercase_characters")),
    (N_("Lowercase letter (a-z)"), _required("require_lowercase_characters")),
    (N_("Number (0-9)"), _required("require_numbers")),
    (N_("Symbol"), _required("require_symbols")),
    (N_("Users change own password"), lambda p: _yes(p.allow_users_to_change_password)),
    (N_("Expire passwords after"), _age),
    (N_("Prevent reuse of"), _reuse),
    (N_("Expired: admin must reset"), lambda p: _yes(p.hard_expiry)),
)
#: each setting's UpdateAccountPasswordPolicy parameter: how the run record's change names it
#: (language-neutral, whole: the console's words are cut to fit a table, "Prevent reuse of")
API_NAMES: dict[str, str] = dict(
    zip(
        (name for name, __ in SETTINGS),
        (
            "MinimumPasswordLength",
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
            "RequireNumbers",
            "RequireSymbols",
            "AllowUsersToChangePassword",
            "MaxPasswordAge",
            "PasswordReusePrevention",
            "HardExpiry",
        ),
        strict=True,
    )
)

#: (control, what it asks, whether a policy passes)
CIS_CONTROLS: tuple[tuple[str, str, Callable[[PasswordPolicy], bool]], ...] = (
    (
        "1.8",
        N_("minimum length ≥ {n}"),
        lambda p: p.minimum_password_length >= CIS_MIN_LENGTH,
    ),
    (
        "1.9",
        N_("reuse prevention {n}"),
        lambda p: (p.password_reuse_prevention or 0) >= CIS_REUSE_PREVENTION,
    ),
)


def cis_status(policy: PasswordPolicy) -> dict[str, str]:
    """``{"1.8": "PASS" | "FAIL", "1.9": ...}`` for a policy."""
    return {control: "PASS" if passes(policy) else "FAIL" for control, __, passes in CIS_CONTROLS}


def cis_title(title: str) -> str:
    """A CIS control's title in the current language, with its threshold."""
    return _(title).format(n=CIS_MIN_LENGTH if "length" in title else CIS_REUSE_PREVENTION)


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
        kind = (
            _("none set, AWS's default applies")
            if self.current.is_default
            else _("custom policy set")
        )
        lines = [
            _("Password policy of account {account}: {kind}").format(
                account=self.account_id, kind=kind
            )
        ]
        names = [_(name) for name, __ in SETTINGS]
        cols = max(width(name) for name in [*names, _("setting")])
        rows = [
            (name, show(self.current), show(self.wanted))
            for name, (__, show) in zip(names, SETTINGS, strict=True)
        ]
        value = max(13, *(width(text) + 1 for row in rows for text in row[1:]))
        setting, current, new_one = _("setting"), _("current"), _("new")
        lines.append(f"  {pad(setting, cols)}  {pad(current, value)} {new_one}")
        for name, old, new in rows:
            mark = _("(change)") if old != new else ""
            lines.append(f"  {pad(name, cols)}  {pad(old, value)} {pad(new, value)}{mark}".rstrip())
        before, after = cis_status(self.current), cis_status(self.wanted)
        cis = "; ".join(
            f"{control} {cis_title(title)}: {before[control]} → {after[control]}"
            for control, title, __ in CIS_CONTROLS
        )
        lines.append(f"{CIS_VERSION}: {cis}")
        if not self.changes:
            lines.append(_("Already in place: Steps 4-6 change nothing."))
        elif self.plan_mode:
            lines.append(_("Plan mode: Steps 4-6 would set it (UpdateAccountPasswordPolicy)."))
        else:
            lines.append(_("Steps 4-6 set it (UpdateAccountPasswordPolicy, every setting above)."))
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
