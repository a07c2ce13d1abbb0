"""`runbook fix`: S0's FAILs -> a plan -> the runbooks that close them -> S0 again.

What a person checks: the plan names the runbooks and the users (and `--plan` changes nothing
in the account), `fix --yes` closes the FAILs (read back by S0 in another CIS version), every
secret made is in its 0600 file and nowhere in fix.json or the output, and each refusal is one
line with its exit code. The plan's table is checked in-process (no kernel); the loop itself
runs once per scenario on the session's sandbox (kernel starts: 1 + 6 + 1 for the done-when
scenario, 1 for the destructive refusal, 2 for the failing step).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support import leak_scan
from support.aws import ACCOUNT, assert_unchanged, client, moto_iam, reset_sandbox, snapshot

from runbook_lib.core import environ
from runbook_lib.fix.plan import DEFAULT_ADMIN, REMEDIES, command, make_plan
from runbook_lib.interfaces.cli import main
from runbook_lib.root_usage import cis
from runbook_lib.run.notebooks import all_notebooks, declared

ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def user_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def fail(check: str, resource: str = ROOT, version: str = "7.0.0", **extra: str) -> dict[str, Any]:
    control = cis.control(version, check) or check
    return {"check": check, "control": control, "cis_version": version, "status": "FAIL",
            "resource": resource, "advice": "", "accepted": "", **extra}  # fmt: skip


@contextlib.contextmanager
def captured() -> Iterator[dict[str, str]]:
    out, err = io.StringIO(), io.StringIO()
    streams: dict[str, str] = {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            yield streams
        finally:
            streams["stdout"], streams["stderr"] = out.getvalue(), err.getvalue()


def fix_json(output_dir: Path) -> tuple[Path, dict[str, Any]]:
    (path,) = sorted(output_dir.glob("*-fix-*/fix.json"))[-1:]
    return path, json.loads(path.read_text("utf-8"))


# --- the plan: one table, by check ID (in-process) ---------------------------------------------


def test_every_check_the_audit_reports_has_a_remedy_and_no_remedy_is_for_an_unknown_check() -> None:
    checks = set(cis.PROCEDURE) | {c for version in cis.CONTROLS.values() for c in version}
    assert set(REMEDIES) == checks


def test_every_runbook_a_remedy_names_is_declared_by_a_notebook() -> None:
    sections = {declared(book).section for book in all_notebooks()}
    named = {r.section for r in REMEDIES.values() if r.section}
    named |= {r.then[0] for r in REMEDIES.values() if r.then}
    assert named <= sections


def test_password_policy_and_user_mfa_fails_plan_04_once_and_03_per_user() -> None:
    findings = [
        fail("password_min_length"),
        fail("password_reuse"),
        fail("user_mfa", f"{user_arn('bob')}, {user_arn('eve', '/ops/')}"),
    ]
    plan = make_plan(findings, {})
    assert [(s.notebook[:2], s.user) for s in plan.steps] == [
        ("04", ""),
        ("03", "bob"),
        ("03", "eve"),
    ]
    assert plan.steps[0].controls == ("2.8", "2.9")
    assert plan.steps[2].params == {"user_name": "eve"}
    assert not plan.destructive and not plan.manual


def test_no_administrator_plans_01_before_03_for_the_same_user_after_the_policy() -> None:
    findings = [fail("user_mfa", user_arn("bob")), fail("iam_administrator"),
                fail("password_min_length")]  # fmt: skip
    plan = make_plan(findings, {})
    order = [(s.notebook[:2], s.user) for s in plan.runs]
    assert order.index(("04", "")) < order.index(("01", DEFAULT_ADMIN))
    assert order.index(("01", DEFAULT_ADMIN)) < order.index(("03", DEFAULT_ADMIN))
    admin_mfa = next(s for s in plan.runs if s.user == DEFAULT_ADMIN and s.notebook[:2] == "03")
    assert admin_mfa.controls == ("2.10",)  # it keeps the user MFA check passing
    assert "06 is the alternative" in plan.runs[1].as_dict()["note"]


IDC_INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


@pytest.mark.parametrize(
    ("central", "words"),
    [
        ({"status": "NOT_APPLICABLE", "resource": ROOT}, "found no AWS Organization"),
        ({"status": "FAIL", "resource": ROOT}, "no IAM Identity Center instance"),
        ({"status": "NOT_KNOWN", "resource": ROOT}, "could not tell"),
    ],
)
def test_no_administrator_outside_identity_center_plans_01_and_says_why(
    central: dict[str, str], words: str
) -> None:
    findings = [fail("iam_administrator"), {**fail("central_identity"), **central}]
    plan = make_plan(findings, {"email": "ann@example.com"})
    assert [(s.notebook[:2], s.user) for s in plan.runs] == [
        ("01", DEFAULT_ADMIN),
        ("03", DEFAULT_ADMIN),
    ]
    note = plan.runs[0].as_dict()["note"]
    assert note.startswith("01") and words in note and "S0 (2.19)" in note
    assert "email" not in plan.runs[0].params  # S1 takes no person's details


@pytest.mark.parametrize(
    "central",
    [
        {"status": "FAIL", "resource": IDC_INSTANCE},  # an instance that assigns nothing here
        {"status": "PASS", "resource": IDC_INSTANCE},  # an instance that assigns here
        {"status": "PASS", "resource": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/"
         "sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef"},
    ],
)  # fmt: skip
def test_no_administrator_where_identity_center_reaches_the_account_plans_06_and_says_why(
    central: dict[str, str],
) -> None:
    findings = [fail("iam_administrator"), fail("user_mfa", user_arn("bob")),
                {**fail("central_identity"), **central}]  # fmt: skip
    person = {"user_name": "ann", "email": "ann@example.com", "given_name": "Ann",
              "family_name": "Lee", "unused_days": 30}  # fmt: skip
    plan = make_plan(findings, person)
    # 06 for the person given, no S3 for them (they register MFA in the access portal)
    assert [(s.notebook[:2], s.user) for s in plan.runs] == [("06", "ann"), ("03", "bob")]
    step = plan.runs[0]
    assert step.params == {k: v for k, v in person.items() if k != "unused_days"}
    assert step.controls[0] == "S0-admins" and not step.destructive
    # 06 assigns the permission set here: a central_identity FAIL is its step, not a manual one
    assert step.controls[1:] == (("2.19",) if central["status"] == "FAIL" else ())
    assert not plan.manual
    note = step.as_dict()["note"]
    assert note.startswith("06, not 01") and "S0 (2.19) found IAM Identity Center" in note


def test_cleanup_and_rotation_are_destructive_and_use_the_audits_thresholds() -> None:
    carol = user_arn("carol")
    findings = [fail("unused_credentials", carol), fail("key_rotation", carol)]
    plan = make_plan(findings, {"unused_days": 30, "max_key_age_days": 60})
    rotate, cleanup = plan.runs
    assert rotate.notebook.startswith("02") and cleanup.notebook.startswith("05")
    assert rotate.params == {
        "mode": "rotate-if-older-than",
        "max_age_days": 60,
        "user_name": "carol",
    }
    assert cleanup.params == {"cleanup_scope": "user", "unused_days": 30, "user_name": "carol"}
    assert plan.destructive == [rotate, cleanup]


def test_root_fails_and_unknown_checks_become_manual_steps_and_accepted_ones_nothing() -> None:
    findings = [
        fail("root_mfa"),
        fail("support_role"),
        fail("a_future_check", advice="Do the future thing."),
        fail("admin_group", accepted="the procedure does this on purpose"),
    ]
    plan = make_plan(findings, {})
    assert not plan.runs
    hows = [s.as_dict()["how"] for s in plan.manual]
    assert "Assign MFA device" in hows[0] and "AWSSupportAccess" in hows[1]
    assert hows[2] == "Do the future thing."
    assert len(plan.manual) == 3


def test_commands_repeat_the_target_and_only_the_parameters_the_runbook_declares() -> None:
    plan = make_plan([fail("user_mfa", user_arn("bob")), fail("password_min_length")], {})
    given = {"seed_destination": "file", "billing_access_confirmed": True}
    policy, mfa = (command(s, ["--profile", "admin"], given) for s in plan.runs)
    assert policy == "runbook run 04_set_password_policy --profile admin"
    assert mfa == (
        "runbook run 03_enable_virtual_mfa --profile admin -p seed_destination file "
        "-p user_name bob"
    )


# --- refused before any kernel: one line, exit 2 -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--cis-version", "9.9.9"], "4.0.1, 5.0.0, 6.0.0, 7.0.0"),
        (["-p", "cis_version", "4.0"], "4.0.1, 5.0.0, 6.0.0, 7.0.0"),
        (["--org", "--max-errors", "0"], "--max-errors"),
        (["-p", "user_name", "bad name!"], "user_name"),
        (["-p", "plan", "true"], "--plan"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    with captured() as streams:
        code = main(["fix", "--plan", "--output-dir", str(tmp_path), *args])
    assert code == 2
    assert streams["stderr"].count("\n") == 1 and words in streams["stderr"]
    assert streams["stdout"] == "" and not list(tmp_path.iterdir())  # no audit, no fix.json


def test_plan_and_yes_exclude_each_other(tmp_path: Path) -> None:
    with captured() as streams, pytest.raises(SystemExit) as exit_:
        main(["fix", "--plan", "--yes", "--output-dir", str(tmp_path)])
    assert exit_.value.code == 2 and streams["stderr"].count("\n") == 1


# --- the done-when scenario: bob without MFA, no password policy ------------------------------


@pytest.fixture(scope="module")
def bob_fixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`fix --plan`, then `fix --yes`, then S0 in v4.0.1, on one sandbox with console user bob."""
    reset_sandbox()
    iam = client("iam")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Bob-initial-Passw0rd!")
    base = tmp_path_factory.mktemp("fix")
    secrets_dir = base / "secrets"
    out: dict[str, Any] = {"secrets_dir": secrets_dir}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(environ.SECRETS_DIR, str(secrets_dir))
        before = snapshot()
        with captured() as plan_streams:
            out["plan_code"] = main(["fix", "--plan", "--output-dir", str(base / "plan")])
        out["plan_changed"] = (before, snapshot())
        out["plan_streams"] = plan_streams
        with captured() as yes_streams:
            out["yes_code"] = main(
                ["fix", "--yes", "--output-dir", str(base / "yes"),
                 "-p", "seed_destination", "file", "-p", "billing_access_confirmed", "true"]
            )  # fmt: skip
        out["yes_streams"] = yes_streams
        with captured():
            out["s0_code"] = main(
                ["run", "00", "-p", "cis_version", "4.0.1", "--output-dir", str(base / "s0")]
            )
    (record,) = (base / "s0").glob("*/run.json")
    out["s0"] = json.loads(record.read_text("utf-8"))
    out["base"] = base
    yield out


