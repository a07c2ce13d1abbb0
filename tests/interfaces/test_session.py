"""Interactive runs: ``runbook lab``/``runbook app`` take the target options, serve
clean working copies in a session folder, seed the earlier runbooks, and each kernel's record
lands in that folder. The servers themselves are replaced by a stub here (the browser tests
start real ones)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from runbook_lib.core import environ
from runbook_lib.core.record import RunRecord
from runbook_lib.interfaces import apps
from runbook_lib.interfaces import session as session_mod
from runbook_lib.interfaces.cli import main
from runbook_lib.run.notebooks import all_notebooks, find_notebook


def _digest(books: list[Path]) -> dict[str, bytes]:
    return {book.name: book.read_bytes() for book in books}


def _injected(copy: Path) -> str:
    nb = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]
    cells = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    return "".join(c.source for c in cells)


def test_a_working_copy_is_clean_and_carries_the_parameters(tmp_path: Path) -> None:
    book = find_notebook("03")
    before = book.read_bytes()
    copy = session_mod.working_copy(book, tmp_path, {"user_name": "alice", "tags": {"a": "b"}})
    assert book.read_bytes() == before  # the committed notebook is untouched
    assert copy == tmp_path / book.name
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    nb = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    injected = _injected(copy)
    assert 'user_name = "alice"' in injected
    assert "tags" not in injected  # 03 does not declare it


def test_a_working_copy_without_parameters_keeps_the_defaults(tmp_path: Path) -> None:
    copy = session_mod.working_copy(find_notebook("01"), tmp_path, {})
    assert _injected(copy) == ""


def test_prerequisites_are_the_runbooks_before_in_run_order() -> None:
    books = all_notebooks()
    stems = [b.stem for b in session_mod.prerequisites(find_notebook("03"), books)]
    assert stems == [
        "00_check_root_usage",
        "04_set_password_policy",
        "01_create_admin_user",
        "02_create_access_key",
    ]
    assert session_mod.prerequisites(find_notebook("00"), books) == []


def test_a_server_record_path_names_each_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(environ.RECORD, str(tmp_path / session_mod.RECORD_NAME))
    record = RunRecord.from_environment("03_enable_virtual_mfa")
    record.save()
    assert (tmp_path / "03_enable_virtual_mfa.run.json").is_file()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["lab", "--seed-prerequisites"], "--seed-prerequisites is for"),
        (["app", "03", "--sandbox", "--profile", "x"], "--sandbox excludes"),
        (["app", "03", "--endpoint-url", "http://x", "--profile", "x"], "exclude each other"),
        (["app", "03", "-p", "user_name", "no spaces allowed"], "user_name"),
        (["app", "03", "-p", "users", "[]"], "users"),  # 01's parameter, not 03's
    ],
)
def test_serve_refuses_bad_options_fast_and_starts_nothing(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main([*argv, "--no-browser", "--output-dir", str(tmp_path / "runs")]) == 2
    assert time.monotonic() - started < 3
    assert says in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # no session folder, no server, no sandbox


class _Server:
    """Stands in for ``apps.run_server``: keeps the command and environment."""

    def __init__(self) -> None:
        self.cmd: list[str] = []
        self.env: dict[str, str] = {}

    def __call__(self, cmd: list[str], env: Any, url: str) -> int:
        self.cmd, self.env = cmd, dict(env)
        return 0


def _session(runs: Path) -> Path:
    (session,) = runs.iterdir()
    return session


def test_lab_serves_working_copies_in_a_session_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _Server()
    monkeypatch.setattr(apps, "run_server", server)
    committed = _digest(all_notebooks())
    runs = tmp_path / "runs"
    argv = ["lab", "--no-browser", "--port", str(apps.free_port()), "--output-dir", str(runs)]
    assert main([*argv, "-p", "user_name", "alice"]) == 0
    session = _session(runs)
    assert _digest(all_notebooks()) == committed
    assert sorted(p.name for p in session.glob("*.ipynb")) == sorted(committed)
    assert 'user_name = "alice"' in _injected(session / "01_create_admin_user.ipynb")
    assert f"--ServerApp.root_dir={session.resolve()}" in server.cmd
    assert server.env[environ.RECORD] == str((session / session_mod.RECORD_NAME).resolve())
    assert environ.HEADLESS not in server.env


def test_app_seeds_the_earlier_runbooks_on_its_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = _Server()
    monkeypatch.setattr(apps, "run_server", server)
    runs = tmp_path / "runs"
    port = str(apps.free_port())
    argv = ["app", "03", "--sandbox", "--seed-prerequisites", "--no-browser", "--port", port]
    assert main([*argv, "--output-dir", str(runs)]) == 0
    session = _session(runs)
    records = {p.parent.name: json.loads(p.read_text("utf-8")) for p in session.glob("*/run.json")}
    seeded = sorted(r["notebook"] for r in records.values())
    assert seeded == [
        b.stem for b in sorted(session_mod.prerequisites(find_notebook("03"), all_notebooks()))
    ]
    assert all(r["exit_code"] in (0, 3) for r in records.values())
    assert server.cmd[3] == str((session / "03_enable_virtual_mfa.ipynb").resolve())
    out = capsys.readouterr().out
    assert "02_create_access_key (prerequisite)" in out
    assert f"session: {session}/" in out


def test_the_voila_template_requests_nothing_remote(tmp_path: Path) -> None:
    folder = apps.write_voila_template(tmp_path)
    template = folder / "voila" / "templates" / apps.VOILA_TEMPLATE
    html = (template / "index.html.j2").read_text("utf-8")
    assert "https://cdn." not in html and "{%- block notebook_css -%}" in html
    assert json.loads((template / "conf.json").read_text("utf-8")) == {"base_template": "lab"}


def test_voila_shows_the_error_line_with_the_offline_template(tmp_path: Path) -> None:
    cmd = apps.voila_command(tmp_path / "x.ipynb", 8866, browser=False)
    assert f"--template={apps.VOILA_TEMPLATE}" in cmd and "--show_tracebacks=True" in cmd


def test_an_app_server_finds_the_offline_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _Server()
    monkeypatch.setattr(apps, "run_server", server)
    runs = tmp_path / "runs"
    argv = ["app", "03", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(runs)]) == 0
    first = Path(server.env["JUPYTER_PATH"].split(os.pathsep)[0])
    assert (first / "voila" / "templates" / apps.VOILA_TEMPLATE / "index.html.j2").is_file()


class _Handle:
    def __init__(self) -> None:
        self.shown: list[object] = []
        self.out = "the output widget"

    def update(self, view: object) -> None:
        self.shown.append(view)


def test_a_live_result_is_updated_in_place_by_the_buttons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runbook_lib.core.errors import BadInput
    from runbook_lib.widgets import live

    answers = iter(["none", "the device"])
    handle = _Handle()
    monkeypatch.delenv(environ.HEADLESS, raising=False)
    monkeypatch.setattr(live, "_interactive", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    monkeypatch.setattr(live, "LiveCell", lambda view: handle)
    live.forget_live()
    try:
        assert live.live_result("verify", lambda: next(answers)) is None  # shown once
        live.refresh_live()
        assert handle.shown == ["the device"]

        def refused() -> str:
            raise BadInput("the user is gone")

        live._LIVE["verify"] = (refused, handle)
        live.refresh_live()
        assert "BadInput: the user is gone" in str(handle.shown[-1].data)  # type: ignore[attr-defined]
    finally:
        live.forget_live()


def test_headless_a_live_result_is_the_plain_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook_lib.widgets import live

    monkeypatch.setenv(environ.HEADLESS, "1")
    assert live.live_result("verify", lambda: "answer") == "answer"
    assert not live._LIVE
