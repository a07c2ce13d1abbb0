"""S5's evidence: one finding per credential in the run record, in S0's shape (CIS 1.12),
and one outcome per credential (``outcomes``: what was, or would be, done and the evidence).

Steps 1–3 record each credential as found; Step 4 records again the ones it deactivated or
removed, so the run record says, per credential, what it was, why, and what this run did.
"""

from __future__ import annotations

from runbook_lib.core.context import RunContext
from runbook_lib.unused_credentials.state import DEACTIVATE, KEEP, REMOVE, Credential

#: this runbook, as the advice of an open finding names it
RUNBOOK = "05_clean_up_unused_credentials"
#: the step whose outcome each credential's entry in ``outcomes`` is
STEP = "S5.4"
#: what Step 4 would do, will do (before it runs) and did, by action
_WOULD = {DEACTIVATE: "would deactivate", REMOVE: "would remove", KEEP: "keep"}
_TODO = {DEACTIVATE: "to deactivate", REMOVE: "to remove", KEEP: "keep"}


def record_outcome(ctx: RunContext, cred: Credential, outcome: str, detail: str = "") -> None:
    """Record what cleanup does (or would do) with ``cred`` and the evidence, in ``outcomes``
    (an entry per credential, replaced when Step 4 acts)."""
    ctx.record.outcome(
        STEP,
        cred.name,
        outcome,
        detail=detail or cred.why,
        resource=cred.resource,
        **dict(cred.facts),
    )


def record_credential(ctx: RunContext, cred: Credential, *, done: bool, note: str = "") -> None:
    """Record one credential in the run record's ``findings`` (one entry per credential).

    The shape is S0's (control ``1.12``): ``PASS``: in use, already inactive, or
    deactivated/removed by this run; ``FAIL``: unused and still usable (plan mode, or before
    Step 4); a FAIL with ``accepted``: unused but the caller's own, which cleanup never touches.
    """
    accepted = ""
    if cred.action == KEEP:
        status, detail = ("FAIL" if cred.unused else "PASS"), f"kept: {cred.why}"
        if cred.unused:
            accepted = "the caller's own credential: cleanup never touches it"
    elif done:
        status, detail = "PASS", f"{note or cred.action + 'd'} by this run: {cred.why}"
    else:
        status, detail = "FAIL", f"{cred.action} (unused): {cred.why}"
    advice = "" if status == "PASS" else f"Run {RUNBOOK} to {cred.action} it."
    if accepted:
        advice = "Check it is still needed, and retire it from another identity if not."
    ctx.record.finding(
        "1.12",
        f"unused credential: {cred.name}",
        status,
        resource=cred.user_arn,
        evidence=detail,
        advice=advice,
        accepted=accepted,
    )
    if not done:  # Step 4 records its own outcome when it acts
        record_outcome(ctx, cred, (_WOULD if ctx.plan else _TODO)[cred.action])
