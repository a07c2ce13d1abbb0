"""The project's error family.

Every error says what went wrong and what to do next, in one line, in operator words. Errors
that come from AWS keep AWS's error code. A notebook never catches these: the failing cell is the
report, and ``_render_traceback_`` keeps that report to the one line that matters.
"""

from __future__ import annotations

#: exit codes shared by the runner and the CLI
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_MANUAL_PENDING = 3
#: the run completed, but a check it reports on failed (S0 with ``fail_on_findings``)
EXIT_FINDINGS = 4


class RunbookError(Exception):
    """Base of every project error; ``exit_code`` is what the runner exits with."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, aws_code: str | None = None) -> None:
        message = " ".join(message.split())  # always one line
        super().__init__(message)
        self.message = message
        self.aws_code = aws_code

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:  # IPython: show the message, not a traceback
        return [f"{type(self).__name__}: {self.message}"]


class BadInput(RunbookError):
    """The input is wrong; nothing was changed in the account. Exit code 2."""

    exit_code = EXIT_BAD_INPUT


class TargetRefused(BadInput):
    """The resolved target is not one this runbook may change (wrong account, root, no creds)."""


class AwsError(RunbookError):
    """An AWS call failed in a way the runbook cannot fix by itself. Exit code 1."""


class VerifyFailed(RunbookError):
    """The end state read back from AWS differs from what the runbook should have made."""


class FindingsFailed(VerifyFailed):
    """The run completed and its report is whole, but a finding failed. Exit code 4."""

    exit_code = EXIT_FINDINGS


class TargetUnreachable(RunbookError):
    """The target's endpoint did not answer (exit 1: the input may be right, the network not)."""


class RunInProgress(RunbookError):
    """Another run is working on the same resource right now (its marker is younger than the
    lease): this run stopped before any write. Exit code 1."""


class SecretLeak(RunbookError):
    """A secret of this run was found in an artifact; the artifact was not kept."""


#: class name -> exit code, for errors that come back from a kernel as (ename, evalue)
EXIT_CODE_BY_NAME: dict[str, int] = {
    cls.__name__: cls.exit_code
    for cls in (
        RunbookError,
        BadInput,
        TargetRefused,
        AwsError,
        VerifyFailed,
        FindingsFailed,
        RunInProgress,
        TargetUnreachable,
        SecretLeak,
    )
}
