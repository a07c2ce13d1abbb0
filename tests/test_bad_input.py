"""Bad input, table-driven: exit code 2, one line that says what to fix, and nothing changed.

Each row of ``ROWS`` is a ``runbook run`` command line, run in-process through ``cli.main``
(some also through a real ``runbook`` process, for the process exit code). For every row: the
exit code is 2, stderr is exactly one line containing the row's fragment, the run record (when
the run got as far as a run folder) counts zero writes, and the sandbox's IAM and Secrets
Manager state read back with boto3 is the same before and after.

Inputs a headless run cannot take (a typed console password, typed MFA codes) go through the
same library calls the live notebook's widgets make (``ApplyForm``, ``CodeForm``); see
``PASSWORD_ROWS`` and ``CODE_ROWS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import reset_sandbox

from runbook_lib import preflight, widgets
from runbook_lib.admin_user import steps as admin_user
from runbook_lib.admin_user.live import new_password
from runbook_lib.admin_user.passwords import get_password_policy
from runbook_lib.core import totp
from runbook_lib.core.errors import BadInput, TargetRefused
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID
from runbook_lib.core.secrets import Secret
from runbook_lib.interfaces import cli
from runbook_lib.testing.faults import FAULT_ROOT_CALLER_VAR
from runbook_lib.virtual_mfa import assign as mfa_assign
from runbook_lib.virtual_mfa import device as mfa_device
from runbook_lib.virtual_mfa import setup as mfa

PROJECT = Path(__file__).resolve().parent.parent
RUNBOOK = Path("/work/main/.venv/bin/runbook")
ACCOUNT = SANDBOX_ACCOUNT_ID
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


# ---- the sandbox, set up once ------------------------------------------------------------


@dataclass
class World:
    """The sandbox state every row starts from, and the files the rows point at."""

    iam: Any
    sm: Any
    root: Path
    secrets: Path
    values: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Reset once: Administrator (in Administrators, console, MFA), a user with two keys, a
    user without keys, an MFA user, a secret; an existing access-key CSV and sign-in CSV."""
    url = reset_sandbox().url
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1")
    iam.create_group(GroupName="Administrators")
    iam.attach_group_policy(GroupName="Administrators", PolicyArn=ADMIN_ARN)
    iam.create_user(UserName="Administrator", Tags=[{"Key": "team", "Value": "platform"}])
    iam.add_user_to_group(GroupName="Administrators", UserName="Administrator")
    iam.create_login_profile(UserName="Administrator", Password="Adm1n-Passw0rd!x")  # noqa: S106
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="Administrator")
    iam.enable_mfa_device(
        UserName="Administrator",
        SerialNumber=serial["VirtualMFADevice"]["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    for user in ("TwoKeys", "Keyless", "MfaUser", "PasswordUser"):
        iam.create_user(UserName=user)
    for _ in range(2):
        iam.create_access_key(UserName="TwoKeys")
    sm.create_secret(Name="iam-runbooks/existing", SecretString="not-a-real-secret")
    root = tmp_path_factory.mktemp("bad-input")
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "Keyless_accessKeys.csv").write_text("kept\n")
    (secrets / f"{ACCOUNT}-NewAdmin_credentials.csv").write_text("kept\n")
    (root / "a-file").write_text("a file where a folder should be\n")
    (root / "broken.yaml").write_text("target: sandbox\nuser_name: [Administrator\n")
    (root / "list.yaml").write_text("- target\n- sandbox\n")
    (root / "typo.yaml").write_text("target: sandbox\nusr_name: Keyless\n")
    (root / "aws-config").write_text("[profile nocreds]\nregion = us-east-1\n")
    (root / "aws-credentials").write_text("")
    yield World(iam, sm, root, secrets)


def snapshot(world: World) -> dict[str, Any]:
    """Every IAM and Secrets Manager fact a runbook could change (no secret values)."""
    iam = world.iam
    users: dict[str, Any] = {}
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        try:
            profile = iam.get_login_profile(UserName=name)["LoginProfile"]
            login: Any = bool(profile.get("PasswordResetRequired"))
        except iam.exceptions.NoSuchEntityException:
            login = None
        users[name] = {
            "path": user["Path"],
            "tags": iam.list_user_tags(UserName=name)["Tags"],
            "groups": sorted(
                g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]
            ),
            "policies": iam.list_attached_user_policies(UserName=name)["AttachedPolicies"],
            "inline": iam.list_user_policies(UserName=name)["PolicyNames"],
            "keys": sorted(
                (k["AccessKeyId"], k["Status"])
                for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            ),
            "mfa": sorted(
                d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]
            ),
            "login_profile": login,
        }
    groups = {
        g["GroupName"]: sorted(
            p["PolicyArn"]
            for p in iam.list_attached_group_policies(GroupName=g["GroupName"])["AttachedPolicies"]
        )
        for g in iam.list_groups()["Groups"]
    }
    devices = sorted(
        (d["SerialNumber"], d.get("User", {}).get("UserName", ""))
        for d in iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    )
    policies = sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    try:
        password_policy: Any = iam.get_account_password_policy()["PasswordPolicy"]
    except iam.exceptions.NoSuchEntityException:
        password_policy = None
    secrets = sorted(s["Name"] for s in world.sm.list_secrets()["SecretList"])
    return {
        "users": users,
        "groups": groups,
        "virtual_mfa_devices": devices,
        "local_policies": policies,
        "password_policy": password_policy,
        "aliases": iam.list_account_aliases()["AccountAliases"],
        "secrets": secrets,
    }


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"the sandbox changed: {changed}"


