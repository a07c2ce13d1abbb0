"""S0 Verify: the report covers every control of its CIS version; on request, no unaccepted
FAIL."""

from __future__ import annotations

from runbook_lib.core.errors import FindingsFailed, VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.root_usage.cis import account_controls
from runbook_lib.root_usage.result import AuditReport


def verify(report: AuditReport, *, fail_on_findings: bool = False) -> str:
    """Check the report covers every control of its version (``cis.account_controls``); with
    ``fail_on_findings``, fail on any FAIL that was not accepted.

    Raises:
        VerifyFailed: a control is missing.
        FindingsFailed: (when asked) a result failed; exit code 4.
    """
    reported = {r.control for r in report.results}
    missing = [c for c in account_controls(report.cis_version) if c not in reported]
    if missing:
        raise VerifyFailed(
            _("The report lacks {controls}: this is a bug.").format(controls=", ".join(missing))
        )
    failed = report.failed
    if fail_on_findings and failed:
        what = "; ".join(f"{r.control} {r.title} ({r.advice.rstrip('.')})" for r in failed)
        raise FindingsFailed(_("The IAM audit failed: {what}. Then re-run.").format(what=what))
    accepted = sum(1 for r in report.results if r.accepted and r.status == "FAIL")
    if report.record is not None:
        report.record.verified()
    return _("Report complete: {checks} checks, {failed} failed, {accepted} accepted.").format(
        checks=len(report.results), failed=len(failed), accepted=accepted
    )
