"""One fan-out request: what every front end (the CLI, the Airflow adapter) hands to ``org``.

``check_request`` refuses everything that can be refused before any account runs (exit 2, one
line): the concurrency and error limits, the root options, the parameters, and in a headless
(scheduled) run a secret that only a widget could show. Then the one path:
``fanout.plan_fanout`` → ``fanout.run_plan`` (or ``fanout.run_account`` per scheduler task) →
``summary.summarize``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.org.accounts import DEFAULT_ROLE
from runbook_lib.run import precheck
from runbook_lib.run.notebooks import all_notebooks, declared, find_notebook
from runbook_lib.run.runner import prepare_parameters


@dataclass(frozen=True)
class FanoutRequest:
    """One notebook over many accounts: which, where, how many at a time, what to report.

    Attributes:
        notebook: the notebook (stem, number or path).
        parameters: every account's notebook parameters (without ``expected_account_id``).
        accounts: the account IDs; empty: the Organization's ACTIVE accounts.
        role_name: the role assumed in each account.
        external_id: the external ID that role requires.
        max_concurrency: accounts at a time.
        max_errors: once this many accounts failed, no new account starts.
        output_dir: where the run's folder goes.
        plan: read-only runs.
        root_audit: S0: each member's root credentials through sts:AssumeRoot.
        root_delete: S0: plan deleting them.
        confirm_root_delete: with ``root_delete``: delete what the plan lists.
        headless: a scheduled run: no one to show a widget's secret to.
    """

    notebook: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    accounts: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE
    external_id: str = field(default="", repr=False)
    max_concurrency: int = 2
    max_errors: int | None = None
    output_dir: Path = Path("runs")
    plan: bool = False
    root_audit: bool = False
    root_delete: bool = False
    confirm_root_delete: bool = False
    headless: bool = False

    @property
    def on_sandbox(self) -> bool:
        """Whether the accounts are the sandbox's."""
        return str(self.parameters.get("target", "sandbox")) == "sandbox"


def check_request(request: FanoutRequest) -> None:
    """Refuse a request before any account runs (and before any AWS call).

    Raises:
        BadInput: the first thing wrong, named, with the fix.
    """
    if request.max_concurrency < 1:
        raise BadInput(
            _("--max-concurrency {value} must be 1 or more.").format(value=request.max_concurrency)
        )
    if request.max_errors is not None and request.max_errors < 1:
        raise BadInput(
            _("--max-errors {value} must be 1 or more (or left out).").format(
                value=request.max_errors
            )
        )
    root = request.root_audit or request.root_delete or request.confirm_root_delete
    if root and not declared(find_notebook(request.notebook)).org_root_access:
        owner = next(b.stem for b in all_notebooks() if declared(b).org_root_access)
        raise BadInput(f"--root-audit/--root-delete belong to {owner}: drop them.")
    if request.confirm_root_delete and not request.root_delete:
        raise BadInput("--confirm-root-delete confirms --root-delete: give both, or neither.")
    params = dict(request.parameters)
    book, _given = prepare_parameters(request.notebook, params, plan=request.plan)
    precheck.check_parameters(
        {k: v for k, v in params.items() if k != "expected_account_id"}, [book]
    )
    if request.headless:
        check_headless_secrets(params)


def check_headless_secrets(params: Mapping[str, Any]) -> None:
    """Refuse a secret destination that only a live notebook has (a widget).

    Raises:
        BadInput: naming the parameter and the destinations that work in a scheduled run.
    """
    for name, value in params.items():
        if name.endswith("destination") and str(value) == "widget":
            raise BadInput(
                f"{name}=widget: a scheduled run has no one to show the secret to: choose "
                "file (a 0600 file per account) or secretsmanager."
            )
