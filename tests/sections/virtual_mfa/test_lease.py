"""S3's run marker (``virtual_mfa.lease``): a run never deletes another live run's device.

In-process against the sandbox; another run is played by a marker naming another host (its
process cannot be checked, so only the lease ends it). AWS's code check, which moto skips,
with botocore's Stubber.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from support.aws import ACCOUNT, reset_sandbox
from support.clock import MID, WINDOW, FakeClock

from runbook_lib import preflight
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, BadInput, RunInProgress
from runbook_lib.core.markers import PENDING, Marker, utc_now
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.totp import current_code
from runbook_lib.virtual_mfa import lease
from runbook_lib.virtual_mfa.apply import enable_with_codes, ensure_assigned
from runbook_lib.virtual_mfa.device import ensure_virtual_device
from runbook_lib.virtual_mfa.lease import MARKER_TAG
from runbook_lib.virtual_mfa.request import check_request
from runbook_lib.virtual_mfa.state import VirtualDevice

_USERS = itertools.count(1)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return reset_sandbox()


@pytest.fixture
def ctx(box: Sandbox) -> RunContext:
    return preflight("test", target="sandbox")


@pytest.fixture
def user(box: Sandbox) -> str:
    name = f"lease-user-{next(_USERS)}"
    iam(box).create_user(UserName=name)
    return name


def iam(box: Sandbox) -> Any:
    return boto3.client("iam", endpoint_url=box.url, region_name="us-east-1")


def serial(user: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:mfa/{user}"


def tags(box: Sandbox, user: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam(box).list_user_tags(UserName=user)["Tags"]}


def unassigned(box: Sandbox) -> list[str]:
    devices = iam(box).list_virtual_mfa_devices(AssignmentStatus="Unassigned")
    return [d["SerialNumber"] for d in devices["VirtualMFADevices"]]


def other_run(minutes_ago: float = 1) -> Marker:
    """A pending marker of a run in a process on another host."""
    moment = utc_now() - timedelta(minutes=minutes_ago)
    return Marker(PENDING, moment, "r0ther-4242@other-host", "user/bob")


def mark(box: Sandbox, user: str, marker: Marker) -> None:
    iam(box).tag_user(UserName=user, Tags=[{"Key": MARKER_TAG, "Value": marker.value()}])


def assign(ctx: RunContext, device: VirtualDevice) -> None:
    clock = FakeClock(MID)
    ensure_assigned(ctx, device, clock=clock, sleep=clock.sleep)


def test_marker_is_written_before_the_device_and_removed_after_enable(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = ensure_virtual_device(ctx, check_request(ctx, user_name=user))
    assert tags(box, user)[MARKER_TAG].startswith("pending:")  # held while unassigned
    assign(ctx, device)
    assert [c["action"] for c in ctx.record.changes] == [
        "mark-S3-pending",
        "create-virtual-mfa-device",
        "enable-mfa-device",
        "clear-mfa-marker",
    ]
    assert ctx.record.writes == 4 and MARKER_TAG not in tags(box, user)


def test_another_live_runs_marker_stops_step_3_before_any_write(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    mark(box, user, other_run())
    with pytest.raises(RunInProgress) as err:
        check_request(ctx, user_name=user)
    message = str(err.value)
    assert "S3 on" in message and "re-run after it ends" in message
    assert "Nothing was changed." in message and "\n" not in message
    assert ctx.record.writes == 0


def test_marker_written_after_step_3_stops_the_replace_before_any_device_write(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    """The race that lost a seed: run A creates its device and marks the user after run B's
    Step 3 read no marker; B would have deleted A's device as a leftover."""
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)  # looks like a leftover
    setup = check_request(ctx, user_name=user)
    assert setup.leftover == "replace"
    mark(box, user, other_run(0))  # run A: marked before it created the device
    with pytest.raises(RunInProgress):
        ensure_virtual_device(ctx, setup)
    assert ctx.record.writes == 0 and serial(user) in unassigned(box)  # A's device is intact


def test_a_crashed_runs_old_marker_lets_the_leftover_be_replaced(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)
    mark(box, user, other_run(minutes_ago=16))  # older than the 15-minute lease
    device = ensure_virtual_device(ctx, check_request(ctx, user_name=user))
    assign(ctx, device)
    assert ctx.record.repairs[0]["action"] == "delete-virtual-mfa-device"
    assert serial(user) not in unassigned(box) and MARKER_TAG not in tags(box, user)


