"""Fan-out runs with kernels, on a sandbox Organization: what an operator checks afterwards.

A kernel per account is slow on 2 cores: most tests use a 3-member Organization (4 accounts);
one runs S0 over 20 members (21 accounts) and reports its time.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.aws import reset_sandbox, sandbox_url
from support.leak_scan import assert_no_secret

from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, sandbox_session
from runbook_lib.interfaces.cli import main
from runbook_lib.org import fanout
from runbook_lib.org.accounts import Access, account_access
from runbook_lib.org.target import FanoutTarget, resolve_target
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

S0 = "00_check_root_usage"
S1 = "01_create_admin_user"
ROLE = "OrganizationAccountAccessRole"
AWS = Path(sys.executable).parent / "aws"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def summary(output_dir: Path) -> tuple[Path, dict[str, Any]]:
    (folder,) = [p for p in output_dir.iterdir() if p.is_dir()]
    return folder, json.loads((folder / "summary.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def members() -> list[str]:
    """A fresh sandbox Organization: the management account plus 3 members."""
    box = reset_sandbox()
    return box.ensure_members(3)


def test_s0_over_the_org_writes_a_folder_per_account_and_one_summary(
    members: list[str], tmp_path: Path
) -> None:
    code, out, err = run_cli("run", "00", "--org", "--output-dir", str(tmp_path))
    folder, data = summary(tmp_path)
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(accounts)
    assert [r["account_id"] for r in data["rows"]] == accounts
    for acct in accounts:
        (run_json,) = (folder / acct).glob("*/run.json")
        assert json.loads(run_json.read_text("utf-8"))["account_id"] == acct
    codes = [r["exit_code"] for r in data["rows"]]
    assert code == data["exit_code"] == max(codes, key=(0, 3, 4, 1, 2).index), err
    rows = list(csv.DictReader((folder / "summary.csv").open(encoding="utf-8")))
    assert len(rows) == 4 and rows[1]["findings_not_known"] == str(
        data["rows"][1]["findings_not_known"]
    )
    page = (folder / "summary.html").read_text("utf-8")
    assert all(acct in page for acct in accounts) and "http" not in page  # offline
    assert sum(line.startswith("[") for line in out.splitlines()) == 4  # progress lines
    assert all(acct in out for acct in accounts)  # the table


def test_endpoint_target_kernels_act_in_each_member_with_its_own_credentials(
    members: list[str], tmp_path: Path
) -> None:
    """The path real AWS takes (credentials in AWS_* variables, no profile), on the sandbox's
    endpoint: each account's record names that account and its assumed role."""
    argv = ["run", "00", "--accounts", ",".join(members[:2]), "--endpoint-url", sandbox_url()]
    code, out, err = run_cli(*argv, "--output-dir", str(tmp_path))
    folder, data = summary(tmp_path)
    for row in data["rows"]:
        rec = _record(folder, row)
        assert rec["account_id"] == row["account_id"], out + err
        assert f"::{row['account_id']}:assumed-role/{ROLE}/" in rec["caller_arn"]


