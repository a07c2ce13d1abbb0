"""S4: the password policy the operator asks for, checked against IAM's own limits.

``UpdateAccountPasswordPolicy`` accepts a minimum length of 6-128, a maximum age of 1-1095 days
and a reuse prevention of 1-24 passwords (botocore refuses some of these client-side, IAM the
rest with ``ValidationError``, moto only some): ``check_request`` refuses them all before any
AWS call, in one line naming the parameter. The defaults follow the CIS AWS Foundations
Benchmark v4.0 (1.8 length ≥ 14, 1.9 reuse prevention 24) and AWS's recommendations (all four
character types, users may change their own password, no periodic expiry: NIST SP 800-63B).
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.validation import validate_bool
from runbook_lib.password_policy.state import PasswordPolicy, describe

#: IAM's limits for UpdateAccountPasswordPolicy (botocore's service model)
MIN_LENGTH, MAX_LENGTH = 6, 128
MAX_AGE_DAYS = 1095
MAX_REUSE_PREVENTION = 24
#: CIS AWS Foundations Benchmark v4.0, section 1 (IAM)
CIS_VERSION = "CIS AWS Foundations v4.0"
CIS_MIN_LENGTH = 14  # control 1.8
CIS_REUSE_PREVENTION = 24  # control 1.9

_BOOLEANS = (
    "require_uppercase_characters",
    "require_lowercase_characters",
    "require_numbers",
    "require_symbols",
    "allow_users_to_change_password",
    "hard_expiry",
)


#: what 0 means for a limit, translated where shown
_NONE_WORDS = (N_("never"), N_("none"))


def _whole_number(value: object, param: str, low: int, high: int, none: str = "") -> int:
    """Check an integer parameter against ``low``-``high`` (0 allowed when ``none`` says so)."""
    in_range = isinstance(value, int) and (low <= value <= high or (bool(none) and value == 0))
    if in_range and isinstance(value, int) and not isinstance(value, bool):
        return value
    allowed = f"{low}-{high}" + (_(", or 0 for {none}").format(none=_(none)) if none else "")
    raise BadInput(
        _(
            "{param} {value} is outside IAM's limits for UpdateAccountPasswordPolicy: use a whole "
            "number {allowed}."
        ).format(param=param, value=repr(value), allowed=allowed)
    )


def _cis_warnings(policy: PasswordPolicy) -> tuple[str, ...]:
    """Advice for valid choices that a CIS scan or AWS's guidance flags."""
    texts = []
    if policy.minimum_password_length < CIS_MIN_LENGTH:
        texts.append(
            _("minimum_password_length {length} fails {cis} 1.8 (at least {min}).").format(
                length=policy.minimum_password_length, cis=CIS_VERSION, min=CIS_MIN_LENGTH
            )
        )
    if (policy.password_reuse_prevention or 0) < CIS_REUSE_PREVENTION:
        texts.append(
            _("password_reuse_prevention {reuse} fails {cis} 1.9 ({min}).").format(
                reuse=policy.password_reuse_prevention or 0,
                cis=CIS_VERSION,
                min=CIS_REUSE_PREVENTION,
            )
        )
    if policy.max_password_age:
        texts.append(
            _(
                "max_password_age {age}: AWS and NIST SP 800-63B advise against periodic "
                "expiry; change a password when it may be compromised instead."
            ).format(age=policy.max_password_age)
        )
    if not policy.allow_users_to_change_password:
        texts.append(
            _(
                "allow_users_to_change_password is false: users cannot change their own "
                "password unless an IAM policy grants iam:ChangePassword."
            )
        )
    return tuple(texts)


@dataclass(frozen=True)
class PolicyRequest:
    """The checked request: the policy to set, and advice on weak but valid choices."""

    policy: PasswordPolicy
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        lines = [_("Requested: {policy}").format(policy=describe(self.policy))]
        lines += [_("Warning: {text}").format(text=text) for text in self.warnings]
        return "\n".join(lines)


