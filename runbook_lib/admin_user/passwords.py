"""Console passwords that meet the account's password policy (``password_policy.state``).

IAM enforces the policy only when a password is set; moto never enforces it. So the runbook
generates passwords that meet any policy (``generate_password``), checks an operator's own
password before sending it (``check_password``), and ``new_password`` picks the one to set.
No message here ever contains a password.
"""

from __future__ import annotations

import re
import secrets
import string

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.secrets import Secret
from runbook_lib.password_policy.state import PasswordPolicy

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


def new_password(
    policy: PasswordPolicy, user_name: str, account_id: str, chosen: Secret | None
) -> Secret:
    """The password to set: the operator's (checked) or a generated one.

    Raises:
        BadInput: the operator's password does not meet the policy.
    """
    if chosen is not None:
        check_password(chosen.text(), policy, user_name=user_name, account_id=account_id)
        return chosen
    value = generate_password(policy)
    check_password(value, policy, user_name=user_name, account_id=account_id)
    return Secret("password", value, label=user_name)