def test_fix_plan_makes_no_write_and_names_04_and_03_for_bob(bob_fixed: dict[str, Any]) -> None:
    assert_unchanged(*bob_fixed["plan_changed"])
    stdout = bob_fixed["plan_streams"]["stdout"]
    assert "runbook run 04_set_password_policy" in stdout
    assert "runbook run 03_enable_virtual_mfa -p user_name bob" in stdout
    assert bob_fixed["plan_code"] == 4  # FAILs a runbook closes
    path, data = fix_json(bob_fixed["base"] / "plan")
    runs = [(s["notebook"][:2], s["user"]) for s in data["plan"] if not s["manual"]]
    assert ("04", "") in runs and ("03", "bob") in runs
    assert data["steps"] == [] and "after" not in data


def test_fix_yes_closes_the_fails_as_s0_in_v4_reads_them(bob_fixed: dict[str, Any]) -> None:
    status = {f["control"]: f["status"] for f in bob_fixed["s0"]["findings"]}
    assert bob_fixed["s0"]["findings"][0]["cis_version"] == "4.0.1"
    assert [status[c] for c in ("1.8", "1.9", "1.10", "S0-admins")] == ["PASS"] * 4
    iam = client("iam")
    assert iam.list_mfa_devices(UserName="bob")["MFADevices"]  # AWS says so, not the audit


