"""core.aws: the one edge where botocore errors become the project's operator-worded errors."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber

from runbook_lib import AwsError, BadInput
from runbook_lib.core import aws


def stubbed_iam() -> Any:
    return boto3.client(
        "iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )


def test_an_aws_error_keeps_its_code_and_says_what_to_do() -> None:
    iam = stubbed_iam()
    with Stubber(iam) as stub:
        stub.add_client_error("get_user", "AccessDenied", "not allowed", http_status_code=403)
        with pytest.raises(AwsError) as caught:
            aws.call(
                iam.get_user, what="Reading user 'a'", fix="Ask for iam:GetUser.", UserName="a"
            )
    assert str(caught.value) == (
        "Reading user 'a' failed: IAM AccessDenied (not allowed). Ask for iam:GetUser."
    )
    assert caught.value.aws_code == "AccessDenied" and caught.value.exit_code == 1


def test_missing_codes_return_none_and_named_codes_raise_their_own_error() -> None:
    iam = stubbed_iam()
    own = BadInput("User 'a' does not exist: create it first.")
    with Stubber(iam) as stub:
        stub.add_client_error("get_user", "NoSuchEntity", http_status_code=404)
        stub.add_client_error("get_user", "NoSuchEntity", http_status_code=404)
        stub.add_client_error("get_policy", "NoSuchEntity", http_status_code=404)
        assert (
            aws.call(iam.get_user, what="w", fix="f", missing=("NoSuchEntity",), UserName="a")
            is None
        )
        with pytest.raises(BadInput) as caught:
            aws.call(iam.get_user, what="w", fix="f", errors={"NoSuchEntity": own}, UserName="a")
        assert caught.value is own
        with pytest.raises(BadInput, match="IAM NoSuchEntity"):
            aws.call(
                iam.get_policy,
                what="w",
                fix="f",
                bad_input=("NoSuchEntity",),
                PolicyArn="arn:aws:iam::aws:policy/Nope",
            )


def test_refused_parameters_are_never_repeated() -> None:
    # nothing is sent: botocore refuses a list before any request (and port 9 answers nothing)
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    secret = "s3cr3t-value-that-must-not-show"
    with pytest.raises(BadInput) as caught:
        aws.call(iam.get_user, what="Reading", fix="Fix it.", UserName=[secret])
    assert secret not in str(caught.value) and caught.value.__suppress_context__
    assert caught.value.aws_code == aws.INVALID


def test_an_unparsable_answer_is_its_own_error() -> None:
    def broken(**_: Any) -> None:
        raise ResponseParserError("500 from a target that does not implement it")

    with pytest.raises(AwsError) as caught:
        aws.call(broken, what="Resynchronising", fix="Use a real account.")
    assert caught.value.aws_code == aws.NO_ANSWER and "no valid answer" in str(caught.value)


def test_items_walks_every_page() -> None:
    iam = stubbed_iam()
    user = {"Path": "/", "UserId": "AIDA0000000000000000", "CreateDate": "2024-01-01"}
    with Stubber(iam) as stub:
        stub.add_response(
            "list_users",
            {
                "Users": [{**user, "UserName": "a", "Arn": "arn:aws:iam::1:user/a"}],
                "IsTruncated": True,
                "Marker": "m",
            },
        )
        stub.add_response(
            "list_users",
            {
                "Users": [{**user, "UserName": "b", "Arn": "arn:aws:iam::1:user/b"}],
                "IsTruncated": False,
            },
        )
        names = [u["UserName"] for u in aws.items(iam, "list_users", "Users")]
    assert names == ["a", "b"]


def stubbed(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )


@pytest.mark.parametrize(
    ("service", "operation", "code", "named"),
    [
        ("sso-admin", "list_instances", "AccessDeniedException", "IAM Identity Center"),
        ("identitystore", "list_users", "AccessDeniedException", "Identity Store"),
        ("organizations", "list_accounts", "AccessDeniedException", "Organizations"),
        ("iam", "list_users", "AccessDenied", "IAM"),
    ],
)
def test_an_error_names_the_service_that_was_called(
    service: str, operation: str, code: str, named: str
) -> None:
    client = stubbed(service)
    params = {"IdentityStoreId": "d-1234567890"} if service == "identitystore" else {}
    with Stubber(client) as stub:
        stub.add_client_error(operation, code, "not allowed", http_status_code=400)
        stub.add_client_error(operation, code, "not allowed", http_status_code=400)
        with pytest.raises(AwsError) as one:
            aws.call(getattr(client, operation), what="Reading", fix="Fix it.", **params)
        with pytest.raises(AwsError) as listed:
            aws.items(client, operation, "Items", what="Listing", fix="Fix it.", **params)
    assert str(one.value) == f"Reading failed: {named} {code} (not allowed). Fix it."
    assert str(listed.value) == f"Listing failed: {named} {code} (not allowed). Fix it."
    if service != "iam":  # "IAM AccessDeniedException" read as if IAM had refused
        assert f"IAM {code}" not in str(one.value)


def test_a_listing_without_its_own_words_names_the_service_and_its_action_prefix() -> None:
    client = stubbed("sso-admin")
    with Stubber(client) as stub:
        stub.add_client_error("list_instances", "AccessDeniedException", http_status_code=400)
        with pytest.raises(AwsError) as caught:
            aws.pages(client, "list_instances")
    assert str(caught.value).startswith(
        "Reading IAM Identity Center (list_instances) failed: IAM Identity Center "
        "AccessDeniedException"
    )
    assert "The caller needs sso:list_instances" in str(caught.value)
