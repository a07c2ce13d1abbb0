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
from runbook_lib.core.errors import RunbookError, SecretLeak
from runbook_lib.core.i18n import DEFAULT, LANGUAGES
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.run import engine, kernels
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import all_notebooks, notebooks_dir

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


def korean_dir(folder: Path | None = None) -> Path:
    """The Korean notebooks of a notebooks folder (``notebooks/ko/``)."""
    return (folder or notebooks_dir()) / "ko"


def refresh_notebooks(
    paths: list[Path] | None = None, *, folder: Path | None = None, seed: int = 42
) -> list[Path]:
    """Re-execute notebooks in order on a new sandbox and write their outputs in place.

    By default the English runbooks of ``folder`` (default ``notebooks_dir()``), then the
    Korean ones (``folder/ko/``) on a second new sandbox with the same seed (so both show the
    same IDs). Given ``paths``, each folder's
    notebooks run on their own sandbox, in the order given. Each notebook runs through
    ``engine.execute``, the runner's own path, with the kernel environment from
    ``kernel_environ`` (sandbox, headless, a scratch secrets folder, the leak guard; for a
    Korean folder also ``RUNBOOK_LANG=ko``, for a notebook that declares no ``language``);
    nothing is injected and nothing is saved until the leak guard has read the result.

    Returns:
        The notebooks written.

    Raises:
        SecretLeak: a notebook's output held a secret of the run (nothing was written for it).
        RunbookError: a cell failed (the notebook is not written).
    """
    if paths is None:
        groups = [all_notebooks(folder), all_notebooks(korean_dir(folder))]
    else:
        by_folder: dict[Path, list[Path]] = {}
        for path in paths:
            by_folder.setdefault(path.resolve().parent, []).append(path)
        groups = list(by_folder.values())
    written: list[Path] = []
    for group in groups:
        if group:
            written += _refresh_group(group, seed=seed)
    return written


def _refresh_group(paths: list[Path], *, seed: int) -> list[Path]:
    """``refresh_notebooks`` for the notebooks of one folder, on one new sandbox."""
    import nbformat

    written: list[Path] = []
    scratch = tempfile.mkdtemp(prefix="runbook-refresh-")
    box = Sandbox(seed=seed).start()
    guard = LeakGuard().start()
    folder = paths[0].resolve().parent.name  # notebooks/ko/: Korean; notebooks/: English
    base = {**os.environ, environ.LANG: folder if folder in LANGUAGES else DEFAULT}
    env = kernels.kernel_environ(
        base=base,
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
            # the scratch folder's name changes every refresh: committed outputs name the
            # default secrets folder (nbval's sanitizer maps it and a run's folder to one word)
            text = text.replace(str(Path(scratch) / "secrets"), "~/.iam-runbooks/secrets")
            path.write_text(text, encoding="utf-8")
            written.append(path)
    finally:
        guard.stop()
        box.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return written
