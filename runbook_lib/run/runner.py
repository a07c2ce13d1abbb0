"""The runner: executes runbook notebooks headless and keeps a run record.

Each run writes ``OUTPUT/<run-id>/``: the executed notebook, an HTML export and ``run.json``.
The notebook runs through ``engine.execute`` (the one path refresh and the tests use too).
Widget state is never stored; the run folder stays private until the leak guard has scanned
every artifact for the run's secrets (``artifacts``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_CODE_BY_NAME,
    EXIT_FAILED,
    EXIT_FINDINGS,
    EXIT_MANUAL_PENDING,
    EXIT_OK,
)
from runbook_lib.core.i18n import _
from runbook_lib.core.record import RunRecord
from runbook_lib.core.sandbox import Sandbox, running_sandbox_url, sandbox_instance
from runbook_lib.core.secret_files import make_private_folder
from runbook_lib.core.secrets import default_secrets_dir
from runbook_lib.run import artifacts, engine, kernels
from runbook_lib.run.export import HtmlExporter
from runbook_lib.run.leaks import LeakGuard, RedactingFilter
from runbook_lib.run.notebooks import check_types, find_notebook, notebook_parameters

log = logging.getLogger("runbook")

#: parameters that choose the target rather than the work
TARGET_PARAMS = ("target", "profile", "endpoint_url", "region", "expected_account_id")

#: status words by exit code (a run that ends without an error)
_STATUS = {EXIT_BAD_INPUT: "bad input", EXIT_FINDINGS: "findings failed"}


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


def prepare_parameters(
    name: str, parameters: Mapping[str, Any], *, plan: bool = False
) -> tuple[Path, dict[str, Any]]:
    """The notebook and the parameters it will get: those it declares, type-checked.

    Raises:
        BadInput: unknown notebook or a parameter of the wrong type.
    """
    path = find_notebook(name)
    declared = notebook_parameters(path)
    params = {k: v for k, v in parameters.items() if k in declared}
    if "plan" in declared:
        params["plan"] = plan or bool(params.get("plan"))
    check_types(path.stem, declared, params)
    return path, params


def _target(params: Mapping[str, Any]) -> str:
    return str(params.get("target", "sandbox")).strip("'\"")


def _failure(err: Exception, writes: int = 0) -> tuple[int, str, str]:
    """Exit code, status and one-line message of a notebook whose cell raised ``err``.

    "Nothing was changed" is said only when the run record counts no write. Exit 2 (bad
    input) only then too: a bad input found after a write (a destination that failed, a full
    secrets folder) exits 1 and says how many writes there were.
    """
    ename = str(getattr(err, "ename", type(err).__name__))
    evalue = str(getattr(err, "evalue", err)).strip().splitlines()
    text = evalue[-1] if evalue else ename
    code = EXIT_CODE_BY_NAME.get(ename, EXIT_FAILED)
    suffix = ""
    if writes:  # bad input after a write is not "nothing changed": exit 1, with the count
        code = EXIT_FAILED if code == EXIT_BAD_INPUT else code
        suffix = " " + _("This run made {writes} write(s) before it stopped: see run.json.").format(
            writes=writes
        )
    elif code == EXIT_BAD_INPUT and not _says_nothing_changed(text):
        suffix = " " + _("Nothing was changed.")
    return code, _STATUS.get(code, "failed"), f"{ename}: {text}{suffix}"


def _says_nothing_changed(text: str) -> bool:
    """Whether a message already ends its sentence with "Nothing was changed" (or the run
    language's words for it)."""
    said = _("Nothing was changed.").rstrip(".")
    return "nothing was changed" in text.lower() or said in text


@contextlib.contextmanager
def _cell_log(run_dir: Path, guard: LeakGuard, enabled: bool) -> Iterator[None]:
    """Stream papermill's cell output to ``run.log`` and the terminal, secrets redacted."""
    if not enabled:
        yield
        return
    redact = RedactingFilter(guard)
    handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
    handler.addFilter(redact)
    pm_log = logging.getLogger("papermill")
    pm_level = pm_log.level
    pm_log.addHandler(handler)
    pm_log.setLevel(logging.INFO)  # papermill logs cell output at INFO: else run.log is empty
    for h in logging.getLogger().handlers:
        h.addFilter(redact)
    try:
        yield
    finally:
        pm_log.removeHandler(handler)
        pm_log.setLevel(pm_level)
        handler.close()
        for h in logging.getLogger().handlers:
            h.removeFilter(redact)


def _read_record(record_path: Path, stem: str) -> dict[str, Any]:
    """Every field, even when the kernel stopped before preflight saved its record (or its
    record cannot be read)."""
    record: dict[str, Any] = RunRecord(notebook=stem).to_dict()
    with contextlib.suppress(OSError, ValueError):
        if record_path.stat().st_size:
            record.update(json.loads(record_path.read_text("utf-8")))
    return record


def _delivered(record: Mapping[str, Any]) -> str:
    """`` Delivered: KIND to DESTINATION; ...`` for the secrets the record says were delivered."""
    items = [
        f"{s.get('kind', 'secret')} to {s.get('destination', '?')}"
        for s in record.get("secrets") or []
        if isinstance(s, Mapping)
    ]
    return " " + _("Delivered: {items}.").format(items="; ".join(items)) if items else ""


def _execute(
    path: Path,
    params: Mapping[str, Any],
    run_dir: Path,
    guard: LeakGuard,
    *,
    log_output: bool,
    sandbox_url: str,
    kernel_env: Mapping[str, str | None] | None = None,
) -> tuple[int, str, str]:
    """Execute the notebook through the engine; exit code, status and message of the cells."""
    env = kernels.kernel_environ(
        sandbox_url=sandbox_url,
        record_path=(run_dir / "run.json").resolve(),
        leak_environ=guard.environ(),
    )
    for key, value in (kernel_env or {}).items():  # a fan-out run's account (None: removed)
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with _cell_log(run_dir, guard, log_output):
        try:
            engine.execute(
                path,
                run_dir / path.name,
                env=env,
                parameters=params,
                kernel_log=run_dir / "kernel.log",
                log_output=log_output,
            )
        except Exception as err:  # the kernel's error becomes the run's result
            writes = _read_record(run_dir / "run.json", path.stem).get("writes", 0)
            return _failure(err, int(writes or 0))
    return EXIT_OK, "done", ""


def _complete_record(
    run_dir: Path,
    path: Path,
    params: Mapping[str, Any],
    outcome: tuple[int, str, str],
    times: tuple[float, float],
) -> dict[str, Any]:
    """The kernel's record plus the run's outcome (a pending manual step makes it exit 3)."""
    exit_code, status, message = outcome
    record = _read_record(run_dir / "run.json", path.stem)
    pending = [m for m in record.get("manual_steps", []) if m.get("status") == "pending"]
    if exit_code == EXIT_OK and pending:
        exit_code, status = EXIT_MANUAL_PENDING, "manual step pending"
        message = "; ".join(f"{m['step']} {m['title']}: {m['how']}" for m in pending)
    if exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):  # a failed run names what reached someone
        message += _delivered(record)
    started, executed = times
    record.update(
        {
            "notebook": path.stem,
            "run_id": run_dir.name,
            "status": status,
            "exit_code": exit_code,
            "message": message,
            "plan": params.get("plan", False),
            "parameters": dict(params),
            "started": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "ended": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.time() - started, 2),
            # where the time went: kernel start + cells, then the HTML export
            "timings": {
                "execute": round(executed - started, 2),
                "html_export": round(time.time() - executed, 2),
            },
        }
    )
    return record


