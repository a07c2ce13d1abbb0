"""Secret destinations under faults: a full disk, an empty or cut-short file at each delivery point.

Whatever went wrong at S1's, S2's or S3's delivery point, the next run ends with a working
secret at the destination (the bad file moved aside, never deleted or overwritten), or stops
with one clear line; it never "repairs" with nothing usable. In-process against the section
verbs; the full disk is ``core.secret_files``' ``os.write`` failing with ENOSPC.
"""

from __future__ import annotations

import csv
import errno
import io
import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.aws import ACCOUNT, empty_iam, reset_sandbox
from support.s1_flow import run_steps

from runbook_lib import BadInput, RunContext, preflight
from runbook_lib import access_key as s2
from runbook_lib import virtual_mfa as s3
from runbook_lib.admin_user.signin import csv_path
from runbook_lib.admin_user.state import MARKER_KEY as S1_MARKER
from runbook_lib.core import secret_files
from runbook_lib.core.environ import START_DIR
from runbook_lib.core.sandbox import Sandbox

_NAMES = itertools.count(1)
#: how each destination file can be left unusable: empty, or cut short inside its secret
BAD_FILES = {
    "empty": lambda good: "",
    "truncated": lambda good: good[: len(good) - 9],
}


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return reset_sandbox()


def new_run() -> RunContext:
    return preflight("test", target="sandbox")


@pytest.fixture
def full_disk() -> Iterator[Callable[[], None]]:
    """Every secret file write fails with ENOSPC (only ``core.secret_files`` sees it) until
    the test calls the fixture's value (the disk has room again)."""

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    fake = SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake.write = no_space
    patch = pytest.MonkeyPatch()
    patch.setattr(secret_files, "os", fake)
    yield patch.undo
    patch.undo()


