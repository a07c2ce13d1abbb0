"""The terminal summary of a run, read from its run record: what a person checks first.

Target account and caller; what changed (or, in plan mode, that nothing did and what would,
one line per planned change); the findings of a report with their counts; the outcome of each
read-only decision (a key's age, a credential's last use); manual steps still pending; where
each secret went
(kind and destination, never the value); the run's warnings. Every line comes from ``run.json``,
so the terminal and the record never disagree.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook_lib.core.errors import EXIT_FINDINGS, EXIT_MANUAL_PENDING
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.wording import safe_text
from runbook_lib.root_usage.result import compare, counts, shown_status
from runbook_lib.run.compare import Audited, why_not_comparable

if TYPE_CHECKING:
    from runbook_lib.run.runner import RunResult

INDENT = "  "


def _target(rec: Mapping[str, Any]) -> list[str]:
    if not rec.get("account_id"):
        return []
    return [
        _("target: {target}, account {account}, caller {caller}").format(
            target=rec.get("target") or _("unknown"),
            account=rec["account_id"],
            caller=rec.get("caller_arn") or _("unknown"),
        )
    ]


#: the keys of a ``planned`` entry that its ``would …`` line names first
_PLANNED_KEYS = ("step", "action", "target", "resource")


def _would(entry: Mapping[str, Any]) -> str:
    """``would ACTION TARGET (facts)``: one planned change."""
    target = entry.get("target", entry.get("resource", ""))
    line = _("would {action} {resource}").format(action=entry.get("action", "?"), resource=target)
    facts = [
        str(v) if k in ("why", "detail") else f"{k}: {v}"
        for k, v in entry.items()
        if k not in _PLANNED_KEYS and v
    ]
    return line.rstrip() + (f" ({'; '.join(facts)})" if facts else "")


def _changes(rec: Mapping[str, Any]) -> list[str]:
    changes = list(rec.get("changes") or [])
    repairs = list(rec.get("repairs") or [])
    if rec.get("plan"):
        planned = list(rec.get("planned") or [])
        head = _("plan: no changes made ({reads} reads)").format(reads=rec.get("reads", 0))
        if planned:
            lines = [head + _("; {n} planned:").format(n=len(planned))]
            return lines + [INDENT + _would(p) for p in planned]
        if rec.get("exit_code", 0) in (0, EXIT_MANUAL_PENDING, EXIT_FINDINGS):
            return [head + _("; nothing would change")]
        return [head]  # it stopped before its plan was whole: the message says why
    if not changes and not repairs:
        return [_("changed: nothing ({writes} writes)").format(writes=rec.get("writes", 0))]
    lines = [_("changed ({n}):").format(n=len(changes))] if changes else []
    lines += [f"{INDENT}{c.get('action')} {c.get('resource')}" for c in changes]
    lines += [
        _("repaired: {action} {resource} ({why})").format(
            action=r.get("action"), resource=r.get("resource"), why=r.get("why")
        )
        for r in repairs
    ]
    return lines


def _findings(rec: Mapping[str, Any]) -> list[str]:
    """Counts by status (a FAIL with an accepted reason counts as ACCEPTED), then one line per
    result that is not a PASS: FAIL with its advice, ACCEPTED with its reason, NOT_KNOWN with
    why."""
    findings = list(rec.get("findings") or [])
    if not findings:
        return []
    lines = [_("findings: {summary}").format(summary=counts(shown_status(f) for f in findings))]
    for f in findings:
        status = shown_status(f)
        if status in ("PASS", "NOT_APPLICABLE"):
            continue
        if status == "ACCEPTED":
            tail = f" (accepted: {f.get('accepted')})"
        else:
            tail = f" → {f['advice']}" if f.get("advice") and status == "FAIL" else ""
        name = f"{f.get('control')} {f.get('title')}"
        lines.append(f"{INDENT}[{status}] {name}: {f.get('evidence')}{tail}")
    return lines


def compare_lines(before: Mapping[str, Any], after: Mapping[str, Any], where: str) -> list[str]:
    """``compared with RUN_DIR:`` then one ``control BEFORE -> AFTER`` line per control; one
    ``not compared`` line when the two runs audited different accounts or sandboxes (the CLI
    refuses such a baseline before it runs: this holds when the target could not say)."""
    audited = Audited.of_record(after)
    if audited.account_id and (audited.instance or not audited.sandbox):
        reason = why_not_comparable(Audited.of_record(before), audited, where)
        if reason:
            return [INDENT + _("not compared: {reason}").format(reason=reason)]
    lines = compare(before.get("findings") or [], after.get("findings") or [])
    return [f"{INDENT}compared with {where}:"] + [f"{INDENT * 2}{line}" for line in lines]


#: the outcome codes ``outcomes`` holds (English in ``run.json``: they are codes)
OUTCOME_WORDS = (
    N_("due"),
    N_("not due"),
    N_("no active key"),
    N_("keep"),
    N_("kept"),
    N_("gone"),
    N_("would deactivate"),
    N_("would remove"),
    N_("to deactivate"),
    N_("to remove"),
    N_("deactivated"),
    N_("removed"),
)


def _outcomes(rec: Mapping[str, Any]) -> list[str]:
    """One line per read-only decision (S2's key age, S5's evidence per credential): what a
    scheduled run's log must show even when nothing changed."""
    lines = []
    for o in rec.get("outcomes") or []:
        word = str(o.get("outcome", ""))
        detail = str(o.get("detail", ""))
        if o.get("due_on"):
            detail += "; " + _("due on {date}").format(date=o["due_on"])
        lines.append(
            _("outcome: {subject}: {outcome}").format(
                subject=o.get("subject", ""), outcome=_(word) if word in OUTCOME_WORDS else word
            )
            + (f" ({detail})" if detail else "")
        )
    return lines


