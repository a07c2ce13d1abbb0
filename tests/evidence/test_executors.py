"""No secret through the executors people use without ``runbook``.

Each test runs one notebook as a new user would, in a real process: papermill's CLI, ``jupyter
nbconvert --execute`` (to a notebook and to HTML), ``jupyter execute``, and nbclient with
``store_widget_state=True`` (these all save the widget state produced while cells run). The
kernel has no ``RUNBOOK_HEADLESS`` unless the test says so: it believes a person may be at a
screen. Then the run's actual secrets are collected (the key CSV, the sign-in CSV, the device's
seed as moto lists it, the secrets the kernel announced) and every saved file is scanned for
every form of them (raw, JSON-/HTML-/URL-escaped, base64), and every PNG in it is decoded with
``zbarimg``: no hit is allowed. A failure names the file and the kind, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from support.leak_scan import ACCOUNT, Secrets, access_key, seed_file, signin_password
from support.plugin import install_kernel_counter

from runbook_lib.core import environ, otpauth, totp
from runbook_lib.core.sandbox import Sandbox, sandbox_session
from runbook_lib.core.secrets import secret_forms
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.run.notebooks import find_notebook

BIN = Path(sys.executable).parent
ZBARIMG = shutil.which("zbarimg")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TIMEOUT = 240

pytestmark = pytest.mark.skipif(ZBARIMG is None, reason="zbarimg (Debian zbar-tools) is needed")


# ---- running an executor -------------------------------------------------------------------


@dataclass
class Executed:
    """One executor's run: the folder of everything it saved, and what it printed."""

    out: Path
    secrets_dir: Path
    streams: dict[str, str]


def _injected_copy(book: str, params: dict[str, Any], folder: Path) -> Path:
    """A copy of the notebook with the parameters in a cell after the ``parameters`` cell, as
    papermill and jupyter-scheduler inject them (nbconvert and ``jupyter execute`` take none)."""
    nb = nbformat.read(find_notebook(book), as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)
    path = folder / find_notebook(book).name
    nbformat.write(nb, path)
    return path


