"""Browser fixtures: Debian's chromium driven by playwright, Voilà and JupyterLab on free ports.

Every server runs with its own HOME / JUPYTER_CONFIG_DIR / JUPYTER_RUNTIME_DIR / IPYTHONDIR,
points its kernels at the session's sandbox (reset for the test), and is always stopped. The
browser may reach 127.0.0.1 only: every other request is aborted (and listed in
``page.blocked``). In the sync API, wait with ``page.wait_for_timeout``, never ``time.sleep``:
routed requests are only answered while playwright runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.plugin import install_kernel_counter

from runbook_lib.core.sandbox import Sandbox
from runbook_lib.interfaces import apps

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent
FIXTURE_NOTEBOOKS = HERE / "notebooks"
SERVER_START_TIMEOUT = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (make system)"
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _local(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("file", "data", "blob", "about") or parts.hostname == "127.0.0.1"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that can reach 127.0.0.1 (and local files) only."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def guard(route: Any) -> None:
        if _local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.blocked = blocked
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[..., Path]:
    """``screenshot(page, name)``: a PNG in the test's folder (the evidence of a failure).

    The committed pictures in ``docs/`` are never written by a test: ``make screenshots``
    takes them all again from the current apps (``runbook_lib/authoring/screenshots.py``)."""

    def shoot(page: Any, name: str, readme: bool = True, mask: list[Any] | None = None) -> Path:
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True, mask=mask or [])
        return shot

    return shoot


@dataclass
class Server:
    """A Lab or Voilà server started for one test."""

    url: str
    token: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def page_url(self, path: str = "") -> str:
        return f"{self.url}/{path.lstrip('/')}?token={self.token}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _isolated_env(tmp: Path, sandbox_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = apps.server_environ(
        os.environ,
        sandbox_url=sandbox_url,
        token=secrets.token_urlsafe(16),
        record_path=str(tmp / "run.json"),
    )
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        folder = tmp / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    install_kernel_counter(Path(env["IPYTHONDIR"]))  # the server's kernels are counted too
    env.pop("JUPYTER_DATA_DIR", None)
    env.pop("JUPYTER_PATH", None)
    env.update(extra)
    return env


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex((apps.LOOPBACK, port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not listen on {port} in {SERVER_START_TIMEOUT} s")


@pytest.fixture
def _servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        apps.stop_server(proc)


def _start(
    cmd_for: Callable[[int], list[str]],
    tmp: Path,
    sandbox: Sandbox,
    extra_env: dict[str, str],
    procs: list[subprocess.Popen[bytes]],
) -> Server:
    env = _isolated_env(tmp, sandbox.url, extra_env)
    port = apps.free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd_for(port), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp
        )
    procs.append(proc)
    _wait_listening(port, proc, log)
    return Server(f"http://{apps.LOOPBACK}:{port}", env[apps.TOKEN_VAR], env, log, proc)


@pytest.fixture
def voila_app(
    tmp_path: Path, sandbox: Sandbox, _servers: list[subprocess.Popen[bytes]]
) -> Callable[..., Server]:
    """Start a Voilà app on ``notebook`` (as ``runbook app`` does); the run record is
    ``<tmp>/run.json``. Call as ``voila_app(notebook, **extra_env)``."""

    def start(notebook: Path, **extra_env: str) -> Server:
        templates = apps.write_voila_template(tmp_path / "voila-templates")
        extra_env.setdefault("JUPYTER_PATH", str(templates))  # the offline template
        return _start(
            lambda port: apps.voila_command(notebook, port, browser=False),
            tmp_path,
            sandbox,
            extra_env,
            _servers,
        )

    return start


@pytest.fixture
def jupyter_lab(
    tmp_path: Path, sandbox: Sandbox, _servers: list[subprocess.Popen[bytes]]
) -> Callable[..., Server]:
    """Start JupyterLab on ``notebook_dir`` (as ``runbook lab`` does: no news, no autosave).
    Call as ``jupyter_lab(notebook_dir, **extra_env)``."""

    def start(notebook_dir: Path, **extra_env: str) -> Server:
        settings = apps.write_lab_settings(tmp_path / "lab-settings")
        return _start(
            lambda port: apps.lab_command(notebook_dir, port, settings, browser=False),
            tmp_path,
            sandbox,
            extra_env,
            _servers,
        )

    return start


@pytest.fixture
def fixture_notebook(tmp_path: Path) -> Path:
    """A private copy of the widgets fixture notebook (Lab may write to it)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return Path(shutil.copy(FIXTURE_NOTEBOOKS / "widgets_fixture.ipynb", folder))
