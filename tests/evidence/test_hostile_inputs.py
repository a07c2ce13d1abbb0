"""Hostile inputs and a hostile environment (issue 20, items 5, 6, 10, 11, 12 and the run
engine's low items), each reproduced as the red team ran it, and now held.

- a parameters file is data: YAML tags that build code or bytes never reach papermill (which
  writes every value into the notebook as code), even with ``--plan``; one line, exit 2;
- an inherited ``RUNBOOK_LEAK_SOCKET`` that this user did not make privately receives nothing;
- a ``$TMPDIR/runbook-kernels-UID`` someone else made or left open is not used for sockets;
- a ``secrets_dir`` that is a symlink into a repository is inside that repository;
- a full output folder ends in one line naming the writes and the delivered secret, with a
  complete run record; a full secrets folder after writes exits 1, not 2;
- artifacts are 0600/0700 whatever the umask; a warm kernel keeps no input history; what a
  killed run left in ``$TMPDIR`` is cleaned by the next run.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput
from runbook_lib.core.secret_files import write_secret_file
from runbook_lib.core.secrets import LEAK_SOCKET_VAR, Secret
from runbook_lib.interfaces.cli import main
from runbook_lib.run import engine, kernels
from runbook_lib.run.kernels import kernel_environ
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.pool import KernelPool
from runbook_lib.run.runner import run_notebook

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_PARAMS = ROOT / "parameters" / "sandbox.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
NOBODY = 65534


def cli(*args: str) -> tuple[int, str, str]:
    """``runbook ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def notebook(path: Path, *sources: str, parameters: str = "") -> Path:
    """A small notebook: an optional ``parameters`` cell, then one cell per source."""
    cells = []
    if parameters:
        cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, path)
    return path


# ---- 5. a parameters file is data ----------------------------------------------------------


def _binary(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('users: [!!binary "{payload}"]', "the tag !!binary is refused"),
        ("user_name: !!python/object/apply:os.mkdir [{sentinel!r}]", "!!python/object/apply"),
        ("users: [alice]", "users[0] must be a mapping"),
        ("users: [{{name: bob, shell: /bin/sh}}]", "users[0] has unknown key(s) shell"),
        ("tags: !!set {{a, b}}", "the tag !!set is refused"),
        ("max_age_days: .nan", "'max_age_days' is a non-finite number"),
    ],
    ids=["binary-code", "python-tag", "users-not-mappings", "users-unknown-key", "set", "nan"],
)
def test_a_parameters_file_that_is_code_runs_nothing_even_with_plan(
    content: str, fragment: str, tmp_path: Path
) -> None:
    sentinel = tmp_path / "PWNED"
    payload = _binary(f'"+__import__("os").mkdir("{sentinel}")+"')
    evil = tmp_path / "evil.yaml"
    evil.write_text(content.format(payload=payload, sentinel=str(sentinel)) + "\n")
    out = tmp_path / "runs"

    code, _, err = cli("run", "01", "--plan", "-f", str(evil), "--output-dir", str(out))

    assert code == EXIT_BAD_INPUT
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert "Traceback" not in err
    assert not sentinel.exists(), "the parameters file ran code"
    assert not out.exists(), "a kernel started"


def test_a_binary_tag_given_with_p_is_refused_too(tmp_path: Path) -> None:
    sentinel = tmp_path / "PWNED"
    payload = _binary('"+__import__("os").mkdir("' + str(sentinel) + '")+"')
    value = f'[!!binary "{payload}"]'

    code, _, err = cli("run", "01", "--plan", "-p", "users", value, "--output-dir", str(tmp_path))

    assert code == EXIT_BAD_INPUT and "-p users line 1: the tag !!binary" in err
    assert not sentinel.exists()


def test_only_plain_values_reach_the_runner(tmp_path: Path) -> None:
    """The library path (fan-out, Airflow) refuses a non-plain value before any kernel."""
    with pytest.raises(BadInput, match="'users\\[0\\]' is of type bytes"):
        run_notebook("01", {"users": [b'"+print(1)+"']}, output_dir=tmp_path)
    assert not list(tmp_path.iterdir())


# ---- 6. no channel from the environment -----------------------------------------------------


class Listener:
    """A Unix socket listener that records everything it receives (the attacker's)."""

    def __init__(self, path: Path) -> None:
        self.received = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    while chunk := conn.recv(65536):
                        self.received += chunk
                    conn.sendall(b"ok")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@contextlib.contextmanager
def listening(path: Path) -> Iterator[Listener]:
    listener = Listener(path)
    try:
        yield listener
    finally:
        listener.close()


VALUE = "Hostile-Listener-Test-Value-42"


