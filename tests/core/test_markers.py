"""Crash-safety markers (core.markers): one tag scheme for S1 and S2, and S2's lease."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from support.aws import ACCOUNT, reset_sandbox

from runbook_lib import BadInput, RunContext, preflight
from runbook_lib.access_key.apply import ensure_access_key
from runbook_lib.access_key.marker import MARKER_TAG, key_marker, write_marker
from runbook_lib.access_key.request import check_request
from runbook_lib.core.errors import RunInProgress
from runbook_lib.core.markers import (
    DELIVERED,
    PENDING,
    Marker,
    caller_name,
    new_marker,
    run_tag,
    utc_now,
)
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.secrets import default_secrets_dir

#: IAM's tag value pattern, [\p{L}\p{Z}\p{N}_.:/=+\-@]*, for the ASCII this scheme writes
TAG_VALUE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]{0,256}")
_NAMES = itertools.count(1)


@pytest.fixture(scope="module")
def module_sandbox() -> Sandbox:
    return reset_sandbox()


@pytest.fixture
def ctx(module_sandbox: Sandbox) -> RunContext:
    return preflight("test", target="sandbox")


@pytest.fixture
def user(ctx: RunContext) -> str:
    name = f"Leased{next(_NAMES)}"
    ctx.iam.create_user(UserName=name)
    return name


def other_run(alive: bool) -> str:
    """The run field of a marker written by another process on this host (alive or gone)."""
    if alive:
        pid = os.getppid()
    else:
        done = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            check=True,
            capture_output=True,
            text=True,
        )
        pid = int(done.stdout)
    return run_tag("rother0000").replace(f"-{os.getpid()}@", f"-{pid}@")


def keys_of(ctx: RunContext, user: str) -> list[str]:
    return [m["AccessKeyId"] for m in ctx.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]


def marker_value(ctx: RunContext, user: str) -> str:
    tags = ctx.iam.list_user_tags(UserName=user)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == MARKER_TAG), "")


def csv_of(user: str) -> str:
    """The access-key CSV a run of this test would deliver to (as a marker names it)."""
    return os.path.realpath(default_secrets_dir() / f"{ACCOUNT}-{user}_accessKeys.csv")


def dead_run_left_a_key(ctx: RunContext, user: str, run: str, age: timedelta) -> str:
    """A run created a key and died before delivering it; its marker names ``run``."""
    key = ctx.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    marker = key_marker(
        PENDING, utc_now() - age, (), "file", run_id=run, by="user/alice", place=csv_of(user)
    )
    write_marker(ctx, user, "arn", marker)
    return str(key)


# ---- the tag value ----------------------------------------------------------------------
def test_a_marker_round_trips_through_its_tag_value(ctx: RunContext) -> None:
    marker = new_marker(ctx, PENDING, "AKIA1+AKIA2", "file")
    value = marker.value()
    assert TAG_VALUE.fullmatch(value)
    back = Marker.parse(value, 2)
    assert back is not None and back.fields == ("AKIA1+AKIA2", "file")
    assert back.run_id == marker.run_id and back.run_id.startswith(ctx.record.run_id)
    assert back.moment is not None and marker.moment is not None
    assert abs((back.moment - marker.moment).total_seconds()) < 1


def test_a_long_or_odd_caller_still_makes_a_valid_tag_value() -> None:
    by = caller_name("arn:aws:sts::123456789012:assumed-role/Role/" + "x,y" * 200)
    marker = Marker(DELIVERED, utc_now(), "r1-2@host", by, ("AKIA", "secretsmanager"))
    assert "," not in by and TAG_VALUE.fullmatch(marker.value())
    assert Marker.parse(marker.value(), 2) is not None


def test_markers_of_earlier_versions_are_still_read() -> None:
    s1 = Marker.parse("pending")
    assert s1 is not None and s1.state == PENDING and s1.moment is None and not s1.run_id
    s2 = Marker.parse("delivered:20240131T235959Z:AKIA1:file", 2)
    assert s2 is not None and s2.state == DELIVERED and s2.fields == ("AKIA1", "file")
    assert Marker.parse("nonsense:1:2", 2) is None and Marker.parse("pending:x:y:z", 0) is None


# ---- S1 uses the same scheme --------------------------------------------------------------
def test_s1_tags_a_new_console_user_with_a_marker_of_its_run(
    ctx: RunContext, secrets_dir: Path
) -> None:
    from runbook_lib import admin_user
    from runbook_lib.admin_user.state import MARKER_KEY, read_user

    name = f"Marked{next(_NAMES)}"
    request = admin_user.check_request(ctx, user_name=name, group_name="Administrators")
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    marker = read_user(ctx.iam, name).marker
    assert marker is not None and marker.state == PENDING
    assert marker.run_id.startswith(ctx.record.run_id) and marker.by
    admin_user.deliver_sign_in(ctx, created)
    assert read_user(ctx.iam, name).marker is None
    assert MARKER_KEY not in {t["Key"] for t in ctx.iam.list_user_tags(UserName=name)["Tags"]}


# ---- S2's lease ---------------------------------------------------------------------------
def test_another_live_run_stops_s2_before_any_write(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    theirs = dead_run_left_a_key(ctx, user, other_run(alive=True), timedelta(minutes=1))
    run = preflight("test", target="sandbox")
    with pytest.raises(RunInProgress) as caught:
        check_request(run, user)
    assert "started at" in str(caught.value) and "user/alice" in str(caught.value)
    assert "Nothing was changed" in str(caught.value)
    assert run.record.writes == 0 and keys_of(ctx, user) == [theirs]
    assert caught.value.exit_code == 1


def test_a_marker_older_than_the_lease_is_repaired(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    theirs = dead_run_left_a_key(ctx, user, other_run(alive=True), timedelta(minutes=20))
    run = preflight("test", target="sandbox")
    plan = check_request(run, user, lease_minutes=15)  # no RunInProgress
    assert plan.marker is not None and plan.marker.run_id.startswith("rother0000")
    # the key is younger than the dead run's window allows: left alone, never deleted
    assert plan.orphans == () and plan.action == "none" and theirs in plan.kept[0]
    ensure_access_key(run, plan)
    assert keys_of(ctx, user) == [theirs] and marker_value(ctx, user) == ""


def test_a_young_marker_of_a_process_that_is_gone_is_repaired_at_once(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    orphan = dead_run_left_a_key(ctx, user, other_run(alive=False), timedelta(minutes=1))
    run = preflight("test", target="sandbox")
    plan = check_request(run, user)
    assert [k.key_id for k in plan.orphans] == [orphan]
    ensure_access_key(run, plan)
    assert orphan not in keys_of(ctx, user) and len(keys_of(ctx, user)) == 1
    assert marker_value(ctx, user).startswith("pending:")


def test_lease_zero_never_waits(ctx: RunContext, user: str, secrets_dir: Path) -> None:
    orphan = dead_run_left_a_key(ctx, user, other_run(alive=True), timedelta(seconds=5))
    plan = check_request(preflight("test", target="sandbox"), user, lease_minutes=0)
    assert [k.key_id for k in plan.orphans] == [orphan]


@pytest.mark.parametrize("bad", [-1, "15", True, None])
def test_a_bad_lease_is_bad_input(user: str, bad: object) -> None:
    run = preflight("test", target="sandbox")
    with pytest.raises(BadInput, match="lease_minutes"):
        check_request(run, user, lease_minutes=bad)  # type: ignore[arg-type]
    assert run.record.writes == 0


def test_a_run_that_loses_the_marker_race_deletes_its_own_key(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    """Two runs passed Step 3 together and both made a key: the marker's owner keeps its key,
    the other run deletes its own and yields."""
    run = preflight("test", target="sandbox")
    plan = check_request(run, user)
    theirs = key_marker(PENDING, utc_now(), (), "file", run_id=other_run(alive=True), by="user/bob")
    made: list[str] = []

    def other_run_marks_the_user_and_makes_a_key(**_: object) -> None:
        write_marker(ctx, user, "arn", theirs)
        made.append(ctx.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"])

    run.iam.meta.events.register(
        "after-call.iam.CreateAccessKey", other_run_marks_the_user_and_makes_a_key
    )
    with pytest.raises(RunInProgress, match="deleted the key it had just made"):
        ensure_access_key(run, plan)
    found = Marker.parse(marker_value(ctx, user), 2)
    assert keys_of(ctx, user) == made and found is not None and found.run_id == theirs.run_id
    assert not list(secrets_dir.glob(f"{user}_*")), "nothing was delivered"


def test_s3_names_a_concurrent_device_creation(ctx: RunContext, user: str) -> None:
    """S3's EntityAlreadyExists from a concurrent run gets its own message."""
    from runbook_lib import virtual_mfa
    from runbook_lib.core.errors import AwsError

    run = preflight("test", target="sandbox")
    setup = virtual_mfa.check_request(run, user_name=user)
    ctx.iam.create_virtual_mfa_device(VirtualMFADeviceName=user)  # the other run, meanwhile
    with pytest.raises(AwsError, match="Another run .* created a device of this name"):
        virtual_mfa.ensure_virtual_device(run, setup)


