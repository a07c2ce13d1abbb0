"""S2 in a live notebook: the lines that "I have stored it" changes, and the proof it makes.

With ``destination: widget`` the key is delivered when a person presses "I have stored it"
(Step 5's widget). Until then Step 5, Step 6 and Verify say so; the button updates all three in
place (``widgets.live``).

Verify proves the key with STS signed by its secret, and "I have stored it" drops the secret
from the kernel. So the proof is ordered before the drop: the button proves the key with the
kernel's copy of the secret (the value the person just stored), keeps the one-line answer,
then drops the copy; the refreshed Verify (and any re-run of its cell) reports that answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runbook_lib.access_key.proof import prove_key
from runbook_lib.access_key.state import KeyPlan, NewKey
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.core.result import StepResult
from runbook_lib.widgets.live import LiveRepr

STORE_STEP = "S2.6"

#: (run ID, key ID) → (proven, the line Verify shows): the proofs "I have stored it" made
_PROOFS: dict[tuple[str, str], tuple[bool, str]] = {}


@dataclass(frozen=True, repr=False)  # keeps the parent\'s repr
class LiveStepResult(LiveRepr, StepResult):
    """A line that "I have stored it" changes: ``current()`` gives it as it is now."""

    key: str = field(default="", repr=False, compare=False)
    current: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    @property
    def live_key(self) -> str:
        """The line's cell."""
        return self.key

    def live_text(self) -> str:
        """The line now."""
        return self.current() if self.current is not None else self.text


def stored(ctx: RunContext) -> bool:
    """Whether a person pressed "I have stored it" in this run."""
    return any(m.step == STORE_STEP and m.status == "done" for m in ctx.record.manual_steps)


def waits_for_store(ctx: RunContext, plan: KeyPlan, key: NewKey) -> bool:
    """A live run whose new key waits for "I have stored it" (nothing proven yet)."""
    return (
        ctx.interactive
        and not ctx.plan
        and plan.destination.kind == "widget"
        and key.created
        and (ctx.record.run_id, key.key_id) not in _PROOFS
        and not stored(ctx)
    )


def prove_at_store(
    ctx: RunContext, plan: KeyPlan, key: NewKey, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Prove the key with the kernel's copy of its secret, keep the answer, drop the copy.

    Called by "I have stored it" before Verify is refreshed; a failed proof is kept too (the
    refreshed Verify raises it). Never raises.
    """
    secret, where = key.secret, (ctx.record.run_id, key.key_id)
    if secret is None or secret.dropped:
        return
    try:
        proof = prove_key(ctx, plan.user_arn, key.key_id, secret, sleep=sleep)
        _PROOFS[where] = (
            True,
            _("The secret you stored authenticates: {proof}.").format(proof=proof),
        )
    except VerifyFailed as err:
        _PROOFS[where] = (False, err.message)
    finally:
        secret.drop()


def proof_at_store(ctx: RunContext, key_id: str) -> str | None:
    """The line of the proof "I have stored it" made in this run for ``key_id`` (``None``:
    none made).

    Raises:
        VerifyFailed: that proof failed.
    """
    if (ctx.record.run_id, key_id) not in _PROOFS:
        return None
    proven, line = _PROOFS[ctx.record.run_id, key_id]
    if not proven:
        raise VerifyFailed(line)
    return line
