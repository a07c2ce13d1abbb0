"""Fault injection for the evidence tests: fail the N-th write, or throttle calls.

Kernels started by the runner cannot be reached by test fixtures, so faults are asked for
through the environment, and only honoured on the sandbox or an explicit endpoint (never on a
profile target, which may be a real account):

- ``RUNBOOK_FAULT_AT_WRITE=N``: the N-th write call of the run raises ``InjectedFault`` before
  it reaches AWS, as if the run died right after write N-1.
- ``RUNBOOK_FAULT_THROTTLE=K`` (K ≥ 2): every K-th IAM/STS request gets a ``Throttling``
  answer (HTTP 400) at the transport level, so botocore's retry mode must absorb it.
- ``RUNBOOK_FAULT_ROOT_CALLER=ACCOUNT``: ``GetCallerIdentity`` answers as the root user of
  ACCOUNT (12 digits) without a request, so a test can prove the root refusal inside a kernel
  (moto never answers as root).
"""

from __future__ import annotations

import os
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from runbook_lib.core import environ
from runbook_lib.core.errors import RunbookError
from runbook_lib.core.record import is_write

FAULT_AT_WRITE_VAR = environ.FAULT_AT_WRITE
FAULT_THROTTLE_VAR = environ.FAULT_THROTTLE
FAULT_ROOT_CALLER_VAR = environ.FAULT_ROOT_CALLER
#: the value of ``RUNBOOK_SESSION_HOOK`` that installs these faults in every new session
HOOK = "runbook_lib.testing.faults:install"

_THROTTLE_BODY = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
    b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


class InjectedFault(RunbookError):
    """The fault a test asked for: the run stops here, as if the kernel died."""


class _Raw:
    """The minimal raw-stream object botocore reads a canned response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _int_var(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


def install(events: Any, target: str) -> None:
    """Register the faults the environment asks for on a botocore event emitter."""
    if target == "profile":
        return
    root_account = os.environ.get(FAULT_ROOT_CALLER_VAR, "")
    if len(root_account) == 12 and root_account.isdigit():

        def answer_as_root(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            http = AWSResponse("", 200, HTTPHeaders(), _Raw(b""))
            arn = f"arn:aws:iam::{root_account}:root"
            return http, {"UserId": root_account, "Account": root_account, "Arn": arn}

        events.register("before-call.sts.GetCallerIdentity", answer_as_root)

    fail_at = _int_var(FAULT_AT_WRITE_VAR)
    every = _int_var(FAULT_THROTTLE_VAR)
    state = {"writes": 0, "calls": 0}

    if fail_at:

        def fail_nth_write(model: Any, **_: Any) -> None:
            if is_write(model.name):
                state["writes"] += 1
                if state["writes"] == fail_at:
                    raise InjectedFault(
                        f"Injected fault at write {fail_at} ({model.name}): re-run to finish."
                    )

        events.register("before-call", fail_nth_write)

    if every >= 2:

        def throttle(request: Any, **_: Any) -> AWSResponse | None:
            # query-protocol services (IAM, STS) only: the canned answer is their XML
            content_type = str(request.headers.get("Content-Type", ""))
            if "x-www-form-urlencoded" not in content_type:
                return None
            state["calls"] += 1
            if state["calls"] % every:
                return None  # the retry is the next send, so it always goes through
            headers = HTTPHeaders()
            headers["Content-Type"] = "text/xml"
            return AWSResponse(request.url, 400, headers, _Raw(_THROTTLE_BODY))

        events.register_first("before-send", throttle)
