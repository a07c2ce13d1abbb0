"""What a person at a terminal sees from `runbook`: fast one-line refusals, typed
`-p` values, the run summary, exit 4 for failed findings, busy ports, private artifacts.

Behaviour of the process (exit code, stdout/stderr, timing) is tested on a real `runbook`
process found next to this interpreter; the summary and the checks' rules also in-process.
Kernel starts: one real S0 run (module fixture), one fixture notebook, one bad target.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput, TargetRefused
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, Sandbox, running_sandbox_url
from runbook_lib.core.target import TargetSpec, connect
from runbook_lib.interfaces.cli import main
from runbook_lib.run import precheck
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import parse_value
from runbook_lib.run.runner import run_notebook
from runbook_lib.run.summary import summary_lines

RUNBOOK = Path(sys.executable).parent / "runbook"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
S0 = "00_check_root_usage"
#: a refusal must come well before a kernel would have started (the aim is < 3 s; the
#: bound leaves room for a loaded 2-core machine, the measured figures are in the notes)
FAST = 5.0


def runbook(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    """A real `runbook ARGS` process: (exit code, stdout, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(RUNBOOK), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def one_line(text: str) -> bool:
    return text.count("\n") == 1 and text.endswith("\n")


# --- fail fast: refused before any kernel starts, in one line ----------------------------------


def _without_sandbox() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(environ.SANDBOX_URL, None)
    return env


def _unreachable_env() -> dict[str, str]:
    # credentials that exist (fake), so the only problem is the endpoint
    return {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "fake"}


FAST_REFUSALS = [
    pytest.param(
        ["run", "01", "-p", "user_name", "bad name!"],
        None,
        2,
        "user_name 'bad name!' is not a valid IAM user name",
        id="bad-user-name",
    ),
    pytest.param(
        ["run", "01", "-p", "tags", "{aws:team: x}"],
        None,
        2,
        "tags",
        id="bad-tag",
    ),
    pytest.param(
        ["run", "02", "-p", "user_name", "nobody-here"],
        None,
        2,
        "User 'nobody-here' does not exist in account 123456789012 (IAM NoSuchEntity)",
        id="missing-user-running-sandbox",
    ),
    pytest.param(
        ["run", "03", "-p", "user_name", "nobody-here"],
        "new-sandbox",
        2,
        "User 'nobody-here' does not exist in a new sandbox",
        id="missing-user-new-sandbox",
    ),
    pytest.param(
        ["run", "00", "--endpoint-url", "http://127.0.0.1:1"],
        "unreachable",
        1,
        "Cannot reach endpoint http://127.0.0.1:1 (EndpointConnectionError",
        id="unreachable-endpoint",
    ),
    pytest.param(
        ["run", "00", "--profile", "doesnotexist"],
        None,
        2,
        "AWS profile 'doesnotexist' was not found",
        id="unknown-profile",
    ),
    pytest.param(
        ["run", "00", "-p", "expected_account_id", "111122223333"],
        None,
        2,
        "reach account 123456789012, not expected_account_id 111122223333",
        id="wrong-account",
    ),
    pytest.param(
        ["run", "00", "-p", "expected_account_id", "11112222333"],
        None,
        2,
        "expected_account_id '11112222333' is not a 12-digit AWS account ID",
        id="account-id-too-short",
    ),
]


@pytest.mark.parametrize(("args", "env_kind", "code", "says"), FAST_REFUSALS)
def test_refusal_is_one_line_and_fast_and_starts_no_kernel(
    tmp_path: Path, args: list[str], env_kind: str | None, code: int, says: str
) -> None:
    env = {"new-sandbox": _without_sandbox, "unreachable": _unreachable_env}.get(
        env_kind or "", lambda: dict(os.environ)
    )()
    output = tmp_path / "runs"

    got, out, err, seconds = runbook(*args, "--output-dir", str(output), env=env)

    assert (got, out) == (code, "")
    assert one_line(err) and err.startswith("runbook: ") and says in err
    assert ("Nothing was changed." in err) == (code == 2)
    assert seconds < FAST, f"{seconds:.1f} s"
    assert not output.exists(), "no run folder: no kernel was started"


def test_a_target_refused_inside_the_kernel_still_exits_2_with_its_record(tmp_path: Path) -> None:
    # run_notebook has no CLI in front of it: the kernel's preflight refuses, as before
    result = run_notebook(S0, {"target": "production"}, output_dir=tmp_path)

    assert (result.exit_code, result.status) == (2, "bad input")
    assert "BadInput: target 'production' is not known" in result.message
    assert result.message.endswith("Nothing was changed.")
    assert result.record["writes"] == 0


def test_an_unreachable_endpoint_is_given_up_after_one_retry_in_the_kernel_too() -> None:
    from botocore.exceptions import EndpointConnectionError

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
        sts = connect(TargetSpec("endpoint", endpoint_url="http://127.0.0.1:1")).client("sts")
        started = time.monotonic()
        with pytest.raises(EndpointConnectionError):
            sts.get_caller_identity()

    assert time.monotonic() - started < 3  # 10 attempts with back-off took ≈ 20 s


# --- typed -p values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "type_name", "value"),
    [
        ("111122223333", "str", "111122223333"),
        ("007", "str", "007"),
        ("true", "str", "true"),
        ("'111122223333'", "str", "111122223333"),
        ("'it''s'", "str", "it's"),
        ("'half", "str", "'half"),
        ("true", "bool", True),
        ("3", "int", 3),
        ("{team: x}", "dict", {"team": "x"}),
        ("[a, b]", "", ["a", "b"]),
    ],
)
def test_dash_p_value_is_typed_by_the_declared_type(raw: str, type_name: str, value: Any) -> None:
    assert parse_value(raw, type_name) == value