# ---- the command-line rows ---------------------------------------------------------------

SANDBOX_YAML = str(PROJECT / "parameters" / "sandbox.yaml")


@dataclass(frozen=True)
class Row:
    """One bad input: ``runbook run`` arguments ({root}, {secrets} filled in), the fragment the
    one-line message must contain, and whether the run gets as far as a run folder."""

    id: str
    args: tuple[str, ...]
    fragment: str
    run_folder: bool = True
    env: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()

    def argv(self, world: World, out: Path) -> list[str]:
        filled = [
            a.format(root=world.root, secrets=world.secrets, sandbox_yaml=SANDBOX_YAML)
            for a in self.args
        ]
        return ["run", *filled, "--output-dir", str(out)]


def s1(*params: str) -> tuple[str, ...]:
    """01 on the sandbox with the given ``-p NAME VALUE`` pairs."""
    return ("01", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{secrets}", *params)


def nb(number: str, *params: str) -> tuple[str, ...]:
    return (number, "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{secrets}", *params)


_NO_CREDS = (
    ("AWS_CONFIG_FILE", "{root}/aws-config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "{root}/aws-credentials"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
)
_SANDBOX_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")

ROWS = [
    # S1: names, path, tags, clashes, destinations
    Row(
        "user-name-pattern",
        s1("-p", "user_name", "bad name!"),
        "is not a valid IAM user name",
        False,
    ),
    Row("user-name-65-chars", s1("-p", "user_name", "a" * 65), "it has 65 characters", False),
    Row(
        "user-name-case-clash",
        s1("-p", "user_name", "administrator"),
        "clashes with existing user 'Administrator'",
    ),
    Row(
        "group-name-pattern",
        s1("-p", "group_name", "Admins/ops"),
        "not a valid IAM group name",
        False,
    ),
    Row("group-name-129-chars", s1("-p", "group_name", "g" * 129), "it has 129 characters", False),
    Row(
        "path-without-slashes",
        s1("-p", "user_name", "NewAdmin2", "-p", "path", "admins"),
        "it must start and end with '/'",
        False,
    ),
    Row(
        "path-differs-from-existing-user",
        s1("-p", "path", "/ops/"),
        "exists with path /",
    ),
    Row("tag-key-aws-prefix", s1("-p", "tags", "{{aws:team: ops}}"), "'aws:' is reserved", False),
    Row("tag-value-257-chars", s1("-p", "tags", "{{team: " + "v" * 257 + "}}"), "257", False),
    Row(
        "signin-csv-exists",
        s1("-p", "user_name", "NewAdmin", "-p", "group_name", "NewAdmins"),
        "already exists and is never overwritten",
    ),
    Row(
        "signin-csv-folder-unwritable",
        ("01", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{root}/a-file/secrets")
        + ("-p", "user_name", "NewAdmin3"),
        "Cannot write secret files",
    ),
    Row(
        "policy-arn-unknown",
        s1("-p", "user_name", "NewAdmin4", "-p", "policy_arn", "arn:aws:iam::aws:policy/NoSuch"),
        "NoSuchEntity",
    ),
    # S2: unknown user, a third key, destinations, root
    Row("s2-unknown-user", nb("02", "-p", "user_name", "Nobody"), "does not exist", False),
    Row(
        "s2-third-key",
        nb("02", "-p", "user_name", "TwoKeys", "-p", "mode", "rotate"),
        "already has 2 access keys",
    ),
    Row("s2-key-csv-exists", nb("02", "-p", "user_name", "Keyless"), "already exists"),
    Row(
        "s2-key-csv-folder-unwritable",
        ("02", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{root}/a-file/keys")
        + ("-p", "user_name", "Keyless"),
        "Cannot write secret files",
    ),
    Row(
        "s2-mode-mistyped",
        nb("02", "-p", "user_name", "Keyless", "-p", "mode", "rotat"),
        "mode 'rotat' is not one of the choices",
    ),
    Row("s2-user-is-root", nb("02", "-p", "user_name", "root"), "names the root user"),
    Row(
        "s2-caller-is-root",
        nb("02", "-p", "user_name", "Keyless"),
        "is the root user of account",
        env=((FAULT_ROOT_CALLER_VAR, ACCOUNT),),
    ),
    # S3: unknown user, seed file, root
    Row("s3-unknown-user", nb("03", "-p", "user_name", "Nobody"), "does not exist", False),
    Row(
        "s3-seed-folder-unwritable",
        ("03", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{root}/a-file/seeds")
        + ("-p", "user_name", "MfaUser", "-p", "seed_destination", "file"),
        "Cannot write secret files",
    ),
    Row(
        "s3-caller-is-root",
        nb("03", "-p", "user_name", "MfaUser"),
        "is the root user of account",
        env=((FAULT_ROOT_CALLER_VAR, ACCOUNT),),
    ),
    # the target
    Row(
        "wrong-expected-account-id",
        nb("02", "-p", "user_name", "Keyless", "-p", "expected_account_id", "'111111111111'"),
        "not expected_account_id 111111111111",
        False,
    ),
    Row(
        "expected-account-id-not-12-digits",
        nb("03", "-p", "user_name", "MfaUser", "-p", "expected_account_id", "'12345'"),
        "not a 12-digit AWS account ID",
        False,
    ),
    Row(
        "profile-not-found",
        ("02", "-p", "user_name", "Keyless", "--profile", "nosuch"),
        "AWS profile 'nosuch' was not found",
        False,
        env=_NO_CREDS,
        unset=_SANDBOX_KEYS,
    ),
    Row(
        "profile-without-credentials",
        ("02", "-p", "user_name", "Keyless", "--profile", "nocreds"),
        "No AWS credentials found for profile 'nocreds'",
        False,
        env=_NO_CREDS,
        unset=_SANDBOX_KEYS,
    ),
    # the command line itself: refused before any notebook starts (so are the rows above
    # marked False: the CLI checks names, tags, account IDs, the target and the user first)
    Row("unknown-notebook", ("09", "-f", "{sandbox_yaml}"), "Unknown notebook '09'", False),
    Row(
        "mistyped-parameter-name",
        nb("02", "-p", "user_nme", "Keyless"),
        "did you mean 'user_name'?",
        False,
    ),
    Row(
        "parameter-of-the-wrong-type",
        s1("-p", "password_reset_required", "maybe"),
        "must be bool",
        False,
    ),
    Row(
        "mistyped-parameter-in-yaml",
        ("02", "-f", "{root}/typo.yaml"),
        "did you mean 'user_name'?",
        False,
    ),
    Row("malformed-yaml", ("02", "-f", "{root}/broken.yaml"), "is not valid YAML at line", False),
    Row("yaml-not-a-mapping", ("02", "-f", "{root}/list.yaml"), "must be a mapping", False),
    Row("missing-parameters-file", ("02", "-f", "{root}/nosuch.yaml"), "does not exist", False),
    Row(
        "profile-and-endpoint",
        ("02", "--profile", "x", "--endpoint-url", "http://127.0.0.1:1"),
        "exclude each other",
        False,
    ),
]

#: rows also run through a real ``runbook`` process, for the process's exit code
SUBPROCESS_ROWS = (
    "user-name-pattern",
    "s2-third-key",
    "s3-caller-is-root",
    "wrong-expected-account-id",
    "profile-without-credentials",
    "unknown-notebook",
    "malformed-yaml",
)


@contextlib.contextmanager
def row_environment(row: Row, world: World, mp: pytest.MonkeyPatch) -> Iterator[None]:
    for name in row.unset:
        mp.delenv(name, raising=False)
    for name, value in row.env:
        mp.setenv(name, value.format(root=world.root))
    mp.setenv("RUNBOOK_NOTEBOOKS", str(PROJECT / "notebooks"))
    yield


def check_run_folders(row: Row, out: Path) -> None:
    folders = sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []
    if not row.run_folder:
        assert folders == [], "refused before any notebook ran, so no run folder"
        return
    assert len(folders) == 1, f"one run folder expected, found {len(folders)}"
    record = json.loads((folders[0] / "run.json").read_text("utf-8"))
    assert record["exit_code"] == 2
    assert record.get("writes", 0) == 0, record.get("calls")
    assert not record.get("changes") and not record.get("repairs")


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    row: Row,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "runs"
    before = snapshot(world)
    with row_environment(row, world, monkeypatch):
        code = cli.main(row.argv(world, out))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1, f"one line expected on stderr, got {len(lines)}: {captured.err!r}"
    assert row.fragment in lines[0]
    check_run_folders(row, out)
    assert_unchanged(before, snapshot(world))


@pytest.mark.parametrize("row", [r for r in ROWS if r.id in SUBPROCESS_ROWS], ids=SUBPROCESS_ROWS)
def test_bad_input_gives_process_exit_code_2(row: Row, world: World, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    env = dict(os.environ)
    for name in row.unset:
        env.pop(name, None)
    env.update({name: value.format(root=world.root) for name, value in row.env})
    env.update(PYTHONPATH=str(PROJECT), RUNBOOK_NOTEBOOKS=str(PROJECT / "notebooks"))
    before = snapshot(world)
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [str(RUNBOOK), *row.argv(world, out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, f"one line expected on stderr, got {len(lines)}: {done.stderr!r}"
    assert row.fragment in lines[0]
    check_run_folders(row, out)
    assert_unchanged(before, snapshot(world))


def test_every_kind_of_bad_input_has_a_row() -> None:
    assert len(ROWS) >= 15
    assert len({r.id for r in ROWS}) == len(ROWS)


# ---- the root caller, in-process (preflight) ----------------------------------------------


@pytest.mark.parametrize("notebook", ["02_create_access_key", "03_enable_virtual_mfa"])
def test_preflight_refuses_a_root_caller(
    notebook: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ROOT_CALLER_VAR, ACCOUNT)
    with pytest.raises(TargetRefused, match="root user of account") as err:
        preflight(notebook, target="sandbox")
    assert len(str(err.value).splitlines()) == 1
    # S1 alone allows root (the bootstrap case) and says so in the record
    ctx = preflight("01_create_admin_user", target="sandbox", allow_root=True, root_reason="boot")
    assert ctx.is_root and ctx.record.warnings


# ---- a typed console password against a strict policy (the live notebook's entry) --------

STRICT = {
    "MinimumPasswordLength": 20,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
}

#: (id, typed password, fragment): console passwords are generated headless, so a bad one can
#: only be typed into the live notebook's Step 7 form (``admin_user.review_and_create``)
PASSWORD_ROWS = [
    ("too-short", "Sh0rt!pass", "at least 20 characters"),
    ("no-symbol", "Abcdefghij1234567890xyz", "a symbol"),
    ("no-digit", "Abcdefghij!!klmnopqrstu", "a digit"),
    ("no-uppercase", "abcdefghij!!1234567890x", "an uppercase letter"),
]


@pytest.fixture
def strict_policy(world: World) -> Iterator[None]:
    world.iam.update_account_password_policy(**STRICT)
    yield
    world.iam.delete_account_password_policy()


@pytest.mark.parametrize(
    ("typed", "fragment"), [r[1:] for r in PASSWORD_ROWS], ids=[r[0] for r in PASSWORD_ROWS]
)
def test_a_typed_password_against_a_strict_policy_is_refused_before_any_write(
    typed: str,
    fragment: str,
    world: World,
    strict_policy: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    ctx = preflight("01_create_admin_user", target="sandbox")
    ctx.interactive = True  # a person at the live notebook
    request = admin_user.check_request(
        ctx, user_name="TypedPw", group_name="TypedPws", secrets_dir=str(tmp_path)
    )
    before = snapshot(world)
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    (form,) = [w for w in shown if isinstance(w, widgets.ApplyForm)]
    form.field.value = typed
    form.submit()
    status = re.sub(r"<[^>]+>", "", form.status.value).strip()
    assert created.waiting is not None and created.waiting.created is None, "nothing was created"
    assert form.field.value == "", "the typed value left the widget"
    assert fragment in status and "Not done" in status, "the policy's rule is named"
    if typed in form.status.value:  # never let pytest print the value
        pytest.fail("the message repeats the typed password", pytrace=False)
    # the same check guards Step 7 (new_password) if a password ever reached it
    with pytest.raises(BadInput, match=fragment) as err:
        new_password(get_password_policy(ctx.iam), "TypedPw", ACCOUNT, Secret("password", typed))
    if typed in str(err.value):
        pytest.fail("the error repeats the typed password", pytrace=False)
    assert ctx.record.writes == 0
    assert_unchanged(before, snapshot(world))


# ---- MFA codes typed into the live notebook's form -----------------------------------------

Codes = Callable[[str, float], tuple[str, str]]


def _at(seed: str, t: float) -> str:
    return totp.current_code(seed, t)


def _other_device_codes(t: float) -> tuple[str, str]:
    other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # another device's seed
    return _at(other, t - 30), _at(other, t)


def _typo(code: str) -> str:
    return code[:5] + str((int(code[5]) + 1) % 10)


#: (id, the two codes from the seed at time t, fragment of the one-line refusal)
CODE_ROWS: list[tuple[str, Codes, str]] = [
    ("five-digits", lambda s, t: ("12345", _at(s, t)), "must be 6 digits (got 5 characters)"),
    ("letters", lambda s, t: ("12a456", _at(s, t)), "something other than digits"),
    ("repeated", lambda s, t: (_at(s, t), _at(s, t)), "the same code twice"),
    ("swapped", lambda s, t: (_at(s, t), _at(s, t - 30)), "The codes look swapped"),
    ("stale", lambda s, t: (_at(s, t - 330), _at(s, t - 300)), "from about 5 minutes ago"),
    ("clock-ahead", lambda s, t: (_at(s, t + 270), _at(s, t + 300)), "clock is ahead"),
    ("not-this-device", lambda s, t: _other_device_codes(t), "Neither code matches"),
    ("code-2-typo", lambda s, t: (_at(s, t - 30), _typo(_at(s, t))), "check code 2 for a typo"),
]


@pytest.fixture(scope="module")
def device_for_codes(world: World) -> Any:
    """An interactive S3 run of MfaUser up to Step 8: its device exists, unassigned."""
    ctx = preflight("03_enable_virtual_mfa", target="sandbox")
    ctx.interactive = True
    setup = mfa.prepare(ctx, user_name="MfaUser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(widgets, "show", lambda _w: None)
        device = mfa_device.ensure_virtual_device(ctx, setup)
    assert device.seed is not None
    return ctx, device


@pytest.mark.parametrize(
    ("codes", "fragment"), [r[1:] for r in CODE_ROWS], ids=[r[0] for r in CODE_ROWS]
)
def test_bad_mfa_codes_are_refused_before_any_call(
    codes: Codes,
    fragment: str,
    world: World,
    device_for_codes: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx, device = device_for_codes
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    mfa_assign.assign(ctx, device)
    (form,) = [w for w in shown if isinstance(w, widgets.CodeForm)]
    writes = ctx.record.writes
    before = snapshot(world)
    now = time.time()
    if now % 30 > 26:  # keep the row's codes and the check in one 30-second window
        time.sleep(30 - now % 30 + 0.2)
        now = time.time()
    code1, code2 = codes(device.seed.text(), now)
    form.code1.value, form.code2.value = code1, code2
    form.submit()
    status = form.status.value
    assert status.startswith("<span") and "Not done" in status
    assert len(status.splitlines()) == 1 and fragment in status
    assert not form.button.disabled, "the person can correct the codes and press again"
    assert ctx.record.writes == writes, "no EnableMFADevice call was made"
    after = snapshot(world)
    assert_unchanged(before, after)
    assert after["users"]["MfaUser"]["mfa"] == [], "the device is still unassigned"
