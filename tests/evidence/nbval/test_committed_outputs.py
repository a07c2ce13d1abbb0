"""nbval over the committed notebooks (the ``make nbval`` target), and what it leaves behind.

Once for the English notebooks (``notebooks/``) and once for the Korean ones (``notebooks/ko/``,
with ``RUNBOOK_LANG=ko`` for a notebook that does not declare ``language``), each time
``pytest --nbval`` runs in a subprocess on copies of the committed notebooks, on the session's
sandbox freshly reset (as ``runbook refresh`` had it), with its secret files in a folder of
ours: it must pass (the committed outputs are what a run gives), and nothing it wrote or printed
may hold the run's secrets. ``runbook docs`` over the same notebooks leaks none either. Its four
kernels are counted by the session's kernel counter (they inherit ``IPYTHONDIR``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.aws import client, reset_sandbox
from support.leak_scan import Secrets, access_key, assert_clean, destination_secrets

from runbook_lib.core import environ

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class NbvalRun:
    """nbval over copies of the committed notebooks, and the secrets of that run."""

    lang: str
    folder: Path
    copies: Path
    proc: subprocess.CompletedProcess[str] = field(repr=False)
    secrets: Secrets
    key_id: str


#: the folder of each language's committed notebooks
FOLDERS = {"en": ROOT / "notebooks", "ko": ROOT / "notebooks" / "ko"}
#: reads made on the sandbox before nbval starts: the committed outputs must not depend on how
#: many requests the sandbox answered before (moto once drew every request ID from the seed)
EXTRA_REQUESTS = {"en": 1, "ko": 7}


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def nbval_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NbvalRun]:
    """``pytest --nbval`` in a subprocess on the committed notebooks of one language, on a
    freshly seeded sandbox (as ``runbook refresh`` had it, then a few extra reads that refresh
    did not make), with its secret files in a folder of ours."""
    lang = str(request.param)
    reset_sandbox()
    for _ in range(EXTRA_REQUESTS[lang]):
        client("iam").list_users()
    folder = tmp_path_factory.mktemp(f"nbval-{lang}")
    copies = folder / "notebooks"
    copies.mkdir()
    for book in sorted(FOLDERS[lang].glob("[0-9][0-9]_*.ipynb")):
        shutil.copy(book, copies / book.name)
    # the sanitizer knows secrets folders of the form /tmp/runbook-*/secrets
    scratch = Path(tempfile.mkdtemp(prefix="runbook-leak-"))
    secrets_dir = scratch / "secrets"
    env = {**os.environ, environ.SECRETS_DIR: str(secrets_dir), "PYTHONPATH": str(ROOT)}
    env[environ.HEADLESS] = "1"
    env[environ.LANG] = lang
    cmd = [sys.executable, "-m", "pytest", "-v", "-l", "--nbval", str(copies)]
    cmd += ["--nbval-sanitize-with", str(Path(__file__).resolve().with_name("nbval_sanitize.cfg"))]
    try:
        proc = subprocess.run(
            cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        secrets = Secrets()
        for book, user in (("01", "Administrator"), ("02", "Administrator")):
            secrets.extend(destination_secrets(book, secrets_dir, user))
        _, key_id, _ = access_key(secrets_dir, "Administrator")
        # S3 ran with the sandbox's virtual authenticator: the seed is only in the sandbox
        devices = client("iam").list_virtual_mfa_devices(AssignmentStatus="Any")
        (seed,) = [
            d["Base32StringSeed"]
            for d in devices["VirtualMFADevices"]
            if d["SerialNumber"].endswith(":mfa/Administrator")
        ]
        secrets.add_mfa(seed.decode() if isinstance(seed, bytes) else str(seed), "Administrator")
        yield NbvalRun(lang, folder, copies, proc, secrets, key_id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_committed_notebooks_pass_nbval_and_leak_no_secret(nbval_run: NbvalRun) -> None:
    r = nbval_run
    assert_clean([r.folder], r.secrets, {"pytest stdout": r.proc.stdout, "stderr": r.proc.stderr})
    if r.proc.returncode != 0:  # scanned above: the output holds no secret of the run
        pytest.fail("nbval failed:\n" + r.proc.stdout[-8000:], pytrace=False)
    assert " passed" in r.proc.stdout and " failed" not in r.proc.stdout
    assert r.secrets.kinds == {"password", "secret-access-key", "mfa-seed", "otpauth-uri", "qr-png"}


def test_runbook_docs_leaks_no_secret_of_the_seeded_run(
    nbval_run: NbvalRun, tmp_path: Path
) -> None:
    """The committed outputs come from a run on the same seeded sandbox: same key, same seed."""
    if nbval_run.lang != "en":
        pytest.skip("the course renders the English notebooks (the Korean course: part 2)")
    committed = (ROOT / "notebooks" / "02_create_access_key.ipynb").read_text("utf-8")
    assert nbval_run.key_id.startswith("AKIA") and nbval_run.key_id in committed, (
        "the committed run created the same key as the nbval run: its secret is the one scanned"
    )
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.interfaces.cli", "docs", "--output-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RUNBOOK_NOTEBOOKS": str(nbval_run.copies)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert_clean([site], nbval_run.secrets, {"stdout": proc.stdout, "stderr": proc.stderr})
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = {p.stem for p in site.glob("*.html")}
    runbooks = {p.stem for p in (ROOT / "notebooks").glob("0*.ipynb")}
    course = {
        "index",
        "glossary",
        "setup",
        "agenda",
        "trainer-notes",
        "troubleshooting",
        "real-aws",
    }
    assert pages == runbooks | course, "index, glossary, the course pages and every runbook"
