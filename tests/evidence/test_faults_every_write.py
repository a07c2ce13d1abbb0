"""Faults at every write: a run that dies at its N-th write is finished by a plain re-run.

For each runbook (and its variants) a clean first run gives W, its number of writes, and the
end state to compare with. Then, for every N in 1..W, a run with ``RUNBOOK_FAULT_AT_WRITE=N``
must fail (exit 1) and a re-run without the fault must succeed (exit 0) and leave exactly the
clean run's end state: no orphan access key, no unassigned MFA device, no secret that nobody
holds (the CSV/seed file holds the value AWS has), and a run record that names its repair.
Each N gets its own user (and group) names, so the sandbox is reset once for the module.

The runs execute the notebooks' own cells in this process (``support.inprocess``: the same
calls in the same order, the fault injected by the same ``RUNBOOK_FAULT_AT_WRITE`` hook the
kernels get); the kernel's side of a fault (exit 1, artifacts without the secret) is proved by
the cached scenarios ``catalog.FAULT_AT_LAST_WRITE`` in ``test_leak_matrix.py``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, client, moto_iam, reset_sandbox, serial
from support.inprocess import InProcessRun, run_in_process

from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR
from runbook_lib.virtual_mfa.seed import stored_seed_in_file

#: writes whose success leaves a secret that only this run holds until it is delivered
SECRET_WRITES = ("CreateLoginProfile", "CreateAccessKey", "CreateVirtualMFADevice")


@pytest.fixture(scope="module")
def iam() -> Iterator[Any]:
    """An IAM client on a sandbox reset once for this module (each run has its own names)."""
    reset_sandbox()
    yield client("iam")


# ---- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One runbook variant: its notebook, its names for a tag, its prerequisites."""

    id: str
    notebook: str
    prefix: str
    extra: tuple[tuple[str, Any], ...] = ()
    prerequisite: str = "user"  # "" | "user" | "user+key"

    def user(self, tag: str) -> str:
        return f"{self.prefix}-{tag}"

    def params(self, tag: str, secrets_dir: Path) -> dict[str, Any]:
        params: dict[str, Any] = {"user_name": self.user(tag), "secrets_dir": str(secrets_dir)}
        if self.notebook.startswith("01"):
            params.update(group_name=f"{self.prefix}s-{tag}", billing_access_confirmed=True)
        params.update(dict(self.extra))
        return params

    def prepare(self, iam: Any, tag: str) -> None:
        if not self.prerequisite:
            return
        iam.create_user(UserName=self.user(tag))
        if self.prerequisite == "user+key":  # a key someone holds: rotate replaces it
            iam.create_access_key(UserName=self.user(tag))


CASES = [
    Case("01", "01_create_admin_user", "FaultAdmin", prerequisite=""),
    Case("02-create", "02_create_access_key", "FaultKey"),
    Case("02-rotate", "02_create_access_key", "FaultRot", (("mode", "rotate"),), "user+key"),
    Case(
        "02-rotate-delete-old",
        "02_create_access_key",
        "FaultDel",
        (("mode", "rotate"), ("delete_old", True)),
        "user+key",
    ),
    Case("03", "03_enable_virtual_mfa", "FaultMfa"),
    Case("03-seed-file", "03_enable_virtual_mfa", "FaultSeed", (("seed_destination", "file"),)),
]


# ---- the end state, normalised -----------------------------------------------------------


def _tag_value(key: str, value: str) -> str:
    if key.startswith("iam-runbooks:"):  # the runbooks' markers: keep the state, not the time
        return value.split(":", 1)[0]
    return value


def _access_key_csvs(secrets_dir: Path, user: str) -> dict[str, str]:
    """Key ID -> secret, from every access-key CSV of ``user`` (never printed)."""
    found: dict[str, str] = {}
    for path in sorted(secrets_dir.glob(f"{ACCOUNT}-{user}_accessKeys*.csv")):
        text = path.read_text("utf-8-sig")
        for row in csv.DictReader(io.StringIO(text)):
            found[row["Access key ID"]] = row["Secret access key"]
    return found


def _signin_csv_holds_the_password(secrets_dir: Path, user: str) -> bool:
    path = secrets_dir / f"{ACCOUNT}-{user}_credentials.csv"
    if not path.is_file():
        return False
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    return len(rows) == 1 and rows[0]["Password"] == moto_iam().users[user].password


