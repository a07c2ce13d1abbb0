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
import json
import os
import socket
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput

LEAK_SOCKET_VAR = environ.LEAK_SOCKET
SECRETS_DIR_VAR = environ.SECRETS_DIR


def default_secrets_dir() -> Path:
    """Where secret files go unless the user says otherwise: outside any repository."""
    env = os.environ.get(SECRETS_DIR_VAR)
    return Path(env) if env else Path.home() / ".iam-runbooks" / "secrets"


def fingerprint(value: str | bytes) -> str:
    """A short, non-reversible fingerprint for logs and run records."""
    data = value.encode() if isinstance(value, str) else value
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


def secret_forms(value: str | bytes) -> list[str]:
    """The text forms in which a value could end up in an artifact (for leak scanning)."""
    if isinstance(value, bytes):
        forms = [base64.b64encode(value).decode()]
        with contextlib.suppress(UnicodeDecodeError):
            forms.append(value.decode("ascii"))
        return forms
    forms = [value]
    escaped = json.dumps(value)[1:-1]
    if escaped != value:
        forms.append(escaped)
    return forms


class Secret:
    """A secret value whose repr shows its kind and a fingerprint, never the value.

    Args:
        kind: what it is (``password``, ``secret-access-key``, ``mfa-seed``, ``otpauth-uri``,
            ``qr-png``).
        value: the value.
        label: whose it is, e.g. the user name.
    """

    __slots__ = ("kind", "label", "_value", "fingerprint")

    def __init__(self, kind: str, value: str | bytes, label: str = "") -> None:
        self.kind = kind
        self.label = label
        self._value: str | bytes | None = value
        self.fingerprint = fingerprint(value)
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
