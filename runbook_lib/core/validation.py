"""Checks of runbook inputs against IAM's own rules, before any AWS call.

IAM checks lengths and patterns only on the server (``ValidationError``), and moto does not
check them at all: these functions refuse bad input early, in one line that names the
parameter to fix and the rule. They are pure: no AWS calls, no secrets in messages. Tag rules
are in ``tags``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.wording import bad_chars, not_text, show

#: IAM's ``[\w+=,.@-]+`` for user, group and MFA device names; IAM's ``\w`` is ASCII
_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]+")
_NAME_RULE = N_("characters from letters, digits and + = , . @ _ -")
#: IAM's path pattern ``(\u002F)|(\u002F[\u0021-\u007E]+\u002F)``
_PATH_RE = re.compile(r"/|/[\u0021-\u007E]+/")
_PATH_MAX = 512
_ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")

MAX_USER_NAME = 64
MAX_GROUP_NAME = 128


#: the kinds of IAM names a message may name (translated where shown)
_KINDS = (N_("user"), N_("group"))


def _is_name_char(char: str) -> bool:
    return _NAME_RE.fullmatch(char) is not None


def _is_path_char(char: str) -> bool:
    return "!" <= char <= "~"


def _validate_name(name: object, param: str, kind: str, max_len: int) -> str:
    """Check an IAM user or group name; return it unchanged."""
    problem = ""
    if not isinstance(name, str):
        problem = not_text(name)
    elif not name:
        problem = _("it is empty")
    elif len(name) > max_len:
        problem = _("it has {n} characters").format(n=len(name))
    elif not _NAME_RE.fullmatch(name):
        problem = _("{chars} not allowed").format(chars=bad_chars(name, _is_name_char))
    if problem:
        raise BadInput(
            _(
                "{param} {value} is not a valid IAM {kind} name: {problem}; "
                "use 1-{max} {rule} (IAM would answer ValidationError)."
            ).format(
                param=param,
                value=show(name),
                kind=_(kind),
                problem=problem,
                max=max_len,
                rule=_(_NAME_RULE),
            )
        )
    assert isinstance(name, str)
    return name


def validate_user_name(name: str, param: str = "user_name") -> str:
    """Check an IAM user name: 1-64 characters from ``[A-Za-z0-9_+=,.@-]``.

    Args:
        name: the user name.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The name, unchanged.

    Raises:
        BadInput: the name is empty, too long, not text or has a character IAM refuses.
    """
    return _validate_name(name, param, "user", MAX_USER_NAME)


def validate_group_name(name: str, param: str = "group_name") -> str:
    """Check an IAM group name: 1-128 characters from ``[A-Za-z0-9_+=,.@-]``.

    Args:
        name: the group name.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The name, unchanged.

    Raises:
        BadInput: the name is empty, too long, not text or has a character IAM refuses.
    """
    return _validate_name(name, param, "group", MAX_GROUP_NAME)


def validate_path(path: str, param: str = "path") -> str:
    """Check an IAM path: ``/`` or ``/a/b/``, 1-512 printable ASCII characters, no spaces.

    Args:
        path: the path, e.g. ``"/"`` or ``"/admins/"``.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The path, unchanged.

    Raises:
        BadInput: the path is not text, too long, does not start and end with ``/``, or has
            a character outside ``!`` to ``~``.
    """
    problem = ""
    if not isinstance(path, str):
        problem = not_text(path)
    elif not path:
        problem = _("it is empty")
    elif len(path) > _PATH_MAX:
        problem = _("it has {n} characters").format(n=len(path))
    elif not (path.startswith("/") and path.endswith("/")):
        problem = _("it must start and end with '/'")
    elif path == "//":
        problem = _("IAM refuses '//' as a whole path")
    elif not _PATH_RE.fullmatch(path):
        problem = _("{chars} not allowed").format(chars=bad_chars(path, _is_path_char))
    if problem:
        raise BadInput(
            _(
                "{param} {value} is not a valid IAM path: {problem}; use '/' or a path "
                "like '/admins/' of 1-{max} printable ASCII characters without spaces "
                "(IAM would answer ValidationError)."
            ).format(param=param, value=show(path), problem=problem, max=_PATH_MAX)
        )
    return path


def check_name_clash(name: str, existing: Iterable[str], kind: str, param: str) -> str | None:
    """Compare a name with the names that exist; IAM names are unique regardless of case.

    Args:
        name: the name the operator asked for.
        existing: the names that exist in the account (e.g. every user name).
        kind: what the names are, e.g. ``"user"`` or ``"group"``.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The existing name if it equals ``name`` exactly (the caller converges on it), else
        ``None`` (the name is free).

    Raises:
        BadInput: an existing name differs from ``name`` only in case.
    """
    folded = name.lower()
    clash: str | None = None
    for other in existing:
        if other == name:
            return other
        if clash is None and other.lower() == folded:
            clash = other
    if clash is not None:
        raise BadInput(
            _(
                "{param} {name} clashes with existing {kind} {clash}: IAM names are unique "
                "regardless of case; use {clash} or another name."
            ).format(param=param, name=repr(name), kind=_(kind), clash=repr(clash))
        )
    return None


def validate_account_id(value: str, param: str = "expected_account_id") -> str:
    """Check an AWS account ID: empty (no check wanted) or exactly 12 digits.

    Args:
        value: the account ID.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The account ID, or ``""`` when it is empty.

    Raises:
        BadInput: the value is not text or not 12 digits.
    """
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problem = not_text(value) + _(" (a number loses leading zeros)")
    elif not _ACCOUNT_ID_RE.fullmatch(value):
        problem = (
            _("it has {n} characters").format(n=len(value))
            if value.isascii() and value.isdigit()
            else _("not only digits")
        )
    else:
        return value
    raise BadInput(
        _(
            "{param} {value} is not an AWS account ID: {problem}; use the 12 digits "
            "shown by 'aws sts get-caller-identity', or leave it empty to skip the check."
        ).format(param=param, value=show(value), problem=problem)
    )


def validate_bool(value: object, param: str) -> bool:
    """Check that a parameter is true or false (YAML's booleans, not the text "true").

    Raises:
        BadInput: anything else, named.
    """
    if isinstance(value, bool):
        return value
    raise BadInput(
        _("{name} {value} must be true or false: fix the parameter.").format(
            name=param, value=repr(value)
        )
    )


def validate_choice(value: str, choices: Sequence[str], param: str) -> str:
    """Check that a value is one of a fixed set of choices (exact, case-sensitive).

    Args:
        value: the value given.
        choices: the allowed values.
        param: the parameter the operator should fix, used in the message.

    Returns:
        The value, unchanged.

    Raises:
        BadInput: the value is not one of ``choices``.
    """
    if isinstance(value, str) and value in choices:
        return value
    allowed = ", ".join(repr(choice) for choice in choices)
    raise BadInput(
        _("{param} {value} is not one of the choices: use one of {allowed}.").format(
            param=param, value=show(value), allowed=allowed
        )
    )
