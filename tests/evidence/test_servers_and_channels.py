"""Servers and channels hold against the red team's attacks (issue 20, items 7, 8, 9 and the
low-severity list), each reproduced as it was reported.

- ``runbook app``: a request with ``Host: evil.example`` ran S2 (a key created), and the login
  cookie alone, without the token, executed the runbook. Now both get 403 and IAM, read with
  awscli as a second client, shows no key; the token URL still runs it.
- S2 and S3 given the same Secrets Manager ``secret_name``: S3's seed replaced the access key as
  AWSCURRENT, exit 0. Now the second runbook stops before any write (exit 2, one line) and the
  secret, read with awscli, still holds the first one's secret, in its only version.
- The Airflow DAG's ``accounts`` set to a file path opened any file the worker could read and
  printed its first token in the task failure; the external ID was a DAG parameter (stored in
  ``dag_run.conf``) and ``--external-id`` was in ``/proc/PID/cmdline``. Now ``accounts`` is IDs
  or a bare name in the deployment's ``accounts_dir``, a bad line is named by number only, the
  external ID is refused in a run's parameters and on the command line.
- Low: account IDs from ``ListAccounts`` become folder names, AWS text reaches the terminal, and
  IAM user names reach ``findings.csv``/``summary.csv``: a hostile ID is refused before any
  folder exists, control characters never reach the terminal, a cell never starts a formula.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import aws_keys, cli_server
from support.aws import sandbox_url
from support.fixtures import new_name
from support.inprocess import run_in_process

from runbook_lib.core import environ
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.interfaces import airflow, app_server

# ---- runbook app (item 8) ------------------------------------------------------------------


def request(url: str, path: str, **headers: str) -> http.client.HTTPResponse:
    """GET ``path`` on the app of ``url`` with ``headers`` (read in full)."""
    parts = re.match(r"http://([\d.]+):(\d+)/", url)
    assert parts
    conn = http.client.HTTPConnection(parts[1], int(parts[2]), timeout=180)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.fixture(scope="module")
def app_02(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """``runbook app 02 --sandbox --seed-prerequisites -p mode rotate``: every execution of
    the page makes a key. Yields (page URL with the token, token, sandbox URL)."""
    tmp = tmp_path_factory.mktemp("app02")
    args = ("app", "02", "--sandbox", "--seed-prerequisites", "-p", "mode", "rotate")
    own_sandbox = (environ.SANDBOX_URL, environ.SANDBOX_ACCOUNT)  # not the session's shared one
    with cli_server(tmp, *args, ready="Voilà is running", env_drop=own_sandbox) as (url, _s):
        sandbox = re.search(r"sandbox: (\S+)", (tmp / "server.log").read_text("utf-8"))
        assert sandbox, "no sandbox line"
        token = url.split("token=", 1)[1]
        yield url, token, sandbox[1]


def test_app_refuses_a_foreign_host_and_runs_nothing(app_02: tuple[str, str, str]) -> None:
    url, token, sandbox = app_02
    before = aws_keys(sandbox)
    response = request(url, f"/?token={token}", Host="evil.example")
    assert response.status == 403
    assert aws_keys(sandbox) == before == []


def test_app_cookie_without_the_token_runs_nothing(app_02: tuple[str, str, str]) -> None:
    url, token, sandbox = app_02
    # a request the page itself makes gives the login cookie (and runs nothing: no such kernel)
    given = request(url, f"/api/kernels/{'0' * 8}-0000-0000-0000-{'0' * 12}?token={token}")
    cookie = given.getheader("Set-Cookie") or ""
    assert cookie.startswith("username-"), "no login cookie from a token request"
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "samesite=strict" in attributes and "httponly" in attributes
    assert not any(a.startswith(("expires=", "max-age=")) for a in attributes), cookie
    response = request(url, "/", Cookie=cookie.split(";")[0])
    assert response.status == 403
    assert aws_keys(sandbox) == []


def test_app_refuses_another_pages_request_even_with_the_token(
    app_02: tuple[str, str, str],
) -> None:
    url, token, sandbox = app_02
    origin = url.split("/?")[0]
    other = origin.rsplit(":", 1)[0] + ":1"  # the same host, another port: same-site
    for headers in (
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": other},
        {"Referer": f"{other}/attack.html"},
    ):
        assert request(url, f"/?token={token}", **headers).status == 403, headers
    assert aws_keys(sandbox) == []


def test_app_token_url_still_runs_the_runbook(app_02: tuple[str, str, str]) -> None:
    """Last in this module: the attacks above ran nothing; the person's URL does."""
    url, token, sandbox = app_02
    assert request(url, f"/?token={token}").status == 200
    assert len(aws_keys(sandbox)) == 1


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Host": "127.0.0.1:8866"}, False),
        ({"Host": "localhost:8866", "Sec-Fetch-Site": "same-origin"}, False),
        ({"Host": "127.0.0.1:8866", "Sec-Fetch-Site": "none"}, False),
        ({"Host": "127.0.0.1:8866", "Origin": "http://127.0.0.1:8866"}, False),
        ({"Host": "127.0.0.1:8866", "Referer": "http://127.0.0.1:8866/?token=t"}, False),
        ({"Host": "[::1]:8866"}, False),
        ({"Host": "evil.example"}, True),
        ({"Host": "evil.example:8866"}, True),
        ({"Host": "127.0.0.1.evil.example:8866"}, True),
        ({}, True),
        ({"Host": "127.0.0.1:8866", "Sec-Fetch-Site": "same-site"}, True),
        ({"Host": "127.0.0.1:8866", "Origin": "null"}, True),
        ({"Host": "127.0.0.1:8866", "Origin": "http://127.0.0.1:8867"}, True),
        ({"Host": "127.0.0.1:8866", "Referer": "http://127.0.0.2:8866/a"}, True),
    ],
)
def test_app_request_check(headers: dict[str, str], refused: bool) -> None:
    assert bool(app_server.refusal(headers)) is refused


