"""Preflight and the run context every step receives.

``preflight()`` resolves the target, asks STS who is calling, stops on the wrong account or on
an unwanted root caller, and returns a ``RunContext``: clients, the run record, plan mode and
whether a person is at the keyboard.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from runbook_lib.core import aws, environ, reset
from runbook_lib.core.errors import AwsError, TargetRefused
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.record import RunRecord, is_write
from runbook_lib.core.target import Connection, TargetSpec, connect

HEADLESS_VAR = environ.HEADLESS

S0_ADVICE = N_(
    "S0: do not use the root user for work that does not need it; run this as the Administrator "
    "IAM user (create it with 01_create_admin_user) or another IAM principal."
)


def _session_hook(events: Any, target: str) -> None:
    """Call the ``module:function`` named by ``RUNBOOK_SESSION_HOOK`` on a new session.

    The tests point it at ``runbook_lib.testing.faults:install`` so that kernels they start get
    fault injection; ``core`` itself never imports ``testing``.
    """
    spec = os.environ.get(environ.SESSION_HOOK, "")
    if not spec:
        return
    module_name, _, func_name = spec.partition(":")
    hook = getattr(importlib.import_module(module_name), func_name)
    hook(events, target)


class PlanModeWrite(AwsError):
    """A write was attempted in plan mode: a bug, stopped before it reached AWS."""


def running_headless() -> bool:
    """Whether no person is at the keyboard: the runner, papermill or nbval started the kernel."""
    if os.environ.get(HEADLESS_VAR):
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return True
    shell = get_ipython()
    return shell is None or type(shell).__name__ != "ZMQInteractiveShell"


@dataclass
class RunContext:
    """Everything a step needs: the connection, who is calling, the record and the mode."""

    spec: TargetSpec
    connection: Connection = field(repr=False)
    account_id: str
    caller_arn: str
    is_root: bool
    record: RunRecord = field(repr=False)
    plan: bool = False
    interactive: bool = False
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A client of this run (created once, counted in the run record)."""
        if service not in self._clients:
            self._clients[service] = self.connection.client(service)
        return self._clients[service]

    @property
    def iam(self) -> Any:
        """The IAM client."""
        return self.client("iam")

    @property
    def sandbox(self) -> bool:
        """Whether this run talks to the embedded sandbox (simulations allowed)."""
        return self.spec.target == "sandbox"

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        """The ARN of an IAM resource of this account (``user``, ``group``, ``policy``, ``mfa``)."""
        return f"arn:aws:iam::{self.account_id}:{kind}{path}{name}"

    def __repr__(self) -> str:
        mode = _("plan (no changes)") if self.plan else _("apply")
        who = _("root user") if self.is_root else self.caller_arn
        how = _("interactive") if self.interactive else _("headless")
        text = _("Target: {target}\nAccount: {account}\nCaller: {caller}\nMode: {mode}, {how}")
        return text.format(
            target=self.spec.describe(), account=self.account_id, caller=who, mode=mode, how=how
        )


reset.watch("RunContext", RunContext)


def _count_calls(record: RunRecord, plan: bool) -> Any:
    def before_call(model: Any, **kwargs: Any) -> None:
        operation = model.name
        if plan and is_write(operation):
            raise PlanModeWrite(
                _(
                    "Plan mode must make no changes, but {operation} was about to be called: "
                    "this is a bug; report it."
                ).format(operation=operation)
            )
        record.api_call(model.service_model.service_name, operation)

    return before_call


def preflight(
    notebook: str,
    *,
    target: str = "sandbox",
    profile: str = "",
    endpoint_url: str = "",
    region: str = "us-east-1",
    expected_account_id: str = "",
    retry_mode: str = "standard",
    plan: bool = False,
    allow_root: bool = False,
    root_reason: str = "",
) -> RunContext:
    """Resolve the target, identify the caller and refuse what this runbook must not touch.

    Args:
        notebook: the notebook's stem, for the run record.
        target: ``sandbox``, ``profile`` or ``endpoint``.
        profile: the AWS profile (target ``profile``; empty = the default credential chain).
        endpoint_url: an AWS-compatible endpoint (target ``endpoint``).
        region: the region for regional services (Secrets Manager).
        expected_account_id: stop unless the caller is in this account (empty: no check).
        retry_mode: botocore's retry mode, ``standard`` or ``adaptive``.
        plan: read the state and report what would change, with zero writes.
        allow_root: this runbook may run as root (S1's bootstrap case).
        root_reason: why root is allowed, shown when the caller is root.

    Returns:
        The run context.

    Raises:
        BadInput: invalid target parameters.
        TargetRefused: no credentials, wrong account, or a root caller where root is refused.
    """
    spec = TargetSpec(target, profile, endpoint_url, region, expected_account_id, retry_mode)
    connection = connect(spec)
    record = RunRecord.from_environment(notebook)
    record.plan = plan
    if not running_headless():
        record.begin_interactive()
    connection.session.events.register("before-call", _count_calls(record, plan))
    _session_hook(connection.session.events, spec.target)
    ident = aws.caller_identity(connection.client("sts"), spec.describe(), profile)
    account, arn = str(ident["Account"]), str(ident["Arn"])
    if expected_account_id and account != expected_account_id:
        raise TargetRefused(
            _(
                "The credentials reach account {account}, not expected_account_id "
                "{expected}: switch profile/endpoint, or fix expected_account_id."
            ).format(account=account, expected=expected_account_id)
        )
    is_root = arn.endswith(":root")
    if is_root and not allow_root:
        raise TargetRefused(
            _("The caller is the root user of account {account}.").format(account=account)
            + " "
            + _(S0_ADVICE)
        )
    record.target, record.account_id, record.caller_arn = spec.describe(), account, arn
    if is_root:
        reason = root_reason or _("allowed for this runbook")
        record.warn(_("Running as the root user: {reason}.").format(reason=reason))
    record.save()
    return RunContext(
        spec=spec,
        connection=connection,
        account_id=account,
        caller_arn=arn,
        is_root=is_root,
        record=record,
        plan=plan,
        interactive=not running_headless(),
    )
