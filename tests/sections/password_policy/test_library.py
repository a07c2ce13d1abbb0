"""S4, the account password policy, in-process against the section's verbs on the sandbox.

Evidence as for the other runbooks: bad input is refused in one line (exit code 2) before any
AWS call; a run that dies at any write is finished by a plain re-run; plan mode and a second run
make no writes; Verify fails on a policy changed behind the runbook's back. moto stores every
setting of UpdateAccountPasswordPolicy but answers in a shape AWS does not (``MaxPasswordAge:
0``) and never enforces the policy: AWS's own shape is tested with botocore's Stubber.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from support.aws import reset_sandbox

from runbook_lib import RunContext, admin_user, password_policy, preflight
from runbook_lib.admin_user.passwords import check_password, generate_password, new_password
from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, AwsError, BadInput, VerifyFailed
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, running_sandbox_url
from runbook_lib.core.secrets import Secret
from runbook_lib.interfaces import cli
from runbook_lib.password_policy.apply import PasswordPolicyOutcome, api_parameters
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.run import runner
from runbook_lib.run.notebooks import all_notebooks, procedure_notebooks, run_order
from runbook_lib.run.runner import RunResult
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR, InjectedFault

ACCOUNT = SANDBOX_ACCOUNT_ID
PROJECT = Path(__file__).resolve().parents[3]
#: what a run with the defaults leaves in the account (GetAccountPasswordPolicy, moto's shape)
CIS_POLICY = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "ExpirePasswords": False,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}


def admin_iam() -> Any:
    """An IAM client of the test's own on the sandbox: the run's counts stay untouched."""
    return boto3.client("iam", endpoint_url=running_sandbox_url(), region_name="us-east-1")


def account_policy(ctx: RunContext | None = None) -> dict[str, Any] | None:
    """The account's password policy as IAM answers (None: no custom policy)."""
    iam = admin_iam()
    try:
        policy: dict[str, Any] = iam.get_account_password_policy()["PasswordPolicy"]
    except iam.exceptions.NoSuchEntityException:
        return None
    if not policy.get("MaxPasswordAge"):  # moto answers 0 where AWS leaves it out
        policy.pop("MaxPasswordAge", None)
    return policy


def no_policy() -> None:
    """Remove the account's password policy: the state of a new account."""
    iam = admin_iam()
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_account_password_policy()


@pytest.fixture(scope="module", autouse=True)
def _sandbox_once() -> None:
    """Reset the sandbox once for this module (a reset costs seconds: managed policies)."""
    reset_sandbox()


@pytest.fixture
def ctx() -> RunContext:
    """A run on an account without a custom password policy (the only state S4 touches)."""
    no_policy()
    return fresh_ctx()


def run(ctx: RunContext, **params: Any) -> PasswordPolicyOutcome:
    """The notebook's cells after preflight, in order; Verify raises on a wrong end state."""
    request = password_policy.check_request(ctx, **params)
    plan = password_policy.show_plan(ctx, request)
    outcome = password_policy.ensure_policy(ctx, plan)
    password_policy.verify(ctx, outcome)
    return outcome


def fresh_ctx(plan: bool = False) -> RunContext:
    """A new run: a new preflight, so a new session (faults are read when it is made)."""
    return preflight("04_set_password_policy", target="sandbox", plan=plan)


# ---- the request ---------------------------------------------------------------------------


def test_defaults_are_cis_and_aws_recommendations(ctx: RunContext) -> None:
    request = password_policy.check_request(ctx)
    assert request.policy == PasswordPolicy(
        minimum_password_length=14,
        require_symbols=True,
        require_numbers=True,
        require_uppercase_characters=True,
        require_lowercase_characters=True,
        allow_users_to_change_password=True,
        max_password_age=None,
        password_reuse_prevention=24,
        hard_expiry=False,
    )
    assert request.warnings == ()
    assert repr(request) == (
        "Requested: ≥ 14 chars, upper, lower, digit, symbol; no reuse of the last 24; "
        "no expiry; users may change their own password"
    )


