"""What a Lab/Voilà page leaves behind and what it says when a prerequisite is missing.

- Each page load keeps its own record (``loads/<notebook>-<stamp>-<run id>.run.json``) with
  ``exit_code`` (a headless run's meaning) and ``parameters``; ``<notebook>.run.json`` is the
  newest load's copy. Real kernels with a server's environment load the session's working
  copies, as Voilà does.
- ``runbook app`` on a sandbox private to it names ``--seed-prerequisites`` at start-up and in
  the page's own "user does not exist" line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.aws import sandbox_url

from runbook_lib.core import environ
from runbook_lib.core.record import LOADS, RunRecord
from runbook_lib.core.sandbox import sandbox_instance
from runbook_lib.interfaces import apps
from runbook_lib.interfaces import session as session_mod
from runbook_lib.interfaces.cli import main
from runbook_lib.run.engine import execute
from runbook_lib.run.notebooks import find_notebook

RESTART = "runbook app 02 --seed-prerequisites"


def _load_page(session: Path, number: str, params: dict[str, Any], **env: str) -> None:
    """One page load: a new kernel with the server's environment runs the working copy."""
    copy = session_mod.working_copy(find_notebook(number), session, params)
    base = {k: v for k, v in os.environ.items() if k != environ.HEADLESS}
    kernel_env = apps.server_environ(
        base, sandbox_url=sandbox_url(), record_path=(session / session_mod.RECORD_NAME).resolve()
    )
    kernel_env.update(env)
    try:
        execute(copy, None, env=kernel_env)
    except Exception as err:  # a refused page: its record says how it ended  # noqa: BLE001
        assert "PapermillExecutionError" in type(err).__name__


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = tmp_path_factory.mktemp("session")
    _load_page(session, "02", {"mode": "rotat"})  # refused in the kernel: bad input
    _load_page(session, "02", {"user_name": "NoSuchPerson"}, **{environ.RESTART_SEEDED: RESTART})
    _load_page(session, "00", {"cis_version": "5.0.0"})
    return session


def test_each_page_load_keeps_its_own_record(pages: Path) -> None:
    loads = sorted((pages / LOADS).glob("02_create_access_key-*.run.json"))
    assert len(loads) == 2
    first, second = (_json(path) for path in loads)
    assert first["parameters"]["mode"] == "rotat" and first["exit_code"] == 2
    assert "mode 'rotat' is not one of the choices" in first["message"]
    assert second["parameters"]["user_name"] == "NoSuchPerson" and second["exit_code"] == 2
    assert first["run_id"] != second["run_id"]


def test_the_newest_load_is_the_notebooks_record(pages: Path) -> None:
    loads = sorted((pages / LOADS).glob("02_create_access_key-*.run.json"))
    assert _json(pages / "02_create_access_key.run.json") == _json(loads[-1])


def test_a_page_that_verified_exits_0_with_its_parameters(pages: Path) -> None:
    record = _json(pages / "00_check_root_usage.run.json")
    assert record["status"] == "done" and record["exit_code"] == 0
    assert record["parameters"]["cis_version"] == "5.0.0"
    assert record["parameters"]["target"] == "sandbox"
    # --compare checks a page's audit against a run's like two runs': same sandbox, same ID
    assert record["sandbox_instance"] == sandbox_instance(sandbox_url())
    assert record["sandbox_instance"].startswith("sbx-")


def test_a_missing_user_on_a_private_sandbox_names_the_restart(pages: Path) -> None:
    record = _json(pages / "02_create_access_key.run.json")
    assert "User 'NoSuchPerson' does not exist" in record["message"]
    assert f"restart it with {RESTART}" in record["message"]


def test_without_a_private_sandbox_the_line_is_as_before(pages: Path) -> None:
    # the first 02 load had no RUNBOOK_RESTART_SEEDED: no word of a restart anywhere
    first = _json(sorted((pages / LOADS).glob("02_create_access_key-*.run.json"))[0])
    assert "seed-prerequisites" not in json.dumps(first)


@pytest.mark.parametrize(
    ("events", "code"),
    [
        ([], 1),  # stopped before Verify
        (["manual"], 3),  # waiting for a person
        (["verified"], 0),
        (["manual", "verified"], 3),
        (["bad"], 2),
        (["write", "bad"], 1),  # bad input after a write is a failure, as headless
        (["write", "fail"], 1),
    ],
)
def test_an_interactive_exit_code_means_what_a_runs_does(
    events: list[str], code: int, tmp_path: Path
) -> None:
    record = RunRecord(notebook="03_enable_virtual_mfa", path=str(tmp_path / "r.run.json"))
    record.begin_interactive({"user_name": "alice"})
    for event in events:
        if event == "manual":
            record.manual("Step 7", "Scan the QR code", done=False)
        elif event == "verified":
            record.verified()
        elif event == "write":
            record.api_call("iam", "CreateVirtualMFADevice")
        elif event == "bad":
            record.failed(2, "BadInput: x")
        elif event == "fail":
            record.failed(1, "AwsError: x")
    saved = _json(tmp_path / "r.run.json")
    assert saved["exit_code"] == code
    assert saved["parameters"] == {"user_name": "alice"}
    (load,) = (tmp_path / LOADS).iterdir()
    assert _json(load) == saved


def test_a_headless_record_is_unchanged() -> None:
    data = RunRecord(notebook="00_check_root_usage").to_dict()
    assert not {"exit_code", "parameters", "message", "status"} & set(data)


# --- start-up: the way out printed in the terminal ----------------------------------------------


class _Server:
    def __init__(self) -> None:
        self.env: dict[str, str] = {}

    def __call__(self, cmd: list[str], env: Any, url: str) -> int:
        self.env = dict(env)
        return 0


def test_app_on_a_private_sandbox_names_seed_prerequisites_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = _Server()
    monkeypatch.setattr(apps, "run_server", server)
    monkeypatch.delenv(environ.SANDBOX_URL, raising=False)  # a fresh sandbox of its own
    argv = ["app", "03", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "needs IAM user 'Administrator'" in x)
    assert "runbook app 03 --seed-prerequisites" in line
    assert "01_create_admin_user" in line
    assert server.env[environ.RESTART_SEEDED] == "runbook app 03 --seed-prerequisites"


def test_app_on_a_shared_sandbox_says_nothing_of_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = _Server()
    monkeypatch.setattr(apps, "run_server", server)
    argv = ["app", "03", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(tmp_path / "runs")]) == 0
    assert "seed-prerequisites" not in capsys.readouterr().out
    assert environ.RESTART_SEEDED not in server.env
