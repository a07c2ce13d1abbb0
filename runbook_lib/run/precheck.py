"""Checks made before any kernel starts: parameter rules, then the target itself.

A kernel costs seconds to start; a wrong user name, a mode spelled wrong, an unknown profile or
an unreachable endpoint must not. Each notebook's parameters (its defaults, then the ones
given) go through the very function its ``check_request`` step calls first in the kernel: the
section's ``check_inputs`` (pure: no AWS call, no file written), found by the section the
notebook declares (``INPUT_CHECKS``), so there is one copy of each rule. The target check asks
STS once, with a 2 s connect timeout and at most one retry, and (for a runbook that needs an
existing user) whether the user exists. A check that cannot decide (throttling, no permission)
passes: the notebook then reports in its own words.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.access_key.rotation import validate_days
from runbook_lib.admin_user.request import check_user_entry
from runbook_lib.core import aws
from runbook_lib.core.errors import BadInput, RunbookError, TargetRefused
from runbook_lib.core.i18n import _
from runbook_lib.core.tags import validate_tags
from runbook_lib.core.target import CONNECT_ATTEMPTS, CONNECT_TIMEOUT, TargetSpec
from runbook_lib.core.validation import (
    validate_account_id,
    validate_choice,
    validate_group_name,
    validate_path,
    validate_user_name,
)
from runbook_lib.root_usage.cis import validate_version
from runbook_lib.root_usage.request import LIMITS, validate_threshold
from runbook_lib.run.notebooks import all_notebooks, declared, notebook_parameters

DEFAULT_USER = "Administrator"
DEFAULT_GROUP = "Administrators"


def _optional_group(value: Any) -> Any:
    return validate_group_name(value, "policy_group") if value else value


def _days(param: str, default: int) -> Callable[[Any], Any]:
    return lambda value: validate_days(value, param, default)


#: parameter -> the rule IAM applies to it (as checked inside the notebooks)
RULES: dict[str, Callable[[Any], Any]] = {
    "user_name": validate_user_name,
    "group_name": validate_group_name,
    "policy_group": _optional_group,
    "path": validate_path,
    "tags": validate_tags,
    "expected_account_id": validate_account_id,
    # S2's age-driven modes (the same rules as access_key.check_request)
    "max_age_days": _days("max_age_days", 90),
    "unused_days": _days("unused_days", 45),  # S0's too: the same days, the same range
    "cleanup_scope": lambda value: validate_choice(value, ("user", "account"), "cleanup_scope"),
    "cis_version": validate_version,  # S0's (root_usage.check_request)
    # S0's other audit thresholds (root_usage.check_request)
    **{
        name: functools.partial(validate_threshold, param=name)
        for name in LIMITS
        if name != "unused_days"
    },
}


#: section -> the input checks its notebook's ``check_request`` step runs first, in the kernel
#: (``module:function``, imported when a run includes that section)
INPUT_CHECKS: dict[str, str] = {
    "S0": "runbook_lib.root_usage.request:check_request",  # reads nothing: all of it is pure
    "S1": "runbook_lib.admin_user.request:check_inputs",
    "S2": "runbook_lib.access_key.request:check_inputs",
    "S3": "runbook_lib.virtual_mfa.request:check_inputs",
    "S4": "runbook_lib.password_policy.request:check_inputs",
    "S5": "runbook_lib.unused_credentials.request:check_inputs",
    "S6": "runbook_lib.identity_center.request:check_inputs",
    "S7": "runbook_lib.fix.request:check_inputs",
}
#: section -> {notebook parameter: the argument its check takes it as} (the notebook's call)
RENAMED: dict[str, dict[str, str]] = {"S0": {"group_name": "admin_group"}}


def notebook_defaults(book: Path) -> dict[str, Any]:
    """The values of ``book``'s ``parameters`` cell (a value that is not a literal is left out)."""
    defaults: dict[str, Any] = {}
    for name, info in notebook_parameters(book).items():
        try:
            defaults[name] = ast.literal_eval(str(info.get("default")))
        except (ValueError, SyntaxError):
            continue
    return defaults