#: (id, parameters, fragment of the one-line message)
BAD_ROWS = [
    ("length-5", {"minimum_password_length": 5}, "minimum_password_length 5 is outside"),
    ("length-129", {"minimum_password_length": 129}, "use a whole number 6-128."),
    ("length-0", {"minimum_password_length": 0}, "minimum_password_length 0"),
    ("length-text", {"minimum_password_length": "14"}, "minimum_password_length '14'"),
    ("length-float", {"minimum_password_length": 14.0}, "minimum_password_length 14.0"),
    ("length-bool", {"minimum_password_length": True}, "minimum_password_length True"),
    ("age-1096", {"max_password_age": 1096}, "use a whole number 1-1095, or 0 for never."),
    ("age-negative", {"max_password_age": -1}, "max_password_age -1"),
    ("age-none", {"max_password_age": None}, "max_password_age None"),
    ("reuse-25", {"password_reuse_prevention": 25}, "use a whole number 1-24, or 0 for none."),
    ("reuse-negative", {"password_reuse_prevention": -3}, "password_reuse_prevention -3"),
    ("symbols-text", {"require_symbols": "yes"}, "require_symbols 'yes' must be true or false"),
    ("numbers-int", {"require_numbers": 1}, "require_numbers 1 must be true or false"),
    ("upper-none", {"require_uppercase_characters": None}, "require_uppercase_characters None"),
    ("lower-text", {"require_lowercase_characters": "no"}, "require_lowercase_characters"),
    ("change-text", {"allow_users_to_change_password": "true"}, "allow_users_to_change_password"),
    ("hard-expiry-text", {"hard_expiry": "false"}, "hard_expiry 'false' must be true or false"),
    (
        "hard-expiry-without-age",
        {"hard_expiry": True},
        "hard_expiry is true but max_password_age is 0 (passwords never expire): set "
        "max_password_age to 1-1095 days, or hard_expiry to false.",
    ),
]


@pytest.mark.parametrize(
    ("params", "fragment"), [r[1:] for r in BAD_ROWS], ids=[r[0] for r in BAD_ROWS]
)
def test_bad_input_is_refused_in_one_line_with_no_aws_call(
    params: dict[str, Any], fragment: str, ctx: RunContext
) -> None:
    admin_iam().update_account_password_policy(MinimumPasswordLength=10)  # a policy to keep
    before = account_policy()
    calls = dict(ctx.record.calls)
    with pytest.raises(BadInput) as caught:
        run(ctx, **params)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and caught.value.exit_code == EXIT_BAD_INPUT
    assert next(iter(params)) in message, "the message names the parameter to fix"
    assert ctx.record.calls == calls, "no AWS call after preflight"
    assert ctx.record.writes == 0
    assert account_policy(ctx) == before


@pytest.mark.parametrize(
    "params",
    [
        {"minimum_password_length": 6, "password_reuse_prevention": 1, "max_password_age": 1},
        {"minimum_password_length": 128, "password_reuse_prevention": 24, "max_password_age": 1095},
        {"password_reuse_prevention": 0, "hard_expiry": True, "max_password_age": 90},
    ],
    ids=["lowest", "highest", "no-reuse-hard-expiry"],
)
def test_iams_limits_are_accepted_and_set(params: dict[str, Any], ctx: RunContext) -> None:
    outcome = run(ctx, **params)
    assert outcome.status == "set"
    found = account_policy(ctx)
    assert found is not None
    assert found["MinimumPasswordLength"] == params.get("minimum_password_length", 14)
    assert found.get("MaxPasswordAge") == params["max_password_age"]
    assert found.get("PasswordReusePrevention") == (params["password_reuse_prevention"] or None)
    assert found["HardExpiry"] is params.get("hard_expiry", False)


def test_weak_choices_are_kept_with_a_warning_naming_the_cis_control(ctx: RunContext) -> None:
    request = password_policy.check_request(
        ctx, minimum_password_length=8, password_reuse_prevention=0, max_password_age=90
    )
    assert [w.split(" fails ")[-1] for w in request.warnings[:2]] == [
        "CIS AWS Foundations v4.0 1.8 (at least 14).",
        "CIS AWS Foundations v4.0 1.9 (24).",
    ]
    assert "NIST SP 800-63B" in request.warnings[2]
    assert len(ctx.record.warnings) == 3
    plan = password_policy.show_plan(ctx, request)
    assert "1.8 minimum length ≥ 14: FAIL → FAIL; 1.9 reuse prevention 24: FAIL → FAIL" in repr(
        plan
    )


