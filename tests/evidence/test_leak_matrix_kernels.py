"""The leak matrix, live half: the widgets driven in a real kernel (as a person in JupyterLab),
and the output of a failing test (nbval over the committed notebooks and ``runbook docs`` of
them are in ``tests/evidence/nbval/``: the ``make nbval`` target).

Every artifact is scanned for the actual secret values of its run (``leak_scan``); a failure
names the artifact and the kind, never the value.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from nbclient import NotebookClient
from support.aws import ACCOUNT, reset_sandbox
from support.leak_scan import Secrets, assert_clean, destination_secrets, scan
from support.plugin import install_kernel_counter

from runbook_lib.admin_user.passwords import generate_password
from runbook_lib.core.context import HEADLESS_VAR
from runbook_lib.core.secrets import LEAK_SOCKET_VAR
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.run.export import export_html
from runbook_lib.run.kernels import ipc_kernel_manager
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import find_notebook, notebooks_dir

ROOT = Path(__file__).resolve().parents[2]
TYPED_VAR = "LEAK_TEST_TYPED_PASSWORD"

#: a driver cell's helper: the live widget of a runbook_lib.widgets class (what a person sees)
FIND = """
from ipywidgets.widgets.widget import _instances
def find(kind):
    (found,) = [w for w in list(_instances.values()) if type(w).__name__ == kind]
    return found
"""


@pytest.fixture(scope="module")
def iam() -> Any:
    """An IAM client on the sandbox, reset once for this module (each test has its own user)."""
    reset_sandbox()
    return boto3.client("iam")


@pytest.fixture
def guard() -> Iterator[LeakGuard]:
    """The runner's leak guard, listening for the secrets the live kernel announces."""
    g = LeakGuard().start()
    yield g
    g.stop()


@dataclass
class Live:
    """A notebook executing in a kernel that believes a person is at the keyboard."""

    client: NotebookClient
    folder: Path
    saved: list[Path]

    def run(self, until: str = "", start: int = 0) -> int:
        """Execute the notebook's cells from ``start`` up to the cell with id ``until``."""
        cells = self.client.nb.cells
        for index in range(start, len(cells)):
            self.client.execute_cell(cells[index], index)
            if cells[index].get("id") == until:
                return index + 1
        return len(cells)

    def drive(self, source: str) -> None:
        """Run code in the same kernel (a person's clicks); the cell is not in the notebook."""
        cells = self.client.nb.cells
        cells.append(nbformat.v4.new_code_cell(FIND + source))
        try:
            self.client.execute_cell(cells[-1], len(cells) - 1, store_history=False)
        finally:
            cells.pop()

    def save(self, name: str, *, widget_state: bool) -> Path:
        """Save the notebook as it is now (+ its HTML export), with or without widget state."""
        nb = copy.deepcopy(self.client.nb)
        if widget_state:  # what nbclient's store_widget_state=True writes
            self.client.set_widgets_metadata()
            nb.metadata.widgets = self.client.nb.metadata.pop("widgets")
        path = self.folder / f"{name}-{'with' if widget_state else 'no'}-widget-state.ipynb"
        nbformat.write(nb, path)
        export_html(path, path.with_suffix(".html"))
        self.saved += [path, path.with_suffix(".html")]
        return path


