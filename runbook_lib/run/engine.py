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


#: seconds between two saves of the executed notebook while its cells run (papermill saved it
#: before and after every cell: ≈ 10 ms each, ≈ 16 % of a fan-out runner's CPU)
SAVE_EVERY = 2.0
ENGINE_NAME = "runbook"


def _register_engine() -> str:
    """papermill's nbclient engine, saving the notebook at most every ``SAVE_EVERY`` seconds
    while cells run and always when they end (success, a failed cell, a dead kernel, Ctrl-C):
    the saved notebook is the same, with fewer copies of it written on the way."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    if ENGINE_NAME in papermill_engines._engines:  # noqa: SLF001
        return ENGINE_NAME

    class SparseSaves(NotebookExecutionManager):  # type: ignore[misc]
        final = False

        def save(self, **kwargs: Any) -> None:
            if self.final or (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs: Any) -> None:
            self.final = True
            super().notebook_complete(**kwargs)

    class RunbookEngine(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_notebook(
            cls,
            nb: Any,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = True,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> Any:
            # papermill's Engine.execute_notebook with the sparse-saving manager
            nb_man = SparseSaves(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE_NAME, RunbookEngine)
    return ENGINE_NAME


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
        output: where papermill saves the executed notebook (while the cells run, at most
            every ``SAVE_EVERY`` seconds, and when they end, however they end); ``None``:
            nowhere, the caller gets the node only.
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

    from runbook_lib.core import gcdefer

    gcdefer.resume()  # the command's imports are done (cli.main deferred the collector)
    folder = notebook.resolve().parent
    common: dict[str, Any] = {
        "parameters": dict(parameters) if parameters else None,
        "kernel_name": KERNEL_NAME,
        "progress_bar": False,
        "log_output": log_output,
        "cwd": str(folder),
        "store_widget_state": False,
        "record_timing": record_timing,
        "engine_name": _register_engine(),
    }
    # absolute: papermill saves from inside the kernel's folder
    saved = str(output.resolve()) if output is not None else None
    kernel = kernel or _POOL.get()
    if kernel is not None:
        with kernel.checkout(env, folder) as km:
            return pm.execute_notebook(str(notebook), saved, km=km, **common)
    manager = ipc_kernel_manager(kernel_log.resolve() if kernel_log is not None else None, env)
    return pm.execute_notebook(str(notebook), saved, kernel_manager_class=manager, **common)