# ---- one Secrets Manager secret per kind (item 7) ------------------------------------------

#: the project's aws CLI (PyPI awscli), run as a module: its ``aws`` script's shebang names the
#: venv's python by path, which no kernel can exec when that path has a space in it
AWS = (sys.executable, "-m", "awscli")


def awscli(*args: str) -> dict[str, Any]:
    """``aws ARGS`` on the session's sandbox (the operator's second client), as JSON."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.pop("AWS_PROFILE", None)
    out = subprocess.run(
        [*AWS, "--endpoint-url", sandbox_url(), "--region", "us-east-1", "--output", "json"]
        + list(args),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout or "{}")
    return result


def secret_versions(name: str) -> int:
    return len(awscli("secretsmanager", "list-secret-version-ids", "--secret-id", name)["Versions"])


def secret_json(name: str) -> dict[str, str]:
    body = awscli("secretsmanager", "get-secret-value", "--secret-id", name)["SecretString"]
    found: dict[str, str] = json.loads(body)
    return found


def s2(user: str, name: str) -> Any:
    return run_in_process(
        "02", {"user_name": user, "destination": "secretsmanager", "secret_name": name}
    )


def s3(user: str, name: str) -> Any:
    params = {"user_name": user, "seed_destination": "secretsmanager", "secret_name": name}
    return run_in_process("03", params)


def test_s3_refuses_the_secret_s2_delivered_the_key_to() -> None:
    user, name = new_name("sm-kind"), new_name("shared/secret")
    awscli("iam", "create-user", "--user-name", user)
    first = s2(user, name)
    assert first.exit_code == 0, first.message
    (key,) = [
        k["AccessKeyId"]
        for k in awscli("iam", "list-access-keys", "--user-name", user)["AccessKeyMetadata"]
    ]

    second = s3(user, name)

    assert second.exit_code == 2, second.message
    assert "\n" not in second.message and name in second.message
    assert second.record["writes"] == 0
    assert secret_json(name)["AccessKeyId"] == key  # still AWSCURRENT
    assert secret_versions(name) == 1
    assert awscli("iam", "list-mfa-devices", "--user-name", user)["MFADevices"] == []


def test_s2_refuses_the_secret_s3_stored_the_seed_in() -> None:
    user, name = new_name("sm-kind"), new_name("shared/secret")
    awscli("iam", "create-user", "--user-name", user)
    first = s3(user, name)
    assert first.exit_code == 0, first.message
    serial = secret_json(name)["serial_number"]

    second = s2(user, name)

    assert second.exit_code == 2, second.message
    assert second.record["writes"] == 0
    assert awscli("iam", "list-access-keys", "--user-name", user)["AccessKeyMetadata"] == []
    assert secret_json(name)["serial_number"] == serial and secret_versions(name) == 1


def test_s2_refuses_an_untagged_secret_that_holds_something_else() -> None:
    user, name = new_name("sm-kind"), new_name("team/db-password")
    awscli("iam", "create-user", "--user-name", user)
    awscli(
        "secretsmanager", "create-secret", "--name", name, "--secret-string", '{"password": "p"}'
    )

    run = s2(user, name)

    assert run.exit_code == 2, run.message
    assert awscli("iam", "list-access-keys", "--user-name", user)["AccessKeyMetadata"] == []
    assert secret_json(name) == {"password": "p"} and secret_versions(name) == 1


def test_s2_tags_its_secret_and_takes_it_again_on_rotation() -> None:
    user, name = new_name("sm-kind"), new_name("keys/secret")
    awscli("iam", "create-user", "--user-name", user)
    assert s2(user, name).exit_code == 0
    tags = awscli("secretsmanager", "describe-secret", "--secret-id", name)["Tags"]
    assert {"Key": "iam-runbooks:kind", "Value": "secret-access-key"} in tags
    params = {"user_name": user, "destination": "secretsmanager", "secret_name": name}
    again = run_in_process("02", {**params, "mode": "rotate"})
    assert again.exit_code == 0, again.message
    assert secret_versions(name) == 2


# ---- Airflow and the command line: parameters are data (item 9, low items) ---------------

SECRET_LINE = "hunter2-first-token-of-a-private-file"


def test_airflow_accounts_path_opens_nothing_and_echoes_nothing(tmp_path: Path) -> None:
    private = tmp_path / "private.txt"
    private.write_text(f"{SECRET_LINE} more\n", encoding="utf-8")
    for given in (str(private), f"../{private.name}", "private.txt"):
        with pytest.raises(BadInput) as err:  # no accounts_dir: no file is opened at all
            airflow.settings_from({}, conf={"accounts": given})
        assert SECRET_LINE not in str(err.value) and "\n" not in str(err.value)


def test_airflow_accounts_file_only_in_accounts_dir_and_bad_lines_never_quoted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "accounts"
    folder.mkdir()
    (folder / "prod.txt").write_text("111122223333  # payments\n444455556666\n", "utf-8")
    (folder / "bad.txt").write_text(f"111122223333\n{SECRET_LINE}\n", "utf-8")
    (tmp_path / "outside.txt").write_text(f"{SECRET_LINE}\n", "utf-8")
    (folder / "link.txt").symlink_to(tmp_path / "outside.txt")
    deploy = {"accounts_dir": str(folder)}

    ok = airflow.settings_from(deploy, conf={"accounts": "prod.txt"})
    assert ok.accounts == ("111122223333", "444455556666")
    for name in ("bad.txt", "link.txt", "../outside.txt", str(tmp_path / "outside.txt")):
        with pytest.raises(BadInput) as err:
            airflow.settings_from(deploy, conf={"accounts": name})
        assert SECRET_LINE not in str(err.value), name
    with pytest.raises(BadInput, match="line 2"):
        airflow.settings_from(deploy, conf={"accounts": "bad.txt"})


@pytest.mark.parametrize("name", ["external_id", "external_id_file", "accounts_dir"])
def test_airflow_run_parameters_cannot_set_the_external_id_or_the_folders(name: str) -> None:
    with pytest.raises(BadInput) as err:
        airflow.settings_from({}, conf={name: "ext-id-value-123"})
    assert "dag_run.conf" in str(err.value) and "ext-id-value-123" not in str(err.value)


def test_airflow_external_id_comes_from_the_variable_or_its_file(tmp_path: Path) -> None:
    from_variable = airflow.settings_from({"external_id": "from-the-variable"})
    assert from_variable.request().external_id == "from-the-variable"
    held = tmp_path / "external-id"
    held.write_text("from-a-file\n", encoding="utf-8")
    from_file = airflow.settings_from({"external_id_file": str(held)})
    assert from_file.request().external_id == "from-a-file"
    assert "from-a-file" not in repr(from_file) + repr(from_file.request())


def runbook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``runbook ARGS`` in a new process (as a person types it)."""
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.interfaces.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=120,
    )


