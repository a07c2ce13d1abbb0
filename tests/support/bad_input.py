"""The bad-input table: ``runbook run`` command lines that must exit 2 with one line.

Rows are run three ways by ``evidence/test_bad_input.py``: refused by the CLI before any notebook
starts (``cli.main`` in-process: no kernel), the notebook's cells in-process with the parameters
the CLI would pass (no kernel), and a few rows through a real ``runbook`` process (a kernel each:
the scenarios ``row.scenario()``, cached, which the leak matrix scans too).

Every row starts from the same sandbox state, ``prepare_world``: Administrator (in
Administrators, console, MFA), a user with two keys, users without keys, a secret; an existing
access-key CSV and sign-in CSV; broken parameter files. ``{work}`` and ``{secrets}`` in a row's
arguments are the folder the world's files are in and its secrets folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runbook_lib.run.notebooks import load_parameter_files, parse_value
from runbook_lib.testing.faults import FAULT_ROOT_CALLER_VAR
from support.aws import ACCOUNT, ADMIN_POLICY_ARN, client
from support.scenarios import SANDBOX_YAML, Scenario


def _ensure_user(iam: Any, name: str, **kwargs: Any) -> bool:
    try:
        iam.create_user(UserName=name, **kwargs)
        return True
    except iam.exceptions.EntityAlreadyExistsException:
        return False


def prepare_world(work: Path) -> None:
    """Make the sandbox state and the files every row starts from (safe to repeat)."""
    iam, sm = client("iam"), client("secretsmanager")
    if "Administrators" not in {g["GroupName"] for g in iam.list_groups()["Groups"]}:
        iam.create_group(GroupName="Administrators")
        iam.attach_group_policy(GroupName="Administrators", PolicyArn=ADMIN_POLICY_ARN)
    if _ensure_user(iam, "Administrator", Tags=[{"Key": "team", "Value": "platform"}]):
        iam.add_user_to_group(GroupName="Administrators", UserName="Administrator")
        iam.create_login_profile(UserName="Administrator", Password="Adm1n-Passw0rd!x")  # noqa: S106
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName="Administrator")
        iam.enable_mfa_device(
            UserName="Administrator",
            SerialNumber=device["VirtualMFADevice"]["SerialNumber"],
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
    for name in ("Keyless", "MfaUser", "PasswordUser"):
        _ensure_user(iam, name)
    if _ensure_user(iam, "TwoKeys"):
        for _ in range(2):
            iam.create_access_key(UserName="TwoKeys")
    if "iam-runbooks/existing" not in {s["Name"] for s in sm.list_secrets()["SecretList"]}:
        sm.create_secret(Name="iam-runbooks/existing", SecretString="not-a-real-secret")
    secrets = work / "secrets"
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    (secrets / f"{ACCOUNT}-Keyless_accessKeys.csv").write_text("kept\n")
    (secrets / f"{ACCOUNT}-NewAdmin_credentials.csv").write_text("kept\n")
    (work / "a-file").write_text("a file where a folder should be\n")
    (work / "broken.yaml").write_text("target: sandbox\nuser_name: [Administrator\n")
    (work / "list.yaml").write_text("- target\n- sandbox\n")
    # '"+print(1)+"' as bytes: papermill would write it into the notebook as code
    (work / "binary.yaml").write_text('users: [!!binary "IitwcmludCgxKSsi"]\n')
    (work / "typo.yaml").write_text("target: sandbox\nusr_name: Keyless\n")
    (work / "aws-config").write_text("[profile nocreds]\nregion = us-east-1\n")
    (work / "aws-credentials").write_text("")


@dataclass(frozen=True)
class Row:
    """One bad input: ``runbook run`` arguments, the fragment the one-line message must
    contain, and whether the run gets as far as a notebook (a run folder)."""

    id: str
    args: tuple[str, ...]
    fragment: str
    run_folder: bool = True
    env: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()
    process: bool = False  # also run through a real `runbook` process

    def argv(self, work: Path) -> list[str]:
        """The command line's arguments (without ``--output-dir``) for the world in ``work``."""
        return ["run", *(fill_row(a, work) for a in self.args)]

    def notebook_and_parameters(self, work: Path) -> tuple[str, dict[str, Any]]:
        """The notebook and the parameters the CLI passes to the runner for this row."""
        args = list(self.argv(work)[1:])
        book, files, params = args.pop(0), [], {}
        while args:
            option = args.pop(0)
            if option == "-f":
                files.append(Path(args.pop(0)))
            elif option == "-p":
                name = args.pop(0)
                params[name] = parse_value(args.pop(0))
            elif option == "--profile":
                params.update(target="profile", profile=args.pop(0))
            else:
                raise AssertionError(f"row {self.id}: option {option} is not handled here")
        return book, {**load_parameter_files(files), **params}

    def scenario(self) -> Scenario:
        """This row through a real ``runbook`` process (cached once per session)."""
        assert self.process, f"row {self.id} is not a process row"
        return Scenario(
            id=f"bad-input-{self.id}",
            book=self.args[0],
            argv=("run", *self.args),
            env=self.env,
            unset=self.unset,
            prepare=prepare_world,
            log_output=False,
        )


