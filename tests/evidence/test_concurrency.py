"""Two runs at once on one user, in two real processes: nothing lost, nothing doubled.

Two Python worker processes (not notebook kernels: the suite stays fast) each run a section's
verbs in notebook order against the session's sandbox. For every round the test sends both
the same request at the same moment, then checks what a user would: one key / one device /
one password in the end, every delivered secret belongs to a resource that exists (the file
read back and compared with IAM, by fingerprint), and no run says "Nothing was changed" after
a write. Each pair is repeated ``ROUNDS`` times.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, reset_sandbox
from support.workers import Worker

from runbook_lib import preflight
from runbook_lib.core.sandbox import Sandbox

ROUNDS = 10

WORKER = r"""
import json, sys, traceback

from runbook_lib import preflight
from runbook_lib import access_key as s2
from runbook_lib import admin_user as s1
from runbook_lib import virtual_mfa as s3
from runbook_lib.admin_user import signin
from runbook_lib.core.errors import RunbookError


def run_s1(ctx, job):
    request = s1.check_request(
        ctx, user_name=job["user"], group_name=job["group"], secrets_dir=job["secrets_dir"]
    )
    users = s1.find_users(ctx, request)
    groups = s1.find_groups(ctx, request)
    s1.review_tags(users)
    created = s1.review_and_create(ctx, users, groups)
    signin.deliver_sign_in(ctx, created)
    s1.verify(ctx, created)


def run_s2(ctx, job):
    plan = s2.check_request(
        ctx, job["user"], mode=job["mode"], delete_old=job["mode"] == "rotate",
        secrets_dir=job["secrets_dir"],
    )
    key = s2.ensure_access_key(ctx, plan)
    s2.show_key(ctx, plan, key)
    s2.deliver_key(ctx, plan, key)
    s2.retire_old_key(ctx, plan, key, sleep=lambda _: None)
    s2.verify(ctx, plan, key, sleep=lambda _: None)


def run_s3(ctx, job):
    setup = s3.check_request(
        ctx, user_name=job["user"], seed_destination="file", secrets_dir=job["secrets_dir"]
    )
    device = s3.ensure_virtual_device(ctx, setup)
    s3.show_device(ctx, device)
    s3.ensure_assigned(ctx, device)
    s3.verify(ctx, device)


RUN = {"s1": run_s1, "s2": run_s2, "s3": run_s3}
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    ctx = preflight("concurrency", target="sandbox")
    out = {"ok": True, "error": "", "message": ""}
    try:
        RUN[job["section"]](ctx, job)
    except RunbookError as err:
        out = {"ok": False, "error": type(err).__name__, "message": str(err)}
    except Exception as err:  # reported by type only: the test fails on it
        out = {"ok": False, "error": type(err).__name__, "message": "unexpected"}
    out["writes"] = ctx.record.writes
    print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return reset_sandbox()


@pytest.fixture(scope="module")
def workers(box: Sandbox) -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker(WORKER), Worker(WORKER))
    yield pair
    for w in pair:
        w.close()


def race(workers: tuple[Worker, Worker], job: dict[str, Any]) -> list[dict[str, Any]]:
    """Both workers get ``job`` at the same moment; their results."""
    for w in workers:
        w.send(job)
    results = [w.result() for w in workers]
    for r in results:
        assert r["message"] != "unexpected", r
        if r["writes"]:
            assert "nothing was changed" not in r["message"].lower(), r
    return results


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def iam_backend() -> Any:
    from moto.backends import get_backend

    ctx = preflight("test", target="sandbox")
    return get_backend("iam")[ctx.account_id]["global"]  # type: ignore[index]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def test_two_s1_runs_end_with_one_delivered_password(
    workers: tuple[Worker, Worker], tmp_path: Path
) -> None:
    for i in range(ROUNDS):
        user, folder = f"RaceAdmin{i}", tmp_path / f"s1-{i}"
        job = {"section": "s1", "user": user, "group": f"RaceAdmins{i}", "secrets_dir": str(folder)}
        results = race(workers, job)
        assert any(r["ok"] for r in results), results
        files = sorted(folder.glob(f"*-{user}_credentials.csv"))
        assert len(files) == 1, results
        (row,) = csv_rows(files[0])
        held = iam_backend().users[user].password
        assert fp(row["Password"]) == fp(held), f"round {i}: the CSV's password is not IAM's"


@pytest.mark.parametrize("mode", ["create", "rotate"])
def test_two_s2_runs_end_with_one_delivered_key(
    workers: tuple[Worker, Worker], tmp_path: Path, mode: str
) -> None:
    ctx = preflight("test", target="sandbox")
    for i in range(ROUNDS):
        user, folder = f"RaceKey{mode}{i}", tmp_path / f"s2-{mode}-{i}"
        ctx.iam.create_user(UserName=user)
        old = ctx.iam.create_access_key(UserName=user)["AccessKey"] if mode == "rotate" else None
        results = race(
            workers, {"section": "s2", "user": user, "mode": mode, "secrets_dir": str(folder)}
        )
        keys = {k.access_key_id: k for k in iam_backend().users[user].access_keys}
        assert len(keys) == 1, (i, results)
        if old is not None and not any(r["ok"] for r in results):
            assert old["AccessKeyId"] in keys, (i, results)  # both stopped: the old key stays
            continue
        assert any(r["ok"] for r in results), (i, results)
        (path,) = folder.glob(f"{ACCOUNT}-{user}_accessKeys*.csv")
        (row,) = csv_rows(path)
        key = keys.get(row["Access key ID"])
        assert key is not None, f"round {i}: the delivered key does not exist"
        assert fp(row["Secret access key"]) == fp(key.secret_access_key)


def test_two_s3_runs_end_with_one_device_whose_seed_is_delivered(
    workers: tuple[Worker, Worker], tmp_path: Path
) -> None:
    ctx = preflight("test", target="sandbox")
    for i in range(ROUNDS):
        user, folder = f"RaceMfa{i}", tmp_path / f"s3-{i}"
        ctx.iam.create_user(UserName=user)
        results = race(workers, {"section": "s3", "user": user, "secrets_dir": str(folder)})
        assert any(r["ok"] for r in results), (i, results)
        devices = ctx.iam.list_mfa_devices(UserName=user)["MFADevices"]
        assert len(devices) == 1, (i, results)
        serial = devices[0]["SerialNumber"]
        listed = ctx.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
        assert serial not in {d["SerialNumber"] for d in listed["VirtualMFADevices"]}
        assert not any(
            d["SerialNumber"].endswith(f"/{user}") for d in listed["VirtualMFADevices"]
        ), f"round {i}: an orphan device is left"
        (path,) = folder.glob(f"{user}_virtual_mfa.txt")
        fields = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        assert fields["serial_number"] == serial
        seed = iam_backend().virtual_mfa_devices[serial].base32_string_seed
        seed = seed.decode() if isinstance(seed, bytes) else seed
        assert fp(fields["seed"]) == fp(seed), f"round {i}: the file's seed is not IAM's"
