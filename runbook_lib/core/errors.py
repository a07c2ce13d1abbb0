"""The project's error family.

Every error says what went wrong and what to do next, in one line, in operator words. Errors
that come from AWS keep AWS's error code. A notebook never catches these: the failing cell is the
report, and ``_render_traceback_`` keeps that report to the one line that matters.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

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
        SecretLeak,
    )
}


def aws_code(err: BaseException) -> str | None:
    """Return the AWS error code of a botocore ``ClientError`` (``None`` for anything else)."""
    if isinstance(err, ClientError):
        code: Any = err.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def from_client_error(
    err: ClientError, what: str, fix: str, *, bad_input: bool = False
) -> RunbookError:
    """Translate a botocore error into a project error.

    Args:
        err: the botocore error.
        what: what failed, e.g. ``"Creating access key for 'Administrator'"``.
        fix: the next action for the operator.
        bad_input: the failure means the input was wrong and nothing changed (exit 2).

    Returns:
        A ``BadInput`` or ``AwsError`` whose message keeps AWS's code and message.
    """
    code = aws_code(err) or "Unknown"
    aws_message = str(err.response.get("Error", {}).get("Message", "")).strip()
    detail = f" ({aws_message})" if aws_message else ""
    cls: type[RunbookError] = BadInput if bad_input else AwsError
    return cls(f"{what} failed: IAM {code}{detail}. {fix}", aws_code=code)