def test_a_boolean_parameter_given_a_word_is_refused_before_a_kernel(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "00", "-p", "fail_on_findings", "often", "--output-dir", str(tmp_path)])

    assert code == 2
    assert "'fail_on_findings' of 00_check_root_usage must be bool" in err.getvalue()
    assert not list(tmp_path.iterdir())


# --- one real S0 run: typed account ID, findings, exit 4, summary, artifact modes ------------


@pytest.fixture(scope="module")
def s0_findings_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """S0 on an empty sandbox (no administrator, no password policy, no support role: four
    FAILs), fail_on_findings."""
    Sandbox(url=running_sandbox_url()).reset()
    output = tmp_path_factory.mktemp("runs")
    code, out, err, _ = runbook(
        "run",
        "00",
        "-p",
        "expected_account_id",
        SANDBOX_ACCOUNT_ID,  # digits, typed str by the notebook: kept as text
        "-p",
        "fail_on_findings",
        "true",
        *("--html", "each"),  # the HTML export too, private like every artifact
        "--output-dir",
        str(output),
    )
    (run_dir,) = list(output.iterdir())
    return code, out, err, run_dir


def test_failed_findings_exit_4_not_1(s0_findings_run: tuple[int, str, str, Path]) -> None:
    code, out, err, run_dir = s0_findings_run

    assert code == 4, err
    assert f"▶ {S0} … findings failed (0 writes" in out
    record = json.loads((run_dir / "run.json").read_text("utf-8"))
    assert (record["status"], record["exit_code"]) == ("findings failed", 4)
    assert record["parameters"]["expected_account_id"] == SANDBOX_ACCOUNT_ID


def test_findings_are_structured_in_run_json(s0_findings_run: tuple[int, str, str, Path]) -> None:
    record = json.loads((s0_findings_run[3] / "run.json").read_text("utf-8"))
    findings = {f["control"]: f for f in record["findings"]}

    assert len(findings) == 17  # CIS v7.0.0 2.4-2.15, 2.19, 2.20 and S0's own checks
    assert findings["S0-admins"]["status"] == "FAIL"
    assert findings["S0-admins"]["advice"].startswith("Run 01_create_admin_user")
    assert findings["S0-caller"]["status"] == "PASS"
    assert findings["2.8"]["status"] == "FAIL"  # no password policy yet


def test_summary_names_the_target_counts_findings_and_shows_the_failed_one(
    s0_findings_run: tuple[int, str, str, Path],
) -> None:
    _, out, err, _ = s0_findings_run

    caller = f"arn:aws:sts::{SANDBOX_ACCOUNT_ID}:user/moto"
    assert f"account {SANDBOX_ACCOUNT_ID}, caller {caller}" in out
    assert "changed: nothing (0 writes)" in out
    assert "findings: 7 PASS, 4 FAIL, 4 NOT_KNOWN, 2 NOT_APPLICABLE" in out  # CIS v7.0.0
    assert (
        "[FAIL] S0-admins An IAM administrator exists: no IAM user holds AdministratorAccess → "
        "Run 01" in out
    )
    assert "The IAM audit failed: 2.8 Password policy requires at least 14 characters" in err
    assert "above" not in err and "below" not in err


def test_kept_artifacts_stay_private_once_scanned(
    s0_findings_run: tuple[int, str, str, Path],
) -> None:
    run_dir = s0_findings_run[3]

    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir()}
    assert {f"{S0}.ipynb", f"{S0}.html", "run.json", "findings.csv", "kernel.log"} <= set(modes)
    assert set(modes.values()) == {0o600}


