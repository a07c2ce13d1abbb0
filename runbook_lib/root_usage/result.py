"""S0: one check's result and the audit report (the notebook's table, run.json, findings.csv).

A result says which control it answers (CIS AWS Foundations Benchmark v4.0.0 section 1 IDs, or
``S0-…`` for the procedure's own checks), what was seen in plain words, and what to do. A FAIL
that the procedure causes on purpose carries ``accepted`` (the reason): it is reported, counted
as accepted, and never makes ``fail_on_findings`` fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from runbook_lib.core.i18n import _
from runbook_lib.core.record import RunRecord
from runbook_lib.core.wording import pad

PASS, FAIL, NOT_KNOWN, NOT_APPLICABLE = "PASS", "FAIL", "NOT_KNOWN", "NOT_APPLICABLE"
#: the status column of a FAIL with an accepted reason (counts, tables, comparisons)
ACCEPTED = "ACCEPTED"
#: the order counts are shown in
COUNT_ORDER = (PASS, FAIL, ACCEPTED, NOT_KNOWN, NOT_APPLICABLE)
CIS_VERSION = "CIS AWS Foundations Benchmark v4.0.0"
#: the fields of a result, in the order of run.json and findings.csv
FIELDS = ("control", "title", "status", "resource", "evidence", "advice", "accepted")


@dataclass(frozen=True)
class CheckResult:
    """One control, checked: its status, the resource, what was seen, and what to do."""

    control: str
    title: str
    status: str
    resource: str
    evidence: str
    advice: str = ""
    accepted: str = ""

    @property
    def shown_status(self) -> str:
        """The status a reader sees: ``ACCEPTED`` for a FAIL with an accepted reason."""
        return ACCEPTED if self.status == FAIL and self.accepted else self.status

    @property
    def failed(self) -> bool:
        """A FAIL nobody accepted."""
        return self.shown_status == FAIL

    def as_dict(self) -> dict[str, str]:
        """The result as run.json and findings.csv hold it."""
        return asdict(self)

    def __repr__(self) -> str:
        line = f"{self.control:<14} {self.shown_status:<14} {self.title}: {self.evidence}"
        if self.accepted:
            line += f"\n{'':30}" + _("accepted: {reason}").format(reason=self.accepted)
        elif self.advice and self.status in (FAIL, NOT_KNOWN):
            line += f"\n{'':30}→ {self.advice}"
        return line


def counts(statuses: Iterable[str]) -> str:
    """``"9 PASS, 3 FAIL, 1 ACCEPTED"``: the non-zero counts, in ``COUNT_ORDER``."""
    seen = list(statuses)
    return ", ".join(f"{seen.count(s)} {s}" for s in COUNT_ORDER if seen.count(s))


def shown_status(finding: Mapping[str, str]) -> str:
    """The shown status of a finding read back from run.json."""
    status = str(finding.get("status", ""))
    return ACCEPTED if status == FAIL and finding.get("accepted") else status


@dataclass(frozen=True)
class AuditReport:
    """The audit of one account: one result per control."""

    account_id: str
    results: tuple[CheckResult, ...]
    #: the run's record: Verify marks an interactive run done in it
    record: RunRecord | None = field(default=None, repr=False, compare=False)

    @property
    def failed(self) -> list[CheckResult]:
        """The results that failed and were not accepted."""
        return [r for r in self.results if r.failed]

    def result(self, control: str) -> CheckResult:
        """The result of one control.

        Raises:
            KeyError: no such control in the report.
        """
        for r in self.results:
            if r.control == control:
                return r
        raise KeyError(control)

    def __repr__(self) -> str:
        head = _("IAM audit of account {account} ({version}, section 1 IDs): ").format(
            account=self.account_id, version=CIS_VERSION
        )
        lines = [head + counts(r.shown_status for r in self.results)]
        columns = (pad(_("control"), 14), pad(_("status"), 14), _("check: evidence"))
        lines.append(" ".join(columns))
        lines += [repr(r) for r in self.results]
        return "\n".join(lines)


def compare(before: Iterable[Mapping[str, str]], after: Iterable[Mapping[str, str]]) -> list[str]:
    """Per control, ``"1.8 FAIL -> PASS"`` (or ``"1.4 NOT_KNOWN (unchanged)"``), in the order
    of ``after`` then controls only ``before`` had."""
    old = {str(f.get("control")): shown_status(f) for f in before}
    lines, seen = [], set()
    for finding in after:
        control = str(finding.get("control"))
        seen.add(control)
        new = shown_status(finding)
        was = old.get(control, _("(not checked)"))
        same = f"{control} {new} " + _("(unchanged)")
        lines.append(same if was == new else f"{control} {was} -> {new}")
    lines += [f"{c} {s} -> " + _("(not checked)") for c, s in old.items() if c not in seen]
    return lines
