"""The runner and the `runbook` command: exit codes, run records, plan mode, the leak refusal.

Headless runs cost a kernel each (≈3–5 s), so only behaviours that need a kernel start one; each
fixture notebook in ``tests/fixtures/notebooks/`` is paired with the test that runs it here.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.catalog import LEAKY_NOTEBOOK, PENDING
from support.leak_scan import assert_no_secret
from support.scenarios import ScenarioCache

from runbook_lib import BadInput, preflight
from runbook_lib.core.context import PlanModeWrite
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, Sandbox
from runbook_lib.core.secrets import fingerprint
from runbook_lib.interfaces.cli import main
from runbook_lib.run.runner import RunResult, run_notebook

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
SANDBOX_PARAMS = ROOT / "parameters" / "sandbox.yaml"
S0 = "00_check_root_usage"


def only_run(output_dir: Path) -> Path:
    """The one run folder a command wrote under ``output_dir``."""
    runs = list(output_dir.iterdir())
    assert len(runs) == 1, f"expected one run folder, found {len(runs)}"
    return runs[0]


def run_json(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text("utf-8"))
    return data


def cli(*args: str) -> tuple[int, str, str]:
    """``runbook ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# --- bad input: refused before anything runs (no kernel, no run folder) ------------------------


def test_unknown_notebook_is_bad_input_with_a_suggestion(tmp_path: Path) -> None:
    code, _, err = cli("run", "00_check_root_usge", "--output-dir", str(tmp_path / "runs"))

    assert code == 2
    assert "Unknown notebook '00_check_root_usge': did you mean '00_check_root_usage'?" in err
    assert not (tmp_path / "runs").exists()


def test_unknown_notebook_number_is_refused_by_run_notebook(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="Unknown notebook '97'") as refused:
        run_notebook("97", {}, output_dir=tmp_path / "runs")

    assert refused.value.exit_code == 2
    assert not (tmp_path / "runs").exists()


def test_mistyped_parameter_is_bad_input_with_did_you_mean(tmp_path: Path) -> None:
    code, _, err = cli(
        "run", "00", "-p", "fail_on_finding", "true", "--output-dir", str(tmp_path / "runs")
    )

    assert code == 2
    assert "Unknown parameter 'fail_on_finding': did you mean 'fail_on_findings'?" in err
    assert not (tmp_path / "runs").exists()


def test_malformed_parameters_file_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: sandbox\nregion: [us-east-1\n")

    code, _, err = cli("run", "00", "-f", str(bad), "--output-dir", str(tmp_path / "runs"))

    assert code == 2
    assert f"Parameters file {bad} is not valid YAML at line" in err
    assert not (tmp_path / "runs").exists()


def test_parameters_file_that_is_not_a_mapping_is_bad_input(tmp_path: Path) -> None:
    listing = tmp_path / "list.yaml"
    listing.write_text("- target\n- sandbox\n")

    code, _, err = cli("run", "00", "-f", str(listing), "--output-dir", str(tmp_path / "runs"))

    assert code == 2
    assert "must be a mapping of name: value, not list" in err


def test_missing_parameters_file_is_bad_input(tmp_path: Path) -> None:
    code, _, err = cli("run", "00", "-f", str(tmp_path / "nope.yaml"))

    assert code == 2
    assert "does not exist: fix the -f path" in err


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("fail_on_findings", "often", "'fail_on_findings' of 00_check_root_usage must be bool"),
        ("fail_on_findings", "3", "'fail_on_findings' of 00_check_root_usage must be bool"),
    ],
)
def test_parameter_of_the_wrong_type_is_bad_input(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    code, out, err = cli("run", "00", "-p", name, value, "--output-dir", str(tmp_path / "runs"))

    assert code == 2
    assert says in err
    assert out == ""  # refused before the first notebook starts
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", "00", "--all"],
        ["run", "00", "--profile", "ops", "--endpoint-url", "http://127.0.0.1:5000"],
    ],
    ids=["no-notebook", "notebook-and-all", "profile-and-endpoint"],
)
def test_contradictory_command_line_is_bad_input(args: list[str]) -> None:
    code, _, err = cli(*args)

    assert code == 2
    assert err.startswith("runbook: ") and err.count("\n") == 1


