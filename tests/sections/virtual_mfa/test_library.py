"""Tests for S3's library: request (Step 3), device (Steps 4-5), live and apply (Steps 6-8),
resync, seed (seed destinations, codes), policy and verify, against the sandbox; moto's gaps
(ResyncMFADevice, codes accepted blindly) with botocore's Stubber."""

from __future__ import annotations

import itertools
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from support.aws import ACCOUNT, reset_sandbox
from support.clock import MID, WINDOW, FakeClock

from runbook_lib import preflight
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import AwsError, BadInput, TargetRefused, VerifyFailed
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.secrets import Secret
from runbook_lib.core.totp import MARGIN, current_code, window
from runbook_lib.virtual_mfa.apply import enable_with_codes, ensure_assigned
from runbook_lib.virtual_mfa.device import ensure_virtual_device
from runbook_lib.virtual_mfa.live import show_device
from runbook_lib.virtual_mfa.policy import ensure_self_manage_policy, self_manage_mfa_document
from runbook_lib.virtual_mfa.request import check_request
from runbook_lib.virtual_mfa.resync import resync_with_codes
from runbook_lib.virtual_mfa.seed import recent_two_codes
from runbook_lib.virtual_mfa.state import MfaSetup, VirtualDevice
from runbook_lib.virtual_mfa.verify import verify_mfa

W = WINDOW  # MID is 12 s into window W


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """The session's sandbox, reset once for this module (each test has its own user)."""
    yield reset_sandbox()


@pytest.fixture
def ctx(box: Sandbox) -> RunContext:
    return preflight("test", target="sandbox")


_USERS = itertools.count(1)


@pytest.fixture
def user(box: Sandbox) -> str:
    name = f"mfa-user-{next(_USERS)}"
    iam(box).create_user(UserName=name)
    return name


def serial(user: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:mfa/{user}"


def iam(box: Sandbox) -> Any:
    return boto3.client("iam", endpoint_url=box.url, region_name="us-east-1")


def unassigned(box: Sandbox) -> list[str]:
    devices = iam(box).list_virtual_mfa_devices(AssignmentStatus="Unassigned")
    return [d["SerialNumber"] for d in devices["VirtualMFADevices"]]


def user_devices(box: Sandbox, user: str) -> list[str]:
    return [d["SerialNumber"] for d in iam(box).list_mfa_devices(UserName=user)["MFADevices"]]


def new_setup(ctx: RunContext, user: str, **kw: Any) -> MfaSetup:
    return check_request(ctx, user_name=user, **kw)


def new_device(ctx: RunContext, user: str, **kw: Any) -> VirtualDevice:
    return ensure_virtual_device(ctx, new_setup(ctx, user, **kw))


def seed_codes(device: VirtualDevice, w: int) -> tuple[str, str]:
    assert device.seed is not None
    seed = device.seed.text()
    return current_code(seed, (w - 1) * 30 + 1), current_code(seed, w * 30 + 1)


# ---- Step 3: inputs and state ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"device_name": "bad name!"}, "device_name"),
        ({"action": "disable"}, "action"),
        ({"seed_destination": "email"}, "seed_destination"),
        ({"issuer": "A:B"}, "issuer"),
        ({"secret_name": "x", "seed_destination": "file"}, "secret_name"),
        ({"policy_group": "NoSuchGroup"}, "NoSuchGroup"),
        ({"action": "resync"}, "no MFA device"),
    ],
)
def test_bad_input_is_refused_before_any_write(
    ctx: RunContext, user: str, kw: dict[str, Any], words: str
) -> None:
    with pytest.raises(BadInput, match=words):
        new_setup(ctx, user, **kw)
    assert ctx.record.writes == 0


def test_missing_user_is_refused_with_the_runbook_to_run(ctx: RunContext) -> None:
    with pytest.raises(BadInput, match="01_create_admin_user"):
        new_setup(ctx, "nobody-here")


