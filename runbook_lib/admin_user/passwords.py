"""The account's password policy, and console passwords that meet it.

IAM enforces the policy only when a password is set; moto never enforces it. So the runbook
reads the policy (``get_password_policy``), generates passwords that meet any policy
(``generate_password``) and checks an operator's own password before sending it
(``check_password``). No message here ever contains a password.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _

#: what IAM counts as a symbol (non-alphanumeric character) for ``RequireSymbols``
SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
UPPERCASE = string.ascii_uppercase
LOWERCASE = string.ascii_lowercase
DIGITS = string.digits
#: IAM's limits on any console password, whatever the policy
MIN_LENGTH = 1
MAX_LENGTH = 128
#: the length ``generate_password`` uses unless the policy asks for more
GENERATED_LENGTH = 20
#: IAM's pattern for a password: tab, line feed, carriage return and U+0020-U+00FF
_ALLOWED_RE = re.compile(r"[\t\n\r\u0020-\u00ff]+")
_SYMBOL_RULE = "a symbol (one of " + " ".join(SYMBOLS) + ")"


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


def get_password_policy(iam: Any) -> PasswordPolicy:
    """Read the account's password policy.

    Args:
        iam: a boto3 IAM client for the resolved target.

    Returns:
        The custom policy, or ``PasswordPolicy.aws_default()`` when the account has none
        (IAM answers ``NoSuchEntity``).

    Raises:
        AwsError: any other IAM error, e.g. ``AccessDenied``; it keeps AWS's code.
    """
    response = aws.call(
        iam.get_account_password_policy,
        what=_("Reading the account password policy"),
        fix=_("Run as an identity allowed iam:GetAccountPasswordPolicy, then re-run."),
        missing=("NoSuchEntity",),
    )
    if response is None:
        return PasswordPolicy.aws_default()
    return PasswordPolicy.from_response(response["PasswordPolicy"])


def _pick(alphabet: str) -> str:
    return alphabet[secrets.randbelow(len(alphabet))]


def generate_password(policy: PasswordPolicy, length: int | None = None) -> str:
    """Generate a console password with a CSPRNG that meets any password policy.

    The password holds at least one uppercase letter, lowercase letter, digit and IAM
    symbol, so it meets every composition rule whatever the policy asks for.

    Args:
        policy: the account's password policy.
        length: the length; by default the larger of the policy's minimum and 20.

    Returns:
        The password. Treat it as a secret: never print or log it.

    Raises:
        BadInput: ``length`` is below the policy's minimum (or 4) or above 128.
    """
    shortest = max(policy.minimum_password_length, 4)
    if length is None:
        length = max(policy.minimum_password_length, GENERATED_LENGTH)
    if (
        isinstance(length, bool)
        or not isinstance(length, int)
        or not (shortest <= length <= MAX_LENGTH)
    ):
        raise BadInput(
            _(
                "password length {length!r} is out of range: use {shortest}-{MAX_LENGTH} "
                "({value}; one character of each type needs at least 4)."
            ).format(
                length=length, shortest=shortest, MAX_LENGTH=MAX_LENGTH, value=policy.describe()
            )
        )
    alphabet = UPPERCASE + LOWERCASE + DIGITS + SYMBOLS
    chars = [_pick(UPPERCASE), _pick(LOWERCASE), _pick(DIGITS), _pick(SYMBOLS)]
    chars += [_pick(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _join(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _unmet_rules(
    password: str, policy: PasswordPolicy, user_name: str, account_id: str
) -> tuple[list[str], list[str]]:
    """Return (what the password needs, what it must not be); both empty when it is fine."""
    needs: list[str] = []
    must_not: list[str] = []
    minimum = max(policy.minimum_password_length, MIN_LENGTH)
    if len(password) < minimum:
        needs.append(_("at least {minimum} characters").format(minimum=minimum))
    if len(password) > MAX_LENGTH:
        needs.append(_("at most {MAX_LENGTH} characters").format(MAX_LENGTH=MAX_LENGTH))
    if password and not _ALLOWED_RE.fullmatch(password):
        needs.append(_("only characters IAM accepts (Latin-1 letters, digits, punctuation, space)"))
    types = [
        (policy.require_uppercase_characters, "an uppercase letter", UPPERCASE),
        (policy.require_lowercase_characters, "a lowercase letter", LOWERCASE),
        (policy.require_numbers, "a digit", DIGITS),
        (policy.require_symbols, _SYMBOL_RULE, SYMBOLS),
    ]
    found = [(required, rule, any(c in chars for c in password)) for required, rule, chars in types]
    if policy.is_default:
        if sum(present for _, _, present in found) < 3:
            needs.append(_("3 of the 4 character types: uppercase, lowercase, digit, symbol"))
        if user_name and password.lower() == user_name.lower():
            must_not.append(_("the user name"))
        if account_id and password.lower() == account_id.lower():
            must_not.append(_("the account ID"))
    else:
        needs += [rule for required, rule, present in found if required and not present]
    return needs, must_not


def check_password(
    password: str, policy: PasswordPolicy, *, user_name: str = "", account_id: str = ""
) -> None:
    """Check a password against IAM's limits and the account's policy, before IAM does.

    Args:
        password: the password to check; it never appears in a message.
        policy: the account's password policy.
        user_name: the user the password is for (the default policy refuses it as password).
        account_id: the account ID (the default policy refuses it as password).

    Raises:
        BadInput: one line listing every rule the password does not meet.
    """
    if not isinstance(password, str):
        raise BadInput(_("The password must be text; quote it in YAML or leave it empty."))
    needs, must_not = _unmet_rules(password, policy, user_name, account_id)
    if not needs and not must_not:
        return
    parts = []
    if needs:
        parts.append(_("it needs ") + _join(needs))
    if must_not:
        parts.append(_("it must not be ") + " or ".join(must_not))
    raise BadInput(
        _(
            "The password does not meet the account's password policy ({value}): "
            "{value2}. Choose another password, or leave it empty to generate one."
        ).format(value=policy.describe(), value2="; ".join(parts))
    )
