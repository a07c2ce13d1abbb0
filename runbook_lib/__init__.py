"""iam-runbooks: the library behind the runbook notebooks.

Notebooks import ``preflight`` and one section package (``root_usage``, ``admin_user``,
``access_key``, ``virtual_mfa``, ``password_policy``, ``unused_credentials``) from here;
nothing creates an AWS client at import time.

The public names are imported when first used (PEP 562): ``import runbook_lib`` alone (the
``runbook`` command's start, its parameter checks) does not import boto3 and botocore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook_lib.core.context import RunContext, preflight
    from runbook_lib.core.errors import (
        AwsError,
        BadInput,
        RunbookError,
        SecretLeak,
        TargetRefused,
        VerifyFailed,
    )
    from runbook_lib.core.secrets import Secret
    from runbook_lib.manual import manual_step

__all__ = [
    "AwsError",
    "BadInput",
    "RunContext",
    "RunbookError",
    "Secret",
    "SecretLeak",
    "TargetRefused",
    "VerifyFailed",
    "manual_step",
    "preflight",
]
__version__ = "0.1.0"

#: where each public name lives
_HOMES = {
    "RunContext": "runbook_lib.core.context",
    "preflight": "runbook_lib.core.context",
    "AwsError": "runbook_lib.core.errors",
    "BadInput": "runbook_lib.core.errors",
    "RunbookError": "runbook_lib.core.errors",
    "SecretLeak": "runbook_lib.core.errors",
    "TargetRefused": "runbook_lib.core.errors",
    "VerifyFailed": "runbook_lib.core.errors",
    "Secret": "runbook_lib.core.secrets",
    "manual_step": "runbook_lib.manual",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # a section package (``from runbook_lib import access_key``) or a typo
        raise AttributeError(f"module 'runbook_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
