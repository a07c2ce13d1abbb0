"""One execution path: ``runbook run`` and ``runbook refresh`` start their kernels the same way.

The fixture ``95_kernel_environ`` prints what its kernel sees (the ``RUNBOOK_*`` variables, the
sandbox, the kernel's transport). It runs once through the runner and once through refresh,
with ``kernels.kernel_environ`` wrapped to add a probe variable: a kernel that shows the probe
got its environment from that one builder. Two kernel starts for the module.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.authoring.refresh import refresh_notebooks
from runbook_lib.core import environ
from runbook_lib.run import kernels
from runbook_lib.run.kernels import kernel_environ
from runbook_lib.run.runner import RunResult, run_notebook

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks" / "95_kernel_environ.ipynb"
PROBE = "ENGINE_PROBE"
MARK = "KERNEL-ENV "


def kernel_view(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """What the fixture's kernel printed about its environment."""
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if text.startswith(MARK):
                seen: dict[str, Any] = json.loads(text[len(MARK) :])
                return seen
    raise AssertionError("the fixture printed nothing: its kernel did not run the probe cell")


class Runs:
    """The module's two runs of the fixture, and the host environment around them."""

    run: RunResult
    run_view: dict[str, Any]
    refreshed: dict[str, Any]
    refresh_view: dict[str, Any]
    host_before: dict[str, str]
    host_after: dict[str, str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp("engine")
    copy = tmp / FIXTURE.name  # refresh writes in place: never the committed fixture
    shutil.copy(FIXTURE, copy)
    built = kernels.kernel_environ

    def with_probe(**kwargs: Any) -> dict[str, str]:
        return {**built(**kwargs), PROBE: "1"}

    out = Runs()
    out.host_before = dict(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "kernel_environ", with_probe)
        out.run = run_notebook(str(FIXTURE), {}, output_dir=tmp / "runs")
        refresh_notebooks([copy])
    out.host_after = dict(os.environ)
    out.run_view = kernel_view(json.loads((out.run.run_dir / FIXTURE.name).read_text("utf-8")))
    out.refreshed = json.loads(copy.read_text("utf-8"))
    out.refresh_view = kernel_view(out.refreshed)
    yield out


def test_run_and_refresh_kernels_get_their_environment_from_one_builder(runs: Runs) -> None:
    assert runs.run.exit_code == 0, runs.run.message
    assert runs.run_view[PROBE] is True
    assert runs.refresh_view[PROBE] is True


def test_run_and_refresh_kernels_see_the_same_environment(runs: Runs) -> None:
    shared = {k: v for k, v in runs.run_view.items() if k != environ.RECORD}

    assert shared == {k: v for k, v in runs.refresh_view.items() if k != environ.RECORD}
    assert shared[environ.HEADLESS] and shared[environ.LEAK_SOCKET]
    assert shared[environ.SECRETS_DIR] and shared["endpoint_is_sandbox"]
    assert not shared["AWS_PROFILE"]


def test_both_kernels_run_on_the_ipc_kernel_manager(runs: Runs) -> None:
    assert runs.run_view["transport"] == runs.refresh_view["transport"] == "ipc"


def test_only_the_runner_gives_its_kernel_a_run_record(runs: Runs) -> None:
    assert runs.run_view[environ.RECORD] is True
    assert runs.refresh_view[environ.RECORD] is False


def test_the_host_environment_is_never_changed_for_a_kernel(runs: Runs) -> None:
    assert runs.host_after == runs.host_before
    assert PROBE not in runs.host_after


def test_refreshed_notebook_keeps_no_papermill_trace_or_timing(runs: Runs) -> None:
    text = json.dumps(runs.refreshed)

    assert "papermill" not in text and "injected-parameters" not in text
    assert "widgets" not in runs.refreshed["metadata"]
    assert all("execution" not in c["metadata"] for c in runs.refreshed["cells"])
    assert [c["execution_count"] for c in runs.refreshed["cells"] if c["cell_type"] == "code"] == [
        1,
        2,
    ]


# --- kernel_environ itself (no kernel) -----------------------------------------------------


def test_sandbox_kernel_environment_drops_real_credentials_and_leaves_the_base_alone() -> None:
    base = {"AWS_PROFILE": "prod", "AWS_SECRET_ACCESS_KEY": "real", "PATH": "/bin"}

    env = kernel_environ(base=base, sandbox_url="http://127.0.0.1:5", record_path="r.json")

    assert "AWS_PROFILE" not in env and env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_ENDPOINT_URL"] == env[environ.SANDBOX_URL] == "http://127.0.0.1:5"
    assert env[environ.HEADLESS] == "1" and env[environ.RECORD] == "r.json"
    assert env[environ.SECRETS_DIR].endswith(kernels.SANDBOX_SESSION)
    assert base == {"AWS_PROFILE": "prod", "AWS_SECRET_ACCESS_KEY": "real", "PATH": "/bin"}


def test_a_secrets_folder_the_user_chose_wins_over_the_sandbox_default() -> None:
    env = kernel_environ(base={environ.SECRETS_DIR: "mine"}, sandbox_url="http://127.0.0.1:5")

    assert env[environ.SECRETS_DIR] == "mine"


def test_interactive_kernel_environment_is_not_headless() -> None:
    env = kernel_environ(base={environ.HEADLESS: "1"}, headless=False)

    assert environ.HEADLESS not in env


def test_a_kernel_never_gets_the_fan_outs_external_id() -> None:
    """The runner assumes the roles; a kernel (and so a notebook's output) never sees the ID."""
    from runbook_lib.core import environ
    from runbook_lib.run.kernels import kernel_environ

    env = kernel_environ(base={environ.EXTERNAL_ID: "from-the-runner", "PATH": "/usr/bin"})

    assert environ.EXTERNAL_ID not in env and env["PATH"] == "/usr/bin"