def _export(exporter: HtmlExporter, run_dir: Path, path: Path) -> str:
    """The HTML export of the executed notebook (none when the kernel never saved one).

    Returns:
        ``""``, or why the export could not be written (a full disk: the partial file is
        removed, the run record is kept).
    """
    executed = run_dir / path.name
    if not executed.stat().st_size:  # the kernel never started: no notebook to keep
        executed.unlink()
        return ""
    if not exporter.enabled:  # a fan-out account's run: the HTML is made on demand
        return ""
    html = run_dir / (path.stem + ".html")
    try:
        exporter.export(executed, artifacts.create_private(html))
    except OSError as err:
        html.unlink(missing_ok=True)
        return err.strerror or type(err).__name__
    return ""


def _full_disk(record: dict[str, Any], run_dir: Path, problem: str) -> dict[str, Any]:
    """The record of a run whose artifacts did not all fit: exit 1 at least, one line that
    says what was written and delivered, and where the record is."""
    if record["exit_code"] in (EXIT_OK, EXIT_MANUAL_PENDING, EXIT_FINDINGS):
        writes = int(record.get("writes") or 0)
        record.update(
            exit_code=EXIT_FAILED,
            status="failed",
            message=_(
                "The output folder {folder} ran out of space ({problem}) after {writes} "
                "write(s); the HTML export was not kept, the run record is complete."
            ).format(folder=run_dir, problem=problem, writes=writes)
            + _delivered(record),
        )
    else:
        record["message"] += " " + _("The HTML export was not kept ({problem}).").format(
            problem=problem
        )
    return record


