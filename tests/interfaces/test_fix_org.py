"""`runbook fix --org` / `--accounts`: a plan per account, each account's steps in that account,
S0 again, and one summary with before -> after per account.

What an operator checks: `--plan` changes nothing in any account (read with each account's own
credentials), `--yes` closes the FAILs in every member (the password policy read back in each
account), every account has its fix.json and the org one says before -> after, the exit code
is the worst account's, and a refusal is one line before anything is written anywhere. On the
session's sandbox as a 3-member Organization (4 accounts; kernel starts: 4 for the plan, 4 + 8
+ 4 for --yes, 4 + 3 + 1 for the failing account).
"""

from __future__ import annotations

import contextlib
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support import leak_scan
from support.aws import reset_sandbox, sandbox_url

from runbook_lib.core import environ
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, sandbox_session
from runbook_lib.fix.run import FixRequest
from runbook_lib.interfaces.cli import main
from runbook_lib.interfaces.fix_org import OrgFixRequest, run_org_fix
from runbook_lib.org.accounts import account_access
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

ROLE = "OrganizationAccountAccessRole"
PERSON = ["-p", "user_name", "ann", "-p", "email", "ann@example.com", "-p", "given_name", "Ann",
          "-p", "family_name", "Lee", "-p", "password_setup_confirmed", "true",
          "-p", "mfa_registered_confirmed", "true"]  # fmt: skip


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def iam_of(account: str) -> Any:
    """An IAM client with that account's own credentials (a second client, not the runbook's)."""
    sts = sandbox_session().client("sts", endpoint_url=sandbox_url())
    access = account_access(sts, account, SANDBOX_ACCOUNT_ID, ROLE)
    if not access.credentials:
        return sandbox_session().client("iam", endpoint_url=sandbox_url())
    session = boto3.Session(
        aws_access_key_id=access.credentials["AccessKeyId"],
        aws_secret_access_key=access.credentials["SecretAccessKey"],
        aws_session_token=access.credentials["SessionToken"],
        region_name="us-east-1",
    )
    return session.client("iam", endpoint_url=sandbox_url())


def account_state(account: str) -> dict[str, Any]:
    iam = iam_of(account)
    try:
        policy: Any = iam.get_account_password_policy()["PasswordPolicy"]
    except iam.exceptions.NoSuchEntityException:
        policy = None
    return {
        "policy": policy,
        "users": sorted(u["UserName"] for u in iam.list_users()["Users"]),
        "groups": sorted(g["GroupName"] for g in iam.list_groups()["Groups"]),
    }


