"""The one place that builds a kernel's environment, and the kernel manager that starts it.

Every kernel this package starts (``runbook run``, ``runbook refresh``, the Lab and Voilà
servers' kernels, the tests through the runner) gets its environment from ``kernel_environ``:
the headless flag, the run record, the sandbox (real credentials removed), the folder for
secret files and the leak guard's socket, all named in ``runbook_lib.core.environ``. The
environment is handed to the kernel process itself: the host's ``os.environ`` is never changed.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import secrets as stdlib_secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import apply_sandbox_environ
from runbook_lib.core.secrets import default_secrets_dir

#: one folder of throw-away sandbox secrets per host process: the next sandbox repeats the same
#: names (seeded), so a second ``runbook run`` never meets the first one's files
SANDBOX_SESSION = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}"


def sandbox_secrets_dir() -> Path:
    """This process's folder for the sandbox's throw-away secrets (never the real default)."""
    return default_secrets_dir() / "sandbox" / SANDBOX_SESSION


def kernel_environ(
    *,
    base: Mapping[str, str] | None = None,
    headless: bool = True,
    sandbox_url: str = "",
    record_path: Path | str = "",
    secrets_dir: Path | str = "",
    leak_environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a kernel (or of a server whose kernels a person drives).

    Args:
        base: the environment to start from (default: this process's).
        headless: no person at the keyboard (``RUNBOOK_HEADLESS=1``); ``False`` removes it.
        sandbox_url: point the kernel at this sandbox: real credentials are removed, and secret
            files go to ``sandbox_secrets_dir()`` unless ``secrets_dir`` or the base names one.
        record_path: where the kernel saves its run record (``RUNBOOK_RECORD``).
        secrets_dir: the folder for secret files (``RUNBOOK_SECRETS_DIR``).
        leak_environ: the leak guard's variables (``LeakGuard.environ()``).

    The kernel also learns the folder this process runs in (``RUNBOOK_START_DIR``), unless
    ``base`` names one already.

    Returns:
        A new mapping; ``base`` and ``os.environ`` are left as they were.
    """
    env = dict(os.environ if base is None else base)
    # a leak socket is the runner's own (``leak_environ``), never one this process inherited
    env.pop(environ.LEAK_SOCKET, None)
    # the fan-out's external ID is the runner's (it assumes the roles); no kernel needs it
    env.pop(environ.EXTERNAL_ID, None)
    if headless:
        env[environ.HEADLESS] = "1"
    else:
        env.pop(environ.HEADLESS, None)
    if sandbox_url:
        apply_sandbox_environ(sandbox_url, env)
        env.setdefault(environ.SECRETS_DIR, str(sandbox_secrets_dir()))
    if secrets_dir:
        env[environ.SECRETS_DIR] = str(secrets_dir)
    if record_path:
        env[environ.RECORD] = str(record_path)
    # a relative secrets_dir means "relative to where runbook was started", not the kernel's
    # folder (papermill starts kernels in the notebook's folder)
    env.setdefault(environ.START_DIR, os.getcwd())
    env.update(leak_environ or {})
    return env


log = logging.getLogger("runbook")

#: the folders and files of this package in ``$TMPDIR``; each name holds the pid that made it,
#: so the next run can tell a killed run's leftovers from a live run's
KERNELS_PREFIX = "runbook-kernels-"
TEMP_PREFIXES = ("runbook-guard-", "runbook-reset-", KERNELS_PREFIX)
_PID_NAME = re.compile(r"^(?:runbook-(?:guard|reset|kernels-\d+)-|kernel-)(\d+)-")
_fallback: list[Path] = []
#: the kernel every notebook runs on (``engine.KERNEL_NAME``): this interpreter's ipykernel
NATIVE_KERNEL = "python3"
#: how a headless kernel starts: ``python -m ipykernel_launcher``, without the debugger
#: (ipykernel imports debugpy and pydevd at start when they are installed, ≈ 0.13 s of CPU per
#: kernel, for a debugger no headless run can attach to)
KERNEL_BOOT = (
    "import sys; sys.path[:1] = [] if sys.path[:1] == [''] else sys.path[:1]; "
    "sys.modules['debugpy'] = None; "
    # the collector is off while the kernel and the first cells import (core/gcdefer.py);
    # preflight() (or the pool's warm imports) turns it back on
    "from runbook_lib.core import gcdefer; gcdefer.defer(); "
    "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
)
#: kernel arguments: IPython keeps its input history in memory only (reset between runs)
NO_HISTORY = ("--HistoryManager.enabled=False",)


def folder_problem(folder: Path) -> str:
    """Why ``folder`` is not a private folder of this user (``""``: it is one): it must be a
    real folder (no symlink), owned by this user, with no access for group or others."""
    try:
        info = os.lstat(folder)
    except OSError as err:
        return err.strerror or type(err).__name__
    if stat.S_ISLNK(info.st_mode):
        return "a symlink"
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    if info.st_uid != os.getuid():
        return f"owned by uid {info.st_uid}"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"mode {stat.S_IMODE(info.st_mode):04o}"
    return ""