def asides(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.unusable-*")) if folder.exists() else []


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


# ---- S2 ---------------------------------------------------------------------------------------
def s2_user(box: Sandbox) -> str:
    name = f"Dest{next(_NAMES)}"
    new_run().iam.create_user(UserName=name)
    return name


def s2_run(ctx: RunContext, user: str, **params: Any) -> None:
    plan = s2.check_request(ctx, user, **params)
    key = s2.ensure_access_key(ctx, plan)
    s2.show_key(ctx, plan, key)
    s2.deliver_key(ctx, plan, key)
    s2.retire_old_key(ctx, plan, key, sleep=lambda _: None)
    s2.verify(ctx, plan, key, sleep=lambda _: None)


def s2_working_key(ctx: RunContext, user: str, path: Path) -> None:
    """One key in IAM, Active, and the CSV holds exactly that key with a full secret."""
    meta = ctx.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [m["Status"] for m in meta] == ["Active"]
    (row,) = rows(path)
    assert row["Access key ID"] == meta[0]["AccessKeyId"]
    assert len(row["Secret access key"]) == 40


def test_s2_full_disk_then_rerun_delivers_a_working_key(
    box: Sandbox, secrets_dir: Path, full_disk: Callable[[], None]
) -> None:
    user = s2_user(box)
    with pytest.raises(BadInput, match="No space left"):
        s2_run(new_run(), user)
    path = secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv"
    assert not path.exists()  # atomic: nothing under the final name
    full_disk()  # the disk has room again
    again = new_run()
    s2_run(again, user)
    s2_working_key(again, user, path)
    assert [r["action"] for r in again.record.repairs][:1] == ["delete-access-key"]


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_s2_unusable_csv_is_moved_aside_and_a_new_key_delivered(
    box: Sandbox, secrets_dir: Path, bad: str
) -> None:
    user = s2_user(box)
    first = new_run()
    plan = s2.check_request(first, user)
    key = s2.ensure_access_key(first, plan)  # the run dies before its CSV is whole:
    path = secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    good = f"User name,Access key ID,Secret access key\r\n{user},{key.key_id},{'x' * 40}\r\n"
    path.write_bytes(BAD_FILES[bad](good).encode())
    dead_key = key.key_id
    again = new_run()
    s2_run(again, user)
    s2_working_key(again, user, path)
    assert rows(path)[0]["Access key ID"] != dead_key  # the undelivered key was replaced
    (aside,) = asides(secrets_dir)
    assert aside.read_bytes() == BAD_FILES[bad](good).encode()  # kept, never overwritten


def test_s2_unusable_csv_without_an_unfinished_run_is_refused(
    box: Sandbox, secrets_dir: Path
) -> None:
    user = s2_user(box)
    secrets_dir.mkdir(parents=True, exist_ok=True)
    (secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv").write_text("")
    run = new_run()
    with pytest.raises(BadInput, match="already exists"):
        s2.check_request(run, user)
    assert run.record.writes == 0 and asides(secrets_dir) == []


# ---- S3 ---------------------------------------------------------------------------------------
def s3_run(ctx: RunContext, user: str) -> Any:
    setup = s3.check_request(ctx, user_name=user, seed_destination="file")
    device = s3.ensure_virtual_device(ctx, setup)
    s3.show_device(ctx, device)
    s3.ensure_assigned(ctx, device)
    return s3.verify(ctx, device)


def moto_seed(ctx: RunContext, serial: str) -> str:
    """The seed IAM holds for ``serial`` (moto's list call returns it; AWS's does not)."""
    listed = ctx.iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    raw = next(d["Base32StringSeed"] for d in listed if d["SerialNumber"] == serial)
    return str(raw.decode() if isinstance(raw, bytes) else raw)


def s3_working_seed(ctx: RunContext, user: str, path: Path) -> None:
    """The user has one device, and the seed file holds that device's seed."""
    devices = [d["SerialNumber"] for d in ctx.iam.list_mfa_devices(UserName=user)["MFADevices"]]
    assert len(devices) == 1
    fields = dict(
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    assert fields["serial_number"] == devices[0]
    assert fields["seed"] == moto_seed(ctx, devices[0])


def test_s3_full_disk_then_rerun_replaces_the_device(
    box: Sandbox, secrets_dir: Path, full_disk: Callable[[], None]
) -> None:
    user = s2_user(box)
    first = new_run()
    setup = s3.check_request(first, user_name=user, seed_destination="file")
    with pytest.raises(BadInput, match="No space left"):
        s3.ensure_virtual_device(first, setup)
    full_disk()
    again = new_run()
    s3_run(again, user)
    s3_working_seed(again, user, secrets_dir / f"{user}_virtual_mfa.txt")
    assert any(r["action"] == "delete-virtual-mfa-device" for r in again.record.repairs)


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_s3_unusable_seed_file_is_moved_aside_and_the_device_replaced(
    box: Sandbox, secrets_dir: Path, bad: str
) -> None:
    user = s2_user(box)
    first = new_run()
    device = s3.ensure_virtual_device(
        first, s3.check_request(first, user_name=user, seed_destination="file")
    )
    path = secrets_dir / f"{user}_virtual_mfa.txt"
    good = path.read_text()
    path.unlink()
    path.write_text(BAD_FILES[bad](good))  # as a disk that filled up mid-write leaves it
    again = new_run()
    s3_run(again, user)
    s3_working_seed(again, user, path)
    (aside,) = asides(secrets_dir)
    assert aside.read_text() == BAD_FILES[bad](good)
    assert device.serial not in {  # the old device is gone: no orphan whose seed nobody holds
        d["SerialNumber"]
        for d in again.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")[
            "VirtualMFADevices"
        ]
    }


# ---- S1 ---------------------------------------------------------------------------------------
def s1_working_password(ctx: RunContext, secrets_dir: Path) -> None:
    path = csv_path(secrets_dir, ctx.account_id, "Administrator")
    (row,) = rows(path)
    assert row["User name"] == "Administrator" and len(row["Password"]) >= 8
    ctx.iam.get_login_profile(UserName="Administrator")
    tags = ctx.iam.list_user_tags(UserName="Administrator")["Tags"]
    assert S1_MARKER not in {t["Key"] for t in tags}  # delivered: the marker is gone


def test_s1_full_disk_then_rerun_delivers_a_new_password(
    box: Sandbox, secrets_dir: Path, full_disk: Callable[[], None]
) -> None:
    empty_iam(new_run().iam)
    with pytest.raises(BadInput, match="No space left"):
        run_steps(new_run(), secrets_dir)
    full_disk()
    again = new_run()
    run_steps(again, secrets_dir)
    s1_working_password(again, secrets_dir)


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_s1_unusable_csv_is_moved_aside_and_a_new_password_delivered(
    box: Sandbox, secrets_dir: Path, bad: str
) -> None:
    empty_iam(new_run().iam)
    first = new_run()
    run_steps(first, secrets_dir)
    path = csv_path(secrets_dir, first.account_id, "Administrator")
    good = path.read_text()
    path.unlink()
    path.write_text(BAD_FILES[bad](good))
    # the run "died" before its CSV was whole: its marker is still there
    from runbook_lib.core.markers import as_tag, new_marker

    marker = new_marker(first, "pending", destination=os.path.realpath(path))
    first.iam.tag_user(
        UserName="Administrator", Tags=[as_tag(first, "Administrator", S1_MARKER, marker)]
    )
    again = new_run()
    run_steps(again, secrets_dir)
    s1_working_password(again, secrets_dir)
    (aside,) = asides(secrets_dir)
    assert aside.read_text() == BAD_FILES[bad](good)


# ---- item 5: where relative secrets_dir lands; git work trees ---------------------------------
def test_relative_secrets_dir_resolves_against_the_start_folder(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = tmp_path / "started-here"
    start.mkdir()
    monkeypatch.setenv(START_DIR, str(start))
    user = s2_user(box)
    run = new_run()
    s2_run(run, user, secrets_dir="secrets")
    path = start / "secrets" / f"{ACCOUNT}-{user}_accessKeys.csv"
    assert path.is_file()
    assert any(str(path) in s["destination"] for s in run.record.secrets)


def git_tree(tmp_path: Path, ignore: str = "") -> Path:
    tree = tmp_path / "repo"
    tree.mkdir()
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    if ignore:
        (tree / ".gitignore").write_text(ignore)
    return tree


def test_destination_inside_a_git_work_tree_is_refused_before_any_write(
    box: Sandbox, tmp_path: Path
) -> None:
    tree = git_tree(tmp_path)
    empty_iam(new_run().iam)  # S1 checks its CSV's place only when it makes a password
    user = s2_user(box)
    for check in (
        lambda run: s2.check_request(run, user, secrets_dir=str(tree / "secrets")),
        lambda run: s3.check_request(
            run, user_name=user, seed_destination="file", secrets_dir=str(tree / "secrets")
        ),
        lambda run: run_steps(run, tree / "secrets"),
    ):
        run = new_run()
        with pytest.raises(BadInput, match="git work tree") as caught:
            check(run)
        assert run.record.writes == 0 and "\n" not in str(caught.value)
    assert not (tree / "secrets").exists()


def test_git_ignored_destination_inside_a_work_tree_is_allowed(
    box: Sandbox, tmp_path: Path
) -> None:
    tree = git_tree(tmp_path, ignore="secrets/\n")
    user = s2_user(box)
    run = new_run()
    s2_run(run, user, secrets_dir=str(tree / "secrets"))
    assert (tree / "secrets" / f"{ACCOUNT}-{user}_accessKeys.csv").is_file()


def test_kernels_learn_the_folder_runbook_was_started_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.run import kernels

    monkeypatch.chdir(tmp_path)
    assert kernels.kernel_environ(base={})[START_DIR] == str(tmp_path)
    first = str(tmp_path / "first")  # a runbook started by a runbook keeps the first folder
    assert kernels.kernel_environ(base={START_DIR: first})[START_DIR] == first