def org_fix(output_dir: Path) -> tuple[Path, dict[str, Any]]:
    (folder,) = output_dir.glob("*-fix-org")
    return folder, json.loads((folder / "fix.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`fix --org --plan`, then `fix --org --yes` with a person for 06, on 4 fresh accounts."""
    box = reset_sandbox()
    members = box.ensure_members(3)
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    base = tmp_path_factory.mktemp("fix-org")
    out: dict[str, Any] = {"accounts": accounts, "base": base}
    iam = iam_of(members[0])  # bob, a console user without MFA, in one member only
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Bob-initial-Passw0rd!")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(environ.SECRETS_DIR, str(base / "secrets"))
        out["state0"] = {a: account_state(a) for a in accounts}
        out["plan"] = run_cli("fix", "--org", "--plan", "--output-dir", str(base / "plan"))
        out["state1"] = {a: account_state(a) for a in accounts}
        out["refused"] = run_cli("fix", "--org", "--yes", "--output-dir", str(base / "refused"))
        out["state2"] = {a: account_state(a) for a in accounts}
        out["yes"] = run_cli(
            "fix", "--org", "--member-accounts", "3", "--yes",
            "--output-dir", str(base / "yes"), *PERSON, "-p", "seed_destination", "file",
        )  # fmt: skip
        out["state3"] = {a: account_state(a) for a in accounts}
    yield out


def test_fix_org_plan_writes_nothing_in_any_account_and_plans_each(org: dict[str, Any]) -> None:
    code, stdout, stderr = org["plan"]
    assert org["state1"] == org["state0"]  # read in each account with its own credentials
    assert code == 4, stderr  # FAILs a runbook closes, in the worst account
    folder, data = org_fix(org["base"] / "plan")
    assert [r["account_id"] for r in data["rows"]] == org["accounts"]
    for acct in org["accounts"]:
        assert f"{acct}:" in stdout  # a plan per account, on the terminal
        (path,) = (folder / acct).glob("*-fix-*/fix.json")
        own = json.loads(path.read_text("utf-8"))
        assert own["account_id"] == acct and own["steps"] == [] and "after" not in own
        steps = [s["notebook"][:2] for s in own["plan"] if not s["manual"]]
        assert steps == (["04", "06", "03"] if acct == org["accounts"][1] else ["04", "06"])
    assert all(r["fails_after"] is None for r in data["rows"])


def test_a_refused_plan_is_one_line_exit_2_and_changes_no_account(org: dict[str, Any]) -> None:
    code, _stdout, stderr = org["refused"]
    assert code == 2
    assert stderr.count("\n") == 1 and "-p email EMAIL" in stderr  # 06 needs a person
    assert org["state2"] == org["state0"]


def test_fix_org_yes_closes_the_fails_in_every_account_and_shows_before_after(
    org: dict[str, Any],
) -> None:
    code, stdout, stderr = org["yes"]
    for acct in org["accounts"]:  # the policy S0 asked for, in every account, read there
        policy = org["state3"][acct]["policy"]
        assert policy and policy["MinimumPasswordLength"] >= 14, acct
    folder, data = org_fix(org["base"] / "yes")
    # the support role is a person's step, and S0's IAM-user administrator check stays FAIL
    # where the plan chose 06: exit 3, the worst account's
    assert code == data["exit_code"] == 3, stderr
    bob_in = org["accounts"][1]
    for row in data["rows"]:
        bob = row["account_id"] == bob_in
        counts = (row["fails_before"], row["fails_after"], row["steps_done"])
        assert counts == ((6, 2, 3) if bob else (5, 2, 2))
        assert "2.8 FAIL -> PASS" in row["compare"] and "2.19 FAIL -> PASS" in row["compare"]
        (line,) = [x for x in stdout.splitlines() if x.startswith(f"{row['account_id']}: ")]
        assert "2.8 FAIL -> PASS" in line  # before -> after per account, on the terminal
        own = json.loads((folder / row["fix_json"]).read_text("utf-8"))
        assert [s["exit_code"] for s in own["steps"]] == [0, 0, 0][: 3 if bob else 2]
        assert own["account_id"] == row["account_id"]
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    assert summary["exit_code"] == 3 and len(summary["rows"]) == 4
    page = (folder / "summary.html").read_text("utf-8")
    assert all(a in page for a in org["accounts"]) and "5 → 2" in page and "http" not in page
    for path in (folder / "fix.json", folder / "summary.json", folder / "summary.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert iam_of(bob_in).list_mfa_devices(UserName="bob")["MFADevices"]  # AWS says so
    # bob's MFA seed is in a 0600 file in that account's own secrets folder, and nowhere in
    # what fix wrote or printed
    own_dir = org["base"] / "secrets" / bob_in
    path, seed, uri = leak_scan.seed_file(own_dir, "bob")  # (the URI names that account)
    found = leak_scan.Secrets()
    found.add("mfa-seed", seed)
    found.add("otpauth-uri", uri)
    leak_scan.assert_in_destination(found, "mfa-seed", path)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in own_dir.iterdir())
    leak_scan.assert_clean(
        [*folder.rglob("fix.json"), *folder.rglob("summary.*"), *folder.rglob("run.json")],
        found,
        {"stdout": stdout, "stderr": stderr},
    )


def test_a_failing_account_stops_alone_and_max_errors_stops_starting_new_ones(
    tmp_path: Path,
) -> None:
    box = reset_sandbox()
    members = box.ensure_members(3)
    person = {"user_name": "ann", "email": "ann@example.com", "given_name": "Ann",
              "family_name": "Lee"}  # fmt: skip
    request = OrgFixRequest(
        FixRequest(person, output_dir=tmp_path, mode="run"),
        max_concurrency=1,
        max_errors=1,
        sandbox_url=sandbox_url(),
        extra_env=lambda acct: {FAULT_AT_WRITE_VAR: "1"} if acct == members[0] else {},
    )
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = run_org_fix(request)
    rows = {r["account_id"]: r for r in org_fix(tmp_path)[1]["rows"]}
    assert outcome.exit_code == 1  # the worst account's: a failed step
    assert rows[SANDBOX_ACCOUNT_ID]["exit_code"] == 3  # done before the failure: kept
    assert rows[members[0]]["exit_code"] == 1
    assert "Step 1 (04_set_password_policy) failed" in rows[members[0]]["message"]
    assert [rows[m]["status"] for m in members[1:]] == ["not started", "not started"]
    assert account_state(SANDBOX_ACCOUNT_ID)["policy"] is not None
    assert [account_state(m)["policy"] for m in members] == [None, None, None]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--org", "--max-concurrency", "0"], "--max-concurrency"),
        (["--org", "--accounts", "111122223333"], "exclude each other"),
        (["--accounts", "12345"], "12345"),
        (["--org", "-p", "expected_account_id", "123456789012"], "expected_account_id"),
    ],
)
def test_bad_fanout_input_is_one_line_and_exit_2(
    args: list[str], words: str, tmp_path: Path
) -> None:
    code, stdout, stderr = run_cli("fix", "--plan", "--output-dir", str(tmp_path), *args)
    assert code == 2
    assert stderr.count("\n") == 1 and words in stderr
    assert not list(tmp_path.iterdir())
