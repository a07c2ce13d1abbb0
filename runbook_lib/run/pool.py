"""Warm kernels: run notebook after notebook without paying a kernel start for each.

A ``KernelPool`` keeps up to ``size`` kernels started (``size`` = how many notebooks run at once)
and lends one to each run (``engine.execute(..., kernel=pool)``): papermill and nbclient run the
notebook on the lent kernel manager and leave the kernel alive (nbclient's ``owns_km`` is false,
so it neither shuts the kernel down nor reuses a client).

Nothing of one run may reach the next, which may be another account's:

- before a run, the kernel is reset (``runbook_lib.core.reset.reset_kernel_state``: the user
  namespace, the library's module state, boto3's default session, every ``AWS_*``/``RUNBOOK_*``
  variable) and receives the run's environment and folder through a FIFO in a private folder:
  the values never appear in the code sent to the kernel, and never touch the disk;
- after a run, the kernel is reset again and reports what is still alive that could hold a
  secret or a credential (kinds, counts, fingerprints). The kernel is kept only when that report
  is empty, the run succeeded and the kernel is alive; otherwise it is shut down and a new one
  is started at once, so that it has booted by the time the next run asks for it.

Kernels are started with the library already imported (``WARM_IMPORTS``), in an environment
without any ``AWS_*``/``RUNBOOK_*`` variable.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core.reset import RUN_PREFIXES
from runbook_lib.run.kernels import ipc_kernel_manager, kernel_environ, temp_folder

#: imported while a new kernel boots (before it answers), so that a run starts on them warm
WARM_IMPORTS = (
    "runbook_lib",
    "runbook_lib.core.reset",
    "runbook_lib.root_usage",
    "runbook_lib.password_policy",
    "runbook_lib.admin_user",
    "runbook_lib.access_key",
    "runbook_lib.virtual_mfa",
    "boto3",
)
#: seconds a reset may take before the kernel is given up
RESET_TIMEOUT = 60.0


class KernelDiscarded(RuntimeError):
    """A kernel could not be reset for the next run (it is shut down, never reused)."""


def _run_sync(coro_fn: Any) -> Any:
    from jupyter_core.utils import run_sync

    return run_sync(coro_fn)


def neutral_environ(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without any run's variables (what a pooled kernel starts with)."""
    return {k: v for k, v in env.items() if not k.startswith(RUN_PREFIXES)}


@dataclass
class WarmKernel:
    """One pooled kernel: its manager, how many runs it served, the clients lent out."""

    km: Any
    runs: int = 0
    clients: list[Any] = field(default_factory=list)

    def alive(self) -> bool:
        """Whether the kernel process still runs."""
        try:
            return bool(_run_sync(self.km.is_alive)())
        except Exception:  # a manager in a broken state counts as dead
            return False


@dataclass
class PoolStats:
    """What a pool did: kernels started, runs on a reused kernel, kernels discarded."""

    started: int = 0
    reused: int = 0
    discarded: int = 0
    last_report: dict[str, Any] = field(default_factory=dict)


