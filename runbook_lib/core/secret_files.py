"""Secret files on disk: checked before any write, written atomically, never overwritten.

A secret file is made in three moves: a temporary file in the destination's own folder
(``O_EXCL``, mode 0600), its content written and ``fsync``-ed, then a hard link to the final
name (which fails if that name exists: nothing is ever overwritten) and the temporary name
removed. A crash or a full disk leaves either no file or a complete one, never a truncated
one under the final name. Folders the library creates are 0700, whatever the umask. A file
that is there but unusable is moved aside (``NAME.unusable-TIME``), never deleted.

A relative ``secrets_dir`` resolves against the folder ``runbook`` was started in
(``RUNBOOK_START_DIR``), else this process's working folder; a secret file inside a git work
tree is refused unless git ignores it (it would be one ``git add .`` away from a commit).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from runbook_lib.core.environ import START_DIR
from runbook_lib.core.errors import BadInput
from runbook_lib.core.secrets import Secret, default_secrets_dir


def resolve_secrets_dir(secrets_dir: str) -> Path:
    """The folder for secret files as an absolute path.

    Args:
        secrets_dir: the user's choice; empty: ``default_secrets_dir()``. A relative path
            resolves against ``RUNBOOK_START_DIR`` (where ``runbook`` was started), else the
            working folder of this process.

    Returns:
        The absolute folder (it need not exist yet).
    """
    folder = Path(secrets_dir).expanduser() if secrets_dir else default_secrets_dir()
    if not folder.is_absolute():
        folder = Path(os.environ.get(START_DIR) or os.getcwd()) / folder
    return Path(os.path.abspath(folder))


def _work_tree(path: Path) -> Path | None:
    """The git work tree that holds ``path`` (``None``: not inside one)."""
    for folder in path.parents:
        if (folder / ".git").exists():
            return folder
    return None


def check_outside_git(path: Path) -> None:
    """Refuse a secret file inside a git work tree unless git ignores it.

    The path is checked where it really lands: every symlink in it resolved first (a
    ``secrets_dir`` that is a link into a repository is inside that repository), and as
    written.

    Raises:
        BadInput: the file would be inside a work tree and is not git-ignored.
    """
    real = Path(os.path.realpath(path))
    for where in dict.fromkeys((real, Path(os.path.abspath(path)))):
        _check_ignored(where)


def _check_ignored(path: Path) -> None:
    tree = _work_tree(path)
    if tree is None:
        return
    try:
        ignored = (
            subprocess.run(
                ["git", "-C", str(tree), "check-ignore", "-q", "--", str(path)],
                capture_output=True,
                check=False,
                timeout=30,
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        ignored = False
    if not ignored:
        raise BadInput(
            f"Secret file {path} would be inside the git work tree {tree} and git does not "
            "ignore it: choose a secrets_dir outside the repository, or add it to .gitignore."
        )


def check_file_destination(path: Path) -> Path:
    """Check that a secret file can be created at ``path`` before anything else is done.

    Raises:
        BadInput: the file exists, its folder cannot be created or written, or it would be
            inside a git work tree without being git-ignored.
    """
    path = Path(os.path.abspath(path.expanduser()))
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
    check_outside_git(path)
    return path


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (whatever the umask)."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=0o700)
            os.chmod(created, 0o700)  # mkdir's mode is filtered by the umask


def _link_into_place(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: rename, after one more check
        if path.exists() or path.is_symlink():
            raise FileExistsError(path) from None
        os.rename(tmp, path)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_secret_text(path: Path, content: Secret) -> Path:
    """Create ``path`` (mode 0600) holding ``content``, atomically and never overwriting.

    Args:
        path: the file to create (it must not exist).
        content: the whole file text, held as a ``Secret`` so that no frame that can raise
            holds it in plain text.

    Returns:
        The file written.

    Raises:
        BadInput: the file exists, or it cannot be created or written (e.g. a full disk);
            no file is then left under ``path``.
    """
    path = check_file_destination(path)
    make_private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as err:
        raise BadInput(
            f"Cannot create secret file {path} ({err.strerror}): fix secrets_dir."
        ) from None
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, content.text().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        _link_into_place(tmp, path)
    except FileExistsError:
        raise BadInput(
            f"Secret file {path} already exists and is never overwritten: move it away."
        ) from None
    except OSError as err:
        raise BadInput(
            f"Cannot write secret file {path} ({err.strerror}): free space or fix secrets_dir, "
            "then re-run (nothing was left under that name)."
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_folder(path.parent)
    return path


def write_secret_file(path: Path, content: str) -> Path:
    """``write_secret_text`` for text that is not held as a ``Secret`` yet.

    Raises:
        BadInput: the file exists or cannot be created.
    """
    return write_secret_text(path, Secret("secret-file", content))


def set_aside(path: Path) -> Path:
    """Move an unusable secret file out of the way (``NAME.unusable-TIME``); never delete it.

    Returns:
        Where it is now.

    Raises:
        BadInput: it cannot be moved.
    """
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.unusable-{when}")
    try:
        _link_into_place(path, aside)
        path.unlink()
    except OSError as err:
        raise BadInput(
            f"The unusable secret file {path} cannot be moved aside ({err.strerror}): move it "
            "yourself, then re-run."
        ) from None
    return aside


def read_text(path: Path) -> str | None:
    """A secret file's text (``None`` when it is missing or unreadable)."""
    try:
        return path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