def _announce_to(path: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setenv(LEAK_SOCKET_VAR, str(path))
    Secret("password", VALUE)


def test_a_leak_socket_in_a_folder_anyone_can_write_receives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    os.chmod(open_folder, 0o777)
    with listening(open_folder / "leak.sock") as listener:
        _announce_to(open_folder / "leak.sock", monkeypatch)
    assert listener.received == b""


def test_a_leak_socket_owned_by_another_user_receives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with listening(private / "leak.sock") as listener:
        os.chown(private / "leak.sock", NOBODY, NOBODY)
        _announce_to(private / "leak.sock", monkeypatch)
        os.chown(private, NOBODY, NOBODY)
        os.chown(private / "leak.sock", 0, 0)
        _announce_to(private / "leak.sock", monkeypatch)
    assert listener.received == b""


def test_a_symlink_to_a_hostile_socket_receives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_folder, private = tmp_path / "open", tmp_path / "private"
    open_folder.mkdir(mode=0o777)
    private.mkdir(mode=0o700)
    with listening(open_folder / "leak.sock") as listener:
        (private / "leak.sock").symlink_to(open_folder / "leak.sock")
        _announce_to(private / "leak.sock", monkeypatch)
    assert listener.received == b""


def test_a_listener_of_another_user_in_a_private_folder_receives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket file and folder look right (this user's, 0700), but the process that listens
    is another user's (``SO_PEERCRED``)."""
    if os.getuid() != 0:
        pytest.skip("a listener of another user needs root (setuid)")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    path = private / "leak.sock"
    code = (
        "import os, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])\n"
        f"os.setgid({NOBODY}); os.setuid({NOBODY}); s.listen(1)\n"
        "print('ready', flush=True); s.settimeout(20)\n"
        "c, _ = s.accept(); c.settimeout(5); data = b''\n"
        "try:\n"
        "    while chunk := c.recv(65536): data += chunk\n"
        "except OSError: pass\n"
        "print(data.hex(), flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        _announce_to(path, monkeypatch)
        received, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert received.strip() == "", "the other user's listener received the secret"


def test_the_runners_own_guard_still_hears_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = LeakGuard().start()
    try:
        _announce_to(Path(guard.socket_path), monkeypatch)
        assert VALUE in guard.values
    finally:
        guard.stop()


def test_a_kernel_started_by_papermill_with_an_inherited_socket_sends_it_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill as pm

    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o777)
    os.chmod(open_folder, 0o777)
    book = notebook(
        tmp_path / "secret.ipynb",
        f"from runbook_lib.core.secrets import Secret\nSecret('password', {VALUE!r})",
    )
    with listening(open_folder / "leak.sock") as listener:
        monkeypatch.setenv(LEAK_SOCKET_VAR, str(open_folder / "leak.sock"))
        pm.execute_notebook(str(book), str(tmp_path / "out.ipynb"), progress_bar=False)
    assert listener.received == b""


def test_servers_kernels_do_not_inherit_a_leak_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEAK_SOCKET_VAR, "/tmp/someone-elses/leak.sock")
    assert LEAK_SOCKET_VAR not in kernel_environ(headless=False)


# ---- 10. the kernels' socket folder ---------------------------------------------------------


@pytest.fixture
def own_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``$TMPDIR`` of this test alone (``tempfile`` reads it again); a short path, because a
    Unix socket's path has at most 107 bytes."""
    temp = Path(tempfile.mkdtemp(prefix="rb-"))
    os.chmod(temp, 0o1777)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(kernels, "_fallback", [])
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def _hostile(folder: Path, how: str) -> None:
    folder.mkdir()
    if how == "mode-0777":
        os.chmod(folder, 0o777)
    elif how == "other-owner":
        if os.getuid() != 0:
            pytest.skip("chown to another user needs root")
        os.chown(folder, NOBODY, NOBODY)
        os.chmod(folder, 0o700)


@pytest.mark.parametrize("how", ["mode-0777", "other-owner"])
def test_a_precreated_kernels_folder_is_not_used_for_sockets(
    how: str, own_tmpdir: Path, tmp_path: Path
) -> None:
    hostile = own_tmpdir / f"runbook-kernels-{os.getuid()}"
    _hostile(hostile, how)
    book = notebook(tmp_path / "where.ipynb", "import os\nprint(os.getpid())")

    seen: list[str] = []
    manager = kernels.ipc_kernel_manager()

    class Spy(manager):  # type: ignore[misc, valid-type]
        async def start_kernel(self, **kw: Any) -> None:
            seen.append(self.ip)
            await super().start_kernel(**kw)

    import papermill as pm

    pm.execute_notebook(str(book), None, kernel_manager_class=Spy, progress_bar=False)

    (ip,) = seen
    assert Path(ip).parent != hostile and not list(hostile.iterdir())
    folder = Path(ip).parent
    # 0700 (jupyter_client adds the sticky bit to a connection file's folder)
    assert folder.stat().st_mode & 0o777 == 0o700 and folder.stat().st_uid == os.getuid()


# ---- 11. secrets_dir as a symlink into a repository -----------------------------------------


def test_a_secrets_dir_symlinked_into_a_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    link = tmp_path / "secrets-link"
    link.symlink_to(repo / "docs")

    with pytest.raises(BadInput, match="inside the git work tree") as refused:
        write_secret_file(link / "123456789012-Administrator_credentials.csv", "x,pw\n")

    assert str(repo) in str(refused.value)
    assert list((repo / "docs").iterdir()) == []


# ---- 12. a full output folder ---------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``folder`` (root only); unmounted after."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_output_folder_after_s1_delivered_keeps_a_record_and_names_the_csv(
    tmp_path: Path,
) -> None:
    secrets_dir = tmp_path / "secrets"
    with tiny_disk(tmp_path / "full", "256k") as full:
        code, out, err = cli(
            "run", "01", "-f", str(SANDBOX_PARAMS), "-p", "user_name", "FullDiskAdmin",
            "-p", "secrets_dir", str(secrets_dir), "--output-dir", str(full / "runs"),
            "--html", "each",  # the export is what no longer fits
        )  # fmt: skip
        (run_dir,) = (full / "runs").iterdir()
        record = json.loads((run_dir / "run.json").read_text("utf-8"))

    (csv_file,) = secrets_dir.glob("*FullDiskAdmin_credentials.csv")
    assert code == EXIT_FAILED, err
    assert "Traceback" not in out + err
    assert record["status"] == "failed" and record["exit_code"] == EXIT_FAILED
    assert record["writes"] >= 2 and record["secrets"], record
    line = record["message"]
    assert "\n" not in line and "ran out of space" in line
    assert f"{record['writes']} write(s)" in line and str(csv_file) in line
    assert line in err