def test_unknown_option_exits_2() -> None:
    with pytest.raises(SystemExit) as stopped, contextlib.redirect_stderr(io.StringIO()):
        main(["run", "00", "--dry-run"])

    assert stopped.value.code == 2


# --- plan mode ------------------------------------------------------------------------------


def test_plan_mode_stops_a_write_before_it_reaches_aws(session_sandbox: Sandbox) -> None:
    ctx = preflight("test", plan=True)
    name = f"plan-{secrets.token_hex(3)}"

    with pytest.raises(PlanModeWrite, match="CreateUser was about to be called"):
        ctx.iam.create_user(UserName=name)

    assert ctx.record.writes == 0
    users = boto3.client("iam", endpoint_url=session_sandbox.url).list_users()["Users"]
    assert name not in [u["UserName"] for u in users]


# --- S0 through the CLI: exit 0, plan mode, and what run.json holds ----------------------------


@pytest.fixture(scope="module")
def s0_plan_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One headless S0 run in plan mode, through `runbook run` in this process."""
    output = tmp_path_factory.mktemp("runs")
    code, out, _ = cli(
        "run", "00", "-f", str(SANDBOX_PARAMS), "--plan", "--output-dir", str(output)
    )
    return code, out, only_run(output)


def test_s0_run_exits_0_and_says_where_the_records_are(
    s0_plan_run: tuple[int, str, Path],
) -> None:
    code, out, run_dir = s0_plan_run

    assert code == 0
    assert f"▶ {S0} … done (0 writes" in out
    assert "Run records: " in out
    names = {p.name for p in run_dir.iterdir()}
    assert {f"{S0}.ipynb", "run.json"} <= names
    assert f"{S0}.html" not in names  # made only with --html each (issue 24)


def test_plan_mode_run_makes_zero_writes(s0_plan_run: tuple[int, str, Path]) -> None:
    record = run_json(s0_plan_run[2])

    assert record["plan"] is True
    assert record["parameters"]["plan"] is True
    assert record["writes"] == 0
    assert record["reads"] > 0


def test_run_json_records_what_a_reader_needs(s0_plan_run: tuple[int, str, Path]) -> None:
    record = run_json(s0_plan_run[2])

    assert record["notebook"] == S0
    assert record["parameters"] == {"target": "sandbox", "plan": True}
    assert record["account_id"] == SANDBOX_ACCOUNT_ID
    assert record["caller_arn"] == f"arn:aws:sts::{SANDBOX_ACCOUNT_ID}:user/moto"
    assert (record["status"], record["exit_code"], record["message"]) == ("done", 0, "")
    assert datetime.fromisoformat(record["started"]) < datetime.fromisoformat(record["ended"])
    assert record["calls"]["sts:GetCallerIdentity"] == 1
    assert record["calls"]["iam:GetCredentialReport"] == 1
    assert sum(record["calls"].values()) == record["reads"] + record["writes"]
    assert record["changes"] == [] and record["manual_steps"] == [] and record["secrets"] == []


def test_executed_notebook_keeps_no_widget_state_and_only_declared_parameters(
    s0_plan_run: tuple[int, str, Path],
) -> None:
    notebook = json.loads((s0_plan_run[2] / f"{S0}.ipynb").read_text("utf-8"))

    assert "widgets" not in notebook["metadata"]  # widget state is never stored
    assert notebook["metadata"]["papermill"]["parameters"] == {"target": "sandbox", "plan": True}


# --- a real `runbook` process: bad target → exit 2 before any kernel ---------------------------


def test_runbook_command_exits_2_on_a_bad_target_and_says_nothing_changed(tmp_path: Path) -> None:
    runbook = Path(sys.executable).parent / "runbook"
    output = tmp_path / "runs"

    done = subprocess.run(
        [str(runbook), "run", "00", "-p", "target", "production", "--output-dir", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "target 'production' is not known" in done.stderr
    assert "Nothing was changed." in done.stderr
    assert not output.exists()  # refused before a kernel (tests/interfaces/test_cli.py: in-kernel)


# --- fixture notebooks: failure, manual step, secrets -----------------------------------------


def test_notebook_that_raises_exits_1_and_keeps_its_artifacts(tmp_path: Path) -> None:
    result = run_notebook(str(FIXTURES / "91_raise_error.ipynb"), {}, output_dir=tmp_path)

    assert (result.exit_code, result.status) == (1, "failed")
    assert result.message == "RuntimeError: fixture: this notebook fails on purpose"
    assert {"91_raise_error.ipynb", "91_raise_error.html", "run.json"} <= {
        p.name for p in result.artifacts
    }
    assert run_json(result.run_dir)["status"] == "failed"


def test_pending_manual_step_exits_3_and_names_the_parameter(scenarios: ScenarioCache) -> None:
    """S1 with Step 2 (billing access, root-only) not confirmed, through a real ``runbook``
    process (the session's cached run: test_notebook_01 reads it too)."""
    run = scenarios.run(PENDING["01"])

    assert run.exit_code == 3, run.stderr
    assert "a person must do this; re-run with " in run.stdout
    assert "billing_access_confirmed: true once done" in run.stdout
    record = run.record
    assert record["status"] == "manual step pending"
    assert [(m["step"], m["status"]) for m in record["manual_steps"]] == [("S1.2", "pending")]


@pytest.fixture(scope="module")
def leaky_run(scenarios: ScenarioCache) -> RunResult:
    """93_leak_secret: prints a password, puts it in the run record and in its error (the
    session's cached run, with log_output: the leak matrix scans the same run)."""
    result = scenarios.run(LEAKY_NOTEBOOK).result
    assert result is not None
    return result


def test_leaking_notebook_exits_1_with_a_secret_leak_message(leaky_run: RunResult) -> None:
    assert (leaky_run.exit_code, leaky_run.status) == (1, "secret leak refused")
    assert leaky_run.message.startswith("SecretLeak: a secret of this run reached an artifact")
    assert "password in 93_leak_secret.ipynb" in leaky_run.message
    assert leaky_run.secret_values, "the kernel announced its secret to the runner"


def test_artifacts_holding_the_secret_are_deleted(leaky_run: RunResult) -> None:
    assert not (leaky_run.run_dir / "93_leak_secret.ipynb").exists()
    assert not (leaky_run.run_dir / "93_leak_secret.html").exists()
    record = run_json(leaky_run.run_dir)
    assert record["status"] == "secret leak refused"
    assert {"93_leak_secret.ipynb", "93_leak_secret.html"} <= set(record["deleted_artifacts"])


def test_no_file_left_in_the_run_folder_holds_the_secret(leaky_run: RunResult) -> None:
    left = sorted(p for p in leaky_run.run_dir.rglob("*") if p.is_file())

    assert left, "run.json stays, redacted"
    assert_no_secret(left, leaky_run.secret_values)
    record = json.dumps(leaky_run.record)
    # `any`, not `value in ...`: a failing assertion must not print the value
    assert not any(v in leaky_run.message for v in leaky_run.secret_values)
    assert not any(v in record for v in leaky_run.secret_values)


def test_secret_delivered_to_a_file_leaves_every_artifact_clean(
    tmp_path: Path, secrets_dir: Path
) -> None:
    result = run_notebook(str(FIXTURES / "94_keep_secret.ipynb"), {}, output_dir=tmp_path / "r")

    assert (result.exit_code, result.status) == (0, "done")
    assert {"94_keep_secret.ipynb", "94_keep_secret.html", "run.json"} <= {
        p.name for p in result.artifacts
    }
    assert result.secret_values, "the kernel announced its secret to the runner"
    assert_no_secret(result.artifacts, result.secret_values)
    delivered = secrets_dir / "kept-password.txt"
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o600
    delivered_print = fingerprint(delivered.read_text())  # compared as fingerprints, never shown
    assert delivered_print in {fingerprint(v) for v in result.secret_values}
    assert run_json(result.run_dir)["secrets"] == [
        {"kind": "password", "destination": str(delivered), "fingerprint": delivered_print}
    ]
