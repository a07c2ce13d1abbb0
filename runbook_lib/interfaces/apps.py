"""Interactive servers for a person: JupyterLab on the runbooks, or one runbook as a Voilà app.

Both bind to 127.0.0.1 only and ask for a token; their ``open:`` line is printed once the server
answers HTTP, never before. Lab gets settings overrides that stop it
fetching news or update checks and from autosaving (a secret revealed in a widget must not be
written back to the notebook in between), with widget-state saving off. Voilà culls idle
kernels, or every page load would leave a kernel behind.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from runbook_lib.core.errors import BadInput, RunbookError
from runbook_lib.run import kernels

LOOPBACK = "127.0.0.1"
TOKEN_VAR = "JUPYTER_TOKEN"

#: JupyterLab settings a runbook session needs (``overrides.json`` in the app settings folder)
LAB_OVERRIDES: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": False},
}

#: how long a server may take to answer its first HTTP request (seconds); each try's timeout
ANSWER_LIMIT = 120.0
ANSWER_TRY = 1.0
#: what is asked to see that a Jupyter server answers: its version endpoint answers without the
#: token and logs nothing (a GET of a Voilà page would start a kernel and run the notebook)
READY_PATH = "/api"

#: Voilà kernels idle this long (seconds) are shut down; checked every CULL_INTERVAL seconds
CULL_IDLE_TIMEOUT = 10
CULL_INTERVAL = 5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def check_port_free(port: int) -> None:
    """Refuse a port something already listens on (127.0.0.1), before a server is started.

    Raises:
        BadInput: the port is in use (or not a port), with the next action.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do: a port left in TIME_WAIT is free, only a listener makes it busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except (OSError, OverflowError) as err:
            reason = "is in use" if isinstance(err, OSError) else "is not a TCP port"
            raise BadInput(
                f"Port {port} on {LOOPBACK} {reason}: stop what listens there, or choose "
                "another with --port N."
            ) from err


def answers(url: str) -> bool:
    """Whether an HTTP server answers a GET of ``url`` within ``ANSWER_TRY`` seconds (any
    status counts: a 403 is an answer)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port, timeout=ANSWER_TRY)
    try:
        conn.request("GET", parts.path or "/")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return True


def wait_until_answers(
    url: str, *, running: Callable[[], bool] = lambda: True, limit: float = ANSWER_LIMIT
) -> bool:
    """Ask ``url`` until it answers (``answers``), for at most ``limit`` seconds.

    Args:
        url: what to ask (``http://127.0.0.1:PORT/path``).
        running: whether the server can still answer (``False``: stop asking).
        limit: seconds to keep asking.

    Returns:
        Whether it answered.
    """
    deadline = time.monotonic() + limit
    while not answers(url):
        if not running() or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def write_lab_settings(folder: Path) -> Path:
    """Write the Lab ``overrides.json`` into ``folder`` (created) and return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2), encoding="utf-8")
    return folder


def lab_command(notebook_dir: Path, port: int, settings_dir: Path, *, browser: bool) -> list[str]:
    """The command line of a JupyterLab for the runbooks (127.0.0.1, no news, no autosave).

    Args:
        notebook_dir: the folder Lab shows.
        port: the port (no retries on another one: the caller knows where to connect).
        settings_dir: a folder made by ``write_lab_settings``.
        browser: open a browser tab.
    """
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebook_dir}",
        f"--ServerApp.open_browser={browser}",
        f"--LabApp.app_settings_dir={settings_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI queries
        "--ServerApp.jpserver_extensions=voila.server_extension=False",  # runbook app does that
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


#: the Voilà template ``write_voila_template`` makes: Voilà's ``lab`` with nothing remote
VOILA_TEMPLATE = "runbook"


def write_voila_template(folder: Path) -> Path:
    """A Voilà template in ``folder`` (add it to ``JUPYTER_PATH``): Voilà's ``lab`` template
    without the stylesheets it loads from a CDN (fontawesome is in Voilà's own bundle).

    Returns:
        ``folder``.
    """
    from jupyter_core.paths import jupyter_path

    sources = [Path(d) / "index.html.j2" for d in jupyter_path("voila", "templates", "lab")]
    source = next(p for p in sources if p.is_file())
    lines = source.read_text("utf-8").splitlines(keepends=True)
    offline = "".join(line for line in lines if "https://cdn." not in line)
    target = folder / "voila" / "templates" / VOILA_TEMPLATE
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html.j2").write_text(offline, encoding="utf-8")
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    return folder


