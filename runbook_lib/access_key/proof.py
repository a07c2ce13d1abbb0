"""Proof that a delivered access key works: STS GetCallerIdentity signed with that key.

IAM is eventually consistent: a new key can be refused for a few seconds after creation, so
the proof retries briefly. On the sandbox, moto accepts any secret for a known key ID, so the
proof there shows that the key exists and belongs to the user; on AWS it also shows that the
delivered secret is the right one, which is what a rotation needs before the old key goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from runbook_lib.access_key.destination import read_back
from runbook_lib.access_key.state import KeyPlan, NewKey
from runbook_lib.core import aws
from runbook_lib.core.boto import new_session
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.secrets import Secret

#: AWS's answers while a new key has not reached every STS endpoint yet
_NOT_YET = frozenset({"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure"})
PROOF_ATTEMPTS = 8
SANDBOX_NOTE = N_(
    "sandbox: moto accepts any secret for a known key ID, so this proves less than on AWS, "
    "where the same call fails unless the delivered secret is the right one"
)


def sts_client_for(ctx: RunContext, key_id: str, secret: Secret) -> Any:
    """An STS client that signs with the given key (same endpoint and region as the run)."""
    session = new_session(
        aws_access_key_id=key_id,
        aws_secret_access_key=secret.text(),
        region_name=ctx.connection.session.region_name or ctx.spec.region or "us-east-1",
    )
    return session.client(
        "sts",
        endpoint_url=ctx.connection.endpoint_url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30),
    )


def prove_key(
    ctx: RunContext,
    user_arn: str,
    key_id: str,
    secret: Secret,
    *,
    attempts: int = PROOF_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Call STS GetCallerIdentity signed with the key; it must answer with the user's ARN.

    Args:
        ctx: the run context.
        user_arn: the ARN the key must belong to.
        key_id: the access key ID.
        secret: its secret, as read back from the destination.
        attempts: tries before giving up (pauses 0.5, 1, 2, 4, 5, 5… seconds).
        sleep: the pause function (tests pass a fake).

    Returns:
        A one-line statement of what was proven.

    Raises:
        VerifyFailed: the key never authenticated, or authenticated as someone else.
    """
    client = sts_client_for(ctx, key_id, secret)
    last = ""
    for attempt in range(attempts):
        ctx.record.api_call("sts", "GetCallerIdentity")
        answer, last = aws.signed_call(client.get_caller_identity)
        if answer is None:
            if last not in _NOT_YET:
                break
        else:
            arn = str(answer["Arn"])
            if arn != user_arn:
                raise VerifyFailed(
                    _(
                        "Access key {key_id} signs in as {arn}, not {user_arn}: check the "
                        "destination holds this user's key; nothing was deactivated."
                    ).format(key_id=key_id, arn=arn, user_arn=user_arn)
                )
            note = f" ({_(SANDBOX_NOTE)})" if ctx.sandbox else ""
            answered = _("STS GetCallerIdentity signed with {key_id} answered {arn}")
            return answered.format(key_id=key_id, arn=arn) + note
        if attempt + 1 < attempts:
            sleep(min(0.5 * 2**attempt, 5.0))
    raise VerifyFailed(
        _(
            "Access key {key_id} did not authenticate with the delivered secret (STS {last}) "
            "after {attempts} tries: check the secret at its destination is intact, wait a "
            "minute and re-run; the old key was left as it was."
        ).format(key_id=key_id, last=last, attempts=attempts)
    )


def read_delivered(ctx: RunContext, plan: KeyPlan, key: NewKey) -> Secret | None:
    """The secret this run delivered: the kernel's copy while it has one, else read back from
    the destination (``None``: not there).

    Raises:
        AwsError: the destination could not be read.
    """
    if key.secret is not None and not key.secret.dropped:
        return key.secret
    return read_back(ctx, plan.destination, key.key_id)
