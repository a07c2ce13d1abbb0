"""The scenario runner: each notebook run that needs a real kernel happens once per session.

A ``Scenario`` names a notebook, its parameters and environment, and how it is run: through
the library's runner (``runbook_lib.run.runner.run_notebook``, in this process) or through a real
``runbook`` process (``argv``). ``ScenarioCache.run`` runs it the first time it is asked for and
keeps what a test could check afterwards: the exit code, the message or the process's output,
every run folder and its ``run.json``, the secret values the runner's leak guard heard of, the
secrets delivered to their destinations, a snapshot of the sandbox before and after, and
optional in-process re-runs made right after it. Leak scans, zero-write checks and exit-code
checks are assertions over these cached runs: a scenario asked for by three test files runs once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.run.runner import RunResult, run_notebook
from support.aws import sandbox_url, snapshot
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import Secrets, destination_secrets

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"
SANDBOX_YAML = ROOT / "parameters" / "sandbox.yaml"


@dataclass(frozen=True)
class Scenario:
    """One notebook run. Text values may hold ``{work}`` (this scenario's own folder),
    ``{secrets}`` (``{work}/secrets``), ``{sandbox_yaml}`` and ``{sandbox_url}``.

    Attributes:
        id: unique name (also the folder name).
        book: the notebook (number, or a fixture notebook's file name) for the runner.
        params: parameters for the runner.
        argv: run a real ``runbook`` process with these arguments instead (``--output-dir`` is
            added); ``book`` is then only documentation.
        plan, log_output: the runner's switches.
        env: variables set for the run; ``unset``: variables removed for it.
        prepare: called with the scenario's folder before the run (create users, files).
        delivers: ``(book, user)`` pairs whose delivered secrets are read from their
            destinations after the run (``leak_scan.destination_secrets``).
        reruns: notebooks re-run in this process right after, with ``rerun_params``.
    """

    id: str
    book: str
    params: tuple[tuple[str, Any], ...] = ()
    argv: tuple[str, ...] = ()
    plan: bool = False
    log_output: bool = True
    env: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)
    delivers: tuple[tuple[str, str], ...] = ()
    reruns: tuple[str, ...] = ()
    rerun_params: tuple[tuple[str, Any], ...] = ()


@dataclass
class ScenarioRun:
    """What one scenario left behind (never re-run: read it)."""

    scenario: Scenario
    work: Path
    exit_code: int
    message: str
    stdout: str
    stderr: str
    run_dirs: list[Path]
    records: list[dict[str, Any]]
    before: dict[str, Any]
    after: dict[str, Any]
    delivered: Secrets
    secret_values: list[str] | None = field(default=None, repr=False)
    result: RunResult | None = None
    reruns: dict[str, InProcessRun] = field(default_factory=dict)
    after_reruns: dict[str, Any] = field(default_factory=dict)

    @property
    def record(self) -> dict[str, Any]:
        """The run record of a single-notebook scenario."""
        (only,) = self.records
        return only

    @property
    def artifacts(self) -> list[Path]:
        """Every file in every run folder."""
        return sorted(p for d in self.run_dirs for p in d.rglob("*") if p.is_file())

    @property
    def secrets_dir(self) -> Path:
        return self.work / "secrets"

    @property
    def streams(self) -> dict[str, str]:
        """Everything the run printed or said, by name (for leak scans)."""
        return {"message": self.message, "stdout": self.stdout, "stderr": self.stderr}


def fill(value: Any, work: Path) -> Any:
    """Replace the placeholders in a text value."""
    if not isinstance(value, str):
        return value
    return value.format(
        work=work,
        secrets=work / "secrets",
        sandbox_yaml=SANDBOX_YAML,
        sandbox_url=sandbox_url(),
    )


def _book(book: str) -> str:
    fixture = FIXTURE_NOTEBOOKS / book
    return str(fixture) if book.endswith(".ipynb") else book


class ScenarioCache:
    """Runs each scenario once per session, in a folder of its own under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._runs: dict[str, ScenarioRun] = {}
        self._scenarios: dict[str, Scenario] = {}

    def run(self, scenario: Scenario) -> ScenarioRun:
        """The cached run of ``scenario`` (run now if it has not been)."""
        known = self._scenarios.setdefault(scenario.id, scenario)
        assert known == scenario, f"two different scenarios are named {scenario.id!r}"
        if scenario.id not in self._runs:
            self._runs[scenario.id] = self._execute(scenario)
        return self._runs[scenario.id]

    def _execute(self, s: Scenario) -> ScenarioRun:
        work = self.root / s.id
        work.mkdir(parents=True)
        if s.prepare is not None:
            s.prepare(work)
        before = snapshot()
        with _environ({k: fill(v, work) for k, v in s.env}, s.unset):
            outcome = _process(s, work) if s.argv else _runner(s, work)
        after = snapshot()
        run_dirs = sorted(p for p in (work / "runs").glob("*") if p.is_dir())
        records = [json.loads((d / "run.json").read_text("utf-8")) for d in run_dirs]
        delivered = Secrets()
        for book, user in s.delivers:
            delivered.extend(destination_secrets(book, work / "secrets", user))
        reruns = {
            book: run_in_process(book, _params(s.rerun_params, work), ignore_unknown=True)
            for book in s.reruns
        }
        return ScenarioRun(
            after_reruns=snapshot() if reruns else after,
            scenario=s,
            work=work,
            run_dirs=run_dirs,
            records=records,
            before=before,
            after=after,
            delivered=delivered,
            reruns=reruns,
            **outcome,
        )


def _params(pairs: tuple[tuple[str, Any], ...], work: Path) -> dict[str, Any]:
    return {name: fill(value, work) for name, value in pairs}


def _runner(s: Scenario, work: Path) -> dict[str, Any]:
    result = run_notebook(
        _book(s.book),
        _params(s.params, work),
        output_dir=work / "runs",
        plan=s.plan,
        log_output=s.log_output,
    )
    return {
        "exit_code": result.exit_code,
        "message": result.message,
        "stdout": "",
        "stderr": "",
        "secret_values": result.secret_values,
        "result": result,
    }


def _process(s: Scenario, work: Path) -> dict[str, Any]:
    runbook = Path(sys.executable).parent / "runbook"
    argv = [str(runbook), *(fill(a, work) for a in s.argv), "--output-dir", str(work / "runs")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUNBOOK_NOTEBOOKS": str(ROOT / "notebooks")}
    done = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    return {
        "exit_code": done.returncode,
        "message": done.stderr.strip(),
        "stdout": done.stdout,
        "stderr": done.stderr,
    }


class _environ:
    """Set and unset variables for one run; restore the environment after."""

    def __init__(self, values: Mapping[str, str], unset: tuple[str, ...]) -> None:
        self.values, self.unset = values, unset

    def __enter__(self) -> None:
        self.saved = dict(os.environ)
        for name in self.unset:
            os.environ.pop(name, None)
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        os.environ.clear()
        os.environ.update(self.saved)