def _pending(rec: Mapping[str, Any]) -> list[str]:
    pending = [m for m in rec.get("manual_steps") or [] if m.get("status") == "pending"]
    if not pending:
        return []
    return [_("manual steps pending ({n}):").format(n=len(pending))] + [
        f"{INDENT}{m.get('step')} {m.get('title')}" + (f": {m['how']}" if m.get("how") else "")
        for m in pending
    ]


def _secrets(rec: Mapping[str, Any]) -> list[str]:
    return [
        _("secret: {kind} → {destination}").format(
            kind=s.get("kind"), destination=s.get("destination")
        )
        for s in rec.get("secrets") or []
    ]


def summary_lines(record: Mapping[str, Any]) -> list[str]:
    """The summary of one run's record, one fact per line (indented for the terminal)."""
    lines = (
        _target(record)
        + _changes(record)
        + _findings(record)
        + _outcomes(record)
        + _pending(record)
        + _secrets(record)
        + [_("warning: {warning}").format(warning=w) for w in record.get("warnings") or []]
    )
    return [INDENT + line for line in lines]


#: the runner's status words (``run.json`` keeps them in English: they are codes)
STATUS_WORDS = (
    N_("done"),
    N_("failed"),
    N_("bad input"),
    N_("manual step pending"),
    N_("findings failed"),
)


def status_words(status: str) -> str:
    """A run's status (English in ``run.json``) in the current language."""
    return _(status) if status in STATUS_WORDS else status


def report(result: RunResult, seconds: float) -> None:
    """Finish the ``▶ NAME …`` line with the result, then the summary; failures on stderr."""
    rec = result.record
    writes, reads = int(rec.get("writes", 0)), int(rec.get("reads", 0))
    counts = _("{writes} writes, {reads} reads").format(writes=writes, reads=reads)
    line = _("{status} ({counts}) in {seconds} s → {run_dir}/").format(
        status=status_words(result.status),
        counts=counts,
        seconds=f"{seconds:.1f}",
        run_dir=result.run_dir,
    )
    print(" " + line)
    for line in summary_lines(rec):
        print(line)
    if result.message and result.exit_code != EXIT_MANUAL_PENDING:  # the summary lists those
        # it may quote AWS (a name, an error text): no control sequence reaches the terminal
        print(f"  {safe_text(result.message)}", file=sys.stderr, flush=True)