def test_a_full_secrets_folder_after_writes_exits_1_and_counts_them(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "secrets", "16k") as secrets_dir:
        with contextlib.suppress(OSError), open(secrets_dir / "filler", "wb") as filler:
            while True:
                filler.write(b"x" * 1024)
                filler.flush()
        code, _, err = cli(
            "run", "01", "-f", str(SANDBOX_PARAMS), "-p", "user_name", "FullSecretsAdmin",
            "-p", "secrets_dir", str(secrets_dir), "--output-dir", str(tmp_path / "runs"),
        )  # fmt: skip
    (run_dir,) = (tmp_path / "runs").iterdir()
    record = json.loads((run_dir / "run.json").read_text("utf-8"))

    assert record["writes"] >= 2
    assert code == EXIT_FAILED and record["exit_code"] == EXIT_FAILED, err
    assert f"made {record['writes']} write(s)" in record["message"]
    assert "Nothing was changed" not in err


# ---- low: modes whatever the umask; input history; leftovers --------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_run_folders_are_private_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "runs"
    old = os.umask(umask)
    try:
        result = run_notebook(str(FIXTURES / "91_raise_error.ipynb"), {}, output_dir=out)
    finally:
        os.umask(old)

    folders = [out.parent, out, result.run_dir]
    assert {stat.S_IMODE(f.stat().st_mode) for f in folders} == {0o700}
    assert {stat.S_IMODE(p.stat().st_mode) for p in result.artifacts} == {0o600}


def test_a_warm_kernel_keeps_no_input_history_of_the_last_run(tmp_path: Path) -> None:
    marker = "111122223333-HistoryMarker"
    first = notebook(tmp_path / "first.ipynb", "print(account)", parameters='account = ""')
    second = notebook(
        tmp_path / "second.ipynb",
        "print(repr(In), repr(_ih))\nget_ipython().run_line_magic('history', '-g')",
    )
    env = kernel_environ()
    with KernelPool(1) as pool:
        engine.execute(first, None, env=env, parameters={"account": marker}, kernel=pool)
        executed = engine.execute(second, None, env=env, kernel=pool)
        assert pool.stats.reused == 1, "the second run did not reuse the warm kernel"

    text = json.dumps([c.get("outputs") for c in executed.cells])
    assert "HistoryMarker" not in text
    assert "get_ipython" in text  # the probe saw its own input: the history is live


def test_a_killed_runs_leftovers_are_cleaned_and_live_ones_kept(own_tmpdir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    kernels_dir = own_tmpdir / f"runbook-kernels-{os.getuid()}"
    kernels_dir.mkdir(mode=0o700)
    left = [
        own_tmpdir / f"runbook-guard-{dead.pid}-abc",
        own_tmpdir / f"runbook-reset-{dead.pid}-abc",
        kernels_dir / f"kernel-{dead.pid}-0123456789ab-1",
        kernels_dir / f"kernel-{dead.pid}-0123456789ab.json",
    ]
    kept = [
        own_tmpdir / f"runbook-guard-{live}-abc",
        kernels_dir / f"kernel-{live}-0123456789ab-1",
        own_tmpdir / "runbook-guard-unrelated",
        own_tmpdir / f"someone-{dead.pid}-else",
    ]
    for path in left + kept:
        if path.suffix or "kernel-" in path.name:
            path.write_text("")
        else:
            path.mkdir(mode=0o700)
            (path / "leak.sock").write_text("")

    kernels.clean_leftovers()

    assert [p for p in left if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
