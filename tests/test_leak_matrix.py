"""The leak matrix, headless half: every runbook run by the runner (with ``log_output``), by the
CLI (``--log-output``), in plan mode, failing at its last write and with bad input; every artifact
of each run is scanned for that run's actual secrets, read back from their destinations.

The other half (widgets driven in a live kernel, nbval, ``runbook docs``, test failure output)
is ``test_leak_matrix_kernels.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from helpers import reset_sandbox
from leak_scan import (
    Secrets,
    assert_announced,
    assert_clean,
    destination_secrets,
)

from runbook_lib.interfaces.docs import build_site
from runbook_lib.run.refresh import clean_notebook
from runbook_lib.run.runner import RunResult, run_notebook
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

BOOKS = ("00", "01", "02", "03")
#: writes of a first run (each run has its own user, S1 its own group too)
WRITES = {"00": 0, "01": 7, "02": 3, "03": 2}
#: what each book delivers, by kind (S3's QR code is drawn only for a person)
DELIVERS = {
    "00": set(),
    "01": {"password"},
    "02": {"secret-access-key"},
    "03": {"mfa-seed", "otpauth-uri"},
}
ARTIFACTS = {"run.json", "run.log", "kernel.log"}
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One headless run and the secrets it delivered."""

    book: str
    user: str
    secrets_dir: Path
    result: RunResult
    secrets: Secrets


@pytest.fixture(scope="module")
def iam() -> Any:
    """An IAM client on the sandbox, reset once for this module (each run has its own user)."""
    reset_sandbox()
    return boto3.client("iam")


def params(book: str, user: str, secrets_dir: Path) -> dict[str, Any]:
    """Parameters that make ``book`` deliver its secret to a file in ``secrets_dir``."""
    common = {"user_name": user, "secrets_dir": str(secrets_dir)}
    return {
        "00": {},
        "01": {**common, "group_name": f"{user}-group", "billing_access_confirmed": True},
        "02": common,
        "03": {**common, "seed_destination": "file"},
    }[book]


def prepare(iam: Any, book: str, user: str) -> None:
    """S2 and S3 work on an existing user."""
    if book in ("02", "03"):
        iam.create_user(UserName=user)


def run(
    iam: Any, book: str, way: str, tmp: Path, *, plan: bool = False, **extra: Any
) -> tuple[str, Path, RunResult]:
    user = f"leak{book}-{way}"
    prepare(iam, book, user)
    secrets_dir = tmp / way / "secrets"
    values = {**params(book, user, secrets_dir), **extra}
    result = run_notebook(book, values, output_dir=tmp / way / "runs", plan=plan, log_output=True)
    return user, secrets_dir, result


def check_artifacts(result: RunResult, secrets: Secrets) -> None:
    """Scan every file of the run folder and the run's message; then check the folder's files."""
    assert_clean(result.artifacts, secrets, {"RunResult.message": result.message})
    names = {p.name for p in result.artifacts}
    assert names >= ARTIFACTS, f"missing artifacts: {ARTIFACTS - names}"
    assert {p.suffix for p in result.artifacts} >= {".ipynb", ".html"}
    streamed = "Executing Cell" in (result.run_dir / "run.log").read_text("utf-8")
    assert streamed, "run.log holds the cell output"