def fill_row(text: str, work: Path) -> str:
    return text.format(work=work, secrets=work / "secrets", sandbox_yaml=SANDBOX_YAML)


def s1(*params: str) -> tuple[str, ...]:
    """01 on the sandbox with the given ``-p NAME VALUE`` pairs."""
    return ("01", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{secrets}", *params)


def nb(number: str, *params: str) -> tuple[str, ...]:
    return (number, "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{secrets}", *params)


def s2_aged(*params: str) -> tuple[str, ...]:
    """02 in mode rotate-if-older-than for Keyless (no key), then ``params`` (later wins)."""
    return nb("02", "-p", "user_name", "Keyless", "-p", "mode", "rotate-if-older-than", *params)


def s5(*params: str) -> tuple[str, ...]:
    """05 (the cleanup of unused credentials) for TwoKeys, then ``params``."""
    return ("05", "-f", "{sandbox_yaml}", "-p", "user_name", "TwoKeys", *params)


_NO_CREDS = (
    ("AWS_CONFIG_FILE", "{work}/aws-config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "{work}/aws-credentials"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
)
_SANDBOX_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")
_ROOT = ((FAULT_ROOT_CALLER_VAR, ACCOUNT),)

ROWS = [
    # S0: the target
    Row(
        "s0-wrong-expected-account-id",
        ("00", "-f", "{sandbox_yaml}", "-p", "expected_account_id", "'000000000000'"),
        "not expected_account_id 000000000000",
        process=True,
    ),
    # S1: names, path, tags, clashes, destinations
    Row(
        "user-name-pattern",
        s1("-p", "user_name", "bad name!"),
        "is not a valid IAM user name",
        process=True,
    ),
    Row("user-name-65-chars", s1("-p", "user_name", "a" * 65), "it has 65 characters"),
    Row(
        "user-name-case-clash",
        s1("-p", "user_name", "administrator"),
        "clashes with existing user 'Administrator'",
        process=True,
    ),
    Row("group-name-pattern", s1("-p", "group_name", "Admins/ops"), "not a valid IAM group name"),
    Row("group-name-129-chars", s1("-p", "group_name", "g" * 129), "it has 129 characters"),
    Row(
        "path-without-slashes",
        s1("-p", "user_name", "NewAdmin2", "-p", "path", "admins"),
        "it must start and end with '/'",
    ),
    Row("path-differs-from-existing-user", s1("-p", "path", "/ops/"), "exists with path /"),
    Row("tag-key-aws-prefix", s1("-p", "tags", "{{aws:team: ops}}"), "'aws:' is reserved"),
    Row("tag-value-257-chars", s1("-p", "tags", "{{team: " + "v" * 257 + "}}"), "257"),
    Row(
        "signin-csv-exists",
        s1("-p", "user_name", "NewAdmin", "-p", "group_name", "NewAdmins"),
        "already exists and is never overwritten",
    ),
    Row(
        "signin-csv-folder-unwritable",
        ("01", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{work}/a-file/secrets")
        + ("-p", "user_name", "NewAdmin3"),
        "Cannot write secret files",
    ),
    Row(
        "policy-arn-unknown",
        s1("-p", "user_name", "NewAdmin4", "-p", "policy_arn", "arn:aws:iam::aws:policy/NoSuch"),
        "NoSuchEntity",
    ),
    # S2: unknown user, a third key, destinations, root
    Row("s2-unknown-user", nb("02", "-p", "user_name", "Nobody"), "does not exist"),
    Row(
        "s2-third-key",
        nb("02", "-p", "user_name", "TwoKeys", "-p", "mode", "rotate"),
        "already has 2 access keys",
        process=True,
    ),
    Row("s2-key-csv-exists", nb("02", "-p", "user_name", "Keyless"), "already exists"),
    Row(
        "s2-key-csv-folder-unwritable",
        ("02", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{work}/a-file/keys")
        + ("-p", "user_name", "Keyless"),
        "Cannot write secret files",
    ),
    Row(
        "s2-mode-mistyped",
        nb("02", "-p", "user_name", "Keyless", "-p", "mode", "rotat"),
        "mode 'rotat' is not one of the choices",
    ),
    Row("s2-user-is-root", nb("02", "-p", "user_name", "root"), "names the root user"),
    # S2's age-driven mode rotate-if-older-than (max_age_days); S5's unused_days and scope
    Row("s2-max-age-days-zero", s2_aged("-p", "max_age_days", "0"), "max_age_days 0 is not a"),
    Row("s2-max-age-days-negative", s2_aged("-p", "max_age_days", "-5"), "max_age_days -5 is"),
    Row("s2-max-age-days-text", s2_aged("-p", "max_age_days", "ninety"), "must be int", False),
    Row("s2-mode-mistyped-new", s2_aged("-p", "mode", "rotate-if-older"), "is not one of the"),
    Row("s2-rotate-if-due-without-a-key", s2_aged(), "has no active access key"),
    Row("s5-unused-days-zero", s5("-p", "unused_days", "0"), "unused_days 0 is not a"),
    Row("s5-unused-days-text", s5("-p", "unused_days", "soon"), "must be int", False),
    Row(
        "s5-cleanup-scope-mistyped",
        s5("-p", "cleanup_scope", "everyone"),
        "cleanup_scope 'everyone' is not one of the choices",
    ),
    Row(
        "s2-mode-cleanup-is-runbook-05",
        nb("02", "-p", "user_name", "TwoKeys", "-p", "mode", "cleanup"),
        "mode cleanup is a runbook of its own now: run 05_clean_up_unused_credentials",
    ),
    Row(
        "s2-delete-old-with-create",
        nb("02", "-p", "user_name", "Keyless", "-p", "delete_old", "true"),
        "delete_old applies to modes rotate and rotate-if-older-than only, not create",
    ),
    Row(
        "s5-unknown-user",
        ("05", "-f", "{sandbox_yaml}", "-p", "user_name", "Nobody"),
        "does not exist",
    ),
    Row(
        "s2-caller-is-root",
        nb("02", "-p", "user_name", "Keyless"),
        "is the root user of account",
        env=_ROOT,
    ),
    # S3: unknown user, seed file, root
    Row("s3-unknown-user", nb("03", "-p", "user_name", "Nobody"), "does not exist"),
    Row(
        "s3-seed-folder-unwritable",
        ("03", "-f", "{sandbox_yaml}", "-p", "secrets_dir", "{work}/a-file/seeds")
        + ("-p", "user_name", "MfaUser", "-p", "seed_destination", "file"),
        "Cannot write secret files",
    ),
    Row(
        "s3-caller-is-root",
        nb("03", "-p", "user_name", "MfaUser"),
        "is the root user of account",
        env=_ROOT,
        process=True,
    ),
    # the target
    Row(
        "wrong-expected-account-id",
        nb("02", "-p", "user_name", "Keyless", "-p", "expected_account_id", "'111111111111'"),
        "not expected_account_id 111111111111",
        process=True,
    ),
    Row(
        "expected-account-id-not-12-digits",
        nb("03", "-p", "user_name", "MfaUser", "-p", "expected_account_id", "'12345'"),
        "not a 12-digit AWS account ID",
    ),
    Row(
        "profile-not-found",
        ("02", "-p", "user_name", "Keyless", "--profile", "nosuch"),
        "AWS profile 'nosuch' was not found",
        env=_NO_CREDS,
        unset=_SANDBOX_KEYS,
    ),
    Row(
        "profile-without-credentials",
        ("02", "-p", "user_name", "Keyless", "--profile", "nocreds"),
        "No AWS credentials found for profile 'nocreds'",
        env=_NO_CREDS,
        unset=_SANDBOX_KEYS,
        process=True,
    ),
    # the command line itself: refused before any notebook starts
    Row(
        "unknown-notebook",
        ("09", "-f", "{sandbox_yaml}"),
        "Unknown notebook '09'",
        False,
        process=True,
    ),
    Row(
        "mistyped-parameter-name",
        nb("02", "-p", "user_nme", "Keyless"),
        "did you mean 'user_name'?",
        False,
    ),
    Row(
        "parameter-of-the-wrong-type",
        "s2-max-age-days-text",
        "s5-unused-days-text",
        s1("-p", "password_reset_required", "maybe"),
        "must be bool",
        False,
    ),
    Row(
        "mistyped-parameter-in-yaml",
        ("02", "-f", "{work}/typo.yaml"),
        "did you mean 'user_name'?",
        False,
    ),
    Row(
        "malformed-yaml",
        ("02", "-f", "{work}/broken.yaml"),
        "is not valid YAML at line",
        False,
        process=True,
    ),
    Row("yaml-not-a-mapping", ("02", "-f", "{work}/list.yaml"), "must be a mapping", False),
    Row(
        "yaml-binary-tag",
        ("01", "--plan", "-f", "{work}/binary.yaml"),
        "the tag !!binary is refused",
        False,
    ),
    Row("users-entry-not-a-mapping", s1("-p", "users", "[alice]"), "users[0] must be a mapping"),
    Row("missing-parameters-file", ("02", "-f", "{work}/nosuch.yaml"), "does not exist", False),
    Row(
        "profile-and-endpoint",
        ("02", "--profile", "x", "--endpoint-url", "http://127.0.0.1:1"),
        "exclude each other",
        False,
    ),
]
#: refused by the CLI before any kernel starts: it checks names, tags, account IDs, the target
#: and the user first (the notebook refuses them too: see ``notebook_input``)
CLI_CHECKS_FIRST = frozenset(
    {
        "user-name-pattern",
        "user-name-65-chars",
        "group-name-pattern",
        "group-name-129-chars",
        "path-without-slashes",
        "tag-key-aws-prefix",
        "tag-value-257-chars",
        "users-entry-not-a-mapping",
        "s2-unknown-user",
        "s2-max-age-days-zero",
        "s2-max-age-days-negative",
        "s5-unused-days-zero",
        "s5-cleanup-scope-mistyped",
        "s5-unknown-user",
        "s3-unknown-user",
        "s0-wrong-expected-account-id",
        "wrong-expected-account-id",
        "expected-account-id-not-12-digits",
        "profile-not-found",
        "profile-without-credentials",
    }
)
ROWS = [replace(r, run_folder=False) if r.id in CLI_CHECKS_FIRST else r for r in ROWS]
#: rows about the command line itself, not a notebook's input
COMMAND_LINE_ONLY = frozenset(
    {
        "unknown-notebook",
        "mistyped-parameter-name",
        "parameter-of-the-wrong-type",
        "s2-max-age-days-text",
        "s5-unused-days-text",
        "mistyped-parameter-in-yaml",
        "malformed-yaml",
        "yaml-not-a-mapping",
        "yaml-binary-tag",
        "missing-parameters-file",
        "profile-and-endpoint",
    }
)
BY_ID = {row.id: row for row in ROWS}
#: the real-process row of each runbook (its kernel refuses the input, or the CLI first)
BAD_INPUT_PROCESS_ROW = {
    "00": BY_ID["s0-wrong-expected-account-id"],
    "01": BY_ID["user-name-case-clash"],
    "02": BY_ID["s2-third-key"],
    "03": BY_ID["s3-caller-is-root"],
}