def voila_command(notebook: Path, port: int, *, browser: bool) -> list[str]:
    """The command line of a Voilà app on one notebook (127.0.0.1, token, kernel culling),
    guarded by ``app_server``: a foreign Host or another page's request is refused, the page
    that runs the notebook needs the token itself, the cookie is SameSite=Strict and
    session-only.

    It uses the offline template (``write_voila_template``, its folder on ``JUPYTER_PATH``)
    and shows an error's own lines: a ``RunbookError`` renders as its one line (IPython's
    ``_render_traceback_``) instead of Voilà's "There was an error when executing cell".

    Args:
        notebook: the runbook to serve (code hidden, widgets and outputs shown).
        port: the port (no retries).
        browser: open a browser tab.
    """
    cmd = [
        sys.executable,
        "-m",
        "runbook_lib.interfaces.app_server",
        str(notebook),
        f"--Voila.ip={LOOPBACK}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--token",  # the token comes from $JUPYTER_TOKEN (not visible in ps)
        "--strip_sources=True",
        f"--template={VOILA_TEMPLATE}",
        "--show_tracebacks=True",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
    ]
    if not browser:
        cmd.append("--no-browser")
    return cmd


def server_environ(
    base: Mapping[str, str],
    *,
    sandbox_url: str = "",
    token: str = "",
    record_path: Path | str = "",
) -> dict[str, str]:
    """The environment of a Lab or Voilà server whose kernels a person drives.

    The kernel part comes from ``kernel_environ`` (the one place that builds it), not headless.

    Args:
        base: the environment to start from (usually ``os.environ``).
        sandbox_url: point every kernel at this sandbox (real credentials removed; the
            sandbox's throw-away secrets go to a folder of this process, never the real default).
        token: the server's access token.
        record_path: where kernels save their run record (``RUNBOOK_RECORD``).
    """
    env = kernels.kernel_environ(
        base=base, headless=False, sandbox_url=sandbox_url, record_path=record_path
    )
    if token:
        env[TOKEN_VAR] = token
    return env


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """Stop a Jupyter server cleanly (SIGTERM: it shuts its kernels down), then for sure.

    Returns:
        The server's exit code.
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def run_server(cmd: list[str], env: Mapping[str, str], url: str) -> int:
    """Run a server in the foreground until it exits, Ctrl+C or SIGTERM (then stop it cleanly);
    print ``open: URL`` once it answers HTTP (``READY_PATH``), so the URL works when shown.

    Args:
        cmd: the server's command line (``lab_command``, ``voila_command``).
        env: its environment (``server_environ``).
        url: the page a person opens (``http://127.0.0.1:PORT/?token=...``).

    Returns:
        The server's exit code (0 after Ctrl+C or SIGTERM).

    Raises:
        RunbookError: the server stopped, or did not answer within ``ANSWER_LIMIT`` seconds
            (it is stopped).
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    parts = urllib.parse.urlsplit(url)
    ready = f"{parts.scheme}://{parts.netloc}{READY_PATH}"
    previous = signal.signal(signal.SIGTERM, interrupt)
    proc = subprocess.Popen(cmd, env=dict(env))
    try:
        answered = wait_until_answers(
            ready, running=lambda: proc.poll() is None, limit=ANSWER_LIMIT
        )
        if not answered:
            if proc.poll() is not None:
                raise RunbookError(
                    f"The server stopped before it answered on {parts.netloc} (exit code "
                    f"{proc.returncode}): see its log above."
                )
            stop_server(proc)
            raise RunbookError(
                f"The server did not answer on {parts.netloc} within {ANSWER_LIMIT:.0f} s and "
                "was stopped: see its log above, and try again."
            )
        print(f"open: {url}", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        stop_server(proc)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
