"""S0: one check's result and the audit report (the notebook's table, run.json, findings.csv).

A result names its check by a stable ID (``password_min_length``) and, once the audit labels it,
the control that check answers in the chosen CIS AWS Foundations version (``cis.CONTROLS``; the
procedure's own checks are ``S0-…`` in every version); it says what was seen in plain words and
what to do. A FAIL that the procedure causes on purpose carries ``accepted`` (the reason): it is
reported, counted as accepted, and never makes ``fail_on_findings`` fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

from runbook_lib.core.i18n import _
from runbook_lib.core.record import RunRecord
from runbook_lib.core.wording import pad
from runbook_lib.root_usage import cis

PASS, FAIL, NOT_KNOWN, NOT_APPLICABLE = "PASS", "FAIL", "NOT_KNOWN", "NOT_APPLICABLE"
#: the status column of a FAIL with an accepted reason (counts, tables, comparisons)
ACCEPTED = "ACCEPTED"
#: the order counts are shown in
COUNT_ORDER = (PASS, FAIL, ACCEPTED, NOT_KNOWN, NOT_APPLICABLE)
#: the fields of a result, in the order of run.json and findings.csv
FIELDS = (
    "control",
    "check",
    "cis_version",
    "title",
    "status",
    "resource",
    "evidence",
    "advice",
    "accepted",
)


@dataclass(frozen=True)
class CheckResult:
    """One check: its status, the resource, what was seen, and what to do; ``control`` and
    ``cis_version`` once the audit has labelled it (``labelled``)."""

    check: str
    title: str
    status: str
    resource: str
    evidence: str
    advice: str = ""
    accepted: str = ""
    control: str = ""
    cis_version: str = ""

    @property
    def shown_status(self) -> str:
        """The status a reader sees: ``ACCEPTED`` for a FAIL with an accepted reason."""
        return ACCEPTED if self.status == FAIL and self.accepted else self.status

    @property
    def failed(self) -> bool:
        """A FAIL nobody accepted."""
        return self.shown_status == FAIL

    def labelled(self, version: str) -> CheckResult | None:
        """This result with its control ID in ``version``; ``None`` when that version has no
        control for this check (it is then not reported)."""
        control = cis.control(version, self.check)
        return None if control is None else replace(self, control=control, cis_version=version)

    def as_dict(self) -> dict[str, str]:
        """The result as run.json and findings.csv hold it."""
        data = asdict(self)
        return {k: data[k] for k in FIELDS}

    def __repr__(self) -> str:
        name = self.control or self.check
        line = f"{name:<14} {self.shown_status:<14} {self.title}: {self.evidence}"
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
    """The audit of one account: one result per control of ``cis_version``."""

    account_id: str
    results: tuple[CheckResult, ...]
    cis_version: str = cis.DEFAULT_VERSION
    #: the run's record: Verify marks an interactive run done in it
    record: RunRecord | None = field(default=None, repr=False, compare=False)

    @property
    def failed(self) -> list[CheckResult]:
        """The results that failed and were not accepted."""
        return [r for r in self.results if r.failed]

    def result(self, key: str) -> CheckResult:
        """The result of one control (``"2.8"``) or check (``"password_min_length"``).

        Raises:
            KeyError: no such control or check in the report.
        """
        for r in self.results:
            if key in (r.control, r.check):
                return r
        raise KeyError(key)

    def __repr__(self) -> str:
        head = _("IAM audit of account {account} ({benchmark}): ").format(
            account=self.account_id, benchmark=cis.benchmark(self.cis_version)
        )
        lines = [head + counts(r.shown_status for r in self.results)]
        columns = (pad(_("control"), 14), pad(_("status"), 14), _("check: evidence"))
        lines.append(" ".join(columns))
        lines += [repr(r) for r in self.results]
        return "\n".join(lines)


def compare(before: Iterable[Mapping[str, str]], after: Iterable[Mapping[str, str]]) -> list[str]:
    """Per check, ``"2.8 FAIL -> PASS"`` (or ``"2.4 NOT_KNOWN (unchanged)"``), in the order of
    ``after`` then checks only ``before`` had.

    Results are matched by their stable check ID, so two runs in different CIS versions compare
    check by check; a control whose ID differs is shown as ``"2.8 (4.0.1: 1.8)"``.
    """
    old = {cis.check_of(f): f for f in before}
    lines, seen = [], set()
    for finding in after:
        check = cis.check_of(finding)
        seen.add(check)
        label, new = str(finding.get("control") or check), shown_status(finding)
        was_finding = old.get(check)
        if was_finding is None:
            lines.append(f"{label} " + _("(not checked)") + f" -> {new}")
            continue
        was_control = str(was_finding.get("control") or check)
        if was_control != label:
            version = str(was_finding.get("cis_version") or cis.LEGACY_VERSION)
            label += f" ({version}: {was_control})"
        was = shown_status(was_finding)
        same = f"{label} {new} " + _("(unchanged)")
        lines.append(same if was == new else f"{label} {was} -> {new}")
    lines += [
        f"{f.get('control') or c} {shown_status(f)} -> " + _("(not checked)")
        for c, f in old.items()
        if c not in seen
    ]
    return lines
