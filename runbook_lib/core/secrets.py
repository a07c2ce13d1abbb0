"""Secrets: a value type that never shows itself, and the destinations a user may choose.

A ``Secret`` prints as kind + fingerprint. Its value leaves the process only through
``write_secret_file`` (a new file, mode 0600, never overwriting), ``store_in_secrets_manager``,
or the shown-once widget in ``runbook_lib.widgets``. When the runner started the kernel, each
new secret is also announced over a private local socket so the runner can refuse to keep any
artifact that contains it (the value stays in memory there, and is never written).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import json
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from botocore.exceptions import ClientError, ParamValidationError

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput, from_client_error

LEAK_SOCKET_VAR = environ.LEAK_SOCKET
SECRETS_DIR_VAR = environ.SECRETS_DIR


def default_secrets_dir() -> Path:
    """Where secret files go unless the user says otherwise: outside any repository."""
    env = os.environ.get(SECRETS_DIR_VAR)
    return Path(env) if env else Path.home() / ".iam-runbooks" / "secrets"


#: the key of keyed fingerprints: random per process, never written anywhere
_RUN_KEY = os.urandom(32)


def fingerprint(value: str | bytes, *, keyed: bool = False) -> str:
    """A short, non-reversible fingerprint for logs and run records.

    A random secret (a generated password, an access key, a seed) gets a plain SHA-256 prefix:
    it can be matched with its file by anyone who holds both. A value a person chose (a typed
    password) is ``keyed``: an HMAC with a key that lives only in this process, so a record's
    fingerprint cannot be checked against a list of guesses; within one process (one run) the
    same value still gets the same fingerprint.
    """
    data = value.encode() if isinstance(value, str) else value
    if keyed:
        return "hmac:" + hmac.new(_RUN_KEY, data, hashlib.sha256).hexdigest()[:12]
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


def _b64_forms(data: bytes) -> list[str]:
    """Base64 of ``data`` at each of the three byte alignments it can have inside a longer blob
    (only the characters that do not depend on the neighbouring bytes)."""
    forms = [base64.b64encode(data).decode()]
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode().rstrip("=")
        start = 4 if shift else 0
        tail = (shift + len(data)) % 3
        end = len(encoded) - (tail and tail + 1)
        middle = encoded[start:end]
        if len(middle) >= 8:
            forms.append(middle)
    return forms


def _html_forms(text: str) -> list[str]:
    """``text`` escaped by ``html.escape`` (with and without quotes) and by Jinja/MarkupSafe
    (``&#39;`` and ``&#34;``, which nbconvert's templates use)."""
    forms = [html.escape(text, quote=True), html.escape(text, quote=False)]
    forms.append(forms[0].replace("&#x27;", "&#39;").replace("&quot;", "&#34;"))
    return forms


def secret_forms(value: str | bytes) -> list[str]:
    """The text forms in which a value could end up in an artifact (for leak scanning).

    Raw, JSON-escaped, HTML-escaped (both ``html.escape`` variants and MarkupSafe's),
    URL-encoded (``quote`` and ``quote_plus``) and base64 (at every alignment); bytes that are
    not text: base64 only.
    """
    if isinstance(value, bytes):
        forms = _b64_forms(value)
        with contextlib.suppress(UnicodeDecodeError):
            forms.append(value.decode("ascii"))
        return list(dict.fromkeys(forms))
    forms = [value, json.dumps(value)[1:-1], value.replace("/", "\\/")]
    forms += [f for text in list(forms) for f in _html_forms(text)]
    forms += [json.dumps(f)[1:-1] for f in list(forms)]
    forms += [quote(value, safe=""), quote(value), quote_plus(value)]
    forms += _b64_forms(value.encode())
    return list(dict.fromkeys(forms))


class Secret:
    """A secret value whose repr shows its kind and a fingerprint, never the value.

    Args:
        kind: what it is (``password``, ``secret-access-key``, ``mfa-seed``, ``otpauth-uri``,
            ``qr-png``).
        value: the value.
        label: whose it is, e.g. the user name.
        keyed: a value a person chose (a typed password): its fingerprint is keyed with this
            process's random key (see ``fingerprint``).
    """

    __slots__ = ("kind", "label", "_value", "fingerprint")

    def __init__(
        self, kind: str, value: str | bytes, label: str = "", *, keyed: bool = False
    ) -> None:
        self.kind = kind
        self.label = label
        self._value: str | bytes | None = value
        self.fingerprint = fingerprint(value, keyed=keyed)
        announce(self)

    def reveal(self) -> str | bytes:
        """Return the value (only for a sink or a widget).

        Raises:
            BadInput: the value was dropped already.
        """
        if self._value is None:
            raise BadInput(
                f"The {self.kind} {self.fingerprint} was dropped after it was stored; it cannot be "
                "shown again: create a new one."
            )
        return self._value

    def text(self) -> str:
        """The value as text (``reveal`` for str secrets)."""
        value = self.reveal()
        return value if isinstance(value, str) else value.decode()

    @property
    def dropped(self) -> bool:
        """Whether the value was dropped from this process."""
        return self._value is None

    def drop(self) -> None:
        """Forget the value in this process."""
        self._value = None

    def __repr__(self) -> str:
        whose = f" for {self.label}" if self.label else ""
        state = ", dropped" if self._value is None else ""
        return f"<{self.kind}{whose} {self.fingerprint}{state}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def announce(secret: Secret) -> None:
    """Tell the runner (if any) about a new secret so it can scan artifacts for it."""
    path = os.environ.get(LEAK_SOCKET_VAR)
    if not path or secret.dropped:
        return
    message = json.dumps({"kind": secret.kind, "forms": secret_forms(secret.reveal())})
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(message.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            sock.recv(16)  # the runner's acknowledgement: it knows the secret before we go on
    except OSError:  # the runner is gone: nothing to protect any more
        return


def check_file_destination(path: Path) -> Path:
    """Check that a secret file can be created at ``path`` before anything else is done.

    Raises:
        BadInput: the file exists, or its folder cannot be created or written.
    """
    path = path.expanduser()
    if path.exists() or path.is_symlink():
        raise BadInput(
            f"Secret file {path} already exists and is never overwritten: move it somewhere safe "
            "or choose another secrets_dir."
        )
    folder = path.parent
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise BadInput(
            f"Cannot write secret files in {folder} ({probe} is not a writable folder): choose "
            "another secrets_dir."
        )
    return path


class hidden_frames:  # noqa: N801 - used like a function: ``with hidden_frames():``
    """Run a call that carries a secret below this frame (a boto3 call's parameters, a write).

    If it fails, its exception leaves here with its traceback cut at this point and with no
    chained cause or context, so IPython's ``%xmode Verbose`` (which prints every frame's
    locals, botocore's ``api_params`` and request body among them) cannot print the secret.
    The caller's own frame must hold the secret only inside a ``Secret``.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: BaseException | None, tb: Any) -> None:
        if isinstance(err, Exception):
            raise err.with_traceback(None) from None


def write_secret_file(path: Path, content: str | Callable[[], str]) -> Path:
    """Create ``path`` exclusively with mode 0600 and write ``content`` into it.

    Pass a function that builds the text (``lambda: csv_text(...)``): the text then exists only
    while it is written, never in a local of a frame that can raise (a full disk fails at the
    write, and ``%xmode Verbose`` prints every local of the traceback).

    Raises:
        BadInput: the file exists or cannot be created.
        OSError: the write failed (e.g. no space left); the traceback holds no secret text.
    """
    path = check_file_destination(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as err:
        raise BadInput(
            f"Secret file {path} already exists and is never overwritten: move it away."
        ) from err
    except OSError as err:
        raise BadInput(
            f"Cannot create secret file {path} ({err.strerror}): fix secrets_dir."
        ) from err
    with hidden_frames(), os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(content() if callable(content) else content)
    return path


def csv_text(header: Iterable[str], row: Iterable[str]) -> str:
    """One header line and one row, as the IAM console writes them (CRLF, quoted if needed)."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(header))
    writer.writerow(list(row))
    return buf.getvalue()


def store_in_secrets_manager(
    sm: Any,
    name: str,
    payload: dict[str, str] | Callable[[], dict[str, str]],
    description: str,
) -> str:
    """Store ``payload`` as JSON in AWS Secrets Manager under ``name``; returns the secret ARN.

    A new secret is created; an existing one gets a new current version. Pass a function that
    builds the payload: the JSON then exists only inside the call, whose failure leaves it
    through ``hidden_frames`` (no secret in a verbose traceback).

    Raises:
        BadInput: botocore refused the name before sending anything (empty, too long).
        AwsError: Secrets Manager refused.
    """

    def body() -> str:
        return json.dumps(payload() if callable(payload) else payload)

    try:
        try:
            with hidden_frames():
                resp = sm.create_secret(Name=name, SecretString=body(), Description=description)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise
            with hidden_frames():
                resp = sm.put_secret_value(SecretId=name, SecretString=body())
    except ParamValidationError:  # its report may quote values: never repeat it
        raise BadInput(
            f"Secrets Manager cannot take a secret named '{name}': use 1–512 characters of "
            "letters, digits and /_+=.@- (nothing was stored)."
        ) from None
    except ClientError as err:
        raise from_client_error(
            err,
            f"Storing the secret in Secrets Manager as '{name}'",
            "Check the caller may call secretsmanager:CreateSecret/PutSecretValue on it.",
        ) from err
    return str(resp["ARN"])