# ---- the MAC: a marker these runbooks wrote, for this user, with this user's key ----------
def test_a_signed_marker_verifies_only_for_its_user_and_key(
    ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.core.markers import sign, verified

    marker = new_marker(ctx, PENDING, destination="/srv/alice/.iam-runbooks/secrets/a.csv")
    signed = sign(ctx, "Alice", "iam-runbooks:console-password", marker)
    back = Marker.parse(signed.value())
    assert TAG_VALUE.fullmatch(signed.value())
    assert back is not None and back.destination == marker.destination
    assert verified(ctx, "Alice", "iam-runbooks:console-password", back)
    assert not verified(ctx, "Bob", "iam-runbooks:console-password", back)  # copied to Bob
    assert not verified(ctx, "Alice", MARKER_TAG, back)  # moved to another tag
    forged = Marker.parse(signed.value().replace("/srv/alice", "/srv/mallory"))
    assert not verified(ctx, "Alice", "iam-runbooks:console-password", forged)
    unsigned = Marker.parse(marker.value())
    assert unsigned is not None and not verified(ctx, "Alice", "x", unsigned)
    monkeypatch.setenv("HOME", str(tmp_path))  # another machine: another key
    assert not verified(ctx, "Alice", "iam-runbooks:console-password", back)


def test_a_long_destination_is_named_by_its_digest(ctx: RunContext) -> None:
    from runbook_lib.core.markers import sign

    place = "/srv/" + "very-long-folder-name/" * 12 + "Administrator_accessKeys.csv"
    marker = new_marker(ctx, PENDING, "none", "file", destination=place)
    signed = sign(ctx, "Administrator", MARKER_TAG, marker)
    assert len(signed.value()) <= 256 and TAG_VALUE.fullmatch(signed.value())
    back = Marker.parse(signed.value(), 2)
    assert back is not None and back.destination.startswith("sha256=")
    assert back.names(place) and not back.names(place + "x")


def test_an_unsafe_marker_key_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    from runbook_lib.core import marker_key

    monkeypatch.setenv("HOME", str(tmp_path))
    key = marker_key.marker_key()
    path = marker_key.key_path()
    assert len(key) == 32 and oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert marker_key.marker_key() == key  # created once, then read
    path.chmod(0o644)
    run = preflight("test", target="sandbox")
    with pytest.raises(BadInput, match="not private to you") as caught:
        check_request(run, user)
    assert "\n" not in str(caught.value) and run.record.writes == 0