# ---- plan, apply, verify -------------------------------------------------------------------


def test_first_run_sets_the_policy_and_a_second_run_makes_no_writes(ctx: RunContext) -> None:
    assert account_policy(ctx) is None, "a new account has no custom policy"
    first = run(ctx)
    assert first.status == "set"
    assert ctx.record.writes == 1
    assert ctx.record.calls["iam:UpdateAccountPasswordPolicy"] == 1
    assert [c["action"] for c in ctx.record.changes] == ["update-account-password-policy"]
    assert account_policy(ctx) == CIS_POLICY
    again = fresh_ctx()
    second = run(again)
    assert second.status == "already in place (no change)"
    assert again.record.writes == 0 and again.record.changes == []
    assert account_policy(again) == CIS_POLICY


def test_plan_shows_current_and_new_with_the_cis_controls(ctx: RunContext) -> None:
    plan = password_policy.show_plan(ctx, password_policy.check_request(ctx))
    assert repr(plan) == "\n".join(
        [
            "Password policy of account 123456789012: none set, AWS's default applies",
            "  setting                    current       new",
            "  Minimum length             8             14           (change)",
            "  Uppercase letter (A-Z)     3 of 4 types  required     (change)",
            "  Lowercase letter (a-z)     3 of 4 types  required     (change)",
            "  Number (0-9)               3 of 4 types  required     (change)",
            "  Symbol                     3 of 4 types  required     (change)",
            "  Users change own password  no            yes          (change)",
            "  Expire passwords after     never         never",
            "  Prevent reuse of           none          last 24      (change)",
            "  Expired: admin must reset  no            no",
            "CIS AWS Foundations v4.0: 1.8 minimum length ≥ 14: FAIL → PASS; "
            "1.9 reuse prevention 24: FAIL → PASS",
            "Steps 4-6 set it (UpdateAccountPasswordPolicy, every setting above).",
        ]
    )
    assert len(plan.changes) == 7


@pytest.mark.parametrize("existing", [None, {"MinimumPasswordLength": 8}], ids=["none", "custom"])
def test_plan_mode_makes_no_writes(existing: dict[str, Any] | None) -> None:
    no_policy()
    if existing:
        admin_iam().update_account_password_policy(**existing)
    before = account_policy()
    ctx = fresh_ctx(plan=True)
    request = password_policy.check_request(ctx)
    plan = password_policy.show_plan(ctx, request)
    assert repr(plan).endswith("Plan mode: Steps 4-6 would set it (UpdateAccountPasswordPolicy).")
    outcome = password_policy.ensure_policy(ctx, plan)
    assert outcome.status == "would be set (plan mode, no change)"
    verified = password_policy.verify(ctx, outcome)
    assert repr(verified).endswith("Plan mode: nothing was changed.")
    assert ctx.record.writes == 0 and ctx.record.changes == []
    assert account_policy(ctx) == before


def test_a_changed_setting_is_set_again_with_every_other_setting(ctx: RunContext) -> None:
    ctx.iam.update_account_password_policy(
        MinimumPasswordLength=20, RequireSymbols=True, MaxPasswordAge=90, HardExpiry=True
    )
    outcome = run(ctx)
    assert outcome.status == "set"
    assert "Expire passwords after" in outcome.plan.changes
    assert account_policy(ctx) == CIS_POLICY, "no setting of the old policy survives"


@pytest.mark.parametrize(
    ("tamper", "fragment"),
    [
        ({"MinimumPasswordLength": 8}, "Minimum length 8 (wanted 14)"),
        (
            {
                **{k: v for k, v in CIS_POLICY.items() if k != "ExpirePasswords"},
                "MaxPasswordAge": 30,
            },
            "Expire passwords after 30 days (wanted never)",
        ),
        ("delete", "Minimum length 8 (wanted 14), Uppercase letter (A-Z) 3 of 4 types"),
    ],
    ids=["weaker", "expiry-added", "deleted"],
)
def test_verify_fails_on_a_tampered_policy_and_a_rerun_repairs_it(
    tamper: Any, fragment: str, ctx: RunContext
) -> None:
    request = password_policy.check_request(ctx)
    outcome = password_policy.ensure_policy(ctx, password_policy.show_plan(ctx, request))
    if tamper == "delete":
        ctx.iam.delete_account_password_policy()
    else:
        ctx.iam.update_account_password_policy(**tamper)
    with pytest.raises(VerifyFailed) as caught:
        password_policy.verify(ctx, outcome)
    assert fragment in str(caught.value)
    assert str(caught.value).endswith("re-run this runbook to set it again.")
    again = fresh_ctx()
    run(again)
    assert again.record.writes == 1 and account_policy(again) == CIS_POLICY