def check_notebook(book: Path, params: Mapping[str, Any], *, interactive: bool = False) -> None:
    """Run ``book``'s own input checks (``INPUT_CHECKS``) on its defaults plus ``params``.

    Args:
        book: the notebook.
        params: the run's parameters (those ``book`` does not declare are ignored).
        interactive: a person drives it (Lab, Voilà): a ``widget`` destination is allowed.

    Raises:
        BadInput: the first parameter the notebook would refuse in its ``check_request`` step,
            in the notebook's own words.
    """
    where = INPUT_CHECKS.get(declared(book).section)
    if where is None:
        return
    module, _sep, name = where.partition(":")
    check: Callable[..., Any] = getattr(importlib.import_module(module), name)
    declared_names = notebook_parameters(book)
    values = {**notebook_defaults(book)}
    values.update((k, v) for k, v in params.items() if k in declared_names)
    renamed = RENAMED.get(declared(book).section, {})
    accepted = inspect.signature(check).parameters
    kwargs = {renamed.get(k, k): v for k, v in values.items()}
    if "interactive" in accepted:
        kwargs["interactive"] = interactive
    check(**{k: v for k, v in kwargs.items() if k in accepted})


def load_compare(run_dir: Path, books: Iterable[Path]) -> dict[str, Any]:
    """The run record ``--compare RUN_DIR`` names: an earlier audit (S0) run with findings.

    Raises:
        BadInput: the run is not going to run the audit, or RUN_DIR holds no audit run record.
    """
    audits = [b.stem for b in books if declared(b).kind == "audit"]
    if not audits:
        audit = next(b.stem for b in all_notebooks() if declared(b).kind == "audit")
        number = audit.split("_", 1)[0]
        raise BadInput(
            _("--compare compares {audit} runs: run {number} (or --all) with it.").format(
                audit=audit, number=number
            )
        )
    audit = audits[0]
    try:
        record = json.loads((Path(run_dir) / "run.json").read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise BadInput(
            _(
                "--compare {run_dir}: no readable run.json there ({error}); give the folder of "
                "an earlier {audit} run (runs/…-{audit}-…)."
            ).format(run_dir=run_dir, error=type(err).__name__, audit=audit)
        ) from None
    if not isinstance(record, dict) or not record.get("findings"):
        raise BadInput(
            _(
                "--compare {run_dir}: that run recorded no findings; give the folder of an "
                "earlier {audit} run."
            ).format(run_dir=run_dir, audit=audit)
        )
    return record


@dataclass(frozen=True)
class Caller:
    """Who the target's credentials are, as STS answered the check."""

    account_id: str
    arn: str


def check_parameters(
    params: Mapping[str, Any],
    books: Iterable[Path] | None = None,
    *,
    interactive: bool = False,
) -> None:
    """Apply the target's rules (as preflight does), then each of ``books``' own input checks
    (``check_notebook``: every typed or enumerated parameter, as the kernel checks it).

    Without ``books``: IAM's rules for the parameters that have one, whatever notebook runs
    (``RULES``: names, path, tags, account ID, thresholds).

    Raises:
        BadInput: the first parameter a notebook (or IAM) would refuse, named, with the rule.
    """
    _spec(params)
    if books is not None:
        for book in books:
            check_notebook(book, params, interactive=interactive)
        return
    for name, rule in RULES.items():
        if name in params:
            rule(params[name])
    users = params.get("users")
    if users is not None and not isinstance(users, list):
        raise BadInput(
            _("users must be a list of {{name, groups, tags}}, not {name__}.").format(
                name__=type(users).__name__
            )
        )
    group = str(params.get("group_name") or DEFAULT_GROUP)
    console = params.get("console_access", True) is not False
    for i, user in enumerate(users or []):
        check_user_entry(user, i, group, console)  # S1's own rule, before any kernel


def user_needed(books: Iterable[Path], params: Mapping[str, Any]) -> str:
    """The user that must exist before ``books`` run, or ``""`` (none, or an earlier book
    creates it)."""
    for book in books:
        if declared(book).creates_user:
            return ""
        if declared(book).needs_user and params.get("cleanup_scope") == "account":
            continue  # S2 cleanup of every user: no one user is needed
        if declared(book).needs_user:
            user = str(params.get("user_name") or DEFAULT_USER)
            # a name for the root user: the runbook's own refusal says why, not "no such user"
            return "" if "root" in user.lower() else user
    return ""


def _spec(params: Mapping[str, Any]) -> TargetSpec:
    return TargetSpec(
        target=str(params.get("target", "sandbox")),
        profile=str(params.get("profile", "")),
        endpoint_url=str(params.get("endpoint_url", "")),
        region=str(params.get("region", "us-east-1")),
        expected_account_id=str(params.get("expected_account_id", "")),
    ).validate()


def check_target(params: Mapping[str, Any], *, sandbox_url: str = "", user: str = "") -> Caller:
    """Resolve the target and ask STS who is calling; check ``user`` exists when given.

    The sandbox needs no question about reachability or credentials; it is only asked about
    ``user``, and a sandbox the runs will start new (``sandbox_url`` empty) has no users at all.

    Args:
        params: the run's parameters (target, profile, endpoint_url, region,
            expected_account_id).
        sandbox_url: the running sandbox a ``sandbox`` target uses (``""``: a new one).
        user: an IAM user the runbooks need to exist already (``""``: none).

    Returns:
        The caller (empty fields when it was not asked, or the target could not say).

    Raises:
        BadInput: invalid target parameters, or ``user`` does not exist.
        TargetRefused: unknown profile, no or refused credentials, wrong account.
        TargetUnreachable: the endpoint did not answer within the timeout and one retry.
    """
    from botocore.config import Config

    from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, sandbox_session
    from runbook_lib.core.target import connect

    spec = _spec(params)
    where = spec.describe()
    if spec.target == "sandbox":
        _check_account(SANDBOX_ACCOUNT_ID, spec.expected_account_id)  # moto's fixed account
        if not user:
            return Caller(SANDBOX_ACCOUNT_ID, "")
    if spec.target == "sandbox" and not sandbox_url:
        raise BadInput(
            _(
                "User '{user}' does not exist in a new sandbox (account {account}, empty): "
                "create it first in the same command (runbook run --all), or start one sandbox "
                "with 'runbook sandbox' and run 01_create_admin_user against it."
            ).format(user=user, account=SANDBOX_ACCOUNT_ID)
        )
    endpoint: str | None = sandbox_url
    if spec.target == "sandbox":
        session = sandbox_session()
    else:
        connection = connect(spec)  # TargetRefused: unknown profile
        session, endpoint = connection.session, connection.endpoint_url
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=10,
        retries={"mode": "standard", "total_max_attempts": CONNECT_ATTEMPTS},
    )
    caller = _ask_sts(session.client("sts", endpoint_url=endpoint, config=config), where)
    if not caller.account_id:  # throttled: the notebook's preflight asks again
        return caller
    _check_account(caller.account_id, spec.expected_account_id)
    if user:
        _check_user(session.client("iam", endpoint_url=endpoint, config=config), user, caller)
    return caller