def test_fix_yes_prints_the_compare_and_exits_3_for_the_manual_step_left(
    bob_fixed: dict[str, Any],
) -> None:
    stdout = bob_fixed["yes_streams"]["stdout"]
    for line in ("2.8 FAIL -> PASS", "2.10 FAIL -> PASS", "S0-admins FAIL -> PASS"):
        assert line in stdout
    # the sandbox has no role with AWSSupportAccess: a person creates one (manual step)
    assert bob_fixed["yes_code"] == 3
    _, data = fix_json(bob_fixed["base"] / "yes")
    assert [s["exit_code"] for s in data["steps"]] == [0, 0, 0, 0]
    assert "2.15 FAIL (unchanged)" in data["compare"]
    assert data["exit_code"] == 3


def test_every_secret_made_is_in_a_0600_file_and_not_in_fix_json_or_the_output(
    bob_fixed: dict[str, Any],
) -> None:
    secrets_dir = bob_fixed["secrets_dir"]
    found = leak_scan.destination_secrets("01", secrets_dir, DEFAULT_ADMIN)
    found.extend(leak_scan.destination_secrets("03", secrets_dir, "bob"))
    found.extend(leak_scan.destination_secrets("03", secrets_dir, DEFAULT_ADMIN))
    files = sorted(p for p in secrets_dir.iterdir() if p.is_file())
    assert len(files) == 3
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    base = bob_fixed["base"]
    streams = {f"{name} {which}": text for name in ("plan_streams", "yes_streams")
               for which, text in bob_fixed[name].items()}  # fmt: skip
    leak_scan.assert_clean(
        [*base.glob("*/*-fix-*/fix.json"), *base.glob("yes/*/run.json")], found, streams
    )