def test_a_fault_at_every_write_is_finished_by_a_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    no_policy()
    clean = fresh_ctx()
    run(clean)
    writes, expected = clean.record.writes, account_policy(clean)
    assert writes == 1
    for n in range(1, writes + 1):
        no_policy()
        monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(n))
        faulted = fresh_ctx()
        with pytest.raises(InjectedFault, match=f"write {n}"):
            run(faulted)
        monkeypatch.delenv(FAULT_AT_WRITE_VAR)
        assert faulted.record.changes == []
        assert account_policy(faulted) is None, f"N={n}: the write did not go through"
        rerun = fresh_ctx()
        outcome = run(rerun)
        assert outcome.status == "set" and rerun.record.writes == 1
        assert account_policy(rerun) == expected, f"N={n}: the re-run ends like a clean run"


# ---- S1 after S4: the policy is the one S1 checks passwords against ------------------------


def test_s1_checks_a_typed_password_against_the_policy_04_set(
    ctx: RunContext, tmp_path: Path
) -> None:
    typed = "Abcdefgh12"  # 10 characters, 3 types: meets AWS's default policy, not S4's
    check_password(typed, PasswordPolicy.aws_default(), user_name="Typed", account_id=ACCOUNT)
    run(ctx)
    s1 = preflight("01_create_admin_user", target="sandbox")
    request = admin_user.check_request(
        s1, user_name="Typed", group_name="Typeds", secrets_dir=str(tmp_path)
    )
    users = admin_user.find_users(s1, request)
    assert users.policy.minimum_password_length == 14 and not users.policy.is_default
    assert "Password policy: custom policy: ≥ 14 chars, upper, lower, digit, symbol" in repr(users)
    with pytest.raises(BadInput) as caught:
        new_password(users.policy, "Typed", ACCOUNT, Secret("password", typed))
    message = str(caught.value)
    assert "at least 14 characters" in message and "a symbol" in message
    if typed in message:  # never let pytest print the value
        pytest.fail("the error repeats the typed password", pytrace=False)
    generated = new_password(users.policy, "Typed", ACCOUNT, None)
    check_password(generated.text(), users.policy)
    assert s1.record.writes == 0


def test_run_all_sets_the_policy_after_s0_and_before_s1() -> None:
    books = all_notebooks()
    order = ["00", "01", "02", "03", "04", "05", "06", "07"]
    assert [b.stem[:2] for b in books] == order, "course order"
    assert [b.stem for b in run_order(books)] == [
        "00_check_root_usage",
        "04_set_password_policy",
        "01_create_admin_user",
        "02_create_access_key",
        "03_enable_virtual_mfa",
        "05_clean_up_unused_credentials",
        "06_identity_center_admin",
        "07_fix_findings",
    ]
    procedure = [b.stem for b in run_order(procedure_notebooks())]
    assert "05_clean_up_unused_credentials" not in procedure, "a cleanup is run on purpose"


