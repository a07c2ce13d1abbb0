"""S1 step 8: the console sign-in CSV and the sign-in instructions for a new user.

The CSV has the console's own format (``User name,Password,Console sign-in URL``, CRLF) and is
the only place the password is ever written: a new file, mode 0600, never overwritten. The
instructions are plain text without the password, ready to paste into an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.admin_user.apply import Created
from runbook_lib.admin_user.state import MARKER_KEY
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import from_client_error
from runbook_lib.core.secrets import Secret, csv_text, write_secret_file

CSV_HEADER = ("User name", "Password", "Console sign-in URL")
WAITING_NOTE = (
    "Waiting for Step 7: press Create there. The sign-in CSV is written right after the "
    "changes; where it went and the sign-in instructions are shown under the button."
)
ROOT_ADVICE = (
    "You ran this as the root user: sign out of root now and sign in as {user} at {url}; keep "
    "root for the tasks that require it."
)


def signin_url(account_id: str, alias: str = "") -> str:
    """The console sign-in URL of an account: its alias if it has one, else its ID.

    Args:
        account_id: the 12-digit account ID.
        alias: the account alias (``""`` when none).

    Returns:
        ``https://ALIAS_OR_ID.signin.aws.amazon.com/console``.
    """
    return f"https://{alias or account_id}.signin.aws.amazon.com/console"


def account_alias(iam: Any) -> str:
    """The account's alias, or ``""`` (an account has at most one).

    Raises:
        AwsError: IAM refused ``ListAccountAliases``.
    """
    try:
        aliases = iam.list_account_aliases()["AccountAliases"]
    except ClientError as err:
        raise from_client_error(
            err, "Reading the account alias", "The caller needs iam:ListAccountAliases."
        ) from err
    return str(aliases[0]) if aliases else ""


def shown_path(path: Path) -> str:
    """A path as the operator would type it (``~`` for the home folder)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def csv_path(secrets_dir: Path, account_id: str, user_name: str) -> Path:
    """Where the sign-in CSV of ``user_name`` goes: ``ACCOUNT-USER_credentials.csv``."""
    return secrets_dir / f"{account_id}-{user_name}_credentials.csv"


def write_signin_csv(path: Path, user_name: str, password: Secret, url: str) -> Path:
    """Write the console's sign-in CSV for one user: a new file, mode 0600.

    Args:
        path: the file to create (it must not exist).
        user_name: the IAM user.
        password: the user's console password.
        url: the console sign-in URL.

    Returns:
        The file written.

    Raises:
        BadInput: the file exists, or cannot be created.
    """
    return write_secret_file(path, lambda: csv_text(CSV_HEADER, (user_name, password.text(), url)))


@dataclass(frozen=True)
class SignInInstructions:
    """What a new user needs to sign in, without the password (paste it into an e-mail)."""

    user_name: str
    url: str
    password_reset_required: bool
    delivered_to: str = ""

    @property
    def text(self) -> str:
        """The instructions as plain text."""
        how = (
            f"Your initial password is in the file {Path(self.delivered_to).name}, which your "
            "administrator hands over separately (never by the same e-mail)."
            if self.delivered_to
            else "Use the password your administrator gave you earlier."
        )
        lines = [
            f"Sign in to the AWS console as IAM user {self.user_name}:",
            f"  1. Open {self.url}",
            f"  2. User name: {self.user_name}. {how}",
        ]
        if self.password_reset_required:
            lines.append("  3. AWS asks you to choose a new password at first sign-in.")
        lines.append(
            "Then set up MFA for your user (runbook 03_enable_virtual_mfa, or Security "
            "credentials → Assign MFA device)."
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SignIn:
    """Step 8: where each CSV went, and the instructions to send (without the password)."""

    instructions: tuple[SignInInstructions, ...]
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "\n\n".join([*self.notes, *(repr(i) for i in self.instructions)])


def _remove_marker(ctx: RunContext, name: str) -> None:
    try:
        ctx.iam.untag_user(UserName=name, TagKeys=[MARKER_KEY])
    except ClientError as err:
        raise from_client_error(
            err, f"Removing the delivery tag of {name!r}", "Re-run: the CSV is kept."
        ) from err


def deliver(ctx: RunContext, created: Created) -> SignIn:
    """Step 8: write each new password's sign-in CSV (0600), then remove the delivery tag.

    In a live notebook Step 7's Create button runs this; until then it says that it waits, and
    afterwards it gives what the button delivered (no second write).

    Raises:
        BadInput: a CSV file appeared since Step 7 (it is never overwritten).
        AwsError: IAM refused to remove the tag; a re-run finishes it.
    """
    waiting = created.waiting
    if waiting is not None:  # a live notebook: Step 7's Create button delivers
        if waiting.created is None:
            return SignIn((), (WAITING_NOTE,))
        if waiting.sign_in is None:
            waiting.sign_in = deliver(ctx, waiting.created)
        return waiting.sign_in
    request = created.request
    if not request.console_access:
        return SignIn((), ("console_access is false: no console password, no sign-in CSV.",))
    url = signin_url(ctx.account_id, account_alias(ctx.iam))
    notes: list[str] = []
    delivered: dict[str, str] = {}
    for name, secret in created.passwords.items() if created.applied else ():
        path = csv_path(request.secrets_dir, ctx.account_id, name)
        if not secret.dropped:
            write_signin_csv(path, name, secret, url)
            ctx.record.secret_delivered("console-password", str(path), secret.fingerprint)
            secret.drop()
            _remove_marker(ctx, name)
            ctx.record.change("untag-user", ctx.arn("user", name, request.path))
        delivered[name] = str(path)
        notes.append(f"Sign-in CSV of {name!r}: {shown_path(path)} (mode 0600, the only copy).")
    for name in created.finish if created.applied else ():
        _remove_marker(ctx, name)
        why = "an earlier run wrote the CSV and stopped before removing the delivery tag"
        ctx.record.repair("untag-user", ctx.arn("user", name, request.path), why)
        delivered[name] = str(csv_path(request.secrets_dir, ctx.account_id, name))
        shown = shown_path(Path(delivered[name]))
        notes.append(f"Sign-in CSV of {name!r} (from an earlier run): {shown}.")
    if not created.applied:
        todo = [*created.new_passwords, *created.finish]
        for name in todo:
            delivered[name] = str(csv_path(request.secrets_dir, ctx.account_id, name))
        notes.append(f"Plan mode: would write the sign-in CSV for {', '.join(todo) or 'nobody'}.")
    elif not delivered:
        notes.append("No new password: nothing to write (earlier CSVs are not re-created).")
    if ctx.is_root:
        notes.append(ROOT_ADVICE.format(user=request.users[0].name, url=url))
    reset = request.password_reset_required
    return SignIn(
        tuple(
            SignInInstructions(
                u.name, url, reset and u.name in delivered, delivered.get(u.name, "")
            )
            for u in request.users
        ),
        tuple(notes),
    )
