"""A repair never destroys what someone may hold: the red team's attacks, reproduced.

Each test stages the attack as it was reported, with the AWS CLI v2 as the attacker's (and the
checker's) client on the sandbox:

1. S2 dies after the key's CSV is written, before the "delivered" tag; the next run uses
   another secrets folder. It used to delete the delivered key; now the key stays Active, the
   CSV still authenticates, and the run stops with one line (exit 2, no write).
2. S1 dies after the sign-in CSV (fault at UntagUser); the next run uses another folder. It
   used to reset the password; now the password is left alone (exit 2, no write).
3. S1 dies with the password set and no CSV; two runs then repair at once (8 trials): never
   two resets, and a run that stops after a write never exits 2.
4. Someone with only ``iam:TagUser`` forges the runbooks' markers: S2 leaves a break-glass key
   alone, S1 leaves another user's own password alone.

The verified path (a crashed run finished by the next run in the same folder) is
``test_faults_every_write.py``'s and ``test_concurrency.py``'s.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.aws import (
    ACCOUNT,
    assert_unchanged,
    client,
    moto_iam,
    reset_sandbox,
    sandbox_url,
    snapshot,
)
from support.inprocess import InProcessRun, run_in_process
from support.workers import Worker

from runbook_lib.core import marker_key
from runbook_lib.core.markers import run_tag, stamp, utc_now
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

AWS_CLI = "/usr/bin/aws"
_NAMES = itertools.count(1)
S2_TAG, S1_TAG = "iam-runbooks:access-key", "iam-runbooks:console-password"


@pytest.fixture(scope="module", autouse=True)
def sandbox() -> None:
    reset_sandbox()


def aws(*args: str, key_id: str = "testing", secret: str = "testing") -> Any:
    """The AWS CLI v2 on the sandbox with the given credentials; its JSON answer."""
    if not Path(AWS_CLI).exists():
        pytest.skip("no AWS CLI v2 (Debian package awscli)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    done = subprocess.run(
        [AWS_CLI, "--endpoint-url", sandbox_url(), "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"aws {args[:2]} failed (exit {done.returncode})"
    return json.loads(done.stdout) if done.stdout.strip() else None


def keys_by_aws(user: str) -> dict[str, str]:
    listed = aws("iam", "list-access-keys", "--user-name", user)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def stopped_in_one_line(run: InProcessRun, choice: str) -> None:
    """Exit 2, one line naming ``choice``, not a single write."""
    assert run.exit_code == 2, run.message
    assert "\n" not in run.message and choice in run.message, run.message
    assert run.record["writes"] == 0, run.record["changes"]


def s2(user: str, folder: Path, **extra: Any) -> InProcessRun:
    return run_in_process(
        "02_create_access_key", {"user_name": user, "secrets_dir": str(folder)} | extra
    )


def s1(user: str, folder: Path, **extra: Any) -> InProcessRun:
    params = {
        "user_name": user,
        "group_name": f"{user}s",
        "secrets_dir": str(folder),
        "billing_access_confirmed": True,
    }
    return run_in_process("01_create_admin_user", params | extra)


def faulted(monkeypatch: pytest.MonkeyPatch, at: int, op: str, run: Any) -> InProcessRun:
    monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(at))
    try:
        result: InProcessRun = run()
    finally:
        monkeypatch.delenv(FAULT_AT_WRITE_VAR)
    assert result.exit_code == 1 and f"({op})" in result.message, result.message
    return result


# ---- 1. S2: the delivered key survives a run with another secrets folder ------------------
def s2_died_after_its_csv(
    monkeypatch: pytest.MonkeyPatch, folder: Path
) -> tuple[str, dict[str, str]]:
    """A user whose S2 run wrote the key's CSV in ``folder`` and died before the tag."""
    user = f"RepairKey{next(_NAMES)}"
    client("iam").create_user(UserName=user)
    faulted(monkeypatch, 3, "TagUser", lambda: s2(user, folder))  # CSV written, tag not
    (row,) = rows(folder / f"{ACCOUNT}-{user}_accessKeys.csv")
    return user, row


