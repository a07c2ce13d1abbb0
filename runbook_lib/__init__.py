"""iam-runbooks: the library behind the runbook notebooks.

Notebooks import ``preflight`` and one section package (``root_usage``, ``admin_user``,
``access_key``, ``virtual_mfa``, ``password_policy``, ``unused_credentials``) from here;
nothing creates an AWS client at import time.
"""

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
