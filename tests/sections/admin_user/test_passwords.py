"""Unit tests of runbook_lib.passwords: the account policy, generation and checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from support.aws import ACCOUNT

from runbook_lib.admin_user.passwords import SYMBOLS, check_password, generate_password
from runbook_lib.core.errors import AwsError, BadInput
from runbook_lib.password_policy.state import PasswordPolicy, get_password_policy

STRICT = PasswordPolicy(
    minimum_password_length=32,
    require_symbols=True,
    require_numbers=True,
    require_uppercase_characters=True,
    require_lowercase_characters=True,
    allow_users_to_change_password=True,
    max_password_age=90,
    password_reuse_prevention=24,
    hard_expiry=True,
)
CUSTOM_14 = PasswordPolicy.from_response(
    {
        "MinimumPasswordLength": 14,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
    }
)
DEFAULT = PasswordPolicy.aws_default()


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An IAM client against moto in-process, with fake credentials only."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


# --- reading the policy ---------------------------------------------------------------------


def test_missing_policy_means_aws_default(iam: Any) -> None:
    policy = get_password_policy(iam)
    assert policy == PasswordPolicy.aws_default()
    assert policy.is_default
    assert policy.minimum_password_length == 8


def test_custom_policy_is_read_from_the_account(iam: Any) -> None:
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=False,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
        HardExpiry=True,
    )
    assert get_password_policy(iam) == PasswordPolicy(
        minimum_password_length=14,
        require_symbols=True,
        require_numbers=True,
        require_uppercase_characters=True,
        require_lowercase_characters=False,
        allow_users_to_change_password=True,
        max_password_age=90,
        password_reuse_prevention=24,
        hard_expiry=True,
        is_default=False,
    )


def test_policy_without_expiry_has_no_max_age(iam: Any) -> None:
    iam.update_account_password_policy(MinimumPasswordLength=10)
    policy = get_password_policy(iam)
    assert policy.max_password_age is None  # moto and IAM answer 0 or leave it out
    assert policy.password_reuse_prevention is None
    assert not policy.is_default
    assert policy.describe() == "custom policy: ≥ 10 chars"


def test_access_denied_becomes_aws_error_keeping_the_code() -> None:
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_account_password_policy",
            service_error_code="AccessDenied",
            service_message=f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized",
            http_status_code=403,
        )
        with pytest.raises(AwsError) as caught:
            get_password_policy(client)
    assert type(caught.value) is AwsError
    assert caught.value.aws_code == "AccessDenied"
    assert str(caught.value) == (
        "Reading the account password policy failed: IAM AccessDenied (User: "
        f"arn:aws:iam::{ACCOUNT}:user/bob is not authorized). Run as an identity allowed "
        "iam:GetAccountPasswordPolicy, then re-run."
    )


def test_no_such_entity_from_stub_means_aws_default() -> None:
    client = boto3.client(
        "iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("get_account_password_policy", "NoSuchEntity", http_status_code=404)
        assert get_password_policy(client).is_default


# --- describing the policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (CUSTOM_14, "custom policy: ≥ 14 chars, upper, lower, digit, symbol"),
        (
            PasswordPolicy.from_response({"MinimumPasswordLength": 12, "RequireNumbers": True}),
            "custom policy: ≥ 12 chars, digit",
        ),
        (
            DEFAULT,
            "AWS default policy: ≥ 8 chars, 3 of upper/lower/digit/symbol, "
            "not the user name or account ID",
        ),
    ],
)
def test_describe_is_one_short_line(policy: PasswordPolicy, expected: str) -> None:
    assert policy.describe() == expected


def test_from_response_without_minimum_uses_iam_default_of_6() -> None:
    assert PasswordPolicy.from_response({}).minimum_password_length == 6


# --- generating -----------------------------------------------------------------------------


def test_generated_password_meets_strict_policy() -> None:
    for _ in range(200):
        password = generate_password(STRICT)
        assert len(password) == 32
        check_password(password, STRICT)
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(c in SYMBOLS for c in password)


def test_generated_password_meets_default_policy() -> None:
    for _ in range(200):
        check_password(generate_password(DEFAULT), DEFAULT, user_name="Administrator")


@pytest.mark.parametrize(
    ("policy", "length", "expected"),
    [(DEFAULT, None, 20), (CUSTOM_14, None, 20), (STRICT, None, 32), (DEFAULT, 128, 128)],
)
def test_generated_length_is_max_of_policy_minimum_and_20(
    policy: PasswordPolicy, length: int | None, expected: int
) -> None:
    assert len(generate_password(policy, length)) == expected


def test_generated_passwords_use_only_iam_characters_and_differ() -> None:
    passwords = {generate_password(DEFAULT) for _ in range(50)}
    assert len(passwords) == 50
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + SYMBOLS)
    assert all(set(p) <= allowed for p in passwords)


@pytest.mark.parametrize(("policy", "length"), [(DEFAULT, 129), (CUSTOM_14, 13), (DEFAULT, 3)])
def test_generated_length_outside_limits_is_refused(policy: PasswordPolicy, length: int) -> None:
    with pytest.raises(BadInput, match=r"^password length \d+ is out of range: use \d+-128"):
        generate_password(policy, length)


def test_symbol_set_is_iams() -> None:
    assert set(SYMBOLS) == set("!@#$%^&*()_+-=[]{}|'")


# --- checking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "policy"),
    [
        ("Abcdefg1", DEFAULT),  # 3 of 4 types: upper, lower, digit
        ("abcdef1!", DEFAULT),  # lower, digit, symbol
        ("Aa1!Aa1!Aa1!Aa", CUSTOM_14),
        ("x" * 128 + "", PasswordPolicy.from_response({"MinimumPasswordLength": 6})),
        ("pässwörd 1 A", DEFAULT),  # Latin-1 and spaces are allowed by IAM
    ],
)
def test_password_meeting_the_policy_passes(password: str, policy: PasswordPolicy) -> None:
    check_password(password, policy, user_name="bob", account_id=ACCOUNT)


@pytest.mark.parametrize(
    ("password", "policy", "needs"),
    [
        ("Aa1!", CUSTOM_14, "it needs at least 14 characters."),
        (
            "abcdefghijklmn1",
            CUSTOM_14,
            "it needs an uppercase letter and a symbol (one of ! @ # $ % ^ & * ( ) _ + - = "
            "[ ] { } | ').",
        ),
        ("", CUSTOM_14, "it needs at least 14 characters, an uppercase letter, a lowercase "),
        ("abcdefgh", DEFAULT, "it needs 3 of the 4 character types: uppercase, lowercase, "),
        ("Ab1", DEFAULT, "it needs at least 8 characters."),
        ("pässwörd 1 Ä", DEFAULT, "it needs 3 of the 4"),  # 'Ä' is not A-Z, ' ' not a symbol
        ("Aa1!" * 33, DEFAULT, "it needs at most 128 characters."),
        ("Aa1!Aa1!\u20ac", DEFAULT, "it needs only characters IAM accepts"),
        ("Aa1aaaaaaaaaa~~", CUSTOM_14, "it needs a symbol (one of"),  # '~' is not IAM's symbol
    ],
)
def test_password_missing_rules_is_refused_listing_them(
    password: str, policy: PasswordPolicy, needs: str
) -> None:
    with pytest.raises(BadInput) as caught:
        check_password(password, policy)
    message = str(caught.value)
    assert message.startswith(
        f"The password does not meet the account's password policy ({policy.describe()}): "
    )
    assert needs in message
    assert message.endswith("Choose another password, or leave it empty to generate one.")


def test_message_lists_every_unmet_rule_in_one_line() -> None:
    with pytest.raises(BadInput) as caught:
        check_password("abcdefg", CUSTOM_14)
    assert str(caught.value) == (
        "The password does not meet the account's password policy (custom policy: ≥ 14 chars, "
        "upper, lower, digit, symbol): it needs at least 14 characters, an uppercase letter, "
        "a digit and a symbol (one of ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '). "
        "Choose another password, or leave it empty to generate one."
    )


@pytest.mark.parametrize(
    ("password", "must_not"),
    [
        ("Administrator1", "it must not be the user name"),
        ("ADMINISTRATOR1", "it must not be the user name"),
        (ACCOUNT, "it must not be the account ID"),
    ],
)
def test_default_policy_refuses_user_name_or_account_id(password: str, must_not: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_password(password, DEFAULT, user_name="administrator1", account_id=ACCOUNT)
    assert must_not in str(caught.value)


def test_custom_policy_does_not_apply_the_default_name_rule() -> None:
    policy = PasswordPolicy.from_response({"MinimumPasswordLength": 8})
    check_password("administrator1", policy, user_name="Administrator1")


def test_custom_policy_does_not_apply_three_of_four_types() -> None:
    check_password("abcdefgh", PasswordPolicy.from_response({"MinimumPasswordLength": 8}))


@pytest.mark.parametrize(
    ("password", "policy", "user_name"),
    [
        ("Sup3rSecret", CUSTOM_14, ""),
        ("hunter2hunter", DEFAULT, "hunter2hunter"),
        ("correcthorse", DEFAULT, ""),
        ("p\u20acssword-Secret1", DEFAULT, ""),
        ("sEcReT" * 30, STRICT, ""),
    ],
)
def test_error_message_never_contains_the_password(
    password: str, policy: PasswordPolicy, user_name: str
) -> None:
    with pytest.raises(BadInput) as caught:
        check_password(password, policy, user_name=user_name, account_id=ACCOUNT)
    for text in (str(caught.value), repr(caught.value), "".join(caught.value._render_traceback_())):
        assert password not in text
        assert password.lower() not in text.lower()
        assert password[:6] not in text


@pytest.mark.parametrize("value", [12345678, None, True])
def test_non_text_password_is_refused(value: Any) -> None:
    with pytest.raises(BadInput, match="The password must be text; quote it in YAML"):
        check_password(value, DEFAULT)