class KernelPool:
    """Up to ``size`` warm kernels, each reset between runs; use as a context manager.

    Args:
        size: kernels kept warm (the most notebooks that run at once).
        env: the environment new kernels start from (default: ``kernel_environ()``); any
            ``AWS_*``/``RUNBOOK_*`` variable is removed (each run brings its own).
        kernel_log: where the kernels' own stderr goes (``None``: discarded).
        prestart: start the kernels now (they boot while the caller does other work);
            otherwise the first run starts one. Either way a discarded kernel's replacement is
            started at once (it boots while the caller reads the run's results).
    """

    def __init__(
        self,
        size: int = 1,
        *,
        env: Mapping[str, str] | None = None,
        kernel_log: Path | None = None,
        prestart: bool = True,
    ) -> None:
        self.size = max(1, size)
        self.prestart = prestart
        self.stats = PoolStats()
        self._env = neutral_environ(kernel_environ() if env is None else env)
        self._log = kernel_log
        self._idle: list[WarmKernel] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._closed = False
        if prestart:
            self._idle = [self._spawn() for _ in range(self.size)]

    # ---- kernels -----------------------------------------------------------------------
    def _spawn(self) -> WarmKernel:
        """Launch a kernel process (it boots in the background; clients wait for it)."""
        base = ipc_kernel_manager(self._log, self._env)
        kernel = WarmKernel(km=None)

        class PooledKernelManager(base):  # type: ignore[misc, valid-type]
            def client(self, **kwargs: Any) -> Any:
                kc = super().client(**kwargs)
                kernel.clients.append(kc)  # stopped when the run gives the kernel back
                return kc

        kernel.km = PooledKernelManager(kernel_name="python3")
        # imported while the kernel boots; then gc.freeze (later collections skip these
        # objects) and the collector back on (KERNEL_BOOT deferred it: core/gcdefer.py)
        warm = "import " + ", ".join(WARM_IMPORTS) + "; import gc; gc.freeze()"
        warm += "; from runbook_lib.core import gcdefer; gcdefer.resume()"
        _run_sync(kernel.km.start_kernel)(
            extra_arguments=[f"--IPKernelApp.exec_lines={warm}"], cwd=os.getcwd()
        )
        self.stats.started += 1
        return kernel

    def _discard(self, kernel: WarmKernel, *, count: bool = True) -> None:
        self._stop_clients(kernel)
        self.stats.discarded += count
        with contextlib.suppress(Exception):
            _run_sync(kernel.km.shutdown_kernel)(now=True)

    @staticmethod
    def _stop_clients(kernel: WarmKernel) -> None:
        while kernel.clients:
            with contextlib.suppress(Exception):
                kernel.clients.pop().stop_channels()

    def _take(self) -> WarmKernel:
        with self._lock:
            if self._closed:
                raise RuntimeError("the kernel pool is closed")
            if self._idle:
                self._busy += 1
                return self._idle.pop(0)
        kernel = self._spawn()  # not counted busy before it exists: a failed start leaks nothing
        with self._lock:
            self._busy += 1
        return kernel

    def _give_back(self, kernel: WarmKernel, keep: bool) -> None:
        with self._lock:
            self._busy -= 1
            if keep and not self._closed:
                self._idle.append(kernel)
                return
        self._discard(kernel)
        with self._lock:
            want = not self._closed and len(self._idle) + self._busy < self.size
        if want:  # the next run finds a booted kernel
            spare = self._spawn()
            with self._lock:
                self._idle.append(spare)

    # ---- reset -------------------------------------------------------------------------
    def _reset(
        self, kernel: WarmKernel, env: Mapping[str, str] | None, cwd: Path | None
    ) -> dict[str, Any]:
        """Reset the kernel; hand it ``env`` and ``cwd`` through a FIFO when given.

        Returns:
            The kernel's report of what survived (``core.reset.survivors``).

        Raises:
            KernelDiscarded: the reset failed or timed out.
        """
        folder = temp_folder("runbook-reset-")  # 0700
        fifo = folder / "environ"
        writer: threading.Thread | None = None
        if env is not None:
            os.mkfifo(fifo, 0o600)
            message = json.dumps({"environ": dict(env), "cwd": str(cwd or "")})
            writer = threading.Thread(target=fifo.write_text, args=(message, "utf-8"), daemon=True)
            writer.start()
        module = "__import__('runbook_lib.core.reset', fromlist=['_'])"
        environ_file = str(fifo) if env is not None else ""
        code = f"{module}.reset_kernel_state({environ_file!r}, check={env is None})"
        report = f"{module}.last_report()"
        try:
            return self._execute(kernel, code, report)
        finally:
            if writer is not None and writer.is_alive():  # the kernel never read it: unblock
                with contextlib.suppress(OSError):
                    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
                writer.join(5)
            shutil.rmtree(folder, ignore_errors=True)

    def _execute(self, kernel: WarmKernel, code: str, expression: str) -> dict[str, Any]:
        """Run ``code`` silently on the shell channel only (no IOPub subscription to wait
        for); return ``expression``'s value, a JSON text."""
        kc = kernel.km.client()
        try:
            kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
            msg_id = kc.execute(
                code, silent=True, user_expressions={"r": expression}, allow_stdin=False
            )
            while True:
                reply = _run_sync(kc.get_shell_msg)(timeout=RESET_TIMEOUT)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except Exception as err:
            raise KernelDiscarded(f"the kernel did not reset: {type(err).__name__}") from None
        finally:
            self._stop_clients(kernel)
        content = reply["content"]
        value = content.get("user_expressions", {}).get("r", {})
        if content.get("status") != "ok" or value.get("status") != "ok":
            raise KernelDiscarded(f"the reset failed: {content.get('ename') or value.get('ename')}")
        report: dict[str, Any] = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        return report

    # ---- lending -----------------------------------------------------------------------
    @contextlib.contextmanager
    def checkout(self, env: Mapping[str, str], cwd: Path) -> Iterator[Any]:
        """Lend a reset kernel (its manager) with ``env`` and ``cwd`` for one run.

        The kernel comes back to the pool only if the run raised nothing, the kernel is alive
        and its reset left no secret, credential or run context alive.

        Raises:
            KernelDiscarded: no kernel could be prepared (two tries).
        """
        kernel = self._take()
        for attempt in (1, 2):
            try:
                self._reset(kernel, env, cwd)
                break
            except KernelDiscarded:
                self._give_back(kernel, keep=False)
                if attempt == 2:
                    raise
                kernel = self._take()
        self.stats.reused += kernel.runs > 0
        kernel.runs += 1
        ok = False
        try:
            yield kernel.km
            ok = True
        finally:
            self._stop_clients(kernel)
            self._give_back(kernel, keep=ok and self._clean_after(kernel))

    def _clean_after(self, kernel: WarmKernel) -> bool:
        """Reset after a run; whether the kernel may serve another run."""
        if not kernel.alive():
            return False
        try:
            report = self._reset(kernel, None, None)
        except KernelDiscarded:
            return False
        self.stats.last_report = report
        return not report.get("counts")

    # ---- life --------------------------------------------------------------------------
    def close(self) -> None:
        """Shut every idle kernel down (kernels still lent out are shut down on return)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for kernel in idle:
            self._discard(kernel, count=False)  # closing is not discarding

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
