"""Leak guard: the runner's side of the secret announcement channel, and artifact scanning.

A kernel started by the runner announces each new secret over a Unix socket in a private
folder (mode 0700). The runner keeps the values in memory only, scans every artifact it wrote
for them, and refuses to keep an artifact that contains one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.core.secrets import LEAK_SOCKET_VAR, peer_is_this_user
from runbook_lib.run.kernels import temp_folder


@dataclass(frozen=True)
class Hit:
    """A secret found in an artifact (kind and file only: never the value)."""

    path: str
    kind: str

    def __repr__(self) -> str:
        return f"{self.kind} in {self.path}"


@dataclass
class LeakGuard:
    """Listens for secrets announced by kernels this process started."""

    _forms: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _dir: str = ""
    _sock: socket.socket | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> str:
        """Where kernels connect (``RUNBOOK_LEAK_SOCKET``)."""
        return os.path.join(self._dir, "leak.sock")

    def start(self) -> LeakGuard:
        """Open the socket in a fresh private folder (0700, this user's: the only kind a
        kernel announces to, see ``core.secrets.announce``) and start listening."""
        self._dir = str(temp_folder("runbook-guard-"))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        self._sock.listen(16)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="leak-guard")
        self._thread.start()
        return self

    def _serve(self) -> None:
        sock = self._sock  # ``stop`` may drop the attribute while this thread waits in accept
        assert sock is not None
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                if not peer_is_this_user(conn):  # only this user's kernels announce
                    continue
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                for line in data.splitlines():
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        continue
                    forms = [str(f) for f in msg.get("forms", [])]
                    self.add(str(msg.get("kind", "secret")), forms)
                conn.sendall(b"ok")  # the kernel waits for this: no race with the scan

    def add(self, kind: str, forms: list[str]) -> None:
        """Remember the text forms of a secret (also used by in-process callers)."""
        self._forms.extend((kind, f) for f in forms if len(f) >= 6)

    def environ(self) -> dict[str, str]:
        """The variable a kernel needs to announce its secrets here."""
        return {LEAK_SOCKET_VAR: self.socket_path}

    @property
    def values(self) -> list[str]:
        """The secret forms seen so far (for tests that scan their own artifacts)."""
        return [f for _, f in self._forms]

    @property
    def count(self) -> int:
        """How many secret forms were announced."""
        return len(self._forms)

    def scan_text(self, text: str, where: str) -> list[Hit]:
        """The secrets that occur in ``text``."""
        kinds = sorted({kind for kind, form in self._forms if form in text})
        return [Hit(where, kind) for kind in kinds]

    def scan(self, paths: list[Path]) -> list[Hit]:
        """The secrets that occur in any of ``paths`` (missing files are skipped)."""
        hits: list[Hit] = []
        for path in paths:
            if path.is_file():
                hits += self.scan_text(path.read_text("utf-8", errors="replace"), str(path))
        return hits

    def redact(self, text: str) -> str:
        """``text`` with every known secret form replaced by a marker (for streamed logs)."""
        for kind, form in self._forms:
            if form in text:
                text = text.replace(form, f"[{kind} redacted]")
        return text

    def stop(self) -> None:
        """Close the socket and forget every value."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._forms.clear()
        try:
            os.unlink(self.socket_path)
            os.rmdir(self._dir)
        except OSError:
            pass


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the guard's known secrets from every record."""

    def __init__(self, guard: LeakGuard) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.guard.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
