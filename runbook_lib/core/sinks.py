"""Where a new access key's secret goes: a 0600 CSV, AWS Secrets Manager, or a shown-once widget.

The destination is resolved and checked before any AWS write (an existing CSV or an unwritable
folder is bad input). After delivery the secret can be read back from the destination, which is
how Verify and the rotation proof know that the *delivered* secret works, and how a re-run
recognises a key whose secret an earlier, unfinished run had already delivered.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, from_client_error
from runbook_lib.core.secrets import (
    Secret,
    check_file_destination,
    csv_text,
    default_secrets_dir,
    store_in_secrets_manager,
    write_secret_file,
)
from runbook_lib.core.validation import validate_choice

DESTINATIONS = ("file", "secretsmanager", "widget")
#: the console's ``Access key ID,Secret access key`` plus the column ``aws configure import`` needs
CSV_HEADER = ("User name", "Access key ID", "Secret access key")
SECRET_KIND = "secret-access-key"
_SM_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")


@dataclass(frozen=True)
class Destination:
    """A resolved, checked destination for one user's new access key."""

    kind: str
    user_name: str
    path: Path | None = None
    secret_name: str = ""

    def describe(self) -> str:
        """Where the secret goes, in operator words."""
        if self.kind == "file":
            return f"CSV file {self.path} (mode 0600)"
        if self.kind == "secretsmanager":
            return f"Secrets Manager secret '{self.secret_name}'"
        return "the shown-once widget (you copy it into your password manager)"

    @property
    def folder(self) -> Path:
        """The folder of CSV files (file destinations only)."""
        assert self.path is not None
        return self.path.parent


def csv_file_name(user_name: str, mode: str, stamp: str) -> str:
    """The CSV's name: the console's ``<user>_accessKeys.csv``; a rotation adds the UTC date."""
    return (
        f"{user_name}_accessKeys.csv" if mode == "create" else f"{user_name}_accessKeys_{stamp}.csv"
    )


def resolve_destination(
    kind: str,
    user_name: str,
    *,
    mode: str,
    secrets_dir: str,
    secret_name: str,
    interactive: bool,
    stamp: str,
) -> Destination:
    """Validate the delivery parameters (no AWS call, no file written).

    Args:
        kind: ``file``, ``secretsmanager`` or ``widget``.
        user_name: whose key it is.
        mode: ``create`` or ``rotate``.
        secrets_dir: the CSV folder (empty: ``default_secrets_dir()``).
        secret_name: the Secrets Manager name (empty: ``iam-runbooks/<user>/access-key``).
        interactive: a person is at the keyboard.
        stamp: the UTC date used in a rotation's CSV name (``YYYYMMDD``).

    Returns:
        The destination.

    Raises:
        BadInput: unknown kind, a widget in a headless run or for a rotation, a bad secret name.
    """
    validate_choice(kind, DESTINATIONS, "destination")
    if kind == "widget" and not interactive:
        raise BadInput(
            "destination 'widget' needs a person at a live notebook, but this run is headless: "
            "use destination file or secretsmanager."
        )
    if kind == "widget" and mode == "rotate":
        raise BadInput(
            "mode 'rotate' needs a destination it can read the new key back from before the old "
            "key is switched off: use destination file or secretsmanager."
        )
    if kind == "file":
        folder = Path(secrets_dir).expanduser() if secrets_dir else default_secrets_dir()
        return Destination(kind, user_name, path=folder / csv_file_name(user_name, mode, stamp))
    if kind == "secretsmanager":
        name = secret_name or f"iam-runbooks/{user_name}/access-key"
        if not _SM_NAME_RE.fullmatch(name):
            raise BadInput(
                f"secret_name {name!r} is not a valid Secrets Manager name: use 1-512 letters, "
                "digits and / _ + = . @ -."
            )
        return Destination(kind, user_name, secret_name=name)
    return Destination(kind, user_name)


def check_destination(dest: Destination) -> None:
    """Check, before any AWS write, that the secret can be delivered.

    Raises:
        BadInput: the CSV exists already or its folder is not writable.
    """
    if dest.kind == "file":
        assert dest.path is not None
        check_file_destination(dest.path)


def key_csv(user_name: str, key_id: str, secret: Secret) -> str:
    """The CSV text for one key (``aws configure import --csv`` reads it; profile = user name)."""
    return csv_text(CSV_HEADER, (user_name, key_id, secret.text()))


def deliver(ctx: RunContext, dest: Destination, key_id: str, secret: Secret) -> str:
    """Put the secret at its destination and record where it went (never the value).

    Returns:
        Where it went, in operator words (``widget``: the person stores it).

    Raises:
        BadInput: the CSV cannot be created.
        AwsError: Secrets Manager refused.
    """
    if dest.kind == "file":
        assert dest.path is not None
        write_secret_file(dest.path, lambda: key_csv(dest.user_name, key_id, secret))
        where = str(dest.path)
    elif dest.kind == "secretsmanager":
        where = store_in_secrets_manager(
            ctx.client("secretsmanager"),
            dest.secret_name,
            lambda: {
                "AccessKeyId": key_id,
                "SecretAccessKey": secret.text(),
                "UserName": dest.user_name,
            },
            f"Access key of IAM user {dest.user_name} (iam-runbooks)",
        )
        ctx.record.change("store-secret", where)
    else:
        return "the shown-once widget"
    ctx.record.secret_delivered(SECRET_KIND, f"{dest.kind}: {where}", secret.fingerprint)
    return where


def _rows_of(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text("utf-8-sig")
    except OSError:
        return []
    return [
        {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        for row in csv.DictReader(io.StringIO(text))
    ]


def read_back(ctx: RunContext, dest: Destination, key_id: str) -> Secret | None:
    """The secret of ``key_id`` as stored at the destination, or ``None`` if it is not there.

    For a file destination every ``<user>_accessKeys*.csv`` in the folder is searched (a
    rotation's file carries a date). A widget destination cannot be read back.

    Raises:
        AwsError: Secrets Manager refused the read (other than "no such secret").
    """
    if dest.kind == "file":
        for path in sorted(dest.folder.glob(f"{dest.user_name}_accessKeys*.csv")):
            for row in _rows_of(path):
                if row.get("access key id") == key_id and row.get("secret access key"):
                    return Secret(SECRET_KIND, row["secret access key"], dest.user_name)
        return None
    if dest.kind == "secretsmanager":
        try:
            body = ctx.client("secretsmanager").get_secret_value(SecretId=dest.secret_name)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise from_client_error(
                err,
                f"Reading Secrets Manager secret '{dest.secret_name}'",
                "The caller needs secretsmanager:GetSecretValue on it.",
            ) from err
        try:
            data = json.loads(body.get("SecretString") or "{}")
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("AccessKeyId") == key_id:
            return Secret(SECRET_KIND, str(data.get("SecretAccessKey", "")), dest.user_name)
        return None
    return None
