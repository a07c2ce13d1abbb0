"""``--compare`` compares what is comparable: the same account, and on the sandbox the same
sandbox instance (every ``runbook run`` without ``RUNBOOK_SANDBOX_URL`` starts its own, empty).

A baseline from another sandbox is refused in one line, exit 2, before any kernel starts: no
run folder is written, so none is shown as a result. The same sandbox compares (FAIL -> PASS
after a fix is proved end to end by ``tests/sections/root_usage/test_before_after.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.aws import client

from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_OK, BadInput
from runbook_lib.core.sandbox import (
    SANDBOX_URL_VAR,
    running_sandbox_url,
    sandbox_instance,
)
from runbook_lib.interfaces.cli import main
from runbook_lib.run.compare import check_comparable
from runbook_lib.run.summary import compare_lines

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = Path(sys.executable).parent / "runbook"
S0 = "00_check_root_usage"


def cli(*args: str) -> tuple[int, str, str]:
    """``runbook ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def run_json(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def private_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """S0 run by a ``runbook run`` with no shared sandbox: it started (and ended) its own."""
    out = tmp_path_factory.mktemp("private")
    env = {k: v for k, v in os.environ.items() if k not in (SANDBOX_URL_VAR, "AWS_ENDPOINT_URL")}
    done = subprocess.run(
        [str(RUNBOOK), "run", "00", "--output-dir", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == EXIT_OK, done.stderr
    (run_dir,) = list(out.iterdir())
    return run_dir


@pytest.fixture(scope="module")
def shared_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """S0 run on the session's sandbox (as a shell pointed at ``runbook sandbox`` would)."""
    out = tmp_path_factory.mktemp("shared")
    code, _, err = cli("run", "00", "--output-dir", str(out))
    assert code == EXIT_OK, err
    (run_dir,) = list(out.iterdir())
    return run_dir


def test_every_run_records_its_account_and_sandbox_instance(
    private_baseline: Path, shared_baseline: Path
) -> None:
    private, shared = run_json(private_baseline), run_json(shared_baseline)

    assert private["account_id"] == shared["account_id"] == "123456789012"
    assert shared["sandbox_instance"] == sandbox_instance(running_sandbox_url())
    assert private["sandbox_instance"].startswith("sbx-")
    assert private["sandbox_instance"] != shared["sandbox_instance"]


def test_a_baseline_from_another_sandbox_is_refused_in_one_line(
    private_baseline: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"

    code, stdout, stderr = cli("run", "00", "--compare", str(private_baseline),
                               "--output-dir", str(out))  # fmt: skip

    assert code == EXIT_BAD_INPUT
    (line,) = stderr.strip().splitlines()
    assert "another sandbox" in line and "runbook sandbox" in line
    assert run_json(private_baseline)["sandbox_instance"] in line
    assert "compared with" not in stdout and "(unchanged)" not in stdout
    assert not out.exists() or not list(out.iterdir())  # no run folder to mistake for a result


def test_a_run_that_would_start_its_own_sandbox_is_refused_before_it_starts(
    shared_baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SANDBOX_URL_VAR)
    out = tmp_path / "runs"

    code, stdout, stderr = cli("run", "00", "--compare", str(shared_baseline),
                               "--output-dir", str(out))  # fmt: skip

    assert code == EXIT_BAD_INPUT
    (line,) = stderr.strip().splitlines()
    assert "its own new, empty sandbox" in line and "runbook sandbox" in line
    assert not out.exists() or not list(out.iterdir())


def test_the_same_sandbox_compares(shared_baseline: Path, tmp_path: Path) -> None:
    code, stdout, stderr = cli("run", "00", "--compare", str(shared_baseline),
                               "--output-dir", str(tmp_path))  # fmt: skip

    assert code == EXIT_OK, stderr
    assert f"compared with {shared_baseline}:" in stdout
    assert "S0-caller PASS (unchanged)" in stdout


def test_a_baseline_of_another_account_is_refused(shared_baseline: Path) -> None:
    before = run_json(shared_baseline) | {"account_id": "111122223333", "sandbox_instance": ""}
    before["parameters"] = {"target": "endpoint"}
    before["target"] = "endpoint http://127.0.0.1:1"
    params = {"target": "endpoint", "endpoint_url": running_sandbox_url()}

    with pytest.raises(BadInput) as refused:
        check_comparable(before, params, shared_baseline)

    assert "account 111122223333" in str(refused.value)
    assert "account 123456789012" in str(refused.value)


def test_records_of_two_sandboxes_print_no_status_lines() -> None:
    finding = {"control": "2.8", "check": "password_min_length", "status": "FAIL"}
    before = {"account_id": "123456789012", "sandbox_instance": "sbx-aaaa", "findings": [finding]}
    after = before | {"sandbox_instance": "sbx-bbbb"}

    (line,) = compare_lines(before, after, "runs/before")

    assert "not compared" in line and "sbx-aaaa" in line and "sbx-bbbb" in line


def test_a_sandbox_keeps_its_instance_for_its_life() -> None:
    shared = running_sandbox_url()
    first = sandbox_instance(shared)
    client("iam").list_users()  # it answers AWS calls as before

    assert first.startswith("sbx-")
    assert sandbox_instance(shared) == first
    assert sandbox_instance("http://127.0.0.1:9") == ""  # nothing there: no instance
