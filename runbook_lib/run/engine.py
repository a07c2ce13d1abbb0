"""The one path that executes a notebook: papermill's engine on an IPC kernel.

``runbook run`` (the runner), ``runbook refresh`` and the tests all execute notebooks through
``execute``: the same papermill call, the same kernel manager, no widget state stored, and the
kernel's environment from ``kernels.kernel_environ`` (passed in, never set on ``os.environ``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runbook_lib.run.kernels import ipc_kernel_manager

KERNEL_NAME = "python3"


def execute(
    notebook: Path,
    output: Path | None,
    *,
    env: Mapping[str, str],
    parameters: Mapping[str, Any] | None = None,
    kernel_log: Path | None = None,
    log_output: bool = False,
    record_timing: bool = True,
) -> Any:
    """Execute ``notebook`` in a new kernel and return the executed notebook node.

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

    Returns:
        The executed ``nbformat.NotebookNode``.

    Raises:
        papermill.exceptions.PapermillExecutionError: a cell raised (``ename``/``evalue`` name
            the error; the output notebook, if any, was saved first).
    """
    import papermill as pm

    return pm.execute_notebook(
        str(notebook),
        # absolute: papermill saves after each cell from inside the kernel's folder
        str(output.resolve()) if output is not None else None,
        parameters=dict(parameters) if parameters else None,
        kernel_name=KERNEL_NAME,
        progress_bar=False,
        log_output=log_output,
        cwd=str(notebook.resolve().parent),
        store_widget_state=False,
        record_timing=record_timing,
        kernel_manager_class=ipc_kernel_manager(
            kernel_log.resolve() if kernel_log is not None else None, env
        ),
    )