def _environment(tmp: Path, guard: LeakGuard, headless: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(environ.HEADLESS, None)
    if headless:  # a scheduler that follows the README sets it
        env[environ.HEADLESS] = "1"
    env[environ.SECRETS_DIR] = str(tmp / "secrets")
    env.update(guard.environ())  # the kernel announces each secret: the scan knows them all
    for name in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR"):
        env[name] = str(tmp / "jupyter" / name.lower())
    install_kernel_counter(Path(env["IPYTHONDIR"]))  # the session counts every kernel
    return env


NBCLIENT_SCRIPT = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=240, kernel_name="python3", store_widget_state=True,
               resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


def execute(
    executor: str,
    book: str,
    params: dict[str, Any],
    tmp: Path,
    guard: LeakGuard,
    url: str,
    *,
    headless: bool = False,
) -> Executed:
    """Run ``book`` with ``executor`` in its own process; everything it saves goes to ``out``."""
    work, out = tmp / "work", tmp / "out"
    work.mkdir()
    out.mkdir()
    env = _environment(tmp, guard, headless)
    stem = find_notebook(book).stem
    if executor == "papermill":
        # the CLI, as a scheduler calls it; the sandbox reached as an explicit endpoint
        args = ["-p", "target", "endpoint", "-p", "endpoint_url", url]
        for name, value in params.items():
            args += (
                ["-p", name, str(value)] if isinstance(value, str) else ["-y", f"{name}: {value}"]
            )
        cmd = [str(BIN / "papermill"), str(find_notebook(book)), str(out / f"{stem}.ipynb")]
        cmd += [*args, "--cwd", str(work), "--log-output"]
    else:
        copy = _injected_copy(book, params, work)
        if executor == "nbconvert-notebook":
            cmd = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute"]
            cmd += [str(copy), "--output-dir", str(out)]
        elif executor == "nbconvert-html":
            cmd = [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--execute"]
            cmd += [str(copy), "--output-dir", str(out)]
        elif executor == "jupyter-execute":
            target = out / copy.name
            shutil.copy(copy, target)
            cmd = [str(BIN / "jupyter"), "execute", "--inplace", str(target)]
        elif executor == "nbclient":
            cmd = [sys.executable, "-c", NBCLIENT_SCRIPT, str(copy), str(out / copy.name)]
            cmd.append(str(work))
        else:  # pragma: no cover - a typo in a parametrize list
            raise ValueError(executor)
    proc = subprocess.run(
        cmd, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    saved = sorted(p.name for p in out.iterdir())
    # the process's own words go into the failure message only after the scan found no secret
    streams = {f"{executor} stdout": proc.stdout, f"{executor} stderr": proc.stderr}
    executed = Executed(out, tmp / "secrets", streams)
    if proc.returncode != 0 or not saved:
        assert_no_leak(executed, every_secret(Secrets(), guard))
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        pytest.fail(f"{executor} exited {proc.returncode}, saved {saved}:\n{tail}", False)
    return executed


# ---- scanning what was saved -------------------------------------------------------------


def every_secret(found: Secrets, guard: LeakGuard) -> list[tuple[str, bytes]]:
    """Every form of every secret of the run: the tests' own list (``leak_scan``) plus the
    library's ``secret_forms`` (URL-encoded, base64 at each alignment) of each value, and of
    each value the kernel announced."""
    forms = set(found.forms())
    for kind, value in found.items:
        forms |= {(kind, f.encode()) for f in secret_forms(value) if len(f) >= 8}
    forms |= {("announced secret", f.encode()) for f in guard.values if len(f) >= 8}
    return sorted(forms)


def _base64_pngs(text: str) -> Iterator[bytes]:
    """Every PNG encoded in base64 anywhere in ``text`` (image/png outputs, widget buffers,
    ``data:`` URLs in HTML); JSON escapes of line breaks are undone first."""
    flat = text.replace("\\n", "").replace("\n", "").replace("\\/", "/")
    for run in re.findall(r"[A-Za-z0-9+/]{80,}={0,2}", flat):
        start = run.find("iVBORw0KGgo")  # base64 of the PNG signature
        if start < 0:
            continue
        chunk = run[start:]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        try:
            data = base64.b64decode(chunk)
        except (binascii.Error, ValueError):
            continue
        if data.startswith(PNG_MAGIC):
            yield data


def _notebook_pngs(path: Path) -> Iterator[bytes]:
    """Every PNG in a saved notebook: outputs and widget state (its buffers included)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        return

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            if node and all(isinstance(x, str) for x in node):
                yield "".join(node)
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node

    for text in walk(data):
        yield from _base64_pngs(text)


def decoded_qr_texts(folder: Path, tmp: Path) -> list[tuple[str, str]]:
    """(file, text) for every code ``zbarimg`` reads in any PNG saved under ``folder``."""
    found: list[tuple[str, str]] = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = file.read_bytes()
        pngs = [raw] if raw.startswith(PNG_MAGIC) else []
        text = raw.decode("utf-8", errors="replace")
        pngs += list(_notebook_pngs(file)) if file.suffix == ".ipynb" else []
        pngs += list(_base64_pngs(text))
        for n, png in enumerate(pngs):
            image = tmp / f"decoded-{file.name}-{n}.png"
            image.write_bytes(png)
            assert ZBARIMG is not None
            read = subprocess.run(
                [ZBARIMG, "-q", "--raw", str(image)], capture_output=True, text=True, check=False
            )
            image.unlink()
            found += [(file.name, line) for line in read.stdout.splitlines() if line.strip()]
    return sorted(set(found))


def assert_no_leak(run: Executed, forms: list[tuple[str, bytes]]) -> None:
    """Fail, naming the file and the kind only, if any form of any secret is saved or printed,
    or if any saved PNG decodes to a QR code."""
    hits: set[str] = set()
    for file in sorted(p for p in run.out.rglob("*") if p.is_file()):
        data = file.read_bytes()
        hits |= {f"{kind} in {file.name}" for kind, form in forms if form in data}
    for name, text in run.streams.items():
        data = text.encode()
        hits |= {f"{kind} in {name}" for kind, form in forms if form in data}
    qr = decoded_qr_texts(run.out, run.out.parent)
    hits |= {f"a QR code ({text.split(':', 1)[0]}:...) in {file}" for file, text in qr}
    if hits:
        pytest.fail("secret saved by the executor: " + "; ".join(sorted(hits)), pytrace=False)


def saved_files(run: Executed) -> list[str]:
    return sorted(p.name for p in run.out.iterdir())


# ---- the run's actual secrets ------------------------------------------------------------


@pytest.fixture
def guard() -> Iterator[LeakGuard]:
    g = LeakGuard().start()
    yield g
    g.stop()


@pytest.fixture
def iam(session_sandbox: Sandbox) -> Any:
    return sandbox_session().client("iam", endpoint_url=session_sandbox.url)


def device_secrets(iam: Any, user: str) -> Secrets:
    """The seed of ``user``'s virtual device as moto lists it (AWS never would), its Key URI
    and the QR PNG of that URI: what an executor must not have saved."""
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/{user}"
    devices = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    (seed,) = [d["Base32StringSeed"] for d in devices if d["SerialNumber"] == serial]
    found = Secrets()
    found.add_mfa(seed.decode() if isinstance(seed, bytes) else str(seed), user)
    return found


EXECUTORS = ["papermill", "nbconvert-notebook", "nbconvert-html", "jupyter-execute", "nbclient"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_s3_saves_no_qr_code_no_seed_and_no_code(
    executor: str, iam: Any, guard: LeakGuard, tmp_path: Path, session_sandbox: Sandbox
) -> None:
    user = f"exec03-{executor}"
    iam.create_user(UserName=user)
    started = time.time()
    run = execute(executor, "03", {"user_name": user}, tmp_path, guard, session_sandbox.url)
    found = device_secrets(iam, user)
    (seed,) = found.values("mfa-seed")
    assert isinstance(seed, str)
    windows = range(totp.window(started) - 1, totp.window(time.time()) + 2)
    codes = [totp.current_code(seed, w * totp.PERIOD) for w in windows]
    # as the virtual authenticator shows them (a bare 6-digit run is too common to scan for)
    live_codes = [("totp-code", f"{c[:3]} {c[3:]}".encode()) for c in codes]
    announced = {
        base64.b64encode(v).decode() for v in found.values("qr-png") if isinstance(v, bytes)
    }
    same_qr = announced <= set(guard.values)
    assert same_qr, "the kernel drew the QR code of the device moto lists: the scan is not vacuous"
    assert_no_leak(run, every_secret(found, guard) + live_codes)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == [], (
        "nobody scanned the QR code: the device stays unassigned (pending for a person)"
    )
    text = "\n".join(p.read_text("utf-8", errors="replace") for p in run.out.iterdir())
    assert "Show QR code" in text or "QR code and secret key" in text, saved_files(run)


def test_s3_with_a_seed_file_saves_no_seed_in_the_papermill_notebook(
    iam: Any, guard: LeakGuard, tmp_path: Path, session_sandbox: Sandbox
) -> None:
    """The issue's case: ``-p seed_destination file``; the seed goes to its 0600 file only."""
    user = "exec03-seedfile"
    iam.create_user(UserName=user)
    params = {"user_name": user, "seed_destination": "file", "secrets_dir": str(tmp_path / "s")}
    run = execute("papermill", "03", params, tmp_path, guard, session_sandbox.url)
    found = device_secrets(iam, user)
    _, seed, uri = seed_file(tmp_path / "s", user)
    same = found.values("mfa-seed") == [seed] and found.values("otpauth-uri") == [uri]
    assert same, "the seed file holds the device's seed and Key URI"
    assert_no_leak(run, every_secret(found, guard))


@pytest.mark.parametrize("executor", EXECUTORS)
def test_s2_saves_no_access_key(
    executor: str, iam: Any, guard: LeakGuard, tmp_path: Path, session_sandbox: Sandbox
) -> None:
    user = f"exec02-{executor}"
    iam.create_user(UserName=user)
    params = {"user_name": user, "secrets_dir": str(tmp_path / "secrets")}
    run = execute(executor, "02", params, tmp_path, guard, session_sandbox.url)
    found = Secrets()
    _, key_id, secret = access_key(run.secrets_dir, user)
    found.add("secret-access-key", secret)
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key_id], "the CSV holds the user's only key"
    assert secret in guard.values, "the kernel announced the key it delivered"
    assert_no_leak(run, every_secret(found, guard))


@pytest.mark.parametrize("executor", EXECUTORS)
def test_s1_saves_no_password(
    executor: str, iam: Any, guard: LeakGuard, tmp_path: Path, session_sandbox: Sandbox
) -> None:
    user = f"exec01-{executor}"
    params = {
        "user_name": user,
        "group_name": f"{user}-admins",
        "billing_access_confirmed": True,
        "secrets_dir": str(tmp_path / "secrets"),
    }
    # headless as a scheduler sets it: without it Step 7 waits for a person's Create and no
    # password exists (nothing to leak, nothing to prove)
    run = execute(executor, "01", params, tmp_path, guard, session_sandbox.url, headless=True)
    found = Secrets()
    _, password = signin_password(run.secrets_dir, user)
    found.add("password", password)
    assert password in guard.values, "the kernel announced the password it delivered"
    assert_no_leak(run, every_secret(found, guard))
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["UserName"] == user


def test_the_scan_finds_a_qr_code_and_a_seed_when_they_are_there(tmp_path: Path) -> None:
    """The scanner itself: a notebook holding the QR PNG (as an output and as a widget buffer)
    and an HTML page holding the seed HTML-escaped are both caught."""
    found = Secrets()
    uri = found.add_mfa("JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU", "x")
    png = otpauth.qr_png(uri)
    out = tmp_path / "out"
    out.mkdir()
    nb = nbformat.v4.new_notebook()
    b64 = base64.b64encode(png).decode()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            outputs=[nbformat.v4.new_output("display_data", {"image/png": b64})]
        )
    )
    nbformat.write(nb, out / "leaky.ipynb")
    run = Executed(out, tmp_path, {})
    read_back = [t for _, t in decoded_qr_texts(out, tmp_path)] == [uri]
    assert read_back, "the QR code of an image/png output is decoded"
    with pytest.raises(pytest.fail.Exception, match=r"qr-png in leaky.ipynb"):
        assert_no_leak(run, every_secret(found, LeakGuard()))
    (out / "leaky.ipynb").unlink()
    state = {"buffers": [{"path": ["value"], "data": b64, "encoding": "base64"}]}
    (out / "state.ipynb").write_text(json.dumps({"metadata": {"widgets": state}}))
    read_back = [t for _, t in decoded_qr_texts(out, tmp_path)] == [uri]
    assert read_back, "the QR code in a widget buffer is decoded"
    (out / "state.ipynb").unlink()
    (out / "page.html").write_text("<code>JBSW&amp;</code>" + "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU")
    with pytest.raises(pytest.fail.Exception, match=r"mfa-seed in page.html"):
        assert_no_leak(run, every_secret(found, LeakGuard()))