def _aws_users_in(account: str) -> list[str]:
    """The IAM users of ``account`` as the aws CLI sees them through AssumeRole."""
    url = sandbox_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    arn = f"arn:aws:iam::{account}:role/{ROLE}"
    creds = json.loads(
        subprocess.run(
            [
                sys.executable,
                str(AWS),
                "--endpoint-url",
                url,
                "sts",
                "assume-role",
                "--role-arn",
                arn,
                "--role-session-name",
                "readback",
                "--query",
                "Credentials",
                "--output",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    env.update(
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
    )
    users = subprocess.run(
        [
            sys.executable,
            str(AWS),
            "--endpoint-url",
            url,
            "iam",
            "list-users",
            "--query",
            "Users[].UserName",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted(json.loads(users))


def test_s1_over_the_org_creates_the_administrator_everywhere_and_rerun_writes_nothing(
    members: list[str], tmp_path: Path
) -> None:
    argv = ["run", "01", "--org", "-p", "billing_access_confirmed", "true"]
    code, out, err = run_cli(*argv, "--output-dir", str(tmp_path / "first"))
    assert code == 0, out + err
    folder, data = summary(tmp_path / "first")
    assert all(r["writes"] > 0 for r in data["rows"])
    for acct in members:
        assert _aws_users_in(acct) == ["Administrator"]
    # each sign-in CSV is this account's own: the account ID in the name, in its own folder
    secrets = [s["destination"] for r in data["rows"] for s in _record(folder, r)["secrets"]]
    assert all(d.startswith("file: ") for d in secrets), secrets
    csvs = [Path(d.removeprefix("file: ")) for d in secrets]
    assert len(csvs) == 4 and len({p.parent for p in csvs}) == 4
    assert all(r["account_id"] in p.name for r, p in zip(data["rows"], csvs, strict=True))
    code, out, err = run_cli(*argv, "--output-dir", str(tmp_path / "again"))
    assert code == 0, out + err
    _, again = summary(tmp_path / "again")
    assert [r["writes"] for r in again["rows"]] == [0, 0, 0, 0]
    passwords = [next(csv.DictReader(p.open(encoding="utf-8-sig")))["Password"] for p in csvs]
    assert_no_secret([p for p in tmp_path.rglob("*") if p.is_file()], passwords)


def test_s2_over_the_org_names_each_secret_after_its_account(
    members: list[str], tmp_path: Path
) -> None:
    """After S1: one access key per account, each in that account's own Secrets Manager under
    a name that carries the account ID."""
    argv = ["run", "02", "--org", "-p", "destination", "secretsmanager"]
    code, out, err = run_cli(*argv, "--output-dir", str(tmp_path))
    assert code == 0, out + err
    folder, data = summary(tmp_path)
    sts = sandbox_session().client("sts", endpoint_url=sandbox_url())
    for row in data["rows"]:
        acct = row["account_id"]
        (secret,) = _record(folder, row)["secrets"]
        assert (
            f":{acct}:secret:iam-runbooks/{acct}/Administrator/access-key-" in secret["destination"]
        )
        if acct == SANDBOX_ACCOUNT_ID:
            continue
        access = account_access(sts, acct, SANDBOX_ACCOUNT_ID, ROLE)
        session = boto3.Session(
            aws_access_key_id=access.credentials["AccessKeyId"],
            aws_secret_access_key=access.credentials["SecretAccessKey"],
            aws_session_token=access.credentials["SessionToken"],
            region_name="us-east-1",
        )
        names = session.client("secretsmanager", endpoint_url=sandbox_url()).list_secrets()
        assert [s["Name"] for s in names["SecretList"]] == [
            f"iam-runbooks/{acct}/Administrator/access-key"
        ]


def _record(folder: Path, row: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / row["run_dir"] / "run.json").read_text("utf-8"))
    return data


def _target() -> FanoutTarget:
    return resolve_target({}, sandbox_url=sandbox_url())


def test_max_errors_stops_starting_accounts_and_running_ones_finish(
    members: list[str], tmp_path: Path
) -> None:
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    # every account fails (S1's first write: exit 1); one at a time, stop after 2
    result = fanout.run_fanout(
        S1,
        accounts,
        {"billing_access_confirmed": True, "user_name": "NeverMade"},
        target=_target(),
        output_dir=tmp_path,
        max_concurrency=1,
        max_errors=2,
        extra_env=lambda acct: {FAULT_AT_WRITE_VAR: "1"},
    )
    assert [r.status for r in result.results][2:] == ["not started", "not started"]
    assert [r.exit_code for r in result.results] == [1, 1, None, None]
    assert result.stopped_early
    assert sorted(p.name for p in result.output_dir.iterdir() if p.is_dir()) == sorted(accounts[:2])


def test_max_concurrency_runs_accounts_side_by_side_and_failures_stay_in_their_account(
    members: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    broken = {members[0]: {FAULT_AT_WRITE_VAR: "1"}}  # S1's first write fails there only
    params = {"billing_access_confirmed": True, "user_name": "Operator"}
    issued: list[Access] = []
    assume = account_access

    def record(*args: Any, **kwargs: Any) -> Access:
        issued.append(assume(*args, **kwargs))
        return issued[-1]

    monkeypatch.setattr("runbook_lib.org.accounts.account_access", record)
    started = time.monotonic()
    result = fanout.run_fanout(
        S1, accounts, params, target=_target(), output_dir=tmp_path, max_concurrency=2,
        max_errors=3, extra_env=lambda acct: broken.get(acct, {}),
    )  # fmt: skip
    wall = time.monotonic() - started
    by_account = {r.account_id: r for r in result.results}
    assert by_account[members[0]].exit_code == 1
    assert all(by_account[a].exit_code == 0 for a in accounts if a != members[0])
    assert wall < sum(r.seconds for r in result.results)  # side by side, not one by one
    iam = sandbox_session().client("iam", endpoint_url=sandbox_url())
    assert "Operator" in [u["UserName"] for u in iam.list_users()["Users"]]
    # the members' AssumeRole credentials reached the kernels, and no artifact
    creds = [v for a in issued for k, v in a.credentials.items() if k != "AccessKeyId"]
    assert len(creds) == 2 * len(members)
    assert_no_secret([p for p in tmp_path.rglob("*") if p.is_file()], creds)


def test_s0_over_a_20_member_org(tmp_path: Path) -> None:
    """The issue's acceptance run: 21 accounts, 21 rows, the exit code by the rule; timed."""
    box = reset_sandbox()
    started = time.monotonic()
    code, out, err = run_cli(
        "run", "00", "--org", "--member-accounts", "20", "--output-dir", str(tmp_path)
    )
    seconds = time.monotonic() - started
    folder, data = summary(tmp_path)
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 21
    assert len(data["rows"]) == 21
    assert code == data["exit_code"], err
    print(f"\nS0 over 21 accounts (--max-concurrency 2): {seconds:.1f} s")
    box.reset()
