"""The ``open:`` line of ``runbook lab``/``app`` and the URL of ``runbook sandbox`` are printed
only once the server answers: a person (or a script) who connects as soon as they see it gets
an answer. A server that never answers is reported in one line, exit 1, and is stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runbook_lib.core.errors import RunbookError
from runbook_lib.interfaces import apps
from runbook_lib.interfaces.cli import main

#: the whole wait for a line (a Lab start on a busy machine takes a while)
LINE_TIMEOUT = 180


@contextmanager
def _runbook(tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``runbook ARGS`` in a subprocess with its own Jupyter folders; stopped afterwards."""
    env = dict(os.environ)
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp_path / name.lower()).mkdir()
        env[name] = str(tmp_path / name.lower())
    env.pop("JUPYTER_PATH", None)
    env["RUNBOOK_SECRETS_DIR"] = str(tmp_path / "secrets")
    cmd = [sys.executable, "-m", "runbook_lib.interfaces.cli", *args]
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield proc
    finally:
        apps.stop_server(proc)  # type: ignore[arg-type]
        assert proc.stdout is not None
        proc.stdout.close()


def _first_match(proc: subprocess.Popen[str], pattern: str) -> str:
    """The first group of the first stdout line that matches ``pattern``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + LINE_TIMEOUT
    for line in proc.stdout:
        found = re.search(pattern, line)
        if found:
            return found[1]
        assert time.monotonic() < deadline, f"no line matching {pattern!r} in time"
    pytest.fail(f"the command ended (exit {proc.wait()}) without a line matching {pattern!r}")


def _get(url: str) -> int:
    """The HTTP status of one GET of ``url``, at once: no retry."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (http://127.0.0.1)
            return int(answer.status)
    except urllib.error.HTTPError as err:  # an answer all the same
        return err.code


def test_lab_answers_as_soon_as_its_open_line_is_printed(tmp_path: Path) -> None:
    port = str(apps.free_port())
    argv = ["lab", "--sandbox", "--no-browser", "--port", port, "--output-dir", "runs"]
    with _runbook(tmp_path, *argv) as proc:
        url = _first_match(proc, r"^open: (\S+)")
        assert _get(url) == 200  # the token's redirect to /lab, followed


def test_the_sandbox_answers_as_soon_as_its_url_is_printed(tmp_path: Path) -> None:
    with _runbook(tmp_path, "sandbox", "--port", str(apps.free_port())) as proc:
        url = _first_match(proc, r"^export AWS_ENDPOINT_URL=(\S+)")
        assert _get(f"{url}/moto-api/") == 200


def test_a_server_that_never_answers_is_stopped_and_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(apps, "ANSWER_LIMIT", 1.0)
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    url = f"http://{apps.LOOPBACK}:{apps.free_port()}/?token=t"
    started = time.monotonic()
    with pytest.raises(RunbookError, match="did not answer .* within 1 s and was stopped"):
        apps.run_server(cmd, os.environ, url)
    assert time.monotonic() - started < 30, "the server was stopped, not waited for"
    assert "open:" not in capsys.readouterr().out


def test_lab_whose_server_stops_before_it_answers_exits_1_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def dies(*args: object, **kwargs: object) -> list[str]:
        return [sys.executable, "-c", "raise SystemExit(3)"]

    monkeypatch.setattr(apps, "lab_command", dies)
    argv = ["lab", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(tmp_path / "runs")]) == 1
    out, err = capsys.readouterr()
    assert "open:" not in out
    assert err.count("\n") == 1
    assert "stopped before it answered" in err and "(exit code 3)" in err
