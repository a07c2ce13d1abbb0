"""S1 step 8: the console sign-in CSV and the sign-in instructions for a new user.

The CSV has the console's own format (``User name,Password,Console sign-in URL``, CRLF) and is
the only place the password is ever written: a new file, mode 0600, never overwritten. The
instructions are plain text without the password, ready to paste into an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.admin_user.outcome import Created, SignIn, SignInInstructions, Waiting
from runbook_lib.admin_user.state import MARKER_KEY
from runbook_lib.core import aws, markers, sinks
from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.layouts import Layout
from runbook_lib.core.secret_files import set_aside
from runbook_lib.core.secrets import Secret
from runbook_lib.widgets.live import LiveRepr

CSV_HEADER = ("User name", "Password", "Console sign-in URL")
SECRET_KIND = "console-password"
SIGNIN_LAYOUT = Layout(SECRET_KIND, CSV_HEADER, "Password")
WAITING_NOTE = N_(
    "Waiting for Step 7: press Create there. The sign-in CSV is written right after the "
    "changes; where it went and the sign-in instructions are shown under the button."
)
ROOT_ADVICE = N_(
    "You ran this as the root user: sign out of root now and sign in as {user} at {url}; keep "
    "root for the tasks that require it."
)
_WROTE = N_("Sign-in CSV of {name!r}: {path} (mode 0600, the only copy).")
_EARLIER = N_("Sign-in CSV of {name!r} (from an earlier run): {path}.")
_WOULD = N_("Plan mode: would write the sign-in CSV for {names}.")
_NO_CONSOLE = N_("console_access is false: no console password, no sign-in CSV.")


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
    aliases = aws.call(
        iam.list_account_aliases,
        what="Reading the account alias",
        fix="The caller needs iam:ListAccountAliases.",
    )["AccountAliases"]
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


def signin_destination(path: Path) -> sinks.Destination:
    """The sign-in CSV as a ``core.sinks`` file destination."""
    return sinks.Destination("file", str(path), SIGNIN_LAYOUT)


def csv_delivered(path: Path, user_name: str) -> bool:
    """Whether the sign-in CSV at ``path`` holds a row for ``user_name`` with a password."""
    return sinks.has_usable_row(None, signin_destination(path), {"User name": user_name})


def set_aside_unusable(path: Path, user_name: str) -> Path | None:
    """Move a sign-in CSV that exists but holds no usable row aside (never deleted).

    Returns:
        Where it went, or ``None`` when there was nothing to move.

    Raises:
        BadInput: it cannot be moved.
    """
    if not (path.exists() or path.is_symlink()) or csv_delivered(path, user_name):
        return None
    return set_aside(path)


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
    row: dict[str, str | Secret] = {
        "User name": user_name,
        "Password": password,
        "Console sign-in URL": url,
    }
    return Path(sinks.write(None, signin_destination(path), row))


def _remove_marker(ctx: RunContext, name: str) -> None:
    what = f"Removing the delivery tag of {name!r}"
    markers.clear_marker(ctx, name, MARKER_KEY, what=what, fix=_("Re-run: the CSV is kept."))


@dataclass(frozen=True, repr=False)  # keeps the parent\'s repr
class LiveSignIn(LiveRepr, SignIn):
    """Step 8 in a live notebook before Create: the waiting note, replaced in place by what
    Create delivered (``widgets.live``)."""

    waiting: Waiting | None = field(default=None, repr=False, compare=False)

    @property
    def live_key(self) -> str:
        """Step 8's line."""
        return "S1.8"

    def live_text(self) -> str:
        """The waiting note, or the delivery Create made."""
        done = self.waiting.sign_in if self.waiting is not None else None
        return repr(self) if done is None else repr(done)


def deliver_sign_in(ctx: RunContext, created: Created) -> SignIn:
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
            return LiveSignIn((), (_(WAITING_NOTE),), waiting)
        if waiting.sign_in is None:
            waiting.sign_in = deliver_sign_in(ctx, waiting.created)
        return waiting.sign_in
    request = created.request
    if not request.console_access:
        return SignIn((), (_(_NO_CONSOLE),))
    url = signin_url(ctx.account_id, account_alias(ctx.iam))
    notes: list[str] = []
    delivered: dict[str, str] = {}
    for name, secret in created.passwords.items() if created.applied else ():
        path = csv_path(request.secrets_dir, ctx.account_id, name)
        if not secret.dropped:
            write_signin_csv(path, name, secret, url)
            ctx.record.secret_delivered(SECRET_KIND, f"file: {path}", secret.fingerprint)
            secret.drop()
            _remove_marker(ctx, name)
            ctx.record.change("untag-user", ctx.arn("user", name, request.path))
        delivered[name] = str(path)
        notes.append(_(_WROTE).format(name=name, path=shown_path(path)))
    for name in created.finish if created.applied else ():
        _remove_marker(ctx, name)
        why = "an earlier run wrote the CSV and stopped before removing the delivery tag"
        ctx.record.repair("untag-user", ctx.arn("user", name, request.path), why)
        delivered[name] = str(csv_path(request.secrets_dir, ctx.account_id, name))
        notes.append(_(_EARLIER).format(name=name, path=shown_path(Path(delivered[name]))))
    if not created.applied:
        todo = [*created.new_passwords, *created.finish]
        for name in todo:
            delivered[name] = str(csv_path(request.secrets_dir, ctx.account_id, name))
        notes.append(_(_WOULD).format(names=", ".join(todo) or _("nobody")))
    elif not delivered:
        notes.append(_("No new password: nothing to write (earlier CSVs are not re-created)."))
    if ctx.is_root:
        notes.append(_(ROOT_ADVICE).format(user=request.users[0].name, url=url))
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