def temp_folder(prefix: str) -> Path:
    """A new private folder (0700) in ``$TMPDIR`` whose name carries this process's id."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    os.chmod(folder, 0o700)
    return folder


def socket_folder() -> Path:
    """The folder of the kernels' IPC sockets and connection files: ``$TMPDIR/runbook-kernels-
    UID``, made 0700 by this user. One that someone else made, or left open (0777), or that is
    a symlink, is never used: this process then makes a private folder of its own (removed
    when it exits)."""
    folder = Path(tempfile.gettempdir()) / f"{KERNELS_PREFIX}{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    problem = folder_problem(folder)
    if not problem:
        return folder
    if not _fallback:
        own = temp_folder(f"{KERNELS_PREFIX}{os.getuid()}-")
        atexit.register(shutil.rmtree, own, ignore_errors=True)
        _fallback.append(own)
        log.warning(
            _(
                "runbook: {folder} is not a private folder of this user ({problem}): kernels use "
                "{own} instead; remove {folder} if you did not make it."
            ).format(folder=folder, problem=problem, own=own)
        )
    return _fallback[0]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return pid > 0


def _leftover(entry: Path, uid: int) -> bool:
    """Whether ``entry`` was made by a process of this user that is gone."""
    match = _PID_NAME.match(entry.name)
    if not match or int(match.group(1)) == os.getpid():
        return False
    try:
        owner = os.lstat(entry).st_uid
    except OSError:
        return False
    return owner == uid and not _pid_alive(int(match.group(1)))


def clean_leftovers() -> list[Path]:
    """Remove what killed runs of this user left behind: ``runbook-guard-*``, ``runbook-reset-*``
    and fallback kernel folders in ``$TMPDIR``, and kernel sockets and connection files in the
    kernels' folder, each only when the process named in it is gone and this user owns it.

    Returns:
        What was removed.
    """
    uid, removed = os.getuid(), []
    temp = Path(tempfile.gettempdir())
    places = [temp]
    kernels = temp / f"{KERNELS_PREFIX}{uid}"
    if not folder_problem(kernels):
        places.append(kernels)
    for place in places:
        with contextlib.suppress(OSError):
            for entry in place.iterdir():
                if place == temp and not entry.name.startswith(TEMP_PREFIXES):
                    continue
                if not _leftover(entry, uid):
                    continue
                if stat.S_ISDIR(os.lstat(entry).st_mode):
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                removed.append(entry)
    return removed


def ipc_kernel_manager(
    kernel_log: Path | None = None, env: Mapping[str, str] | None = None
) -> type:
    """A kernel manager on Unix-socket (IPC) transport: local-only, and without ipykernel's
    "running over TCP without encryption" warning on every run.

    Args:
        kernel_log: where the kernel process's own stderr goes (its start-up and shut-down
            chatter, e.g. "KeyboardInterrupt caught in kernel"); cell output is not in it.
            ``None``: discarded.
        env: the kernel's environment (from ``kernel_environ``); ``None``: this process's.
    """
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    kernel_env = dict(env) if env is not None else None

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            # its wait_for_ready has no fixed 0.2 s at the end (ready_client.py)
            kwargs.setdefault("client_class", "runbook_lib.run.ready_client.ReadyKernelClient")
            super().__init__(transport="ipc", **kwargs)
            if self.kernel_name == NATIVE_KERNEL:  # no kernel-spec discovery (it imports
                # IPython and ipykernel in this process, ≈ 0.1 s of CPU per command): the
                # native kernel of this interpreter, the one that has runbook_lib installed,
                # started by KERNEL_BOOT
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-c", KERNEL_BOOT, "-f", "{connection_file}"],
                    display_name="Python 3 (ipykernel)",
                    language="python",
                    metadata={"debugger": True},
                )
            # absolute paths in a private folder, named by this process (``clean_leftovers``):
            # the kernel may start in another working directory
            name = f"kernel-{os.getpid()}-{stdlib_secrets.token_hex(6)}"
            self.ip = str(socket_folder() / name)
            self.connection_file = str(socket_folder() / f"{name}.json")

        async def shutdown_kernel(  # type: ignore[override]
            self, now: bool = False, restart: bool = False
        ) -> None:
            """Stop the kernel at once (``now`` is always true here).

            When a headless kernel is shut down its cells are done: their output is in the
            notebook, their record, deliveries and leak-guard announcements were written
            synchronously by the cells, and nothing of this package runs at a kernel's exit.
            The graceful path (shutdown_request, then wait) cost the kernel's teardown, and
            ipykernel 7 sometimes answers shutdown_request without exiting: the manager then
            waited 2.5 s before SIGTERM (one run in three). jupyter_client still removes the
            connection file and the IPC sockets.
            """
            await super().shutdown_kernel(now=True, restart=restart)

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            # no history database: every run's input (its parameters: account, users,
            # folders) would stay on disk in ~/.ipython for any later kernel to read
            kw["extra_arguments"] = [*kw.get("extra_arguments", []), *NO_HISTORY]
            if kernel_env is not None:
                kw["env"] = dict(kernel_env)
            if kernel_log is None:
                kw.setdefault("stderr", subprocess.DEVNULL)
                await super().start_kernel(**kw)
                return
            with open(kernel_log, "ab") as log_file:  # the child keeps its own copy
                kw.setdefault("stderr", log_file)
                await super().start_kernel(**kw)

    return IpcKernelManager
