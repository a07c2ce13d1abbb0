"""The Organization's root-access posture in a fan-out summary (S0 over an Organization).

For a runbook that declares ``org_root_access``: whether centralized root access is enabled
and, when the request asks (``root_audit``/``root_delete``), each member's root credentials,
deleted only with ``confirm_root_delete``. The AWS calls are S0's own
(``root_usage.org_posture``); this module says which accounts and writes the summary's lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.org.request import FanoutRequest
from runbook_lib.org.target import FanoutTarget
from runbook_lib.root_usage import org_posture
from runbook_lib.root_usage.cis import DEFAULT_VERSION


def root_posture(
    request: FanoutRequest, target: Callable[[], FanoutTarget], account_ids: list[str]
) -> tuple[list[str], dict[str, Any]]:
    """The summary's lines and ``root_access`` data: centralized root access, and each
    member's root credentials with ``root_audit``/``root_delete``.

    Args:
        target: the management session (asked for only off the sandbox or for the members).
    """
    sandbox = request.on_sandbox
    features = org_posture.org_features(None if sandbox else target().client("iam"))
    lines = [_("centralized root access: {status}").format(status=features["status"])]
    data: dict[str, Any] = {"centralized_root_access": features}
    version = str(request.parameters.get("cis_version") or DEFAULT_VERSION)
    finding = org_posture.centralized_root_access(features, version)
    if finding:  # a CIS control in this version (v7.0.0 2.1.1)
        data["findings"] = [finding]
        lines.append(f"{finding['control']} {finding['status']} {finding['title']}")
    if not (request.root_audit or request.root_delete):
        return lines, data
    mgmt = target()
    sts = None if sandbox else mgmt.client("sts")
    members = [a for a in account_ids if a != mgmt.caller_account]  # AssumeRoot: members only

    def iam_for(credentials: dict[str, str]) -> Any:
        return mgmt.client_with("iam", credentials)

    audits = [org_posture.audit_root(sts, iam_for, a) for a in members]
    data["members"] = [a.to_dict() for a in audits]
    for audit in audits:
        plan = audit.plan()
        found = "; ".join(plan) if plan else _("no root credentials")
        lines.append(
            _("root of {account}: {found}").format(
                account=audit.account_id, found=found if audit.status == "known" else audit.status
            )
        )
    if request.root_delete:
        planned = {a.account_id: a.plan() for a in audits if a.plan()}
        data["root_delete"] = {"planned": planned, "confirmed": request.confirm_root_delete}
        if not request.confirm_root_delete:
            lines.append(
                _(
                    "root delete: planned for {count} account(s), nothing deleted: re-run "
                    "with --confirm-root-delete to delete what is listed above."
                ).format(count=len(planned))
            )
        else:
            done = {a.account_id: _delete(sts, iam_for, a) for a in audits if a.plan()}
            data["root_delete"]["done"] = done
            lines.append(_("root delete: done in {count} account(s)").format(count=len(done)))
    return lines, data


def _delete(
    sts: Any, iam_for: org_posture.IamFactory, audit: org_posture.RootCredentials
) -> list[str]:
    """One member's root deletion; a refusal is that member's line, not the run's end."""
    try:
        return org_posture.delete_root(sts, iam_for, audit)
    except RunbookError as err:
        return [_("failed: {error}").format(error=err)]