def test_s2_with_another_secrets_folder_keeps_the_delivered_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, other = tmp_path / "sec", tmp_path / "sec" / ACCOUNT  # a single run, then --org
    user, row = s2_died_after_its_csv(monkeypatch, first)
    key_id = row["Access key ID"]

    before = snapshot([user])
    again = s2(user, other)
    stopped_in_one_line(again, "-p repair deactivate")
    assert_unchanged(before, snapshot([user]))
    assert keys_by_aws(user) == {key_id: "Active"}
    who = aws("sts", "get-caller-identity", key_id=key_id, secret=row["Secret access key"])
    assert who["Arn"].endswith(f":user/{user}"), "the delivered CSV no longer authenticates"
    assert not list(other.glob("*.csv"))


def test_s2_told_to_repair_switches_the_unproven_key_off_never_deletes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, other = tmp_path / "sec", tmp_path / "other"
    user, row = s2_died_after_its_csv(monkeypatch, first)
    key_id = row["Access key ID"]
    told = s2(user, other, repair="deactivate")
    assert told.exit_code == 0, told.message
    assert [r["action"] for r in told.record["repairs"]] == ["deactivate-access-key"]
    keys = keys_by_aws(user)
    assert keys[key_id] == "Inactive" and sorted(keys.values()) == ["Active", "Inactive"]
    (new,) = rows(other / f"{ACCOUNT}-{user}_accessKeys.csv")
    assert keys[new["Access key ID"]] == "Active"


# ---- 2. S1: the delivered password survives a run with another secrets folder -------------
def test_s1_with_another_secrets_folder_leaves_the_delivered_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"RepairAdmin{next(_NAMES)}"
    first, other = tmp_path / "sec", tmp_path / "elsewhere"
    faulted(monkeypatch, 7, "UntagUser", lambda: s1(user, first))  # CSV written, tag not
    (row,) = rows(first / f"{ACCOUNT}-{user}_credentials.csv")
    created = aws("iam", "get-login-profile", "--user-name", user)["LoginProfile"]["CreateDate"]

    before = snapshot([user])
    again = s1(user, other)
    stopped_in_one_line(again, "-p repair reset-password")
    assert "iam:UpdateLoginProfile" not in again.record["calls"]
    assert_unchanged(before, snapshot([user]))
    profile = aws("iam", "get-login-profile", "--user-name", user)["LoginProfile"]
    assert profile["CreateDate"] == created
    held = moto_iam().users[user].password  # moto never checks a password: compare instead
    assert fp(row["Password"]) == fp(held), "the delivered CSV's password was replaced"
    assert not other.exists() or not list(other.iterdir())


# ---- 3. S1: a crashed run, then two repairs at once -----------------------------------------
WORKER = r"""
import json, sys
from runbook_lib import preflight
from runbook_lib import admin_user as s1
from runbook_lib.admin_user import signin
from runbook_lib.core.errors import RunbookError

print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    ctx = preflight("repairs", target="sandbox")
    out = {"ok": True, "error": "", "message": ""}
    try:
        request = s1.check_request(
            ctx, user_name=job["user"], group_name=job["group"], secrets_dir=job["secrets_dir"]
        )
        users = s1.find_users(ctx, request)
        created = s1.review_and_create(ctx, users, s1.find_groups(ctx, request))
        signin.deliver_sign_in(ctx, created)
        s1.verify(ctx, created)
    except RunbookError as err:
        out = {"ok": False, "error": type(err).__name__, "message": str(err)}
    except Exception as err:
        out = {"ok": False, "error": type(err).__name__, "message": "unexpected"}
    record = ctx.record.to_dict()
    out["writes"] = ctx.record.writes
    out["resets"] = sum(r["action"] == "update-login-profile" for r in record["repairs"])
    print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def racers() -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker(WORKER), Worker(WORKER))
    yield pair
    for w in pair:
        w.close()


TRIALS = 8


def test_s1_two_repairs_at_once_after_a_crash_never_reset_twice(
    racers: tuple[Worker, Worker], tmp_path: Path
) -> None:
    problems: list[str] = []
    for i in range(TRIALS):
        user, folder = f"RaceRepair{i}", tmp_path / f"t{i}"
        job = {"user": user, "group": f"RaceRepairs{i}", "secrets_dir": str(folder)}
        crash = Worker(
            WORKER, {FAULT_AT_WRITE_VAR: "6"}
        )  # UpdateLoginProfile: password set, no CSV
        crash.send(job)
        died = crash.result()
        crash.close()  # its process is gone: its marker is a crashed run's
        assert not died["ok"] and "(UpdateLoginProfile)" in died["message"], died
        for w in racers:
            w.send(job)
        results = [w.result() for w in racers]
        resets = sum(r["resets"] for r in results)
        files = sorted(folder.glob(f"*-{user}_credentials.csv"))
        if resets != 1 or len(files) != 1:
            problems.append(f"trial {i}: {resets} resets, {len(files)} CSVs: {results}")
            continue
        for r in results:
            if r["message"] == "unexpected" or (r["error"] == "BadInput" and r["writes"]):
                problems.append(f"trial {i}: {r}")
            if not r["ok"] and r["writes"] and "nothing was changed" in r["message"].lower():
                problems.append(f"trial {i}: 'nothing was changed' after a write: {r}")
        (row,) = rows(files[0])
        if fp(row["Password"]) != fp(moto_iam().users[user].password):
            problems.append(f"trial {i}: the CSV does not hold IAM's password")
        tags = {t["Key"] for t in client("iam").list_user_tags(UserName=user)["Tags"]}
        if S1_TAG in tags:
            problems.append(f"trial {i}: the marker is left on the user")
    assert not problems, "\n".join(problems)


# ---- 4. forged markers (the attacker holds iam:TagUser only) -----------------------------
def gone_run() -> str:
    """A marker's run field naming this host and a process that is gone (no lease holds it)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return run_tag("rforged").replace(f"-{os.getpid()}@", f"-{int(done.stdout)}@")


