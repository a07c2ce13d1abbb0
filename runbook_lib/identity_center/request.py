"""S6 Step 2: the Identity Center administrator the operator asks for, checked before any call.

Identity Center's own rules (the console's and the ``identitystore``/``sso-admin`` service
models): a user name of 1-128 letters, digits and ``+ = , . @ _ -``; a permission set name of
1-32 such characters; a session duration in ISO-8601 of 1 to 12 hours. ``check_request`` refuses
every bad value in one line naming the parameter (exit 2) and makes no AWS call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.validation import validate_bool

#: the AWS managed policy the permission set gets
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
#: ``assign_to`` choices besides a list of account IDs
CALLER, ORG = "caller", "org"
MIN_SESSION_MINUTES, MAX_SESSION_MINUTES = 60, 12 * 60

_USER_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
_PERMISSION_SET_NAME = re.compile(r"[\w+=,.@-]{1,32}", re.ASCII)
_GROUP_NAME = re.compile(r"[A-Za-z0-9+=,.@_ -]{1,128}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DURATION = re.compile(r"PT(?:(\d{1,2})H)?(?:(\d{1,3})M)?")
_ACCOUNT = re.compile(r"\d{12}")


@dataclass(frozen=True)
class IdcRequest:
    """The checked request (Step 2): who, which group and permission set, which accounts."""

    user_name: str
    email: str
    given_name: str
    family_name: str
    group_name: str
    permission_set_name: str
    session_duration: str
    #: ``caller``, ``org`` or the account IDs given
    assign_to: tuple[str, ...]
    password_setup_confirmed: bool = False
    mfa_registered_confirmed: bool = False

    @property
    def display_name(self) -> str:
        """The user's display name in Identity Center (``Alice Lee``)."""
        return f"{self.given_name} {self.family_name}"

    def __repr__(self) -> str:
        where = {
            CALLER: _("the caller's account"),
            ORG: _("every ACTIVE account of the Organization"),
        }.get(self.assign_to[0], ", ".join(self.assign_to))
        return "\n".join(
            (
                _("User {user} ({name}, {email}) in group {group}").format(
                    user=self.user_name,
                    name=self.display_name,
                    email=self.email,
                    group=self.group_name,
                ),
                _("Permission set {name}: AdministratorAccess, sessions of {duration}").format(
                    name=self.permission_set_name, duration=self.session_duration
                ),
                _("Assigned to: {where}").format(where=where),
            )
        )


def _text(value: object, param: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadInput(
            _("{param} {value} is not valid: use {rule}.").format(
                param=param, value=repr(value), rule=rule
            )
        )
    return value


def _name_part(value: object, param: str) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 128
        or value != value.strip()
        or not value.isprintable()
    ):
        raise BadInput(
            _(
                "{param} {value} is not valid: give 1-128 printable characters without "
                "leading or trailing spaces."
            ).format(param=param, value=repr(value))
        )
    return value


def check_person(*, email: str = "", given_name: str = "", family_name: str = "") -> None:
    """The person's fields that are given (``runbook fix`` passes them on to 06 only when its
    plan picks 06): the same rules as ``check_inputs``.

    Raises:
        BadInput: a given e-mail address or name that 06 would refuse.
    """
    if email:
        _text(email, "email", _EMAIL, _("an e-mail address like alice@example.com"))
        if len(email) > 254:
            raise BadInput(_("email is longer than 254 characters: give a shorter address."))
    if given_name:
        _name_part(given_name, "given_name")
    if family_name:
        _name_part(family_name, "family_name")


