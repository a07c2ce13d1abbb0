"""Preflight and the run context every step receives.

``preflight()`` resolves the target, asks STS who is calling, stops on the wrong account or on
an unwanted root caller, and returns a ``RunContext``: clients, the run record, plan mode and
whether a person is at the keyboard.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core import aws, environ, gcdefer, reset
from runbook_lib.core.errors import EXIT_CODE_BY_NAME, EXIT_FAILED, AwsError, TargetRefused
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.record import RunRecord, is_write
from runbook_lib.core.sandbox import sandbox_instance
from runbook_lib.core.target import Connection, TargetSpec, connect
from runbook_lib.core.wording import safe_text

HEADLESS_VAR = environ.HEADLESS

S0_ADVICE = N_(
    "S0: do not use the root user for work that does not need it; run this as the Administrator "
    "IAM user (create it with 01_create_admin_user) or another IAM principal."
)


def missing_user_advice() -> str:
    """What to add to "user ... does not exist": on a sandbox private to a ``runbook app`` (it
    starts empty, and nothing else can reach it), the command that restarts the app with the
    runbooks that create the user run first; elsewhere nothing."""
    command = os.environ.get(environ.RESTART_SEEDED, "")
    if not command:
        return ""
    return " " + _(
        "This sandbox is private to this app and started empty, so no other runbook can create "
        "the user in it: stop the app (Ctrl+C) and restart it with {command}."
    ).format(command=command)


def page_parameters(notebook: str, record_path: str) -> dict[str, Any]:
    """The parameters an interactive page runs with: the names its ``parameters`` and
    ``injected-parameters`` cells assign (the session's working copy, next to the record), the
    values as the kernel holds them now (plain data only; a name not yet run is left out)."""
    import ast
    import json

    if not record_path:
        return {}
    try:
        book = json.loads((Path(record_path).parent / f"{notebook}.ipynb").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    names: list[str] = []
    for cell in book.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or not {"parameters", "injected-parameters"} & set(tags):
            continue
        try:
            tree = ast.parse("".join(cell.get("source", "")))
        except SyntaxError:
            continue
        for node in tree.body:
            target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if isinstance(target, ast.Name) and target.id not in names:
                names.append(target.id)
    namespace = _user_namespace()
    values: dict[str, Any] = {}
    for name in names:
        value = namespace.get(name)
        if name in namespace and _plain(value):
            values[name] = value
    return values


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _user_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


def _record_failures(record: RunRecord) -> None:
    """In an IPython kernel, a cell that raises writes its exit code and one line into the
    interactive run's record (the traceback is shown as before)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(
        shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> Any:
        lines = str(value).strip().splitlines()
        line = f"{etype.__name__}: {lines[-1] if lines else ''}".rstrip(": ")
        record.failed(EXIT_CODE_BY_NAME.get(etype.__name__, EXIT_FAILED), safe_text(line))
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None

    shell.set_custom_exc((Exception,), handler)


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
        record.begin_interactive(page_parameters(notebook, record.path))
        _record_failures(record)
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
    if spec.target == "sandbox" and not running_headless():  # the runner adds it to its runs
        record.sandbox_instance = sandbox_instance(connection.endpoint_url or "")
    if is_root:
        reason = root_reason or _("allowed for this runbook")
        record.warn(_("Running as the root user: {reason}.").format(reason=reason))
    record.save()
    gcdefer.resume()  # a headless kernel's imports are done (run/kernels.py KERNEL_BOOT)
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