def _ask_sts(sts: Any, where: str) -> Caller:
    """STS's answer to "who is calling", translated into the project's errors.

    Raises:
        TargetRefused: no or refused credentials.
        TargetUnreachable: no answer within the timeout and one retry.
    """
    try:
        ident = aws.caller_identity(sts, where, "")
    except TargetRefused as err:
        if "Throttl" in aws.error_code(err.__cause__ or err):
            return Caller("", "")  # the notebook's preflight asks again, with its retries
        raise
    return Caller(str(ident["Account"]), str(ident["Arn"]))


def _check_account(account_id: str, expected: str) -> None:
    if expected and account_id != expected:
        raise TargetRefused(
            _(
                "The credentials reach account {account}, not expected_account_id {expected}: "
                "switch profile/endpoint, or fix expected_account_id."
            ).format(account=account_id, expected=expected)
        )


def _check_user(iam: Any, user: str, caller: Caller) -> None:
    missing = BadInput(
        _(
            "User '{user}' does not exist in account {account} (IAM NoSuchEntity): create it "
            "with 01_create_admin_user or fix user_name."
        ).format(user=user, account=caller.account_id)
    )
    try:
        aws.call(
            iam.get_user,
            what=f"Reading user '{user}'",
            fix="",
            errors={"NoSuchEntity": missing},
            UserName=user,
        )
    except BadInput:
        raise
    except RunbookError:  # AccessDenied, throttling: the notebook's own step reports it
        pass
