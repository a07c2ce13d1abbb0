"""Refresh the committed notebooks: re-execute them in order on a freshly seeded sandbox.

The outputs are the training material, so they must be reproducible (nbval compares them) and
clean: no papermill metadata, no injected-parameters cell, no widget state, no timings, stable
execution counts, and no secret of the run (the leak guard checks before anything is written).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import RunbookError, SecretLeak
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.run import engine, kernels
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import all_notebooks

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
        if cell.metadata.get("tags") == []:  # papermill adds an empty list to every cell
            cell.metadata.pop("tags")
    return nb


def refresh_notebooks(paths: list[Path] | None = None, *, seed: int = 42) -> list[Path]:
    """Re-execute notebooks in order on one new sandbox and write their outputs in place.

    Each notebook runs through ``engine.execute``, the runner's own path, with the kernel
    environment from ``kernel_environ`` (sandbox, headless, a scratch secrets folder, the leak
    guard); nothing is injected and nothing is saved until the leak guard has read the result.

    Returns:
        The notebooks written.

    Raises:
        SecretLeak: a notebook's output held a secret of the run (nothing was written for it).
        RunbookError: a cell failed (the notebook is not written).
    """
    import nbformat

    paths = paths or all_notebooks()
    written: list[Path] = []
    scratch = tempfile.mkdtemp(prefix="runbook-refresh-")
    box = Sandbox(seed=seed).start()
    guard = LeakGuard().start()
    env = kernels.kernel_environ(
        sandbox_url=box.url,
        secrets_dir=Path(scratch) / "secrets",
        leak_environ=guard.environ(),
    )
    try:
        for path in paths:
            try:
                nb = engine.execute(path, None, env=env, record_timing=False)
            except Exception as err:
                evalue = str(getattr(err, "evalue", err)).strip().splitlines()
                ename = str(getattr(err, "ename", type(err).__name__))
                raise RunbookError(
                    f"{path.name} was not refreshed: a cell failed with {ename}: "
                    f"{evalue[-1] if evalue else ''}. Fix it and re-run 'runbook refresh'."
                ) from err
            clean_notebook(nb)
            text = nbformat.writes(nb) + "\n"  # type: ignore[no-untyped-call]
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
