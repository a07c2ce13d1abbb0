"""A runbook notebook's own code cells, executed in this process: no kernel, same calls.

The fault matrix and the bad-input table need hundreds of runs; a kernel start costs ≈1.5 s of
CPU, a run in this process ≈0.1 s. ``run_in_process`` executes exactly the notebook's code cells
in order (so it calls the section's verbs as the notebook does, and follows the notebook when it
changes), with the parameters injected after the ``parameters`` cell as papermill would, in the
environment a headless kernel gets (``RUNBOOK_HEADLESS``; no record file, no leak socket).
Faults come from the same ``RUNBOOK_FAULT_*`` variables (monkeypatch them): ``preflight``
installs ``runbook_lib.testing.faults`` through ``RUNBOOK_SESSION_HOOK`` here as in a kernel.

What only a kernel proves (exit codes of the process, artifacts, the leak guard, widgets in a
front end) is proved once per exit path and runbook by the cached kernel scenarios
(``support.catalog``); ``test_in_process_runs_match_kernel_runs`` checks the two agree.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat

from runbook_lib.core import environ
from runbook_lib.core.errors import EXIT_FAILED, EXIT_MANUAL_PENDING, EXIT_OK, RunbookError
from runbook_lib.core.record import RunRecord
from runbook_lib.run.notebooks import find_notebook
from runbook_lib.run.runner import _failure as runner_failure


@dataclass
class InProcessRun:
    """The outcome of one in-process run: exit code as the runner would give it, the error the
    failing cell raised, the run record, and the notebook's variables (each cell's output is
    the ``repr`` of one of them)."""

    book: str
    exit_code: int
    error: BaseException | None
    record: dict[str, Any]
    namespace: dict[str, Any] = field(repr=False)

    @property
    def message(self) -> str:
        """``Kind: one line`` of the error, or the pending manual steps (as the runner says)."""
        if self.error is not None and isinstance(self.error, Exception):
            # the runner's own wording (it adds the write count, or "Nothing was changed")
            return runner_failure(self.error, int(self.record.get("writes", 0)))[2]
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        pending = [m for m in self.record.get("manual_steps", []) if m["status"] == "pending"]
        return "; ".join(f"{m['step']} {m['title']}: {m['how']}" for m in pending)

    def shown(self, name: str) -> str:
        """The cell output of variable ``name`` (its ``repr``)."""
        return repr(self.namespace[name])

    def outputs(self) -> str:
        """What the executed notebook would show: the ``repr`` of every value the cells made
        (each cell's output is one of them), and the error line."""
        shown = [
            repr(v)
            for k, v in self.namespace.items()
            if not k.startswith("_") and not callable(v) and not isinstance(v, type(os))
        ]
        return "\n".join([*shown, self.message])


@contextlib.contextmanager
def headless_kernel_environ() -> Iterator[None]:
    """The variables a headless kernel of the runner gets, for the duration of one run."""
    saved = dict(os.environ)
    try:
        os.environ[environ.HEADLESS] = "1"
        os.environ.pop(environ.RECORD, None)
        os.environ.pop(environ.LEAK_SOCKET, None)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _code_cells(book: str) -> tuple[str, list[tuple[str, bool]]]:
    path = find_notebook(book)
    nb = nbformat.read(path, as_version=4)
    cells = [
        (c.source, "parameters" in c.metadata.get("tags", []))
        for c in nb.cells
        if c.cell_type == "code"
    ]
    return path.stem, cells


def run_in_process(
    book: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    plan: bool = False,
    ignore_unknown: bool = False,
) -> InProcessRun:
    """Execute notebook ``book``'s code cells here, with ``parameters`` injected.

    Args:
        book: the notebook's number (``02``), stem or path.
        parameters: values for names the parameters cell declares (others fail the test).
        plan: run in plan mode (``plan = True``), as ``run_notebook(plan=True)`` does.
        ignore_unknown: drop parameters the notebook does not declare (a parameters file
            shared by every runbook), as the runner does; else they fail the test.
    """
    stem, cells = _code_cells(book)
    given = dict(parameters or {})
    if plan:
        given["plan"] = True
    namespace: dict[str, Any] = {"__name__": "__main__"}
    error: BaseException | None = None
    with headless_kernel_environ():
        try:
            for number, (source, is_parameters) in enumerate(cells, 1):
                code = compile(source, f"<{stem} code cell {number}>", "exec")
                exec(code, namespace)  # noqa: S102 - the project's own notebook
                if is_parameters:
                    unknown = sorted(set(given) - set(namespace))
                    assert ignore_unknown or not unknown, f"{stem} declares no {unknown}"
                    namespace.update({k: v for k, v in given.items() if k not in unknown})
        except Exception as err:  # the failing cell is the run's result, as in a kernel
            error = err
    ctx = namespace.get("ctx")
    record = ctx.record.to_dict() if ctx is not None else RunRecord(notebook=stem).to_dict()
    if error is not None:
        code = error.exit_code if isinstance(error, RunbookError) else EXIT_FAILED
    else:
        pending = any(m["status"] == "pending" for m in record["manual_steps"])
        code = EXIT_MANUAL_PENDING if pending else EXIT_OK
    return InProcessRun(stem, code, error, record, namespace)