def _keep_record(run_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``run.json`` (and ``findings.csv``); on a full disk, the record goes to
    ``fallback_records_dir()`` instead, and the message says where.

    Returns:
        Where the record is.
    """
    try:
        artifacts.write_record(run_dir, record)
        return run_dir / "run.json"
    except OSError as err:
        (run_dir / "findings.csv").unlink(missing_ok=True)
        folder = fallback_records_dir()
        make_private_folder(folder)
        path = folder / f"{run_dir.name}.json"
        record["message"] += " " + _(
            "{file} could not be written ({problem}): the run record is {path}."
        ).format(file=run_dir / "run.json", problem=err.strerror, path=path)
        artifacts.write_json(artifacts.create_private(path), record)
        return path


def fallback_records_dir() -> Path:
    """Where a run record goes when its run folder has no room left."""
    return default_secrets_dir().parent / "records"


_CLEANED: list[bool] = []


def run_notebook(
    name: str,
    parameters: Mapping[str, Any],
    *,
    output_dir: Path = Path("runs"),
    plan: bool = False,
    log_output: bool = False,
    sandbox: Sandbox | None = None,
    kernel_env: Mapping[str, str | None] | None = None,
) -> RunResult:
    """Run one notebook headless and write its run folder.

    Args:
        name: the notebook's stem (``01_create_admin_user``), number (``01``) or path.
        parameters: parameters for this notebook; those it does not declare are dropped.
        output_dir: where the run folder goes.
        plan: read-only: report what would change, with zero writes.
        log_output: stream the cells' output to the log (secrets redacted).
        sandbox: the sandbox to use when the target is the sandbox (started if missing).
        kernel_env: kernel variables set last (``None``: removed); credentials are guarded.

    Returns:
        The result; ``exit_code`` 0 done, 1 failed, 2 bad input, 3 manual step pending,
        4 done but findings failed.

    Raises:
        BadInput: unknown notebook or mistyped parameter (before anything runs).
    """
    path, params = prepare_parameters(name, parameters, plan=plan)
    if not _CLEANED:  # once per process: what killed runs left in $TMPDIR
        _CLEANED.append(bool(kernels.clean_leftovers()))
    names = [path.name, "run.json", "kernel.log"] + (["run.log"] if log_output else [])
    run_dir = artifacts.open_run_dir(output_dir, path.stem, names)
    guard = LeakGuard().start()
    creds = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")  # an account's, from the fan-out
    guard.add("AWS credentials", [v for k, v in (kernel_env or {}).items() if k in creds and v])
    try:
        exporter = HtmlExporter()  # ready by the time the notebook has run
        started = time.time()
        sandbox_url = ""
        if _target(params) == "sandbox":
            sandbox_url = running_sandbox_url() or (sandbox or shared_sandbox()).url
        outcome = _execute(
            path,
            params,
            run_dir,
            guard,
            log_output=log_output,
            sandbox_url=sandbox_url,
            kernel_env=kernel_env,
        )
        executed = time.time()
        artifacts.release_reserve(run_dir)
        # the record first (it fits in the space set aside), then the large HTML export
        record = _complete_record(run_dir, path, params, outcome, (started, executed))
        # which sandbox: two runs of moto's one account ID are the same account only in one
        record["sandbox_instance"] = sandbox_instance(sandbox_url)
        where = _keep_record(run_dir, record)
        problem = _export(exporter, run_dir, path)
        record["timings"]["html_export"] = round(time.time() - executed, 2)
        if problem:
            record = _full_disk(record, run_dir, problem)
        with contextlib.suppress(OSError):  # in place: the space is the one it just freed
            if where.parent == run_dir:
                artifacts.write_record(run_dir, record)
            else:
                artifacts.write_json(where, record)
        record, clean = artifacts.refuse_leaks(guard, run_dir, record)
        artifacts.publish(run_dir, clean)
        values = guard.values
    finally:
        guard.stop()
    code, status, message = record["exit_code"], record["status"], record["message"]
    return RunResult(path.stem, run_dir, code, status, message, record, values)


_SHARED: Sandbox | None = None


def shared_sandbox() -> Sandbox:
    """The sandbox this process started for runs that did not bring one."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Sandbox().start()
    return _SHARED
