"""The one path that executes a notebook: papermill's engine on an IPC kernel.

``runbook run`` (the runner), ``runbook refresh`` and the tests all execute notebooks through
``execute``: the same papermill call, the same kernel manager, no widget state stored, and the
kernel's environment from ``kernels.kernel_environ`` (passed in, never set on ``os.environ``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.run.kernels import ipc_kernel_manager

if TYPE_CHECKING:
    from runbook_lib.run.pool import KernelPool

KERNEL_NAME = "python3"

#: the pool ``execute`` uses when its caller passes none (set by ``warm_kernels``)
_POOL: ContextVar[KernelPool | None] = ContextVar("runbook_kernel_pool", default=None)


@contextlib.contextmanager
def warm_kernels(pool: KernelPool | None) -> Iterator[None]:
    """Run every ``execute`` of this context (this thread) on ``pool``'s warm kernels.

    How the runner's callers (``runbook run --all``, a fan-out's worker threads) choose warm
    kernels without a parameter through every layer; ``None``: a new kernel per run.
    """
    token = _POOL.set(pool)
    try:
        yield
    finally:
        _POOL.reset(token)


def execute(
    notebook: Path,
    output: Path | None,
    *,
    env: Mapping[str, str],
    parameters: Mapping[str, Any] | None = None,
    kernel_log: Path | None = None,
    log_output: bool = False,
    record_timing: bool = True,
    kernel: KernelPool | None = None,
) -> Any:
    """Execute ``notebook`` in a new kernel (or a pool's warm one) and return the executed node.

    Args:
        notebook: the notebook file; the kernel starts in its folder.
        output: where papermill saves the executed notebook (after every cell, and on
            failure); ``None``: nowhere, the caller gets the node only.
        env: the kernel's environment, from ``kernel_environ``.
        parameters: injected after the ``parameters`` cell (papermill); none: nothing injected.
        kernel_log: where the kernel's own stderr goes (``None``: discarded).
        log_output: papermill logs each cell's output at INFO (the caller adds the filter
            that redacts secrets).
        record_timing: keep nbclient's per-cell timings (refresh turns them off).
        kernel: run on a warm kernel of this pool (reset before and after the run, discarded
            if the run fails); ``kernel_log`` is then the pool's. ``None``: the pool of
            ``warm_kernels``, if any, else a new kernel.

    Returns:
        The executed ``nbformat.NotebookNode``.

    Raises:
        papermill.exceptions.PapermillExecutionError: a cell raised (``ename``/``evalue`` name
            the error; the output notebook, if any, was saved first).
        KernelDiscarded: the pool could not prepare a kernel.
    """
    import papermill as pm

    folder = notebook.resolve().parent
    common: dict[str, Any] = {
        "parameters": dict(parameters) if parameters else None,
        "kernel_name": KERNEL_NAME,
        "progress_bar": False,
        "log_output": log_output,
        "cwd": str(folder),
        "store_widget_state": False,
        "record_timing": record_timing,
    }
    # absolute: papermill saves after each cell from inside the kernel's folder
    saved = str(output.resolve()) if output is not None else None
    kernel = kernel or _POOL.get()
    if kernel is not None:
        with kernel.checkout(env, folder) as km:
            return pm.execute_notebook(str(notebook), saved, km=km, **common)
    manager = ipc_kernel_manager(kernel_log.resolve() if kernel_log is not None else None, env)
    return pm.execute_notebook(str(notebook), saved, kernel_manager_class=manager, **common)
