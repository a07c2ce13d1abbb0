"""``--compare RUN_DIR``: an earlier audit compares only with a run of the same account.

moto answers every sandbox with one account ID (123456789012), and every ``runbook run``
without ``RUNBOOK_SANDBOX_URL`` starts its own, empty sandbox: the account ID alone does not say
that two runs audited the same account. Each run record keeps ``account_id`` and, on the
sandbox, ``sandbox_instance`` (the ID a sandbox makes when it starts and keeps for its whole
life); a baseline whose account or sandbox differs from this run's is refused before anything
runs, in one line that says how to compare (one shared ``runbook sandbox``, or ``runbook fix``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, running_sandbox_url, sandbox_instance


@dataclass(frozen=True)
class Audited:
    """What a run audits (or audited): the account and, on the sandbox, which sandbox."""

    account_id: str
    sandbox: bool
    #: the sandbox's instance ID; ``""`` with ``sandbox``: a new sandbox this run will start
    instance: str = ""

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> Audited:
        """What the run of ``record`` (a ``run.json``) audited."""
        params = record.get("parameters") or {}
        target = str(params.get("target") or "") if isinstance(params, Mapping) else ""
        instance = str(record.get("sandbox_instance") or "")
        # an older record has no instance: its target line still says it was a sandbox
        described = str(record.get("target") or "").startswith("sandbox")
        on_sandbox = bool(instance) or described or target.strip("'\"") == "sandbox"
        return cls(str(record.get("account_id") or ""), on_sandbox, instance)


def planned_target(params: Mapping[str, Any]) -> Audited:
    """What a run with ``params`` will audit, found before it runs.

    The sandbox: the running one's instance (``RUNBOOK_SANDBOX_URL``), or none yet (the run
    starts a new one). Another target: the account STS names for its credentials.

    Raises:
        BadInput, TargetRefused, TargetUnreachable: as the target precheck does.
    """
    from runbook_lib.run.precheck import check_target

    if str(params.get("target", "sandbox")).strip("'\"") == "sandbox":
        url = running_sandbox_url()
        # a server at RUNBOOK_SANDBOX_URL that names no instance (not a runbook sandbox) is
        # never the same as a recorded one: "?" differs from every instance ID
        return Audited(SANDBOX_ACCOUNT_ID, True, (sandbox_instance(url) or "?") if url else "")
    return Audited(check_target(params).account_id, False)


def why_not_comparable(before: Audited, after: Audited, where: str | Path) -> str:
    """One line naming why the audit in ``where`` cannot be compared with ``after``, and
    what to do instead; ``""`` when both audit the same account (and the same sandbox)."""
    fix = _(
        "compare in one sandbox: start 'runbook sandbox', export the lines it prints, then run "
        "the before and the after in that shell (or let 'runbook fix' do both)."
    )
    if before.account_id and after.account_id and before.account_id != after.account_id:
        return _(
            "--compare {where}: that run audited account {before}, this run audits account "
            "{after}: give an earlier run of account {after}, or switch the target to {before}."
        ).format(where=where, before=before.account_id, after=after.account_id)
    if not after.sandbox:
        return ""
    if not after.instance:
        return (
            _(
                "--compare {where}: this run starts its own new, empty sandbox, not the one that "
                "run audited; "
            ).format(where=where)
            + fix
        )
    if before.instance != after.instance:
        return (
            _(
                "--compare {where}: that run audited another sandbox ({before}) than this one "
                "({after}); "
            ).format(where=where, before=before.instance or _("unknown"), after=after.instance)
            + fix
        )
    return ""


def check_comparable(before: Mapping[str, Any], params: Mapping[str, Any], where: Path) -> None:
    """Refuse, before anything runs, a baseline from another account or sandbox.

    Raises:
        BadInput: the baseline ``before`` (``where``'s run.json) audited another account or
            another sandbox than a run with ``params`` will.
        TargetRefused, TargetUnreachable: the target's own precheck refused it.
    """
    reason = why_not_comparable(Audited.of_record(before), planned_target(params), where)
    if reason:
        raise BadInput(reason)
