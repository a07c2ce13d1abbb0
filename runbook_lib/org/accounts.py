"""The accounts of a fan-out run and the credentials for each: host side, before any kernel.

``resolve_accounts`` turns ``--org`` (Organizations ``ListAccounts``, ACTIVE accounts only) or
``--accounts ID,ID|FILE`` into a list of 12-digit IDs; a bad list is refused before anything
runs. ``account_access`` gives the management session's own credentials for the management
account and ``AssumeRole`` credentials (``--role-name``, ``--external-id``) for every other
one. Every AWS call goes through ``core.aws``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import MEMBER_ROLE

DEFAULT_ROLE = MEMBER_ROLE
#: IAM role names: 1-64 characters of ``[\w+=,.@-]``
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
#: sts:AssumeRole ExternalId: 2-1224 characters of ``[\w+=,.@:/-]``
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
SESSION_NAME = "iam-runbooks-fanout"


@dataclass(frozen=True)
class Access:
    """How a kernel reaches one account: its credentials (empty: the caller's own)."""

    account_id: str
    role_arn: str = ""
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never the credentials
        via = self.role_arn or "the caller's own credentials"
        return f"Access({self.account_id} via {via})"


def is_account_id(value: str) -> bool:
    """Whether ``value`` is a 12-digit AWS account ID."""
    return len(value) == 12 and value.isascii() and value.isdigit()


def _check_id(value: str, where: str) -> str:
    value = value.strip()
    if not is_account_id(value):
        raise BadInput(
            f"{where}: '{value}' is not a 12-digit AWS account ID: fix the list "
            "(IDs separated by commas, or one per line in a file)."
        )
    return value


def account_ids(text: str, where: str = "--accounts") -> list[str]:
    """The account IDs of ``ID,ID,...`` (commas or white space); never a file.

    Raises:
        BadInput: an ID that is not 12 digits, or an empty list.
    """
    ids = [_check_id(v, where) for v in re.split(r"[,\s]+", text) if v.strip()]
    if not ids:
        raise BadInput(f"{where} names no account: give at least one 12-digit ID.")
    return list(dict.fromkeys(ids))


def read_accounts_file(path: Path, where: str) -> list[str]:
    """The account IDs in a file: separated by commas, spaces or new lines, ``#`` comments.

    A bad entry is named by its line, never quoted: the file may not be a list of accounts
    at all, and what it holds must not reach a log or a task failure.

    Raises:
        BadInput: the file cannot be read, an entry is not 12 digits, or it names none.
    """
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        raise BadInput(
            _("{where} cannot be read: check the path and its permissions.").format(where=where)
        ) from None
    ids: list[str] = []
    for number, line in enumerate(lines, 1):
        for value in re.split(r"[,\s]+", line.split("#", 1)[0]):
            if not value:
                continue
            if not is_account_id(value):
                raise BadInput(
                    _(
                        "{where}, line {number}: not a 12-digit AWS account ID: give one ID per "
                        "line (or IDs separated by commas)."
                    ).format(where=where, number=number)
                )
            ids.append(value)
    if not ids:
        raise BadInput(f"{where} names no account: give at least one 12-digit ID.")
    return list(dict.fromkeys(ids))


def parse_accounts(text: str) -> list[str]:
    """The account IDs of ``--accounts``: ``ID,ID,...`` or the path of a file of IDs.

    A file holds IDs separated by commas, spaces or new lines; ``#`` starts a comment.
    Duplicates are dropped, the first order kept.

    Raises:
        BadInput: an ID that is not 12 digits, an unreadable file, or an empty list.
    """
    if re.fullmatch(r"[\d,\s]+", text):
        return account_ids(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise BadInput(
            f"--accounts '{text}' is neither a list of 12-digit IDs nor a readable file: "
            "give ID,ID or the path of a file with one ID per line."
        )
    return read_accounts_file(path, f"--accounts file {path}")


def read_external_id(path: Path, where: str) -> str:
    """The external ID in a file (its first line; the rest is ignored), never echoed.

    Raises:
        BadInput: the file cannot be read or is empty.
    """
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise BadInput(
            _("{where} {path} cannot be read: check the path and its mode.").format(
                where=where, path=path
            )
        ) from None
    value = lines[0].strip() if lines else ""
    if not value:
        raise BadInput(
            _("{where} {path} is empty: write the external ID on its first line.").format(
                where=where, path=path
            )
        )
    return value


def check_role(role_name: str, external_id: str) -> None:
    """Refuse a role name or external ID that AssumeRole would refuse.

    Raises:
        BadInput: naming the option and the rule.
    """
    if not _ROLE_NAME.match(role_name):
        raise BadInput(
            f"--role-name '{role_name}' is not an IAM role name (1-64 characters of letters, "
            "digits and +=,.@_-): fix it."
        )
    if external_id and not _EXTERNAL_ID.match(external_id):
        raise BadInput(
            "--external-id is not a valid external ID (2-1224 characters of letters, digits "
            "and +=,.@:/_-): fix it."
        )


def org_accounts(org: Any) -> list[str]:
    """The ACTIVE accounts of the caller's Organization (``ListAccounts``, every page).

    Raises:
        AwsError: the caller may not list the Organization's accounts, or an ID it returned
            is not 12 digits (named by count, never quoted: it becomes a folder name).
    """
    accounts = aws.items(
        org,
        "list_accounts",
        "Accounts",
        what="Listing the Organization's accounts (organizations:ListAccounts)",
        fix="Run --org with the management account (or a delegated administrator) "
        "credentials, or give the IDs with --accounts.",
    )
    active = [str(a.get("Id", "")) for a in accounts if a.get("Status", "ACTIVE") == "ACTIVE"]
    bad = sum(not is_account_id(a) for a in active)
    if bad:  # each ID becomes a folder name: a hostile endpoint must not pick the path
        raise AwsError(
            _(
                "Organizations ListAccounts returned {count} account ID(s) that are not 12 "
                "digits: check the endpoint is AWS Organizations (nothing ran)."
            ).format(count=bad)
        )
    return active


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    """The ARN of ``role_name`` in ``account_id``."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def account_access(
    sts: Any, account_id: str, caller_account: str, role_name: str, external_id: str = ""
) -> Access:
    """Credentials for one account: none for the caller's own, else ``AssumeRole``.

    Raises:
        AwsError: the role could not be assumed (it does not exist, or does not trust the
            caller); the message names the role and the fix.
    """
    if account_id == caller_account:
        return Access(account_id)
    arn = role_arn(account_id, role_name)
    params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": SESSION_NAME}
    if external_id:
        params["ExternalId"] = external_id
    answer = aws.call(
        sts.assume_role,
        what=f"Assuming {arn} (sts:AssumeRole)",
        fix="Check that the role exists in that account and trusts the caller (and the "
        "external ID), or choose it with --role-name.",
        **params,
    )
    creds = answer["Credentials"]
    keys = ("AccessKeyId", "SecretAccessKey", "SessionToken")
    return Access(account_id, arn, {k: str(creds[k]) for k in keys})
