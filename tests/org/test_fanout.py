"""Fan-out without kernels: the account list, AssumeRole, the sandbox Organization, the exit rule.

The AWS paths moto does not answer like AWS (paginated ListAccounts with SUSPENDED accounts, an
AssumeRole refused, the external ID) are tested with botocore's Stubber.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from support.aws import reset_sandbox

from runbook_lib.core import environ
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.core.sandbox import (
    SANDBOX_ACCOUNT_ID,
    Sandbox,
    member_environ,
    sandbox_session,
)
from runbook_lib.interfaces.cli import main
from runbook_lib.org import accounts
from runbook_lib.org.summary import EXIT_SEVERITY, worst_exit
from runbook_lib.org.target import FanoutTarget, account_run
from runbook_lib.run.notebooks import all_notebooks, declared, find_notebook

ROLE = "OrganizationAccountAccessRole"
SM = "secretsmanager"


def stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


# ---- the account list ---------------------------------------------------------------------
def test_accounts_are_parsed_from_a_list_and_a_file(tmp_path: Path) -> None:
    assert accounts.parse_accounts("111111111111, 222222222222,111111111111") == [
        "111111111111",
        "222222222222",
    ]
    listing = tmp_path / "accounts.txt"
    listing.write_text("# members\n333333333333\n444444444444  # prod\n\n", "utf-8")
    assert accounts.parse_accounts(str(listing)) == ["333333333333", "444444444444"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("11111111111", "'11111111111' is not a 12-digit"),
        ("111111111111,12345678901x", "is neither a list"),
        ("no-such-file.txt", "is neither a list"),
        (" , ", "names no account"),
    ],
)
def test_a_bad_account_list_is_refused_in_one_line(text: str, named: str) -> None:
    with pytest.raises(BadInput, match=named):
        accounts.parse_accounts(text)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "00", "--accounts", "12345"],
        ["run", "00", "--accounts", "123456789012", "--org"],
        ["run", "--all", "--org"],
        ["run", "00", "--org", "--max-concurrency", "0"],
        ["run", "00", "--org", "--max-errors", "0"],
        ["run", "00", "--org", "--role-name", "no/slash"],
        ["run", "00", "--org", "-p", "expected_account_id", "123456789012"],
    ],
)
def test_bad_fanout_input_exits_2_with_one_line_before_any_run(
    argv: list[str], tmp_path: Path
) -> None:
    code, out, err = run_cli(*argv, "--output-dir", str(tmp_path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("runbook: ")
    assert not list(tmp_path.iterdir())  # no run folder, no summary


# ---- Organizations and STS on AWS (Stubber) -----------------------------------------------
def test_org_accounts_reads_every_page_and_keeps_active_accounts() -> None:
    client, stub = stubbed("organizations")
    acct = {"Arn": "arn:aws:organizations::1:account/o-1/{}", "Name": "n", "Email": "a@example.com"}
    page1 = [{**acct, "Id": "111111111111", "Status": "ACTIVE"}]
    page2 = [
        {**acct, "Id": "222222222222", "Status": "SUSPENDED"},
        {**acct, "Id": "333333333333", "Status": "ACTIVE"},
    ]
    stub.add_response("list_accounts", {"Accounts": page1, "NextToken": "t"}, {})
    stub.add_response("list_accounts", {"Accounts": page2}, {"NextToken": "t"})
    with stub:
        assert accounts.org_accounts(client) == ["111111111111", "333333333333"]
    stub.assert_no_pending_responses()


def test_org_accounts_refused_says_to_use_the_management_account() -> None:
    client, stub = stubbed("organizations")
    stub.add_client_error("list_accounts", "AccessDeniedException", "not the management")
    with stub, pytest.raises(AwsError, match="management account"):
        accounts.org_accounts(client)


def test_assume_role_passes_the_external_id_and_hides_the_credentials() -> None:
    client, stub = stubbed("sts")
    creds = {
        "AccessKeyId": "ASIAEXAMPLE000000001",
        "SecretAccessKey": "s" * 40,
        "SessionToken": "t" * 60,
        "Expiration": "2030-01-01T00:00:00Z",
    }
    arn = f"arn:aws:iam::222222222222:role/{ROLE}"
    expected = {"RoleArn": arn, "RoleSessionName": accounts.SESSION_NAME, "ExternalId": "ext-1"}
    stub.add_response("assume_role", {"Credentials": creds}, expected)
    with stub:
        access = accounts.account_access(client, "222222222222", "111111111111", ROLE, "ext-1")
    assert access.credentials["SessionToken"] == "t" * 60
    assert "t" * 60 not in repr(access) and "s" * 40 not in repr(access)
    assert accounts.account_access(client, "111111111111", "111111111111", ROLE).credentials == {}


def test_a_role_that_cannot_be_assumed_fails_that_account_with_the_fix() -> None:
    client, stub = stubbed("sts")
    stub.add_client_error("assume_role", "AccessDenied", "not authorized to perform")
    with stub, pytest.raises(AwsError, match="--role-name"):
        accounts.account_access(client, "222222222222", "111111111111", ROLE)


def test_profile_target_kernel_gets_the_accounts_credentials_and_no_profile() -> None:
    target = FanoutTarget("profile", {"target": "profile", "profile": "mgmt"}, "1" * 12)
    creds = {"AccessKeyId": "ASIA1", "SecretAccessKey": "sk", "SessionToken": "tok"}
    params, env = account_run(
        target, accounts.Access("2" * 12, "arn", creds), {"target": "profile", "profile": "mgmt"}
    )
    assert params["target"] == "profile" and "profile" not in params
    assert params["expected_account_id"] == "2" * 12
    assert env["AWS_PROFILE"] is None and env["AWS_SESSION_TOKEN"] == "tok"
    assert str(env[environ.SECRETS_DIR]).endswith("2" * 12)


@pytest.mark.parametrize(
    ("stem", "given", "name"),
    [
        ("02_create_access_key", {"destination": SM}, "iam-runbooks/A/Administrator/access-key"),
        ("03", {"seed_destination": SM, "user_name": "ops"}, "iam-runbooks/A/mfa/ops"),
        ("03", {"seed_destination": SM, "device_name": "d1"}, "iam-runbooks/A/mfa/d1"),
        ("02_create_access_key", {"destination": "file"}, None),
    ],
)  # fmt: skip
def test_default_secret_names_carry_the_account(
    stem: str, given: dict[str, str], name: str | None
) -> None:
    acct = "333333333333"
    target = FanoutTarget("sandbox", {}, SANDBOX_ACCOUNT_ID, secrets_dir="/x")
    secrets = declared(find_notebook(stem)).secrets
    params, _ = account_run(target, accounts.Access(acct), given, secrets)
    assert params.get("secret_name") == (name.replace("/A/", f"/{acct}/") if name else None)


def test_secret_names_and_folders_are_per_account(tmp_path: Path) -> None:
    target = FanoutTarget("sandbox", {}, SANDBOX_ACCOUNT_ID, secrets_dir=str(tmp_path))
    given = {"secrets_dir": "x", "secret_name": "team/key"}
    for acct in ("111111111111", "222222222222"):
        params, env = account_run(target, accounts.Access(acct), given)
        assert params["secrets_dir"] == str(tmp_path / acct) == env[environ.SECRETS_DIR]
        assert params["secret_name"] == f"team/key/{acct}"


# ---- the sandbox Organization -------------------------------------------------------------
def test_sandbox_members_repeat_and_act_in_their_own_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box = reset_sandbox()
    first = box.ensure_members(3)
    again = Sandbox(url=box.url, member_accounts=3)
    again.reset()
    assert again.accounts == first and len(set(first)) == 3
    assert SANDBOX_ACCOUNT_ID not in first
    sts = sandbox_session().client("sts", endpoint_url=box.url)
    access = accounts.account_access(sts, first[1], SANDBOX_ACCOUNT_ID, ROLE)
    for key, value in member_environ(first[1], access.credentials).items():
        monkeypatch.setenv(key, value)
    member = sandbox_session()
    member.client("iam", endpoint_url=box.url).create_user(UserName="only-in-member")
    arn = member.client("sts", endpoint_url=box.url).get_caller_identity()["Arn"]
    assert f"::{first[1]}:assumed-role/{ROLE}/" in arn
    monkeypatch.delenv(environ.SANDBOX_ACCOUNT)
    mgmt = sandbox_session().client("iam", endpoint_url=box.url)
    assert [u["UserName"] for u in mgmt.list_users()["Users"]] == []
    reset_sandbox()


def test_worst_exit_follows_the_documented_order() -> None:
    assert EXIT_SEVERITY == (0, 3, 4, 1, 2)
    assert worst_exit([0, 3, 0]) == 3
    assert worst_exit([3, 4]) == 4
    assert worst_exit([4, 1, 3]) == 1
    assert worst_exit([1, 2, 0]) == 2
    assert worst_exit([0, None]) == 1  # never started: its work was not done
    assert worst_exit([]) == 0


# ---- what a notebook declares ---------------------------------------------------------------
def test_every_notebook_declares_its_section_and_the_korean_one_the_same() -> None:
    books = all_notebooks()
    for book in books:
        title = json.loads(book.read_text("utf-8"))["cells"][0]["source"][0]
        meta = declared(book)
        assert title.startswith(f"# {meta.section} — "), book.name
        assert declared(book.parent / "ko" / book.name) == meta
    assert [b.stem for b in books if declared(b).org_root_access] == ["00_check_root_usage"]


def test_a_fan_out_that_reaches_no_account_is_bad_input_not_success(tmp_path: Path) -> None:
    """``--org`` on a sandbox without an Organization reaches no account: a scheduled job
    must not read that as green (exit 2, one line naming the way out, no run folder)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_SANDBOX")}
    argv = ["run", "01", "--org", "-p", "billing_access_confirmed", "true"]
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.interfaces.cli", *argv, "--output-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("runbook: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "--member-accounts" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_summary_page_links_each_account_run_and_names_each_control(tmp_path: Path) -> None:
    """summary.html: each account's link opens a file of its run (the HTML export, else the
    executed notebook); each control column's title is on the page; the table scrolls in its
    own box (the page fits a 1280 px window)."""
    import re

    from runbook_lib.org import fanout, summary

    stem = "00_check_root_usage"
    findings = [
        {"control": "2.1.1", "title": "Centralized root access", "status": "FAIL"},
        {"control": "1.12", "title": "Credentials unused for 45 days", "status": "PASS"},
    ]
    results = []
    for n, export in enumerate((f"{stem}.html", f"{stem}.ipynb")):
        run_dir = tmp_path / f"11112222333{n}" / "run"
        run_dir.mkdir(parents=True)
        (run_dir / export).write_text("{}", "utf-8")
        record = {"findings": findings, "writes": 0}
        results.append(fanout.AccountResult(f"11112222333{n}", "done", 0, "", run_dir, record))
    results.append(fanout.AccountResult("111122223339"))  # never started: no link
    summary.write_summary(fanout.FanoutResult(stem, tmp_path, results, True))
    page = (tmp_path / "summary.html").read_text("utf-8")
    links = re.findall(r"<a href='([^']+)'>(\d{12})</a>", page)
    assert [acct for _, acct in links] == ["111122223330", "111122223331"]
    assert [Path(href).name for href, _ in links] == [f"{stem}.html", f"{stem}.ipynb"]
    assert all((tmp_path / href).is_file() for href, _ in links)
    assert "Centralized root access" in page and "Credentials unused for 45 days" in page
    assert "overflow:auto" in page and "<div class='wrap'><table>" in page
