"""Unit tests of runbook_lib.validation: IAM's rules, checked before any AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from runbook_lib.core.errors import BadInput
from runbook_lib.core.tags import validate_tags
from runbook_lib.core.validation import (
    check_name_clash,
    validate_account_id,
    validate_choice,
    validate_group_name,
    validate_path,
    validate_user_name,
)

# --- user and group names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Administrator", "a", "x" * 64, "break.glass+ops=1,team@example.com", "user_name-2"],
)
def test_valid_user_name_is_returned_unchanged(name: str) -> None:
    assert validate_user_name(name) == name


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("", "it is empty"),
        ("x" * 65, "it has 65 characters"),
        ("bad name!", "' ', '!' not allowed"),
        ("jos\u00e9", "'\u00e9' not allowed"),  # IAM's \w is ASCII
        ("\u0663\u0664", "'\u0663', '\u0664' not allowed"),  # Arabic-Indic digits
        ("a/b", "'/' not allowed"),
        ("admin\n", "'\\n' not allowed"),
    ],
)
def test_invalid_user_name_is_refused_naming_the_problem(name: str, detail: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_user_name(name)
    message = str(caught.value)
    assert message.startswith("user_name ")
    assert f"is not a valid IAM user name: {detail}; use 1-64 characters" in message
    assert message.endswith("(IAM would answer ValidationError).")
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_65_char_user_name_is_refused() -> None:
    with pytest.raises(BadInput, match="it has 65 characters; use 1-64"):
        validate_user_name("a" * 65)


def test_bad_user_name_message_matches_the_documented_form() -> None:
    with pytest.raises(BadInput) as caught:
        validate_user_name("bad name!")
    assert str(caught.value) == (
        "user_name 'bad name!' is not a valid IAM user name: ' ', '!' not allowed; "
        "use 1-64 characters from letters, digits and + = , . @ _ - "
        "(IAM would answer ValidationError)."
    )


def test_user_name_message_names_the_parameter_given() -> None:
    with pytest.raises(BadInput, match=r"^admin_user_name 'a b' is not"):
        validate_user_name("a b", param="admin_user_name")


@pytest.mark.parametrize("value", [123, True, None, 1.5])
def test_non_text_user_name_is_refused(value: Any) -> None:
    with pytest.raises(BadInput, match=r"not text"):
        validate_user_name(value)


def test_number_user_name_says_quote_it_in_yaml() -> None:
    with pytest.raises(BadInput, match="it is a number, not text; quote it in YAML"):
        validate_user_name(1234)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "ok"), [("g" * 128, True), ("g" * 129, False), ("Admins", True)])
def test_group_name_allows_up_to_128_characters(name: str, ok: bool) -> None:
    if ok:
        assert validate_group_name(name) == name
    else:
        with pytest.raises(BadInput, match=r"^group_name .* IAM group name: it has 129 char"):
            validate_group_name(name)


def test_group_name_with_space_is_refused() -> None:
    with pytest.raises(BadInput, match="use 1-128 characters"):
        validate_group_name("Admin Group")


def test_long_name_is_shortened_in_the_message() -> None:
    with pytest.raises(BadInput) as caught:
        validate_user_name("y" * 500)
    assert "y" * 80 not in str(caught.value)
    assert "it has 500 characters" in str(caught.value)


# --- paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/admins/", "/a/b/c/", "/~!/", "/a//b/", "/" + "p" * 510 + "/"]
)
def test_valid_path_is_returned_unchanged(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("", "it is empty"),
        ("admins/", "it must start and end with '/'"),
        ("/admins", "it must start and end with '/'"),
        ("/my admins/", "' ' not allowed"),
        ("/caf\u00e9/", "'\u00e9' not allowed"),
        ("//", "IAM refuses '//' as a whole path"),
        ("/" + "p" * 511 + "/", "it has 513 characters"),
    ],
)
def test_invalid_path_is_refused_naming_the_problem(path: str, detail: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_path(path)
    message = str(caught.value)
    assert message.startswith("path ")
    assert f"is not a valid IAM path: {detail};" in message


# --- tags -----------------------------------------------------------------------------------


def test_tags_become_boto3_list_sorted_by_key() -> None:
    tags = {"team": "platform", "Owner": "ops@example.com", "cost-center": ""}
    assert validate_tags(tags) == [
        {"Key": "Owner", "Value": "ops@example.com"},
        {"Key": "cost-center", "Value": ""},
        {"Key": "team", "Value": "platform"},
    ]


def test_no_tags_means_empty_list() -> None:
    assert validate_tags(None) == []
    assert validate_tags({}) == []


def test_unicode_letters_digits_and_spaces_are_allowed_in_tags() -> None:
    tags = {"Équipe": "Café du Nord", "部署": "開発 ２", "path:/a=b+c-d@e_f.g": "\u00a0x"}
    assert len(validate_tags(tags)) == 3


def test_50_tags_are_allowed_and_51_are_refused() -> None:
    assert len(validate_tags({f"k{i}": "v" for i in range(50)})) == 50
    with pytest.raises(BadInput, match=r"^tags has 51 tags: IAM allows at most 50 per user"):
        validate_tags({f"k{i}": "v" for i in range(51)})


@pytest.mark.parametrize(
    ("tags", "detail"),
    [
        ({"": "v"}, "tag key '' has 0 characters; use 1-128"),
        ({"k" * 129: "v"}, "has 129 characters; use 1-128"),
        ({"k": "v" * 257}, "the value of tag 'k' has 257 characters; use 0-256"),
        ({"aws:createdBy": "me"}, "the prefix 'aws:' is reserved"),
        ({"AWS:Owner": "me"}, "the prefix 'aws:' is reserved"),
        ({"Team": "a", "team": "b"}, "tag keys 'Team' and 'team' differ only in case"),
        ({"cost#center": "1"}, "tag key 'cost#center': '#' not allowed"),
        ({"k": "a;b!"}, "the value of tag 'k': ';', '!' not allowed"),
        ({"k": None}, "tag 'k' has no value; write '' for an empty value"),
        ({"k": 42}, "the value of tag 'k': it is a number, not text; quote it in YAML"),
        ({"k": True}, "the value of tag 'k': it is a yes/no value, not text"),
        ({"k": 1.5}, "it is a number, not text; quote it in YAML"),
        ({7: "v"}, "tag key 7: it is a number, not text; quote it in YAML"),
    ],
)
def test_bad_tag_is_refused_naming_the_problem(tags: dict[Any, Any], detail: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_tags(tags)
    message = str(caught.value)
    assert message.startswith("tags: ")
    assert detail in message
    assert message.endswith("(IAM would answer ValidationError).")


def test_tags_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(BadInput, match="user_tags must be a mapping of tag keys to values"):
        validate_tags(["a", "b"], param="user_tags")  # type: ignore[arg-type]


# --- name clashes ---------------------------------------------------------------------------


def test_exact_existing_name_is_returned_to_converge() -> None:
    assert check_name_clash("Admin", ["bob", "Admin"], "user", "user_name") == "Admin"


def test_free_name_returns_none() -> None:
    assert check_name_clash("Admin", ["bob", "Admins"], "user", "user_name") is None
    assert check_name_clash("Admin", [], "user", "user_name") is None


def test_name_differing_only_in_case_is_refused() -> None:
    with pytest.raises(BadInput) as caught:
        check_name_clash("administrator", ["bob", "Administrator"], "user", "user_name")
    assert str(caught.value) == (
        "user_name 'administrator' clashes with existing user 'Administrator': IAM names are "
        "unique regardless of case; use 'Administrator' or another name."
    )


def test_exact_match_wins_over_a_case_clash_listed_first() -> None:
    assert check_name_clash("Ops", ["OPS", "Ops"], "group", "group_name") == "Ops"


def test_group_clash_names_the_group_and_parameter() -> None:
    with pytest.raises(
        BadInput, match="^admin_group 'admins' clashes with existing group 'Admins'"
    ):
        check_name_clash("admins", iter(["Admins"]), "group", "admin_group")


# --- account IDs and choices ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("", ""), ("123456789012", "123456789012")])
def test_account_id_empty_or_12_digits_is_accepted(value: str, expected: str) -> None:
    assert validate_account_id(value) == expected


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("12345678901", "it has 11 characters"),
        ("1234567890123", "it has 13 characters"),
        ("1234-5678-9012", "not only digits"),
        ("12345678901a", "not only digits"),
        ("\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662", "not only"),
        (12345678901, "it is a number, not text; quote it in YAML (a number loses leading zeros)"),
    ],
)
def test_bad_account_id_is_refused(value: Any, detail: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_account_id(value)
    message = str(caught.value)
    assert message.startswith("expected_account_id ")
    assert detail in message
    assert "leave it empty to skip the check" in message


def test_choice_in_the_list_is_returned() -> None:
    assert validate_choice("file", ["file", "secretsmanager"], "secret_sink") == "file"


@pytest.mark.parametrize("value", ["File", "widget", "", 1])
def test_choice_not_in_the_list_is_refused(value: Any) -> None:
    with pytest.raises(BadInput) as caught:
        validate_choice(value, ["file", "secretsmanager"], "secret_sink")
    assert str(caught.value) == (
        f"secret_sink {value!r} is not one of the choices: use one of 'file', 'secretsmanager'."
    )
