"""The run record kept inside the kernel: API calls, changes, manual steps, secrets delivered.

The runner points ``RUNBOOK_RECORD`` at a file; every event rewrites it at once, so a run that
dies half-way still leaves a record of what it did. Nothing secret is ever recorded: a secret
appears as kind, destination and fingerprint.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_MANUAL_PENDING, EXIT_OK

RECORD_VAR = environ.RECORD
#: the folder (next to an interactive record) that keeps one record per page load
LOADS = "loads"
INCOMPLETE = "incomplete: Verify not run"
DONE = "done"

#: operations that only read (GenerateCredentialReport only asks IAM to build a report).
#: Credential calls read too: ``AssumeRole*``/``AssumeRoot`` (how a role profile reaches a
#: member account), ``GetSessionToken``, ``GetFederationToken`` and SSO's
#: ``GetRoleCredentials`` hand out temporary credentials and change nothing in the account.
_READ_PREFIXES = ("Get", "List", "Describe", "Simulate", "Assume")
_READ_OPERATIONS = frozenset({"GenerateCredentialReport", "GetCallerIdentity", "IsMemberInGroups"})


def is_write(operation: str) -> bool:
    """Whether an AWS operation name changes state (``CreateUser``) or only reads (``GetUser``,
    ``AssumeRole``)."""
    return not (operation.startswith(_READ_PREFIXES) or operation in _READ_OPERATIONS)


@dataclass
class ManualStep:
    """A step that only a person can do (root console, scanning a QR code)."""

    step: str
    title: str
    status: str  # "pending" | "done"
    how: str = ""


@dataclass
class RunRecord:
    """What one notebook run did; saved as JSON after every event."""

    notebook: str = ""
    #: this run's ID: crash-safety markers carry it (``core.markers``)
    run_id: str = field(default_factory=lambda: "r" + secrets.token_hex(6))
    target: str = ""
    account_id: str = ""
    #: on the sandbox, which server (``core.sandbox.sandbox_instance``; the runner adds it to
    #: its runs, ``preflight`` to a Lab or Voilà page's record):
    #: with ``account_id``, what ``--compare`` checks before comparing two audits
    sandbox_instance: str = ""
    caller_arn: str = ""
    plan: bool = False
    reads: int = 0
    writes: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    changes: list[dict[str, str]] = field(default_factory=list)
    #: plan mode: each change the run would make (step, action, target; never a secret)
    planned: list[dict[str, str]] = field(default_factory=list)
    #: what a read-only decision found, for a schedule's log (S2's key age, S5's evidence per
    #: credential): step, subject, outcome and the facts behind it
    outcomes: list[dict[str, str]] = field(default_factory=list)
    repairs: list[dict[str, str]] = field(default_factory=list)
    manual_steps: list[ManualStep] = field(default_factory=list)
    secrets: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: checks a read-only runbook reports on (S0): check, status, detail, advice
    findings: list[dict[str, str]] = field(default_factory=list)
    #: interactive runs only (``begin_interactive``): "incomplete: Verify not run" until Verify
    #: passes, so a session that stops early (or whose kernel is shut down) says so; headless
    #: records leave it empty and the runner gives their status
    status: str = ""
    #: interactive runs only: the parameters the page ran with (never a secret: parameters are
    #: names, tags and the target), and a cell's error that stopped it (exit code, one line)
    parameters: dict[str, Any] = field(default_factory=dict)
    error_code: int = 0
    message: str = ""
    path: str = field(default="", repr=False)
    #: interactive runs only: this page load's own file (``begin_interactive``); ``path`` then
    #: holds the newest load's copy
    load_path: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, notebook: str) -> RunRecord:
        """A record that saves to ``$RUNBOOK_RECORD`` when the runner set it (an interactive
        server's kernels share one environment: ``{notebook}`` in it is the notebook's name)."""
        path = os.environ.get(RECORD_VAR, "").replace("{notebook}", notebook)
        return cls(notebook=notebook, path=path)

    # ---- events -------------------------------------------------------------------------
    def begin_interactive(self, parameters: Mapping[str, Any] | None = None) -> None:
        """A person drives this run: it is incomplete until Verify passes (``verified``).

        Each page load keeps a record of its own: ``<folder>/loads/<notebook>-<UTC stamp>-
        <run id>.run.json`` next to ``path``, which holds a copy of the newest load's.
        """
        self.status = INCOMPLETE
        self.parameters = dict(parameters or {})
        if self.path:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            name = f"{self.notebook}-{stamp}-{self.run_id}.run.json"
            self.load_path = str(Path(self.path).parent / LOADS / name)
        self.save()

    def failed(self, exit_code: int, message: str) -> None:
        """A cell of an interactive run raised: its exit code (bad input after a write is a
        failure, as in a headless run) and its one line."""
        if not self.status:
            return
        self.error_code = EXIT_FAILED if exit_code == EXIT_BAD_INPUT and self.writes else exit_code
        self.message = message
        self.save()

    @property
    def exit_code(self) -> int:
        """An interactive run's exit code, with a headless run's meaning: 0 Verify passed, 3
        passed or waiting with a manual step pending, 2 a bad input stopped it before any write,
        1 anything else (a cell or Verify failed, or it stopped before Verify)."""
        if self.status == DONE:
            return EXIT_MANUAL_PENDING if self.pending else EXIT_OK
        if self.error_code:
            return self.error_code
        if self.status == INCOMPLETE and self.pending:
            return EXIT_MANUAL_PENDING
        return EXIT_FAILED

    def verified(self) -> None:
        """Verify passed (or, in plan mode, had nothing to check): an interactive run is done."""
        if self.status and self.status != DONE:
            self.status = DONE
            self.save()

    def api_call(self, service: str, operation: str) -> None:
        """Count one AWS API call (not its retries)."""
        key = f"{service}:{operation}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if is_write(operation):
            self.writes += 1
        else:
            self.reads += 1
        self.save()

    def change(self, action: str, resource: str) -> None:
        """Record a change made in the account (``create-user``, the resource ARN)."""
        self.changes.append({"action": action, "resource": resource})
        self.save()

    def would(self, step: str, action: str, target: str, **details: str) -> None:
        """Plan mode: record a change this run would make (``create-user``, the user's ARN),
        replacing an earlier entry for the same step, action and target."""
        entry = {"step": step, "action": action, "target": target, **details}
        key = (step, action, target)
        self.planned = [p for p in self.planned if (p["step"], p["action"], p["target"]) != key]
        self.planned.append(entry)
        self.save()

    def outcome(self, step: str, subject: str, outcome: str, **facts: str) -> None:
        """Record what a step decided about ``subject`` and why (``due``, its age), replacing
        an earlier entry for the same step and subject."""
        self.outcomes = [
            o for o in self.outcomes if (o.get("step"), o.get("subject")) != (step, subject)
        ]
        self.outcomes.append({"step": step, "subject": subject, "outcome": outcome, **facts})
        self.save()

    def repair(self, action: str, resource: str, why: str) -> None:
        """Record something an earlier, unfinished run left behind and this run cleaned up."""
        self.repairs.append({"action": action, "resource": resource, "why": why})
        self.save()

    def manual(self, step: str, title: str, *, done: bool, how: str = "") -> ManualStep:
        """Record a manual step as pending or done (replacing an earlier entry for it)."""
        self.manual_steps = [m for m in self.manual_steps if m.step != step]
        entry = ManualStep(step, title, "done" if done else "pending", how)
        self.manual_steps.append(entry)
        self.save()
        return entry

    def secret_delivered(self, kind: str, destination: str, fingerprint: str) -> None:
        """Record where a secret went: never the value."""
        self.secrets.append({"kind": kind, "destination": destination, "fingerprint": fingerprint})
        self.save()

    def finding(
        self,
        control: str,
        title: str,
        status: str,
        *,
        resource: str = "",
        evidence: str = "",
        advice: str = "",
        accepted: str = "",
    ) -> None:
        """Record one check's result, in S0's shape (``root_usage.result.FIELDS``), replacing an
        earlier result of the same control and title."""
        self.findings = [
            f for f in self.findings if (f.get("control"), f.get("title")) != (control, title)
        ]
        self.findings.append(
            {
                "control": control,
                "title": title,
                "status": status,
                "resource": resource,
                "evidence": evidence,
                "advice": advice,
                "accepted": accepted,
            }
        )
        self.save()

    def warn(self, text: str) -> None:
        """Record advice the operator should read."""
        if text not in self.warnings:
            self.warnings.append(text)
            self.save()

    def verify_failed(self, message: str) -> None:
        """Verify ran in an interactive run and failed: the status says so, with its line."""
        if self.status:
            self.status = f"incomplete: Verify failed: {message}"
            self.save()

    # ---- output -------------------------------------------------------------------------
    @property
    def pending(self) -> list[ManualStep]:
        """Manual steps still to be done by a person."""
        return [m for m in self.manual_steps if m.status == "pending"]

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        data = asdict(self)
        for name in ("path", "load_path", "error_code"):
            data.pop(name)
        if not self.status:  # headless: the runner adds the status, code, message, parameters
            for name in ("status", "parameters", "message"):
                data.pop(name)
        else:
            data["exit_code"] = self.exit_code
            done = [f"{m.step} {m.title}" for m in self.manual_steps if m.status == "done"]
            data["steps_done"] = done + (["Verify"] if self.status == DONE else [])
        return data

    def save(self) -> None:
        """Write the record atomically to its path (if the runner gave one)."""
        if not self.path:
            return
        data = self.to_dict()
        if self.load_path:  # this page load's own record first, then the newest one's copy
            Path(self.load_path).parent.mkdir(mode=0o700, exist_ok=True)
            _write(Path(self.load_path), data)
        _write(Path(self.path), data)

    def __repr__(self) -> str:
        pending = ", ".join(m.step for m in self.pending) or "none"
        return (
            f"RunRecord({self.notebook}: {self.reads} reads, {self.writes} writes, "
            f"{len(self.changes)} changes, manual steps pending: {pending})"
        )


def _write(target: Path, data: Mapping[str, Any]) -> None:
    """``data`` as JSON at ``target``, atomically (a reader never sees half a record)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".record-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, target)
