"""The one place that builds a kernel's environment, and the kernel manager that starts it.

Every kernel this package starts (``runbook run``, ``runbook refresh``, the Lab and Voilà
servers' kernels, the tests through the runner) gets its environment from ``kernel_environ``:
the headless flag, the run record, the sandbox (real credentials removed), the folder for
secret files and the leak guard's socket, all named in ``runbook_lib.core.environ``. The
environment is handed to the kernel process itself: the host's ``os.environ`` is never changed.
"""

from __future__ import annotations

import os
import secrets as stdlib_secrets
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
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


def _socket_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"runbook-kernels-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


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
    from jupyter_client.manager import AsyncKernelManager

    kernel_env = dict(env) if env is not None else None

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", **kwargs)
            # an absolute socket path: the kernel may start in another working directory
            self.ip = str(_socket_folder() / f"kernel-{stdlib_secrets.token_hex(6)}")

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
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
