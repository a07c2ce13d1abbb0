"""S0: run every check once, label each result with the chosen CIS version's control ID
(``cis.CONTROLS``; a check that version has no control for is left out), record the results.

The audit reads only (it asks IAM to build a credential report; it asks the Organization and IAM
Identity Center whether people sign in centrally); its results go to the run
record (``findings``: run.json, the terminal summary, ``findings.csv``) and to the notebook as a
table.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from runbook_lib.core.context import RunContext
from runbook_lib.root_usage import central_identity, credentials, policies, root
from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import AuditReport, CheckResult
from runbook_lib.root_usage.state import AccountFacts, gather


def _checks(
    ctx: RunContext, facts: AccountFacts, request: AuditRequest, now: datetime
) -> list[CheckResult]:
    account = ctx.account_id
    arn = f"arn:aws:iam::{account}:root"
    return [
        root.caller(ctx),
        root.root_access_keys(facts, account),
        root.root_mfa(facts, account),
        root.root_hardware_mfa(facts, account),
        root.root_last_used(facts, account, now),
        policies.password_length(facts, request, arn),
        policies.password_reuse(facts, request, arn),
        credentials.console_mfa(facts),
        policies.accept_setup_keys(credentials.setup_keys(facts), facts, request),
        credentials.unused_credentials(facts, request, now),
        credentials.one_active_key(facts),
        credentials.key_age(facts, request, now),
        policies.permissions_through_groups(facts, arn),
        policies.no_full_admin_policies(facts, arn),
        policies.support_role(facts, arn),
        central_identity.central_identity(facts, arn),
        policies.no_cloudshell_full_access(facts, arn),
        root.has_administrators(facts, account),
        policies.admin_group(facts, request, arn),
    ]


def show_audit(
    ctx: RunContext,
    request: AuditRequest | None = None,
    *,
    now: datetime | None = None,
    **wait: Any,
) -> AuditReport:
    """Check the account's IAM posture against a CIS AWS Foundations version and the procedure.

    Args:
        ctx: the run context.
        request: the version and thresholds (``check_request``); the newest version and the
            CIS defaults when omitted.
        now: the time to judge ages against (tests pass a fixed one).
        **wait: ``clock``, ``sleep``, ``timeout`` for the credential report's wait (tests).

    Returns:
        The report; it never changes anything.

    Raises:
        AwsError: IAM refused a read.
        VerifyFailed: the credential report was not ready in time.
    """
    request = request or AuditRequest()
    now = now or datetime.now(timezone.utc)
    facts = gather(ctx, **wait)
    arn = f"arn:aws:iam::{ctx.account_id}:root"
    labelled = (r.labelled(request.cis_version) for r in _checks(ctx, facts, request, now))
    results = [replace(r, resource=r.resource or arn) for r in labelled if r is not None]
    ctx.record.findings = [r.as_dict() for r in results]  # structured, in run.json
    ctx.record.save()
    return AuditReport(ctx.account_id, tuple(results), request.cis_version, ctx.record)
