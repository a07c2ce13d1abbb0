"""The key that signs crash-safety markers: only the runbooks' owner holds it.

A marker tag (``core.markers``) is evidence a later run acts on: a verified ``pending`` marker
whose named destination does not hold the secret lets a repair delete a key or reset a
password. Anyone with ``iam:TagUser`` can write a tag, so a marker carries an HMAC-SHA256 under
this key, and a repair trusts only a marker whose MAC checks out.

The key is 32 random bytes (hex) in ``~/.iam-runbooks/marker.key``, created on first use with
mode 0600 in a folder of mode 0700 (created so when missing). Before each use the folder and
the file are checked: owned by this user, not a symlink, no access for group or others;
otherwise the run stops in one line (before any write) naming the fix. The key never leaves the
file and this process; markers written on another machine (another key) are not verifiable
here, by design.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _

KEY_FILE = "marker.key"
_KEY_BYTES = 32
#: how many hex digits of the HMAC a marker carries (128 bits)
MAC_CHARS = 32


def key_folder() -> Path:
    """The folder of the marker key: ``~/.iam-runbooks``."""
    return Path.home() / ".iam-runbooks"


def key_path() -> Path:
    """The marker key file."""
    return key_folder() / KEY_FILE


def _unsafe(path: Path, info: os.stat_result, kind: str) -> None:
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        mode = "700" if kind == "folder" else "600"
        raise BadInput(
            _(
                "The marker key {kind} {path} is not private to you (owner uid {uid}, mode "
                "{mode:o}): make it yours with mode {want} (chown/chmod {want}), or remove it "
                "so a new one is made, then re-run. Nothing was changed."
            ).format(
                kind=kind,
                path=path,
                uid=info.st_uid,
                mode=stat.S_IMODE(info.st_mode),
                want=mode,
            )
        )


def _folder() -> Path:
    folder = key_folder()
    if not folder.exists() and not folder.is_symlink():
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        except OSError as err:
            raise BadInput(
                _("Cannot create {path} ({error}): create it with mode 700, then re-run.").format(
                    path=folder, error=err.strerror
                )
            ) from err
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise BadInput(
            _("{path} is not a folder (a symlink?): make it a folder of mode 700.").format(
                path=folder
            )
        )
    _unsafe(folder, info, "folder")
    return folder


def _create(path: Path) -> None:
    """Publish a new key at ``path`` unless another process did first (never overwrites)."""
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_hex(_KEY_BYTES).encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another run made it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def marker_key() -> bytes:
    """The marker key, created on first use; checked (owner, mode) before each use.

    Raises:
        BadInput: the folder or the file is not private to this user, or not a usable key.
    """
    path = _folder() / KEY_FILE
    if not path.exists() and not path.is_symlink():
        _create(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise BadInput(
            _("Cannot read the marker key {path} ({error}): remove it, then re-run.").format(
                path=path, error=err.strerror
            )
        ) from err
    try:
        info = os.fstat(fd)
        _unsafe(path, info, "file")
        text = os.read(fd, 4096).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise BadInput(
            _("The marker key {path} is not a key: remove it, then re-run.").format(path=path)
        )
    return key


def mac(key: bytes, *parts: str) -> str:
    """The HMAC-SHA256 of ``parts`` (joined unambiguously), as ``MAC_CHARS`` hex digits."""
    data = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:MAC_CHARS]