def session_minutes(value: object) -> int:
    """The minutes of an ISO-8601 duration ``PT#H#M`` (0 when it is not one)."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or value == "PT":
        return 0
    hours, minutes = (int(part or 0) for part in match.groups())
    return hours * 60 + minutes


def _duration(value: object) -> str:
    minutes = session_minutes(value)
    if not MIN_SESSION_MINUTES <= minutes <= MAX_SESSION_MINUTES:
        raise BadInput(
            _(
                "session_duration {value} is not an ISO-8601 duration of 1 to 12 hours: use "
                "e.g. PT8H, PT1H30M or PT12H."
            ).format(value=repr(value))
        )
    return str(value)


def _assign_to(value: object) -> tuple[str, ...]:
    if value in (CALLER, ORG):
        return (str(value),)
    ids = [part.strip() for part in value.split(",")] if isinstance(value, str) else []
    bad = [part for part in ids if not _ACCOUNT.fullmatch(part)]
    if not ids or bad or not isinstance(value, str):
        raise BadInput(
            _(
                "assign_to {value} is not valid: use caller, org, or comma-separated "
                "12-digit account IDs."
            ).format(value=repr(value))
        )
    return tuple(dict.fromkeys(ids))


def check_request(
    ctx: RunContext,
    *,
    user_name: str,
    email: str,
    given_name: str,
    family_name: str,
    group_name: str = "Administrators",
    permission_set_name: str = "AdministratorAccess",
    session_duration: str = "PT8H",
    assign_to: str = CALLER,
    password_setup_confirmed: bool = False,
    mfa_registered_confirmed: bool = False,
) -> IdcRequest:
    """Check every parameter against Identity Center's rules (Step 2); makes no AWS call.

    The checks are ``check_inputs``'s (the same parameters, see there).

    Raises:
        BadInput: the first bad parameter, named, with the rule.
    """
    del ctx  # the request needs no AWS call; the signature matches the other runbooks
    return check_inputs(
        user_name=user_name,
        email=email,
        given_name=given_name,
        family_name=family_name,
        group_name=group_name,
        permission_set_name=permission_set_name,
        session_duration=session_duration,
        assign_to=assign_to,
        password_setup_confirmed=password_setup_confirmed,
        mfa_registered_confirmed=mfa_registered_confirmed,
    )


def check_inputs(
    *,
    user_name: str,
    email: str,
    given_name: str,
    family_name: str,
    group_name: str = "Administrators",
    permission_set_name: str = "AdministratorAccess",
    session_duration: str = "PT8H",
    assign_to: str = CALLER,
    password_setup_confirmed: bool = False,
    mfa_registered_confirmed: bool = False,
) -> IdcRequest:
    """Check every parameter against Identity Center's rules: pure, so the host runs it
    before a kernel starts (``run.precheck``) and the kernel again in Step 2.

    Args:
        user_name: the Identity Center user name (1-128 letters, digits and ``+=,.@_-``).
        email: the user's e-mail address (the one-time password and invitations go there).
        given_name: the user's first name.
        family_name: the user's last name.
        group_name: the group that gets the permission set.
        permission_set_name: the permission set (1-32 characters), with AdministratorAccess.
        session_duration: how long a portal session lasts, ISO-8601, 1-12 hours.
        assign_to: ``caller``, ``org`` or comma-separated account IDs.
        password_setup_confirmed: the user's first password is set up (manual step).
        mfa_registered_confirmed: the user has registered MFA (manual step).

    Returns:
        The checked request.

    Raises:
        BadInput: the first bad parameter, named, with the rule.
    """
    name = _text(
        user_name,
        "user_name",
        _USER_NAME,
        _("1-128 letters, digits and + = , . @ _ -"),
    )
    address = _text(email, "email", _EMAIL, _("an e-mail address like alice@example.com"))
    if len(address) > 254:
        raise BadInput(_("email is longer than 254 characters: give a shorter address."))
    given = _name_part(given_name, "given_name")
    family = _name_part(family_name, "family_name")
    group = _text(
        group_name,
        "group_name",
        _GROUP_NAME,
        _("1-128 letters, digits, spaces and + = , . @ _ -"),
    )
    if group != group.strip():
        raise BadInput(_("group_name has leading or trailing spaces: remove them."))
    permission_set = _text(
        permission_set_name,
        "permission_set_name",
        _PERMISSION_SET_NAME,
        _("1-32 letters, digits and + = , . @ _ -"),
    )
    duration = _duration(session_duration)
    targets = _assign_to(assign_to)
    for param, flag in (
        ("password_setup_confirmed", password_setup_confirmed),
        ("mfa_registered_confirmed", mfa_registered_confirmed),
    ):
        validate_bool(flag, param)
    return IdcRequest(
        user_name=name,
        email=address,
        given_name=given,
        family_name=family,
        group_name=group,
        permission_set_name=permission_set,
        session_duration=duration,
        assign_to=targets,
        password_setup_confirmed=password_setup_confirmed,
        mfa_registered_confirmed=mfa_registered_confirmed,
    )
