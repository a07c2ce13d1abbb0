"""Page helpers shared by the browser tests (``from browser.browser_pages import ...``).

Failure messages name where a secret was found, never the secret: pytest's assertion
introspection would print both strings of a plain ``assert secret not in text``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runbook_lib.interfaces import apps

#: awscli v2 of the venv: the second client that reads what the runbooks did
#: the project's aws CLI (PyPI awscli), run as a module: its ``aws`` script's shebang names the
#: venv's python by path, which no kernel can exec when that path has a space in it
AWS = (sys.executable, "-m", "awscli")


def assert_absent(secret: str, text: str, where: str) -> None:
    """Fail naming ``where`` only if ``secret`` occurs in ``text``."""
    found = bool(secret) and secret in text
    assert not found, f"the secret is in {where}"


def aws_keys(sandbox_url: str, user: str = "Administrator") -> list[str]:
    """The access key IDs of ``user``, read with awscli (not the runbooks' code)."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.pop("AWS_PROFILE", None)
    out = subprocess.run(
        [*AWS, "--endpoint-url", sandbox_url, "--region", "us-east-1", "--output", "json"]
        + ["iam", "list-access-keys", "--user-name", user],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [k["AccessKeyId"] for k in json.loads(out.stdout)["AccessKeyMetadata"]]


def page_text(page: Any) -> str:
    """The text a person sees on the page."""
    text: str = page.evaluate("document.body.innerText")
    return text


def wait_kernel_idle(page: Any) -> None:
    """Wait until JupyterLab's status bar reads ``| Idle`` (Run All is dropped before that)."""
    page.wait_for_function(
        "document.querySelector('#jp-main-statusbar')?.innerText.includes('| Idle')",
        timeout=60_000,
    )


def run_all(page: Any) -> None:
    """JupyterLab: Run → Run All Cells (once the kernel is idle)."""
    wait_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("[data-command='runmenu:run-all']").click()


def save_and_wait(page: Any, notebook: Path) -> None:
    """JupyterLab: Ctrl+S, then wait until the file on disk changed and is whole again (the
    server may still be writing it when its time stamp moves)."""
    before = notebook.stat().st_mtime_ns
    page.locator(".jp-Notebook .jp-InputPrompt").first.click()  # focus the notebook
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 15
    while notebook.stat().st_mtime_ns == before or not _whole_json(notebook):
        assert time.monotonic() < deadline, "Ctrl+S did not save the notebook"
        page.wait_for_timeout(100)  # not time.sleep: the request router must keep running


def _whole_json(path: Path) -> bool:
    try:
        json.loads(path.read_text("utf-8"))
    except ValueError:
        return False
    return True


def wait_text(page: Any, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the first element matching ``selector`` shows ``text``."""
    page.wait_for_function(
        "([sel, t]) => document.querySelector(sel)?.innerText.includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def wait_dom_text(page: Any, text: str, timeout: float = 60_000) -> None:
    """Wait until ``text`` is in the DOM (``textContent``: off-screen cells count too)."""
    page.wait_for_function("t => document.body.textContent.includes(t)", arg=text, timeout=timeout)


def oathtool(seed: str, at: int) -> str:
    """The TOTP code of ``seed`` at UNIX time ``at``, from an independent checker (oathtool)."""
    out = subprocess.run(
        ["oathtool", "--totp", "-b", seed, "-N", f"@{at}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, "oathtool refused the revealed secret key"
    return out.stdout.strip()


@contextmanager
def cli_server(
    tmp_path: Path, *args: str, ready: str, env_drop: tuple[str, ...] = ()
) -> Iterator[tuple[str, Path]]:
    """``runbook ARGS --no-browser`` (``lab`` or ``app NAME``) in a subprocess with its own
    Jupyter folders and secrets folder (another browser test may have seeded the same user
    already); yields (page URL, session folder) once the log says ``ready``, and stops the
    server after. With ``--sandbox`` the server gets a sandbox of its own, as a person does:
    the session's shared sandbox URL is not passed on."""
    env = dict(os.environ)
    if "--sandbox" in args:
        env_drop = (*env_drop, "RUNBOOK_SANDBOX_URL", "RUNBOOK_SANDBOX_ACCOUNT")
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp_path / name.lower()).mkdir()
        env[name] = str(tmp_path / name.lower())
    for name in ("JUPYTER_PATH", *env_drop):
        env.pop(name, None)
    env["RUNBOOK_SECRETS_DIR"] = str(tmp_path / "secrets")
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    cmd = [sys.executable, "-m", "runbook_lib.interfaces.cli", *args]
    cmd += ["--no-browser", "--port", str(apps.free_port()), "--output-dir", str(runs)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        url = None
        while time.monotonic() < deadline and url is None:
            assert proc.poll() is None, log.read_text()[-3000:]
            url = re.search(r"open: (\S+)", log.read_text())
            time.sleep(0.3)
        assert url, "no 'open:' line in time"
        while ready not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.3)
        (session,) = runs.iterdir()
        yield url[1], session
    finally:
        apps.stop_server(proc)  # type: ignore[arg-type]