def test_artifacts_are_private_until_the_leak_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, int] = {}
    scan = LeakGuard.scan

    def scan_and_look(self: LeakGuard, paths: list[Path]) -> Any:
        for path in paths:
            seen.setdefault(path.name, stat.S_IMODE(path.stat().st_mode))
        seen.setdefault("<folder>", stat.S_IMODE(paths[0].parent.stat().st_mode))
        return scan(self, paths)

    monkeypatch.setattr(LeakGuard, "scan", scan_and_look)
    result = run_notebook(str(FIXTURES / "91_raise_error.ipynb"), {}, output_dir=tmp_path)

    assert result.exit_code == 1
    assert {"91_raise_error.ipynb", "91_raise_error.html", "run.json"} <= set(seen)
    assert seen.pop("<folder>") == 0o700
    assert set(seen.values()) == {0o600}, seen
    assert {stat.S_IMODE(p.stat().st_mode) for p in result.artifacts} == {0o600}


# --- the summary, from a record (no kernel) ---------------------------------------------------


def test_summary_of_a_run_that_changed_things_says_what_and_where_secrets_went() -> None:
    record = {
        "target": "profile 'ops'",
        "account_id": "111122223333",
        "caller_arn": "arn:aws:iam::111122223333:user/ops",
        "writes": 2,
        "changes": [{"action": "create-user", "resource": "arn:aws:iam::111122223333:user/A"}],
        "manual_steps": [
            {
                "step": "S1.2",
                "title": "Billing access",
                "status": "pending",
                "how": "a person grants it as root",
            }
        ],
        "secrets": [{"kind": "console-password", "destination": "/s/a.csv", "fingerprint": "x"}],
    }

    lines = summary_lines(record)

    assert lines == [
        "  target: profile 'ops', account 111122223333, caller arn:aws:iam::111122223333:user/ops",
        "  changed (1):",
        "    create-user arn:aws:iam::111122223333:user/A",
        "  manual steps pending (1):",
        "    S1.2 Billing access: a person grants it as root",
        "  secret: console-password → /s/a.csv",
    ]


def test_summary_of_a_plan_says_nothing_changed_and_lists_planned_actions() -> None:
    record = {
        "plan": True,
        "reads": 7,
        "planned": [{"action": "create-user", "resource": "Administrator"}],
    }

    assert summary_lines(record) == [
        "  plan: no changes made (7 reads); 1 planned:",
        "    would create-user Administrator",
    ]


# --- parameter rules and the target, in-process ----------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"user_name": "x" * 65},
        {"group_name": ""},
        {"path": "admins"},
        {"tags": {"aws:team": "x"}},
        {"policy_group": "bad group"},
        {"users": [{"name": "ok", "groups": ["bad group"]}]},
    ],
    ids=["long-user", "empty-group", "path", "aws-tag", "policy-group", "users-group"],
)
def test_parameter_rules_are_iam_s(params: dict[str, Any]) -> None:
    with pytest.raises(BadInput):
        precheck.check_parameters(params)


def test_a_new_sandbox_is_not_started_to_learn_it_has_no_users() -> None:
    started = time.monotonic()
    with pytest.raises(BadInput, match="does not exist in a new sandbox"):
        precheck.check_target({"target": "sandbox"}, sandbox_url="", user="Administrator")

    assert time.monotonic() - started < 1


def test_sandbox_target_with_another_expected_account_is_refused_without_a_call() -> None:
    with pytest.raises(TargetRefused, match="not expected_account_id 111122223333"):
        precheck.check_target({"expected_account_id": "111122223333"})


def test_a_run_that_creates_the_user_needs_none_beforehand() -> None:
    books = [Path("01_create_admin_user.ipynb"), Path("02_create_access_key.ipynb")]

    assert precheck.user_needed(books, {"user_name": "alice"}) == ""
    assert precheck.user_needed(books[1:], {"user_name": "alice"}) == "alice"
    assert precheck.user_needed(books[1:], {}) == "Administrator"


# --- lab / app ---------------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["lab"], ["app", "03"]], ids=["lab", "app"])
def test_busy_port_is_refused_before_any_url_is_printed(busy_port: int, command: list[str]) -> None:
    code, out, err, seconds = runbook(*command, "--port", str(busy_port), "--no-browser")

    assert (code, out) == (2, "")
    assert one_line(err) and f"Port {busy_port} on 127.0.0.1 is in use" in err
    assert "token" not in err and seconds < FAST


def test_app_help_names_the_real_notebooks() -> None:
    code, out, _, _ = runbook("app", "--help")

    assert code == 0
    for stem in (S0, "01_create_admin_user", "02_create_access_key", "03_enable_virtual_mfa"):
        assert stem in out
    assert "03_enable_mfa " not in out


@pytest.mark.parametrize("command", [[], ["run"], ["lab"], ["app"], ["clean"], ["fix"]])
def test_help_shows_no_rest_markup(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "usage: runbook" in shown and "``" not in shown
