"""Secrets: a value type that never shows itself, and the destinations a user may choose."""

from __future__ import annotations

import copy
import json
import logging
import os
import pickle
import secrets
import stat
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from runbook_lib import AwsError, BadInput, Secret
from runbook_lib.core.layouts import csv_text
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.secret_files import write_secret_file
from runbook_lib.core.secrets import default_secrets_dir, fingerprint
from runbook_lib.core.sinks import store_in_secrets_manager

VALUE = "Tr0ub4dor&3-correct-horse"


@pytest.fixture
def password() -> Secret:
    return Secret("password", VALUE, "Administrator")


# --- the value type -------------------------------------------------------------------------


def test_repr_shows_kind_label_and_fingerprint_only(password: Secret) -> None:
    assert repr(password) == f"<password for Administrator {fingerprint(VALUE)}>"


@pytest.mark.parametrize(
    "render",
    [
        repr,
        str,
        lambda s: f"{s}",
        lambda s: f"{s!r}",
        lambda s: f"{s:>40}",
        "{}".format,
        lambda s: "%s" % (s,),  # noqa: UP031 - the old style is what is being tested
        lambda s: str([s, {"k": s}]),
    ],
    ids=["repr", "str", "f-string", "f-string-r", "format-spec", "format", "percent", "container"],
)
def test_no_rendering_shows_the_value(password: Secret, render: object) -> None:
    shown = render(password)  # type: ignore[operator]

    assert VALUE not in shown
    assert password.fingerprint in shown


def test_logging_a_secret_shows_no_value(
    password: Secret, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("made %s", password)

    assert VALUE not in caplog.text


def test_fingerprint_is_stable_and_not_the_value() -> None:
    assert fingerprint(VALUE) == fingerprint(VALUE)
    assert fingerprint(VALUE) != fingerprint(VALUE + "x")
    assert fingerprint(VALUE).startswith("sha256:") and VALUE not in fingerprint(VALUE)


@pytest.mark.parametrize("dump", [pickle.dumps, copy.copy, copy.deepcopy])
def test_a_secret_cannot_be_pickled_or_copied(password: Secret, dump: object) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        dump(password)  # type: ignore[operator]


def test_a_secret_cannot_be_serialised_as_json(password: Secret) -> None:
    with pytest.raises(TypeError):
        json.dumps({"password": password})


def test_reveal_and_text_give_the_value(password: Secret) -> None:
    assert password.reveal() == VALUE
    assert password.text() == VALUE
    assert Secret("mfa-seed", b"JBSWY3DPEHPK3PXP").text() == "JBSWY3DPEHPK3PXP"


def test_dropped_secret_is_gone_and_says_so(password: Secret) -> None:
    password.drop()

    assert password.dropped
    assert repr(password).endswith(", dropped>")
    with pytest.raises(BadInput, match="was dropped after it was stored") as err:
        password.reveal()
    assert VALUE not in str(err.value)


# --- the 0600 file --------------------------------------------------------------------------


def test_secret_file_is_created_with_mode_0600(secrets_dir: Path) -> None:
    path = write_secret_file(secrets_dir / "admin.csv", VALUE)

    assert path.read_text() == VALUE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700


def test_existing_file_is_never_overwritten(secrets_dir: Path) -> None:
    secrets_dir.mkdir()
    existing = secrets_dir / "admin.csv"
    existing.write_text("the key downloaded last year")

    with pytest.raises(BadInput, match="already exists and is never overwritten") as err:
        write_secret_file(existing, VALUE)

    assert existing.read_text() == "the key downloaded last year"
    assert err.value.exit_code == 2


def test_symlink_at_the_destination_is_refused(secrets_dir: Path, tmp_path: Path) -> None:
    secrets_dir.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"  # does not exist: the link dangles
    link = secrets_dir / "admin.csv"
    link.symlink_to(elsewhere)

    with pytest.raises(BadInput, match="already exists"):
        write_secret_file(link, VALUE)

    assert not elsewhere.exists()


def test_folder_that_cannot_hold_files_is_bad_input(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "secrets"
    not_a_folder.write_text("a file where the folder should be")

    with pytest.raises(BadInput, match="not a writable folder"):
        write_secret_file(not_a_folder / "admin.csv", VALUE)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)

    with pytest.raises(BadInput, match="choose another secrets_dir"):
        write_secret_file(folder / "admin.csv", VALUE)


def test_default_folder_follows_the_environment(secrets_dir: Path) -> None:
    assert default_secrets_dir() == secrets_dir


def test_default_folder_is_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBOOK_SECRETS_DIR")

    assert default_secrets_dir() == Path.home() / ".iam-runbooks" / "secrets"


# --- console CSV ----------------------------------------------------------------------------


def test_csv_text_is_the_console_format() -> None:
    text = csv_text(["Access key ID", "Secret access key"], ["AKIAEXAMPLE", "abc,def"])

    assert text == 'Access key ID,Secret access key\r\nAKIAEXAMPLE,"abc,def"\r\n'


# --- Secrets Manager -------------------------------------------------------------------------


def test_store_creates_then_updates_the_same_secret(session_sandbox: Sandbox) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=session_sandbox.url)
    name = f"iam/Administrator-{secrets.token_hex(3)}"  # no reset needed: a name of its own

    first = store_in_secrets_manager(sm, name, {"password": "one"}, "admin")
    second = store_in_secrets_manager(sm, name, {"password": "two"}, "admin")

    assert first == second
    assert json.loads(sm.get_secret_value(SecretId=name)["SecretString"]) == {"password": "two"}
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 2


def test_store_refused_by_aws_is_an_aws_error_without_the_value(session_sandbox: Sandbox) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=session_sandbox.url)
    with Stubber(sm) as stub:
        stub.add_client_error("create_secret", "AccessDeniedException", "not allowed", 400)

        with pytest.raises(AwsError, match="AccessDeniedException") as err:
            store_in_secrets_manager(sm, "iam/Administrator", {"password": VALUE}, "admin")

    assert "Storing the secret in Secrets Manager as 'iam/Administrator'" in str(err.value)
    assert VALUE not in str(err.value)


def test_store_under_an_invalid_name_is_bad_input_without_the_value(
    session_sandbox: Sandbox,
) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=session_sandbox.url)

    with pytest.raises(BadInput, match="cannot take a secret named ''") as err:
        store_in_secrets_manager(sm, "", {"password": VALUE}, "admin")

    assert err.value.__suppress_context__  # botocore's report is not shown under it
    assert VALUE not in str(err.value)