def test_cli_external_id_on_the_command_line_is_refused_with_the_way_to_give_it(
    tmp_path: Path,
) -> None:
    done = runbook(
        "run",
        "00",
        "--accounts",
        "111122223333",
        "--external-id",
        "ext-id-value-123",
        "--output-dir",
        str(tmp_path),
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "--external-id-file" in line and "RUNBOOK_EXTERNAL_ID" in line
    assert "ext-id-value-123" not in line
    assert list(tmp_path.iterdir()) == []


def test_cli_external_id_from_a_file_or_the_environment(tmp_path: Path) -> None:
    import argparse

    from runbook_lib.interfaces import fanout_cli

    held = tmp_path / "external-id"
    held.write_text("from-a-file\n", encoding="utf-8")
    args = argparse.Namespace(external_id_file=held)
    assert fanout_cli.external_id(args) == "from-a-file"
    args = argparse.Namespace(external_id_file=None)
    os.environ[fanout_cli.EXTERNAL_ID_VAR] = "from-the-environment"
    try:
        assert fanout_cli.external_id(args) == "from-the-environment"
    finally:
        del os.environ[fanout_cli.EXTERNAL_ID_VAR]


def test_hostile_list_accounts_ids_never_become_folders() -> None:
    import boto3
    from botocore.stub import Stubber

    from runbook_lib.org import accounts

    org = boto3.client("organizations", region_name="us-east-1")
    hostile = "../../../tmp/x\x1b[2J"
    with Stubber(org) as stub:
        listed = [{"Id": "111122223333", "Status": "ACTIVE"}, {"Id": hostile, "Status": "ACTIVE"}]
        stub.add_response("list_accounts", {"Accounts": listed})
        with pytest.raises(AwsError) as err:
            accounts.org_accounts(org)
    assert hostile not in str(err.value) and "\x1b" not in str(err.value)


def test_aws_text_reaches_the_terminal_without_control_characters() -> None:
    from runbook_lib.org import fanout, summary

    message = "AccessDenied: \x1b[2J\x1b]0;pwned\x07you were hacked\x9b31m\rover"
    result = fanout.AccountResult("111122223333", "failed", 1, message)
    line = summary.progress_line(result, 1, 1)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", line), repr(line)
    assert "you were hacked" in line


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    """An IAM user named ``=1+1`` (S0's finding names it) in findings.csv and summary.csv."""
    import csv

    from runbook_lib.org import fanout, summary
    from runbook_lib.run.artifacts import write_findings_csv

    evil = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1"]
    write_findings_csv(
        tmp_path / "findings.csv",
        [{"control": "1.12", "title": "t", "status": "FAIL", "resource": name} for name in evil],
    )
    with (tmp_path / "findings.csv").open(encoding="utf-8", newline="") as fh:
        resources = [row["resource"] for row in csv.DictReader(fh)]
    assert resources == ["'" + name for name in evil]

    results = [fanout.AccountResult("111122223333", "failed", 1, '=HYPERLINK("x")')]
    summary.write_summary(fanout.FanoutResult("00_check_root_usage", tmp_path, results, False))
    with (tmp_path / "summary.csv").open(encoding="utf-8", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["message"] == '\'=HYPERLINK("x")' and row["exit_code"] == "1"


def test_fanout_folders_and_summaries_are_private_whatever_the_umask(tmp_path: Path) -> None:
    from runbook_lib.org import fanout, summary

    old = os.umask(0)
    try:
        folder = fanout.fanout_dir(tmp_path, "00_check_root_usage")
        results = [fanout.AccountResult("111122223333", "done", 0, "")]
        summary.write_summary(fanout.FanoutResult("00_check_root_usage", folder, results, False))
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("summary.json", "summary.csv", "summary.html"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name