def test_device_name_of_another_user_is_refused(ctx: RunContext, user: str, box: Sandbox) -> None:
    client = iam(box)
    client.create_user(UserName="Other")
    client.create_virtual_mfa_device(VirtualMFADeviceName="Shared")
    client.enable_mfa_device(
        UserName="Other",
        SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/Shared",
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    with pytest.raises(BadInput, match="belongs to user 'Other'"):
        new_setup(ctx, user, device_name="Shared")


def test_root_caller_is_refused_by_the_notebook() -> None:
    source = Path(__file__).parents[3] / "notebooks" / "03_enable_virtual_mfa.ipynb"
    cells = json.loads(source.read_text())["cells"]
    assert any("allow_root=False" in "".join(c["source"]) for c in cells)


# ---- Steps 4-8 headless on the sandbox ------------------------------------------------------


def test_virtual_authenticator_enables_the_device(ctx: RunContext, user: str, box: Sandbox) -> None:
    device = new_device(ctx, user)
    assert show_device(ctx, device).text.startswith("S3.7: sandbox")
    clock = FakeClock(MID)
    outcome = ensure_assigned(ctx, device, clock=clock, sleep=clock.sleep)
    assert "assigned" in outcome.text and clock.slept == []
    assert user_devices(box, user) == [serial(user)] and serial(user) not in unassigned(box)
    assert ctx.record.writes == 4 and device.seed is not None and device.seed.dropped
    assert not iam(box).list_user_tags(UserName=user)["Tags"]  # the S3 marker is gone
    verified = verify_mfa(ctx, device)
    assert "asked for an MFA code" in repr(verified)


def test_user_with_mfa_is_left_alone_with_zero_writes(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = new_device(ctx, user)
    ensure_assigned(ctx, device, clock=FakeClock(MID), sleep=FakeClock(MID).sleep)
    again = preflight("test", target="sandbox")
    setup = check_request(again, user_name=user)
    device2 = ensure_virtual_device(again, setup)
    show_device(again, device2)
    ensure_assigned(again, device2)
    ensure_self_manage_policy(again, setup)
    verify_mfa(again, device2)
    assert setup.has_mfa and "left alone" in repr(device2)
    assert again.record.writes == 0


def test_plan_mode_makes_no_writes(box: Sandbox, user: str) -> None:
    ctx = preflight("test", target="sandbox", plan=True)
    setup = new_setup(ctx, user)
    device = ensure_virtual_device(ctx, setup)
    assert "would create" in repr(device)
    assert "would assign" in repr(ensure_assigned(ctx, device))
    assert "Plan mode" in repr(verify_mfa(ctx, device))
    assert ctx.record.writes == 0 and serial(user) not in unassigned(box)


def test_headless_real_account_without_destination_creates_nothing(box: Sandbox, user: str) -> None:
    ctx = preflight("test", target="endpoint", endpoint_url=box.url)  # not "the sandbox"
    setup = new_setup(ctx, user)
    device = ensure_virtual_device(ctx, setup)
    assert "pending" in repr(show_device(ctx, device))
    ensure_assigned(ctx, device)
    assert "Not verified yet" in repr(verify_mfa(ctx, device))
    assert [m.step for m in ctx.record.pending] == ["S3.7"]
    assert ctx.record.writes == 0 and serial(user) not in unassigned(box)


@pytest.mark.parametrize(
    ("pick", "reason"),
    [
        (lambda c1, c2, x: ("12345", c2), "6 digits"),
        (lambda c1, c2, x: (c2, c1), "swapped"),
        (lambda c1, c2, x: (c1, c1), "same code twice"),
        (lambda c1, c2, x: x, "minutes ago"),
        (lambda c1, c2, x: (c1, f"{(int(c2) + 1) % 10**6:06d}"), "code 2"),
    ],
    ids=["typo", "swapped", "repeated", "stale", "wrong"],
)
def test_bad_codes_are_refused_before_any_call(
    ctx: RunContext, user: str, box: Sandbox, pick: Any, reason: str
) -> None:
    device = new_device(ctx, user)
    writes = ctx.record.writes
    c1, c2 = seed_codes(device, W)
    stale = seed_codes(device, W - 10)
    with pytest.raises(BadInput, match=reason):
        enable_with_codes(ctx, device, *pick(c1, c2, stale), now=MID)
    assert ctx.record.writes == writes and user_devices(box, user) == []


def test_invalid_authentication_code_from_aws_is_explained(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = new_device(ctx, user)
    c1, c2 = seed_codes(device, W)
    with Stubber(ctx.iam) as stub:
        stub.add_client_error(
            "enable_mfa_device",
            service_error_code="InvalidAuthenticationCode",
            service_message="Authentication code for device is not valid.",
            http_status_code=403,
        )
        own = iam(box).list_user_tags(UserName=user)["Tags"]  # this run's S3 marker
        stub.add_response("list_user_tags", {"Tags": own})
        with pytest.raises(AwsError) as err:
            enable_with_codes(ctx, device, c1, c2, now=MID)
    message = str(err.value)
    assert "InvalidAuthenticationCode" in message and "fresh consecutive codes" in message
    assert c1 not in message and device.seed is not None and device.seed.text() not in message


# ---- resync (moto does not implement it: Stubber) -------------------------------------------


def resync_device(ctx: RunContext, box: Sandbox, user: str) -> VirtualDevice:
    iam(box).create_virtual_mfa_device(VirtualMFADeviceName=user)
    iam(box).enable_mfa_device(
        UserName=user,
        SerialNumber=serial(user),
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return ensure_virtual_device(ctx, new_setup(ctx, user, action="resync"))


def test_resync_sends_two_new_codes(ctx: RunContext, user: str, box: Sandbox) -> None:
    device = resync_device(ctx, box, user)
    seed = Secret("mfa-seed", "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU")
    c1, c2 = current_code(seed.text(), MID - 30), current_code(seed.text(), MID)
    with Stubber(ctx.iam) as stub:
        expected = {
            "UserName": user,
            "SerialNumber": serial(user),
            "AuthenticationCode1": c1,
            "AuthenticationCode2": c2,
        }
        stub.add_response("resync_mfa_device", {}, expected)
        outcome = resync_with_codes(ctx, device, c1, c2, seed=seed, now=MID)
        stub.assert_no_pending_responses()
    assert "resynchronised" in repr(outcome)
    assert ctx.record.changes == [{"action": "resync-mfa-device", "resource": serial(user)}]


def test_resync_refuses_repeated_codes_before_any_call(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = resync_device(ctx, box, user)
    with Stubber(ctx.iam) as stub, pytest.raises(BadInput, match="same code twice"):
        resync_with_codes(ctx, device, "123456", "123 456")
    stub.assert_no_pending_responses()
    assert ctx.record.writes == 0


def test_resync_without_a_stored_seed_headless_is_a_pending_step(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = resync_device(ctx, box, user)
    assert "pending" in repr(ensure_assigned(ctx, device))
    assert [m.step for m in ctx.record.pending] == ["S3.8"] and ctx.record.writes == 0


def test_resync_on_a_target_without_it_fails_in_plain_words(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = resync_device(ctx, box, user)
    with pytest.raises(AwsError, match="does not implement it"):
        resync_with_codes(ctx, device, "123456", "654321")


# ---- seed destinations and runs that stopped half-way ---------------------------------------


def test_file_destination_keeps_seed_in_a_0600_file_before_enable(
    ctx: RunContext, user: str, box: Sandbox, secrets_dir: Path
) -> None:
    device = new_device(ctx, user, seed_destination="file")
    path = secrets_dir / f"{user}_virtual_mfa.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert device.seed is not None and f"seed={device.seed.text()}\n" in text
    assert f"serial_number={serial(user)}\n" in text and "otpauth_uri=otpauth://totp/AWS:" in text
    assert user_devices(box, user) == []  # stored first, enabled in Step 8
    assert ctx.record.secrets[0]["kind"] == "mfa-seed"
    assert device.seed.text() not in json.dumps(ctx.record.to_dict())


def test_existing_seed_file_of_another_device_is_refused(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    secrets_dir.mkdir()
    (secrets_dir / f"{user}_virtual_mfa.txt").write_text("serial_number=other\n")
    with pytest.raises(BadInput, match="never overwritten"):
        new_setup(ctx, user, seed_destination="file")
    assert ctx.record.writes == 0


def test_secretsmanager_destination_keeps_seed_then_resync_reads_it(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    device = new_device(ctx, user, seed_destination="secretsmanager")
    sm = boto3.client("secretsmanager", endpoint_url=box.url, region_name="us-east-1")
    stored = json.loads(sm.get_secret_value(SecretId=f"iam-runbooks/mfa/{user}")["SecretString"])
    assert device.seed is not None and stored["seed"] == device.seed.text()
    assert stored["serial_number"] == serial(user)
    clock = FakeClock(MID)
    ensure_assigned(ctx, device, clock=clock, sleep=clock.sleep)
    ctx2 = preflight("test", target="sandbox")
    again = ensure_virtual_device(
        ctx2, new_setup(ctx2, user, action="resync", seed_destination="secretsmanager")
    )
    with Stubber(ctx2.iam) as stub:
        c1, c2 = current_code(stored["seed"], MID - 30), current_code(stored["seed"], MID)
        stub.add_response("resync_mfa_device", {}, {
            "UserName": user, "SerialNumber": serial(user),
            "AuthenticationCode1": c1, "AuthenticationCode2": c2,
        })  # fmt: skip
        ensure_assigned(ctx2, again, clock=clock, sleep=clock.sleep)


def test_leftover_unassigned_device_is_replaced_and_recorded(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    new_device(ctx, user)  # a run that stopped here: its seed is lost
    ctx2 = preflight("test", target="sandbox")
    setup = new_setup(ctx2, user)
    assert setup.leftover == "replace"
    device = ensure_virtual_device(ctx2, setup)
    ensure_assigned(ctx2, device, clock=FakeClock(MID), sleep=FakeClock(MID).sleep)
    assert ctx2.record.repairs[0]["resource"] == serial(user)
    assert user_devices(box, user) == [serial(user)] and serial(user) not in unassigned(box)


def test_leftover_whose_seed_is_in_the_file_is_finished_with_it(
    ctx: RunContext, user: str, box: Sandbox, secrets_dir: Path
) -> None:
    new_device(ctx, user, seed_destination="file")
    ctx2 = preflight("test", target="sandbox")
    setup = new_setup(ctx2, user, seed_destination="file")
    assert setup.leftover == "reuse"
    device = ensure_virtual_device(ctx2, setup)
    ensure_assigned(ctx2, device, clock=FakeClock(MID), sleep=FakeClock(MID).sleep)
    assert ctx2.record.calls.get("iam:CreateVirtualMFADevice") is None
    assert user_devices(box, user) == [serial(user)] and serial(user) not in unassigned(box)


def test_verify_fails_when_the_device_is_not_on_the_user(ctx: RunContext, user: str) -> None:
    device = new_device(ctx, user)
    with pytest.raises(VerifyFailed, match="does not have MFA device"):
        verify_mfa(ctx, device)


# ---- codes without waiting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "w2", "slept"),
    [(W * 30 + 0.0, W, 0.0), (MID, W, 0.0), (W * 30 + 28.5, W + 1, 1.5 + MARGIN)],
)
def test_codes_are_previous_and_current_window_with_at_most_a_short_wait(
    start: float, w2: int, slept: float
) -> None:
    seed = Secret("mfa-seed", "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU")
    clock = FakeClock(start)
    c1, c2 = recent_two_codes(seed, clock=clock, sleep=clock.sleep)
    assert sum(clock.slept) == pytest.approx(slept) and window(clock.t) == w2
    assert (c1, c2) == (
        current_code(seed.text(), (w2 - 1) * 30),
        current_code(seed.text(), w2 * 30),
    )


# ---- the self-manage-MFA policy --------------------------------------------------------------


def test_policy_is_created_once_and_attached(ctx: RunContext, user: str, box: Sandbox) -> None:
    iam(box).create_group(GroupName="Administrators")
    setup = new_setup(ctx, user, policy_group="Administrators")
    first = ensure_self_manage_policy(ctx, setup)
    assert first.status == "created, attached" and "password" in repr(first)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/SelfManageMFA"
    attached = iam(box).list_attached_group_policies(GroupName="Administrators")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [arn]
    doc = self_manage_mfa_document()
    assert [s["Sid"] for s in doc["Statement"]] == [
        "AllowViewAccountInfo",
        "AllowManageOwnVirtualMFADevice",
        "AllowManageOwnUserMFA",
        "DenyAllExceptListedIfNoMFA",
    ]
    ctx2 = preflight("test", target="sandbox")
    second = ensure_self_manage_policy(ctx2, new_setup(ctx2, user, policy_group="Administrators"))
    assert second.status == "already in place (no change)" and ctx2.record.writes == 0
    assert not any("differs" in w for w in ctx2.record.warnings)


# ---- widgets ---------------------------------------------------------------------------------


def test_virtual_authenticator_refuses_a_real_account() -> None:
    from runbook_lib import widgets

    class Real:
        sandbox = False

    with pytest.raises(TargetRefused, match="only on the sandbox"):
        widgets.VirtualAuthenticator(
            Real(), Secret("mfa-seed", "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU"), "x"
        )


def test_virtual_authenticator_shows_current_code_and_seconds_left() -> None:
    from runbook_lib import widgets

    class Sandbox:
        sandbox = True

    seed = Secret("mfa-seed", "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU")
    phone = widgets.VirtualAuthenticator(Sandbox(), seed, "AWS:x", clock=lambda: MID)
    code = current_code(seed.text(), MID)
    assert code[:3] not in phone.code_html.value, "no code before a person presses Show codes"
    phone.refresh_button.click()
    phone.stop()
    assert (
        f"{code[:3]} {code[3:]}" in phone.code_html.value and "18 s left" in phone.code_html.value
    )
    assert seed.text() not in repr(phone)


def test_code_form_shows_the_reason_and_makes_no_call(
    ctx: RunContext, user: str, box: Sandbox
) -> None:
    from runbook_lib import widgets

    device = new_device(ctx, user)
    writes = ctx.record.writes
    form = widgets.CodeForm("Assign", lambda a, b: repr(enable_with_codes(ctx, device, a, b)))
    form.code1.value, form.code2.value = "111111", "111111"
    form.submit()
    assert "same code twice" in form.status.value and not form.button.disabled
    assert ctx.record.writes == writes


def test_qr_panel_saves_a_fixed_sentence_and_decodes_to_the_key_uri(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from runbook_lib import widgets
    from runbook_lib.core.otpauth import key_uri, qr_png

    seed = Secret("mfa-seed", "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU")
    uri = key_uri(seed.text(), "Administrator", ACCOUNT)
    panel = widgets.QrPanel(Secret("qr-png", qr_png(uri)), seed, "Device of x")
    assert seed.text() not in panel._repr_mimebundle_()["text/plain"]
    assert panel.image.value == b"", "no QR code before a person presses Show QR code"
    panel.qr_button.click()
    panel.reveal_button.click()
    assert "JBSW Y3DP" in panel.key_html.value
    zbar = shutil.which("zbarimg")
    if zbar:
        png = tmp_path / "qr.png"
        png.write_bytes(panel.image.value)
        out = subprocess.run([zbar, "-q", "--raw", str(png)], capture_output=True, text=True)
        assert out.stdout.strip() == uri
    seed.drop()
    panel.clear()
    assert panel.image.value == b"" and "JBSW" not in panel.key_html.value
    assert (panel.reveal_button.description, panel.reveal_button.disabled) == (
        "Reveal secret key",
        True,
    ), "a cleared panel offers to hide a key that is gone"
    assert panel.image.layout.align_self == "flex-start", "a VBox would stretch the QR code"


def test_interactive_flow_shows_qr_and_assigns_from_the_form(
    ctx: RunContext, user: str, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib import widgets

    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    ctx.interactive = True
    device = new_device(ctx, user)
    show_device(ctx, device)
    panel, phone = shown
    assert isinstance(panel, widgets.QrPanel) and isinstance(phone, widgets.VirtualAuthenticator)
    assert "waiting" in repr(ensure_assigned(ctx, device))
    form = shown[-1]
    assert isinstance(form, widgets.CodeForm)
    assert device.seed is not None
    seed = device.seed.text()
    now = time.time()
    form.code1.value = current_code(seed, now - 30)
    form.code2.value = current_code(seed, now)
    form.submit()
    assert form.status.value.startswith("Done"), form.status.value
    assert user_devices(box, user) == [serial(user)]
    assert ctx.record.pending == [] and device.seed.dropped
    assert panel.image.value == b"" and "Stopped" in phone.code_html.value