def test_a_shorter_lease_takes_a_marker_for_a_crashed_runs_sooner(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    mark(box, user, other_run(minutes_ago=3))
    with pytest.raises(RunInProgress):
        check_request(ctx, user_name=user)
    assert check_request(ctx, user_name=user, lease_minutes=2).action == "enable"
    with pytest.raises(BadInput, match="lease_minutes"):
        check_request(ctx, user_name=user, lease_minutes=-1)


def test_leftover_assigned_since_step_3_is_not_deleted(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)
    setup = check_request(ctx, user_name=user)
    iam(box).enable_mfa_device(  # another run finished it (and removed its marker)
        UserName=user,
        SerialNumber=serial(user),
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    with pytest.raises(RunInProgress, match="changed since Step 3"):
        ensure_virtual_device(ctx, setup)
    assert ctx.record.calls.get("iam:DeleteVirtualMFADevice") is None
    assert iam(box).list_mfa_devices(UserName=user)["MFADevices"]
    assert MARKER_TAG not in tags(box, user)  # this run's marker taken back


def _codes(device: VirtualDevice) -> tuple[str, str]:
    assert device.seed is not None
    return (
        current_code(device.seed.text(), (WINDOW - 1) * 30),
        current_code(device.seed.text(), WINDOW * 30),
    )


def _refused(stub: Stubber) -> None:
    stub.add_client_error(
        "enable_mfa_device",
        service_error_code="InvalidAuthenticationCode",
        service_message="Authentication code for device is not valid.",
        http_status_code=403,
    )


def test_aws_refusing_codes_after_another_run_replaced_the_device_sets_the_seed_aside(
    ctx: RunContext, user: str, box: Sandbox, secrets_dir: Path
) -> None:
    """AWS checks the codes (moto does not): another run deleted and re-created the device."""
    setup = check_request(ctx, user_name=user, seed_destination="file")
    device = ensure_virtual_device(ctx, setup)
    seed_file = Path(setup.seed_location)
    assert seed_file.is_file()
    taken = other_run(0)
    c1, c2 = _codes(device)
    with Stubber(ctx.iam) as stub:
        _refused(stub)
        stub.add_response("list_user_tags", {"Tags": [{"Key": MARKER_TAG, "Value": taken.value()}]})
        with pytest.raises(RunInProgress) as err:
            enable_with_codes(ctx, device, c1, c2, now=MID)
    message = str(err.value)
    assert "InvalidAuthenticationCode" in message and "another run" in message
    assert "from Step 3" in message and c1 not in message
    assert device.seed is not None and device.seed.text() not in message
    assert not seed_file.exists()  # never left looking valid
    (aside,) = seed_file.parent.glob(f"{seed_file.name}.unusable-*")
    assert str(aside) in message
    assert ctx.record.repairs[-1]["action"] == "set-aside-stale-seed-file"


def test_aws_refusing_codes_of_this_runs_own_device_keeps_the_seed_file(
    ctx: RunContext, user: str, box: Sandbox, secrets_dir: Path
) -> None:
    setup = check_request(ctx, user_name=user, seed_destination="file")
    device = ensure_virtual_device(ctx, setup)
    own = tags(box, user)[MARKER_TAG]
    c1, c2 = _codes(device)
    with Stubber(ctx.iam) as stub:
        _refused(stub)
        stub.add_response("list_user_tags", {"Tags": [{"Key": MARKER_TAG, "Value": own}]})
        with pytest.raises(AwsError, match="fresh consecutive codes"):
            enable_with_codes(ctx, device, c1, c2, now=MID)
    assert Path(setup.seed_location).is_file()  # a clock or typing problem: the seed is good


def test_a_run_that_lost_the_name_leaves_the_winners_device_alone(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    """Both passed Step 3 with no device; the other run created it first."""
    setup = check_request(ctx, user_name=user)
    assert setup.leftover == ""
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)  # the winner
    with pytest.raises(AwsError, match="EntityAlreadyExists"):
        ensure_virtual_device(ctx, setup)
    assert ctx.record.calls.get("iam:DeleteVirtualMFADevice") is None
    assert serial(user) in unassigned(box)


def test_of_two_runs_replacing_one_leftover_only_the_last_to_mark_deletes_it(
    ctx: RunContext, user: str, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both found a crashed run's leftover and passed their second read before either marked:
    the other run marks while this one waits ``SETTLE``, then deletes and re-creates."""
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)  # a crashed run's
    setup = check_request(ctx, user_name=user)
    assert setup.leftover == "replace"
    waited: list[float] = []

    def other_run_marks(seconds: float) -> None:
        waited.append(seconds)
        mark(box, user, other_run(0))

    monkeypatch.setattr(lease.time, "sleep", other_run_marks)
    with pytest.raises(RunInProgress):
        ensure_virtual_device(ctx, setup)
    assert waited == [lease.SETTLE] and ctx.record.writes == 1  # its marker only
    assert ctx.record.calls.get("iam:DeleteVirtualMFADevice") is None
    assert serial(user) in unassigned(box)
