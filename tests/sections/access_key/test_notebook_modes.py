"""S2's age-driven mode and S5's cleanup through the notebooks' own cells: a fault at every
write, plan mode, re-runs, and one kernel run of a due ``rotate-if-older-than`` scanned for its
new secret.

The in-process runs (``support.inprocess``) execute notebook 02's (and 05's) code cells as a
kernel would;
keys and users are made old by back-dating them in moto (the sandbox server runs in this
process), so the runs use the real clock as a scheduled run would. The fault loop is
``test_faults_every_write``'s: for each write N of a clean run, a run failing at write N then a
plain re-run must end exactly like the clean run.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from evidence.test_faults_every_write import diff, end_state
from support.aws import ACCOUNT, client, moto_iam, snapshot
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import Secrets, assert_clean
from support.scenarios import Scenario, ScenarioCache

from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

ROTATE = {"mode": "rotate-if-older-than"}


def backdate(user: str, days: int, key_id: str = "") -> None:
    """Make a user (and its login profile) or one of its keys ``days`` old, in moto itself."""
    when = (datetime.now(timezone.utc) - timedelta(days=days)).replace(tzinfo=None)
    found = moto_iam().users[user]
    if not key_id:
        found.create_date = when
    for key in found.access_keys:
        if key.access_key_id == key_id:
            key.create_date = when


def user_with_old_key(iam: Any, user: str) -> None:
    """A user whose only key is 100 days old: due for rotation, unused for cleanup."""
    iam.create_user(UserName=user)
    made = iam.create_access_key(UserName=user)["AccessKey"]
    backdate(user, 100, made["AccessKeyId"])


def user_to_clean(iam: Any, user: str) -> None:
    """An old unused key, a key made today, an old unused console password."""
    user_with_old_key(iam, user)
    iam.create_access_key(UserName=user)
    iam.create_login_profile(UserName=user, Password="Old-Unused-Passw0rd!")
    backdate(user, 100)


#: case -> (notebook, parameters, the user's state before the run)
CASES: dict[str, tuple[str, dict[str, Any], Callable[[Any, str], None]]] = {
    "rotate-if-older-than": ("02", ROTATE, user_with_old_key),
    "rotate-if-older-than-delete-old": ("02", {**ROTATE, "delete_old": True}, user_with_old_key),
    "cleanup": ("05", {}, user_to_clean),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_rerun_after_a_fault_at_any_write_ends_like_a_clean_run(
    case: str, iam: Any, user_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, extra, prepare = CASES[case]
    secrets_dir = tmp_path / "secrets"

    def run(user: str) -> InProcessRun:
        params = {"user_name": user, **extra}
        if book == "02":
            params["secrets_dir"] = str(secrets_dir)
        return run_in_process(book, params)

    started = time.monotonic()
    clean_user = f"{user_name}-clean"
    prepare(iam, clean_user)
    clean = run(clean_user)
    assert clean.exit_code == 0, clean.message
    writes = clean.record["writes"]
    assert writes >= 2, clean.record["calls"]
    expected = end_state(iam, clean_user, clean_user, secrets_dir)
    problems: list[str] = []
    for n in range(1, writes + 1):
        user = f"{user_name}-n{n}"
        prepare(iam, user)
        monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(n))
        faulted = run(user)
        monkeypatch.delenv(FAULT_AT_WRITE_VAR)
        if faulted.exit_code != 1 or f"write {n}" not in faulted.message:
            problems.append(f"N={n}: faulted run exit {faulted.exit_code}: {faulted.message}")
            continue
        rerun = run(user)
        if rerun.exit_code != 0:
            problems.append(f"N={n}: re-run exit {rerun.exit_code}: {rerun.message}")
            continue
        got = end_state(iam, user, user, secrets_dir)
        if got != expected:
            problems.append(f"N={n} ({faulted.message}): end state differs: {diff(expected, got)}")
        third = run(user)
        if third.record["writes"] != 0:
            problems.append(f"N={n}: a third run made {third.record['writes']} writes")
    print(f"{case}: W={writes}, {1 + 3 * writes} runs in {time.monotonic() - started:.1f} s")
    assert not problems, f"{case} (W={writes}):\n" + "\n".join(problems)


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_mode_makes_no_write_and_a_second_run_none(
    case: str, iam: Any, user_name: str, tmp_path: Path
) -> None:
    book, extra, prepare = CASES[case]
    prepare(iam, user_name)
    params = {"user_name": user_name, **extra}
    if book == "02":
        params["secrets_dir"] = str(tmp_path / "secrets")
    before = snapshot([user_name])
    planned = run_in_process(book, params, plan=True)
    assert planned.exit_code == 0, planned.message
    assert planned.record["writes"] == 0 and planned.record["secrets"] == []
    assert snapshot([user_name]) == before and not (tmp_path / "secrets").exists()
    first = run_in_process(book, params)
    assert first.exit_code == 0 and first.record["writes"] > 0, first.message
    second = run_in_process(book, params)
    assert second.exit_code == 0, second.message
    assert second.record["writes"] == 0, second.record["calls"]


def test_a_fresh_key_gives_its_age_and_due_date_in_the_notebook(
    iam: Any, user_name: str, tmp_path: Path
) -> None:
    iam.create_user(UserName=user_name)
    made = iam.create_access_key(UserName=user_name)["AccessKey"]
    backdate(user_name, 10, made["AccessKeyId"])
    params = {"user_name": user_name, "secrets_dir": str(tmp_path), **ROTATE}
    run = run_in_process("02", params)
    assert run.exit_code == 0 and run.record["writes"] == 0, run.message
    key_id = made["AccessKeyId"]
    assert f"key AKIA…{key_id[-4:]} is 10 days old, due in 80 days" in run.shown("new_key")
    assert key_id not in run.shown("new_key"), "the age line names the key by its last 4 only"


# ---- one kernel run: a due rotation, every artifact scanned for the new secret --------------
KERNEL_USER = "DueRotation02"


def _prepare_due(work: Path) -> None:
    user_with_old_key(client("iam"), KERNEL_USER)


DUE_ROTATION = Scenario(
    id="s2-rotate-if-older-than-due",
    book="02",
    params=(("user_name", KERNEL_USER), ("secrets_dir", "{secrets}"), *ROTATE.items()),
    prepare=_prepare_due,
    reruns=("02",),
    rerun_params=(("user_name", KERNEL_USER), ("secrets_dir", "{secrets}"), *ROTATE.items()),
)


def test_a_due_rotation_in_a_kernel_leaks_no_secret_and_a_rerun_writes_nothing(
    scenarios: ScenarioCache,
) -> None:
    run = scenarios.run(DUE_ROTATION)
    assert run.exit_code == 0, run.message
    (path,) = run.secrets_dir.glob(f"{ACCOUNT}-{KERNEL_USER}_accessKeys_*.csv")
    (row,) = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    secrets = Secrets()
    secrets.add("secret-access-key", row["Secret access key"])
    assert_clean(run.artifacts, secrets, run.streams)
    assert run.artifacts, "the run left its artifacts"
    keys = dict(run.after["users"][KERNEL_USER]["keys"])
    assert keys[row["Access key ID"]] == "Active" and sorted(keys.values()) == [
        "Active",
        "Inactive",
    ]
    assert run.reruns["02"].record["writes"] == 0, run.reruns["02"].record["calls"]
