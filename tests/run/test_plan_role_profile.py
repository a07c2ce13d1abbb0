"""`--plan` through a role profile: how member accounts are reached.

A profile with ``role_arn`` + ``source_profile`` makes botocore call STS ``AssumeRole`` before
the runbook's first call. A credential call is not a change to the account: plan mode allows
it, and the run record counts it as a read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, SANDBOX_CREDENTIALS, running_sandbox_url

RUNBOOK = Path(sys.executable).parent / "runbook"


def _role_profile_config(folder: Path, url: str, role_arn: str) -> Path:
    keys = {k.lower(): v for k, v in SANDBOX_CREDENTIALS.items() if k.startswith("AWS_")}
    config = folder / "aws-config"
    config.write_text(
        "[profile base]\n"
        f"aws_access_key_id = {keys['aws_access_key_id']}\n"
        f"aws_secret_access_key = {keys['aws_secret_access_key']}\n"
        f"region = us-east-1\nendpoint_url = {url}\n\n"
        "[profile member]\n"
        f"role_arn = {role_arn}\nsource_profile = base\n"
        f"region = us-east-1\nendpoint_url = {url}\n"
    )
    return config


def test_plan_through_a_role_profile_assumes_the_role_and_makes_no_write(
    iam: Any, tmp_path: Path
) -> None:
    url = running_sandbox_url()
    role = iam.create_role(
        RoleName="plan-member-admin",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and not k.startswith("RUNBOOK_SANDBOX")
    }
    env["AWS_CONFIG_FILE"] = str(_role_profile_config(tmp_path, url, role))
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(RUNBOOK), "run", "00", "--profile", "member", "--plan", "--output-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode in (0, 3), done.stderr[-2000:]
    (record_path,) = runs.glob("*/run.json")
    record = json.loads(record_path.read_text())
    assert record["writes"] == 0
    assert record["account_id"] == SANDBOX_ACCOUNT_ID
    assert ":assumed-role/plan-member-admin/" in record.get("caller_arn", record.get("caller", ""))