@contextlib.contextmanager
def live_kernel(
    book: str, params: dict[str, Any], tmp: Path, guard: LeakGuard, **env: str
) -> Iterator[Live]:
    """Start a kernel without RUNBOOK_HEADLESS (``ctx.interactive`` is True) on ``book``."""
    nb = nbformat.read(find_notebook(book), as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    cell.source += "".join(f"\n{name} = {value!r}" for name, value in params.items())
    folder = tmp / "saved"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(HEADLESS_VAR, raising=False)
        mp.setenv(LEAK_SOCKET_VAR, guard.socket_path)
        # the kernel's history: scanned too (and the kernel is counted like every other)
        mp.setenv("IPYTHONDIR", str(install_kernel_counter(tmp / "ipython")))
        for name, value in env.items():
            mp.setenv(name, value)
        client = NotebookClient(
            nb,
            kernel_name="python3",
            timeout=120,
            store_widget_state=True,  # to see the worst case; our own saves drop it
            record_timing=False,
            resources={"metadata": {"path": str(notebooks_dir())}},
            kernel_manager_class=ipc_kernel_manager(tmp / "kernel.log"),
        )
        with client.setup_kernel():
            yield Live(client, folder, [])


def with_announced(secrets: Secrets, guard: LeakGuard) -> Secrets:
    every = Secrets(list(secrets.items))
    for value in guard.values:
        every.add("announced secret", value)
    return every


def kinds_in(path: Path, secrets: Secrets) -> set[str]:
    return {h.kind for h in scan([path], secrets)}


def test_s1_typed_password_leaves_the_widget_when_used(
    iam: Any, guard: LeakGuard, tmp_path: Path
) -> None:
    user = "leak01-live"
    secrets_dir = tmp_path / "secrets"
    params = {
        "user_name": user,
        "group_name": f"{user}-group",
        "billing_access_confirmed": True,
        "secrets_dir": str(secrets_dir),
    }
    typed = generate_password(PasswordPolicy.aws_default())
    with live_kernel("01", params, tmp_path, guard, **{TYPED_VAR: typed}) as live:
        after = live.run(until="01-16")  # Step 7 shows the plan, the password field, Create
        live.drive(f"find('ApplyForm').field.value = __import__('os').environ.pop({TYPED_VAR!r})")
        typed_state = live.save("typed", widget_state=True)
        typed_plain = live.save("typed", widget_state=False)
        live.drive("find('ApplyForm').button.click()")
        live.run(start=after)
        final_state = live.save("final", widget_state=True)
        live.save("final", widget_state=False)
        secrets = destination_secrets("01", secrets_dir, user)
        typed_was_set = secrets.values("password") == [typed]
        assert typed_was_set, "the password typed into the widget is the one in the CSV"
        every = with_announced(secrets, guard)
    assert "password" in kinds_in(typed_state, every), "typed, not yet used: in widget state"
    worst = {typed_state, typed_state.with_suffix(".html")}
    assert typed_plain in live.saved and final_state in live.saved
    assert_clean([p for p in live.saved if p not in worst], every)
    assert_clean([tmp_path / "ipython", tmp_path / "kernel.log"], every)
    profile = iam.get_login_profile(UserName=user)["LoginProfile"]
    assert profile["UserName"] == user


def test_s2_key_is_in_widget_state_only_between_reveal_and_stored(
    iam: Any, guard: LeakGuard, tmp_path: Path
) -> None:
    user = "leak02-live"
    iam.create_user(UserName=user)
    params = {"user_name": user, "destination": "widget", "secrets_dir": str(tmp_path / "s")}
    with live_kernel("02", params, tmp_path, guard) as live:
        live.run()
        masked_state = live.save("masked", widget_state=True)
        live.drive("find('ShownOnce').reveal_button.click()")
        revealed_state = live.save("revealed", widget_state=True)
        live.save("revealed", widget_state=False)
        live.drive("find('ShownOnce').stored_button.click()")
        live.save("stored", widget_state=True)
        live.save("stored", widget_state=False)
        # what the person copies from the page after Reveal: the key's destination
        page = revealed_state.read_text("utf-8")
        shown = re.findall(r"user-select:all'>([A-Za-z0-9/+]{40})</code>", page)
        assert len(set(shown)) == 1, "Reveal put the secret access key on the page"
        secrets = Secrets()
        secrets.add("secret-access-key", shown[0])
        announced = shown[0] in guard.values
        assert announced, "the revealed value is the run's secret access key"
        every = with_announced(secrets, guard)
    assert "secret-access-key" in kinds_in(revealed_state, every)
    assert not kinds_in(masked_state, every), "before Reveal the key is not in widget state"
    worst = {revealed_state, revealed_state.with_suffix(".html")}
    assert_clean([p for p in live.saved if p not in worst], every)
    assert_clean([tmp_path / "ipython", tmp_path / "kernel.log"], every)
    assert not (tmp_path / "s").exists(), "destination widget: no file"
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user)["Tags"]}
    assert any("delivered" in v for v in tags.values()), "'I have stored it' marked it delivered"


