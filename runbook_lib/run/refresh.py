"""Refresh the committed notebooks: re-execute them in order on a freshly seeded sandbox.

The outputs are the training material, so they must be reproducible (nbval compares them) and
clean: no papermill metadata, no injected-parameters cell, no widget state, no timings, stable
execution counts, and no secret of the run (the leak guard checks before anything is written).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.context import HEADLESS_VAR
from runbook_lib.core.errors import SecretLeak
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.secrets import SECRETS_DIR_VAR
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import all_notebooks
from runbook_lib.run.runner import ipc_kernel_manager, kernel_environ

#: notebook metadata keys that are volatile or may carry state: never committed
_DROP_NB_METADATA = ("papermill", "widgets", "execution")
_DROP_CELL_METADATA = ("papermill", "execution", "ExecuteTime")


def clean_notebook(nb: Any) -> Any:
    """Remove papermill traces, widget state and timings from a notebook (in place)."""
    for key in _DROP_NB_METADATA:
        nb.metadata.pop(key, None)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        for key in _DROP_CELL_METADATA:
            cell.metadata.pop(key, None)
    return nb


def refresh_notebooks(paths: list[Path] | None = None, *, seed: int = 42) -> list[Path]:
    """Re-execute notebooks in order on one new sandbox and write their outputs in place.

    Returns:
        The notebooks written.

    Raises:
        SecretLeak: a notebook's output held a secret of the run (nothing was written for it).
        nbclient.exceptions.CellExecutionError: a cell failed (the notebook is not written).
    """
    import nbformat
    from nbclient import NotebookClient

    paths = paths or all_notebooks()
    written: list[Path] = []
    scratch = tempfile.mkdtemp(prefix="runbook-refresh-")
    box = Sandbox(seed=seed).start()
    guard = LeakGuard().start()
    env = {
        HEADLESS_VAR: "1",
        environ.SANDBOX_URL: box.url,
        SECRETS_DIR_VAR: os.path.join(scratch, "secrets"),
        **guard.environ(),
    }
    try:
        with kernel_environ(env, sandbox=True):
            for path in paths:
                nb = clean_notebook(nbformat.read(path, as_version=4))  # type: ignore[no-untyped-call]
                client = NotebookClient(
                    nb,
                    kernel_name="python3",
                    resources={"metadata": {"path": str(path.parent)}},
                    store_widget_state=False,
                    record_timing=False,
                    kernel_manager_class=ipc_kernel_manager(),
                )
                client.execute()
                clean_notebook(nb)
                text = nbformat.writes(nb)  # type: ignore[no-untyped-call]
                hits = guard.scan_text(text, str(path))
                if hits:
                    raise SecretLeak(
                        f"{path.name}: its output would hold {', '.join(h.kind for h in hits)}; "
                        "it was not written. Fix the step that displays it."
                    )
                path.write_text(text, encoding="utf-8")
                written.append(path)
    finally:
        guard.stop()
        box.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return written