def end_state(iam: Any, user: str, tag: str, secrets_dir: Path) -> dict[str, Any]:
    """What a user would check, with this run's names replaced by ``X`` (no secret values)."""

    def norm(text: str) -> str:
        return text.replace(tag, "X")

    got = iam.get_user(UserName=user)["User"]
    groups = {}
    for group in iam.list_groups_for_user(UserName=user)["Groups"]:
        attached = iam.list_attached_group_policies(GroupName=group["GroupName"])
        groups[norm(group["GroupName"])] = sorted(
            p["PolicyArn"] for p in attached["AttachedPolicies"]
        )
    try:
        profile = iam.get_login_profile(UserName=user)["LoginProfile"]
        login: Any = {"reset_required": bool(profile.get("PasswordResetRequired"))}
    except iam.exceptions.NoSuchEntityException:
        login = None
    tags = {
        t["Key"]: _tag_value(t["Key"], t["Value"])
        for t in iam.list_user_tags(UserName=user)["Tags"]
    }
    keys = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    }
    held = _access_key_csvs(secrets_dir, user)
    active = [k for k, s in keys.items() if s == "Active"]
    devices = [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]]
    leftovers = [
        d["SerialNumber"]
        for d in iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
        if d["SerialNumber"].endswith(f"/{user}")
    ]
    state: dict[str, Any] = {
        "path": got["Path"],
        "groups": groups,
        "login_profile": login,
        "tags": tags,
        "access_keys": sorted(keys.values()),
        "active_access_keys": len(active),
        "csv_keys": sorted(keys.get(k, "deleted") for k in held),
        "active_key_in_csv": len(active) == 1 and active[0] in held,
        "mfa_devices": [norm(d) for d in devices],
        "unassigned_mfa_devices": len(leftovers),
    }
    if login is not None:
        state["signin_csv_holds_the_password"] = _signin_csv_holds_the_password(secrets_dir, user)
    seed_file = secrets_dir / f"{user}_virtual_mfa.txt"
    if seed_file.exists():
        stored = stored_seed_in_file(seed_file, serial(user), user)
        device = moto_iam().virtual_mfa_devices.get(serial(user))
        state["seed_file_holds_the_device_seed"] = (
            stored is not None and device is not None and stored.text() == device.base32_string_seed
        )
    return state


def diff(expected: dict[str, Any], got: dict[str, Any]) -> str:
    """The differing fields, by name and value (the state holds no secret values)."""
    keys = sorted(set(expected) | set(got))
    return "; ".join(
        f"{k}: clean {expected.get(k)!r} vs {got.get(k)!r}"
        for k in keys
        if expected.get(k) != got.get(k)
    )


def secret_write_succeeded(faulted: InProcessRun) -> bool:
    """Whether a write that makes a secret went through before the injected fault."""
    calls = faulted.record.get("calls", {})
    failed_op = faulted.message.split("(", 1)[-1].split(")", 1)[0]
    for op in SECRET_WRITES:
        done = calls.get(f"iam:{op}", 0) - (1 if op == failed_op else 0)
        if done > 0:
            return True
    return False


# ---- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_rerun_after_a_fault_at_any_write_ends_like_a_clean_run(
    case: Case, iam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_dir = tmp_path / "secrets"

    def run(tag: str) -> InProcessRun:
        return run_in_process(case.notebook, case.params(tag, secrets_dir))

    started = time.monotonic()
    case.prepare(iam, "clean")
    clean = run("clean")
    assert clean.exit_code == 0, f"clean run of {case.id}: {clean.message}"
    writes = clean.record["writes"]
    assert writes >= 1
    expected = end_state(iam, case.user("clean"), "clean", secrets_dir)
    problems: list[str] = []
    for n in range(1, writes + 1):
        tag = f"n{n}"
        case.prepare(iam, tag)
        monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(n))
        faulted = run(tag)
        monkeypatch.delenv(FAULT_AT_WRITE_VAR)
        if faulted.exit_code != 1 or f"write {n}" not in faulted.message:
            problems.append(f"N={n}: faulted run exit {faulted.exit_code}: {faulted.message}")
            continue
        rerun = run(tag)
        if rerun.exit_code != 0:
            problems.append(f"N={n}: re-run exit {rerun.exit_code}: {rerun.message}")
            continue
        got = end_state(iam, case.user(tag), tag, secrets_dir)
        if got != expected:
            problems.append(f"N={n} ({faulted.message}): end state differs: {diff(expected, got)}")
        needs_repair = secret_write_succeeded(faulted)
        repairs = [r["action"] for r in rerun.record.get("repairs", [])]
        if needs_repair and not repairs:
            problems.append(f"N={n}: a secret-making write went through, but no repair recorded")
        if not needs_repair and repairs:
            problems.append(f"N={n}: nothing needed repair, but the re-run recorded {repairs}")
    took = time.monotonic() - started
    print(f"{case.id}: W={writes}, {1 + 2 * writes} runs in {took:.1f} s")
    assert not problems, f"{case.id} (W={writes}):\n" + "\n".join(problems)