# --- refusals after the audit: a destructive plan without --yes, a step that fails ---------------


@pytest.fixture
def old_unused_key(tmp_path: Path) -> Iterator[str]:
    """A user whose only access key is 100 days old and never used (rotation and cleanup)."""
    reset_sandbox()
    iam = client("iam")
    iam.create_user(UserName="carol")
    iam.create_access_key(UserName="carol")
    (key,) = moto_iam().users["carol"].access_keys
    key.create_date -= timedelta(days=100)
    yield "carol"


def test_fix_without_yes_refuses_a_destructive_plan_in_one_line(
    old_unused_key: str, tmp_path: Path
) -> None:
    before = snapshot()
    with captured() as streams:
        code = main(["fix", "--output-dir", str(tmp_path)])
    assert_unchanged(before, snapshot())
    assert code == 2
    assert streams["stderr"].count("\n") == 1
    assert "--yes" in streams["stderr"] and f"for {old_unused_key}" in streams["stderr"]
    _, data = fix_json(tmp_path)  # the plan is kept: what --yes would run
    assert [s["destructive"] for s in data["plan"] if not s["manual"]][-2:] == [True, True]


def test_a_step_that_fails_stops_the_loop_with_exit_1_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_sandbox()
    monkeypatch.setenv(environ.FAULT_AT_WRITE, "1")  # every run's first write fails
    with captured() as streams:
        code = main(["fix", "--output-dir", str(tmp_path)])
    assert code == 1
    assert (
        streams["stderr"].count("\n") == 1
        and "Step 1 (04_set_password_policy)" in streams["stderr"]
    )
    _, data = fix_json(tmp_path)
    assert [s["exit_code"] for s in data["steps"]] == [1]  # nothing after it ran
    assert "after" not in data
    assert os.environ.get(environ.FAULT_AT_WRITE) == "1"
