"""Where a new access key's secret goes: a 0600 CSV, AWS Secrets Manager, or a shown-once widget.

The destination is resolved and checked before any AWS write (an existing CSV or an unwritable
folder is bad input). After delivery the secret can be read back from the destination, which is
how Verify and the rotation proof know that the *delivered* secret works, and how a re-run
recognises a key whose secret an earlier, unfinished run had already delivered. The writing and
reading is ``core.sinks``'s; this module knows S2's names and layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core import sinks
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.layouts import Layout
from runbook_lib.core.secret_files import resolve_secrets_dir
from runbook_lib.core.secrets import Secret
from runbook_lib.core.validation import validate_choice

DESTINATIONS = ("file", "secretsmanager", "widget")
#: the console's ``Access key ID,Secret access key`` plus the column ``aws configure import`` needs
CSV_HEADER = ("User name", "Access key ID", "Secret access key")
SECRET_KIND = "secret-access-key"
KEY_LAYOUT = Layout(
    SECRET_KIND,
    CSV_HEADER,
    "Secret access key",
    json_names={
        "User name": "UserName",
        "Access key ID": "AccessKeyId",
        "Secret access key": "SecretAccessKey",
    },
)


@dataclass(frozen=True)
class Destination:
    """A resolved, checked destination for one user's new access key."""

    kind: str
    user_name: str
    path: Path | None = None
    secret_name: str = ""
    account_id: str = ""

    @property
    def file_prefix(self) -> str:
        """How this user's key files begin: ``ACCOUNT-USER_accessKeys`` (as S1's sign-in CSV,
        ``ACCOUNT-USER_credentials.csv``, names its account)."""
        account = f"{self.account_id}-" if self.account_id else ""
        return f"{account}{self.user_name}_accessKeys"

    def describe(self) -> str:
        """Where the secret goes, in operator words."""
        if self.kind == "file":
            return _("CSV file {path} (mode 0600)").format(path=self.path)
        if self.kind == "secretsmanager":
            return _("Secrets Manager secret '{name}'").format(name=self.secret_name)
        return "the shown-once widget (you copy it into your password manager)"

    @property
    def sink(self) -> sinks.Destination:
        """The destination as ``core.sinks`` handles it."""
        location = str(self.path) if self.kind == "file" else self.secret_name
        return sinks.Destination(
            self.kind,
            location,
            KEY_LAYOUT,
            search=f"{self.file_prefix}*.csv",
            description=f"Access key of IAM user {self.user_name} (iam-runbooks)",
        )


def csv_file_name(account_id: str, user_name: str, mode: str, stamp: str) -> str:
    """The CSV's name: the console's ``<user>_accessKeys.csv`` after the account ID (as S1's
    sign-in CSV has it); a rotation adds the UTC date."""
    stem = Destination("file", user_name, account_id=account_id).file_prefix
    return f"{stem}.csv" if mode == "create" else f"{stem}_{stamp}.csv"


def resolve_destination(
    kind: str,
    user_name: str,
    *,
    account_id: str,
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
        account_id: the account (a CSV's name begins with it).
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
    if kind == "widget" and mode == "rotate" and interactive:
        raise BadInput(
            "mode 'rotate' needs a destination it can read the new key back from before the old "
            "key is switched off: use destination file or secretsmanager."
        )
    if kind == "file":
        folder = resolve_secrets_dir(secrets_dir)
        name = csv_file_name(account_id, user_name, mode, stamp)
        dest = Destination(kind, user_name, path=folder / name, account_id=account_id)
    elif kind == "secretsmanager":
        dest = Destination(
            kind, user_name, secret_name=secret_name or f"iam-runbooks/{user_name}/access-key"
        )
    else:
        dest = Destination(kind, user_name)
    if kind != "file":  # a file is checked later, once it is known that a key will be made
        sinks.check(dest.sink, interactive=interactive)
    return dest


def check_destination(dest: Destination, ctx: RunContext | None = None) -> None:
    """Check, before any AWS write, that the secret can be delivered.

    Args:
        dest: the destination.
        ctx: the run context: a Secrets Manager secret is read too (one of another kind, or
            an untagged one holding something else, is refused).

    Raises:
        BadInput: the CSV exists already or its folder is not writable; the secret holds
            another kind of secret.
    """
    if dest.kind == "file":
        sinks.check(dest.sink)
    elif dest.kind == "secretsmanager" and ctx is not None:
        sinks.check(dest.sink, ctx=ctx)


def unusable_file(dest: Destination) -> bool:
    """Whether the CSV exists but holds no usable row (empty, cut short by a full disk)."""
    return dest.kind == "file" and sinks.unusable_file(
        sinks.Destination("file", str(dest.path), KEY_LAYOUT)
    )


def deliver(ctx: RunContext, dest: Destination, key_id: str, secret: Secret) -> str:
    """Put the secret at its destination and record where it went (never the value).

    Returns:
        Where it went, in operator words (``widget``: the person stores it).

    Raises:
        BadInput: the CSV cannot be created.
        AwsError: Secrets Manager refused.
    """
    if dest.kind == "widget":
        return "the shown-once widget"
    row: dict[str, str | Secret] = {
        "User name": dest.user_name,
        "Access key ID": key_id,
        "Secret access key": secret,
    }
    where = sinks.write(ctx, dest.sink, row)
    if dest.kind == "secretsmanager":
        ctx.record.change("store-secret", where)
    ctx.record.secret_delivered(SECRET_KIND, f"{dest.kind}: {where}", secret.fingerprint)
    return where


def read_back(ctx: RunContext, dest: Destination, key_id: str) -> Secret | None:
    """The secret of ``key_id`` as stored at the destination, or ``None`` if it is not there.

    For a file destination every ``<user>_accessKeys*.csv`` in the folder is searched (a
    rotation's file carries a date). A widget destination cannot be read back.

    Raises:
        AwsError: Secrets Manager refused the read (other than "no such secret").
    """
    return sinks.read_back(ctx, dest.sink, {"Access key ID": key_id}, label=dest.user_name)