def test_cli_run_all_runs_04_before_s1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``runbook run --all`` in the order of ``run_order`` (the notebooks themselves are run
    for real by the leak-matrix and throttling tests)."""
    ran: list[str] = []

    def fake_run(name: str, params: Any, **_: Any) -> RunResult:
        ran.append(Path(name).stem)
        return RunResult(Path(name).stem, tmp_path, 0, "done", record={"writes": 0})

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    assert cli.main(["run", "--all", "-f", str(PROJECT / "parameters" / "sandbox.yaml")]) == 0
    assert ran == [b.stem for b in run_order(procedure_notebooks())]
    assert ran == ["00_check_root_usage", *ran[1:]] and len(ran) == 5  # 00, 04, 01, 02, 03
    assert capsys.readouterr().out.count(" done (") == 5


def test_generated_s1_passwords_meet_any_policy_s4_accepts() -> None:
    """S1 generates max(minimum, 20) characters of all four types: whatever S4 set before."""
    for length in (6, 14, 20, 21, 128):
        policy = PasswordPolicy(length, True, True, True, True, True, None, 24, False)
        check_password(generate_password(policy), policy)


# ---- AWS's shapes, where moto differs (botocore's Stubber) ----------------------------------


def stubbed(ctx: RunContext) -> tuple[Any, Stubber]:
    """Swap the run's IAM client for a stubbed one (no request leaves the process)."""
    client = boto3.client(
        "iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    ctx._clients["iam"] = client
    return client, Stubber(client)


#: GetAccountPasswordPolicy as AWS answers for S4's defaults: no MaxPasswordAge (moto: 0)
AWS_ANSWER = dict(CIS_POLICY)


def test_aws_answer_without_expiry_fields_is_the_requested_policy(ctx: RunContext) -> None:
    _, stub = stubbed(ctx)
    stub.add_response("get_account_password_policy", {"PasswordPolicy": AWS_ANSWER})
    stub.add_response("get_account_password_policy", {"PasswordPolicy": AWS_ANSWER})
    with stub:  # an UpdateAccountPasswordPolicy here would fail: it is not stubbed
        outcome = run(ctx)
    stub.assert_no_pending_responses()
    assert outcome.status == "already in place (no change)"


def test_moto_answers_a_max_age_of_0_which_aws_never_sends(ctx: RunContext) -> None:
    ctx.iam.update_account_password_policy(MinimumPasswordLength=14)
    moto_answer = ctx.iam.get_account_password_policy()["PasswordPolicy"]
    assert moto_answer["MaxPasswordAge"] == 0, "moto's shape (the library maps 0 to never)"
    _, stub = stubbed(ctx)
    with pytest.raises(Exception, match="MaxPasswordAge"):  # outside AWS's model: min 1
        stub.add_response("get_account_password_policy", {"PasswordPolicy": moto_answer})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {},
            {k: v for k, v in CIS_POLICY.items() if k != "ExpirePasswords"},
        ),
        (
            {"max_password_age": 90, "hard_expiry": True, "password_reuse_prevention": 0},
            {
                "MinimumPasswordLength": 14,
                "RequireSymbols": True,
                "RequireNumbers": True,
                "RequireUppercaseCharacters": True,
                "RequireLowercaseCharacters": True,
                "AllowUsersToChangePassword": True,
                "HardExpiry": True,
                "MaxPasswordAge": 90,
            },
        ),
    ],
    ids=["defaults", "expiry-no-reuse"],
)
def test_update_request_has_every_setting_in_aws_shape(
    params: dict[str, Any], expected: dict[str, Any], ctx: RunContext
) -> None:
    request = password_policy.check_request(ctx, **params)
    assert api_parameters(request.policy) == expected
    _, stub = stubbed(ctx)
    stub.add_client_error("get_account_password_policy", "NoSuchEntity", http_status_code=404)
    stub.add_response("update_account_password_policy", {}, expected)
    with stub:
        plan = password_policy.show_plan(ctx, request)
        assert password_policy.ensure_policy(ctx, plan).status == "set"
    stub.assert_no_pending_responses()


def test_access_denied_on_update_keeps_the_aws_code_and_names_the_permission(
    ctx: RunContext,
) -> None:
    _, stub = stubbed(ctx)
    stub.add_client_error("get_account_password_policy", "NoSuchEntity", http_status_code=404)
    stub.add_client_error(
        "update_account_password_policy",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/bob is not authorized",
        http_status_code=403,
    )
    with stub, pytest.raises(AwsError) as caught:
        run(ctx)
    assert caught.value.aws_code == "AccessDenied" and caught.value.exit_code == EXIT_FAILED
    assert str(caught.value).startswith(
        "Setting the account password policy failed: IAM AccessDenied (User: "
    )
    assert "iam:UpdateAccountPasswordPolicy" in str(caught.value)
    assert ctx.record.changes == []
