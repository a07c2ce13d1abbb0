"""iam-runbooks: the library behind the runbook notebooks.

Notebooks import the step modules (``audit``, ``admin_user``, ``access_keys``, ``mfa``) and
``preflight`` from here; nothing creates an AWS client at import time.
"""

from .context import RunContext, preflight
from .errors import AwsError, BadInput, RunbookError, SecretLeak, TargetRefused, VerifyFailed
from .manual import manual_step
from .secrets import Secret

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
