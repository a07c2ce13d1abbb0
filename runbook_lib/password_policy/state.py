"""The account password policy: one model, and the one read of it (GetAccountPasswordPolicy).

S4 sets it, S1 generates console passwords that meet it, S0 audits it (CIS 1.8, 1.9). IAM
answers ``NoSuchEntity`` when the account has no custom policy: AWS's default applies then
(``PasswordPolicy.aws_default``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.i18n import N_, _


@dataclass(frozen=True)
class PasswordPolicy:
    """An account password policy, as GetAccountPasswordPolicy returns it (snake_case).

    ``is_default`` marks AWS's default policy, which applies when the account has no custom
    policy: at least 8 characters, 3 of the 4 character types, and not the account name or
    e-mail (checked here against the user name and the account ID, which the API can read).
    """

    minimum_password_length: int
    require_symbols: bool
    require_numbers: bool
    require_uppercase_characters: bool
    require_lowercase_characters: bool
    allow_users_to_change_password: bool
    max_password_age: int | None
    password_reuse_prevention: int | None
    hard_expiry: bool
    is_default: bool = False

    @classmethod
    def aws_default(cls) -> PasswordPolicy:
        """Return AWS's default policy, in force when the account has no custom policy."""
        return cls(
            minimum_password_length=8,
            require_symbols=False,
            require_numbers=False,
            require_uppercase_characters=False,
            require_lowercase_characters=False,
            allow_users_to_change_password=False,
            max_password_age=None,
            password_reuse_prevention=None,
            hard_expiry=False,
            is_default=True,
        )

    @classmethod
    def from_response(cls, policy: Mapping[str, Any]) -> PasswordPolicy:
        """Build a custom policy from the ``PasswordPolicy`` dict of a boto3 response.

        Args:
            policy: ``iam.get_account_password_policy()["PasswordPolicy"]``. A missing
                ``MinimumPasswordLength`` means IAM's own default, 6; a missing or zero
                ``MaxPasswordAge`` means passwords never expire.
        """
        max_age = int(policy.get("MaxPasswordAge") or 0)
        reuse = int(policy.get("PasswordReusePrevention") or 0)
        return cls(
            minimum_password_length=int(policy.get("MinimumPasswordLength", 6)),
            require_symbols=bool(policy.get("RequireSymbols", False)),
            require_numbers=bool(policy.get("RequireNumbers", False)),
            require_uppercase_characters=bool(policy.get("RequireUppercaseCharacters", False)),
            require_lowercase_characters=bool(policy.get("RequireLowercaseCharacters", False)),
            allow_users_to_change_password=bool(policy.get("AllowUsersToChangePassword", False)),
            max_password_age=max_age or None,
            password_reuse_prevention=reuse or None,
            hard_expiry=bool(policy.get("HardExpiry", False)),
            is_default=False,
        )

    def describe(self) -> str:
        """Return the policy's composition rules in one short line.

        Example: ``"custom policy: ≥ 14 chars, upper, lower, digit, symbol"``.
        """
        if self.is_default:
            return _(
                "AWS default policy: ≥ {n} chars, "
                "3 of upper/lower/digit/symbol, not the user name or account ID"
            ).format(n=self.minimum_password_length)
        rules = [_("≥ {n} chars").format(n=self.minimum_password_length)]
        for required, name in (
            (self.require_uppercase_characters, N_("upper")),
            (self.require_lowercase_characters, N_("lower")),
            (self.require_numbers, N_("digit")),
            (self.require_symbols, N_("symbol")),
        ):
            if required:
                rules.append(_(name))
        return _("custom policy: ") + ", ".join(rules)


def get_password_policy(iam: Any, *, fix: str = "") -> PasswordPolicy:
    """Read the account's password policy.

    Args:
        iam: a boto3 IAM client for the resolved target.
        fix: what to do when IAM refuses, in the caller's words (default: run as an identity
            allowed to read it).

    Returns:
        The custom policy, or ``PasswordPolicy.aws_default()`` when the account has none
        (IAM answers ``NoSuchEntity``).

    Raises:
        AwsError: any other IAM error, e.g. ``AccessDenied``; it keeps AWS's code.
    """
    response = aws.call(
        iam.get_account_password_policy,
        what=_("Reading the account password policy"),
        fix=fix or _("Run as an identity allowed iam:GetAccountPasswordPolicy, then re-run."),
        missing=("NoSuchEntity",),
    )
    if response is None:
        return PasswordPolicy.aws_default()
    return PasswordPolicy.from_response(response["PasswordPolicy"])


def describe(policy: PasswordPolicy) -> str:
    """The whole policy in one line, e.g. ``≥ 14 chars, upper, lower, digit, symbol; ...``."""
    if policy.is_default:
        return policy.describe()
    rules = policy.describe().removeprefix(_("custom policy: "))
    reuse = policy.password_reuse_prevention
    age = policy.max_password_age
    expiry = _("expire after {n} days").format(n=age) if age else _("no expiry")
    if age and policy.hard_expiry:
        expiry += _(" (admin reset)")
    parts = [
        rules,
        _("no reuse of the last {n}").format(n=reuse) if reuse else _("reuse allowed"),
        expiry,
        _("users may change their own password")
        if policy.allow_users_to_change_password
        else _("users may not change their own password"),
    ]
    return "; ".join(parts)
