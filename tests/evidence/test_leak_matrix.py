"""The leak matrix, headless half: every runbook run by a real ``runbook run --all --log-output``
process, by the runner failing at its last write (and by a ``runbook`` process failing there),
with bad input, and in plan mode; every artifact and stream of each run is scanned for that
run's actual secrets, read back from their destinations.

The kernel runs are the session's cached scenarios (``support.catalog``), shared with the other
test files; plan mode runs the notebooks' cells in-process (no secret may exist in it at all).
The other half (widgets driven in a live kernel, ``runbook docs``, test failure output) is
``test_leak_matrix_kernels.py``; nbval's is ``tests/evidence/nbval/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from support.aws import ACCOUNT, snapshot
from support.bad_input import BAD_INPUT_PROCESS_ROW
from support.catalog import (
    ALL_USER,
    BOOKS,
    DELIVERS,
    FAULT_02_PROCESS,
    FAULT_AT_LAST_WRITE,
    LEAKY_NOTEBOOK,
    RUN_ALL,
    WRITES,
)
from support.inprocess import run_in_process
from support.leak_scan import Secrets, assert_announced, assert_clean
from support.scenarios import ScenarioCache, ScenarioRun

from runbook_lib.authoring.docs import build_site
from runbook_lib.authoring.refresh import clean_notebook

ARTIFACTS = {"run.json", "run.log", "kernel.log"}


@pytest.fixture(scope="module")
def run_all(scenarios: ScenarioCache) -> ScenarioRun:
    return scenarios.run(RUN_ALL)


@pytest.fixture(scope="module")
def known(run_all: ScenarioRun) -> Secrets:
    """Every secret the headless runs delivered (what a later run must not show either)."""
    return run_all.delivered


def check_artifacts(run: ScenarioRun, secrets: Secrets) -> None:
    """Scan every file of every run folder and what the run printed; then check the folders."""
    assert_clean(run.artifacts, secrets, run.streams)
    assert run.run_dirs, "the run made a run folder"
    for folder in run.run_dirs:
        names = {p.name for p in folder.iterdir()}
        assert names >= ARTIFACTS, f"missing artifacts: {ARTIFACTS - names}"
        assert {p.suffix for p in folder.iterdir()} >= {".ipynb", ".html"}
        streamed = "Executing Cell" in (folder / "run.log").read_text("utf-8")
        assert streamed, "run.log holds the cell output"


def record_of(run: ScenarioRun, book: str) -> tuple[Path, dict[str, Any]]:
    """The run folder and record of ``book`` in a multi-notebook run."""
    (found,) = [(d, r) for d, r in zip(run.run_dirs, run.records) if r["notebook"][:2] == book]
    return found


def test_run_all_with_log_output_leaks_no_secret(run_all: ScenarioRun) -> None:
    secrets = run_all.delivered
    assert secrets.kinds == {"password", "secret-access-key", "mfa-seed", "otpauth-uri", "qr-png"}
    check_artifacts(run_all, secrets)
    assert run_all.exit_code == 0, run_all.stderr[-2000:]
    assert len(run_all.run_dirs) == 5  # 00, 04, 01, 02, 03 (05 is run on purpose, not by --all)
    assert run_all.stdout.count(" done (") == 5
    assert run_all.stderr.count("Mode: apply, headless") == 5, "--log-output streams cell output"


@pytest.mark.parametrize("book", BOOKS)
def test_each_runbook_of_run_all_makes_its_writes_and_logs_its_cells(
    book: str, run_all: ScenarioRun
) -> None:
    folder, record = record_of(run_all, book)
    assert (record["exit_code"], record["status"]) == (0, "done"), record["message"]
    assert record["writes"] == WRITES[book]
    assert "Caller: arn:aws:" in (folder / "run.log").read_text("utf-8"), "run.log holds output"
    kinds = {s["kind"] for s in record["secrets"]}
    assert bool(kinds) == bool(DELIVERS[book]), "a secret is recorded (by fingerprint) iff made"


def test_throttled_run_all_ends_as_an_unthrottled_one(run_all: ScenarioRun) -> None:
    """Every third request of every kernel was answered ``Throttling``; retries absorbed it."""
    user = run_all.after["users"][ALL_USER]
    assert len(user["mfa"]) == 1
    assert [status for _, status in user["keys"]] == ["Active"]
    assert user["groups"] == [f"{ALL_USER}s"] and user["login_profile"] is True


@pytest.mark.parametrize("book", BOOKS)
def test_plan_run_creates_no_secret_and_makes_no_writes(
    book: str, iam: Any, user_name: str, tmp_path: Path, known: Secrets
) -> None:
    if book in ("02", "03"):
        iam.create_user(UserName=user_name)
    secrets_dir = tmp_path / "secrets"
    params = {
        "user_name": user_name,
        "group_name": f"{user_name}s",
        "secrets_dir": str(secrets_dir),
        "billing_access_confirmed": True,
    }
    before = snapshot([user_name])
    run = run_in_process(book, params, plan=True, ignore_unknown=True)
    assert run.exit_code == 0, run.message
    assert run.record["writes"] == 0 and run.record["plan"] is True
    assert run.record["secrets"] == [], "no secret may exist in a plan run"
    assert not secrets_dir.exists()
    assert snapshot([user_name]) == before
    assert_clean([], known, {"cell outputs": run.outputs()})


@pytest.mark.parametrize("book", ("01", "02", "03"))
def test_run_failing_at_its_last_write_leaks_no_secret(
    book: str, scenarios: ScenarioCache, known: Secrets
) -> None:
    run = scenarios.run(FAULT_AT_LAST_WRITE[book])
    secrets = Secrets(list(run.delivered.items))
    secrets.extend(known)
    for value in run.secret_values or []:
        secrets.add("announced secret", value)
    check_artifacts(run, secrets)
    assert run.exit_code == 1 and run.result is not None and run.result.status == "failed"
    assert "InjectedFault" in run.message
    assert_announced(run.delivered, DELIVERS[book], run.secret_values or [])


def test_process_failing_at_its_last_write_leaks_no_secret(
    scenarios: ScenarioCache, known: Secrets
) -> None:
    run = scenarios.run(FAULT_02_PROCESS)
    secrets = Secrets(list(run.delivered.items))
    secrets.extend(known)
    check_artifacts(run, secrets)
    assert run.exit_code == 1 and "InjectedFault" in run.stderr


@pytest.mark.parametrize("book", BOOKS)
def test_bad_input_run_leaks_no_secret_and_creates_none(
    book: str, scenarios: ScenarioCache, known: Secrets
) -> None:
    row = BAD_INPUT_PROCESS_ROW[book]
    run = scenarios.run(row.scenario())
    assert_clean(run.artifacts, known, run.streams)
    assert run.exit_code == 2, run.stderr
    assert row.fragment in run.stderr
    if row.run_folder:  # the kernel refused it
        assert run.record["writes"] == 0 and run.record["secrets"] == []
    else:  # the CLI refused it before a kernel started
        assert run.run_dirs == []
    kept = {f"{ACCOUNT}-Keyless_accessKeys.csv", f"{ACCOUNT}-NewAdmin_credentials.csv"}
    assert {p.name for p in run.secrets_dir.iterdir()} == kept, "no secret file was made"


def test_html_export_of_executed_runs_leaks_no_secret(
    run_all: ScenarioRun, known: Secrets, tmp_path: Path
) -> None:
    """The run notebooks, cleaned as a refresh cleans them, rendered by the course builder."""
    books = []
    for folder in run_all.run_dirs:
        (executed,) = folder.glob("*.ipynb")
        nb = clean_notebook(nbformat.read(executed, as_version=4))
        copy = tmp_path / "notebooks" / executed.name
        copy.parent.mkdir(exist_ok=True)
        nbformat.write(nb, copy)
        books.append(copy)
    pages = build_site(tmp_path / "site", books)
    assert len(pages) == 5  # the five runbooks of --all
    assert_clean([tmp_path / "site"], known)


def test_guard_redacts_the_log_and_refuses_artifacts_of_a_leaky_notebook(
    scenarios: ScenarioCache,
) -> None:
    """The canary: a notebook that prints a secret (and puts it in its record and error). The
    scan above would see it; the runner redacts it from run.log and deletes the notebook and
    HTML instead of keeping them."""
    run = scenarios.run(LEAKY_NOTEBOOK)
    assert run.result is not None and run.secret_values, "the kernel announced its secret"
    secrets = Secrets()
    for value in run.secret_values:
        secrets.add("password", value)
    assert_clean(run.artifacts, secrets, run.streams)
    assert run.result.status == "secret leak refused" and run.exit_code == 1
    assert {p.name for p in run.artifacts} == ARTIFACTS
    assert "[password redacted]" in (run.run_dirs[0] / "run.log").read_text("utf-8")
