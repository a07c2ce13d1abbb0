"""Notebook 07 headless (`runbook run 07`): the audit and the plan only, 0 writes, unless
`-p apply true`; then each step is a run of its own, the rows say what is true now, and S0 runs
again. What a person checks: the account (read with a second client), the run folders on disk,
the page's text, and that no secret made by a step is in 07's outputs.

Kernel starts: 2 for the plan (07, S0), 1 + 1 + 3 + 1 for apply.
"""

from __future__ import annotations

import contextlib
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import leak_scan
from support.aws import assert_unchanged, client, reset_sandbox, snapshot

from runbook_lib.core import environ
from runbook_lib.interfaces.cli import main

NB = "07_fix_findings"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "07", *argv])
    return code, out.getvalue(), err.getvalue()


def page_of(output_dir: Path) -> tuple[Path, str]:
    """07's run folder and the text of its executed notebook's outputs."""
    (folder,) = output_dir.glob(f"*-{NB}-*")
    nb = json.loads((folder / f"{NB}.ipynb").read_text("utf-8"))
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text") or out.get("data", {}).get("text/plain", "")))
    return folder, "\n".join(texts)


@pytest.fixture(scope="module")
def bob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`runbook run 07`, then `runbook run 07 -p apply true`, on a sandbox with console user bob
    (no MFA, no password policy, no administrator)."""
    reset_sandbox()
    iam = client("iam")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Bob-initial-Passw0rd!")
    base = tmp_path_factory.mktemp("fix07")
    out: dict[str, Any] = {"base": base, "secrets": base / "secrets"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(environ.SECRETS_DIR, str(out["secrets"]))
        before = snapshot()
        out["plan"] = run("--output-dir", str(base / "plan"))
        out["plan_changed"] = (before, snapshot())
        out["apply"] = run("--output-dir", str(base / "apply"), "-p", "apply", "true")
    yield out


def test_headless_07_only_plans_and_writes_nothing(bob: dict[str, Any]) -> None:
    code, _stdout, stderr = bob["plan"]
    assert code == 0, stderr
    assert_unchanged(*bob["plan_changed"])
    folder, text = page_of(bob["base"] / "plan")
    assert "Step 1 — 04_set_password_policy closes 2.8, 2.9 (not destructive)" in text
    assert "Step 3 — 03_enable_virtual_mfa for bob closes 2.10" in text
    assert "runbook run 03_enable_virtual_mfa -p user_name bob" in text  # what the step runs
    assert "No step ran (0 writes)" in text and " done →" not in text
    # the audit it ran is a run of its own, next to 07's
    (audit,) = (bob["base"] / "plan").glob("*-00_check_root_usage-*/run.json")
    assert json.loads(audit.read_text("utf-8"))["writes"] == 0
    assert json.loads((folder / "run.json").read_text("utf-8"))["writes"] == 0


def test_headless_07_with_apply_runs_each_step_and_rows_say_what_is_true(
    bob: dict[str, Any],
) -> None:
    code, _stdout, stderr = bob["apply"]
    assert code == 0, stderr
    iam = client("iam")  # the account, read with a second client
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] >= 14
    assert iam.list_mfa_devices(UserName="bob")["MFADevices"]
    assert iam.list_mfa_devices(UserName="Administrator")["MFADevices"]
    _folder, text = page_of(bob["base"] / "apply")
    runs = bob["base"] / "apply"
    for n, name in ((1, "04_set_password_policy"), (2, "01_create_admin_user"),
                    (3, "03_enable_virtual_mfa"), (4, "03_enable_virtual_mfa")):  # fmt: skip
        (line,) = [x for x in text.splitlines() if x.startswith(f"Step {n} — {name}")]
        assert ": done → " in line, line
        assert "runbook run" not in line and "not destructive" not in line  # no "to do" left
        (run_dir,) = runs.glob(line.rsplit("/", 1)[-1])  # the folder it names exists
        assert (run_dir / "run.json").is_file()
    assert "2.8 FAIL -> PASS" in text and "2.10 FAIL -> PASS" in text
    assert "No step ran" not in text
    # the steps' secrets: 0600 files, and nowhere in 07's notebook, record or the output
    found = leak_scan.destination_secrets("01", bob["secrets"], "Administrator")
    found.extend(leak_scan.destination_secrets("03", bob["secrets"], "bob"))
    files = [p for p in bob["secrets"].iterdir() if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    seven = [p for p in runs.glob(f"*-{NB}-*/*") if p.is_file()]
    leak_scan.assert_clean(seven, found, {"stdout": bob["apply"][1], "stderr": stderr})


def test_headless_07_refuses_a_destructive_plan_without_yes(tmp_path: Path) -> None:
    from datetime import timedelta

    from support.aws import moto_iam

    reset_sandbox()
    iam = client("iam")
    iam.create_user(UserName="carol")
    iam.create_access_key(UserName="carol")
    (key,) = moto_iam().users["carol"].access_keys
    key.create_date -= timedelta(days=100)
    before = snapshot()
    code, _stdout, stderr = run("--output-dir", str(tmp_path), "-p", "apply", "true")
    assert code == 2
    assert "set yes to true" in stderr and "for carol" in stderr
    assert_unchanged(before, snapshot())  # refused before any step ran
