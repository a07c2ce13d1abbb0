"""S0 over an Organization: the root-access posture (centralized root access, AssumeRoot audit
and deletion). moto implements none of these APIs: the AWS path runs on botocore's Stubber, and
the sandbox says "not known" instead of inventing an answer."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from support.aws import reset_sandbox

from runbook_lib.interfaces.cli import main
from runbook_lib.root_usage import org_posture

MEMBER = "222222222222"
CERT = "CERT" * 6  # IAM certificate IDs are at least 24 characters
CREDS = {
    "AccessKeyId": "ASIAROOTSESSION00001",
    "SecretAccessKey": "r" * 40,
    "SessionToken": "q" * 80,
    "Expiration": "2030-01-01T00:00:00Z",
}


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def assume_root(stub: Stubber, task: str) -> None:
    arn = f"arn:aws:iam::aws:policy/root-task/{task}"
    expected = {"TargetPrincipal": MEMBER, "TaskPolicyArn": {"arn": arn}, "DurationSeconds": 900}
    stub.add_response("assume_root", {"Credentials": CREDS}, expected)


@pytest.mark.parametrize(
    ("features", "status"),
    [
        (["RootCredentialsManagement", "RootSessions"], "enabled"),
        (["RootSessions"], "partly enabled"),
        ([], "not enabled"),
    ],
)
def test_org_features_reports_centralized_root_access(features: list[str], status: str) -> None:
    iam = client("iam")
    with Stubber(iam) as stub:
        stub.add_response(
            "list_organizations_features",
            {"OrganizationId": "o-abcdefghij", "EnabledFeatures": features},
            {},
        )
        assert org_posture.org_features(iam) == {"status": status, "features": features}


def test_org_features_refused_is_not_known_with_the_code() -> None:
    iam = client("iam")
    with Stubber(iam) as stub:
        stub.add_client_error("list_organizations_features", "AccessDenied")
        assert org_posture.org_features(iam)["status"] == "not known (AccessDenied)"
    assert org_posture.org_features(None)["status"] == org_posture.SANDBOX_FEATURES


def test_audit_reads_root_credentials_in_an_audit_session() -> None:
    sts, iam = client("sts"), client("iam")
    seen: list[dict[str, str]] = []

    def iam_for(creds: dict[str, str]) -> Any:
        seen.append(creds)
        return iam

    with Stubber(sts) as s_stub, Stubber(iam) as i_stub:
        assume_root(s_stub, org_posture.AUDIT_TASK)
        i_stub.add_response("get_login_profile", {"LoginProfile": {
            "UserName": "root", "CreateDate": "2020-01-01T00:00:00Z"}}, {})  # fmt: skip
        key = {"AccessKeyId": "AKIAROOTKEY000000001", "Status": "Active"}
        i_stub.add_response("list_access_keys", {"AccessKeyMetadata": [key]}, {})
        mfa = {"SerialNumber": f"arn:aws:iam::{MEMBER}:mfa/root", "EnableDate": "2020-01-01"}
        i_stub.add_response("list_mfa_devices", {"MFADevices": [{**mfa, "UserName": "root"}]}, {})
        i_stub.add_response("list_signing_certificates", {"Certificates": []}, {})
        found = org_posture.audit_root(sts, iam_for, MEMBER)
    assert seen[0]["SessionToken"] == CREDS["SessionToken"]
    assert found.login_profile is True
    assert found.access_keys == ["AKIAROOTKEY000000001"]
    assert found.plan() == [
        "delete root access key AKIAROOTKEY000000001",
        "delete root console password (login profile)",
        f"deactivate root MFA device arn:aws:iam::{MEMBER}:mfa/root",
    ]
    assert CREDS["SessionToken"] not in json.dumps(found.to_dict())


def test_audit_without_root_sessions_is_not_known() -> None:
    sts = client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("assume_root", "AccessDenied", "root sessions are not enabled")
        found = org_posture.audit_root(sts, lambda c: None, MEMBER)
    assert found.status == "not known (AccessDenied)" and found.plan() == []
    assert org_posture.audit_root(None, lambda c: None, MEMBER).status == (
        "not known (the sandbox has no AssumeRoot)"
    )


def test_delete_uses_the_delete_task_policy_and_calls_without_user_name() -> None:
    sts, iam = client("sts"), client("iam")
    found = org_posture.RootCredentials(
        MEMBER, login_profile=True, access_keys=["AKIAROOTKEY000000001"],
        mfa_devices=[f"arn:aws:iam::{MEMBER}:mfa/root"], signing_certificates=[CERT],
    )  # fmt: skip
    with Stubber(sts) as s_stub, Stubber(iam) as i_stub:
        assume_root(s_stub, org_posture.DELETE_TASK)
        i_stub.add_response("delete_access_key", {}, {"AccessKeyId": "AKIAROOTKEY000000001"})
        i_stub.add_response("delete_signing_certificate", {}, {"CertificateId": CERT})
        i_stub.add_response("delete_login_profile", {}, {})
        i_stub.add_response("deactivate_mfa_device", {}, {"SerialNumber": ANY})
        done = org_posture.delete_root(sts, lambda c: iam, found)
        i_stub.assert_no_pending_responses()
    assert done == found.plan()


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "01", "--org", "--root-audit"], "belong to 00_check_root_usage"),
        (["run", "00", "--org", "--confirm-root-delete"], "confirms --root-delete"),
    ],
)
def test_root_options_are_refused_where_they_do_not_belong(
    argv: list[str], named: str, tmp_path: Path
) -> None:
    code, _, err = run_cli(*argv, "--output-dir", str(tmp_path))
    assert code == 2 and named in err


def test_sandbox_root_posture_is_not_known_and_nothing_is_deleted(tmp_path: Path) -> None:
    box = reset_sandbox()
    box.ensure_members(1)
    code, out, err = run_cli(
        "run", "00", "--org", "--root-audit", "--root-delete", "--output-dir", str(tmp_path)
    )
    (folder,) = list(tmp_path.iterdir())
    data = json.loads((folder / "summary.json").read_text("utf-8"))
    posture = data["root_access"]
    assert posture["centralized_root_access"]["status"] == org_posture.SANDBOX_FEATURES
    assert [m["status"] for m in posture["members"]] == [org_posture.SANDBOX_ROOT]
    assert posture["root_delete"] == {"planned": {}, "confirmed": False}
    assert "not known (the sandbox has no AssumeRoot)" in out
    assert "not known" in (folder / "summary.html").read_text("utf-8")
    reset_sandbox()
