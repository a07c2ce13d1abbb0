"""Secrets: a value type that never shows itself, and where secret files go by default.

A ``Secret`` prints as kind + fingerprint. Its value leaves the process only through a
destination of ``core.sinks`` (a new 0600 file, AWS Secrets Manager, or the shown-once widget
in ``runbook_lib.widgets``). When the runner started the kernel, each
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
import stat
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from runbook_lib.core import environ, reset
from runbook_lib.core.errors import BadInput

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


def _new_run_key() -> None:
    """A new key for the next run in this kernel: its keyed fingerprints match none of ours."""
    global _RUN_KEY
    _RUN_KEY = os.urandom(32)


reset.on_reset("secrets.run_key", _new_run_key)


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


reset.watch("Secret", Secret)


def trusted_socket_path(path: str) -> bool:
    """Whether ``path`` is a leak-guard socket this user made: a socket owned by this user,
    alone in a folder owned by this user with mode 0700 (no one else can have put it there or
    can reach it), never through a symlink."""
    uid = os.getuid()
    try:
        folder = os.lstat(os.path.dirname(path) or ".")
        sock = os.lstat(path)
    except (OSError, ValueError):
        return False
    return (
        stat.S_ISDIR(folder.st_mode)
        and folder.st_uid == uid
        and stat.S_IMODE(folder.st_mode) & 0o077 == 0
        and stat.S_ISSOCK(sock.st_mode)
        and sock.st_uid == uid
    )


def peer_is_this_user(sock: socket.socket) -> bool:
    """Whether the process at the other end of a connected Unix socket runs as this user
    (``SO_PEERCRED``; where the platform has none, the folder checks stand alone)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # pragma: no cover - not Linux
        return True
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def announce(secret: Secret) -> None:
    """Tell the runner (if any) about a new secret so it can scan artifacts for it.

    The socket comes from the environment (``RUNBOOK_LEAK_SOCKET``), which a kernel may have
    inherited from anyone: nothing is sent unless ``trusted_socket_path`` holds and the
    listening process runs as this user (``peer_is_this_user``).
    """
    path = os.environ.get(LEAK_SOCKET_VAR)
    if not path or secret.dropped or not trusted_socket_path(path):
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            if not peer_is_this_user(sock):
                return
            message = json.dumps({"kind": secret.kind, "forms": secret_forms(secret.reveal())})
            sock.sendall(message.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            sock.recv(16)  # the runner's acknowledgement: it knows the secret before we go on
    except OSError:  # the runner is gone: nothing to protect any more
        return


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
