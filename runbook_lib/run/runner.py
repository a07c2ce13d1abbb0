"""The runner: executes runbook notebooks headless with papermill and keeps a run record.

Each run writes ``OUTPUT/<run-id>/``: the executed notebook, an HTML export and ``run.json``.
Widget state is never stored; the runner scans every artifact for the run's secrets and refuses
to keep one that contains any.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets as stdlib_secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.context import HEADLESS_VAR
from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_CODE_BY_NAME,
    EXIT_FAILED,
    EXIT_MANUAL_PENDING,
    EXIT_OK,
    BadInput,
)
from runbook_lib.core.record import RECORD_VAR, RunRecord
from runbook_lib.core.sandbox import Sandbox, apply_sandbox_environ, running_sandbox_url
from runbook_lib.core.secrets import SECRETS_DIR_VAR, default_secrets_dir
from runbook_lib.run.leaks import LeakGuard, RedactingFilter
from runbook_lib.run.notebooks import find_notebook, notebook_parameters

log = logging.getLogger("runbook")

#: parameters that choose the target rather than the work
TARGET_PARAMS = ("target", "profile", "endpoint_url", "region", "expected_account_id")


@dataclass
class RunResult:
    """The outcome of one notebook run."""

    notebook: str
    run_dir: Path
    exit_code: int
    status: str
    message: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    secret_values: list[str] = field(default_factory=list, repr=False)

    @property
    def artifacts(self) -> list[Path]:
        """Every file the run wrote."""
        return sorted(p for p in self.run_dir.rglob("*") if p.is_file())


@contextlib.contextmanager
def kernel_environ(values: Mapping[str, str], sandbox: bool) -> Iterator[None]:
    """Set variables for the kernel about to start; restore the previous environment after."""
    saved = dict(os.environ)
    try:
        if sandbox:
            apply_sandbox_environ(values[environ.SANDBOX_URL])
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_id(stem: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{stem}-{stdlib_secrets.token_hex(2)}"


def _check_types(stem: str, declared: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    kinds: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "bool": (bool,),
        "int": (int,),
        "float": (int, float),
        "dict": (dict,),
        "list": (list,),
    }
    for name, value in params.items():
        expected = kinds.get(str(declared[name].get("inferred_type_name", "")).split("[")[0])
        if expected is None or value is None:
            continue
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            type_name = declared[name]["inferred_type_name"]
            raise BadInput(
                f"Parameter '{name}' of {stem} must be {type_name}, got "
                f"{type(value).__name__} {value!r}: fix it in the parameters file or -p."
            )


def export_html(notebook: Path, target: Path) -> None:
    """Write an executed notebook as the run's HTML export (nbconvert's lab template)."""
    _HtmlExporter().export(notebook, target)


class _HtmlExporter:
    """nbconvert's HTML exporter, made ready in a thread while the kernel runs the notebook.

    Importing nbconvert and its first export (templates, CSS, pygments) cost ≈ 0.8 s; the
    runner only waits for the kernel meanwhile, so that cost leaves the critical path.
    """

    def __init__(self) -> None:
        self._exporter: Any = None
        self._thread = threading.Thread(target=self._prepare, daemon=True, name="html-warm-up")
        self._thread.start()

    def _prepare(self) -> None:
        import nbformat
        from nbconvert import HTMLExporter

        exporter = HTMLExporter()  # type: ignore[no-untyped-call]
        exporter.from_notebook_node(nbformat.v4.new_notebook())  # type: ignore[no-untyped-call]
        self._exporter = exporter

    def export(self, notebook: Path, target: Path) -> None:
        """Write ``notebook`` as HTML to ``target``."""
        import nbformat

        self._thread.join()
        if self._exporter is None:  # the warm-up failed: export the slow way, errors and all
            self._prepare()
        node = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
        body, _ = self._exporter.from_notebook_node(node)
        target.write_text(body, encoding="utf-8")


def _failure(err: Exception, run_dir: Path) -> tuple[int, str]:
    ename = str(getattr(err, "ename", type(err).__name__))
    evalue = str(getattr(err, "evalue", err)).strip().splitlines()
    text = evalue[-1] if evalue else ename
    code = EXIT_CODE_BY_NAME.get(ename, EXIT_FAILED)
    suffix = " Nothing was changed." if code == EXIT_BAD_INPUT else ""
    return code, f"{ename}: {text}{suffix}"


def run_notebook(
    name: str,
    parameters: Mapping[str, Any],
    *,
    output_dir: Path = Path("runs"),
    plan: bool = False,
    log_output: bool = False,
    sandbox: Sandbox | None = None,
) -> RunResult:
    """Run one notebook headless and write its run folder.

    Args:
        name: the notebook's stem (``01_create_admin_user``) or number (``01``).
        parameters: parameters for this notebook; those it does not declare must be filtered
            out by the caller (``select_parameters``).
        output_dir: where the run folder goes.
        plan: read-only: report what would change, with zero writes.
        log_output: stream the cells' output to the log (secrets redacted).
        sandbox: the sandbox to use when the target is the sandbox (started if missing).

    Returns:
        The result; ``exit_code`` 0 done, 1 failed, 2 bad input, 3 manual step pending.

    Raises:
        BadInput: unknown notebook or mistyped parameter (before anything runs).
    """
    import papermill as pm

    path = find_notebook(name)
    declared = notebook_parameters(path)
    params = {k: v for k, v in parameters.items() if k in declared}
    if "plan" in declared:
        params["plan"] = plan or bool(params.get("plan"))
    _check_types(path.stem, declared, params)
    target = str(params.get("target", declared.get("target", {}).get("default", "sandbox")))
    target = target.strip("'\"")
    run_dir = Path(output_dir) / _run_id(path.stem)
    run_dir.mkdir(parents=True, exist_ok=False)
    out_nb = run_dir / path.name
    record_path = run_dir / "run.json"
    env = {HEADLESS_VAR: "1", RECORD_VAR: str(record_path.resolve())}
    is_sandbox = target == "sandbox"
    if is_sandbox:
        url = running_sandbox_url() or (sandbox or _shared_sandbox()).url
        env[environ.SANDBOX_URL] = url
        if SECRETS_DIR_VAR not in os.environ:
            # sandbox secrets are throw-away and the next sandbox repeats the same names: one
            # folder per runner process, so a second `runbook run` never meets the first's files
            env[SECRETS_DIR_VAR] = str(default_secrets_dir() / "sandbox" / _SANDBOX_SESSION)
    guard = LeakGuard().start()
    env.update(guard.environ())
    handler: logging.Handler | None = None
    redact = RedactingFilter(guard)
    pm_log = logging.getLogger("papermill")
    pm_level = pm_log.level
    if log_output:
        handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
        handler.addFilter(redact)
        pm_log.addHandler(handler)
        pm_log.setLevel(logging.INFO)  # papermill logs cell output at INFO: else run.log is empty
        for h in logging.getLogger().handlers:
            h.addFilter(redact)
    exporter = _HtmlExporter()  # ready by the time the notebook has run
    started = time.time()
    exit_code, status, message = EXIT_OK, "done", ""
    try:
        with kernel_environ(env, is_sandbox):
            pm.execute_notebook(
                str(path),
                str(out_nb),
                parameters=params,
                kernel_name="python3",
                progress_bar=False,
                log_output=log_output,
                store_widget_state=False,
                cwd=str(path.parent),
                kernel_manager_class=ipc_kernel_manager((run_dir / "kernel.log").resolve()),
            )
    except Exception as err:  # the kernel's error becomes the run's result
        exit_code, message = _failure(err, run_dir)
        status = "failed" if exit_code != EXIT_BAD_INPUT else "bad input"
    finally:
        if handler is not None:
            pm_log.removeHandler(handler)
            pm_log.setLevel(pm_level)
            handler.close()
            for h in logging.getLogger().handlers:
                h.removeFilter(redact)
    executed = time.time()
    # every field, even when the kernel stopped before preflight saved its record
    record: dict[str, Any] = RunRecord(notebook=path.stem).to_dict()
    if record_path.exists():
        record.update(json.loads(record_path.read_text("utf-8")))
    pending = [m for m in record.get("manual_steps", []) if m.get("status") == "pending"]
    if exit_code == EXIT_OK and pending:
        exit_code, status = EXIT_MANUAL_PENDING, "manual step pending"
        message = "; ".join(f"{m['step']} {m['title']}: {m['how']}" for m in pending)
    if out_nb.exists():
        exporter.export(out_nb, run_dir / (path.stem + ".html"))
    exported = time.time()
    record.update(
        {
            "notebook": path.stem,
            "run_id": run_dir.name,
            "status": status,
            "exit_code": exit_code,
            "message": message,
            "plan": params.get("plan", False),
            "parameters": {k: v for k, v in params.items()},
            "started": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "ended": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.time() - started, 2),
            # where the time went: kernel start + cells, then the HTML export
            "timings": {
                "execute": round(executed - started, 2),
                "html_export": round(exported - executed, 2),
            },
        }
    )
    record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    files = sorted(p for p in run_dir.iterdir() if p.is_file())
    hits = guard.scan(files)
    values = guard.values
    if hits:
        for hit in hits:
            Path(hit.path).unlink(missing_ok=True)
        kinds = ", ".join(sorted({f"{h.kind} in {Path(h.path).name}" for h in hits}))
        exit_code, status = EXIT_FAILED, "secret leak refused"
        message = (
            f"SecretLeak: a secret of this run reached an artifact ({kinds}); those files were "
            "deleted, not kept. Report this as a bug."
        )
        record.update(
            {
                "status": status,
                "exit_code": exit_code,
                "message": message,
                "deleted_artifacts": sorted({Path(h.path).name for h in hits}),
            }
        )
        # the record itself may hold the value (a warning, an error message): keep it redacted
        record = json.loads(guard.redact(json.dumps(record)))
        record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    guard.stop()
    return RunResult(path.stem, run_dir, exit_code, status, message, record, values)


def ipc_kernel_manager(kernel_log: Path | None = None) -> type:
    """A kernel manager on Unix-socket (IPC) transport: local-only, and without ipykernel's
    "running over TCP without encryption" warning on every run.

    Args:
        kernel_log: where the kernel process's own stderr goes (its start-up and shut-down
            chatter, e.g. "KeyboardInterrupt caught in kernel"); cell output is not in it.
            ``None``: discarded.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", **kwargs)
            # an absolute socket path: the kernel may start in another working directory
            folder = Path(tempfile.gettempdir()) / f"runbook-kernels-{os.getuid()}"
            folder.mkdir(mode=0o700, exist_ok=True)
            self.ip = str(folder / f"kernel-{stdlib_secrets.token_hex(6)}")

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            if kernel_log is None:
                kw.setdefault("stderr", subprocess.DEVNULL)
                await super().start_kernel(**kw)
                return
            with open(kernel_log, "ab") as log_file:  # the child keeps its own copy
                kw.setdefault("stderr", log_file)
                await super().start_kernel(**kw)

    return IpcKernelManager


_SHARED: Sandbox | None = None
_SANDBOX_SESSION = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}"


def _shared_sandbox() -> Sandbox:
    """The sandbox this process started for runs that did not bring one."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Sandbox().start()
    return _SHARED