def check_request(
    ctx: RunContext,
    *,
    minimum_password_length: int = CIS_MIN_LENGTH,
    require_uppercase_characters: bool = True,
    require_lowercase_characters: bool = True,
    require_numbers: bool = True,
    require_symbols: bool = True,
    allow_users_to_change_password: bool = True,
    max_password_age: int = 0,
    password_reuse_prevention: int = CIS_REUSE_PREVENTION,
    hard_expiry: bool = False,
) -> PolicyRequest:
    """Check every parameter against IAM's limits (Steps 1-2); makes no AWS call.

    The checks are ``check_inputs``'s (see there for the parameters); the CIS warnings of a
    weak choice go into the run record.

    Raises:
        BadInput: a value outside IAM's limits, of the wrong type, or ``hard_expiry`` without
            ``max_password_age``.
    """
    request = check_inputs(
        minimum_password_length=minimum_password_length,
        require_uppercase_characters=require_uppercase_characters,
        require_lowercase_characters=require_lowercase_characters,
        require_numbers=require_numbers,
        require_symbols=require_symbols,
        allow_users_to_change_password=allow_users_to_change_password,
        max_password_age=max_password_age,
        password_reuse_prevention=password_reuse_prevention,
        hard_expiry=hard_expiry,
    )
    for text in request.warnings:
        ctx.record.warn(_("S4 password policy: {text}").format(text=text))
    return request


def check_inputs(
    *,
    minimum_password_length: int = CIS_MIN_LENGTH,
    require_uppercase_characters: bool = True,
    require_lowercase_characters: bool = True,
    require_numbers: bool = True,
    require_symbols: bool = True,
    allow_users_to_change_password: bool = True,
    max_password_age: int = 0,
    password_reuse_prevention: int = CIS_REUSE_PREVENTION,
    hard_expiry: bool = False,
) -> PolicyRequest:
    """Check every parameter against IAM's limits: pure, so the host runs it before a kernel
    starts (``run.precheck``) and the kernel again in Steps 1-2.

    Args:
        minimum_password_length: 6-128 characters (CIS 1.8: at least 14).
        require_uppercase_characters: at least one of A-Z.
        require_lowercase_characters: at least one of a-z.
        require_numbers: at least one of 0-9.
        require_symbols: at least one of IAM's symbols.
        allow_users_to_change_password: every IAM user may change their own password.
        max_password_age: days until a password expires, 1-1095; 0 for never.
        password_reuse_prevention: how many previous passwords may not be reused, 1-24; 0 for
            none (CIS 1.9: 24).
        hard_expiry: an expired password can only be reset by an administrator (needs
            ``max_password_age``).

    Returns:
        The checked request.

    Raises:
        BadInput: a value outside IAM's limits, of the wrong type, or ``hard_expiry`` without
            ``max_password_age``.
    """
    flags = {
        "require_uppercase_characters": require_uppercase_characters,
        "require_lowercase_characters": require_lowercase_characters,
        "require_numbers": require_numbers,
        "require_symbols": require_symbols,
        "allow_users_to_change_password": allow_users_to_change_password,
        "hard_expiry": hard_expiry,
    }
    length = _whole_number(
        minimum_password_length, "minimum_password_length", MIN_LENGTH, MAX_LENGTH
    )
    age = _whole_number(max_password_age, "max_password_age", 1, MAX_AGE_DAYS, "never")
    reuse = _whole_number(
        password_reuse_prevention, "password_reuse_prevention", 1, MAX_REUSE_PREVENTION, "none"
    )
    for name in _BOOLEANS:
        validate_bool(flags[name], name)
    if hard_expiry and not age:
        raise BadInput(
            _(
                "hard_expiry is true but max_password_age is 0 (passwords never expire): set "
                "max_password_age to 1-{max} days, or hard_expiry to false."
            ).format(max=MAX_AGE_DAYS)
        )
    policy = PasswordPolicy(
        minimum_password_length=length,
        require_symbols=require_symbols,
        require_numbers=require_numbers,
        require_uppercase_characters=require_uppercase_characters,
        require_lowercase_characters=require_lowercase_characters,
        allow_users_to_change_password=allow_users_to_change_password,
        max_password_age=age or None,
        password_reuse_prevention=reuse or None,
        hard_expiry=hard_expiry,
    )
    return PolicyRequest(policy, _cis_warnings(policy))