def test_s3_qr_and_seed_leave_widget_state_once_assigned(
    iam: Any, guard: LeakGuard, tmp_path: Path
) -> None:
    user = "leak03-live"
    iam.create_user(UserName=user)
    secrets_dir = tmp_path / "secrets"
    params = {"user_name": user, "seed_destination": "file", "secrets_dir": str(secrets_dir)}
    with live_kernel("03", params, tmp_path, guard) as live:
        live.run()
        executed_state = live.save("executed", widget_state=True)
        live.save("executed", widget_state=False)
        live.drive("find('QrPanel').qr_button.click()")
        scan_state = live.save("qr-shown", widget_state=True)
        live.save("qr-shown", widget_state=False)
        live.drive("find('QrPanel').reveal_button.click()")
        revealed_state = live.save("revealed", widget_state=True)
        live.save("revealed", widget_state=False)
        live.drive(
            "from runbook_lib.virtual_mfa.seed import recent_two_codes\n"
            "form = find('CodeForm')\n"
            "form.code1.value, form.code2.value = recent_two_codes(find('QrPanel').seed)\n"
            "form.button.click()"
        )
        live.save("assigned", widget_state=True)
        live.save("assigned", widget_state=False)
        secrets = destination_secrets("03", secrets_dir, user)
        (qr,) = secrets.values("qr-png")
        assert isinstance(qr, bytes)
        same_qr = base64.b64encode(qr).decode() in guard.values
        assert same_qr, "the QR code drawn here is the one the kernel showed"
        every = with_announced(secrets, guard)
    assert not kinds_in(executed_state, every), "nothing secret before a person clicks"
    assert kinds_in(scan_state, every) >= {"qr-png"}, "Show QR code put it on the page"
    assert "mfa-seed" not in kinds_in(scan_state, every), "the key stays behind Reveal"
    assert "mfa-seed" in kinds_in(revealed_state, every)
    worst = {p for s in (scan_state, revealed_state) for p in (s, s.with_suffix(".html"))}
    assert_clean([p for p in live.saved if p not in worst], every)
    assert_clean([tmp_path / "ipython", tmp_path / "kernel.log"], every)
    devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [f"arn:aws:iam::{ACCOUNT}:mfa/{user}"]


FAILING_TESTS = """
import os
from pathlib import Path
from support.leak_scan import Secrets, assert_clean, assert_no_secret

def test_helper_reports_a_leak(tmp_path):
    secret = os.environ["LEAK_TEST_SECRET"]
    artifact = tmp_path / "artifact.ipynb"
    artifact.write_text('{"text": "' + secret + '"}')
    assert_no_secret([artifact], [secret])

def test_matrix_scan_reports_a_leak(tmp_path):
    secret = os.environ["LEAK_TEST_SECRET"]
    artifact = tmp_path / "artifact.html"
    artifact.write_text("<code>" + secret + "</code>")
    found = Secrets()
    found.add("secret-access-key", secret)
    assert_clean([artifact], found, {"stream": "x" + secret})
"""


def test_a_failing_leak_assertion_prints_no_secret(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/" + os.urandom(9).hex()
    (tmp_path / "test_deliberately_failing.py").write_text(FAILING_TESTS)
    env = {
        **os.environ,
        "LEAK_TEST_SECRET": secret,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-vv",
            "-l",
            "-rA",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:nbval",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = Secrets()
    found.add("secret-access-key", secret)
    assert_clean([], found, {"pytest stdout": proc.stdout, "pytest stderr": proc.stderr})
    assert proc.returncode == 1 and "2 failed" in proc.stdout
    assert "artifact.ipynb" in proc.stdout and "secret-access-key in " in proc.stdout