@pytest.fixture(scope="module")
def headless(iam: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Each runbook's first run through ``runner.run_notebook(log_output=True)``."""
    tmp = tmp_path_factory.mktemp("headless")
    runs: dict[str, Run] = {}
    for book in BOOKS:
        user, secrets_dir, result = run(iam, book, "headless", tmp)
        secrets = destination_secrets(book, secrets_dir, user)
        runs[book] = Run(book, user, secrets_dir, result, secrets)
    return runs


@pytest.fixture(scope="module")
def known(headless: dict[str, Run]) -> Secrets:
    """Every secret the headless runs delivered (what a later run must not show either)."""
    found = Secrets()
    for r in headless.values():
        found.extend(r.secrets)
    return found


@pytest.mark.parametrize("book", BOOKS)
def test_headless_run_with_log_output_leaks_no_secret(book: str, headless: dict[str, Run]) -> None:
    r = headless[book]
    secrets = Secrets(list(r.secrets.items))
    for value in r.result.secret_values:
        secrets.add("announced secret", value)
    check_artifacts(r.result, secrets)
    assert r.result.exit_code == 0, r.result.message
    assert r.result.record["writes"] == WRITES[book]
    cell_output = "Caller: arn:aws:" in (r.result.run_dir / "run.log").read_text("utf-8")
    assert cell_output, "run.log holds what the cells printed"
    assert secrets.kinds >= DELIVERS[book]
    assert_announced(r.secrets, DELIVERS[book], r.result.secret_values)
    if book == "00":
        assert r.result.secret_values == [], "S0 only reads: no secret exists"


@pytest.mark.parametrize("book", BOOKS)
def test_plan_run_creates_no_secret_and_makes_no_writes(
    book: str, iam: Any, known: Secrets, tmp_path: Path
) -> None:
    user, secrets_dir, result = run(iam, book, "plan", tmp_path, plan=True)
    check_artifacts(result, known)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0 and result.record["plan"] is True
    assert result.secret_values == [], "no secret may exist in a plan run"
    assert not secrets_dir.exists()
    if book != "00":
        iam_users = {u["UserName"] for u in iam.list_users()["Users"]}
        if book == "01":
            assert user not in iam_users
        else:
            assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
            devices = iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
            assert not [d for d in devices if d["SerialNumber"].endswith(f"/{user}")]


@pytest.mark.parametrize("book", ("01", "02", "03"))
def test_run_failing_at_its_last_write_leaks_no_secret(
    book: str, iam: Any, known: Secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(WRITES[book]))  # the secret exists by then
    user, secrets_dir, result = run(iam, book, "fault", tmp_path)
    delivered = destination_secrets(book, secrets_dir, user)
    secrets = Secrets(list(delivered.items))
    secrets.extend(known)
    for value in result.secret_values:
        secrets.add("announced secret", value)
    check_artifacts(result, secrets)
    assert result.exit_code == 1 and result.status == "failed", result.message
    assert "InjectedFault" in result.message
    assert_announced(delivered, DELIVERS[book], result.secret_values)


BAD_INPUT = {
    "00": ({"expected_account_id": "000000000000"}, "000000000000"),
    "01": ({"user_name": "bad name"}, "user_name"),
    "02": ({"user_name": "nobody-here"}, "does not exist"),
    "03": ({"device_name": "no spaces allowed"}, "device_name"),
}


@pytest.mark.parametrize("book", BOOKS)
def test_bad_input_run_leaks_no_secret_and_creates_none(
    book: str, iam: Any, known: Secrets, tmp_path: Path
) -> None:
    extra, words = BAD_INPUT[book]
    _, secrets_dir, result = run(iam, book, "bad", tmp_path, **extra)
    check_artifacts(result, known)
    assert result.exit_code == 2, result.message
    assert words in result.message
    assert result.record["writes"] == 0 and result.secret_values == []
    assert not secrets_dir.exists()


def test_html_export_of_executed_runs_leaks_no_secret(
    headless: dict[str, Run], known: Secrets, tmp_path: Path
) -> None:
    """The run notebooks, cleaned as a refresh cleans them, rendered by the course builder."""
    books = []
    for r in headless.values():
        (executed,) = [p for p in r.result.artifacts if p.suffix == ".ipynb"]
        nb = clean_notebook(nbformat.read(executed, as_version=4))
        copy = tmp_path / "notebooks" / executed.name
        copy.parent.mkdir(exist_ok=True)
        nbformat.write(nb, copy)
        books.append(copy)
    pages = build_site(tmp_path / "site", books)
    assert len(pages) == 4
    assert_clean([tmp_path / "site"], known)


def cli(
    args: list[str], env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.interfaces.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def cli_all(iam: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """``runbook run --all --log-output`` in a subprocess: 00, 04, 01 to 03 for one new user."""
    tmp = tmp_path_factory.mktemp("cli")
    user = "leak-cli"
    proc = cli(
        [
            "run",
            "--all",
            "-f",
            "parameters/sandbox.yaml",
            "-p",
            "user_name",
            user,
            "-p",
            "group_name",
            f"{user}-group",
            "-p",
            "secrets_dir",
            str(tmp / "secrets"),
            "-p",
            "seed_destination",
            "file",
            "--log-output",
            "--output-dir",
            str(tmp / "runs"),
        ]
    )
    yield tmp, proc


def test_cli_run_all_with_log_output_leaks_no_secret(cli_all: tuple[Path, Any]) -> None:
    tmp, proc = cli_all
    secrets = Secrets()
    for book in BOOKS:
        secrets.extend(destination_secrets(book, tmp / "secrets", "leak-cli"))
    assert secrets.kinds == {"password", "secret-access-key", "mfa-seed", "otpauth-uri", "qr-png"}
    run_dirs = sorted((tmp / "runs").iterdir())
    assert_clean(run_dirs, secrets, {"stdout": proc.stdout, "stderr": proc.stderr})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(run_dirs) == 5
    for folder in run_dirs:
        assert {p.name for p in folder.iterdir()} >= ARTIFACTS
    assert proc.stdout.count(" done (") == 5
    assert proc.stderr.count("Mode: apply, headless") == 5, "--log-output streams cell output"


def test_cli_failing_run_leaks_no_secret(iam: Any, known: Secrets, tmp_path: Path) -> None:
    user = "leak02-cli-fault"
    iam.create_user(UserName=user)
    proc = cli(
        [
            "run",
            "02",
            "-p",
            "user_name",
            user,
            "-p",
            "secrets_dir",
            str(tmp_path / "secrets"),
            "--log-output",
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        {FAULT_AT_WRITE_VAR: str(WRITES["02"])},
    )
    secrets = destination_secrets("02", tmp_path / "secrets", user)
    secrets.extend(known)
    assert_clean([tmp_path / "runs"], secrets, {"stdout": proc.stdout, "stderr": proc.stderr})
    assert proc.returncode == 1 and "InjectedFault" in proc.stderr


LEAKY_CELL = """from runbook_lib.core.secrets import Secret
import secrets
leaky = Secret("password", "Leaky-" + secrets.token_urlsafe(12))
print(leaky.text())"""


def test_guard_redacts_the_log_and_refuses_artifacts_of_a_leaky_notebook(tmp_path: Path) -> None:
    """The canary: a notebook that prints a secret. The scan above would see it; the runner
    redacts it from run.log and deletes the notebook and HTML instead of keeping them."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            'target: str = "sandbox"  # sandbox', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(LEAKY_CELL),
    ]
    book = tmp_path / "99_leaky.ipynb"
    nbformat.write(nb, book)
    result = run_notebook(str(book), {}, output_dir=tmp_path / "runs", log_output=True)
    secrets = Secrets()
    for value in result.secret_values:
        secrets.add("password", value)
    assert_clean(result.artifacts, secrets, {"RunResult.message": result.message})
    assert result.status == "secret leak refused" and result.exit_code == 1
    assert {p.name for p in result.artifacts} == {"run.json", "run.log", "kernel.log"}
    assert "[password redacted]" in (result.run_dir / "run.log").read_text("utf-8")
