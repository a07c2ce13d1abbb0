"""A fan-out stopped half-way (Ctrl-C, SIGTERM, kill -9) and ``--resume RUN_DIR``: what an operator
checks afterwards — the exit code, no process left behind, a summary of what finished, and a
resumed run that runs only the rest and lists every account once.

Each test runs ``runbook run 00 --org --member-accounts 20`` as its own process (its own sandbox:
the same seed gives the same 21 accounts to the resumed run), stopped once a few accounts
finished. Not timed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from runbook_lib.interfaces.cli import main
from runbook_lib.org.fanout import FINISHED, MANIFEST

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 20
ACCOUNTS = MEMBERS + 1
#: the fan-out is stopped once this many accounts finished
STOP_AFTER = 3


def _env() -> dict[str, str]:
    """The command's environment: this worktree's library, no sandbox of the test process (the
    command starts its own, seeded), no real AWS credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNBOOK_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _command(out: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runbook_lib.interfaces.cli",
        "run",
        "00",
        "--org",
        "--member-accounts",
        str(MEMBERS),
        "--max-concurrency",
        "2",
        "--output-dir",
        str(out),
        *more,
    ]


def _start(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(out),
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the test's own Ctrl-C never reaches it
    )


def _stop_after_some(proc: subprocess.Popen[str], sig: int) -> tuple[list[str], list[int]]:
    """Read progress lines until ``STOP_AFTER`` accounts finished, note the command's child
    processes (kernels), send ``sig``; the lines read and the children's pids."""
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail("the fan-out ended before it could be stopped: " + "".join(lines))
        lines.append(line)
        if line.startswith(f"[{STOP_AFTER}/"):
            break
    children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert children, "a fan-out on warm kernels has kernel processes"
    os.kill(proc.pid, sig)
    return lines, children


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
    return alive


def _no_orphans(pids: list[int], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pids), f"processes left running: {_alive(pids)}"


def _folder(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def _finished(folder: Path) -> dict[str, str]:
    """Account → its run folder, for each account with a finished record."""
    done = {}
    for marker in folder.glob(f"*/{FINISHED}"):
        data = json.loads(marker.read_text("utf-8"))
        if data.get("finished") is True:
            done[data["account_id"]] = data["run_dir"]
    return done


def _resume(out: Path, folder: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        _command(out, "--resume", str(folder)),
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _summary(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "summary.json").read_text("utf-8"))
    return data


def _check_resumed(out: Path, folder: Path, before: dict[str, str]) -> None:
    """``--resume``: only the unfinished accounts run; the summary lists each account once."""
    code, stdout, stderr = _resume(out, folder)
    assert code == 0, stdout + stderr
    progress = [line for line in stdout.splitlines() if line.startswith("[")]
    assert len(progress) == ACCOUNTS - len(before), stdout
    assert not any(acct in line for line in progress for acct in before)  # none ran again
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    rows = _summary(folder)["rows"]
    assert [r["account_id"] for r in rows] == manifest["accounts"]
    assert len({r["account_id"] for r in rows}) == ACCOUNTS
    assert all(r["exit_code"] == 0 for r in rows), rows
    after = _finished(folder)
    assert set(after) == set(manifest["accounts"])
    assert all(after[a] == before[a] for a in before)  # the finished runs were kept, not redone
    for row in rows:  # every account's record complete
        record = json.loads((folder / row["run_dir"] / "run.json").read_text("utf-8"))
        assert record["account_id"] == row["account_id"] and record["exit_code"] == 0
    assert sorted(p.name for p in out.iterdir()) == [folder.name]  # no second folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_fanout_stops_cleanly_and_resume_runs_only_the_rest(
    tmp_path: Path, sig: int
) -> None:
    proc = _start(tmp_path)
    _, children = _stop_after_some(proc, sig)
    stdout, stderr = proc.communicate(timeout=300)
    # docs/exit-codes.md: an account that was never started counts as failed (1)
    assert proc.returncode == 1, stdout + stderr
    _no_orphans(children)
    folder = _folder(tmp_path)
    assert f"--resume {folder}" in stdout
    rows = _summary(folder)["rows"]
    assert len(rows) == ACCOUNTS
    ran = [r for r in rows if r["exit_code"] is not None]
    assert STOP_AFTER <= len(ran) < ACCOUNTS
    assert all(r["exit_code"] == 0 and r["run_dir"] for r in ran)
    assert all(r["status"] == "not started" for r in rows if r["exit_code"] is None)
    before = _finished(folder)
    assert set(before) == {r["account_id"] for r in ran}
    _check_resumed(tmp_path, folder, before)


def test_after_kill_9_resume_runs_only_accounts_without_a_finished_record(
    tmp_path: Path,
) -> None:
    proc = _start(tmp_path)
    _, children = _stop_after_some(proc, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _no_orphans(children)  # the kernels notice their parent is gone
    folder = _folder(tmp_path)
    assert not (folder / "summary.json").exists()
    before = _finished(folder)
    assert len(before) >= STOP_AFTER
    # a record cut half-way by the kill is not "finished": that account runs again
    torn = sorted(before)[0]
    marker = folder / torn / FINISHED
    marker.write_text(marker.read_text("utf-8")[:40], encoding="utf-8")
    del before[torn]
    _check_resumed(tmp_path, folder, before)


def test_resume_of_a_folder_that_is_no_fanout_is_bad_input(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            ["run", "00", "--org", "--resume", str(tmp_path), "--output-dir", f"{tmp_path}"]
        )
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "--resume" in lines[0] and MANIFEST in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


def test_resume_of_another_notebooks_fanout_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "20261201T000000Z-01_create_admin_user-org"
    folder.mkdir(mode=0o700)
    manifest = {"notebook": "01_create_admin_user", "plan": False, "accounts": ["123456789012"]}
    (folder / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "00", "--org", "--resume", str(folder), "--output-dir", f"{tmp_path}"])
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "01_create_admin_user" in lines[0] and "--resume" in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST]  # no account ran