def forged_value(kind: str, tag: str, user: str, fields: str, place: str) -> str:
    """The marker value the runbooks would write for ``user``, made without the owner's key:
    none (``unsigned``, the format of old markers), a made-up MAC (``no-mac``), or a real one
    under another key (``other-key``: another machine, or an attacker's own)."""
    moment = stamp(utc_now() - timedelta(minutes=1))
    head = f"pending:{moment}:{gone_run()}:user/alice{fields}"
    if kind == "unsigned":  # exactly what the runbooks wrote before markers were signed
        return head
    if kind == "no-mac":
        return f"{head}:m={secrets.token_hex(16)}:{place}"
    other_key = secrets.token_bytes(32)
    mac = marker_key.mac(other_key, tag, ACCOUNT, user, f"{head}:{place}")
    return f"{head}:m={mac}:{place}"


@pytest.mark.parametrize("kind", ["unsigned", "no-mac", "other-key"])
def test_s2_leaves_a_break_glass_key_alone_under_a_forged_marker(tmp_path: Path, kind: str) -> None:
    user = f"BreakGlass{next(_NAMES)}"
    iam = client("iam")
    iam.create_user(UserName=user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]  # never used
    folder = tmp_path / "secrets"
    place = os.path.realpath(folder / f"{ACCOUNT}-{user}_accessKeys.csv")
    value = forged_value(kind, S2_TAG, user, ":none:file", place)
    aws("iam", "tag-user", "--user-name", user, "--tags", f"Key={S2_TAG},Value={value}")

    before = snapshot([user])
    run = s2(user, folder)
    stopped_in_one_line(run, "-p repair deactivate")
    assert "cannot verify" in run.message
    assert_unchanged(before, snapshot([user]))
    assert keys_by_aws(user) == {key_id: "Active"}


@pytest.mark.parametrize("kind", ["unsigned", "no-mac", "other-key"])
def test_s1_leaves_another_users_own_password_alone_under_a_forged_marker(
    tmp_path: Path, kind: str
) -> None:
    user = f"Bob{next(_NAMES)}"
    iam = client("iam")
    iam.create_user(UserName=user)
    iam.create_login_profile(UserName=user, Password="Bob's-own-Passw0rd!")
    created = aws("iam", "get-login-profile", "--user-name", user)["LoginProfile"]["CreateDate"]
    folder = tmp_path / "secrets"
    place = os.path.realpath(folder / f"{ACCOUNT}-{user}_credentials.csv")
    value = forged_value(kind, S1_TAG, user, "", place)
    aws("iam", "tag-user", "--user-name", user, "--tags", f"Key={S1_TAG},Value={value}")

    before = snapshot([user])
    run = s1(user, folder)
    stopped_in_one_line(run, "-p repair reset-password")
    assert "cannot verify" in run.message
    assert "iam:UpdateLoginProfile" not in run.record["calls"]
    assert_unchanged(before, snapshot([user]))
    profile = aws("iam", "get-login-profile", "--user-name", user)["LoginProfile"]
    assert profile["CreateDate"] == created
    assert moto_iam().users[user].password == "Bob's-own-Passw0rd!"
    assert not folder.exists() or not list(folder.iterdir())
