"""``runbook lab`` and ``runbook app``: loopback only, a token, no autosave, culled kernels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_lib.interfaces import apps
from runbook_lib.interfaces.cli import main


def test_lab_settings_turn_off_news_update_checks_autosave_and_widget_state(
    tmp_path: Path,
) -> None:
    folder = apps.write_lab_settings(tmp_path / "settings")
    overrides = json.loads((folder / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"] == {"autosave": False}
    assert overrides["@jupyterlab/apputils-extension:notification"] == {
        "checkForUpdates": False,
        "fetchNews": "false",
    }
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": False}


def test_lab_listens_on_loopback_with_the_settings_and_no_news(tmp_path: Path) -> None:
    cmd = apps.lab_command(tmp_path, 8123, tmp_path / "settings", browser=False)
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--ServerApp.port=8123" in cmd
    assert f"--LabApp.app_settings_dir={tmp_path / 'settings'}" in cmd
    assert "--LabApp.news_url=None" in cmd
    assert "--ServerApp.open_browser=False" in cmd


def test_voila_listens_on_loopback_hides_code_and_culls_idle_kernels(tmp_path: Path) -> None:
    cmd = apps.voila_command(tmp_path / "03.ipynb", 8124, browser=False)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8124" in cmd and "--token" in cmd
    assert cmd[1:3] == ["-m", "runbook_lib.interfaces.app_server"]  # Voilà, guarded
    assert "--strip_sources=True" in cmd and "--no-browser" in cmd
    assert "--MappingKernelManager.cull_idle_timeout=10" in cmd
    assert "--MappingKernelManager.cull_interval=5" in cmd


def test_server_kernels_are_interactive_and_reach_only_the_sandbox() -> None:
    base = {"RUNBOOK_HEADLESS": "1", "AWS_PROFILE": "prod", "AWS_SECRET_ACCESS_KEY": "real"}
    env = apps.server_environ(
        base, sandbox_url="http://127.0.0.1:5", token="t", record_path="/tmp/r.json"
    )
    assert "RUNBOOK_HEADLESS" not in env and "AWS_PROFILE" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5"
    assert env["JUPYTER_TOKEN"] == "t" and env["RUNBOOK_RECORD"] == "/tmp/r.json"


def test_app_of_an_unknown_notebook_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "99", "--no-browser"]) == 2
    assert "Unknown notebook '99'" in capsys.readouterr().err
